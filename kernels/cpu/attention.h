// Attention of query heads over the f16 KV cache, with llama.cpp's non-flash
// roundings (q and the probabilities through f16, see SPEC §4.1).
#pragma once
#include <cstdint>

#include "kernels/cpu/cpu_features.h"

namespace gmg::cpu {

// Cached rows: position j lives at (j % capacity) * stride (a ring for
// sliding-window layers, capacity >= positions for global ones).
struct KvRows {
    const uint16_t* k = nullptr;
    const uint16_t* v = nullptr;
    int64_t capacity = 0, stride = 0;
};

// The query heads of several consecutive tokens that share one KV head: head h
// of token t at q + t * stride + h * d (its output at out + t * stride + h * d),
// q already scaled; token t sees the cached positions [lo[t], hi[t]].
struct QueryTile {
    const float* q = nullptr;
    float* out = nullptr;
    int64_t tokens = 1, heads = 1, stride = 0;
    const int64_t* lo = nullptr;
    const int64_t* hi = nullptr;
};

// out_h = softmax(q_h . K[lo..hi]) . V[lo..hi] for every query of the tile. Each
// cached row is read once for all of them (rows outside a token's range get
// probability exactly 0, which adds nothing), so the result per head is the
// same as computing it alone. The positions between the smallest lo and the
// largest hi must all be in the cache. Like llama.cpp's non-flash attention
// (and the reference path), every row in range is multiplied in, weight 0 or
// not: a V value that overflowed f16 makes the output NaN rather than vanish.
// n_threads > 1 splits the cached positions across that many threads (for the
// decode step, whose few heads cannot keep the threads busy), with the same
// result bit for bit: the sums are cut into chunks of absolute positions and
// the chunks added in order, whoever computed them.
void attend_tile(const QueryTile& tile, int64_t d, const KvRows& kv, Isa isa, int n_threads = 1);

// nq heads of one token over [lo, hi] (q and out: nq rows of d floats).
void attend_heads(const float* q, int64_t nq, int64_t d, const KvRows& kv, int64_t lo, int64_t hi, float* out, Isa isa);

// One head: attend_heads with nq = 1.
void attend_head(const float* q, int64_t d, const KvRows& kv, int64_t lo, int64_t hi, float* out, Isa isa);

}  // namespace gmg::cpu
