// Activation quantization and the quantized matrix products. One row-dot body
// serves every weight type: the integer formats through group_decode.h (32
// weights at a time into int8 and scales, dp4a against the quantized
// activations), F32/F16/BF16 in float against rounded float activations.
//
// A warp owns a weight row; its lanes walk the row's 32-element groups, so the
// lanes of a warp read neighbouring bytes of the row. Each decoded group is used
// for NC activation columns (1 for decode, 8 for prompts) before the next is read.
// One launch can cover several matrices of one type that read the same
// activations (q, k and v), and gate/up can be fused with the GeGLU that follows.
// Prompts of kMmaMinColumns tokens or more take the integer tensor cores instead
// where the GPU has them (matmul_mma.cu: the same activations and decoders).
#include "kernels/common/env_flag.h"
#include "kernels/common/group_decode.h"
#include "kernels/gpu/device_common.cuh"

namespace gmg::gpu {
namespace {

constexpr int kThreads = 128;
constexpr int kPromptColumns = 8;
constexpr int kMaxTargets = 3;
constexpr int64_t kMmaMinColumns = 16;  // below this a 64-column tile is mostly padding
// The fused GeGLU quantization needs a block's rows (kThreads / warp size, on every
// warp size) inside one activation block of 32 or 256.
static_assert(32 % (kThreads / 32) == 0 && 32 % (kThreads / 64) == 0, "rows per block must divide 32");

__global__ void quantize_kernel(ActRule rule, const float* x, int64_t n, int64_t k, int8_t* q, float* scale,
                                float* f, float* sum) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (is_float_rule(rule)) {
        if (i < n * k) f[i] = round_float_act(rule, x[i]);
        return;
    }
    // Integer rules: 32 lanes per block (the block size is a multiple of 32, so whole
    // groups leave together).
    const int blk = act_block(rule);
    const int64_t per_row = k / blk, item = i / kQuantLanes;
    if (item >= n * per_row) return;
    const int64_t row = item / per_row, b = item % per_row;
    group_quantize_block(rule, x + row * k + b * blk, q + row * k + b * blk, scale + row * (k / 32) + b * (blk / 32),
                         sum ? sum + row * (k / 32) + b * (blk / 32) : nullptr, static_cast<int>(i % kQuantLanes));
}

__device__ inline void load_act(const int8_t* p, int32_t* act) {
    const int4 lo = reinterpret_cast<const int4*>(p)[0], hi = reinterpret_cast<const int4*>(p)[1];
    act[0] = lo.x, act[1] = lo.y, act[2] = lo.z, act[3] = lo.w;
    act[4] = hi.x, act[5] = hi.y, act[6] = hi.z, act[7] = hi.w;
}

struct ActView {
    const int8_t* q;
    const float* scale;
    const float* f;
    const float* sum;  // Q8_1's stored sums (Q4_1/Q5_1)
};

// acc[c] += this lane's share of W[row] . act[c0 + c] for c0 + c < n; the caller
// sums acc over the warp.
template <GgmlType T, int NC>
__device__ inline void row_dot(const uint8_t* wrow, int64_t k, const ActView& a, int64_t n, int64_t c0,
                               const GridTables& tables, float* acc) {
    const int lane = threadIdx.x % warpSize;
    if constexpr (kFloatWeights<T>) {
        for (int64_t i = lane; i < k; i += warpSize) {
            const float wv = load_float_weight<T>(wrow, i);
#pragma unroll
            for (int c = 0; c < NC; ++c)
                if (c0 + c < n) acc[c] += wv * a.f[(c0 + c) * k + i];
        }
    } else {
        using F = Format<T>;
        constexpr int kGroups = F::kElems / 32;
        const int64_t groups = k / 32;
        for (int64_t gi = lane; gi < groups; gi += warpSize) {
            QGroup grp;
            F::decode(wrow + (gi / kGroups) * F::kBytes, static_cast<int>(gi % kGroups), tables, grp);
#pragma unroll
            for (int c = 0; c < NC; ++c) {
                if (c0 + c < n) {
                    int32_t act[8];
                    load_act(a.q + (c0 + c) * k + 32 * gi, act);
                    const int64_t at = (c0 + c) * groups + gi;
                    if constexpr (kMinTimesSum<T>) acc[c] += group_dot_min_sum(grp, act, a.scale[at], a.sum[at]);
                    else acc[c] += group_dot(grp, act, a.scale[at]);
                }
            }
        }
    }
}

struct Target {
    const uint8_t* w;
    size_t row_bytes;
    int64_t rows;
    float* y;
    int64_t ldy;
};
struct Targets {
    Target t[kMaxTargets];
    int count;
};

// Rows of up to three matrices (one type, one width) end to end: warp w takes row w
// of the concatenation. y[c * ldy + r] = W[r] . act[c].
template <GgmlType T, int NC>
__global__ void __launch_bounds__(kThreads) matmul_kernel(Targets m, int64_t k, ActView a, int64_t n,
                                                          GridTables tables) {
    int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / warpSize) + threadIdx.x / warpSize;
    int j = 0;
    while (j + 1 < m.count && row >= m.t[j].rows) row -= m.t[j++].rows;
    if (row >= m.t[j].rows) return;  // whole warps leave together
    const Target& t = m.t[j];
    const int64_t c0 = static_cast<int64_t>(blockIdx.y) * NC;
    float acc[NC];
#pragma unroll
    for (int c = 0; c < NC; ++c) acc[c] = 0.0f;
    row_dot<T, NC>(t.w + row * t.row_bytes, k, a, n, c0, tables, acc);
    const int lane = threadIdx.x % warpSize;
#pragma unroll
    for (int c = 0; c < NC; ++c) {
        const float v = warp_sum(acc[c]);
        if (lane == 0 && c0 + c < n) t.y[(c0 + c) * t.ldy + row] = v;
    }
}

