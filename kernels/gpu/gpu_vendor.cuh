// The one place where CUDA and HIP differ by name. Every .cu file in kernels/gpu
// includes this instead of a vendor header and uses the gpu* names below, so the
// same sources build with nvcc (GMG_CUDA), with hipcc (GMG_HIP), and as plain C++
// for the simulated device (GMG_GPU_SIM: kernels/gpu/sim, the kernels' own code
// run on the host by tests without a GPU).
#pragma once

#if defined(GMG_GPU_SIM)
#include "kernels/gpu/sim/sim_device.h"

#define GMG_GPU_VENDOR "simulated"
using gpuError_t = ::gmg::sim::Error;
using gpuStream_t = ::gmg::sim::Stream*;
using gpuGraph_t = ::gmg::sim::Graph*;
using gpuGraphExec_t = ::gmg::sim::GraphExec*;
using gpuDeviceProp = ::gmg::sim::DeviceProp;
using gpuEvent_t = ::gmg::sim::Event*;
#define gpuSuccess ::gmg::sim::Success
#define gpuGetErrorString ::gmg::sim::GetErrorString
#define gpuGetLastError ::gmg::sim::GetLastError
#define gpuGetDeviceCount ::gmg::sim::GetDeviceCount
#define gpuGetDeviceProperties ::gmg::sim::GetDeviceProperties
#define gpuSetDevice ::gmg::sim::SetDevice
#define gpuMalloc ::gmg::sim::Malloc
#define gpuFree ::gmg::sim::Free
#define gpuMallocHost ::gmg::sim::MallocHost
#define gpuFreeHost ::gmg::sim::FreeHost
#define gpuMemcpy ::gmg::sim::Memcpy
#define gpuMemcpyAsync ::gmg::sim::MemcpyAsync
#define gpuMemsetAsync ::gmg::sim::MemsetAsync
#define gpuMemcpyHostToDevice ::gmg::sim::MemcpyHostToDevice
#define gpuMemcpyDeviceToHost ::gmg::sim::MemcpyDeviceToHost
#define gpuMemcpyDeviceToDevice ::gmg::sim::MemcpyDeviceToDevice
#define gpuStreamCreateWithFlags ::gmg::sim::StreamCreateWithFlags
#define gpuStreamNonBlocking ::gmg::sim::StreamNonBlocking
#define gpuStreamDestroy ::gmg::sim::StreamDestroy
#define gpuStreamSynchronize ::gmg::sim::StreamSynchronize
#define gpuStreamBeginCapture ::gmg::sim::StreamBeginCapture
#define gpuStreamEndCapture ::gmg::sim::StreamEndCapture
#define gpuStreamCaptureModeThreadLocal ::gmg::sim::StreamCaptureModeThreadLocal
#define gpuGraphInstantiate(exec, graph) ::gmg::sim::GraphInstantiate(exec, graph)
#define gpuGraphLaunch ::gmg::sim::GraphLaunch
#define gpuGraphDestroy ::gmg::sim::GraphDestroy
#define gpuGraphExecDestroy ::gmg::sim::GraphExecDestroy
#define gpuEventCreate ::gmg::sim::EventCreate
#define gpuEventDestroy ::gmg::sim::EventDestroy
#define gpuEventRecord ::gmg::sim::EventRecord
#define gpuEventSynchronize ::gmg::sim::EventSynchronize
#define gpuEventElapsedTime ::gmg::sim::EventElapsedTime
#define gpuDeviceSynchronize ::gmg::sim::DeviceSynchronize

#elif defined(__HIPCC__) || defined(GMG_USE_HIP)
#include <hip/hip_runtime.h>

