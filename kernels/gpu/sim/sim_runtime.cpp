// The simulated device's runtime: device memory is host memory (tracked, so that
// copies and launches can be checked against it), a stream runs its work at once
// unless it is capturing, and a graph replays what was captured.
#include "kernels/gpu/sim/sim_runtime.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "kernels/gpu/sim/sim_scheduler.h"

namespace gmg::sim {

using Work = std::function<void()>;

struct Stream {
    bool capturing = false;
    bool invalidated = false;  // an unsafe call while capturing: EndCapture fails
    std::vector<Work> captured;
};
struct Graph {
    std::vector<Work> nodes;
};
struct GraphExec {
    std::vector<Work> nodes;
};
struct Event {
    std::chrono::steady_clock::time_point at{};
    bool recorded = false;
};

namespace {

std::mutex g_mutex;  // the allocation maps
std::map<uintptr_t, size_t> g_device;  // base -> bytes
std::map<uintptr_t, size_t> g_pinned;
thread_local Error t_last = Success;
thread_local std::vector<Stream*> t_capturing;  // this thread's streams in capture
std::string g_fault;                            // the first kernel fault: sticky, as on a GPU
Error g_sticky = Success;

Error fail(Error e) {
    t_last = e;
    return e;
}

bool inside(const std::map<uintptr_t, size_t>& m, const void* p, size_t bytes) {
    const auto at = reinterpret_cast<uintptr_t>(p);
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = m.upper_bound(at);
    if (it == m.begin()) return false;
    --it;
    return at >= it->first && at + bytes <= it->first + it->second;
}
bool device_range(const void* p, size_t bytes) { return inside(g_device, p, bytes); }
bool any_device(const void* p) { return inside(g_device, p, 1); }

// cudaStreamCaptureModeThreadLocal: a call that may synchronize, made by a thread
// that is capturing, fails and spoils the capture.
bool capture_forbids(const char* call) {
    if (t_capturing.empty()) return false;
    for (Stream* s : t_capturing) s->invalidated = true;
    std::fprintf(stderr, "gmg simulated GPU: %s while this thread captures a graph\n", call);
    return true;
}

void submit(Stream* s, Work w) {
    if (s && s->capturing) s->captured.push_back(std::move(w));
    else w();
}

void report_fault(const std::string& what) {
    if (g_sticky == Success) {
        g_sticky = ErrorLaunchFailure;
        g_fault = "unspecified launch failure (simulated GPU: " + what + ")";
        std::fprintf(stderr, "gmg simulated GPU: kernel fault: %s\n", what.c_str());
    }
}

Error copy_checks(void* dst, const void* src, size_t bytes, MemcpyKind kind, bool captured) {
    const bool ok = kind == MemcpyHostToDevice     ? device_range(dst, bytes) && !any_device(src)
                    : kind == MemcpyDeviceToHost   ? device_range(src, bytes) && !any_device(dst)
                                                   : device_range(dst, bytes) && device_range(src, bytes);
    if (!ok) {
        std::fprintf(stderr, "gmg simulated GPU: a copy of %zu bytes outside device memory or in the wrong direction\n",
                     bytes);
        return ErrorInvalidValue;
    }
    const void* host = kind == MemcpyHostToDevice ? src : kind == MemcpyDeviceToHost ? dst : nullptr;
    if (captured && host && !inside(g_pinned, host, bytes)) {
        std::fprintf(stderr, "gmg simulated GPU: a captured copy from pageable host memory\n");
        return ErrorStreamCaptureUnsupported;
    }
    return Success;
}

}  // namespace

const char* GetErrorString(Error e) {
    switch (e) {
        case Success: return "no error";
        case ErrorInvalidValue: return "invalid argument";
        case ErrorMemoryAllocation: return "out of memory";
        case ErrorInvalidConfiguration: return "invalid configuration argument";
        case ErrorInvalidDevice: return "invalid device ordinal";
        case ErrorLaunchFailure: return g_fault.empty() ? "unspecified launch failure" : g_fault.c_str();
        case ErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
        case ErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
        case ErrorIllegalAddress: return "an illegal memory access was encountered";
    }
    return "unknown error";
}

Error GetLastError() {
    const Error e = t_last != Success ? t_last : g_sticky;
    t_last = Success;
    return e;
}

Error GetDeviceCount(int* n) {
    *n = 1;
    return Success;
}

Error GetDeviceProperties(DeviceProp* p, int device) {
    if (device != 0) return fail(ErrorInvalidDevice);
    *p = DeviceProp{};
    std::snprintf(p->name, sizeof p->name, "gmg simulated GPU (warp %d)", configured_warp_size());
    p->major = 9;  // the tensor-core paths are taken (on a warp of 32)
    p->minor = 0;
    p->totalGlobalMem = size_t{8} << 30;
    p->warpSize = configured_warp_size();
    p->multiProcessorCount = 4;
    return Success;
}

Error SetDevice(int device) { return device == 0 ? Success : fail(ErrorInvalidDevice); }

Error DeviceSynchronize() {
    if (capture_forbids("a device synchronize")) return fail(ErrorStreamCaptureUnsupported);
    return g_sticky;
}

Error Malloc(void** p, size_t bytes) {
    *p = nullptr;
    if (capture_forbids("a device allocation")) return fail(ErrorStreamCaptureUnsupported);
    if (bytes == 0) return Success;
    void* m = nullptr;  // exactly `bytes`, so that AddressSanitizer sees a kernel reading past it
    if (posix_memalign(&m, 256, bytes) != 0) return fail(ErrorMemoryAllocation);
    std::memset(m, 0xff, bytes);  // unwritten device memory reads as NaN floats / -1 integers
    std::lock_guard<std::mutex> lock(g_mutex);
    g_device[reinterpret_cast<uintptr_t>(m)] = bytes;
    *p = m;
    return Success;
}

Error Free(void* p) {
    if (!p) return Success;
    if (capture_forbids("a device free")) return fail(ErrorStreamCaptureUnsupported);
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        if (g_device.erase(reinterpret_cast<uintptr_t>(p)) == 0) return fail(ErrorInvalidValue);
    }
    std::free(p);
    return Success;
}

