// Prompt attention in tiles (flash attention's tiling, with the non-flash roundings).
// Gemma3's query heads come in groups that read one K/V head, and a prompt's
// neighbouring tokens see nearly the same keys. So a block takes 16 query rows (a
// group's heads for 16 / group consecutive tokens: one tensor-core tile) and walks
// the keys they see in chunks of 64, each chunk staged once in shared memory for
// all 16 rows, where one block per row read every key once per row. Two passes
// over the chunks, as the one-block kernel: the rows' max and softmax sum first,
// then the probabilities, rounded to f16 as llama.cpp's non-flash CPU path rounds
// them, times V.
// The tile plan and its index arithmetic live here, plain C++ for the device kernel
// (attention_tiled.cu) and for the emulated device (host_emulation.cpp), so that the
// tests of the emulation exercise the same rows, key ranges and chunks.
#pragma once
#include <cstdint>

#include "kernels/common/compat.h"
#include "kernels/gpu/gpu_backend.h"

namespace gmg::gpu {

inline constexpr int64_t kTileRows = 16;  // query rows per block: one 16 x 16 x 16 tensor-core tile
inline constexpr int64_t kTileKeys = 64;  // keys staged per step

// Query heads per K/V head.
GMG_HOST_DEVICE inline int64_t query_group(const AttentionShape& a) { return a.n_head / a.n_head_kv; }

// The shapes the tiled kernel takes: groups that fill a tile's rows exactly, and head
// sizes it has fragments for (Gemma3: 256, and 128 for the 27B).
inline bool tiled_attention_fits(const AttentionShape& a) {
    return attention_shape_supported(a) && kTileRows % query_group(a) == 0 &&
           (a.head_dim == 64 || a.head_dim == 128 || a.head_dim == 256);
}

// Tokens per tile, and tiles along n tokens (per K/V head).
GMG_HOST_DEVICE inline int64_t tile_tokens(const AttentionShape& a) { return kTileRows / query_group(a); }
GMG_HOST_DEVICE inline int64_t tile_count(const AttentionShape& a, int64_t n) {
    return (n + tile_tokens(a) - 1) / tile_tokens(a);
}

// Row r of tile `tile` over K/V head kvh: its token (>= n for the rows of a last,
// partial tile, which see no keys and are not written) and its query head.
GMG_HOST_DEVICE inline void tile_row(const AttentionShape& a, int64_t tile, int64_t kvh, int64_t r, int64_t* t,
                                     int64_t* h) {
    const int64_t g = query_group(a);
    *t = tile * tile_tokens(a) + r / g;
    *h = kvh * g + r % g;
}

// A tile row's keys: its token's, or none (*lo > *p) for a row past the last token.
GMG_HOST_DEVICE inline void tile_row_keys(const AttentionShape& a, int64_t pos0, int64_t t, int64_t n, int64_t* lo,
                                          int64_t* p) {
    if (t < n) return query_keys(a, pos0, t, lo, p);
    *lo = 1, *p = 0;
}

// The keys the tile's rows see together, [*first, *last]: from its first token's
// first key to its last real token; every one is in the cache (the ring holds
// window + n_batch positions), so the chunks read no unwritten slot.
GMG_HOST_DEVICE inline void tile_keys(const AttentionShape& a, int64_t pos0, int64_t tile, int64_t n, int64_t* first,
                                      int64_t* last) {
    const int64_t t0 = tile * tile_tokens(a);
    const int64_t t1 = t0 + tile_tokens(a) - 1 < n - 1 ? t0 + tile_tokens(a) - 1 : n - 1;
    int64_t unused;
    query_keys(a, pos0, t0, first, &unused);
    query_keys(a, pos0, t1, &unused, last);
}

// Chunks of kTileKeys over [first, last].
GMG_HOST_DEVICE inline int64_t tile_chunks(int64_t first, int64_t last) { return (last - first + kTileKeys) / kTileKeys; }

// The tiled kernel itself (attention() picks it; attention_tiled.cu, host_emulation.cpp).
void attention_tiled(Stream& s, const AttentionShape& a, const float* d_q, const uint16_t* d_kcache,
                     const uint16_t* d_vcache, float* d_out, int64_t n, const int32_t* d_pos0);

}  // namespace gmg::gpu
