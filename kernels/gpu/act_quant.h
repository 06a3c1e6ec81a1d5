// Activation quantizers for the GPU path, host-device like group_decode.h. They
// follow the CPU path's rules exactly (kernels/ref/quantize_activations.h), so a
// GPU product rounds its activations where the CPU product does; the unit tests
// check them byte for byte against the reference quantizers.
//
// Device layout of a quantized activation row of k elements: k int8 values, then
// (separately) one float scale per 32 elements. Q8_K's one scale per 256 is
// stored in each of its eight groups.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/compat.h"
#include "kernels/common/gelu.h"
#include "kernels/common/ggml_type.h"
#include "kernels/common/half.h"
#include "kernels/cpu/vec_dot_type.h"

namespace gmg::gpu {

enum class ActRule : int {
    q8_0,   // llama.cpp's x86 Q8_0: d = amax/127 (stored f16), q = round-half-even(x * 127/amax)
    q8_1,   // Q8_1 (Q4_1/Q5_1): the q8_0 x86 rule; the min term uses sum(q)
    q8_K,   // Q8_K per 256: d = max/-127 signed, q = min(127, round-half-even(x * -127/max))
    f16,    // float activations rounded through binary16 (F16 weights)
    bf16,   // through bfloat16 (BF16 weights)
    f32,    // as they are (F32 weights)
};

// The rule for a weight type: the CPU path's vec_dot_type, so both round alike.
GMG_HOST_DEVICE constexpr ActRule act_rule(GgmlType weight) {
    switch (cpu::vec_dot_type(weight)) {
        case GgmlType::F32: return ActRule::f32;
        case GgmlType::F16: return ActRule::f16;
        case GgmlType::BF16: return ActRule::bf16;
        case GgmlType::Q8_0: return ActRule::q8_0;
        case GgmlType::Q8_1: return ActRule::q8_1;
        default: return ActRule::q8_K;
    }
}
GMG_HOST_DEVICE constexpr bool is_float_rule(ActRule r) { return r == ActRule::f16 || r == ActRule::bf16 || r == ActRule::f32; }
GMG_HOST_DEVICE constexpr int act_block(ActRule r) { return r == ActRule::q8_K ? 256 : is_float_rule(r) ? 1 : 32; }

// Exact products: no fused multiply-add may skip the product's rounding.
GMG_HOST_DEVICE inline float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}

GMG_HOST_DEVICE inline float round_half_even(float v) {
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    return rintf(v);
#else
    return std::nearbyint(v);  // the default rounding mode: to nearest, ties to even
#endif
}

GMG_HOST_DEVICE inline float abs_max(const float* x, int n) {
    float amax = 0.0f;
    for (int j = 0; j < n; ++j) amax = fmaxf(amax, fabsf(x[j]));
    return amax;
}

// 32 values -> q; returns the scale the dot product uses (d as stored, i.e.
// f16-rounded), and d before that rounding in *d_f32 when asked.
GMG_HOST_DEVICE inline float quantize_q8_0(const float* x, int8_t* q, float* d_f32 = nullptr) {
    const float amax = abs_max(x, 32);
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (int j = 0; j < 32; ++j) q[j] = static_cast<int8_t>(round_half_even(mul_rn(x[j], id)));
    if (d_f32) *d_f32 = d;
    return f16_to_f32(f32_to_f16(d));
}

// Q8_1 on llama.cpp's x86 path rounds q exactly as its Q8_0 does, and stores
// s = f16(d * sum(q)) with d before its f16 rounding: the Q4_1/Q5_1 min term is
// min * s (group_dot_min_sum). *s_out receives s as a float.
GMG_HOST_DEVICE inline float quantize_q8_1(const float* x, int8_t* q, float* s_out) {
    float d_f32 = 0.0f;
    const float d = quantize_q8_0(x, q, &d_f32);
    int sum = 0;
    for (int j = 0; j < 32; ++j) sum += q[j];
    *s_out = f16_to_f32(f32_to_f16(d_f32 * static_cast<float>(sum)));
    return d;
}

// llama.cpp's nearest_int: adding 1.5 * 2^23 leaves the rounded integer in the low bits.
GMG_HOST_DEVICE inline int nearest_int_even(float v) {
    const float shifted = v + 12582912.0f;
    return static_cast<int>(f32_to_bits(shifted) & 0x007fffffu) - 0x00400000;
}

// 256 values -> q; returns d (0 for an all-zero block).
GMG_HOST_DEVICE inline float quantize_q8_K(const float* x, int8_t* q) {
    float max = 0.0f, amax = 0.0f;
    for (int j = 0; j < 256; ++j) {
        const float ax = fabsf(x[j]);
        if (ax > amax) {  // strict: the first element of largest magnitude wins
            amax = ax;
            max = x[j];
        }
    }
    if (amax == 0.0f) {
        for (int j = 0; j < 256; ++j) q[j] = 0;
        return 0.0f;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < 256; ++j) {
        const int v = nearest_int_even(mul_rn(iscale, x[j]));
        q[j] = static_cast<int8_t>(v < 127 ? v : 127);
    }
    return 1.0f / iscale;
}

// One block of an integer rule (32 values, or 256 for Q8_K) -> q, and its scale
// stored once per 32 values (act_block(rule) / 32 entries of scale_out); for Q8_1
// also its stored sum into *sum_out when that is given.
GMG_HOST_DEVICE inline void quantize_block(ActRule rule, const float* x, int8_t* q, float* scale_out,
                                           float* sum_out = nullptr) {
    float s = 0.0f;
    const float d = rule == ActRule::q8_K ? quantize_q8_K(x, q) : rule == ActRule::q8_1 ? quantize_q8_1(x, q, &s)
                                                                                          : quantize_q8_0(x, q);
    for (int g = 0; g < act_block(rule) / 32; ++g) scale_out[g] = d;
    if (rule == ActRule::q8_1 && sum_out) *sum_out = s;
}

GMG_HOST_DEVICE inline float round_float_act(ActRule r, float x) {
    if (r == ActRule::f16) return f16_to_f32(f32_to_f16(x));
    if (r == ActRule::bf16) return bf16_to_f32(f32_to_bf16(x));
    return x;
}

}  // namespace gmg::gpu
