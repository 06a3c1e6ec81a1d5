// The simulated device's execution model. A block's threads are fibers with their
// own stacks; each runs until it reaches a barrier, a warp operation or
// its end, and the scheduler releases a barrier once every thread it waits for has
// arrived. Blocks run one after another on the calling host thread.
//
// GMG_SIM_ORDER=reverse runs threads and blocks last to first, so that a missing
// barrier shows whichever way the data flows between threads, and a kernel that
// relies on its blocks' order is caught.
#include "kernels/gpu/sim/sim_scheduler.h"

#include "kernels/common/env_flag.h"

#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

// ---- fibers: a saved stack pointer and a switch (x86-64), or ucontext elsewhere --------
// glibc's swapcontext also saves the signal mask, a system call per switch; the
// kernels switch at every shuffle, so on x86-64 the switch is these few instructions:
// the callee-saved registers and the FP control words pushed, the stack pointers swapped.
#if defined(__x86_64__)
extern "C" void gmg_sim_switch(void** save_sp, void* load_sp);
asm(R"(
    .text
    .globl gmg_sim_switch
    .type gmg_sim_switch, @function
gmg_sim_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size gmg_sim_switch, .-gmg_sim_switch
    .section .note.GNU-stack,"",@progbits
    .text
)");

struct Context {
    void* sp = nullptr;
    const void* stack_bottom = nullptr;  // for AddressSanitizer's fiber annotations
    size_t stack_size = 0;
    void* fake_stack = nullptr;
};
inline void raw_switch(Context* from, Context* to) { gmg_sim_switch(&from->sp, to->sp); }
// A stack whose first switch "returns" into entry as if entry had been called.
inline void start_context(Context* c, char* stack, size_t bytes, void (*entry)()) {
    auto* top = reinterpret_cast<uint64_t*>(reinterpret_cast<uintptr_t>(stack + bytes) & ~uintptr_t{15});
    *--top = 0;                                      // entry's return address: it never returns
    *--top = reinterpret_cast<uint64_t>(entry);      // popped by the switch's ret
    for (int i = 0; i < 6; ++i) *--top = 0;          // rbp rbx r12 r13 r14 r15
    uint32_t control[2];
    asm volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(control[0]), "=m"(control[1]));
    --top;
    std::memcpy(top, control, sizeof control);
    c->sp = top;
    c->stack_bottom = stack;
    c->stack_size = bytes;
}
#else
struct Context {
    ucontext_t uc;
    const void* stack_bottom = nullptr;
    size_t stack_size = 0;
    void* fake_stack = nullptr;
};
inline void raw_switch(Context* from, Context* to) { swapcontext(&from->uc, &to->uc); }
inline void start_context(Context* c, char* stack, size_t bytes, void (*entry)()) {
    getcontext(&c->uc);
    c->uc.uc_stack.ss_sp = stack;
    c->uc.uc_stack.ss_size = bytes;
    c->uc.uc_link = nullptr;
    makecontext(&c->uc, entry, 0);
    c->stack_bottom = stack;
    c->stack_size = bytes;
}
#endif

// Under AddressSanitizer every switch is announced, so that it tracks which stack is
// live (and the kernels' device-memory accesses are checked like any heap access).
#if defined(__SANITIZE_ADDRESS__)
#define GMG_SIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GMG_SIM_ASAN 1
#endif
#endif
#if defined(GMG_SIM_ASAN)
#include <pthread.h>
#include <sanitizer/common_interface_defs.h>
#endif

// `from_exits`: the fiber switched away from is never resumed.
inline void switch_context(Context* from, Context* to, bool from_exits = false) {
#if defined(GMG_SIM_ASAN)
    __sanitizer_start_switch_fiber(from_exits ? nullptr : &from->fake_stack, to->stack_bottom, to->stack_size);
#else
    static_cast<void>(from_exits);
#endif
    raw_switch(from, to);
#if defined(GMG_SIM_ASAN)
    __sanitizer_finish_switch_fiber(from->fake_stack, nullptr, nullptr);
#endif
}
inline void entered_fiber() {
#if defined(GMG_SIM_ASAN)
    __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
}
// The scheduler runs on the host thread's own stack.
inline void set_thread_stack(Context* c) {
#if defined(GMG_SIM_ASAN)
    pthread_attr_t attr;
    void* addr = nullptr;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, &addr, &size);
        pthread_attr_destroy(&attr);
    }
    c->stack_bottom = addr;
    c->stack_size = size;
#else
    static_cast<void>(c);
#endif
}

namespace gmg::sim {
namespace {

constexpr size_t kStackBytes = 32 * 1024;
constexpr int kMaxThreads = 1024;

enum class State { ready, at_block, at_warp, done };

struct Fiber {
    Context context;
    State state = State::done;
    ThreadCoords coords{};
    int linear = 0, warp = 0, lane = 0;
    unsigned warp_ops = 0;  // warp operations so far: the lanes of a warp must agree
};

// The simulated SM. One grid runs at a time (run_grid holds a lock), as if the
// device ran one kernel at a time: so plain globals serve, with no thread-local
// lookups on the paths every shuffle takes.
struct Sm {
    std::vector<Fiber> fibers;
    char* stack_region = nullptr;  // kMaxThreads stacks of kStackBytes
    Context scheduler;
    Fiber* current = nullptr;
    const std::function<void()>* body = nullptr;
    struct Slot {
        uint64_t bits;
        unsigned op;  // the depositing lane's warp operation
    };
    std::vector<Slot> slots[2];  // shuffle values, alternating between consecutive operations
    std::unique_ptr<unsigned char[]> dynamic;  // exactly the launch's bytes, so ASan bounds it
    size_t dynamic_bytes = 0;
    std::vector<WarpShare> shares;  // one per warp
    std::string fault;
    int threads = 0;
};
Sm g_sm;
std::mutex g_sm_mutex;
int g_warp = 32;  // configured_warp_size(), read once per grid

bool reverse_order() {
    static const bool reverse = env_is("GMG_SIM_ORDER", "reverse");
    return reverse;
}

[[noreturn]] void outside_kernel(const char* what) {
    std::fprintf(stderr, "gmg simulated GPU: %s called outside a kernel\n", what);
    std::abort();
}

Fiber& current(const char* what) {
    if (!g_sm.current) outside_kernel(what);
    return *g_sm.current;
}

// The next lane of f's warp to run: a ready one after f (in the run order), else,
// when every live lane of the warp waits at a warp operation, all of them released
// (the first in order runs). Null when the warp can do nothing more by itself: its
// lanes are at __syncthreads or done (or stuck between the two: the scheduler
// reports that). Lanes of one warp hand over to each other directly, so a shuffle
// costs a switch per lane and touches only its warp's stacks.
Fiber* next_in_warp(const Fiber& f) {
    const int W = g_warp;
    const int w0 = f.warp * W, end = std::min(g_sm.threads, w0 + W), n = end - w0;
    const bool reverse = reverse_order();
    const int me = f.linear - w0;
    for (int k = 1; k <= n; ++k) {
        const int i = reverse ? (me - k + 2 * n) % n : (me + k) % n;
        if (g_sm.fibers[static_cast<size_t>(w0 + i)].state == State::ready) return &g_sm.fibers[static_cast<size_t>(w0 + i)];
    }
    Fiber* first = nullptr;
    unsigned ops = 0;
    for (int k = 0; k < n; ++k) {
        Fiber& l = g_sm.fibers[static_cast<size_t>(w0 + (reverse ? n - 1 - k : k))];
        if (l.state == State::done) continue;
        if (l.state != State::at_warp) return nullptr;
        if (!first) first = &l, ops = l.warp_ops;
        if (l.warp_ops != ops) return nullptr;  // lanes at different operations: the scheduler reports it
    }
    for (int k = 0; k < n; ++k)
        if (g_sm.fibers[static_cast<size_t>(w0 + k)].state == State::at_warp)
            g_sm.fibers[static_cast<size_t>(w0 + k)].state = State::ready;
    return first;
}

// Leaves f (in state s) for the next lane of its warp, or the scheduler.
void yield(Fiber& f, State s) {
    f.state = s;
    Fiber* next = s == State::done && !g_sm.fault.empty() ? nullptr : next_in_warp(f);
    if (next == &f) return;  // the warp's only live lane: its own warp operation is complete
    g_sm.current = next;
    switch_context(&f.context, next ? &next->context : &g_sm.scheduler, s == State::done);
}

// Ends the whole launch: the scheduler sees the fault and never resumes a fiber.
[[noreturn]] void fault(Fiber& f, const std::string& message) {
    if (g_sm.fault.empty()) g_sm.fault = message;
    yield(f, State::done);
    std::abort();  // never resumed
}

void fiber_entry() {
    entered_fiber();
    (*g_sm.body)();
    yield(*g_sm.current, State::done);
    std::abort();  // never resumed
}

// The block's stacks, one region of kMaxThreads. A canary word at the bottom of each
// stack catches an overflow.
constexpr uint64_t kCanary = 0x5eed5eed5eed5eedull;
char* stacks_base() {
    if (!g_sm.stack_region) {
        const size_t bytes = kStackBytes * kMaxThreads;
        void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            std::fprintf(stderr, "gmg simulated GPU: cannot map the thread stacks\n");
            std::abort();
        }
        g_sm.stack_region = static_cast<char*>(p);
    }
    return g_sm.stack_region;
}
char* stack_for(int i) {
    char* stack = stacks_base() + kStackBytes * static_cast<size_t>(i);
    std::memcpy(stack, &kCanary, sizeof kCanary);
    return stack;
}
bool stack_intact(int i) {
    uint64_t v;
    std::memcpy(&v, stacks_base() + kStackBytes * static_cast<size_t>(i), sizeof v);
    return v == kCanary;
}

std::string describe(const Fiber& f) {
    return "thread (" + std::to_string(f.coords.thread_idx.x) + "," + std::to_string(f.coords.thread_idx.y) + "," +
           std::to_string(f.coords.thread_idx.z) + ")";
}

// After every warp has stopped: releases __syncthreads when all live threads wait
// there. Otherwise the block is stuck (a barrier some threads never reach, or lanes
// of a warp at different warp operations), which no GPU defines: *problem says how.
bool release_block(std::string* problem) {
    const int W = g_warp;
    const Fiber *at_block = nullptr, *at_warp = nullptr;  // the first waiting at each kind
    bool live = false;
    for (int i = 0; i < g_sm.threads; ++i) {
        const Fiber& f = g_sm.fibers[static_cast<size_t>(i)];
        if (f.state == State::done) continue;
        live = true;
        if (f.state == State::at_block && !at_block) at_block = &f;
        if (f.state == State::at_warp && !at_warp) at_warp = &f;
    }
    if (!live) return false;
    if (!at_warp) {
        for (int i = 0; i < g_sm.threads; ++i)
            if (g_sm.fibers[static_cast<size_t>(i)].state == State::at_block)
                g_sm.fibers[static_cast<size_t>(i)].state = State::ready;
        return true;
    }
    for (int w0 = 0; w0 < g_sm.threads; w0 += W) {
        const int end = std::min(g_sm.threads, w0 + W);
        unsigned ops = ~0u;
        for (int i = w0; i < end; ++i) {
            const Fiber& f = g_sm.fibers[static_cast<size_t>(i)];
            if (f.state != State::at_warp) continue;
            if (ops != ~0u && f.warp_ops != ops) {
                *problem = "the lanes of warp " + std::to_string(w0 / W) +
                           " are at different warp operations (a shuffle or __syncwarp inside divergent code)";
                return false;
            }
            ops = f.warp_ops;
        }
    }
    *problem = "deadlock: " + (at_block ? describe(*at_block) : std::string("no thread")) +
               " waits at __syncthreads while " + describe(*at_warp) +
               " waits at a warp operation the rest of its warp never reaches";
    return false;
}

std::string run_block(const LaunchConfig& c, uint3 block) {
    const int W = g_warp;
    const dim3 bd = c.block;
    g_sm.threads = static_cast<int>(bd.x * bd.y * bd.z);
    if (g_sm.fibers.size() < static_cast<size_t>(kMaxThreads)) g_sm.fibers.resize(kMaxThreads);
    for (auto& s : g_sm.slots) s.assign(static_cast<size_t>(g_sm.threads + W), Sm::Slot{0, ~0u});
    g_sm.shares.resize(static_cast<size_t>((g_sm.threads + W - 1) / W));
    for (WarpShare& share : g_sm.shares) share.op = ~0u;
    if (g_sm.dynamic) std::memset(g_sm.dynamic.get(), 0xff, g_sm.dynamic_bytes);  // unwritten shared memory reads NaN
    for (int i = 0; i < g_sm.threads; ++i) {
        Fiber& f = g_sm.fibers[static_cast<size_t>(i)];
        f.linear = i;
        f.warp = i / W;
        f.lane = i % W;
        f.warp_ops = 0;
        f.coords.thread_idx = uint3{static_cast<unsigned>(i) % bd.x, static_cast<unsigned>(i) / bd.x % bd.y,
                                    static_cast<unsigned>(i) / (bd.x * bd.y)};
        f.coords.block_idx = block;
        f.coords.block_dim = bd;
        f.coords.grid_dim = c.grid;
        start_context(&f.context, stack_for(i), kStackBytes, fiber_entry);
        f.state = State::ready;
    }
    const bool reverse = reverse_order();
    const int warps = (g_sm.threads + W - 1) / W;
    for (;;) {
        // Each warp runs until its lanes are all at __syncthreads or done.
        for (int k = 0; k < warps; ++k) {
            const int w0 = (reverse ? warps - 1 - k : k) * W, end = std::min(g_sm.threads, w0 + W);
            for (int j = 0; j < end - w0; ++j) {
                Fiber& f = g_sm.fibers[static_cast<size_t>(reverse ? end - 1 - j : w0 + j)];
                if (f.state != State::ready) continue;
                g_sm.current = &f;
                switch_context(&g_sm.scheduler, &f.context);
                g_sm.current = nullptr;
                if (!g_sm.fault.empty()) return g_sm.fault;
                break;  // the warp has stopped
            }
        }
        std::string problem;
        const bool more = release_block(&problem);
        for (int i = 0; i < g_sm.threads; ++i)
            if (!stack_intact(i)) return describe(g_sm.fibers[static_cast<size_t>(i)]) + " overflowed its stack";
        if (!more) return problem;  // empty when every thread is done
    }
}

}  // namespace

int configured_warp_size() {
    static const int w = [] {
        const char* v = std::getenv("GMG_SIM_WARP");
        const int n = v ? std::atoi(v) : 32;
        if (n != 32 && n != 64) {
            std::fprintf(stderr, "gmg simulated GPU: GMG_SIM_WARP must be 32 or 64\n");
            std::exit(2);
        }
        return n;
    }();
    return w;
}

std::string run_grid(const LaunchConfig& c, const std::function<void()>& body) {
    // (A flag of this thread's: another host thread's grid may be running.)
    thread_local bool in_kernel = false;
    if (in_kernel) return "a kernel launched from inside a kernel";
    std::lock_guard<std::mutex> lock(g_sm_mutex);
    in_kernel = true;
    struct Leave {
        bool& flag;
        ~Leave() { flag = false; }
    } leave{in_kernel};
    g_warp = configured_warp_size();
    set_thread_stack(&g_sm.scheduler);
    g_sm.body = &body;
    g_sm.fault.clear();
    g_sm.dynamic_bytes = c.shared_bytes;
    g_sm.dynamic.reset(c.shared_bytes ? new unsigned char[c.shared_bytes] : nullptr);
    const uint64_t blocks = uint64_t{c.grid.x} * c.grid.y * c.grid.z;
    const bool reverse = reverse_order();
    for (uint64_t k = 0; k < blocks; ++k) {
        const uint64_t b = reverse ? blocks - 1 - k : k;
        const uint3 idx{static_cast<unsigned>(b % c.grid.x), static_cast<unsigned>(b / c.grid.x % c.grid.y),
                        static_cast<unsigned>(b / (uint64_t{c.grid.x} * c.grid.y))};
        std::string problem = run_block(c, idx);
        if (!problem.empty()) {
            g_sm.body = nullptr;
            return std::string(c.name) + ", block (" + std::to_string(idx.x) + "," + std::to_string(idx.y) + "," +
                   std::to_string(idx.z) + "): " + problem;
        }
    }
    g_sm.body = nullptr;
    return {};
}

const ThreadCoords& coords() { return current("threadIdx/blockIdx").coords; }
int warp_size() { return g_warp; }
int lane_id() { return current("a lane id").lane; }
void* dynamic_shared() {
    current("extern __shared__");
    return g_sm.dynamic.get();  // null when the launch gave none
}

WarpShare& warp_share() { return g_sm.shares[static_cast<size_t>(current("wmma").warp)]; }
unsigned warp_op() { return current("wmma").warp_ops; }
void device_fault(const char* what) {
    Fiber& f = current("a device fault");
    fault(f, describe(f) + ": " + what);
}

void sync_block() { yield(current("__syncthreads"), State::at_block); }

void sync_warp() {
    Fiber& f = current("__syncwarp");
    ++f.warp_ops;
    yield(f, State::at_warp);
}

uint64_t shuffle_xor_bits(uint64_t bits, int lane_mask, int width) {
    Fiber& f = current("__shfl_xor_sync");
    const int W = g_warp;
    if (width <= 0 || width > W || (width & (width - 1)) != 0)
        fault(f, "a shuffle of width " + std::to_string(width) + " on a warp of " + std::to_string(W));
    const unsigned op = f.warp_ops++;
    std::vector<Sm::Slot>& slots = g_sm.slots[op & 1u];
    slots[static_cast<size_t>(f.linear)] = Sm::Slot{bits, op};
    yield(f, State::at_warp);
    // A lane whose partner lies in a later segment of `width` lanes keeps its own value.
    int src = f.lane ^ lane_mask;
    if (src >= (f.lane / width + 1) * width) src = f.lane;
    const int src_linear = f.warp * W + src;
    if (src_linear >= g_sm.threads || slots[static_cast<size_t>(src_linear)].op != op)
        fault(f, describe(f) + " shuffles with lane " + std::to_string(src) + ", which has exited or does not exist");
    return slots[static_cast<size_t>(src_linear)].bits;
}

}  // namespace gmg::sim
