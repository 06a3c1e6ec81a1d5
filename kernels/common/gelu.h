// GELU as Gemma3 uses it (tanh approximation), and gelu(g) * u rounded where
// llama.cpp's CPU rounds it. One definition for the CPU kernels, the reference
// ops and the GPU kernels (host-device).
#pragma once
#include <cmath>

#include "kernels/common/compat.h"
#include "kernels/common/half.h"

namespace gmg {

GMG_HOST_DEVICE inline float gelu_tanh(float x) {
    const float kSqrt2OverPi = 0.79788456080286535587989211986876f;
    const float kCoefA = 0.044715f;
    return 0.5f * x * (1.0f + tanhf(kSqrt2OverPi * x * (1.0f + kCoefA * x * x)));
}

// gelu(g) * u as llama.cpp's CPU computes it: GELU read from an f16 table (the
// input and the result rounded through f16), identity above 10, zero below -10.
GMG_HOST_DEVICE inline float geglu_value(float g, float u) {
    if (g <= -10.0f) return 0.0f;
    if (g >= 10.0f) return g * u;
    return f16_to_f32(f32_to_f16(gelu_tanh(f16_to_f32(f32_to_f16(g))))) * u;
}

}  // namespace gmg
