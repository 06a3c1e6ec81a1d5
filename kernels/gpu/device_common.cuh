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
