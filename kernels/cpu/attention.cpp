#include "kernels/cpu/attention.h"

#include <omp.h>

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

// Positions per partial sum. The chunks are aligned to absolute positions, so a
// token's sums are cut at the same places whether it is decoded alone, inside a
// prompt tile, or with its positions split across threads: every path gives
// the same bits.
constexpr int64_t kChunk = 128;

// One tile's attention in three passes over the chunks of [first, last]: the
// scores and each chunk's maximum; the exponentials and each chunk's sum; the
// probabilities (through f16, like llama.cpp's non-flash path) and each chunk's
// share of the output. The per-row maximum and sum between passes, and the output
// at the end, are taken over the chunks in ascending order.
class TileAttention {
public:
    TileAttention(const QueryTile& tile, int64_t d, const KvRows& kv, Isa isa)
        : tile_(tile), d_(d), kv_(kv), set_(kernel_set(isa)), simd_(set_.scores_f16 && set_.mix_f16),
          rows_(tile.tokens * tile.heads) {
        first_ = *std::min_element(tile.lo, tile.lo + tile.tokens);
        last_ = *std::max_element(tile.hi, tile.hi + tile.tokens);
        n_ = last_ - first_ + 1;
        chunk0_ = first_ / kChunk;
        chunks_ = last_ / kChunk - chunk0_ + 1;
        thread_local Buffers b;  // the calling thread's; the others only write into them
        buf_ = &b;
        b.q16.resize(static_cast<size_t>(rows_ * d));
        b.scores.resize(static_cast<size_t>(rows_ * n_));
        b.chunk_max.resize(static_cast<size_t>(chunks_ * rows_));
        b.chunk_sum.resize(static_cast<size_t>(chunks_ * rows_));
        b.partial.resize(static_cast<size_t>(rows_ * d));  // one share: each is added as soon as it is done
        b.out.assign(static_cast<size_t>(rows_ * d), 0.0f);
        b.max.resize(static_cast<size_t>(rows_));
        b.inv.resize(static_cast<size_t>(rows_));
        const int64_t H = tile.heads;
        for (int64_t t = 0; t < tile.tokens; ++t)
            for (int64_t i = 0; i < H * d; ++i)
                b.q16[static_cast<size_t>(t * H * d + i)] = f16_to_f32(f32_to_f16(tile.q[t * tile.stride + i]));
    }

    int64_t chunks() const { return chunks_; }

    // For passes split across threads: every chunk's share of the output is kept
    // until all are computed, then added in order.
    void keep_all_shares() {
        slots_ = chunks_;
        buf_->partial.resize(static_cast<size_t>(slots_ * rows_ * d_));
    }

    void scores(int64_t c) {
        const auto [a, b] = chunk_range(c);
        if (simd_)
            for_each_run(kv_, a, b, [&](int64_t j, int64_t slot, int64_t len) {
                set_.scores_f16(buf_->q16.data(), rows_, d_, kv_.k + slot * kv_.stride, kv_.stride, len, score(0, j), n_);
            });
        for (int64_t r = 0; r < rows_; ++r) {
            const auto [lo, hi] = valid(r, a, b);
            if (!simd_ && lo <= hi) scores_scalar(buf_->q16.data() + r * d_, d_, kv_, lo, hi, score(r, lo));
            float m = -INFINITY;
            for (int64_t j = lo; j <= hi; ++j) m = *score(r, j) > m ? *score(r, j) : m;  // skips NaNs, as std::fmax
            buf_->chunk_max[static_cast<size_t>(c * rows_ + r)] = m;
        }
    }

    void take_max() {
        for (int64_t r = 0; r < rows_; ++r) {
            float m = -INFINITY;
            for (int64_t c = 0; c < chunks_; ++c) m = std::max(m, buf_->chunk_max[static_cast<size_t>(c * rows_ + r)]);
            buf_->max[static_cast<size_t>(r)] = m;
        }
    }

    // exp(s - max) where the row sees the position, 0 elsewhere.
    void exponentials(int64_t c) {
        const auto [a, b] = chunk_range(c);
        for (int64_t r = 0; r < rows_; ++r) {
            const auto [lo, hi] = valid(r, a, b);
            const float m = buf_->max[static_cast<size_t>(r)];
            std::fill(score(r, a), score(r, std::min(lo, b + 1)), 0.0f);
            std::fill(score(r, std::max(hi + 1, a)), score(r, b + 1), 0.0f);
            double sum = 0.0;
            if (lo <= hi && set_.exp_sum) {
                sum = set_.exp_sum(score(r, lo), hi - lo + 1, m);
            } else {
                for (int64_t j = lo; j <= hi; ++j) sum += *score(r, j) = std::exp(*score(r, j) - m);
            }
            buf_->chunk_sum[static_cast<size_t>(c * rows_ + r)] = sum;
        }
    }

