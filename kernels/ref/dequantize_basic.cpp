// Reference decoders for the plain types and the 32-element block formats.
#include <cmath>

#include "../common/half.h"
#include "../common/iq_tables.h"
#include "dequantize.h"
#include "load.h"

namespace gmg::ref {

void dequantize_row_f32(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i];
}
void dequantize_row_f16(const half_bits* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = f16_to_f32(x[i]);
}
void dequantize_row_bf16(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_f32(x[i]);
}
void dequantize_row_f64(const double* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(x[i]);
}
void dequantize_row_i8(const int8_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(x[i]);
}
void dequantize_row_i16(const int16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(x[i]);
}
void dequantize_row_i32(const int32_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(x[i]);
}
void dequantize_row_i64(const int64_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(x[i]);
}

void dequantize_row_q4_0(const block_q4_0* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK4_0; ++b, y += QK4_0) {
        const float d = f16_to_f32(x[b].d);
        for (int j = 0; j < QK4_0 / 2; ++j) {
            y[j] = d * static_cast<float>((x[b].qs[j] & 15) - 8);
            y[j + QK4_0 / 2] = d * static_cast<float>((x[b].qs[j] >> 4) - 8);
        }
    }
}

void dequantize_row_q4_1(const block_q4_1* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK4_1; ++b, y += QK4_1) {
        const float d = f16_to_f32(x[b].d);
        const float m = f16_to_f32(x[b].m);
        for (int j = 0; j < QK4_1 / 2; ++j) {
            y[j] = d * static_cast<float>(x[b].qs[j] & 15) + m;
            y[j + QK4_1 / 2] = d * static_cast<float>(x[b].qs[j] >> 4) + m;
        }
    }
}

// Element j of a Q5 block: low nibble from qs, fifth bit j of the u32 qh.
static inline int q5_value(const uint8_t* qs, uint32_t qh, int j) {
    const int half = QK5_0 / 2;
    const int low = j < half ? (qs[j] & 15) : (qs[j - half] >> 4);
    return low | static_cast<int>(((qh >> j) & 1u) << 4);
}

void dequantize_row_q5_0(const block_q5_0* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK5_0; ++b, y += QK5_0) {
        const float d = f16_to_f32(x[b].d);
        const uint32_t qh = load_u32(x[b].qh);
        for (int j = 0; j < QK5_0; ++j) y[j] = d * static_cast<float>(q5_value(x[b].qs, qh, j) - 16);
    }
}

void dequantize_row_q5_1(const block_q5_1* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK5_1; ++b, y += QK5_1) {
        const float d = f16_to_f32(x[b].d);
        const float m = f16_to_f32(x[b].m);
        const uint32_t qh = load_u32(x[b].qh);
        for (int j = 0; j < QK5_1; ++j) y[j] = d * static_cast<float>(q5_value(x[b].qs, qh, j)) + m;
    }
}

void dequantize_row_q8_0(const block_q8_0* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK8_0; ++b, y += QK8_0) {
        const float d = f16_to_f32(x[b].d);
        for (int j = 0; j < QK8_0; ++j) y[j] = static_cast<float>(x[b].qs[j]) * d;
    }
}

void dequantize_row_q8_1(const block_q8_1* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK8_1; ++b, y += QK8_1) {
        const float d = f16_to_f32(x[b].d);
        for (int j = 0; j < QK8_1; ++j) y[j] = static_cast<float>(x[b].qs[j]) * d;
    }
}

void dequantize_row_iq4_nl(const block_iq4_nl* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK4_NL; ++b, y += QK4_NL) {
        const float d = f16_to_f32(x[b].d);
        for (int j = 0; j < QK4_NL / 2; ++j) {
            y[j] = d * static_cast<float>(iq::kvalues_iq4nl[x[b].qs[j] & 15]);
            y[j + QK4_NL / 2] = d * static_cast<float>(iq::kvalues_iq4nl[x[b].qs[j] >> 4]);
        }
    }
}

// E8M0 exponent -> 2^(e-127) / 2: the /2 undoes the doubled kvalues_fp4.
static inline float e8m0_to_f32_half(uint8_t e) {
    const uint32_t bits = e < 2 ? (0x00200000u << e) : (static_cast<uint32_t>(e - 1) << 23);
    return bits_to_f32(bits);
}

void dequantize_row_mxfp4(const block_mxfp4* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK_MXFP4; ++b, y += QK_MXFP4) {
        const float d = e8m0_to_f32_half(x[b].e);
        for (int j = 0; j < QK_MXFP4 / 2; ++j) {
            y[j] = d * static_cast<float>(iq::kvalues_fp4[x[b].qs[j] & 15]);
            y[j + QK_MXFP4 / 2] = d * static_cast<float>(iq::kvalues_fp4[x[b].qs[j] >> 4]);
        }
    }
}

// Unsigned E4M3 (bias 7, no sign) halved for the doubled kvalues; 0x7F (NaN) reads as 0.
static inline float ue4m3_to_f32_half(uint8_t v) {
    if (v == 0 || v == 0x7f) return 0.0f;
    const int exp = (v >> 3) & 15;
    const int man = v & 7;
    const float value = exp == 0 ? std::ldexp(static_cast<float>(man), -9)
                                 : std::ldexp(1.0f + static_cast<float>(man) / 8.0f, exp - 7);
    return value * 0.5f;
}

void dequantize_row_nvfp4(const block_nvfp4* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK_NVFP4; ++b) {
        for (int s = 0; s < QK_NVFP4 / 16; ++s, y += 16) {
            const float d = ue4m3_to_f32_half(x[b].d[s]);
            for (int j = 0; j < 8; ++j) {
                y[j] = d * static_cast<float>(iq::kvalues_fp4[x[b].qs[8 * s + j] & 15]);
                y[j + 8] = d * static_cast<float>(iq::kvalues_fp4[x[b].qs[8 * s + j] >> 4]);
            }
        }
    }
}

}  // namespace gmg::ref
