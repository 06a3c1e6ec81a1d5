// Codebooks of the IQ quantisation formats. Data, not code: see iq_tables.cpp
// for the provenance. Byte j of an entry is element j of that codebook vector.
#pragma once
#include <cstdint>

#include "kernels/common/compat.h"

namespace gmg::iq {

extern const uint64_t iq2xxs_grid[256];
extern const uint64_t iq2xs_grid[512];
extern const uint64_t iq2s_grid[1024];
extern const uint32_t iq3xxs_grid[256];
extern const uint32_t iq3s_grid[512];
extern const uint64_t iq1s_grid[2048];  // bytes are int8 in {-1, 0, 1}

// Non-linear 4-bit codebook of IQ4_NL / IQ4_XS (ggml-common.h kvalues_iq4nl).
inline constexpr int8_t kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                             1,    13,   25,  38,  53,  69,  89,  113};
// E2M1 code points doubled, shared by MXFP4 and NVFP4 (ggml-common.h kvalues_mxfp4).
inline constexpr int8_t kvalues_fp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// IQ2/IQ3 store 7 sign bits per 8 values; the 8th is implied by even parity.
// sign_byte(i) = i with bit 7 set when i has an odd number of ones (ksigns_iq2xs).
// The reference decoders, the group decoders (host and device) and the NEON
// kernels all call this one; the parity is folded, without a loop.
GMG_HOST_DEVICE constexpr uint8_t sign_byte(uint32_t seven_bits) {
    const uint32_t v = seven_bits & 127u;
    uint32_t p = v ^ (v >> 4);
    p ^= p >> 2;
    p ^= p >> 1;
    return static_cast<uint8_t>(v | ((p & 1u) << 7));
}

constexpr float iq1_delta = 0.125f;  // IQ1S_DELTA in ggml

}  // namespace gmg::iq
