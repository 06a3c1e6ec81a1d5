// The rest of a Gemma3 step on the GPU: RMSNorm (plain and Gemma's sandwich),
// QK-norm + RoPE + the KV-cache store, attention over the f16 cache, GeGLU and
// the logit soft-cap. Each mirrors the CPU path's arithmetic (lib/runtime/
// reference_ops.cpp) up to summation order and the last ulp of libm.
#include <cmath>

#include "kernels/gpu/device_common.cuh"

namespace gmg::gpu {
namespace {

constexpr int kNormThreads = 256;
constexpr int kAttnThreads = 128;
constexpr int kMaxHeadDim = 512;
constexpr int kMaxChunks = kMaxHeadDim / 32;  // head elements per lane at the narrowest warp

__device__ inline float inv_rms(const float* x, int64_t width, float eps, float* scratch) {
    float sum = 0.0f;
    for (int64_t i = threadIdx.x; i < width; i += blockDim.x) sum += x[i] * x[i];
    const float mean = block_sum(sum, scratch) / static_cast<float>(width);
    return 1.0f / sqrtf(mean + eps);
}

__global__ void rms_norm_kernel(const float* x, const float* w, float* y, int64_t width, float eps) {
    __shared__ float scratch[kMaxWarpsPerBlock];
    const float* xr = x + blockIdx.x * width;
    float* yr = y + blockIdx.x * width;
    const float scale = inv_rms(xr, width, eps, scratch);
    for (int64_t i = threadIdx.x; i < width; i += blockDim.x) yr[i] = (xr[i] * scale) * w[i];
}

__global__ void add_rms_norm_kernel(float* x, const float* p, const float* w, int64_t width, float eps) {
    __shared__ float scratch[kMaxWarpsPerBlock];
    const float* pr = p + blockIdx.x * width;
    float* xr = x + blockIdx.x * width;
    const float scale = inv_rms(pr, width, eps, scratch);
    for (int64_t i = threadIdx.x; i < width; i += blockDim.x) xr[i] = (pr[i] * scale) * w[i] + xr[i];
}

__device__ inline float gelu(float x) {
    const float kSqrt2OverPi = 0.79788456080286535587989211986876f;
    const float kCoefA = 0.044715f;
    return 0.5f * x * (1.0f + tanhf(kSqrt2OverPi * x * (1.0f + kCoefA * x * x)));
}

// llama.cpp's table GELU: the input and the result rounded through f16.
__global__ void geglu_kernel(float* gate, const float* up, int64_t count) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= count) return;
    const float g = gate[i];
    if (g <= -10.0f) gate[i] = 0.0f;
    else if (g >= 10.0f) gate[i] = g * up[i];
    else gate[i] = f16_to_f32(f32_to_f16(gelu(f16_to_f32(f32_to_f16(g))))) * up[i];
}

__global__ void softcap_kernel(float* x, int64_t count, float cap) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < count) x[i] = cap * tanhf(x[i] / cap);
}

struct RopeArgs {
    float eps, theta_scale, freq_scale, attn_scale;
};

// One block per (head, token): blocks [0, n_head) take q heads, the rest k heads
// (each also storing its v row).
__global__ void qk_norm_rope_store_kernel(AttentionShape a, RopeArgs r, float* q, const float* k, const float* v,
                                          const float* q_norm, const float* k_norm, uint16_t* kcache,
                                          uint16_t* vcache, const int32_t* pos0) {
    __shared__ float scratch[kMaxWarpsPerBlock];
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

// One block per (query head, token). Each warp runs an online softmax over every
// warps-th key of the visible range; the warps' partial results are merged at the end
// (flash-decoding inside a block). q goes through f16 as on the CPU path.
__global__ void attention_kernel(AttentionShape a, const float* q, const uint16_t* kcache, const uint16_t* vcache,
                                 float* out, const int32_t* pos0) {
    extern __shared__ float partial[];  // per warp: D accumulators, max, sum
    const int64_t D = a.head_dim, t = blockIdx.y, h = blockIdx.x;
    const int64_t Q = a.n_head * D, KV = a.n_head_kv * D;
    const int64_t kvh = h / (a.n_head / a.n_head_kv);
    const int64_t p = *pos0 + t;
    const int64_t lo = a.window > 0 && p - a.window + 1 > 0 ? p - a.window + 1 : 0;
    const int lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
    const int warps = blockDim.x / warpSize;

    float qv[kMaxChunks], acc[kMaxChunks];
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) {
        const int64_t i = lane + static_cast<int64_t>(c) * warpSize;
        qv[c] = i < D ? f16_to_f32(f32_to_f16(q[t * Q + h * D + i])) : 0.0f;
        acc[c] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;
    for (int64_t j = lo + warp; j <= p; j += warps) {
        const int64_t slot = (j % a.capacity) * KV + kvh * D;
        float s = 0.0f;
#pragma unroll
        for (int c = 0; c < kMaxChunks; ++c) {
            const int64_t i = lane + static_cast<int64_t>(c) * warpSize;
            if (i < D) s += qv[c] * f16_to_f32(kcache[slot + i]);
        }
        s = warp_sum(s);
        const float m_new = fmaxf(m, s);
        const float correction = expf(m - m_new);
        const float pj = expf(s - m_new);
        l = l * correction + pj;
#pragma unroll
        for (int c = 0; c < kMaxChunks; ++c) {
            const int64_t i = lane + static_cast<int64_t>(c) * warpSize;
            if (i < D) acc[c] = acc[c] * correction + pj * f16_to_f32(vcache[slot + i]);
        }
        m = m_new;
    }
    float* mine = partial + warp * (D + 2);
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) {
        const int64_t i = lane + static_cast<int64_t>(c) * warpSize;
        if (i < D) mine[i] = acc[c];
    }
    if (lane == 0) {
        mine[D] = m;
        mine[D + 1] = l;
    }
    __syncthreads();
    float M = -INFINITY;
    for (int w = 0; w < warps; ++w) M = fmaxf(M, partial[w * (D + 2) + D]);
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
        float num = 0.0f, den = 0.0f;
        for (int w = 0; w < warps; ++w) {
            const float* pw = partial + w * (D + 2);
            if (pw[D] == -INFINITY) continue;  // a warp that saw no key
            const float e = expf(pw[D] - M);
            num += e * pw[i];
            den += e * pw[D + 1];
        }
        out[t * Q + h * D + i] = num / den;
    }
}