#define GMG_GPU_VENDOR "HIP"
using gpuError_t = hipError_t;
using gpuStream_t = hipStream_t;
using gpuGraph_t = hipGraph_t;
using gpuGraphExec_t = hipGraphExec_t;
using gpuDeviceProp = hipDeviceProp_t;
using gpuEvent_t = hipEvent_t;
#define gpuSuccess hipSuccess
#define gpuGetErrorString hipGetErrorString
#define gpuGetLastError hipGetLastError
#define gpuGetDeviceCount hipGetDeviceCount
#define gpuGetDeviceProperties hipGetDeviceProperties
#define gpuSetDevice hipSetDevice
#define gpuMalloc hipMalloc
#define gpuFree hipFree
#define gpuMallocHost hipHostMalloc
#define gpuFreeHost hipHostFree
#define gpuMemcpy hipMemcpy
#define gpuMemcpyAsync hipMemcpyAsync
#define gpuMemsetAsync hipMemsetAsync
#define gpuMemcpyHostToDevice hipMemcpyHostToDevice
#define gpuMemcpyDeviceToHost hipMemcpyDeviceToHost
#define gpuMemcpyDeviceToDevice hipMemcpyDeviceToDevice
#define gpuStreamCreateWithFlags hipStreamCreateWithFlags
#define gpuStreamNonBlocking hipStreamNonBlocking
#define gpuStreamDestroy hipStreamDestroy
#define gpuStreamSynchronize hipStreamSynchronize
#define gpuStreamBeginCapture hipStreamBeginCapture
#define gpuStreamEndCapture hipStreamEndCapture
#define gpuStreamCaptureModeThreadLocal hipStreamCaptureModeThreadLocal
#define gpuGraphInstantiate(exec, graph) hipGraphInstantiate(exec, graph, nullptr, nullptr, 0)
#define gpuGraphLaunch hipGraphLaunch
#define gpuGraphDestroy hipGraphDestroy
#define gpuGraphExecDestroy hipGraphExecDestroy
#define gpuEventCreate hipEventCreate
#define gpuEventDestroy hipEventDestroy
#define gpuEventRecord hipEventRecord
#define gpuEventSynchronize hipEventSynchronize
#define gpuEventElapsedTime hipEventElapsedTime
#define gpuDeviceSynchronize hipDeviceSynchronize

// No __dp4a on AMD under that name; the portable byte loop of group_decode.h's
// dot4 serves (a later change may use __builtin_amdgcn_sdot4 where the ISA has it).
#else
#include <cuda_runtime.h>

#define GMG_GPU_VENDOR "CUDA"
using gpuError_t = cudaError_t;
using gpuStream_t = cudaStream_t;
using gpuGraph_t = cudaGraph_t;
using gpuGraphExec_t = cudaGraphExec_t;
using gpuDeviceProp = cudaDeviceProp;
using gpuEvent_t = cudaEvent_t;
#define gpuSuccess cudaSuccess
#define gpuGetErrorString cudaGetErrorString
#define gpuGetLastError cudaGetLastError
#define gpuGetDeviceCount cudaGetDeviceCount
#define gpuGetDeviceProperties cudaGetDeviceProperties
#define gpuSetDevice cudaSetDevice
#define gpuMalloc cudaMalloc
#define gpuFree cudaFree
#define gpuMallocHost cudaMallocHost
#define gpuFreeHost cudaFreeHost
#define gpuMemcpy cudaMemcpy
#define gpuMemcpyAsync cudaMemcpyAsync
#define gpuMemsetAsync cudaMemsetAsync
#define gpuMemcpyHostToDevice cudaMemcpyHostToDevice
#define gpuMemcpyDeviceToHost cudaMemcpyDeviceToHost
#define gpuMemcpyDeviceToDevice cudaMemcpyDeviceToDevice
#define gpuStreamCreateWithFlags cudaStreamCreateWithFlags
#define gpuStreamNonBlocking cudaStreamNonBlocking
#define gpuStreamDestroy cudaStreamDestroy
#define gpuStreamSynchronize cudaStreamSynchronize
#define gpuStreamBeginCapture cudaStreamBeginCapture
#define gpuStreamEndCapture cudaStreamEndCapture
#define gpuStreamCaptureModeThreadLocal cudaStreamCaptureModeThreadLocal
#define gpuGraphInstantiate(exec, graph) cudaGraphInstantiate(exec, graph, 0)
#define gpuGraphLaunch cudaGraphLaunch
#define gpuGraphDestroy cudaGraphDestroy
#define gpuGraphExecDestroy cudaGraphExecDestroy
#define gpuEventCreate cudaEventCreate
#define gpuEventDestroy cudaEventDestroy
#define gpuEventRecord cudaEventRecord
#define gpuEventSynchronize cudaEventSynchronize
#define gpuEventElapsedTime cudaEventElapsedTime
#define gpuDeviceSynchronize cudaDeviceSynchronize
#endif

