#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/common/half.h"
#include "kernels/cpu/kernel_table.h"

namespace gmg::cpu {

namespace {

// Calls f(first position, slot of that position, run length) for the runs of
// positions [lo, hi] that are contiguous in the ring.
template <class F>
void for_each_run(const KvRows& kv, int64_t lo, int64_t hi, F&& f) {
    for (int64_t j = lo; j <= hi;) {
        const int64_t slot = j % kv.capacity;
        const int64_t len = std::min(hi - j + 1, kv.capacity - slot);
        f(j, slot, len);
        j += len;
    }
}

// The portable loops (Isa::scalar): scores in double (f16 x f16 products are exact there).
void scores_scalar(const float* q, int64_t d, const KvRows& kv, int64_t lo, int64_t hi, float* s) {
    for (int64_t j = lo; j <= hi; ++j) {
        const uint16_t* kj = kv.k + (j % kv.capacity) * kv.stride;
        double acc = 0.0;
        for (int64_t i = 0; i < d; ++i) acc += static_cast<double>(q[i]) * f16_to_f32(kj[i]);
        s[j - lo] = static_cast<float>(acc);
    }
}

void mix_scalar(const float* p, int64_t d, const KvRows& kv, int64_t lo, int64_t hi, float* out) {
    for (int64_t j = lo; j <= hi; ++j) {
        const float pj = p[j - lo];
        if (pj == 0.0f) continue;  // underflowed weights add nothing
        const uint16_t* vj = kv.v + (j % kv.capacity) * kv.stride;
        for (int64_t i = 0; i < d; ++i) out[i] += pj * f16_to_f32(vj[i]);
    }
}

}  // namespace

void attend_heads(const float* q, int64_t nq, int64_t d, const KvRows& kv, int64_t lo, int64_t hi, float* scores,
                  float* out, Isa isa) {
    const KernelSet& set = kernel_set(isa);
    const bool simd = set.scores_f16 && set.mix_f16;
    const int64_t n = hi - lo + 1;
    thread_local std::vector<float> q16;
    q16.resize(static_cast<size_t>(nq * d));
    for (int64_t i = 0; i < nq * d; ++i) q16[static_cast<size_t>(i)] = f16_to_f32(f32_to_f16(q[i]));

    if (simd) {
        for_each_run(kv, lo, hi, [&](int64_t j, int64_t slot, int64_t len) {
            set.scores_f16(q16.data(), nq, d, kv.k + slot * kv.stride, kv.stride, len, scores + (j - lo), n);
        });
    } else {
        for (int64_t h = 0; h < nq; ++h) scores_scalar(q16.data() + h * d, d, kv, lo, hi, scores + h * n);
    }
    // Softmax per head; the probabilities are rounded through f16 like llama.cpp's.
    for (int64_t h = 0; h < nq; ++h) {
        float* s = scores + h * n;
        float max = -INFINITY;
        for (int64_t j = 0; j < n; ++j) max = s[j] > max ? s[j] : max;  // std::fmax without the call (it too skips NaNs)
        double sum = 0.0;
        for (int64_t j = 0; j < n; ++j) {
            s[j] = std::exp(s[j] - max);
            sum += s[j];
        }
        const float inv = static_cast<float>(1.0 / sum);
        for (int64_t j = 0; j < n; ++j) s[j] = f16_to_f32(f32_to_f16(s[j] * inv));
    }
    std::fill(out, out + nq * d, 0.0f);
    if (simd) {
        for_each_run(kv, lo, hi, [&](int64_t j, int64_t slot, int64_t len) {
            set.mix_f16(scores + (j - lo), n, nq, kv.v + slot * kv.stride, kv.stride, len, out, d);
        });
    } else {
        for (int64_t h = 0; h < nq; ++h) mix_scalar(scores + h * n, d, kv, lo, hi, out + h * d);
    }
}

void attend_head(const float* q, int64_t d, const KvRows& kv, int64_t lo, int64_t hi, float* scratch, float* out,
                 Isa isa) {
    attend_heads(q, 1, d, kv, lo, hi, scratch, out, isa);
}

}  // namespace gmg::cpu