bool check_shape(Stream& s, const AttentionShape& a) {
    if (a.head_dim <= 0 || a.head_dim > kMaxHeadDim || a.n_head_kv <= 0 || a.n_head % a.n_head_kv != 0 ||
        a.n_rot > a.head_dim || a.n_rot % 2 != 0 || a.capacity <= 0) {
        s.fail("attention: unsupported head shape (head_dim must be 1..512, n_head a multiple of n_head_kv)");
        return false;
    }
    return true;
}

}  // namespace

void rms_norm(Stream& s, const float* d_x, const float* d_w, float* d_y, int64_t n, int64_t width, float eps) {
    if (n <= 0) return;
    rms_norm_kernel<<<static_cast<unsigned>(n), kNormThreads, 0, native(s)>>>(d_x, d_w, d_y, width, eps);
    check_launch(s, "rms_norm");
}

void add_rms_norm(Stream& s, float* d_x, const float* d_p, const float* d_w, int64_t n, int64_t width, float eps) {
    if (n <= 0) return;
    add_rms_norm_kernel<<<static_cast<unsigned>(n), kNormThreads, 0, native(s)>>>(d_x, d_p, d_w, width, eps);
    check_launch(s, "add_rms_norm");
}

void geglu(Stream& s, float* d_gate, const float* d_up, int64_t count) {
    if (count <= 0) return;
    geglu_kernel<<<blocks_for(count, 256), 256, 0, native(s)>>>(d_gate, d_up, count);
    check_launch(s, "geglu");
}

void softcap(Stream& s, float* d_x, int64_t count, float cap) {
    if (count <= 0) return;
    softcap_kernel<<<blocks_for(count, 256), 256, 0, native(s)>>>(d_x, count, cap);
    check_launch(s, "softcap");
}

void qk_norm_rope_store(Stream& s, const AttentionShape& a, float* d_q, const float* d_k, const float* d_v,
                        const float* d_q_norm, const float* d_k_norm, float eps, float rope_base, float freq_scale,
                        float attn_scale, uint16_t* d_kcache, uint16_t* d_vcache, int64_t n, const int32_t* d_pos0) {
    if (n <= 0 || !check_shape(s, a)) return;
    // The same float expression as the CPU path (reference_ops.cpp rope_neox), on the host.
    const RopeArgs r{eps, std::pow(rope_base, -2.0f / static_cast<float>(a.n_rot)), freq_scale, attn_scale};
    const dim3 grid(static_cast<unsigned>(a.n_head + a.n_head_kv), static_cast<unsigned>(n));
    qk_norm_rope_store_kernel<<<grid, kNormThreads, 0, native(s)>>>(a, r, d_q, d_k, d_v, d_q_norm, d_k_norm, d_kcache,
                                                                    d_vcache, d_pos0);
    check_launch(s, "qk_norm_rope_store");
}

void attention(Stream& s, const AttentionShape& a, const float* d_q, const uint16_t* d_kcache,
               const uint16_t* d_vcache, float* d_out, int64_t n, const int32_t* d_pos0) {
    if (n <= 0 || !check_shape(s, a)) return;
    const int warps = kAttnThreads / s.warp_size();
    const size_t shared = static_cast<size_t>(warps) * static_cast<size_t>(a.head_dim + 2) * sizeof(float);
    const dim3 grid(static_cast<unsigned>(a.n_head), static_cast<unsigned>(n));
    attention_kernel<<<grid, kAttnThreads, shared, native(s)>>>(a, d_q, d_kcache, d_vcache, d_out, d_pos0);
    check_launch(s, "attention");
}

}  // namespace gmg::gpu
