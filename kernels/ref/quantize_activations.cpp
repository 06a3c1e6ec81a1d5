#include "quantize_activations.h"

#include <cmath>
#include <cstring>

#include "../common/half.h"

namespace gmg::ref {
namespace {

float block_amax(const float* x, int n) {
    float amax = 0.0f;
    for (int j = 0; j < n; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    return amax;
}

// Round half to even for |v| < 2^22, by the float "magic number" trick llama.cpp's
// nearest_int uses: adding 1.5*2^23 leaves the rounded integer in the low mantissa bits.
int nearest_int_even(float v) {
    const float shifted = v + 12582912.0f;
    return static_cast<int>(f32_to_bits(shifted) & 0x007fffffu) - 0x00400000;
}

}  // namespace

void quantize_row_q8_0(const float* x, block_q8_0* y, int64_t n) {
    for (int64_t b = 0; b < n / QK8_0; ++b, x += QK8_0) {
        const float d = block_amax(x, QK8_0) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_f16(d);
        for (int j = 0; j < QK8_0; ++j) y[b].qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
    }
}

namespace {
// One block by the x86 rule; returns d before its f16 rounding (Q8_1's sum needs it).
float quantize_block_q8_0_x86(const float* x, block_q8_0* y) {
    const float amax = block_amax(x, QK8_0);
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    y->d = f32_to_f16(d);
    for (int j = 0; j < QK8_0; ++j) y->qs[j] = static_cast<int8_t>(std::nearbyint(x[j] * id));
    return d;
}
}  // namespace

void quantize_row_q8_0_x86(const float* x, block_q8_0* y, int64_t n) {
    for (int64_t b = 0; b < n / QK8_0; ++b, x += QK8_0) quantize_block_q8_0_x86(x, &y[b]);
}

void quantize_row_q8_1(const float* x, block_q8_1* y, int64_t n) {
    for (int64_t b = 0; b < n / QK8_1; ++b, x += QK8_1) {
        const float d = block_amax(x, QK8_1) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < QK8_1; ++j) {
            const int q = static_cast<int>(std::roundf(x[j] * id));
            y[b].qs[j] = static_cast<int8_t>(q);
            sum += q;
        }
        y[b].d = f32_to_f16(d);
        y[b].s = f32_to_f16(static_cast<float>(sum) * d);
    }
}

void quantize_row_q8_1_x86(const float* x, block_q8_1* y, int64_t n) {
    static_assert(QK8_0 == QK8_1);
    for (int64_t b = 0; b < n / QK8_1; ++b, x += QK8_1) {
        block_q8_0 q8;  // the same d and q as the x86 Q8_0 rule
        const float d = quantize_block_q8_0_x86(x, &q8);
        int sum = 0;
        for (int j = 0; j < QK8_1; ++j) sum += q8.qs[j];
        std::memcpy(y[b].qs, q8.qs, sizeof q8.qs);
        y[b].d = q8.d;
        y[b].s = f32_to_f16(d * static_cast<float>(sum));  // d before its f16 rounding
    }
}

void quantize_row_q8_K(const float* x, block_q8_K* y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b, x += QK_K) {
        float max = 0.0f, amax = 0.0f;
        for (int j = 0; j < QK_K; ++j) {
            const float ax = std::fabs(x[j]);
            if (ax > amax) {  // strict: the first element of largest magnitude wins
                amax = ax;
                max = x[j];
            }
        }
        if (amax == 0.0f) {
            y[b] = block_q8_K{};
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; ++j) {
            const int q = nearest_int_even(iscale * x[j]);
            y[b].qs[j] = static_cast<int8_t>(q < 127 ? q : 127);
        }
        for (int k = 0; k < QK_K / 16; ++k) {
            int sum = 0;
            for (int j = 0; j < 16; ++j) sum += y[b].qs[16 * k + j];
            y[b].bsums[k] = static_cast<int16_t>(sum);
        }
        y[b].d = 1.0f / iscale;
    }
}

}  // namespace gmg::ref