Error MallocHost(void** p, size_t bytes) {
    *p = std::malloc(bytes ? bytes : 1);
    if (!*p) return fail(ErrorMemoryAllocation);
    std::lock_guard<std::mutex> lock(g_mutex);
    g_pinned[reinterpret_cast<uintptr_t>(*p)] = bytes;
    return Success;
}

Error FreeHost(void* p) {
    if (!p) return Success;
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        if (g_pinned.erase(reinterpret_cast<uintptr_t>(p)) == 0) return fail(ErrorInvalidValue);
    }
    std::free(p);
    return Success;
}

Error Memcpy(void* dst, const void* src, size_t bytes, MemcpyKind kind) {
    if (capture_forbids("a synchronous copy")) return fail(ErrorStreamCaptureUnsupported);
    if (bytes == 0) return g_sticky;  // nothing to copy: CUDA accepts it whatever the pointers
    if (Error e = copy_checks(dst, src, bytes, kind, false); e != Success) return fail(e);
    std::memcpy(dst, src, bytes);
    return g_sticky;
}

Error MemcpyAsync(void* dst, const void* src, size_t bytes, MemcpyKind kind, Stream* s) {
    if (bytes == 0) return Success;
    if (Error e = copy_checks(dst, src, bytes, kind, s && s->capturing); e != Success) {
        if (s && s->capturing) s->invalidated = true;
        return fail(e);
    }
    submit(s, [dst, src, bytes] { std::memcpy(dst, src, bytes); });
    return Success;
}

