// The greedy pick as one unsigned maximum: a row's largest value, the first index
// among equal ones (the order the CPU sampler uses), so that a GPU reduction in any
// order and a host loop agree. -0 counts as +0, and NaN (a broken row) as -inf, as
// the sampler ranks it.
#pragma once
#include <cstdint>

#include "kernels/common/compat.h"
#include "kernels/common/half.h"

namespace gmg {

// Larger key = larger value, or an equal value at a smaller index.
GMG_HOST_DEVICE inline uint64_t argmax_key(float value, uint32_t index) {
    const uint32_t raw = f32_to_bits(value + 0.0f);  // -0 + 0 = +0
    const uint32_t bits = (raw & 0x7fffffffu) > 0x7f800000u ? 0xff800000u : raw;  // NaN -> -inf
    const uint32_t ordered = (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
    return (static_cast<uint64_t>(ordered) << 32) | (0xffffffffu - index);
}
GMG_HOST_DEVICE inline uint32_t argmax_index(uint64_t key) { return 0xffffffffu - static_cast<uint32_t>(key); }
// The value a key was made from (-0 comes back as +0).
GMG_HOST_DEVICE inline float argmax_value(uint64_t key) {
    const auto ordered = static_cast<uint32_t>(key >> 32);
    return bits_to_f32((ordered & 0x80000000u) ? ordered & 0x7fffffffu : ~ordered);
}

// The same pick by a host loop over n values (the CPU sampler, the emulated device).
inline uint32_t argmax_first(const float* x, int64_t n) {
    uint64_t best = 0;
    for (int64_t i = 0; i < n; ++i) {
        const uint64_t key = argmax_key(x[i], static_cast<uint32_t>(i));
        best = key > best ? key : best;
    }
    return argmax_index(best);
}

}  // namespace gmg
