// Devices, memory, streams and graphs: the runtime half of gpu_backend.h.
#include <mutex>
#include <vector>

#include "kernels/common/iq_tables.h"
#include "kernels/gpu/gpu_backend.h"
#include "kernels/gpu/gpu_vendor.cuh"
#include "kernels/common/group_decode.h"

namespace gmg::gpu {
using namespace ::gmg::groups;
namespace {

std::string message(const char* what, gpuError_t e) { return std::string(what) + ": " + gpuGetErrorString(e); }

// The IQ codebooks on one device, uploaded on first use and kept for the process.
const GridTables* device_tables(int device, std::string* error) {
    static std::mutex mutex;
    static std::vector<std::unique_ptr<GridTables>> per_device;
    std::lock_guard<std::mutex> lock(mutex);
    if (per_device.size() <= static_cast<size_t>(device)) per_device.resize(static_cast<size_t>(device) + 1);
    if (per_device[static_cast<size_t>(device)]) return per_device[static_cast<size_t>(device)].get();

    struct Part {
        const void* src;
        size_t bytes;
    };
    const Part parts[] = {
        {iq::iq2xxs_grid, sizeof iq::iq2xxs_grid}, {iq::iq2xs_grid, sizeof iq::iq2xs_grid},
        {iq::iq2s_grid, sizeof iq::iq2s_grid},     {iq::iq3xxs_grid, sizeof iq::iq3xxs_grid},
        {iq::iq3s_grid, sizeof iq::iq3s_grid},     {iq::iq1s_grid, sizeof iq::iq1s_grid},
        {iq::kvalues_iq4nl, 16},                   {iq::kvalues_fp4, 16},
    };
    size_t total = 0;
    for (const Part& p : parts) total += (p.bytes + 255) / 256 * 256;
    void* base = nullptr;
    if (gpuError_t e = gpuMalloc(&base, total); e != gpuSuccess) {
        *error = message("allocating the codebook tables", e);
        return nullptr;
    }
    const void* at[8];
    size_t offset = 0;
    for (int i = 0; i < 8; ++i) {
        at[i] = static_cast<char*>(base) + offset;
        if (gpuError_t e = gpuMemcpy(static_cast<char*>(base) + offset, parts[i].src, parts[i].bytes,
                                     gpuMemcpyHostToDevice);
            e != gpuSuccess) {
            *error = message("uploading the codebook tables", e);
            static_cast<void>(gpuFree(base));
            return nullptr;
        }
        offset += (parts[i].bytes + 255) / 256 * 256;
    }
    auto t = std::make_unique<GridTables>();
    t->iq2xxs = static_cast<const uint64_t*>(at[0]);
    t->iq2xs = static_cast<const uint64_t*>(at[1]);
    t->iq2s = static_cast<const uint64_t*>(at[2]);
    t->iq3xxs = static_cast<const uint32_t*>(at[3]);
    t->iq3s = static_cast<const uint32_t*>(at[4]);
    t->iq1s = static_cast<const uint64_t*>(at[5]);
    t->iq4nl = static_cast<const int8_t*>(at[6]);
    t->fp4 = static_cast<const int8_t*>(at[7]);
    per_device[static_cast<size_t>(device)] = std::move(t);
    return per_device[static_cast<size_t>(device)].get();
}

}  // namespace

const char* vendor() { return GMG_GPU_VENDOR; }
bool built() { return true; }

bool device_count(int* n, std::string* error) {
    *n = 0;
    int count = 0;
    if (gpuError_t e = gpuGetDeviceCount(&count); e != gpuSuccess) {
        *error = message("no usable " GMG_GPU_VENDOR " device", e);
        static_cast<void>(gpuGetLastError());  // clear the sticky error of a failed driver probe
        return false;
    }
    if (count == 0) {
        *error = "no " GMG_GPU_VENDOR " device present";
        return false;
    }
    *n = count;
    return true;
}

bool device_info(int device, DeviceInfo* out, std::string* error) {
    int n = 0;
    if (!device_count(&n, error)) return false;
    if (device < 0 || device >= n) {
        *error = "GPU device " + std::to_string(device) + " does not exist (" + std::to_string(n) + " present)";
        return false;
    }
    gpuDeviceProp p{};
    if (gpuError_t e = gpuGetDeviceProperties(&p, device); e != gpuSuccess) {
        *error = message("reading the device properties", e);
        return false;
    }
    out->name = p.name;
    out->major = p.major;
    out->minor = p.minor;
    out->memory_bytes = p.totalGlobalMem;
    out->warp_size = p.warpSize;
    out->multiprocessors = p.multiProcessorCount;
    return true;
}

DeviceBuffer::~DeviceBuffer() {
    if (ptr_) static_cast<void>(gpuFree(ptr_));
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
        if (ptr_) static_cast<void>(gpuFree(ptr_));
        ptr_ = o.ptr_;
        bytes_ = o.bytes_;
        o.ptr_ = nullptr;
        o.bytes_ = 0;
    }
    return *this;
}

