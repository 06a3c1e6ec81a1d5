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
        const uint16_t* vj = kv.v + (j % kv.capacity) * kv.stride;
        for (int64_t i = 0; i < d; ++i) out[i] += pj * f16_to_f32(vj[i]);
    }
}

// Softmax of s[a..b] in place, probabilities rounded through f16 like llama.cpp's;
// the rest of the n scores become 0.
void softmax_range(float* s, int64_t n, int64_t a, int64_t b, const KernelSet& set) {
    float max = -INFINITY;
    for (int64_t j = a; j <= b; ++j) max = s[j] > max ? s[j] : max;  // std::fmax without the call (it too skips NaNs)
    double sum = 0.0;
    for (int64_t j = a; j <= b; ++j) {
        s[j] = std::exp(s[j] - max);
        sum += s[j];
    }
    const float inv = static_cast<float>(1.0 / sum);
    std::fill(s, s + a, 0.0f);
    std::fill(s + b + 1, s + n, 0.0f);
    if (set.scale_round_f16) return set.scale_round_f16(s + a, b - a + 1, inv);
    for (int64_t j = a; j <= b; ++j) s[j] = f16_to_f32(f32_to_f16(s[j] * inv));
}

}  // namespace

void attend_tile(const QueryTile& tile, int64_t d, const KvRows& kv, Isa isa) {
    const KernelSet& set = kernel_set(isa);
    const bool simd = set.scores_f16 && set.mix_f16;
    const int64_t T = tile.tokens, H = tile.heads, rows = T * H;
    const int64_t first = *std::min_element(tile.lo, tile.lo + T), last = *std::max_element(tile.hi, tile.hi + T);
    const int64_t n = last - first + 1;
    thread_local std::vector<float> q16, scores, out;
    q16.resize(static_cast<size_t>(rows * d));
    scores.resize(static_cast<size_t>(rows * n));
    out.assign(static_cast<size_t>(rows * d), 0.0f);
    for (int64_t t = 0; t < T; ++t)
        for (int64_t i = 0; i < H * d; ++i)
            q16[static_cast<size_t>(t * H * d + i)] = f16_to_f32(f32_to_f16(tile.q[t * tile.stride + i]));

    if (simd) {
        for_each_run(kv, first, last, [&](int64_t j, int64_t slot, int64_t len) {
            set.scores_f16(q16.data(), rows, d, kv.k + slot * kv.stride, kv.stride, len, scores.data() + (j - first), n);
        });
    }
    for (int64_t t = 0; t < T; ++t) {
        const int64_t a = tile.lo[t] - first, b = tile.hi[t] - first;
        for (int64_t h = 0; h < H; ++h) {
            const int64_t r = t * H + h;
            float* s = scores.data() + r * n;
            if (!simd) scores_scalar(q16.data() + r * d, d, kv, tile.lo[t], tile.hi[t], s + a);
            softmax_range(s, n, a, b, set);
        }
    }
    if (simd) {
        for_each_run(kv, first, last, [&](int64_t j, int64_t slot, int64_t len) {
            set.mix_f16(scores.data() + (j - first), n, rows, kv.v + slot * kv.stride, kv.stride, len, out.data(), d);
        });
    } else {
        for (int64_t r = 0; r < rows; ++r) mix_scalar(scores.data() + r * n, d, kv, first, last, out.data() + r * d);
    }
    for (int64_t t = 0; t < T; ++t)
        std::copy(out.begin() + t * H * d, out.begin() + (t + 1) * H * d, tile.out + t * tile.stride);
}

void attend_heads(const float* q, int64_t nq, int64_t d, const KvRows& kv, int64_t lo, int64_t hi, float* out, Isa isa) {
    const QueryTile tile{q, out, 1, nq, 0, &lo, &hi};
    attend_tile(tile, d, kv, isa);
}

void attend_head(const float* q, int64_t d, const KvRows& kv, int64_t lo, int64_t hi, float* out, Isa isa) {
    attend_heads(q, 1, d, kv, lo, hi, out, isa);
}

}  // namespace gmg::cpu
