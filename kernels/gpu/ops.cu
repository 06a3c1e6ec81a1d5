// The rest of a Gemma3 step on the GPU: RMSNorm (plain, Gemma's sandwich, and
// fused with the activation quantization), QK-norm + RoPE + the KV-cache store,
// attention over the f16 cache, GeGLU and the logit soft-cap. Each rounds where the
// CPU path rounds (lib/runtime/reference_ops.cpp, kernels/cpu/attention.cpp); they
// differ by summation order and the last ulp of libm (no FMA contraction: see CMakeLists.txt).
#include <cmath>

#include "kernels/common/argmax_key.h"
#include "kernels/gpu/device_common.cuh"
#include "kernels/gpu/split_attention.h"
#include "kernels/gpu/tiled_attention.h"

namespace gmg::gpu {
namespace {

constexpr int kNormThreads = 256;
constexpr int kAttnThreads = 128;
constexpr int kAttnThreadsDecode = 512;
constexpr int kSplitThreads = 256;
constexpr int kMinWarp = 32;                       // the narrowest warp any GPU has
constexpr int kMaxChunks = kMaxHeadDim / kMinWarp;  // head elements per lane at the narrowest warp

// The squares summed in double, as the CPU path and llama.cpp's CPU backend sum them:
// a float sum differs in its last bits, enough to flip later int8 roundings.
__device__ inline float inv_rms(const float* x, int64_t width, float eps, double* scratch) {
    double sum = 0.0;
    for (int64_t i = threadIdx.x; i < width; i += blockDim.x) sum += static_cast<double>(x[i] * x[i]);
    const float mean = static_cast<float>(block_sum(sum, scratch) / static_cast<double>(width));
    return 1.0f / sqrtf(mean + eps);
}

__global__ void rms_norm_kernel(const float* x, const float* w, float* y, int64_t width, float eps) {
    __shared__ double scratch[kMaxWarpsPerBlock];
    const float* xr = x + blockIdx.x * width;
    float* yr = y + blockIdx.x * width;
    const float scale = inv_rms(xr, width, eps, scratch);
    for (int64_t i = threadIdx.x; i < width; i += blockDim.x) yr[i] = (xr[i] * scale) * w[i];
}

__global__ void add_rms_norm_kernel(float* x, const float* p, const float* w, int64_t width, float eps) {
    __shared__ double scratch[kMaxWarpsPerBlock];
    const float* pr = p + blockIdx.x * width;
    float* xr = x + blockIdx.x * width;
    const float scale = inv_rms(pr, width, eps, scratch);
    for (int64_t i = threadIdx.x; i < width; i += blockDim.x) xr[i] = (pr[i] * scale) * w[i] + xr[i];
}

__global__ void geglu_kernel(float* gate, const float* up, int64_t count) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < count) gate[i] = geglu_value(gate[i], up[i]);
}

// Where element i of a fused norm's row sits in shared memory: 32-element blocks
// one float apart, so that the threads quantizing neighbouring blocks (one each)
// read different banks.
// The normalized row r = norm(src) * w: written to h and to shared memory, then
// quantized from there, 32 lanes per activation block (group_quantize_block).
__device__ inline void norm_quantize_row(const float* src, const float* w, float scale, int64_t width, float* row,
                                         float* h, ActRule rule, int8_t* q, float* qscale, float* f, float* qsum) {
    for (int64_t i = threadIdx.x; i < width; i += blockDim.x) {
        const float v = (src[i] * scale) * w[i];
        row[i] = v;
        h[i] = v;
    }
    __syncthreads();
    if (is_float_rule(rule)) {
        for (int64_t i = threadIdx.x; i < width; i += blockDim.x) f[i] = round_float_act(rule, row[i]);
        return;
    }
    const int blk = act_block(rule), lane = static_cast<int>(threadIdx.x % kQuantLanes);
    for (int64_t b = threadIdx.x / kQuantLanes; b < width / blk; b += blockDim.x / kQuantLanes)
        group_quantize_block(rule, row + b * blk, q + b * blk, qscale + b * (blk / 32),
                             qsum ? qsum + b * (blk / 32) : nullptr, lane);
}