bool DeviceBuffer::allocate(size_t bytes, std::string* error) {
    if (ptr_) static_cast<void>(gpuFree(ptr_));
    ptr_ = nullptr;
    bytes_ = 0;
    if (bytes == 0) return true;
    if (gpuError_t e = gpuMalloc(&ptr_, bytes); e != gpuSuccess) {
        ptr_ = nullptr;
        *error = message(("allocating " + std::to_string(bytes) + " bytes of device memory").c_str(), e);
        return false;
    }
    bytes_ = bytes;
    return true;
}

PinnedBuffer::~PinnedBuffer() {
    if (ptr_) static_cast<void>(gpuFreeHost(ptr_));
}

bool PinnedBuffer::allocate(size_t bytes, std::string* error) {
    if (ptr_) static_cast<void>(gpuFreeHost(ptr_));
    ptr_ = nullptr;
    if (gpuError_t e = gpuMallocHost(&ptr_, bytes ? bytes : 1); e != gpuSuccess) {
        ptr_ = nullptr;
        *error = message("allocating page-locked host memory", e);
        return false;
    }
    return true;
}

Stream::~Stream() {
    if (handle_) static_cast<void>(gpuStreamDestroy(static_cast<gpuStream_t>(handle_)));
}

bool Stream::create(int device, std::string* error) {
    DeviceInfo info;
    if (!device_info(device, &info, error)) return false;  // no device, or no such device
    if (gpuError_t e = gpuSetDevice(device); e != gpuSuccess) {
        *error = message("selecting the GPU", e);
        return false;
    }
    device_ = device;
    warp_size_ = info.warp_size;
    major_ = info.major;
    tables_ = device_tables(device, error);
    if (!tables_) return false;
    gpuStream_t s = nullptr;
    if (gpuError_t e = gpuStreamCreateWithFlags(&s, gpuStreamNonBlocking); e != gpuSuccess) {
        *error = message("creating a stream", e);
        return false;
    }
    handle_ = s;
    return true;
}

bool Stream::activate() { return gpuSetDevice(device_) == gpuSuccess; }

void Stream::fail(const std::string& m) {
    if (error_.empty()) error_ = m;
}

bool Stream::sync(std::string* error) {
    if (gpuError_t e = gpuStreamSynchronize(static_cast<gpuStream_t>(handle_)); e != gpuSuccess)
        fail(message("GPU stream", e));
    if (!error_.empty()) {
        *error = error_;
        return false;
    }
    return true;
}

void Stream::upload(void* d_dst, const void* src, size_t bytes) {
    if (gpuError_t e = gpuMemcpyAsync(d_dst, src, bytes, gpuMemcpyHostToDevice, static_cast<gpuStream_t>(handle_));
        e != gpuSuccess)
        fail(message("copy to the GPU", e));
}

void Stream::download(void* dst, const void* d_src, size_t bytes) {
    if (gpuError_t e = gpuMemcpyAsync(dst, d_src, bytes, gpuMemcpyDeviceToHost, static_cast<gpuStream_t>(handle_));
        e != gpuSuccess)
        fail(message("copy from the GPU", e));
}