    void take_sum() {
        for (int64_t r = 0; r < rows_; ++r) {
            double sum = 0.0;
            for (int64_t c = 0; c < chunks_; ++c) sum += buf_->chunk_sum[static_cast<size_t>(c * rows_ + r)];
            buf_->inv[static_cast<size_t>(r)] = static_cast<float>(1.0 / sum);
        }
    }

    void mix(int64_t c) {
        const auto [a, b] = chunk_range(c);
        for (int64_t r = 0; r < rows_; ++r) {
            const auto [lo, hi] = valid(r, a, b);
            if (lo > hi) continue;
            const float inv = buf_->inv[static_cast<size_t>(r)];
            if (set_.scale_round_f16) set_.scale_round_f16(score(r, lo), hi - lo + 1, inv);
            else
                for (int64_t j = lo; j <= hi; ++j) *score(r, j) = f16_to_f32(f32_to_f16(*score(r, j) * inv));
        }
        float* out = share(c);
        std::fill(out, out + rows_ * d_, 0.0f);
        if (simd_) {
            for_each_run(kv_, a, b, [&](int64_t j, int64_t slot, int64_t len) {
                set_.mix_f16(score(0, j), n_, rows_, kv_.v + slot * kv_.stride, kv_.stride, len, out, d_);
            });
        } else {
            for (int64_t r = 0; r < rows_; ++r) mix_scalar(score(r, a), d_, kv_, a, b, out + r * d_);
        }
    }

    // out += chunk c's share: called for every chunk in ascending order, so that
    // out = ((0 + share 0) + share 1) + ... on every path.
    void add(int64_t c) {
        const float* p = share(c);
        for (size_t i = 0; i < buf_->out.size(); ++i) buf_->out[i] += p[i];
    }

    void write_out() const {
        const int64_t H = tile_.heads;
        for (int64_t t = 0; t < tile_.tokens; ++t)
            std::copy(buf_->out.begin() + t * H * d_, buf_->out.begin() + (t + 1) * H * d_, tile_.out + t * tile_.stride);
    }

private:
    struct Buffers {
        std::vector<float> q16, scores, chunk_max, partial, out, max, inv;
        std::vector<double> chunk_sum;
    };
    struct Range {
        int64_t lo, hi;
    };
    Range chunk_range(int64_t c) const {
        return {std::max(first_, (chunk0_ + c) * kChunk), std::min(last_, (chunk0_ + c + 1) * kChunk - 1)};
    }
    // The positions of [a, b] that row r (token r / heads) sees; empty: lo > hi.
    Range valid(int64_t r, int64_t a, int64_t b) const {
        const int64_t t = r / tile_.heads;
        return {std::max(a, tile_.lo[t]), std::min(b, tile_.hi[t])};
    }
    float* score(int64_t r, int64_t j) { return buf_->scores.data() + r * n_ + (j - first_); }
    float* share(int64_t c) { return buf_->partial.data() + (c % slots_) * rows_ * d_; }

    const QueryTile& tile_;
    const int64_t d_;
    const KvRows& kv_;
    const KernelSet& set_;
    const bool simd_;
    const int64_t rows_;
    int64_t first_, last_, n_, chunk0_, chunks_, slots_ = 1;
    Buffers* buf_;
};

}  // namespace

void attend_tile(const QueryTile& tile, int64_t d, const KvRows& kv, Isa isa, int n_threads) {
    TileAttention a(tile, d, kv, isa);
    const int64_t chunks = a.chunks();
    const int threads = static_cast<int>(std::clamp<int64_t>(n_threads, 1, chunks));
    if (threads == 1) {
        for (int64_t c = 0; c < chunks; ++c) a.scores(c);
        a.take_max();
        for (int64_t c = 0; c < chunks; ++c) a.exponentials(c);
        a.take_sum();
        for (int64_t c = 0; c < chunks; ++c) a.mix(c), a.add(c);
    } else {
        a.keep_all_shares();
        // Contiguous runs of chunks per thread, so that each streams its part of the cache.
#pragma omp parallel num_threads(threads)
        {
            const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
            const int64_t c0 = chunks * t / nt, c1 = chunks * (t + 1) / nt;
            for (int64_t c = c0; c < c1; ++c) a.scores(c);
#pragma omp barrier
#pragma omp single
            a.take_max();
            for (int64_t c = c0; c < c1; ++c) a.exponentials(c);
#pragma omp barrier
#pragma omp single
            a.take_sum();
            for (int64_t c = c0; c < c1; ++c) a.mix(c);
        }
        for (int64_t c = 0; c < chunks; ++c) a.add(c);
    }
    a.write_out();
}

void attend_heads(const float* q, int64_t nq, int64_t d, const KvRows& kv, int64_t lo, int64_t hi, float* out, Isa isa) {
    const QueryTile tile{q, out, 1, nq, 0, &lo, &hi};
    attend_tile(tile, d, kv, isa);
}

void attend_head(const float* q, int64_t d, const KvRows& kv, int64_t lo, int64_t hi, float* out, Isa isa) {
    attend_heads(q, 1, d, kv, lo, hi, out, isa);
}

}  // namespace gmg::cpu