__global__ void rms_norm_quantize_kernel(const float* x, const float* w, float* h, int64_t width, float eps,
                                         ActRule rule, int8_t* q, float* qscale, float* f, float* qsum) {
    GMG_DYNAMIC_SHARED(float, row);
    __shared__ double scratch[kMaxWarpsPerBlock];
    const int64_t r = blockIdx.x;
    const float scale = inv_rms(x + r * width, width, eps, scratch);
    norm_quantize_row(x + r * width, w, scale, width, row, h + r * width, rule, q + r * width,
                      qscale + r * (width / 32), f + r * width, qsum ? qsum + r * (width / 32) : nullptr);
}

// x += norm(p) * w_post; then h = norm(x) * w_pre, quantized.
__global__ void add_rms_norm_quantize_kernel(float* x, const float* p, const float* w_post, const float* w_pre,
                                             float* h, int64_t width, float eps, ActRule rule, int8_t* q,
                                             float* qscale, float* f, float* qsum) {
    GMG_DYNAMIC_SHARED(float, row);
    __shared__ double scratch[kMaxWarpsPerBlock];
    const int64_t r = blockIdx.x;
    float* xr = x + r * width;
    const float* pr = p + r * width;
    const float s1 = inv_rms(pr, width, eps, scratch);
    for (int64_t i = threadIdx.x; i < width; i += blockDim.x) xr[i] = (pr[i] * s1) * w_post[i] + xr[i];
    __syncthreads();  // every thread's x writes before the second sum reads them
    const float s2 = inv_rms(xr, width, eps, scratch);
    norm_quantize_row(xr, w_pre, s2, width, row, h + r * width, rule, q + r * width, qscale + r * (width / 32),
                      f + r * width, qsum ? qsum + r * (width / 32) : nullptr);
}

__global__ void softcap_kernel(float* x, int64_t count, float cap) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < count) x[i] = cap * tanhf(x[i] / cap);
}

constexpr int kArgmaxThreads = 1024;

struct MaxKeyOp {
    __device__ unsigned long long operator()(unsigned long long a, unsigned long long b) const { return a > b ? a : b; }
};

// One block per row: each thread the best key of its strided share, then the block's.
__global__ void __launch_bounds__(kArgmaxThreads) argmax_kernel(const float* x, int64_t n, int32_t* out) {
    __shared__ unsigned long long scratch[kMaxWarpsPerBlock];
    const float* row = x + blockIdx.x * n;
    unsigned long long best = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        const unsigned long long key = argmax_key(row[i], static_cast<uint32_t>(i));
        best = key > best ? key : best;
    }
    best = block_reduce(best, scratch, MaxKeyOp{});
    if (threadIdx.x == 0) out[blockIdx.x] = static_cast<int32_t>(argmax_index(best));
}

struct RopeArgs {
    float eps, theta_scale, freq_scale, attn_scale;
};