// Decode's fused quantization of y (one row of gate.rows values): the block whose
// rows complete an activation block (a counter per block; a block's rows never
// straddle two, since the rows per block divide 32) quantizes it, and zeroes its
// counter for the next launch. Float rules need no counting: each warp rounds its own.
__device__ inline void quantize_completed_block(const Target& gate, const ActOutput& qo, unsigned* counters) {
    __shared__ bool last;
    __shared__ float xs[256];
    const int rows_per_block = blockDim.x / warpSize;
    const int64_t r0 = static_cast<int64_t>(blockIdx.x) * rows_per_block;
    const int blk = act_block(qo.rule);
    const int64_t ab = r0 / blk;
    const unsigned mine = static_cast<unsigned>(gate.rows - r0 < rows_per_block ? gate.rows - r0 : rows_per_block);
    __threadfence();  // this block's outputs reach the device before it is counted
    __syncthreads();
    if (threadIdx.x == 0) {
        last = atomicAdd(counters + ab, mine) + mine == static_cast<unsigned>(blk);
        if (last) {
            __threadfence();  // acquire: the counted blocks' outputs before ours are read
            atomicExch(counters + ab, 0u);
        }
    }
    __syncthreads();
    if (!last) return;
    const volatile float* y = gate.y + ab * blk;  // past this SM's L1: other blocks wrote them
    for (int i = threadIdx.x; i < blk; i += blockDim.x) xs[i] = y[i];
    __syncthreads();
    if (threadIdx.x < kQuantLanes) {
        const int64_t at = ab * blk;
        group_quantize_block(qo.rule, xs, qo.rows.d_q + at, qo.rows.d_scale + at / 32,
                             qo.rows.d_sum ? qo.rows.d_sum + at / 32 : nullptr, static_cast<int>(threadIdx.x));
    }
}

