// The shim every extern "C" entry point goes through: it records the thread's
// last error and turns any C++ exception into a status.
#pragma once
#include <new>
#include <string>

#include "gemmagguf/gemmagguf.h"
#include "lib/util/status.h"

namespace gmg::api {

gmg_status fail(gmg_status code, std::string message);  // sets the thread-local message
gmg_status report(const Status& s);                     // OK clears nothing; failures set the message
void clear_error();

// Runs body() (returning gmg_status); any escaping exception becomes an error status.
template <class Body>
gmg_status guarded(const char* fn, Body&& body) noexcept {
    try {
        return body();
    } catch (const std::bad_alloc&) {
        return fail(GMG_ERR_OUT_OF_MEMORY, std::string(fn) + ": out of memory");
    } catch (const std::exception& e) {
        return fail(GMG_ERR_INTERNAL, std::string(fn) + ": internal error: " + e.what());
    } catch (...) {
        return fail(GMG_ERR_INTERNAL, std::string(fn) + ": internal error");
    }
}

}  // namespace gmg::api
