// One switch from a type id to its reference decoder.
#include "dequantize.h"

namespace gmg::ref {

bool dequantize_row(GgmlType t, const void* src, float* dst, int64_t n) {
    const TypeTraits tr = traits_of(t);
    if (n < 0 || n % tr.block_elems != 0) return false;
    switch (t) {
#define GMG_CASE(TYPE, fn, block) \
    case GgmlType::TYPE:          \
        fn(static_cast<const block*>(src), dst, n); \
        return true;
        GMG_CASE(F32, dequantize_row_f32, float)
        GMG_CASE(F16, dequantize_row_f16, half_bits)
        GMG_CASE(BF16, dequantize_row_bf16, uint16_t)
        GMG_CASE(F64, dequantize_row_f64, double)
        GMG_CASE(I8, dequantize_row_i8, int8_t)
        GMG_CASE(I16, dequantize_row_i16, int16_t)
        GMG_CASE(I32, dequantize_row_i32, int32_t)
        GMG_CASE(I64, dequantize_row_i64, int64_t)
        GMG_CASE(Q4_0, dequantize_row_q4_0, block_q4_0)
        GMG_CASE(Q4_1, dequantize_row_q4_1, block_q4_1)
        GMG_CASE(Q5_0, dequantize_row_q5_0, block_q5_0)
        GMG_CASE(Q5_1, dequantize_row_q5_1, block_q5_1)
        GMG_CASE(Q8_0, dequantize_row_q8_0, block_q8_0)
        GMG_CASE(Q8_1, dequantize_row_q8_1, block_q8_1)
        GMG_CASE(IQ4_NL, dequantize_row_iq4_nl, block_iq4_nl)
        GMG_CASE(MXFP4, dequantize_row_mxfp4, block_mxfp4)
        GMG_CASE(NVFP4, dequantize_row_nvfp4, block_nvfp4)
        GMG_CASE(Q2_K, dequantize_row_q2_K, block_q2_K)
        GMG_CASE(Q3_K, dequantize_row_q3_K, block_q3_K)
        GMG_CASE(Q4_K, dequantize_row_q4_K, block_q4_K)
        GMG_CASE(Q5_K, dequantize_row_q5_K, block_q5_K)
        GMG_CASE(Q6_K, dequantize_row_q6_K, block_q6_K)
        GMG_CASE(Q8_K, dequantize_row_q8_K, block_q8_K)
        GMG_CASE(TQ1_0, dequantize_row_tq1_0, block_tq1_0)
        GMG_CASE(TQ2_0, dequantize_row_tq2_0, block_tq2_0)
        GMG_CASE(IQ2_XXS, dequantize_row_iq2_xxs, block_iq2_xxs)
        GMG_CASE(IQ2_XS, dequantize_row_iq2_xs, block_iq2_xs)
        GMG_CASE(IQ2_S, dequantize_row_iq2_s, block_iq2_s)
        GMG_CASE(IQ3_XXS, dequantize_row_iq3_xxs, block_iq3_xxs)
        GMG_CASE(IQ3_S, dequantize_row_iq3_s, block_iq3_s)
        GMG_CASE(IQ1_S, dequantize_row_iq1_s, block_iq1_s)
        GMG_CASE(IQ1_M, dequantize_row_iq1_m, block_iq1_m)
        GMG_CASE(IQ4_XS, dequantize_row_iq4_xs, block_iq4_xs)
#undef GMG_CASE
    }
    return false;
}

}  // namespace gmg::ref
