#include "lib/runtime/reference_ops.h"

#include <cmath>

#include "kernels/common/gelu.h"
#include "kernels/common/half.h"

namespace gmg::ops {

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
    const float mean = static_cast<float>(sum / static_cast<double>(n));
    const float scale = 1.0f / std::sqrt(mean + eps);
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * scale) * w[i];
}

void rope_neox(float* x, int64_t n_rot, int64_t pos, float base, float freq_scale) {
    const int64_t half = n_rot / 2;
    const float theta_scale = std::pow(base, -2.0f / static_cast<float>(n_rot));
    float theta = static_cast<float>(pos);
    for (int64_t i = 0; i < half; ++i) {
        const float angle = freq_scale * theta;
        const float c = std::cos(angle), s = std::sin(angle);
        const float a = x[i], b = x[i + half];
        x[i] = a * c - b * s;
        x[i + half] = a * s + b * c;
        theta *= theta_scale;
    }
}

// The formula per element; the fast path (kernels/cpu/geglu.h) reads the same
// values from a table.
void geglu(const float* gate, const float* up, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = geglu_value(gate[i], up[i]);
}

float round_f16(float x) { return f16_to_f32(f32_to_f16(x)); }

void softmax(float* x, int64_t n) {
    float max = -INFINITY;
    for (int64_t i = 0; i < n; ++i) max = std::fmax(max, x[i]);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = max == -INFINITY ? 0.0f : std::exp(x[i] - max);
        sum += static_cast<double>(x[i]);
    }
    const float inv = sum > 0.0 ? static_cast<float>(1.0 / sum) : 0.0f;
    for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace gmg::ops
