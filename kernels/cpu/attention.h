// Attention of one query head over the f16 KV cache, with llama.cpp's
// non-flash roundings (q and the probabilities through f16, see SPEC §4.1).
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

// out (d floats) = softmax(q . K[lo..hi]) . V[lo..hi]; q already scaled.
// scratch holds hi - lo + 1 floats.
void attend_head(const float* q, int64_t d, const KvRows& kv, int64_t lo, int64_t hi, float* scratch, float* out,
                 Isa isa);

}  // namespace gmg::cpu
