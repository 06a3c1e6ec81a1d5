// Prompt matmuls on the tensor cores (CUDA, sm_70+): each block decodes a 64-row
// by 32-column tile of weights to f16 in shared memory (group_decode.h, so every
// integer format is covered; F16/BF16 converted), stages 64 activation rows as
// f16 beside it, and four warps multiply them with WMMA (16x16x16, f32
// accumulators), 32x32 outputs per warp. The weights are decoded once per 64
// prompt tokens instead of once per 8 as on the dp4a path.
//
// Gemma3's activations can exceed f16's range (its large norm weights), so each
// activation row is divided by a power of two (exact) that brings its largest
// value under 2^14, and its outputs multiplied back. The result is the dot product
// of f16-rounded weights and scaled f16-rounded activations, which the tests check
// against that oracle. HIP builds have no WMMA here: has_tensor_matmul() is false
// and prompts take the dp4a kernels.
#include "kernels/gpu/device_common.cuh"
#include "kernels/common/group_decode.h"

namespace gmg::gpu {

#if GMG_HAS_WMMA
namespace {

constexpr int kTile = 64;        // weight rows and activation rows per block
constexpr int kTileK = 32;       // one group of every format
constexpr int kLd = kTileK + 8;  // shared row stride: a multiple of 8 elements; fragments start 32-byte aligned
constexpr int kThreads = 128;    // four warps of 32 (NVIDIA only)

// One block per activation row: scale = the power of two that brings max |x| under
// 2^14 (1 when it already is), then x / scale as f16.
__global__ void to_f16_kernel(const float* x, int64_t k, f16* y, float* scale) {
    __shared__ float scratch[kMaxWarpsPerBlock];
    const float* xr = x + blockIdx.x * k;
    float amax = 0.0f;
    for (int64_t i = threadIdx.x; i < k; i += blockDim.x) amax = fmaxf(amax, fabsf(xr[i]));
    amax = block_max(amax, scratch);
    int e = 0;
    if (amax > 16384.0f) frexpf(amax / 16384.0f, &e);  // amax / 2^e <= 16384 (amax may be inf: e stays small, NaN shows)
    const float s = ldexpf(1.0f, e), inv = ldexpf(1.0f, -e);
    if (threadIdx.x == 0) scale[blockIdx.x] = s;
    for (int64_t i = threadIdx.x; i < k; i += blockDim.x) y[blockIdx.x * k + i] = __float2half_rn(xr[i] * inv);
}

template <GgmlType T>
__device__ inline void decode_row_group(const uint8_t* wrow, int64_t gi, const GridTables& tables, f16* dst) {
    if constexpr (T == GgmlType::F16 || T == GgmlType::BF16) {
        for (int e = 0; e < 32; ++e) {
            const uint16_t bits = reinterpret_cast<const uint16_t*>(wrow)[32 * gi + e];
            dst[e] = __float2half_rn(T == GgmlType::F16 ? f16_to_f32(bits) : bf16_to_f32(bits));
        }
    } else {
        using F = Format<T>;
        constexpr int kGroups = F::kElems / 32;
        QGroup g;
        F::decode(wrow + (gi / kGroups) * F::kBytes, static_cast<int>(gi % kGroups), tables, g);
        for (int e = 0; e < 32; ++e) {
            const int q = static_cast<int8_t>((static_cast<uint32_t>(g.q[e / 4]) >> (8 * (e % 4))) & 255u);
            // The value group_decode.h defines: d * (q - off) - m, rounded once to f16.
            const float v = __fsub_rn(__fmul_rn(g.d[e / 16], static_cast<float>(q - g.off)), g.m[e / 16]);
            dst[e] = __float2half_rn(v);
        }
    }
}

// y[c * ldy + r] = scale[c] * (W[r] . x[c]) over a 64 x 64 tile of (weight rows r, activation rows c).
template <GgmlType T>
__global__ void __launch_bounds__(kThreads) matmul_tensor_kernel(const uint8_t* w, size_t row_bytes, int64_t rows,
                                                                 int64_t k, const f16* x, const float* scale,
                                                                 int64_t n, float* y, int64_t ldy, GridTables tables) {
#if GMG_WMMA_DEVICE_CODE
    __shared__ __align__(32) f16 sa[kTile * kLd];  // activations: [c][k]
    __shared__ __align__(32) f16 sb[kTile * kLd];  // weights: [r][k]
    __shared__ __align__(32) float stage[kThreads / 32][16 * 16];
    const int64_t r0 = static_cast<int64_t>(blockIdx.x) * kTile, c0 = static_cast<int64_t>(blockIdx.y) * kTile;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int wr = warp % 2, wc = warp / 2;  // this warp's 32 x 32 quarter: rows wr*32.., activations wc*32..

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

    const f16 zero = __float2half_rn(0.0f);
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
            wmma::fragment<wmma::matrix_a, 16, 16, 16, f16, wmma::row_major> a[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, f16, wmma::col_major> b[2];
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
                if (c < n && r < rows) y[c * ldy + r] = stage[warp][e] * scale[c];
            }
            __syncwarp();
        }
    }
#endif
}

}  // namespace

