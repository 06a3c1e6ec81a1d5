// Switches read from the environment: GMG_GPU_SAFE=1 and the like.
#pragma once
#include <cstdlib>
#include <cstring>

namespace gmg {

// True when the variable `name` is set to exactly `value`.
inline bool env_is(const char* name, const char* value) {
    const char* e = std::getenv(name);
    return e && std::strcmp(e, value) == 0;
}

}  // namespace gmg