// One block per (head, token): blocks [0, n_head) take q heads, the rest k heads
// (each also storing its v row).
__global__ void qk_norm_rope_store_kernel(AttentionShape a, RopeArgs r, float* q, const float* k, const float* v,
                                          const float* q_norm, const float* k_norm, uint16_t* kcache,
                                          uint16_t* vcache, const int32_t* pos0) {
    __shared__ double scratch[kMaxWarpsPerBlock];
    __shared__ float row[kMaxHeadDim];
    const int64_t D = a.head_dim, t = blockIdx.y;
    const int64_t pos = *pos0 + t;
    const bool is_q = blockIdx.x < a.n_head;
    const int64_t head = is_q ? blockIdx.x : blockIdx.x - a.n_head;
    const int64_t width = (is_q ? a.n_head : a.n_head_kv) * D;
    const float* src = (is_q ? q : k) + t * width + head * D;
    const float* norm = is_q ? q_norm : k_norm;
    const float scale = inv_rms(src, D, r.eps, scratch);
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) row[i] = (src[i] * scale) * norm[i];
    __syncthreads();
    // NeoX RoPE: pair (i, i + n_rot/2) turned by pos * theta_scale^i, the power
    // taken by repeated multiplication as the CPU path takes it.
    const int64_t half = a.n_rot / 2;
    for (int64_t i = threadIdx.x; i < half; i += blockDim.x) {
        float theta = static_cast<float>(pos);
        for (int64_t j = 0; j < i; ++j) theta *= r.theta_scale;
        const float angle = r.freq_scale * theta;
        const float c = cosf(angle), s = sinf(angle);
        const float x0 = row[i], x1 = row[i + half];
        row[i] = x0 * c - x1 * s;
        row[i + half] = x0 * s + x1 * c;
    }
    __syncthreads();
    if (is_q) {
        float* dst = q + t * width + head * D;
        for (int64_t i = threadIdx.x; i < D; i += blockDim.x) dst[i] = row[i] * r.attn_scale;
        return;
    }
    const int64_t slot = (pos % a.capacity) * width + head * D;
    const float* vsrc = v + t * width + head * D;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
        kcache[slot + i] = f32_to_f16(row[i]);
        vcache[slot + i] = f32_to_f16(vsrc[i]);
    }
}

// q . k for one key, this lane's elements summed across the warp.
__device__ inline float key_score(const float* qv, const uint16_t* kj, int64_t D) {
    const int lane = threadIdx.x % warpSize;
    float s = 0.0f;
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) {
        const int64_t i = lane + static_cast<int64_t>(c) * warpSize;
        if (i < D) s += qv[c] * f16_to_f32(kj[i]);
    }
    return warp_sum(s);  // the same value in every lane
}

// This lane's elements of q, rounded through f16 as the CPU path rounds it.
__device__ inline void load_query(const float* qh, int64_t D, float* qv) {
    const int lane = threadIdx.x % warpSize;
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) {
        const int64_t i = lane + static_cast<int64_t>(c) * warpSize;
        qv[c] = i < D ? f16_to_f32(f32_to_f16(qh[i])) : 0.0f;
    }
}


// acc (this lane's elements) += p * v, v one cached f16 row.
__device__ inline void add_weighted_row(float* acc, float p, const uint16_t* v, int64_t D) {
    const int lane = threadIdx.x % warpSize;
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) {
        const int64_t i = lane + static_cast<int64_t>(c) * warpSize;
        if (i < D) acc[c] += p * f16_to_f32(v[i]);
    }
}

// Each warp's accumulators into its row of shared memory (rows `stride` floats
// apart), then the warps' rows summed, in warp order, into dst[0, D) by the block.
__device__ inline void sum_warp_rows(const float* acc, float* shared, int64_t stride, int64_t D, float* dst) {
    const int lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize, warps = blockDim.x / warpSize;
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) {
        const int64_t i = lane + static_cast<int64_t>(c) * warpSize;
        if (i < D) shared[warp * stride + i] = acc[c];
    }
    __syncthreads();
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
        float sum = 0.0f;
        for (int w = 0; w < warps; ++w) sum += shared[w * stride + i];
        dst[i] = sum;
    }
}

