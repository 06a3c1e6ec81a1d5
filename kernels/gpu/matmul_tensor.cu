// Prompt matmuls on the tensor cores (CUDA, sm_80+): each block decodes a 64-row
// by 32-column tile of weights to bf16 in shared memory (group_decode.h, so every
// integer format is covered; F32/F16/BF16 converted), stages 64 activation rows
// as bf16 beside it, and four warps multiply them with WMMA (16x16x16, f32
// accumulators), 32x32 outputs per warp. The weights are decoded once per 64
// prompt tokens instead of once per 8 as on the dp4a path.
//
// bf16 rather than f16 for the activations: Gemma3's activations can exceed f16's
// range (its large norm weights). Products are exact in f32 and summed there, so the
// result is the dot product of bf16-rounded weights and activations, which the
// tests check against that oracle. HIP builds have no WMMA here: has_tensor_matmul()
// says false and prompts take the dp4a kernels.
#include "kernels/gpu/device_common.cuh"
#include "kernels/gpu/group_decode.h"

#if !defined(__HIPCC__) && !defined(GMG_USE_HIP)
#define GMG_TENSOR_MATMUL 1
#include <cuda_bf16.h>
#include <mma.h>
#endif

namespace gmg::gpu {

#if GMG_TENSOR_MATMUL
namespace {

namespace wmma = nvcuda::wmma;
using bf16 = __nv_bfloat16;

constexpr int kTile = 64;        // weight rows and activation rows per block
constexpr int kTileK = 32;       // one group of every format
constexpr int kLd = kTileK + 8;  // shared row stride in elements: multiples of 8, rows 32-byte aligned
constexpr int kThreads = 128;    // four warps of 32 (NVIDIA only)

__global__ void to_bf16_kernel(const float* x, bf16* y, int64_t count) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < count) y[i] = __float2bfloat16_rn(x[i]);
}

template <GgmlType T>
__device__ inline void decode_row_group(const uint8_t* wrow, int64_t gi, const GridTables& tables, bf16* dst) {
    if constexpr (T == GgmlType::F32 || T == GgmlType::F16 || T == GgmlType::BF16) {
        for (int e = 0; e < 32; ++e) {
            const int64_t i = 32 * gi + e;
            float v;
            if constexpr (T == GgmlType::F32) v = reinterpret_cast<const float*>(wrow)[i];
            else if constexpr (T == GgmlType::F16) v = f16_to_f32(reinterpret_cast<const uint16_t*>(wrow)[i]);
            else v = bf16_to_f32(reinterpret_cast<const uint16_t*>(wrow)[i]);
            dst[e] = __float2bfloat16_rn(v);
        }
    } else {
        using F = Format<T>;
        constexpr int kGroups = F::kElems / 32;
        QGroup g;
        F::decode(wrow + (gi / kGroups) * F::kBytes, static_cast<int>(gi % kGroups), tables, g);
        for (int e = 0; e < 32; ++e) {
            const int q = static_cast<int8_t>((static_cast<uint32_t>(g.q[e / 4]) >> (8 * (e % 4))) & 255u);
            // The value group_decode.h defines: d * (q - off) - m, rounded once to bf16.
            const float v = __fsub_rn(__fmul_rn(g.d[e / 16], static_cast<float>(q - g.off)), g.m[e / 16]);
            dst[e] = __float2bfloat16_rn(v);
        }
    }
}