// y[c * ldy + r] = geglu(gate[r] . act[c], up[r] . act[c]): both rows by one warp.
// counters (decode only): y also quantized into qo (quantize_completed_block).
template <GgmlType T, int NC>
__global__ void __launch_bounds__(kThreads) matmul_geglu_kernel(Target gate, const uint8_t* up, int64_t k, ActView a,
                                                                int64_t n, GridTables tables, ActOutput qo,
                                                                unsigned* counters) {
    const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / warpSize) + threadIdx.x / warpSize;
    if (row < gate.rows) {  // warps past the last row still join the fused quantization's barriers
        const int64_t c0 = static_cast<int64_t>(blockIdx.y) * NC;
        float g[NC], u[NC];
#pragma unroll
        for (int c = 0; c < NC; ++c) g[c] = u[c] = 0.0f;
        row_dot<T, NC>(gate.w + row * gate.row_bytes, k, a, n, c0, tables, g);
        row_dot<T, NC>(up + row * gate.row_bytes, k, a, n, c0, tables, u);
        const int lane = threadIdx.x % warpSize;
#pragma unroll
        for (int c = 0; c < NC; ++c) {
            const float gv = warp_sum(g[c]), uv = warp_sum(u[c]);
            if (lane == 0 && c0 + c < n) {
                const float y = geglu_value(gv, uv);
                gate.y[(c0 + c) * gate.ldy + row] = y;
                if (NC == 1 && counters && is_float_rule(qo.rule)) qo.rows.d_f[row] = round_float_act(qo.rule, y);
            }
        }
    }
    if constexpr (NC == 1)
        if (counters && !is_float_rule(qo.rule)) quantize_completed_block(gate, qo, counters);
}

// GMG_GPU_MMA=0 keeps prompts on the dp4a kernels (to compare the two; read at each
// prompt launch, so that a benchmark can switch it), and so does safe mode
// (GMG_GPU_SAFE=1: the simplest kernels, for a device whose newer kernels fail their tests).
bool use_mma(const Stream& s, GgmlType type, int64_t n) {
    return n >= kMmaMinColumns && has_mma_matmul(s, type) && !env_is("GMG_GPU_MMA", "0") && !env_is("GMG_GPU_SAFE", "1");
}

ActView view(const ActRows& a) { return {a.d_q, a.d_scale, a.d_f, a.d_sum}; }

dim3 grid_for(Stream& s, int64_t rows, int64_t n, int nc) {
    const int rows_per_block = kThreads / s.warp_size();
    return dim3(blocks_for(rows, rows_per_block), static_cast<unsigned>((n + nc - 1) / nc));
}

bool check_columns(Stream& s, int64_t n) {
    if (n > 65535LL * kPromptColumns) {
        s.fail("matmul: more than 524280 columns");
        return false;
    }
    return n > 0;
}

template <int NC>
void launch_multi(Stream& s, GgmlType type, const Targets& m, int64_t k, const ActRows& act, int64_t n) {
    int64_t rows = 0;
    for (int j = 0; j < m.count; ++j) rows += m.t[j].rows;
    if (rows == 0) return;  // an empty grid is a launch error
    const dim3 grid = grid_for(s, rows, n, NC);
    const GridTables tables = *static_cast<const GridTables*>(s.tables());
    visit_weight_type(type, [&](auto tag) {
        GMG_LAUNCH(grid, kThreads, 0, native(s), matmul_kernel<decltype(tag)::value, NC>)(m, k, view(act), n, tables);
    });
    check_launch(s, "matmul");
}

template <int NC>
void launch_geglu(Stream& s, const DeviceWeight& gate, const DeviceWeight& up, const ActRows& act, int64_t n,
                  float* y, int64_t ldy, const ActOutput& qo, unsigned* counters) {
    const Target t{static_cast<const uint8_t*>(gate.d_data), gate.row_bytes, gate.rows, y, ldy};
    const dim3 grid = grid_for(s, gate.rows, n, NC);
    const GridTables tables = *static_cast<const GridTables*>(s.tables());
    visit_weight_type(gate.type, [&](auto tag) {
        GMG_LAUNCH(grid, kThreads, 0, native(s), matmul_geglu_kernel<decltype(tag)::value, NC>)(
            t, static_cast<const uint8_t*>(up.d_data), gate.cols, view(act), n, tables, qo, counters);
    });
    check_launch(s, "matmul_geglu");
}

}  // namespace