// One block per (query head, token); each warp takes every warps-th visible key.
// Pass 1 finds the block's largest score and the softmax denominator (per-warp
// online sums, merged); pass 2 recomputes each score and adds p * v with p rounded
// through f16, as llama.cpp's non-flash CPU path rounds it (kernels/cpu/attention.cpp),
// skipping weights that round to zero. q goes through f16 as there too.
__global__ void __launch_bounds__(kAttnThreadsDecode) attention_kernel(AttentionShape a, const float* q, const uint16_t* kcache, const uint16_t* vcache,
                                 float* out, const int32_t* pos0) {
    GMG_DYNAMIC_SHARED(float, partial);  // per warp: D accumulators, max, sum
    const int64_t D = a.head_dim, t = blockIdx.y, h = blockIdx.x;
    const int64_t Q = a.n_head * D, KV = a.n_head_kv * D;
    const int64_t kvh = h / (a.n_head / a.n_head_kv);
    int64_t lo, p;
    query_keys(a, *pos0, t, &lo, &p);
    const int lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
    const int warps = blockDim.x / warpSize;
    const uint16_t* kbase = kcache + kvh * D;
    const uint16_t* vbase = vcache + kvh * D;

    float qv[kMaxChunks];
    load_query(q + t * Q + h * D, D, qv);
    float m = -INFINITY, l = 0.0f;
    for (int64_t j = lo + warp; j <= p; j += warps) {
        const float s = key_score(qv, kbase + (j % a.capacity) * KV, D);
        const float m_new = fmaxf(m, s);
        l = l * expf(m - m_new) + expf(s - m_new);
        m = m_new;
    }
    float* mine = partial + warp * (D + 2);
    if (lane == 0) {
        mine[D] = m;
        mine[D + 1] = l;
    }
    __syncthreads();
    float M = -INFINITY, L = 0.0f;
    for (int w = 0; w < warps; ++w) M = fmaxf(M, partial[w * (D + 2) + D]);
    for (int w = 0; w < warps; ++w) {
        const float mw = partial[w * (D + 2) + D];
        if (mw != -INFINITY) L += partial[w * (D + 2) + D + 1] * expf(mw - M);  // a warp that saw no key adds nothing
    }
    const float inv = 1.0f / L;

    float acc[kMaxChunks];
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) acc[c] = 0.0f;
    for (int64_t j = lo + warp; j <= p; j += warps) {
        const int64_t slot = (j % a.capacity) * KV;
        const float pj = f16_to_f32(f32_to_f16(expf(key_score(qv, kbase + slot, D) - M) * inv));
        if (pj == 0.0f) continue;  // uniform across the warp: every lane holds the same score
        add_weighted_row(acc, pj, vbase + slot, D);
    }
    __syncthreads();  // every warp has read the pass-1 values before they are overwritten
    sum_warp_rows(acc, partial, D + 2, D, out + t * Q + h * D);
}

// ---- the best kTopCandidates of a row, for sampling ---------------------------------
constexpr int kTopThreads = 512;

// One tile of kTopTile keys (made from x, or read from keys when x is null; zero keys
// past n) sorted best first in shared memory by a bitonic network; its
// kTopCandidates best go to out.
__global__ void __launch_bounds__(kTopThreads) top_tile_kernel(const float* x, const unsigned long long* keys, int64_t n,
                                                             unsigned long long* out) {
    __shared__ unsigned long long tile[kTopTile];
    const int64_t base = static_cast<int64_t>(blockIdx.x) * kTopTile;
    for (int i = threadIdx.x; i < kTopTile; i += blockDim.x) {
        const int64_t j = base + i;
        tile[i] = j >= n ? 0ull : x ? argmax_key(x[j], static_cast<uint32_t>(j)) : keys[j];
    }
    __syncthreads();
    for (int size = 2; size <= kTopTile; size <<= 1) {
        for (int stride = size / 2; stride > 0; stride >>= 1) {
            for (int i = threadIdx.x; i < kTopTile / 2; i += blockDim.x) {
                const int lo = 2 * stride * (i / stride) + i % stride, hi = lo + stride;
                const bool descending = (lo & size) == 0;  // the whole tile ends descending
                const unsigned long long a = tile[lo], b = tile[hi];
                if ((a < b) == descending) tile[lo] = b, tile[hi] = a;
            }
            __syncthreads();
        }
    }
    for (int i = threadIdx.x; i < kTopCandidates; i += blockDim.x)
        out[static_cast<int64_t>(blockIdx.x) * kTopCandidates + i] = tile[i];
}

// ---- decode attention split across blocks (split_attention.h) ---------------------

