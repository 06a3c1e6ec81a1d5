// The element-wise and small ops of the Gemma3 forward pass, written to round
// exactly where llama.cpp's CPU backend rounds (see SPEC §4.1), so that our
// logits and its logits differ only by summation order.
#pragma once
#include <cstdint>


namespace gmg::ops {

// y = (x * (1 / sqrt(mean(x^2) + eps))) * w; the sum of squares in double.
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);

// NEOX rotary embedding in place on one head: pairs (i, i + n_rot/2); angles
// from a running float product theta_k = pos * base^(-2k/n_rot), times freq_scale.
void rope_neox(float* x, int64_t n_rot, int64_t pos, float base, float freq_scale);

// y = gelu_tanh(gate) * up, rounded like llama.cpp's f16 GELU table (kernels/common/gelu.h).
void geglu(const float* gate, const float* up, float* y, int64_t n);

// In-place softmax over n scores (max-subtracted, sum in double).
void softmax(float* x, int64_t n);

// Round-trips a float through f16.
float round_f16(float x);

}  // namespace gmg::ops
