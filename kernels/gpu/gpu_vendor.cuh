// The one place where CUDA and HIP differ by name. Every .cu file in kernels/gpu
// includes this instead of a vendor header and uses the gpu* names below, so the
// same sources build with nvcc (GMG_CUDA) and with hipcc (GMG_HIP).
#pragma once

#if defined(__HIPCC__) || defined(GMG_USE_HIP)
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
#if !defined(__HIPCC__) && !defined(GMG_USE_HIP)
#define GMG_HAS_WMMA 1
#include <cuda_fp16.h>
#include <mma.h>
namespace gmg::gpu {
namespace wmma = nvcuda::wmma;
using f16 = __half;
}  // namespace gmg::gpu
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
