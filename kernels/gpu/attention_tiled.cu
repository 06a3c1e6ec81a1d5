// Prompt attention in tiles on the tensor cores (tiled_attention.h has the plan).
// One block of four warps per (tile of 16 query rows, K/V head). The rows' q, rounded
// to f16 as every attention path rounds it, sit in shared memory; each chunk of 64
// keys is copied there once, and the four warps multiply: scores = q K^T (WMMA,
// f16 x f16 products summed in f32, 16 keys per warp), then, in the second pass,
// out += P V with P the probabilities rounded to f16 (the rounding the CPU path and
// the other kernels apply, so the tensor cores take them as they are), 16 head
// elements per fragment. Eight threads own each row's softmax: its running max and
// sum in pass 1, its probabilities in pass 2. HIP builds have no WMMA here:
// has_tiled_attention() is false and prompts take the one-block-per-row kernel.
// One difference from the one-block kernel: an infinite V value (an f16 overflow)
// reaches every row of its tile, through 0 * inf, where that kernel skips the keys a
// row gives no weight; the rows that do weigh it are inf or NaN on every path.
#include "kernels/gpu/device_common.cuh"
#include "kernels/gpu/tiled_attention.h"

namespace gmg::gpu {

#if GMG_HAS_WMMA
namespace {

constexpr int kThreads = 128;  // four warps of 32 (NVIDIA only)
constexpr int kWarps = kThreads / 32;
constexpr int kRows = static_cast<int>(kTileRows);
constexpr int kKeys = static_cast<int>(kTileKeys);
constexpr int kRowLanes = kThreads / kRows;          // threads per row's softmax: 8, one aligned group of a warp
constexpr int kPerLane = kKeys / kRowLanes;          // each takes every 8th key of the chunk: 8
constexpr int kLs = kKeys + 4;                       // score row stride in floats (WMMA: a multiple of 4)
constexpr int kLp = kKeys + 8;                       // probability row stride in halves (a multiple of 8)
static_assert(kRows * kLp * 2 <= kRows * kLs * 4, "the probabilities overwrite the scores' memory");
static_assert(kKeys == 16 * kWarps, "one 16-key column of scores per warp");

// Keys [j0, j0 + kKeys) of K/V head kvh into dst (kKeys rows of D halves, stride ld),
// zeros for keys past `last` (slots that may never have been written: 0 * NaN would
// poison P V).
template <int D>
__device__ inline void stage_chunk(f16* dst, int ld, const uint16_t* cache, const AttentionShape& a, int64_t kvh,
                                   int64_t j0, int64_t last) {
    constexpr int kVecs = D / 8;  // 16-byte vectors per row
    const int64_t KV = a.n_head_kv * D;
    const int64_t slot0 = j0 % a.capacity;  // the chunk's keys wrap the ring at most once: last - first < capacity
    for (int i = threadIdx.x; i < kKeys * kVecs; i += kThreads) {
        const int r = i / kVecs, v = i % kVecs;
        const int64_t slot = slot0 + r < a.capacity ? slot0 + r : slot0 + r - a.capacity;
        uint4 bits = make_uint4(0u, 0u, 0u, 0u);
        if (j0 + r <= last) bits = *reinterpret_cast<const uint4*>(cache + slot * KV + kvh * D + v * 8);
        *reinterpret_cast<uint4*>(dst + r * ld + v * 8) = bits;
    }
}

template <int D>
__global__ void __launch_bounds__(kThreads) tiled_attention_kernel(AttentionShape a, const float* q,
                                                                   const uint16_t* kcache, const uint16_t* vcache,
                                                                   float* out, const int32_t* d_pos0, int64_t n) {
#if GMG_WMMA_DEVICE_CODE
    constexpr int kLq = D + 8;     // q and K/V row stride in halves
    constexpr int kLo = D + 4;     // output staging row stride in floats
    constexpr int kDimTiles = D / 16 / kWarps;  // 16-element output fragments per warp
    static_assert(kRows * kLo * 4 <= kKeys * kLq * 2, "the output staging fits the K/V chunk's memory");
    __shared__ __align__(32) f16 sq[kRows * kLq];
    __shared__ __align__(32) f16 skv[kKeys * kLq];   // one chunk of K, then of V; the output at the end
    __shared__ __align__(32) float ss[kRows * kLs];  // scores; the probabilities as f16 over them
    const int64_t tile = blockIdx.x, kvh = blockIdx.y, pos0 = *d_pos0;
    const int64_t Q = a.n_head * D;
    const int warp = threadIdx.x / 32;

    for (int i = threadIdx.x; i < kRows * D; i += kThreads) {
        const int r = i / D, d = i % D;
        int64_t t, h;
        tile_row(a, tile, kvh, r, &t, &h);
        sq[r * kLq + d] = __float2half_rn(t < n ? q[t * Q + h * D + d] : 0.0f);
    }
    // This thread's share of its row's softmax: keys row_lane, row_lane + 8, ... of each chunk.
    const int row = threadIdx.x / kRowLanes, row_lane = threadIdx.x % kRowLanes;
    int64_t t_row, h_row, lo, p;
    tile_row(a, tile, kvh, row, &t_row, &h_row);
    tile_row_keys(a, pos0, t_row, n, &lo, &p);
    int64_t first, last;
    tile_keys(a, pos0, tile, n, &first, &last);
    const int64_t chunks = tile_chunks(first, last);

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[kDimTiles];
#pragma unroll
    for (int i = 0; i < kDimTiles; ++i) wmma::fill_fragment(acc[i], 0.0f);
    float m = -INFINITY, l = 0.0f, inv = 0.0f;
    for (int pass = 0; pass < 2; ++pass) {
        if (pass == 1) inv = 1.0f / l;  // rows without keys (past n) never use it
        for (int64_t c = 0; c < chunks; ++c) {
            const int64_t j0 = first + c * kKeys;
            stage_chunk<D>(skv, kLq, kcache, a, kvh, j0, last);
            __syncthreads();
            {  // scores of the chunk's keys warp*16 .. warp*16 + 15
                wmma::fragment<wmma::accumulator, 16, 16, 16, float> sacc;
                wmma::fragment<wmma::matrix_a, 16, 16, 16, f16, wmma::row_major> qa;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, f16, wmma::col_major> kb;
                wmma::fill_fragment(sacc, 0.0f);
#pragma unroll
                for (int kk = 0; kk < D; kk += 16) {
                    wmma::load_matrix_sync(qa, sq + kk, kLq);
                    wmma::load_matrix_sync(kb, skv + warp * 16 * kLq + kk, kLq);
                    wmma::mma_sync(sacc, qa, kb, sacc);
                }
                wmma::store_matrix_sync(ss + warp * 16, sacc, kLs, wmma::mem_row_major);
            }
            __syncthreads();
            float s[kPerLane];
#pragma unroll
            for (int i = 0; i < kPerLane; ++i) {
                const int col = row_lane + kRowLanes * i;
                const int64_t j = j0 + col;
                s[i] = j >= lo && j <= p ? ss[row * kLs + col] : -INFINITY;
            }
            if (pass == 0) {
                float cm = -INFINITY;
#pragma unroll
                for (int i = 0; i < kPerLane; ++i) cm = fmaxf(cm, s[i]);
                for (int o = kRowLanes / 2; o > 0; o /= 2) cm = fmaxf(cm, __shfl_xor_sync(0xffffffffu, cm, o, kRowLanes));
                const float m_new = fmaxf(m, cm);
                // Every lane shuffles (rows differ within a warp); a row with no key
                // yet sums exp(-inf) = 0 and keeps its (-inf, 0).
                const float base = m_new == -INFINITY ? 0.0f : m_new;
                float e = 0.0f;
#pragma unroll
                for (int i = 0; i < kPerLane; ++i) e += expf(s[i] - base);
                for (int o = kRowLanes / 2; o > 0; o /= 2) e += __shfl_xor_sync(0xffffffffu, e, o, kRowLanes);
                if (m_new != -INFINITY) {
                    l = l * expf(m - m_new) + e;
                    m = m_new;
                }
                continue;  // the next chunk's copy waits for no one: the scores are in registers
            }
            stage_chunk<D>(skv, kLq, vcache, a, kvh, j0, last);  // every warp is done with K
            float pr[kPerLane];
#pragma unroll
            for (int i = 0; i < kPerLane; ++i) pr[i] = s[i] == -INFINITY ? 0.0f : expf(s[i] - m) * inv;
            __syncthreads();  // every score read before the probabilities overwrite them
            f16* P = reinterpret_cast<f16*>(ss);
#pragma unroll
            for (int i = 0; i < kPerLane; ++i) P[row * kLp + row_lane + kRowLanes * i] = __float2half_rn(pr[i]);
            __syncthreads();
            {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, f16, wmma::row_major> pa;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, f16, wmma::row_major> vb;
#pragma unroll
                for (int kk = 0; kk < kKeys; kk += 16) {
                    wmma::load_matrix_sync(pa, P + kk, kLp);
#pragma unroll
                    for (int i = 0; i < kDimTiles; ++i) {
                        wmma::load_matrix_sync(vb, skv + kk * kLq + (warp + kWarps * i) * 16, kLq);
                        wmma::mma_sync(acc[i], pa, vb, acc[i]);
                    }
                }
            }
            __syncthreads();  // P and V read before the next chunk overwrites them
        }
    }
    // Every warp has passed the last barrier: the K/V memory takes the output rows.
    float* stage = reinterpret_cast<float*>(skv);
#pragma unroll
    for (int i = 0; i < kDimTiles; ++i)
        wmma::store_matrix_sync(stage + (warp + kWarps * i) * 16, acc[i], kLo, wmma::mem_row_major);
    __syncthreads();
    for (int i = threadIdx.x; i < kRows * D; i += kThreads) {
        const int r = i / D, d = i % D;
        int64_t t, h;
        tile_row(a, tile, kvh, r, &t, &h);
        if (t < n) out[t * Q + h * D + d] = stage[r * kLo + d];
    }
#endif
}

}  // namespace

bool has_tiled_attention(const Stream& s, const AttentionShape& a) {
    return s.compute_major() >= 7 && s.warp_size() == 32 && tiled_attention_fits(a);
}

void attention_tiled(Stream& s, const AttentionShape& a, const float* d_q, const uint16_t* d_kcache,
                     const uint16_t* d_vcache, float* d_out, int64_t n, const int32_t* d_pos0) {
    if (n <= 0) return;
    if (!has_tiled_attention(s, a)) return s.fail("attention: no tiled kernel for this device or head shape");
    if (a.n_head_kv > 65535) return s.fail("attention: too many K/V heads");
    const dim3 grid(static_cast<unsigned>(tile_count(a, n)), static_cast<unsigned>(a.n_head_kv));
    switch (a.head_dim) {
        case 64: GMG_LAUNCH(grid, kThreads, 0, native(s), tiled_attention_kernel<64>)(a, d_q, d_kcache, d_vcache, d_out, d_pos0, n); break;
        case 128: GMG_LAUNCH(grid, kThreads, 0, native(s), tiled_attention_kernel<128>)(a, d_q, d_kcache, d_vcache, d_out, d_pos0, n); break;
        default: GMG_LAUNCH(grid, kThreads, 0, native(s), tiled_attention_kernel<256>)(a, d_q, d_kcache, d_vcache, d_out, d_pos0, n); break;
    }
    check_launch(s, "attention_tiled");
}

#else  // HIP: no WMMA here (yet)

bool has_tiled_attention(const Stream&, const AttentionShape&) { return false; }
void attention_tiled(Stream& s, const AttentionShape&, const float*, const uint16_t*, const uint16_t*, float*, int64_t,
                     const int32_t*) {
    s.fail("attention: no tiled kernel in HIP builds");
}

#endif

}  // namespace gmg::gpu