// What one block of a split launch, grid (n_head, chunks, n), works on.
struct SplitBlock {
    int64_t head, chunk, query, row;  // row = query * n_head + head
    int64_t first, last;              // the chunk's keys (empty when first > last)
    SplitScratch at;
};
__device__ inline SplitBlock split_block(const AttentionShape& a, const SplitPlan& plan, const int32_t* pos0, int64_t n) {
    SplitBlock b;
    b.head = blockIdx.x, b.chunk = blockIdx.y, b.query = blockIdx.z, b.row = b.query * a.n_head + b.head;
    int64_t lo, p;
    query_keys(a, *pos0, b.query, &lo, &p);
    chunk_keys(plan, lo, p, b.chunk, &b.first, &b.last);
    b.at = split_scratch(a, plan, n);
    return b;
}

// Pass 1, grid (n_head, chunks, n): the chunk's scores into scratch, and its (max, sum).
__global__ void __launch_bounds__(kSplitThreads) split_scores_kernel(AttentionShape a, SplitPlan plan, const float* q,
                                                                    const uint16_t* kcache, const int32_t* pos0,
                                                                    float* scratch, int64_t n) {
    __shared__ float warp_stats[2 * kMaxWarpsPerBlock];
    const SplitBlock b = split_block(a, plan, pos0, n);
    const int64_t D = a.head_dim, KV = a.n_head_kv * D, h = b.head, chunk = b.chunk, t = b.query, row = b.row;
    const int64_t kvh = h / (a.n_head / a.n_head_kv), first = b.first, last = b.last;
    const SplitScratch& at = b.at;
    const int lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize, warps = blockDim.x / warpSize;
    float qv[kMaxChunks];
    load_query(q + t * a.n_head * D + h * D, D, qv);
    float* scores = scratch + at.scores + row * a.capacity;
    float m = -INFINITY, l = 0.0f;
    for (int64_t j = first + warp; j <= last; j += warps) {
        const int64_t slot = j % a.capacity;
        const float sc = key_score(qv, kcache + slot * KV + kvh * D, D);
        if (lane == 0) scores[slot] = sc;
        const float m_new = fmaxf(m, sc);
        l = l * expf(m - m_new) + expf(sc - m_new);
        m = m_new;
    }
    if (lane == 0) warp_stats[2 * warp] = m, warp_stats[2 * warp + 1] = l;
    __syncthreads();
    if (threadIdx.x != 0) return;
    if (chunk == 0) reinterpret_cast<unsigned*>(scratch + at.counters)[row] = 0;  // pass 2 counts from here
    float M = -INFINITY, L = 0.0f;
    for (int w = 0; w < warps; ++w) M = fmaxf(M, warp_stats[2 * w]);
    for (int w = 0; w < warps; ++w) merge_chunk_stats(warp_stats[2 * w], warp_stats[2 * w + 1], M, &L);
    float* stats = scratch + at.stats + (row * plan.chunks + chunk) * 2;
    stats[0] = M;
    stats[1] = L;
}

