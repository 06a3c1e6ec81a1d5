#include "kernels/cpu/matmul.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/common/half.h"
#include "kernels/cpu/kernel_table.h"
#include "kernels/cpu/vec_dot_type.h"
#include "kernels/ref/dequantize.h"
#include "kernels/ref/quantize_activations.h"

namespace gmg::cpu {
namespace {

// Quantizes n floats into vec_dot_type blocks, with the rounding llama.cpp's
// x86 CPU path uses for each (see quantize_activations.h).
void quantize_row(GgmlType act, const float* x, uint8_t* out, int64_t k) {
    switch (act) {
        case GgmlType::Q8_0: return ref::quantize_row_q8_0_x86(x, reinterpret_cast<block_q8_0*>(out), k);
        case GgmlType::Q8_1: return ref::quantize_row_q8_1_x86(x, reinterpret_cast<block_q8_1*>(out), k);
        case GgmlType::Q8_K: return ref::quantize_row_q8_K(x, reinterpret_cast<block_q8_K*>(out), k);
        case GgmlType::F16: {
            auto* h = reinterpret_cast<uint16_t*>(out);
            for (int64_t i = 0; i < k; ++i) h[i] = f32_to_f16(x[i]);
            return;
        }
        case GgmlType::BF16: {
            auto* h = reinterpret_cast<uint16_t*>(out);
            for (int64_t i = 0; i < k; ++i) h[i] = f32_to_bf16(x[i]);
            return;
        }
        default: std::memcpy(out, x, static_cast<size_t>(k) * sizeof(float)); return;
    }
}

double dot_double(const float* x, const float* y, int64_t n) {
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * static_cast<double>(y[i]);
    return s;
}

// Decoded weight row . rounded f32 activations: any type the reference decoder knows.
void generic_rows(const WeightView& w, const float* act, int64_t n, float* y, int64_t ldy, int64_t r0, int64_t r1,
                  DotF32Fn dot) {
    thread_local std::vector<float> row;
    row.resize(static_cast<size_t>(w.cols));
    for (int64_t r = r0; r < r1; ++r) {
        ref::dequantize_row(w.type, w.data + static_cast<size_t>(r) * w.row_bytes, row.data(), w.cols);
        for (int64_t c = 0; c < n; ++c) {
            const float* a = act + c * w.cols;
            y[c * ldy + r] = dot ? dot(row.data(), a, w.cols) : static_cast<float>(dot_double(row.data(), a, w.cols));
        }
    }
}

// Built on first use, one set per ISA: each fill() is compiled for its ISA and may use
// its instructions itself (ASan's AVX-512 build of avx512::fill does), so only the
// sets a caller asks for, i.e. the ones this CPU runs, are ever filled.
template <void (*Fill)(KernelSet*)>
const KernelSet& filled() {
    static const KernelSet set = [] {
        KernelSet s;
        Fill(&s);
        return s;
    }();
    return set;
}
}  // namespace

const KernelSet& kernel_set(Isa isa) {
    switch (isa) {
        case Isa::avx2: return filled<avx2::fill>();
        case Isa::avx512: return filled<avx512::fill>();
        case Isa::neon: return filled<neon::fill>();
        case Isa::neon_dotprod: return filled<neon_dotprod::fill>();
        default: return filled<scalar::fill>();
    }
}

bool has_kernel(GgmlType weight, Isa isa) {
    if (!row_bytes(vec_dot_type(weight), traits_of(weight).block_elems)) return false;
    return kernel_set(isa).get(weight) != nullptr;
}

GgmlType prepared_type(GgmlType weight, Isa isa) {
    return has_kernel(weight, isa) ? vec_dot_type(weight) : GgmlType::F32;
}

size_t prepared_row_bytes(GgmlType weight, int64_t k, Isa isa) {
    const GgmlType act = prepared_type(weight, isa);
    const auto bytes = row_bytes(act, k);
    return bytes ? static_cast<size_t>(*bytes) : static_cast<size_t>(k) * sizeof(float);
}

void round_activations(GgmlType weight, float* x, int64_t n) {
    const GgmlType act = vec_dot_type(weight);
    if (act == GgmlType::F32) return;
    const auto bytes = row_bytes(act, n);
    if (!bytes) return;  // not whole blocks: llama.cpp would not pair these either
    std::vector<uint8_t> q(static_cast<size_t>(*bytes));
    quantize_row(act, x, q.data(), n);
    ref::dequantize_row(act, q.data(), x, n);
}

void prepare_activations(GgmlType weight, Isa isa, const float* x, int64_t n, int64_t k, uint8_t* out) {
    const size_t stride = prepared_row_bytes(weight, k, isa);
    const bool kernel = has_kernel(weight, isa);
    for (int64_t c = 0; c < n; ++c) {
        uint8_t* dst = out + static_cast<size_t>(c) * stride;
        if (kernel) {
            const GgmlType act = vec_dot_type(weight);
            if (QuantizeFn fast = kernel_set(isa).quantize[static_cast<uint32_t>(act)]) fast(x + c * k, dst, k);
            else quantize_row(act, x + c * k, dst, k);
        } else {
            std::memcpy(dst, x + c * k, static_cast<size_t>(k) * sizeof(float));
            round_activations(weight, reinterpret_cast<float*>(dst), k);
        }
    }
}

void matmul_rows(const WeightView& w, const uint8_t* prepared, int64_t n, float* y, int64_t ldy, int64_t r0,
                 int64_t r1, Isa isa) {
    if (r1 <= r0 || n <= 0) return;
    const KernelSet& set = kernel_set(isa);
    if (DotTileFn tile = has_kernel(w.type, isa) ? set.get(w.type) : nullptr) {
        tile(w.cols, w.data + static_cast<size_t>(r0) * w.row_bytes, w.row_bytes, r1 - r0, prepared,
             prepared_row_bytes(w.type, w.cols, isa), n, y + r0, ldy);
        return;
    }
    generic_rows(w, reinterpret_cast<const float*>(prepared), n, y, ldy, r0, r1, set.dot_f32);
}

void matmul(const WeightView& w, const uint8_t* prepared, int64_t n, float* y, int64_t ldy, Isa isa, int n_threads) {
    const MatmulJob job{&w, nullptr, prepared, nullptr, n, y, ldy};
    matmul_batch({&job, 1}, isa, n_threads);
}

namespace {
// The repacked GEMM for weight on isa; functions null where there is none.
const RepackedGemm& repacked_gemm(GgmlType weight, Isa isa) {
    static const RepackedGemm none;
    const auto id = static_cast<uint32_t>(weight);
    return id < kMaxTypeId ? kernel_set(isa).repacked[id] : none;
}
int64_t repack_unit(GgmlType weight) { return vec_dot_type(weight) == GgmlType::Q8_K ? QK_K : 32; }
}  // namespace

bool can_repack(GgmlType weight, Isa isa) {
    const RepackedGemm& g = repacked_gemm(weight, isa);
    return g.repack && g.tile;
}

bool repacked_needs_block_sums(GgmlType weight, Isa isa) { return repacked_gemm(weight, isa).block_sums; }

bool repack(const WeightView& w, Isa isa, int n_threads, RepackedWeights* out,
            const std::function<void(int64_t, int64_t)>& rows_done) {
    if (!can_repack(w.type, isa) || w.cols % repack_unit(w.type)) return false;
    const RepackedGemm& gemm = repacked_gemm(w.type, isa);
    const int64_t groups = (w.rows + kRepackRows - 1) / kRepackRows, blocks = w.cols / repack_unit(w.type);
    out->source = w.type;
    out->rows = w.rows;
    out->cols = w.cols;
    out->data.assign(static_cast<size_t>(groups * blocks) * gemm.unit_bytes, 0);
    // Slices of 64 groups (1024 rows): the source of each is done with as soon as it is copied.
    const int64_t slice = 64, n_slices = (groups + slice - 1) / slice;
#pragma omp parallel for num_threads(std::max(1, n_threads)) schedule(dynamic, 1)
    for (int64_t i = 0; i < n_slices; ++i) {
        const int64_t g0 = i * slice, g1 = std::min(groups, g0 + slice);
        gemm.repack(w.data, w.row_bytes, w.rows, w.cols, g0, g1, out->data.data());
        if (rows_done) rows_done(g0 * kRepackRows, std::min(w.rows, g1 * kRepackRows));
    }
    return true;
}

void q8_0_block_sums(const uint8_t* prepared, int64_t n, int64_t k, int32_t* sums) {
    const int64_t nb = k / QK8_0;
    for (int64_t c = 0; c < n; ++c) {
        const auto* x = reinterpret_cast<const block_q8_0*>(prepared + static_cast<size_t>(c * nb) * sizeof(block_q8_0));
        for (int64_t b = 0; b < nb; ++b) {
            int32_t s = 0;
            for (int j = 0; j < QK8_0; ++j) s += x[b].qs[j];
            sums[c * nb + b] = s;
        }
    }
}

void matmul_repacked(const RepackedWeights& w, const uint8_t* prepared, const int32_t* block_sums, int64_t n, float* y,
                     int64_t ldy, Isa isa, int n_threads) {
    const MatmulJob job{nullptr, &w, prepared, block_sums, n, y, ldy};
    matmul_batch({&job, 1}, isa, n_threads);
}

namespace {

// A slice of one job's output rows (direct kernels) or row groups (repacked).
struct Chunk {
    int32_t job;
    int64_t begin, end;
};

// The slices of one job, 8 per thread (16 for prompt GEMMs) so that threads that
// free up early take the next (a core slowed by a neighbour on a shared machine
// then no longer holds the others at the barrier); decode keeps longer slices,
// whose contiguous streams the hardware prefetchers follow better. Direct slices
// are whole multiples of 8 rows so that threads never write the same cache line;
// repacked ones whole groups.
// Returns the threads the job can keep busy.
int64_t add_chunks(const MatmulJob& job, int32_t index, int n_threads, std::vector<Chunk>* out) {
    const int64_t units = job.repacked ? (job.repacked->rows + kRepackRows - 1) / kRepackRows : job.w->rows;
    const int64_t min_units = job.repacked ? 2 : 32;  // below this per thread, fewer threads pay
    const int64_t threads = std::clamp<int64_t>(units / min_units, 1, std::max(1, n_threads));
    int64_t chunk = units;
    if (threads > 1)
        chunk = job.repacked ? std::max<int64_t>(1, units / ((job.n > 1 ? 16 : 8) * threads))
                             : std::max<int64_t>(8, (units / (8 * threads) + 7) / 8 * 8);
    for (int64_t b = 0; b < units; b += chunk) out->push_back({index, b, std::min(units, b + chunk)});
    return threads;
}

}  // namespace

void matmul_batch(std::span<const MatmulJob> jobs, Isa isa, int n_threads) {
    // Some repacked GEMMs need each activation block's sum; computed once here where not given.
    std::vector<std::vector<int32_t>> own_sums(jobs.size());
    std::vector<const int32_t*> sums(jobs.size());
    std::vector<Chunk> chunks;
    int64_t busy = 1;  // the most threads any one job can keep busy
    for (size_t j = 0; j < jobs.size(); ++j) {
        const MatmulJob& job = jobs[j];
        sums[j] = job.block_sums;
        if (job.repacked && !job.block_sums && repacked_needs_block_sums(job.repacked->source, isa)) {
            own_sums[j].resize(static_cast<size_t>(job.n * (job.repacked->cols / QK8_0)));
            q8_0_block_sums(job.prepared, job.n, job.repacked->cols, own_sums[j].data());
            sums[j] = own_sums[j].data();
        }
        busy = std::max(busy, add_chunks(job, static_cast<int32_t>(j), n_threads, &chunks));
    }
    const auto run = [&](const Chunk& c) {
        const MatmulJob& job = jobs[static_cast<size_t>(c.job)];
        if (const RepackedWeights* r = job.repacked) {
            repacked_gemm(r->source, isa).tile(r->data.data(), r->rows, r->cols, c.begin, c.end, job.prepared,
                                              prepared_row_bytes(r->source, r->cols, isa), sums[static_cast<size_t>(c.job)],
                                              job.n, job.y, job.ldy);
        } else {
            matmul_rows(*job.w, job.prepared, job.n, job.y, job.ldy, c.begin, c.end, isa);
        }
    };
    const auto n_chunks = static_cast<int64_t>(chunks.size());
    if (n_chunks <= 1 || n_threads <= 1) {
        for (const Chunk& c : chunks) run(c);
        return;
    }
    // Several small jobs together may use more threads than each alone.
    const int threads = static_cast<int>(std::min<int64_t>({n_threads, n_chunks, busy * static_cast<int64_t>(jobs.size())}));
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int64_t i = 0; i < n_chunks; ++i) run(chunks[static_cast<size_t>(i)]);
}

}  // namespace gmg::cpu
