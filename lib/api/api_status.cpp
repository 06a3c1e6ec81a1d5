// Status names, the version string and the per-thread last-error message.
#include <string>

#include "lib/api/api_guard.h"

#ifndef GMG_VERSION_STRING
#define GMG_VERSION_STRING "0.0.0"
#endif

namespace gmg::api {
namespace {
thread_local std::string t_last_error;

gmg_status to_c(StatusCode c) {
    switch (c) {
        case StatusCode::ok: return GMG_OK;
        case StatusCode::invalid_argument: return GMG_ERR_INVALID_ARGUMENT;
        case StatusCode::io_error: return GMG_ERR_IO;
        case StatusCode::invalid_file: return GMG_ERR_INVALID_FILE;
        case StatusCode::unsupported: return GMG_ERR_UNSUPPORTED;
        case StatusCode::out_of_memory: return GMG_ERR_OUT_OF_MEMORY;
        case StatusCode::internal: return GMG_ERR_INTERNAL;
        case StatusCode::context_full: return GMG_ERR_CONTEXT_FULL;
    }
    return GMG_ERR_INTERNAL;
}
}  // namespace

gmg_status fail(gmg_status code, std::string message) {
    try {
        t_last_error = std::move(message);
    } catch (...) {
        // Keep the status even when the message cannot be stored.
    }
    return code;
}

gmg_status report(const Status& s) { return s.ok() ? GMG_OK : fail(to_c(s.code()), s.message()); }

void clear_error() { t_last_error.clear(); }

}  // namespace gmg::api

extern "C" {

const char* gmg_version(void) { return GMG_VERSION_STRING; }

const char* gmg_status_name(gmg_status status) {
    switch (status) {
        case GMG_OK: return "GMG_OK";
        case GMG_ERR_INVALID_ARGUMENT: return "GMG_ERR_INVALID_ARGUMENT";
        case GMG_ERR_IO: return "GMG_ERR_IO";
        case GMG_ERR_INVALID_FILE: return "GMG_ERR_INVALID_FILE";
        case GMG_ERR_UNSUPPORTED: return "GMG_ERR_UNSUPPORTED";
        case GMG_ERR_OUT_OF_MEMORY: return "GMG_ERR_OUT_OF_MEMORY";
        case GMG_ERR_INTERNAL: return "GMG_ERR_INTERNAL";
        case GMG_ERR_BUFFER_TOO_SMALL: return "GMG_ERR_BUFFER_TOO_SMALL";
        case GMG_ERR_CONTEXT_FULL: return "GMG_ERR_CONTEXT_FULL";
    }
    return "GMG_ERR_UNKNOWN_STATUS";
}

const char* gmg_last_error(void) { return gmg::api::t_last_error.c_str(); }

}  // extern "C"