// Pass 2, grid (n_head, chunks, n): the row's (max, sum) from every chunk's, then the
// chunk's probabilities times V into its partial row; the row's last block to finish
// sums the partial rows in chunk order into out.
__global__ void __launch_bounds__(kSplitThreads) split_values_kernel(AttentionShape a, SplitPlan plan,
                                                                    const uint16_t* vcache, const int32_t* pos0,
                                                                    float* scratch, float* out, int64_t n,
                                                                    bool quantize, ActOutput act) {
    GMG_DYNAMIC_SHARED(float, warp_acc);  // per warp: head_dim accumulators
    __shared__ bool last_block;
    const SplitBlock b = split_block(a, plan, pos0, n);
    const int64_t D = a.head_dim, KV = a.n_head_kv * D, h = b.head, chunk = b.chunk, t = b.query, row = b.row;
    const int64_t kvh = h / (a.n_head / a.n_head_kv), first = b.first, last = b.last;
    const SplitScratch& at = b.at;
    const int lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize, warps = blockDim.x / warpSize;
    float* partial = scratch + at.partial + (row * plan.chunks + chunk) * D;
    if (first > last) {  // the whole block: first and last are the block's
        for (int64_t i = threadIdx.x; i < D; i += blockDim.x) partial[i] = 0.0f;
    } else {
        // Every warp of every block of the row merges the pairs in the same order: the same bits.
        const float* stats = scratch + at.stats + row * plan.chunks * 2;
        float M = -INFINITY;
        for (int64_t c = lane; c < plan.chunks; c += warpSize) M = fmaxf(M, stats[2 * c]);
        M = warp_max(M);
        float L = 0.0f;
        for (int64_t c = lane; c < plan.chunks; c += warpSize) merge_chunk_stats(stats[2 * c], stats[2 * c + 1], M, &L);
        const float inv = 1.0f / warp_sum(L);

        const float* scores = scratch + at.scores + row * a.capacity;
        const uint16_t* vbase = vcache + kvh * D;
        float acc[kMaxChunks];
#pragma unroll
        for (int c = 0; c < kMaxChunks; ++c) acc[c] = 0.0f;
        for (int64_t j = first + warp; j <= last; j += warps) {
            const int64_t slot = j % a.capacity;
            const float pj = f16_to_f32(f32_to_f16(expf(scores[slot] - M) * inv));
            if (pj == 0.0f) continue;  // uniform across the warp
            add_weighted_row(acc, pj, vbase + slot * KV, D);
        }
        sum_warp_rows(acc, warp_acc, D, D, partial);
    }
    // Each thread's partial writes reach the device before the block is counted; the
    // block that counts last sees every chunk's.
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) {
        last_block = atomicAdd(reinterpret_cast<unsigned*>(scratch + at.counters) + row, 1u) ==
                     static_cast<unsigned>(plan.chunks - 1);
        if (last_block) __threadfence();  // acquire: the other chunks' partial rows before ours are read
    }
    __syncthreads();
    if (!last_block) return;
    const volatile float* parts = scratch + at.partial + row * plan.chunks * D;  // past this SM's L1
    const int64_t base = t * a.n_head * D + h * D;  // this head's slice of the output row
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
        float sum = 0.0f;
        for (int64_t c = 0; c < plan.chunks; ++c) sum += parts[c * D + i];
        out[base + i] = sum;
    }
    if (!quantize) return;
    // The slice's activation blocks for the next matmul, as quantize_rows makes them
    // (the slice starts on a block boundary: split_quantizes).
    __syncthreads();  // the block's sums are visible to the whole block
    const ActRows& q = act.rows;
    if (is_float_rule(act.rule)) {
        for (int64_t i = threadIdx.x; i < D; i += blockDim.x) q.d_f[base + i] = round_float_act(act.rule, out[base + i]);
        return;
    }
    const int blk = act_block(act.rule), groups = blockDim.x / kQuantLanes, group_lane = threadIdx.x % kQuantLanes;
    for (int64_t b = threadIdx.x / kQuantLanes; b < D / blk; b += groups) {
        const int64_t at_elem = base + b * blk;
        group_quantize_block(act.rule, out + at_elem, q.d_q + at_elem, q.d_scale + at_elem / 32,
                             q.d_sum ? q.d_sum + at_elem / 32 : nullptr, group_lane);
    }
}

}  // namespace

void rms_norm(Stream& s, const float* d_x, const float* d_w, float* d_y, int64_t n, int64_t width, float eps) {
    if (n <= 0) return;
    GMG_LAUNCH(static_cast<unsigned>(n), kNormThreads, 0, native(s), rms_norm_kernel)(d_x, d_w, d_y, width, eps);
    check_launch(s, "rms_norm");
}

void add_rms_norm(Stream& s, float* d_x, const float* d_p, const float* d_w, int64_t n, int64_t width, float eps) {
    if (n <= 0) return;
    GMG_LAUNCH(static_cast<unsigned>(n), kNormThreads, 0, native(s), add_rms_norm_kernel)(d_x, d_p, d_w, width, eps);
    check_launch(s, "add_rms_norm");
}

