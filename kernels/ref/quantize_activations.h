// Reference quantizers for the activation types that weight dot products pair
// with (Q8_0, Q8_1, Q8_K). The fast kernels must reproduce these bytes exactly.
// n must be a multiple of the block size (32 or 256).
#pragma once
#include <cstdint>

#include "../common/block_formats.h"

namespace gmg::ref {

// llama.cpp's reference rule: d = amax/127, q = roundf(x * (1/d)) (ties away from zero).
void quantize_row_q8_0(const float* x, block_q8_0* y, int64_t n);
// The rule of llama.cpp's x86 SIMD path: d = amax/127 stored as f16, but
// q = round-half-even(x * (127/amax)); it can differ from the reference in the last step.
void quantize_row_q8_0_x86(const float* x, block_q8_0* y, int64_t n);
// As quantize_row_q8_0, plus s = f16(d * sum(q)) for the Q4_1/Q5_1 min term.
void quantize_row_q8_1(const float* x, block_q8_1* y, int64_t n);
// The x86 SIMD path's Q8_1 (llama.cpp's arch/x86 quantize_row_q8_1): the q bytes of
// quantize_row_q8_0_x86, s = f16(d * sum(q)) with d not yet rounded to f16.
void quantize_row_q8_1_x86(const float* x, block_q8_1* y, int64_t n);
// d = 1/iscale with iscale = -127/max, max being the signed value of largest
// magnitude (so d is negative when max > 0); q = min(127, round-half-even(iscale*x)).
void quantize_row_q8_K(const float* x, block_q8_K* y, int64_t n);

}  // namespace gmg::ref
