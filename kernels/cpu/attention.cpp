#include "kernels/cpu/attention.h"

#include <cmath>
#include <vector>

#include "kernels/common/half.h"
#include "kernels/cpu/kernel_table.h"

namespace gmg::cpu {

void attend_head(const float* q, int64_t d, const KvRows& kv, int64_t lo, int64_t hi, float* scores, float* out,
                 Isa isa) {
    const KernelSet& set = kernel_set(isa);
    thread_local std::vector<float> q16;
    q16.resize(static_cast<size_t>(d));
    for (int64_t i = 0; i < d; ++i) q16[static_cast<size_t>(i)] = f16_to_f32(f32_to_f16(q[i]));
    const int64_t n = hi - lo + 1;
    float max = -INFINITY;
    for (int64_t j = 0; j < n; ++j) {
        const uint16_t* kj = kv.k + ((lo + j) % kv.capacity) * kv.stride;
        float s;
        if (set.dot_f16) {
            s = set.dot_f16(q16.data(), kj, d);
        } else {
            double acc = 0.0;  // f16 x f16 products are exact in double
            for (int64_t i = 0; i < d; ++i) acc += static_cast<double>(q16[static_cast<size_t>(i)]) * f16_to_f32(kj[i]);
            s = static_cast<float>(acc);
        }
        scores[j] = s;
        max = std::fmax(max, s);
    }
    double sum = 0.0;
    for (int64_t j = 0; j < n; ++j) {
        scores[j] = std::exp(scores[j] - max);
        sum += scores[j];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < d; ++i) out[i] = 0.0f;
    for (int64_t j = 0; j < n; ++j) {
        const float p = f16_to_f32(f32_to_f16(scores[j] * inv));
        if (p == 0.0f) continue;  // underflowed weights add nothing
        const uint16_t* vj = kv.v + ((lo + j) % kv.capacity) * kv.stride;
        if (set.axpy_f16) {
            set.axpy_f16(p, vj, out, d);
        } else {
            for (int64_t i = 0; i < d; ++i) out[i] += p * f16_to_f32(vj[i]);
        }
    }
}

}  // namespace gmg::cpu