void rms_norm_quantize(Stream& s, const float* d_x, const float* d_w, float* d_h, int64_t n, int64_t width, float eps,
                       ActRule rule, const ActRows& act) {
    if (n <= 0) return;
    if (!fused_norm_fits(width, rule)) return s.fail("rms_norm_quantize: row too wide or not whole blocks");
    if (rule == ActRule::q8_1 && !act.d_sum) return s.fail("rms_norm_quantize: Q8_1 needs its sums (ActRows::d_sum)");
    const size_t shared = fused_row_bytes(width);
    GMG_LAUNCH(static_cast<unsigned>(n), kNormThreads, shared, native(s), rms_norm_quantize_kernel)(
        d_x, d_w, d_h, width, eps, rule, act.d_q, act.d_scale, act.d_f, act.d_sum);
    check_launch(s, "rms_norm_quantize");
}

void add_rms_norm_quantize(Stream& s, float* d_x, const float* d_p, const float* d_w_post, const float* d_w_pre,
                           float* d_h, int64_t n, int64_t width, float eps, ActRule rule, const ActRows& act) {
    if (n <= 0) return;
    if (!fused_norm_fits(width, rule)) return s.fail("add_rms_norm_quantize: row too wide or not whole blocks");
    if (rule == ActRule::q8_1 && !act.d_sum) return s.fail("add_rms_norm_quantize: Q8_1 needs its sums (ActRows::d_sum)");
    const size_t shared = fused_row_bytes(width);
    GMG_LAUNCH(static_cast<unsigned>(n), kNormThreads, shared, native(s), add_rms_norm_quantize_kernel)(
        d_x, d_p, d_w_post, d_w_pre, d_h, width, eps, rule, act.d_q, act.d_scale, act.d_f, act.d_sum);
    check_launch(s, "add_rms_norm_quantize");
}

void geglu(Stream& s, float* d_gate, const float* d_up, int64_t count) {
    if (count <= 0) return;
    GMG_LAUNCH(blocks_for(count, 256), 256, 0, native(s), geglu_kernel)(d_gate, d_up, count);
    check_launch(s, "geglu");
}

void softcap(Stream& s, float* d_x, int64_t count, float cap) {
    if (count <= 0) return;
    GMG_LAUNCH(blocks_for(count, 256), 256, 0, native(s), softcap_kernel)(d_x, count, cap);
    check_launch(s, "softcap");
}

void argmax_rows(Stream& s, const float* d_x, int64_t rows, int64_t n, int32_t* d_out) {
    if (rows <= 0 || n <= 0) return;
    GMG_LAUNCH(static_cast<unsigned>(rows), kArgmaxThreads, 0, native(s), argmax_kernel)(d_x, n, d_out);
    check_launch(s, "argmax");
}

void top_candidates(Stream& s, const float* d_x, int64_t n, uint64_t* d_scratch, uint64_t* d_out) {
    if (n <= 0) return;
    auto* scratch = reinterpret_cast<unsigned long long*>(d_scratch);
    const unsigned long long* keys = nullptr;  // the previous pass's survivors (none: read x)
    for (int64_t m = n;;) {
        const auto tiles = static_cast<unsigned>((m + kTopTile - 1) / kTopTile);
        auto* dst = m > kTopTile ? scratch : reinterpret_cast<unsigned long long*>(d_out);
        GMG_LAUNCH(tiles, kTopThreads, 0, native(s), top_tile_kernel)(keys ? nullptr : d_x, keys, m, dst);
        check_launch(s, "top_candidates");
        if (m <= kTopTile) return;
        keys = dst;
        scratch += top_survivors(m);
        m = top_survivors(m);
    }
}