void quantize_rows(Stream& s, ActRule rule, const float* d_x, int64_t n, int64_t k, const ActRows& out) {
    if (k % act_block(rule) != 0) return s.fail("quantize_rows: row length is not a whole number of blocks");
    const int64_t threads = is_float_rule(rule) ? n * k : n * (k / act_block(rule)) * kQuantLanes;
    if (threads == 0) return;
    if (!check_act_rows(s, rule, out, "quantize_rows")) return;
    GMG_LAUNCH(blocks_for(threads, 256), 256, 0, native(s), quantize_kernel)(rule, d_x, n, k, out.d_q, out.d_scale, out.d_f,
                                                                     out.d_sum);
    check_launch(s, "quantize_rows");
}

bool has_matmul(GgmlType type) {
    return visit_weight_type(type, [](auto) {});
}

void matmul_multi(Stream& s, const DeviceWeight* w, float* const* d_y, int count, const ActRows& act, int64_t n) {
    if (count < 1 || count > kMaxTargets) return s.fail("matmul_multi: 1 to 3 matrices");
    Targets m{};
    m.count = count;
    for (int j = 0; j < count; ++j) {
        if (!has_matmul(w[j].type)) return s.fail(std::string("no GPU matmul for ") + std::string(traits_of(w[j].type).name));
        if (w[j].type != w[0].type || w[j].cols != w[0].cols)
            return s.fail("matmul_multi: the matrices differ in type or width");
        m.t[j] = {static_cast<const uint8_t*>(w[j].d_data), w[j].row_bytes, w[j].rows, d_y[j], w[j].rows};
    }
    if (!check_columns(s, n)) return;
    if (use_mma(s, w[0].type, n)) {
        for (int j = 0; j < count; ++j) matmul_mma(s, w[j], act, n, d_y[j], w[j].rows);
        return;
    }
    if (n == 1) launch_multi<1>(s, w[0].type, m, w[0].cols, act, n);
    else launch_multi<kPromptColumns>(s, w[0].type, m, w[0].cols, act, n);
}

void matmul(Stream& s, const DeviceWeight& w, const ActRows& act, int64_t n, float* d_y, int64_t ldy, bool allow_mma) {
    if (!has_matmul(w.type)) return s.fail(std::string("no GPU matmul for ") + std::string(traits_of(w.type).name));
    if (!check_columns(s, n)) return;
    if (allow_mma && use_mma(s, w.type, n)) return matmul_mma(s, w, act, n, d_y, ldy);
    Targets m{};
    m.count = 1;
    m.t[0] = {static_cast<const uint8_t*>(w.d_data), w.row_bytes, w.rows, d_y, ldy};
    if (n == 1) launch_multi<1>(s, w.type, m, w.cols, act, n);
    else launch_multi<kPromptColumns>(s, w.type, m, w.cols, act, n);
}

void matmul_geglu(Stream& s, const DeviceWeight& gate, const DeviceWeight& up, const ActRows& act, int64_t n,
                  float* d_y, int64_t ldy, const ActOutput* quantized, unsigned* d_counters) {
    if (!has_matmul(gate.type)) return s.fail(std::string("no GPU matmul for ") + std::string(traits_of(gate.type).name));
    if (gate.type != up.type || gate.rows != up.rows || gate.cols != up.cols || gate.row_bytes != up.row_bytes)
        return s.fail("matmul_geglu: gate and up differ in type or shape");
    if (quantized && !geglu_output_ok(s, gate.rows, ldy, *quantized)) return;
    if (!check_columns(s, n) || gate.rows == 0) return;
    const bool fused = quantized && n == 1 && d_counters;  // whole activation blocks: geglu_output_ok
    if (n == 1) launch_geglu<1>(s, gate, up, act, n, d_y, ldy, fused ? *quantized : ActOutput{}, fused ? d_counters : nullptr);
    else if (use_mma(s, gate.type, n)) matmul_geglu_mma(s, gate, up, act, n, d_y, ldy);
    else launch_geglu<kPromptColumns>(s, gate, up, act, n, d_y, ldy, ActOutput{}, nullptr);
    if (quantized && !fused) quantize_rows(s, quantized->rule, d_y, n, gate.rows, quantized->rows);
}

}  // namespace gmg::gpu
