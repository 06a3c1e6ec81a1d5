// Prompt matmuls on the integer tensor cores (CUDA sm_80+, and the simulated
// device): the same quantized activations and group decoders as matmul.cu's dp4a
// kernels, so a product rounds its inputs where the CPU path does, but the
// integer dot products of a 32-element group are mma.m16n8k16 tiles instead of
// dp4a, and each decoded weight group is used for 64 prompt tokens instead of 8.
//
// A block owns 128 weight rows by 64 activation columns. For each 32-element group
// of k: threads 0..127 decode one weight row each (q - off as int8, in the padded
// tile below, with the group's scales and mins), threads 128..255 copy half an
// activation column each (its int8 values, scale and sums); then the 8 warps, each
// 32 rows by 32 columns, multiply the int8 tiles (two k16 halves) and apply the
// group's scales to the s32 results in float: what group_dot does per group, the
// offset already taken out of the weights.
#include "kernels/common/gelu.h"
#include "kernels/common/group_decode.h"
#include "kernels/gpu/device_common.cuh"

namespace gmg::gpu {

#if GMG_HAS_MMA_S8
namespace {

constexpr int kRows = 128;     // weight rows per block
constexpr int kCols = 64;      // activation columns per block
constexpr int kThreads = 256;  // 8 warps of 32: 4 down the rows by 2 across the columns
// Words per tile row: a group's 8 words of int8 and 4 of padding, so that the 32
// lanes of a fragment load (rows g = 0..7, words t = 0..3 of a half) hit 32 banks.
constexpr int kStride = 12;

// Formats whose two 16-element halves of a group always share one scale: their
// halves are summed in the integers before the scale is applied.
template <GgmlType T>
constexpr bool kHalvesShareScale = !(T == GgmlType::NVFP4 || T == GgmlType::Q2_K || T == GgmlType::Q3_K ||
                                     T == GgmlType::Q6_K || T == GgmlType::IQ2_XS || T == GgmlType::IQ2_S ||
                                     T == GgmlType::IQ1_M);
// Formats with a min term taken against the activations' sums (group_dot's m); Q4_1
// and Q5_1 take theirs from Q8_1's stored sum instead (kMinTimesSum).
template <GgmlType T>
constexpr bool kMinTimesActSum = T == GgmlType::Q2_K || T == GgmlType::Q4_K || T == GgmlType::Q5_K;

struct WeightTile {
    int32_t q[kRows * kStride];
    float d[kRows][2];
    float m[kRows][2];
};
struct ActTile {
    int32_t q[kCols * kStride];
    float d[kCols];     // the block scale
    float a[kCols][2];  // sum of q over each half (the min term)
    float s[kCols];     // Q8_1's stored sum (Q4_1/Q5_1)
};

// Row `r` of the tile from weight group gi of wrow (zeros past the last row).
template <GgmlType T>
__device__ inline void load_weight_row(const uint8_t* wrow, bool valid, int64_t gi, const GridTables& tables,
                                       WeightTile& tile, int r) {
    int32_t* dst = tile.q + r * kStride;
    if (!valid) {
        for (int i = 0; i < 8; ++i) dst[i] = 0;
        tile.d[r][0] = tile.d[r][1] = tile.m[r][0] = tile.m[r][1] = 0.0f;
        return;
    }
    using F = Format<T>;
    constexpr int kGroups = F::kElems / 32;
    QGroup g;
    F::decode(wrow + (gi / kGroups) * F::kBytes, static_cast<int>(gi % kGroups), tables, g);
    // q - off fits int8 for every format (0..15 - 8, 0..63 - 32, 0..7 - 4, 0..2 - 1),
    // and sum((q - off) * a) is group_dot's s - off * a exactly.
    for (int i = 0; i < 8; ++i) {
        const uint32_t w = static_cast<uint32_t>(g.q[i]);
        dst[i] = g.off == 0 ? g.q[i]
                            : pack4(sbyte_of(w, 0) - g.off, sbyte_of(w, 1) - g.off, sbyte_of(w, 2) - g.off,
                                    sbyte_of(w, 3) - g.off);
    }
    tile.d[r][0] = g.d[0];
    tile.d[r][1] = g.d[1];
    tile.m[r][0] = g.m[0];
    tile.m[r][1] = g.m[1];
}

// Half `h` of activation column c (zeros past the last column).
__device__ inline void load_act_half(const int8_t* q, const float* scale, const float* sum, int64_t k, int64_t n,
                                     int64_t c0, int64_t gi, ActTile& tile, int c, int h) {
    int32_t* dst = tile.q + c * kStride + 4 * h;
    if (c0 + c >= n) {
        for (int i = 0; i < 4; ++i) dst[i] = 0;
        tile.a[c][h] = 0.0f;
        if (h == 0) tile.d[c] = tile.s[c] = 0.0f;
        return;
    }
    const int4 v = *reinterpret_cast<const int4*>(q + (c0 + c) * k + 32 * gi + 16 * h);
    dst[0] = v.x, dst[1] = v.y, dst[2] = v.z, dst[3] = v.w;
    int total = 0;
    total = dot4(0x01010101, v.x, total);
    total = dot4(0x01010101, v.y, total);
    total = dot4(0x01010101, v.z, total);
    total = dot4(0x01010101, v.w, total);
    tile.a[c][h] = static_cast<float>(total);
    if (h == 0) {
        const int64_t at = (c0 + c) * (k / 32) + gi;
        tile.d[c] = scale[at];
        tile.s[c] = sum ? sum[at] : 0.0f;
    }
}

// acc[mt][nt][i] (this lane's outputs: rows wr + 16 mt + g + 8 (i / 2), columns
// wc + 8 nt + 2 t + i % 2) += the group's products, as group_dot would give them.
template <GgmlType T>
__device__ inline void multiply_group(const WeightTile& w, const ActTile& x, int wr, int wc, float (&acc)[2][4][4]) {
    const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    int32_t b[4][2];
    for (int nt = 0; nt < 4; ++nt)
        for (int h = 0; h < 2; ++h) b[nt][h] = x.q[(wc + 8 * nt + g) * kStride + 4 * h + t];
    for (int mt = 0; mt < 2; ++mt) {
        const int r_lo = wr + 16 * mt + g;
        int32_t a[2][2];
        for (int h = 0; h < 2; ++h) {
            a[h][0] = w.q[r_lo * kStride + 4 * h + t];
            a[h][1] = w.q[(r_lo + 8) * kStride + 4 * h + t];
        }
        for (int nt = 0; nt < 4; ++nt) {
            int s0[4] = {0, 0, 0, 0}, s1[4] = {0, 0, 0, 0};
            mma_s8_16x8x16(s0, a[0][0], a[0][1], b[nt][0]);
            if constexpr (kHalvesShareScale<T>) mma_s8_16x8x16(s0, a[1][0], a[1][1], b[nt][1]);
            else mma_s8_16x8x16(s1, a[1][0], a[1][1], b[nt][1]);
            for (int i = 0; i < 4; ++i) {
                const int r = r_lo + 8 * (i / 2), c = wc + 8 * nt + 2 * t + i % 2;
                const float da = x.d[c];
                if constexpr (kMinTimesSum<T>) {  // group_dot_min_sum
                    acc[mt][nt][i] += da * (w.d[r][0] * static_cast<float>(s0[i])) - w.m[r][0] * x.s[c];
                } else {
                    float v = kHalvesShareScale<T> ? w.d[r][0] * static_cast<float>(s0[i])
                                                   : w.d[r][0] * static_cast<float>(s0[i]) + w.d[r][1] * static_cast<float>(s1[i]);
                    if constexpr (kMinTimesActSum<T>) v = v - w.m[r][0] * x.a[c][0] - w.m[r][1] * x.a[c][1];
                    acc[mt][nt][i] += da * v;
                }
            }
        }
    }
}

// y[c * ldy + r] = W[r] . act[c]; with Geglu, W = gate and y = geglu(gate . act, up . act).
template <GgmlType T, bool Geglu>
__global__ void __launch_bounds__(kThreads) matmul_mma_kernel(const uint8_t* w, const uint8_t* up, size_t row_bytes,
                                                              int64_t rows, int64_t k, const int8_t* q,
                                                              const float* scale, const float* sum, int64_t n,
                                                              float* y, int64_t ldy, GridTables tables) {
#if GMG_MMA_DEVICE_CODE
    __shared__ __align__(16) WeightTile wt[Geglu ? 2 : 1];
    __shared__ __align__(16) ActTile xt;
    const int64_t r0 = static_cast<int64_t>(blockIdx.x) * kRows, c0 = static_cast<int64_t>(blockIdx.y) * kCols;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int wr = (warp % 4) * 32, wc = (warp / 4) * 32;
    float acc[2][4][4] = {}, acc_up[2][4][4] = {};

    const int64_t groups = k / 32;
    for (int64_t gi = 0; gi < groups; ++gi) {
        if (threadIdx.x < kRows) {
            const int r = static_cast<int>(threadIdx.x);
            const bool valid = r0 + r < rows;
            load_weight_row<T>(w + (r0 + r) * row_bytes, valid, gi, tables, wt[0], r);
            if constexpr (Geglu) load_weight_row<T>(up + (r0 + r) * row_bytes, valid, gi, tables, wt[1], r);
        } else {
            const int u = static_cast<int>(threadIdx.x) - kRows;
            load_act_half(q, scale, sum, k, n, c0, gi, xt, u / 2, u % 2);
        }
        __syncthreads();
        multiply_group<T>(wt[0], xt, wr, wc, acc);
        if constexpr (Geglu) multiply_group<T>(wt[1], xt, wr, wc, acc_up);
        __syncthreads();  // the tiles are read before the next group overwrites them
    }
    const int g = lane / 4, t = lane % 4;
    for (int mt = 0; mt < 2; ++mt)
        for (int nt = 0; nt < 4; ++nt)
            for (int i = 0; i < 4; ++i) {
                const int64_t r = r0 + wr + 16 * mt + g + 8 * (i / 2), c = c0 + wc + 8 * nt + 2 * t + i % 2;
                if (r < rows && c < n)
                    y[c * ldy + r] = Geglu ? geglu_value(acc[mt][nt][i], acc_up[mt][nt][i]) : acc[mt][nt][i];
            }
#endif
}

template <bool Geglu>
void launch(Stream& s, const DeviceWeight& w, const uint8_t* up, const ActRows& act, int64_t n, float* d_y,
            int64_t ldy, const char* who) {
    if (!has_mma_matmul(s, w.type))
        return s.fail(std::string(who) + ": no integer tensor-core matmul for " + std::string(traits_of(w.type).name) +
                      " on this GPU");
    if (w.cols % 32 != 0) return s.fail(std::string(who) + ": the row length is not a multiple of 32");
    if (!check_act_rows(s, act_rule(w.type), act, who)) return;
    if (n <= 0 || w.rows == 0) return;
    if ((n + kCols - 1) / kCols > 65535) return s.fail(std::string(who) + ": too many activation rows");
    const dim3 grid(blocks_for(w.rows, kRows), static_cast<unsigned>((n + kCols - 1) / kCols));
    const GridTables tables = *static_cast<const GridTables*>(s.tables());
    const auto* data = static_cast<const uint8_t*>(w.d_data);
    visit_format(w.type, [&](auto tag) {
        GMG_LAUNCH(grid, kThreads, 0, native(s), matmul_mma_kernel<decltype(tag)::value, Geglu>)(
            data, up, w.row_bytes, w.rows, w.cols, act.d_q, act.d_scale, act.d_sum, n, d_y, ldy, tables);
    });
    check_launch(s, who);
}

// The tensor cores' own rate: 8 independent accumulators per warp, operands in registers.
constexpr int kPeakChains = 8;
__global__ void __launch_bounds__(kThreads) mma_peak_kernel(int rounds, int* out) {
#if GMG_MMA_DEVICE_CODE
    int acc[kPeakChains][4] = {};
    const int a0 = 0x01010101, a1 = 0x01010101 + static_cast<int>(threadIdx.x % 2);  // small sums: no wrap
    for (int it = 0; it < rounds; ++it)
        for (int j = 0; j < kPeakChains; ++j) mma_s8_16x8x16(acc[j], a0, a1, 0x01010101 + j);
    int total = 0;
    for (int j = 0; j < kPeakChains; ++j)
        for (int i = 0; i < 4; ++i) total += acc[j][i];
    out[blockIdx.x * blockDim.x + threadIdx.x] = total;
#endif
}

// mma.m16n8k16 on integers: NVIDIA compute capability 8.0+, whose warps are 32 wide.
bool has_integer_mma(const Stream& s) { return s.compute_major() >= 8 && s.warp_size() == 32; }

}  // namespace

double mma_peak_launch(Stream& s, int blocks, int rounds, int* d_out) {
    if (!has_integer_mma(s) || blocks <= 0 || rounds <= 0) return 0.0;
    GMG_LAUNCH(static_cast<unsigned>(blocks), kThreads, 0, native(s), mma_peak_kernel)(rounds, d_out);
    check_launch(s, "mma_peak");
    // 16 x 8 x 16 multiply-adds per mma, two operations each
    return 2.0 * 16 * 8 * 16 * kPeakChains * static_cast<double>(rounds) * blocks * (kThreads / 32);
}

bool has_mma_matmul(const Stream& s, GgmlType type) {
    return has_integer_mma(s) && visit_format(type, [](auto) {});
}

void matmul_mma(Stream& s, const DeviceWeight& w, const ActRows& act, int64_t n, float* d_y, int64_t ldy) {
    launch<false>(s, w, nullptr, act, n, d_y, ldy, "matmul_mma");
}

void matmul_geglu_mma(Stream& s, const DeviceWeight& gate, const DeviceWeight& up, const ActRows& act, int64_t n,
                      float* d_y, int64_t ldy) {
    if (gate.type != up.type || gate.rows != up.rows || gate.cols != up.cols || gate.row_bytes != up.row_bytes)
        return s.fail("matmul_geglu_mma: gate and up differ in type or shape");
    launch<true>(s, gate, static_cast<const uint8_t*>(up.d_data), act, n, d_y, ldy, "matmul_geglu_mma");
}

#else  // HIP: no integer tensor-core path (yet)

double mma_peak_launch(Stream&, int, int, int*) { return 0.0; }

bool has_mma_matmul(const Stream&, GgmlType) { return false; }
void matmul_mma(Stream& s, const DeviceWeight&, const ActRows&, int64_t, float*, int64_t) {
    s.fail("matmul_mma: no integer tensor-core matmul in HIP builds");
}
void matmul_geglu_mma(Stream& s, const DeviceWeight&, const DeviceWeight&, const ActRows&, int64_t, float*, int64_t) {
    s.fail("matmul_geglu_mma: no integer tensor-core matmul in HIP builds");
}

#endif

}  // namespace gmg::gpu
