// Device helpers shared by the kernel files: reductions written for any warp
// width (32 on NVIDIA, 32 or 64 on AMD), and the launch-error check.
#pragma once
#include <string>

#include "kernels/common/group_decode.h"
#include "kernels/gpu/gpu_backend.h"
#include "kernels/gpu/gpu_vendor.cuh"

namespace gmg::gpu {

using namespace ::gmg::groups;  // the block decoders the kernels share with the CPU

constexpr int kMaxWarpsPerBlock = 32;  // 1024 threads / the narrowest warp

struct SumOp {
    template <class T>
    __device__ T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
    __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// The reduction over a warp, in every lane (a butterfly: every lane ends with the same bits).
template <class T, class Op>
__device__ inline T warp_reduce(T v, Op op) {
    for (int offset = warpSize / 2; offset > 0; offset >>= 1) v = op(v, GMG_SHFL_XOR(v, offset));
    return v;
}
__device__ inline float warp_sum(float v) { return warp_reduce(v, SumOp{}); }
__device__ inline float warp_max(float v) { return warp_reduce(v, MaxOp{}); }

// The reduction over the whole block, returned to every thread. Uses shared scratch
// of kMaxWarpsPerBlock values; the leading barrier lets consecutive calls share it.
template <class T, class Op>
__device__ inline T block_reduce(T v, T* scratch, Op op) {
    const int lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
    const int warps = (blockDim.x + warpSize - 1) / warpSize;
    v = warp_reduce(v, op);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    T total = scratch[0];
    for (int w = 1; w < warps; ++w) total = op(total, scratch[w]);
    return total;
}
__device__ inline float block_sum(float v, float* scratch) { return block_reduce(v, scratch, SumOp{}); }
__device__ inline double block_sum(double v, double* scratch) { return block_reduce(v, scratch, SumOp{}); }
__device__ inline float block_max(float v, float* scratch) { return block_reduce(v, scratch, MaxOp{}); }

// ---- activation quantization by 32 cooperating lanes ----------------------------------
// One activation block per group of 32 lanes (a warp on NVIDIA, half a wavefront on
// AMD), each lane one value of a 32-block or eight of a Q8_K block, so that the
// loads are coalesced and the block's maximum is a shuffle reduction. Bit for bit
// the values act_quant.h's quantize_block gives: maxima and integer sums do not
// depend on the order, and every other step is the same per-element expression.
constexpr int kQuantLanes = 32;

template <class T, class Op>
__device__ inline T group_reduce(T v, Op op) {
    for (int offset = kQuantLanes / 2; offset > 0; offset >>= 1) v = op(v, GMG_SHFL_XOR_W(v, offset, kQuantLanes));
    return v;
}
struct MaxU64Op {
    __device__ unsigned long long operator()(unsigned long long a, unsigned long long b) const { return a > b ? a : b; }
};

// All 32 lanes of a group call it for the block at x (contiguous floats): q and the
// scales (act_block(rule) / 32 of them) as quantize_block writes them; Q8_1's sum into
// *sum_out when given.
__device__ inline void group_quantize_block(ActRule rule, const float* x, int8_t* q, float* scale_out,
                                            float* sum_out, int lane) {
    if (rule == ActRule::q8_K) {
        // quantize_q8_K: the first value of the largest magnitude sets the scale. Key:
        // the magnitude's bits (ordered like the magnitudes), then the smaller index.
        constexpr int kPerLane = 256 / kQuantLanes;
        float v[kPerLane];
        unsigned long long best = 0;  // 0: no nonzero value
        for (int i = 0; i < kPerLane; ++i) {
            const int j = lane + i * kQuantLanes;
            v[i] = x[j];
            const float ax = fabsf(v[i]);
            const unsigned long long key =
                (static_cast<unsigned long long>(f32_to_bits(ax)) << 32) | (0xffffffffu - static_cast<uint32_t>(j));
            if (ax > 0.0f && key > best) best = key;
        }
        best = group_reduce(best, MaxU64Op{});
        if (best == 0) {  // an all-zero block: q = 0, d = 0
            for (int i = 0; i < kPerLane; ++i) q[lane + i * kQuantLanes] = 0;
            if (lane < 256 / 32) scale_out[lane] = 0.0f;
            return;
        }
        const float max = x[0xffffffffu - static_cast<uint32_t>(best)];
        const float iscale = -127.0f / max;
        for (int i = 0; i < kPerLane; ++i) {
            const int r = nearest_int_even(mul_rn(iscale, v[i]));
            q[lane + i * kQuantLanes] = static_cast<int8_t>(r < 127 ? r : 127);
        }
        if (lane < 256 / 32) scale_out[lane] = 1.0f / iscale;
        return;
    }
    // quantize_q8_0 (and Q8_1's sum): lane j holds value j. (A block with NaN gets a NaN
    // scale here and a 0 or NaN one there: a broken row either way.)
    const float xv = x[lane];
    const float amax = group_reduce(fabsf(xv), MaxOp{});
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    const auto qv = static_cast<int8_t>(round_half_even(mul_rn(xv, id)));
    q[lane] = qv;
    if (lane == 0) scale_out[0] = f16_to_f32(f32_to_f16(d));
    if (rule == ActRule::q8_1 && sum_out) {
        const int sum = group_reduce(static_cast<int>(qv), SumOp{});
        if (lane == 0) *sum_out = f16_to_f32(f32_to_f16(d * static_cast<float>(sum)));
    }
}

inline gpuStream_t native(Stream& s) { return static_cast<gpuStream_t>(s.handle()); }

// Records a failed launch (bad configuration, missing kernel image) on the stream.
inline void check_launch(Stream& s, const char* kernel) {
    if (gpuError_t e = gpuGetLastError(); e != gpuSuccess)
        s.fail(std::string("launching ") + kernel + ": " + gpuGetErrorString(e));
}

inline unsigned blocks_for(int64_t count, int threads) {
    return static_cast<unsigned>((count + threads - 1) / threads);
}

}  // namespace gmg::gpu