void Stream::zero(void* d_dst, size_t bytes) {
    if (gpuError_t e = gpuMemsetAsync(d_dst, 0, bytes, static_cast<gpuStream_t>(handle_)); e != gpuSuccess)
        fail(message("clearing device memory", e));
}

bool Stream::begin_capture() {
    if (gpuError_t e = gpuStreamBeginCapture(static_cast<gpuStream_t>(handle_), gpuStreamCaptureModeThreadLocal);
        e != gpuSuccess) {
        fail(message("starting a graph capture", e));
        return false;
    }
    return true;
}

bool Stream::end_capture(Graph* out) {
    out->reset();
    gpuGraph_t graph = nullptr;
    if (gpuError_t e = gpuStreamEndCapture(static_cast<gpuStream_t>(handle_), &graph); e != gpuSuccess) {
        fail(message("ending a graph capture", e));
        return false;
    }
    gpuGraphExec_t exec = nullptr;
    const gpuError_t e = gpuGraphInstantiate(&exec, graph);
    static_cast<void>(gpuGraphDestroy(graph));
    if (e != gpuSuccess) {
        fail(message("instantiating a graph", e));
        return false;
    }
    if (!ok()) {  // a launch failed while capturing: the graph would miss it
        static_cast<void>(gpuGraphExecDestroy(exec));
        return false;
    }
    out->exec_ = exec;
    return true;
}

Timer::~Timer() {
    if (begin_) static_cast<void>(gpuEventDestroy(static_cast<gpuEvent_t>(begin_)));
    if (end_) static_cast<void>(gpuEventDestroy(static_cast<gpuEvent_t>(end_)));
}

void Timer::start(Stream& s) {
    for (void** e : {&begin_, &end_}) {
        if (*e) continue;
        gpuEvent_t ev = nullptr;
        if (gpuError_t err = gpuEventCreate(&ev); err != gpuSuccess) return s.fail(message("creating an event", err));
        *e = ev;
    }
    if (gpuError_t err = gpuEventRecord(static_cast<gpuEvent_t>(begin_), static_cast<gpuStream_t>(s.handle()));
        err != gpuSuccess)
        s.fail(message("recording an event", err));
}

float Timer::stop_ms(Stream& s) {
    float ms = 0.0f;
    if (!begin_ || !end_) return 0.0f;
    if (gpuError_t err = gpuEventRecord(static_cast<gpuEvent_t>(end_), static_cast<gpuStream_t>(s.handle()));
        err != gpuSuccess)
        return s.fail(message("recording an event", err)), 0.0f;
    if (gpuError_t err = gpuEventSynchronize(static_cast<gpuEvent_t>(end_)); err != gpuSuccess)
        return s.fail(message("waiting for an event", err)), 0.0f;
    if (gpuError_t err = gpuEventElapsedTime(&ms, static_cast<gpuEvent_t>(begin_), static_cast<gpuEvent_t>(end_));
        err != gpuSuccess)
        return s.fail(message("reading an event timer", err)), 0.0f;
    return ms;
}

void copy_device(Stream& s, void* d_dst, const void* d_src, size_t bytes) {
    if (gpuError_t e = gpuMemcpyAsync(d_dst, d_src, bytes, gpuMemcpyDeviceToDevice, static_cast<gpuStream_t>(s.handle()));
        e != gpuSuccess)
        s.fail(message("device-to-device copy", e));
}

Graph::~Graph() { reset(); }

void Graph::reset() {
    if (exec_) static_cast<void>(gpuGraphExecDestroy(static_cast<gpuGraphExec_t>(exec_)));
    exec_ = nullptr;
}

void Graph::launch(Stream& s) {
    if (gpuError_t e = gpuGraphLaunch(static_cast<gpuGraphExec_t>(exec_), static_cast<gpuStream_t>(s.handle()));
        e != gpuSuccess)
        s.fail(message("launching a graph", e));
}

}  // namespace gmg::gpu