// F32 weights would lose most of their bits in f16: they keep the float kernels.
bool has_tensor_matmul(const Stream& s, GgmlType type) {
    return s.compute_major() >= 7 && s.warp_size() == 32 && type != GgmlType::F32 && has_matmul(type);
}

// n * k f16 values, then n float scales (k is a multiple of 32: the scales stay aligned).
size_t tensor_activation_bytes(int64_t n, int64_t k) {
    return static_cast<size_t>(n * k) * sizeof(f16) + static_cast<size_t>(n) * sizeof(float);
}

static const float* tensor_scales(const void* d_x, int64_t n, int64_t k) {
    return reinterpret_cast<const float*>(static_cast<const f16*>(d_x) + n * k);
}

void to_tensor_activations(Stream& s, const float* d_x, int64_t n, int64_t k, void* d_out) {
    if (n <= 0 || k <= 0) return;
    if (k % kTileK != 0) return s.fail("to_tensor_activations: the row length is not a multiple of 32");
    GMG_LAUNCH(static_cast<unsigned>(n), 256, 0, native(s), to_f16_kernel)(d_x, k, static_cast<f16*>(d_out),
                                                                 const_cast<float*>(tensor_scales(d_out, n, k)));
    check_launch(s, "to_tensor_activations");
}

void matmul_tensor(Stream& s, const DeviceWeight& w, const void* d_x, int64_t n, float* d_y, int64_t ldy) {
    if (!has_tensor_matmul(s, w.type))
        return s.fail(std::string("no tensor-core matmul for ") + std::string(traits_of(w.type).name) + " on this GPU");
    if (w.cols % kTileK != 0) return s.fail("matmul_tensor: the row length is not a multiple of 32");
    if (n <= 0 || w.rows == 0) return;
    if ((n + kTile - 1) / kTile > 65535) return s.fail("matmul_tensor: too many activation rows");
    const dim3 grid(blocks_for(w.rows, kTile), static_cast<unsigned>((n + kTile - 1) / kTile));
    const GridTables tables = *static_cast<const GridTables*>(s.tables());
    const auto* data = static_cast<const uint8_t*>(w.d_data);
    const auto* x = static_cast<const f16*>(d_x);
    const float* scale = tensor_scales(d_x, n, w.cols);
    auto launch = [&](auto tag) {
        GMG_LAUNCH(grid, kThreads, 0, native(s), matmul_tensor_kernel<decltype(tag)::value>)(data, w.row_bytes, w.rows, w.cols, x,
                                                                                     scale, n, d_y, ldy, tables);
    };
    switch (w.type) {
        case GgmlType::F16: launch(TypeTag<GgmlType::F16>{}); break;
        case GgmlType::BF16: launch(TypeTag<GgmlType::BF16>{}); break;
        default: visit_format(w.type, launch);
    }
    check_launch(s, "matmul_tensor");
}

#else  // HIP: no tensor-core path (yet)

bool has_tensor_matmul(const Stream&, GgmlType) { return false; }
size_t tensor_activation_bytes(int64_t, int64_t) { return 0; }
void to_tensor_activations(Stream& s, const float*, int64_t, int64_t, void*) { s.fail("no tensor-core matmul in HIP builds"); }
void matmul_tensor(Stream& s, const DeviceWeight&, const void*, int64_t, float*, int64_t) {
    s.fail("no tensor-core matmul in HIP builds");
}

#endif

}  // namespace gmg::gpu
