// Activation quantization and the quantized matrix products: one kernel body for
// every integer format (group_decode.h decodes 32 weights at a time into int8 and
// scales), one for the float formats.
//
// A warp owns a weight row; its lanes walk the row's 32-element groups, so the
// lanes of a warp read neighbouring bytes of the row. Each decoded group is used
// for NC activation columns (1 for decode, 8 for prompts) before the next is read.
#include "kernels/gpu/device_common.cuh"
#include "kernels/gpu/group_decode.h"

namespace gmg::gpu {
namespace {

constexpr int kThreads = 128;
constexpr int kPromptColumns = 8;

__global__ void quantize_kernel(ActRule rule, const float* x, int64_t n, int64_t k, int8_t* q, float* scale,
                                float* f) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (is_float_rule(rule)) {
        if (i < n * k) f[i] = round_float_act(rule, x[i]);
        return;
    }
    const int blk = act_block(rule);
    const int64_t per_row = k / blk;
    if (i >= n * per_row) return;
    const int64_t row = i / per_row, b = i % per_row;
    const float* xs = x + row * k + b * blk;
    int8_t* qs = q + row * k + b * blk;
    const float d = rule == ActRule::q8_K ? quantize_q8_K(xs, qs)
                  : rule == ActRule::q8_1 ? quantize_q8_1(xs, qs)
                                          : quantize_q8_0(xs, qs);
    for (int g = 0; g < blk / 32; ++g) scale[row * (k / 32) + b * (blk / 32) + g] = d;
}

__device__ inline void load_act(const int8_t* p, int32_t* act) {
    const int4 lo = reinterpret_cast<const int4*>(p)[0], hi = reinterpret_cast<const int4*>(p)[1];
    act[0] = lo.x, act[1] = lo.y, act[2] = lo.z, act[3] = lo.w;
    act[4] = hi.x, act[5] = hi.y, act[6] = hi.z, act[7] = hi.w;
}

template <GgmlType T, int NC>
__global__ void __launch_bounds__(kThreads) matmul_q_kernel(const uint8_t* w, size_t row_bytes, int64_t rows,
                                                            int64_t k, const int8_t* q, const float* scale, int64_t n,
                                                            float* y, int64_t ldy, GridTables tables) {
    using F = Format<T>;
    constexpr int kGroups = F::kElems / 32;
    const int lane = threadIdx.x % warpSize;
    const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / warpSize) + threadIdx.x / warpSize;
    if (row >= rows) return;  // whole warps leave together
    const int64_t c0 = static_cast<int64_t>(blockIdx.y) * NC;
    const int64_t groups = k / 32;
    const uint8_t* wrow = w + row * row_bytes;
    float acc[NC];
#pragma unroll
    for (int c = 0; c < NC; ++c) acc[c] = 0.0f;
    for (int64_t gi = lane; gi < groups; gi += warpSize) {
        QGroup grp;
        F::decode(wrow + (gi / kGroups) * F::kBytes, static_cast<int>(gi % kGroups), tables, grp);
#pragma unroll
        for (int c = 0; c < NC; ++c) {
            if (c0 + c < n) {
                int32_t act[8];
                load_act(q + (c0 + c) * k + 32 * gi, act);
                acc[c] += group_dot(grp, act, scale[(c0 + c) * groups + gi]);
            }
        }
    }
#pragma unroll
    for (int c = 0; c < NC; ++c) {
        const float v = warp_sum(acc[c]);
        if (lane == 0 && c0 + c < n) y[(c0 + c) * ldy + row] = v;
    }
}

template <GgmlType T>
__device__ inline float load_weight(const uint8_t* row, int64_t i) {
    if constexpr (T == GgmlType::F32) return reinterpret_cast<const float*>(row)[i];
    else if constexpr (T == GgmlType::F16) return f16_to_f32(reinterpret_cast<const uint16_t*>(row)[i]);
    else return bf16_to_f32(reinterpret_cast<const uint16_t*>(row)[i]);
}