// y[c * ldy + r] = W[r] . x[c] over a 64 x 64 tile of (weight rows r, activation rows c).
template <GgmlType T>
__global__ void __launch_bounds__(kThreads) matmul_tensor_kernel(const uint8_t* w, size_t row_bytes, int64_t rows,
                                                                 int64_t k, const bf16* x, int64_t n, float* y,
                                                                 int64_t ldy, GridTables tables) {
    __shared__ __align__(32) bf16 sa[kTile * kLd];  // activations: [c][k]
    __shared__ __align__(32) bf16 sb[kTile * kLd];  // weights: [r][k]
    __shared__ __align__(32) float stage[kThreads / 32][16 * 16];
    const int64_t r0 = static_cast<int64_t>(blockIdx.x) * kTile, c0 = static_cast<int64_t>(blockIdx.y) * kTile;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int wr = warp % 2, wc = warp / 2;  // this warp's 32 x 32 quarter: rows wr*32.., activations wc*32..

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

    const bf16 zero = __float2bfloat16_rn(0.0f);
    for (int64_t k0 = 0; k0 < k; k0 += kTileK) {
        for (int i = threadIdx.x; i < kTile * kTileK; i += kThreads) {
            const int c = i / kTileK, e = i % kTileK;
            sa[c * kLd + e] = c0 + c < n ? x[(c0 + c) * k + k0 + e] : zero;
        }
        for (int rr = threadIdx.x; rr < kTile; rr += kThreads) {
            if (r0 + rr < rows) {
                decode_row_group<T>(w + (r0 + rr) * row_bytes, k0 / kTileK, tables, sb + rr * kLd);
            } else {
                for (int e = 0; e < kTileK; ++e) sb[rr * kLd + e] = zero;
            }
        }
        __syncthreads();
        for (int kk = 0; kk < kTileK; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> a[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> b[2];
            for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(a[i], sa + (wc * 32 + i * 16) * kLd + kk, kLd);
            for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], sb + (wr * 32 + j * 16) * kLd + kk, kLd);
            for (int i = 0; i < 2; ++i)
                for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }
    // acc[i][j]: activation rows c0 + wc*32 + i*16 + (0..15) by weight rows r0 + wr*32 + j*16 + (0..15).
    for (int i = 0; i < 2; ++i) {
        for (int j = 0; j < 2; ++j) {
            wmma::store_matrix_sync(stage[warp], acc[i][j], 16, wmma::mem_row_major);
            __syncwarp();
            for (int e = lane; e < 256; e += 32) {
                const int64_t c = c0 + wc * 32 + i * 16 + e / 16, r = r0 + wr * 32 + j * 16 + e % 16;
                if (c < n && r < rows) y[c * ldy + r] = stage[warp][e];
            }
            __syncwarp();
        }
    }
}

}  // namespace

bool has_tensor_matmul(GgmlType type) { return has_matmul(type); }

size_t tensor_activation_bytes(int64_t n, int64_t k) { return static_cast<size_t>(n * k) * sizeof(bf16); }

void to_tensor_activations(Stream& s, const float* d_x, int64_t n, int64_t k, void* d_out) {
    const int64_t count = n * k;
    if (count <= 0) return;
    to_bf16_kernel<<<blocks_for(count, 256), 256, 0, native(s)>>>(d_x, static_cast<bf16*>(d_out), count);
    check_launch(s, "to_tensor_activations");
}

void matmul_tensor(Stream& s, const DeviceWeight& w, const void* d_x, int64_t n, float* d_y, int64_t ldy) {
    if (!has_tensor_matmul(w.type)) return s.fail(std::string("no tensor-core matmul for ") + std::string(traits_of(w.type).name));
    if (s.warp_size() != 32) return s.fail("matmul_tensor: WMMA needs 32-lane warps");
    if (w.cols % kTileK != 0) return s.fail("matmul_tensor: the row length is not a multiple of 32");
    if (n <= 0 || w.rows == 0) return;
    if ((n + kTile - 1) / kTile > 65535) return s.fail("matmul_tensor: too many activation rows");
    const dim3 grid(blocks_for(w.rows, kTile), static_cast<unsigned>((n + kTile - 1) / kTile));
    const GridTables tables = *static_cast<const GridTables*>(s.tables());
    const auto* data = static_cast<const uint8_t*>(w.d_data);
    const auto* x = static_cast<const bf16*>(d_x);
    auto launch = [&](auto tag) {
        matmul_tensor_kernel<decltype(tag)::value><<<grid, kThreads, 0, native(s)>>>(data, w.row_bytes, w.rows, w.cols, x,
                                                                                     n, d_y, ldy, tables);
    };
    switch (w.type) {
        case GgmlType::F32: launch(TypeTag<GgmlType::F32>{}); break;
        case GgmlType::F16: launch(TypeTag<GgmlType::F16>{}); break;
        case GgmlType::BF16: launch(TypeTag<GgmlType::BF16>{}); break;
        default: visit_format(w.type, launch);
    }
    check_launch(s, "matmul_tensor");
}

#else  // HIP: no tensor-core path (yet)

bool has_tensor_matmul(GgmlType) { return false; }
size_t tensor_activation_bytes(int64_t, int64_t) { return 0; }
void to_tensor_activations(Stream& s, const float*, int64_t, int64_t, void*) { s.fail("no tensor-core matmul in HIP builds"); }
void matmul_tensor(Stream& s, const DeviceWeight&, const void*, int64_t, float*, int64_t) {
    s.fail("no tensor-core matmul in HIP builds");
}

#endif

}  // namespace gmg::gpu
