// Reference decoders for the 256-element K-quant and ternary super-blocks.
#include "../common/half.h"
#include "dequantize.h"
#include "load.h"

namespace gmg::ref {

// Element e of a super-block is laid out as e = 128*h + 32*j + l for the 2-bit
// formats: half h, 2-bit plane j (shift 2j), position l in a 32-byte run.

void dequantize_row_q2_K(const block_q2_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b, y += QK_K) {
        const float d = f16_to_f32(x[b].d);
        const float dmin = f16_to_f32(x[b].dmin);
        for (int e = 0; e < QK_K; ++e) {
            const int h = e / 128, j = (e % 128) / 32, l = e % 32;
            const uint8_t sc = x[b].scales[e / 16];
            const float dl = d * static_cast<float>(sc & 15);
            const float ml = dmin * static_cast<float>(sc >> 4);
            const int q = (x[b].qs[32 * h + l] >> (2 * j)) & 3;
            y[e] = dl * static_cast<float>(q) - ml;
        }
    }
}

// Sixteen signed 6-bit scales: low 4 bits from bytes 0..7 (low nibble first),
// high 2 bits from bytes 8..11 (two bits per scale, four scales per byte).
static inline int q3_K_scale(const uint8_t* s, int i) {
    const int low = i < 8 ? (s[i] & 15) : (s[i - 8] >> 4);
    const int high = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
    return (low | (high << 4)) - 32;
}

void dequantize_row_q3_K(const block_q3_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b, y += QK_K) {
        const float d = f16_to_f32(x[b].d);
        for (int e = 0; e < QK_K; ++e) {
            const int h = e / 128, j = (e % 128) / 32, l = e % 32;
            const float dl = d * static_cast<float>(q3_K_scale(x[b].scales, e / 16));
            const int low = (x[b].qs[32 * h + l] >> (2 * j)) & 3;
            const bool high = (x[b].hmask[l] >> (4 * h + j)) & 1;  // set bit: no -4 offset
            y[e] = dl * static_cast<float>(low - (high ? 0 : 4));
        }
    }
}

// Eight 6-bit scales and eight 6-bit mins packed in 12 bytes (Q4_K and Q5_K).
static inline void k4_scale_min(const uint8_t* s, int i, int* scale, int* min) {
    if (i < 4) {
        *scale = s[i] & 63;
        *min = s[i + 4] & 63;
    } else {
        *scale = (s[i + 4] & 15) | ((s[i - 4] >> 6) << 4);
        *min = (s[i + 4] >> 4) | ((s[i] >> 6) << 4);
    }
}

// Q4_K/Q5_K: sub-block i (32 elements) = chunk i/2 of 32 bytes, low nibbles for even i.
void dequantize_row_q4_K(const block_q4_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b, y += QK_K) {
        const float d = f16_to_f32(x[b].d);
        const float dmin = f16_to_f32(x[b].dmin);
        for (int i = 0; i < QK_K / 32; ++i) {
            int sc, m;
            k4_scale_min(x[b].scales, i, &sc, &m);
            const float dl = d * static_cast<float>(sc);
            const float ml = dmin * static_cast<float>(m);
            const uint8_t* q = x[b].qs + 32 * (i / 2);
            const int shift = 4 * (i % 2);
            for (int l = 0; l < 32; ++l) y[32 * i + l] = dl * static_cast<float>((q[l] >> shift) & 15) - ml;
        }
    }
}

void dequantize_row_q5_K(const block_q5_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b, y += QK_K) {
        const float d = f16_to_f32(x[b].d);
        const float dmin = f16_to_f32(x[b].dmin);
        for (int i = 0; i < QK_K / 32; ++i) {
            int sc, m;
            k4_scale_min(x[b].scales, i, &sc, &m);
            const float dl = d * static_cast<float>(sc);
            const float ml = dmin * static_cast<float>(m);
            const uint8_t* q = x[b].qs + 32 * (i / 2);
            const int shift = 4 * (i % 2);
            for (int l = 0; l < 32; ++l) {
                const int v = ((q[l] >> shift) & 15) | (((x[b].qh[l] >> i) & 1) << 4);
                y[32 * i + l] = dl * static_cast<float>(v) - ml;
            }
        }
    }
}

// Q6_K: element 128*h + 32*c + l takes its low nibble from ql[64h + 32(c%2) + l]
// (shift 4*(c/2)) and its high two bits from qh[32h + l] (shift 2c).
void dequantize_row_q6_K(const block_q6_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b, y += QK_K) {
        const float d = f16_to_f32(x[b].d);
        for (int e = 0; e < QK_K; ++e) {
            const int h = e / 128, c = (e % 128) / 32, l = e % 32;
            const int low = (x[b].ql[64 * h + 32 * (c % 2) + l] >> (4 * (c / 2))) & 15;
            const int high = (x[b].qh[32 * h + l] >> (2 * c)) & 3;
            const float dl = d * static_cast<float>(x[b].scales[e / 16]);
            y[e] = dl * static_cast<float>((low | (high << 4)) - 32);
        }
    }
}

void dequantize_row_q8_K(const block_q8_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b, y += QK_K)
        for (int j = 0; j < QK_K; ++j) y[j] = x[b].d * static_cast<float>(x[b].qs[j]);
}

// TQ1_0 packs five base-3 digits per byte as a fixed-point fraction: digit k of
// byte v is ((uint8)(v * 3^k) * 3) >> 8. Elements 0..159 take digit e/32 of
// qs[e%32], 160..239 digit (e-160)/16 of qs[32 + e%16], 240..255 digit of qh.
void dequantize_row_tq1_0(const block_tq1_0* x, float* y, int64_t n) {
    static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
    for (int64_t b = 0; b < n / QK_K; ++b, y += QK_K) {
        const float d = f16_to_f32(x[b].d);
        for (int e = 0; e < QK_K; ++e) {
            uint8_t byte;
            int digit;
            if (e < 160) {
                byte = x[b].qs[e % 32];
                digit = e / 32;
            } else if (e < 240) {
                byte = x[b].qs[32 + (e - 160) % 16];
                digit = (e - 160) / 16;
            } else {
                byte = x[b].qh[(e - 240) % 4];
                digit = (e - 240) / 4;
            }
            const uint8_t q = static_cast<uint8_t>(byte * kPow3[digit]);
            const int t = (static_cast<uint16_t>(q) * 3) >> 8;
            y[e] = d * static_cast<float>(t - 1);
        }
    }
}

void dequantize_row_tq2_0(const block_tq2_0* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b, y += QK_K) {
        const float d = f16_to_f32(x[b].d);
        for (int e = 0; e < QK_K; ++e) {
            const int h = e / 128, j = (e % 128) / 32, l = e % 32;
            const int q = (x[b].qs[32 * h + l] >> (2 * j)) & 3;
            y[e] = d * static_cast<float>(q - 1);
        }
    }
}

}  // namespace gmg::ref