// Tensor-core tiles: CUDA's nvcuda::wmma (GMG_HAS_WMMA); HIP builds have none here and
// take the kernels without them (has_tensor_matmul, has_tiled_attention).
#if defined(GMG_GPU_SIM)
#define GMG_HAS_WMMA 1
namespace gmg::gpu {
namespace wmma = ::gmg::sim::wmma;
using f16 = ::gmg::sim::half;
}  // namespace gmg::gpu
#elif !defined(__HIPCC__) && !defined(GMG_USE_HIP)
#define GMG_HAS_WMMA 1
#include <cuda_fp16.h>
#include <mma.h>
namespace gmg::gpu {
namespace wmma = nvcuda::wmma;
using f16 = __half;
}  // namespace gmg::gpu
#endif

// Integer tensor cores: mma.sync.m16n8k16 with s8 inputs and s32 accumulators (sm_80+),
// d += a b for a 16 x 16 A (row-major) and a 16 x 8 B (column-major). Fragments, from
// the PTX ISA ("Matrix Fragments for mma.m16n8k16 with integer type"): lane 4g + t
// holds A[g][4t..4t+3] in a0 and A[g+8][4t..4t+3] in a1 (byte i = column 4t + i),
// B[4t..4t+3][g] in b, and D[g][2t], D[g][2t+1], D[g+8][2t], D[g+8][2t+1] in d[0..3].
// The simulated device runs the same collective (sim_device.h); HIP builds have none.
#if defined(GMG_GPU_SIM)
#define GMG_HAS_MMA_S8 1
#define GMG_MMA_DEVICE_CODE 1
namespace gmg::gpu {
using ::gmg::sim::mma_s8_16x8x16;
}  // namespace gmg::gpu
#elif !defined(__HIPCC__) && !defined(GMG_USE_HIP)
#define GMG_HAS_MMA_S8 1
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define GMG_MMA_DEVICE_CODE 1
#else
#define GMG_MMA_DEVICE_CODE 0  // nvcc's host pass and older targets: the kernels compile empty
#endif
namespace gmg::gpu {
__device__ inline void mma_s8_16x8x16(int (&d)[4], int a0, int a1, int b) {
#if GMG_MMA_DEVICE_CODE
    asm("mma.sync.aligned.m16n8k16.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5}, {%6}, {%0, %1, %2, %3};"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
        : "r"(a0), "r"(a1), "r"(b));
#else
    (void)d, (void)a0, (void)a1, (void)b;
#endif
}
}  // namespace gmg::gpu
#else
#define GMG_HAS_MMA_S8 0
#define GMG_MMA_DEVICE_CODE 0
#endif

// Shuffles: CUDA wants a lane mask, HIP has none; every caller uses full warps.
// GMG_SHFL_XOR_W exchanges within segments of w lanes (w <= 32 divides every warp).
#if defined(__HIPCC__) || defined(GMG_USE_HIP)
#define GMG_SHFL_XOR(v, m) __shfl_xor((v), (m))
#define GMG_SHFL_XOR_W(v, m, w) __shfl_xor((v), (m), (w))
#else
#define GMG_SHFL_XOR(v, m) __shfl_xor_sync(0xffffffffu, (v), (m))
#define GMG_SHFL_XOR_W(v, m, w) __shfl_xor_sync(0xffffffffu, (v), (m), (w))
#endif

// The WMMA kernels' bodies: nvcc's device pass for sm_70 and later (its host pass and
// older targets compile them empty), and the simulated device.
#if defined(GMG_GPU_SIM) || (defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 700)
#define GMG_WMMA_DEVICE_CODE 1
#else
#define GMG_WMMA_DEVICE_CODE 0
#endif

// kernel<<<grid, block, shared, stream>>>(args) spelled GMG_LAUNCH(grid, block, shared,
// stream, kernel)(args), so that the simulated device can run the launch as a call.
#if defined(GMG_GPU_SIM)
#define GMG_LAUNCH(grid, block, shared, stream, ...) \
    ::gmg::sim::launcher((grid), (block), (shared), (stream), #__VA_ARGS__, __VA_ARGS__)
#define GMG_DYNAMIC_SHARED(type, name) type* name = static_cast<type*>(::gmg::sim::dynamic_shared())
#else
#define GMG_LAUNCH(grid, block, shared, stream, ...) __VA_ARGS__<<<(grid), (block), (shared), (stream)>>>
#define GMG_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif
