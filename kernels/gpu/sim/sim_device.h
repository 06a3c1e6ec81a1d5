// What kernel code sees when kernels/gpu/*.cu are compiled as plain C++ for the
// simulated device (GMG_GPU_SIM): CUDA's qualifiers, built-in indices, warp and
// block primitives, the few intrinsics the kernels use, nvcuda::wmma's f16
// tiles and the integer mma.m16n8k16. Every GPU thread runs as a fiber (sim_scheduler.cpp), so barriers,
// shuffles and shared memory behave as the programming model says, and the
// simulator reports what a GPU would leave undefined: lanes of a warp at
// different shuffles, a barrier some threads never reach, a shuffle that reads an
// exited lane. Nothing here is fast; it is there so the device code itself, not a
// re-implementation of it, runs in the tests of a machine without a GPU.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "kernels/common/half.h"
#include "kernels/gpu/sim/sim_runtime.h"

// ---- qualifiers: plain C++ on the host ------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// One block runs at a time (sim_scheduler.cpp), so a function's statics are its
// block's shared memory. (Static shared memory is not poisoned between blocks; dynamic is.)
#define __shared__ static

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 {
    unsigned x, y, z;
};
struct alignas(16) int4 {
    int x, y, z, w;
};
struct alignas(16) uint4 {
    unsigned x, y, z, w;
};
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return uint4{x, y, z, w}; }

namespace gmg::sim {

// The running GPU thread's coordinates.
struct ThreadCoords {
    uint3 thread_idx, block_idx;
    dim3 block_dim, grid_dim;
};
const ThreadCoords& coords();
int warp_size();
int lane_id();  // the running thread's lane in its warp
void* dynamic_shared();

// What the first lane of a warp to reach a collective leaves for the others: its
// inputs (so that a lane passing different ones is caught) and its result.
struct WarpShare {
    unsigned op = ~0u;  // the warp operation it belongs to
    float inputs[3 * 256];
    float result[256];
    int32_t mma_regs[32][3];  // mma_s8_16x8x16: each lane's a0, a1 and b
};
WarpShare& warp_share();
unsigned warp_op();  // the calling lane's count of warp operations
[[noreturn]] void device_fault(const char* what);

void sync_block();                                           // __syncthreads
void sync_warp();                                            // __syncwarp and the wmma collectives
uint64_t shuffle_xor_bits(uint64_t bits, int lane_mask, int width);  // a warp exchange

template <class T>
T shuffle_xor(T v, int lane_mask, int width) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "a shuffle moves at most 64 bits");
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof v);
    bits = shuffle_xor_bits(bits, lane_mask, width);
    T out;
    std::memcpy(&out, &bits, sizeof out);
    return out;
}

// ---- kernel launches ----------------------------------------------------------------
struct LaunchConfig {
    dim3 grid, block;
    size_t shared_bytes = 0;
    const char* name = "";
};
// Checks the configuration as a GPU would (a bad one sets the last error, as
// cudaGetLastError reports it) and queues every thread of the grid running `body`.
void launch(const LaunchConfig& config, Stream* stream, std::function<void()> body);

template <class... P>
struct Launcher {
    LaunchConfig config;
    Stream* stream;
    void (*kernel)(P...);
    template <class... A>
    void operator()(A&&... args) const {
        static_assert(sizeof...(A) == sizeof...(P), "kernel argument count");
        // Arguments are copied at the launch, as a GPU copies them into its parameter space.
        std::tuple<std::decay_t<P>...> params(std::forward<A>(args)...);
        auto* k = kernel;
        launch(config, stream, [k, params]() { std::apply(k, params); });
    }
};
template <class... P>
Launcher<P...> launcher(dim3 grid, dim3 block, size_t shared, Stream* stream, const char* name, void (*kernel)(P...)) {
    return Launcher<P...>{LaunchConfig{grid, block, shared, name}, stream, kernel};
}

// ---- f16, and nvcuda::wmma's 16 x 16 x 16 tiles -------------------------------------
struct half {
    uint16_t bits;
};

namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

// Each lane holds the whole tile (rows x cols, row-major): the collectives below
// give every lane the same result, so code that uses fragments only through this
// API (as it must: the per-lane layout is unspecified) sees CUDA's values.
template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
    static constexpr int rows = std::is_same_v<Use, matrix_b> ? K : M;
    static constexpr int cols = std::is_same_v<Use, matrix_a> ? K : N;
    static constexpr int num_elements = rows * cols;
    T x[num_elements];
};

inline float value_of(float v) { return v; }
inline float value_of(half h) { return ::gmg::f16_to_f32(h.bits); }

template <class Use, int M, int N, int K, class T, class Layout>
void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, float v) {
    for (T& e : f.x) e = v;
}
template <class Use, int M, int N, int K, class Layout>
void fill_fragment(fragment<Use, M, N, K, half, Layout>& f, float v) {
    for (half& e : f.x) e = half{::gmg::f32_to_f16(v)};
}

template <class Use, int M, int N, int K, class T, class Layout>
void load_matrix_sync(fragment<Use, M, N, K, T, Layout>& f, const T* p, unsigned ldm) {
    using F = fragment<Use, M, N, K, T, Layout>;
    sync_warp();
    for (int r = 0; r < F::rows; ++r)
        for (int c = 0; c < F::cols; ++c)
            f.x[r * F::cols + c] = std::is_same_v<Layout, col_major> ? p[c * ldm + r] : p[r * ldm + c];
}

// Each lane stores its share of the tile, as on a GPU, where a lane's registers hold
// part of it; so a lane that reads the tile without a __syncwarp after the store
// finds other lanes' parts not yet written. The share is the f32 accumulator layout
// of sm_80's mma.m16n8k16 (PTX ISA, "Matrix fragments for mma.m16n8k16"): lane
// 4g + t holds rows g and g + 8, columns 2t, 2t + 1, 2t + 8 and 2t + 9.
inline int accumulator_owner(int r, int c) { return (r % 8) * 4 + (c % 8) / 2; }

template <int M, int N, int K, class T>
void store_matrix_sync(T* p, const fragment<accumulator, M, N, K, T>& f, unsigned ldm, layout_t layout) {
    static_assert(M == 16 && N == 16, "the 16 x 16 accumulator layout");
    sync_warp();
    const int lane = lane_id();
    for (int r = 0; r < M; ++r)
        for (int c = 0; c < N; ++c)
            if (accumulator_owner(r, c) == lane) (layout == mem_row_major ? p[r * ldm + c] : p[c * ldm + r]) = f.x[r * N + c];
}

// d = a b + c: f16 products are exact in float; summed in k order, then added to c.
// The warp's first lane computes it; the others check that they hold the same
// fragments and take its result.
template <int M, int N, int K, class T, class LA, class LB>
void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, T, LA>& a,
              const fragment<matrix_b, M, N, K, T, LB>& b, const fragment<accumulator, M, N, K, float>& c) {
    static_assert(M * K <= 256 && K * N <= 256 && M * N <= 256, "a WarpShare holds 16 x 16 tiles");
    sync_warp();
    float in[M * K + K * N + M * N];
    for (int i = 0; i < M * K; ++i) in[i] = value_of(a.x[i]);
    for (int i = 0; i < K * N; ++i) in[M * K + i] = value_of(b.x[i]);
    std::memcpy(in + M * K + K * N, c.x, sizeof c.x);
    WarpShare& share = warp_share();
    if (share.op == warp_op()) {
        if (std::memcmp(share.inputs, in, sizeof in) != 0) device_fault("the lanes of a warp gave mma_sync different fragments");
        std::memcpy(d.x, share.result, sizeof d.x);
        return;
    }
    const float* A = in;
    const float* B = in + M * K;
    for (int i = 0; i < M; ++i) {
        for (int j = 0; j < N; ++j) {
            float s = 0.0f;
            for (int k = 0; k < K; ++k) s += A[i * K + k] * B[k * N + j];
            share.result[i * N + j] = c.x[i * N + j] + s;
        }
    }
    std::memcpy(share.inputs, in, sizeof in);
    share.op = warp_op();
    std::memcpy(d.x, share.result, sizeof d.x);
}
}  // namespace wmma

// mma.sync.m16n8k16.row.col.s32.s8.s8.s32 (gpu_vendor.cuh gives the fragments) as the
// warp collective it is: every lane leaves its registers, and once the warp has met
// each lane sums its own four outputs from the lanes that the PTX ISA says hold
// the rows and columns they need. A fragment built from the wrong rows or columns
// gives wrong sums here as on a GPU.
inline int8_t fragment_byte(int32_t word, int k) { return static_cast<int8_t>((static_cast<uint32_t>(word) >> (8 * k)) & 255u); }

inline void mma_s8_16x8x16(int (&d)[4], int a0, int a1, int b) {
    if (warp_size() != 32) device_fault("mma.m16n8k16 needs a warp of 32");
    WarpShare& share = warp_share();
    const int lane = lane_id();
    share.mma_regs[lane][0] = a0;
    share.mma_regs[lane][1] = a1;
    share.mma_regs[lane][2] = b;
    sync_warp();
    const int g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; ++i) {
        const int row = g + 8 * (i / 2), col = 2 * t + i % 2;
        int32_t sum = d[i];
        for (int k = 0; k < 16; ++k) {
            const int a = fragment_byte(share.mma_regs[(row % 8) * 4 + k / 4][row / 8], k % 4);  // A[row][k]
            const int bv = fragment_byte(share.mma_regs[col * 4 + k / 4][2], k % 4);             // B[k][col]
            sum += a * bv;
        }
        d[i] = sum;
    }
    sync_warp();  // all have read the registers before a lane leaves its next ones
}

}  // namespace gmg::sim

// ---- the built-in variables and intrinsics the kernels use -------------------------------
#define threadIdx (::gmg::sim::coords().thread_idx)
#define blockIdx (::gmg::sim::coords().block_idx)
#define blockDim (::gmg::sim::coords().block_dim)
#define gridDim (::gmg::sim::coords().grid_dim)
// An object, not a macro: device.cu also reads a DeviceProp's warpSize member.
struct GmgSimWarpSize {
    operator int() const { return ::gmg::sim::warp_size(); }
};
inline constexpr GmgSimWarpSize warpSize{};

inline void __syncthreads() { ::gmg::sim::sync_block(); }
inline void __syncwarp(unsigned = 0xffffffffu) { ::gmg::sim::sync_warp(); }
inline void __threadfence() {}  // blocks run one after another: every write is visible
template <class T>
T __shfl_xor_sync(unsigned, T v, int lane_mask, int width = ::gmg::sim::warp_size()) {
    return ::gmg::sim::shuffle_xor(v, lane_mask, width);
}
inline unsigned atomicAdd(unsigned* p, unsigned v) {
    const unsigned old = *p;
    *p = old + v;
    return old;
}
inline unsigned atomicExch(unsigned* p, unsigned v) {
    const unsigned old = *p;
    *p = v;
    return old;
}
inline float __fmul_rn(float a, float b) { return a * b; }  // built with -ffp-contract=off
inline float __fsub_rn(float a, float b) { return a - b; }
inline ::gmg::sim::half __float2half_rn(float v) { return ::gmg::sim::half{::gmg::f32_to_f16(v)}; }
inline float __half2float(::gmg::sim::half h) { return ::gmg::f16_to_f32(h.bits); }