template <GgmlType T, int NC>
__global__ void __launch_bounds__(kThreads) matmul_f_kernel(const uint8_t* w, size_t row_bytes, int64_t rows,
                                                            int64_t k, const float* x, int64_t n, float* y,
                                                            int64_t ldy) {
    const int lane = threadIdx.x % warpSize;
    const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / warpSize) + threadIdx.x / warpSize;
    if (row >= rows) return;
    const int64_t c0 = static_cast<int64_t>(blockIdx.y) * NC;
    const uint8_t* wrow = w + row * row_bytes;
    float acc[NC];
#pragma unroll
    for (int c = 0; c < NC; ++c) acc[c] = 0.0f;
    for (int64_t i = lane; i < k; i += warpSize) {
        const float wv = load_weight<T>(wrow, i);
#pragma unroll
        for (int c = 0; c < NC; ++c)
            if (c0 + c < n) acc[c] += wv * x[(c0 + c) * k + i];
    }
#pragma unroll
    for (int c = 0; c < NC; ++c) {
        const float v = warp_sum(acc[c]);
        if (lane == 0 && c0 + c < n) y[(c0 + c) * ldy + row] = v;
    }
}

bool is_float_type(GgmlType t) { return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16; }

template <int NC>
void launch_matmul(Stream& s, const DeviceWeight& w, const ActRows& act, int64_t n, float* y, int64_t ldy) {
    const int rows_per_block = kThreads / s.warp_size();
    const dim3 grid(blocks_for(w.rows, rows_per_block), static_cast<unsigned>((n + NC - 1) / NC));
    const auto* data = static_cast<const uint8_t*>(w.d_data);
    const GridTables tables = *static_cast<const GridTables*>(s.tables());
    gpuStream_t st = native(s);
    switch (w.type) {
        case GgmlType::F32:
            matmul_f_kernel<GgmlType::F32, NC><<<grid, kThreads, 0, st>>>(data, w.row_bytes, w.rows, w.cols, act.d_f, n, y, ldy);
            break;
        case GgmlType::F16:
            matmul_f_kernel<GgmlType::F16, NC><<<grid, kThreads, 0, st>>>(data, w.row_bytes, w.rows, w.cols, act.d_f, n, y, ldy);
            break;
        case GgmlType::BF16:
            matmul_f_kernel<GgmlType::BF16, NC><<<grid, kThreads, 0, st>>>(data, w.row_bytes, w.rows, w.cols, act.d_f, n, y, ldy);
            break;
        default:
            visit_format(w.type, [&](auto tag) {
                matmul_q_kernel<decltype(tag)::value, NC><<<grid, kThreads, 0, st>>>(data, w.row_bytes, w.rows, w.cols, act.d_q,
                                                                  act.d_scale, n, y, ldy, tables);
            });
    }
    check_launch(s, "matmul");
}

}  // namespace

void quantize_rows(Stream& s, ActRule rule, const float* d_x, int64_t n, int64_t k, const ActRows& out) {
    if (k % act_block(rule) != 0) return s.fail("quantize_rows: row length is not a whole number of blocks");
    const int64_t items = is_float_rule(rule) ? n * k : n * (k / act_block(rule));
    if (items == 0) return;
    quantize_kernel<<<blocks_for(items, 256), 256, 0, native(s)>>>(rule, d_x, n, k, out.d_q, out.d_scale, out.d_f);
    check_launch(s, "quantize_rows");
}

bool has_matmul(GgmlType type) {
    return is_float_type(type) || visit_format(type, [](auto) {});
}

void matmul(Stream& s, const DeviceWeight& w, const ActRows& act, int64_t n, float* d_y, int64_t ldy) {
    if (!has_matmul(w.type)) return s.fail(std::string("no GPU matmul for ") + std::string(traits_of(w.type).name));
    if (n <= 0 || w.rows == 0) return;
    if (n > 65535LL * kPromptColumns) return s.fail("matmul: too many columns");
    if (n == 1) launch_matmul<1>(s, w, act, n, d_y, ldy);
    else launch_matmul<kPromptColumns>(s, w, act, n, d_y, ldy);
}

}  // namespace gmg::gpu