void qk_norm_rope_store(Stream& s, const AttentionShape& a, float* d_q, const float* d_k, const float* d_v,
                        const float* d_q_norm, const float* d_k_norm, float eps, float rope_base, float freq_scale,
                        float attn_scale, uint16_t* d_kcache, uint16_t* d_vcache, int64_t n, const int32_t* d_pos0) {
    if (n <= 0 || !check_attention_shape(s, a)) return;
    // The same float expression as the CPU path (reference_ops.cpp rope_neox), on the host.
    const RopeArgs r{eps, std::pow(rope_base, -2.0f / static_cast<float>(a.n_rot)), freq_scale, attn_scale};
    const dim3 grid(static_cast<unsigned>(a.n_head + a.n_head_kv), static_cast<unsigned>(n));
    GMG_LAUNCH(grid, kNormThreads, 0, native(s), qk_norm_rope_store_kernel)(a, r, d_q, d_k, d_v, d_q_norm, d_k_norm, d_kcache,
                                                                    d_vcache, d_pos0);
    check_launch(s, "qk_norm_rope_store");
}

// Flash-decoding: the chunks' scores and (max, sum), then their values; the last
// block of each (row, head) also quantizes its slice when asked.
static void attention_split(Stream& s, const AttentionShape& a, const float* d_q, const uint16_t* d_kcache,
                            const uint16_t* d_vcache, float* d_out, int64_t n, const int32_t* d_pos0,
                            float* d_scratch, const ActOutput* quantized) {
    const SplitPlan plan = split_plan(a);
    const dim3 grid(static_cast<unsigned>(a.n_head), static_cast<unsigned>(plan.chunks), static_cast<unsigned>(n));
    GMG_LAUNCH(grid, kSplitThreads, 0, native(s), split_scores_kernel)(a, plan, d_q, d_kcache, d_pos0, d_scratch, n);
    check_launch(s, "split_scores");
    const size_t shared = static_cast<size_t>(kSplitThreads / kMinWarp) * static_cast<size_t>(a.head_dim) * sizeof(float);
    GMG_LAUNCH(grid, kSplitThreads, shared, native(s), split_values_kernel)(a, plan, d_vcache, d_pos0, d_scratch, d_out, n,
                                                                    quantized != nullptr,
                                                                    quantized ? *quantized : ActOutput{});
    check_launch(s, "split_values");
}

// One block per (head, row).
static void attention_rows(Stream& s, const AttentionShape& a, const float* d_q, const uint16_t* d_kcache,
                           const uint16_t* d_vcache, float* d_out, int64_t n, const int32_t* d_pos0) {
    // Few queries (decode): more warps per head, since there are only n_head blocks.
    const int threads = n <= 4 ? kAttnThreadsDecode : kAttnThreads;
    // Sized for the narrowest warp: the kernel counts warps by the warpSize it was built for.
    const int warps = threads / kMinWarp;
    const size_t shared = static_cast<size_t>(warps) * static_cast<size_t>(a.head_dim + 2) * sizeof(float);
    const dim3 grid(static_cast<unsigned>(a.n_head), static_cast<unsigned>(n));
    GMG_LAUNCH(grid, threads, shared, native(s), attention_kernel)(a, d_q, d_kcache, d_vcache, d_out, d_pos0);
    check_launch(s, "attention");
}

void attention(Stream& s, const AttentionShape& a, const float* d_q, const uint16_t* d_kcache,
               const uint16_t* d_vcache, float* d_out, int64_t n, const int32_t* d_pos0, float* d_scratch,
               AttentionPath want, const ActOutput* quantized) {
    AttentionPath path;
    if (n <= 0 || !resolve_attention_path(s, a, n, d_scratch != nullptr, want, quantized, &path)) return;
    const bool fused = path == AttentionPath::split && quantized && split_quantizes(a, *quantized);
    if (path == AttentionPath::split) attention_split(s, a, d_q, d_kcache, d_vcache, d_out, n, d_pos0, d_scratch, fused ? quantized : nullptr);
    else if (path == AttentionPath::tiled) attention_tiled(s, a, d_q, d_kcache, d_vcache, d_out, n, d_pos0);
    else attention_rows(s, a, d_q, d_kcache, d_vcache, d_out, n, d_pos0);
    if (quantized && !fused) quantize_rows(s, quantized->rule, d_out, n, a.n_head * a.head_dim, quantized->rows);
}

}  // namespace gmg::gpu