Error MemsetAsync(void* dst, int value, size_t bytes, Stream* s) {
    if (bytes == 0) return Success;
    if (!device_range(dst, bytes)) return fail(ErrorInvalidValue);
    submit(s, [dst, value, bytes] { std::memset(dst, value, bytes); });
    return Success;
}

Error StreamCreateWithFlags(Stream** s, unsigned) {
    *s = new Stream;
    return Success;
}

Error StreamDestroy(Stream* s) {
    delete s;
    return Success;
}

Error StreamSynchronize(Stream*) {
    if (capture_forbids("a stream synchronize")) return fail(ErrorStreamCaptureUnsupported);
    return g_sticky;
}

Error StreamBeginCapture(Stream* s, CaptureMode) {
    if (!s || s->capturing) return fail(ErrorInvalidValue);  // the legacy stream cannot capture
    s->capturing = true;
    s->invalidated = false;
    s->captured.clear();
    t_capturing.push_back(s);
    return Success;
}

Error StreamEndCapture(Stream* s, Graph** g) {
    *g = nullptr;
    if (!s || !s->capturing) return fail(ErrorInvalidValue);
    s->capturing = false;
    t_capturing.erase(std::find(t_capturing.begin(), t_capturing.end(), s));
    if (s->invalidated) {
        s->captured.clear();
        return fail(ErrorStreamCaptureInvalidated);
    }
    *g = new Graph{std::move(s->captured)};
    s->captured.clear();
    return Success;
}

Error GraphInstantiate(GraphExec** exec, Graph* g) {
    *exec = new GraphExec{g->nodes};
    return Success;
}

Error GraphLaunch(GraphExec* exec, Stream* s) {
    if (!exec) return fail(ErrorInvalidValue);
    for (const Work& w : exec->nodes) submit(s, w);
    return Success;
}

Error GraphDestroy(Graph* g) {
    delete g;
    return Success;
}

Error GraphExecDestroy(GraphExec* exec) {
    delete exec;
    return Success;
}

Error EventCreate(Event** e) {
    *e = new Event;
    return Success;
}

Error EventDestroy(Event* e) {
    delete e;
    return Success;
}

Error EventRecord(Event* e, Stream* s) {
    submit(s, [e] {
        e->at = std::chrono::steady_clock::now();
        e->recorded = true;
    });
    return Success;
}

Error EventSynchronize(Event* e) {
    if (capture_forbids("an event synchronize")) return fail(ErrorStreamCaptureUnsupported);
    return e && e->recorded ? g_sticky : fail(ErrorInvalidValue);
}

Error EventElapsedTime(float* ms, Event* begin, Event* end) {
    if (!begin || !end || !begin->recorded || !end->recorded) return fail(ErrorInvalidValue);
    *ms = std::chrono::duration<float, std::milli>(end->at - begin->at).count();
    return Success;
}

void launch(const LaunchConfig& c, Stream* s, std::function<void()> body) {
    const uint64_t threads = uint64_t{c.block.x} * c.block.y * c.block.z;
    const bool bad = threads == 0 || threads > 1024 || c.block.z > 64 || c.grid.x == 0 || c.grid.y == 0 ||
                     c.grid.z == 0 || c.grid.x > 0x7fffffffu || c.grid.y > 65535 || c.grid.z > 65535 ||
                     c.shared_bytes > 48 * 1024;  // beyond this a kernel must opt in, which ours do not
    if (bad) {
        std::fprintf(stderr, "gmg simulated GPU: %s launched with grid (%u,%u,%u), block (%u,%u,%u), %zu shared bytes\n",
                     c.name, c.grid.x, c.grid.y, c.grid.z, c.block.x, c.block.y, c.block.z, c.shared_bytes);
        fail(ErrorInvalidConfiguration);
        return;
    }
    submit(s, [c, body = std::move(body)] {
        if (g_sticky != Success) return;  // after a fault a GPU context runs nothing more
        const std::string problem = run_grid(c, body);
        if (!problem.empty()) report_fault(problem);
    });
}

}  // namespace gmg::sim
