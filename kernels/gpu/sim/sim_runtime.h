// The runtime half of the simulated device (GMG_GPU_SIM): CUDA's runtime calls
// that kernels/gpu/device.cu makes, under gpu_vendor.cuh's names, on host memory.
// Beyond doing the work it checks what a GPU would refuse or leave undefined:
// copies in the wrong direction or out of a device allocation, a captured copy
// from pageable host memory, an unsafe call (malloc, a synchronous copy, a sync)
// while its thread is capturing a graph, launch configurations over the limits,
// and device memory read before it is written (fresh allocations are 0xff bytes:
// NaN floats).
#pragma once
#include <cstddef>
#include <cstdint>

namespace gmg::sim {

enum Error {
    Success = 0,
    ErrorInvalidValue,
    ErrorMemoryAllocation,
    ErrorInvalidConfiguration,
    ErrorInvalidDevice,
    ErrorLaunchFailure,
    ErrorStreamCaptureUnsupported,
    ErrorStreamCaptureInvalidated,
    ErrorIllegalAddress,
};
const char* GetErrorString(Error e);
Error GetLastError();  // and clears it, as cudaGetLastError does

struct Stream;
struct Graph;
struct GraphExec;
struct Event;

struct DeviceProp {
    char name[256];
    int major, minor;
    size_t totalGlobalMem;
    int warpSize;
    int multiProcessorCount;
};

enum MemcpyKind { MemcpyHostToDevice, MemcpyDeviceToHost, MemcpyDeviceToDevice };
constexpr unsigned StreamNonBlocking = 1;
enum CaptureMode { StreamCaptureModeThreadLocal };

Error GetDeviceCount(int* n);
Error GetDeviceProperties(DeviceProp* p, int device);
Error SetDevice(int device);
Error DeviceSynchronize();

Error Malloc(void** p, size_t bytes);
Error Free(void* p);
Error MallocHost(void** p, size_t bytes);
Error FreeHost(void* p);
Error Memcpy(void* dst, const void* src, size_t bytes, MemcpyKind kind);
Error MemcpyAsync(void* dst, const void* src, size_t bytes, MemcpyKind kind, Stream* s);
Error MemsetAsync(void* dst, int value, size_t bytes, Stream* s);

Error StreamCreateWithFlags(Stream** s, unsigned flags);
Error StreamDestroy(Stream* s);
Error StreamSynchronize(Stream* s);
Error StreamBeginCapture(Stream* s, CaptureMode mode);
Error StreamEndCapture(Stream* s, Graph** g);
Error GraphInstantiate(GraphExec** exec, Graph* g);
Error GraphLaunch(GraphExec* exec, Stream* s);
Error GraphDestroy(Graph* g);
Error GraphExecDestroy(GraphExec* exec);

Error EventCreate(Event** e);
Error EventDestroy(Event* e);
Error EventRecord(Event* e, Stream* s);
Error EventSynchronize(Event* e);
Error EventElapsedTime(float* ms, Event* begin, Event* end);

}  // namespace gmg::sim
