// Scalar reference decoders: one block format -> float32, written for clarity and
// bit-exactness, not speed. They are the oracle every SIMD/GPU kernel is tested
// against, and are themselves proven bit-exact against gguf-py (tests/oracle).
// n is the number of elements and must be a multiple of the type's block size.
#pragma once
#include <cstdint>

#include "../common/block_formats.h"
#include "../common/ggml_type.h"

namespace gmg::ref {

void dequantize_row_f32(const float* x, float* y, int64_t n);
void dequantize_row_f16(const half_bits* x, float* y, int64_t n);
void dequantize_row_bf16(const uint16_t* x, float* y, int64_t n);
void dequantize_row_f64(const double* x, float* y, int64_t n);
void dequantize_row_i8(const int8_t* x, float* y, int64_t n);
void dequantize_row_i16(const int16_t* x, float* y, int64_t n);
void dequantize_row_i32(const int32_t* x, float* y, int64_t n);
void dequantize_row_i64(const int64_t* x, float* y, int64_t n);

void dequantize_row_q4_0(const block_q4_0* x, float* y, int64_t n);
void dequantize_row_q4_1(const block_q4_1* x, float* y, int64_t n);
void dequantize_row_q5_0(const block_q5_0* x, float* y, int64_t n);
void dequantize_row_q5_1(const block_q5_1* x, float* y, int64_t n);
void dequantize_row_q8_0(const block_q8_0* x, float* y, int64_t n);
void dequantize_row_q8_1(const block_q8_1* x, float* y, int64_t n);
void dequantize_row_iq4_nl(const block_iq4_nl* x, float* y, int64_t n);
void dequantize_row_mxfp4(const block_mxfp4* x, float* y, int64_t n);
void dequantize_row_nvfp4(const block_nvfp4* x, float* y, int64_t n);

void dequantize_row_q2_K(const block_q2_K* x, float* y, int64_t n);
void dequantize_row_q3_K(const block_q3_K* x, float* y, int64_t n);
void dequantize_row_q4_K(const block_q4_K* x, float* y, int64_t n);
void dequantize_row_q5_K(const block_q5_K* x, float* y, int64_t n);
void dequantize_row_q6_K(const block_q6_K* x, float* y, int64_t n);
void dequantize_row_q8_K(const block_q8_K* x, float* y, int64_t n);
void dequantize_row_tq1_0(const block_tq1_0* x, float* y, int64_t n);
void dequantize_row_tq2_0(const block_tq2_0* x, float* y, int64_t n);

void dequantize_row_iq2_xxs(const block_iq2_xxs* x, float* y, int64_t n);
void dequantize_row_iq2_xs(const block_iq2_xs* x, float* y, int64_t n);
void dequantize_row_iq2_s(const block_iq2_s* x, float* y, int64_t n);
void dequantize_row_iq3_xxs(const block_iq3_xxs* x, float* y, int64_t n);
void dequantize_row_iq3_s(const block_iq3_s* x, float* y, int64_t n);
void dequantize_row_iq1_s(const block_iq1_s* x, float* y, int64_t n);
void dequantize_row_iq1_m(const block_iq1_m* x, float* y, int64_t n);
void dequantize_row_iq4_xs(const block_iq4_xs* x, float* y, int64_t n);

// Decodes n elements of type t from src (suitably aligned, see TypeTraits::align).
// Returns false, writing nothing, if n is not a whole number of blocks.
bool dequantize_row(GgmlType t, const void* src, float* dst, int64_t n);

}  // namespace gmg::ref
