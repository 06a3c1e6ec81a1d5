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

// For each of nq heads sharing these cached rows (q: nq rows of d floats, already
// scaled; out: nq rows of d): out_h = softmax(q_h . K[lo..hi]) . V[lo..hi].
// scratch holds nq * (hi - lo + 1) floats. A group is computed together so that
// each cached row is read once for all its heads; the result per head does not
// depend on nq.
void attend_heads(const float* q, int64_t nq, int64_t d, const KvRows& kv, int64_t lo, int64_t hi, float* scratch,
                  float* out, Isa isa);

// One head: attend_heads with nq = 1.
void attend_head(const float* q, int64_t d, const KvRows& kv, int64_t lo, int64_t hi, float* scratch, float* out,
                 Isa isa);

}  // namespace gmg::cpu
