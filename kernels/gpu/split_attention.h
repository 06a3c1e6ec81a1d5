// Decode attention split across blocks (flash-decoding): with one query per head a
// block per head leaves all but a few multiprocessors idle, and a long context then
// costs a whole block's walk over every key. Instead each head's visible keys are cut
// into chunks, one block each:
//   1. scores: q.k for the chunk's keys (kept in scratch) and the chunk's max and sum;
//   2. values: every block combines all chunks' (max, sum) into the row's, then adds
//      its keys' probabilities (rounded to f16, as the one-block kernel and the CPU
//      path round them) times V into a partial row;
//   3. the last block of a row to finish (a counter in the scratch) sums the
//      partial rows in chunk order: two launches per layer, not three.
// The plan and the index arithmetic live here, plain C++ for the device kernels
// (ops.cu) and for the emulated device (host_emulation.cpp), so that the tests of the
// emulation exercise the same chunking.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/common/compat.h"
#include "kernels/gpu/gpu_backend.h"

namespace gmg::gpu {

// Short chunks: a warp walks its keys one after another, each a dependent load, so
// the shorter each warp's walk the sooner the step ends.
inline constexpr int64_t kSplitMinKeys = 64;     // keys per chunk, at least
inline constexpr int64_t kSplitMaxChunks = 512;  // chunks per head, at most (the chunk grows to stay under)

struct SplitPlan {
    int64_t chunk = 0;   // keys per chunk
    int64_t chunks = 0;  // chunks per (query, head)
};

// The most keys a query of this layer sees: its window, or the whole cache.
GMG_HOST_DEVICE inline int64_t visible_keys(const AttentionShape& a) {
    return a.window > 0 && a.window < a.capacity ? a.window : a.capacity;
}

// Fixed by the shape alone (not the position), so that a captured graph's launch
// grid stays right as the context grows; chunks past the last key find nothing to do.
GMG_HOST_DEVICE inline SplitPlan split_plan(const AttentionShape& a) {
    const int64_t keys = visible_keys(a);
    int64_t chunk = kSplitMinKeys;
    while (chunk * kSplitMaxChunks < keys) chunk *= 2;
    return {chunk, (keys + chunk - 1) / chunk};
}

// Chunk c's keys [*first, *last] of the visible range [lo, p]; empty when *first > *last.
// The last chunk runs to p, so that no key is ever left out.
GMG_HOST_DEVICE inline void chunk_keys(const SplitPlan& plan, int64_t lo, int64_t p, int64_t c, int64_t* first,
                                       int64_t* last) {
    *first = lo + c * plan.chunk;
    const int64_t end = *first + plan.chunk - 1;
    *last = c + 1 == plan.chunks || end > p ? p : end;
}

// Where each part sits in the scratch, in floats; row = query * n_head + head.
struct SplitScratch {
    int64_t stats = 0;   // (rows, chunks) pairs: the chunk's max and sum of exp(score - max)
    int64_t partial = 0; // (rows, chunks, head_dim): the chunk's probabilities times V
    int64_t scores = 0;  // (rows, capacity): each key's score, at its cache slot
    int64_t counters = 0; // (rows) unsigned: chunks of the row done with pass 2 (the device's)
    int64_t total = 0;
};
GMG_HOST_DEVICE inline SplitScratch split_scratch(const AttentionShape& a, const SplitPlan& plan, int64_t n) {
    const int64_t rows = n * a.n_head;
    SplitScratch s;
    s.stats = 0;
    s.partial = s.stats + rows * plan.chunks * 2;
    s.scores = s.partial + rows * plan.chunks * a.head_dim;
    s.counters = s.scores + rows * a.capacity;
    s.total = s.counters + rows;
    return s;
}

// The scratch attention() needs for n rows (n <= kSplitMaxQueries) to split its keys.
inline size_t attention_scratch_bytes(const AttentionShape& a, int64_t n) {
    return static_cast<size_t>(split_scratch(a, split_plan(a), n).total) * sizeof(float);
}

// A row's max and sum from its chunks' pairs (max, sum): chunks with no keys (max
// -inf) add nothing.
GMG_HOST_DEVICE inline void merge_chunk_stats(float m_chunk, float l_chunk, float m_row, float* l_row) {
    if (m_chunk != -INFINITY) *l_row += l_chunk * expf(m_chunk - m_row);
}

}  // namespace gmg::gpu
