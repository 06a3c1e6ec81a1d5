// Quantized matrix products on the CPU: weights stay in their GGUF blocks (mapped
// from the file), activations are prepared once per row in the weight's
// vec_dot_type, and every output is a per-block scaled integer (or float) dot
// product. One entry point for decode (n = 1: mat-vec) and prefill (n > 1:
// several activation rows share each decoded weight block).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "kernels/common/ggml_type.h"
#include "kernels/cpu/cpu_features.h"

namespace gmg::cpu {

// rows x cols weight matrix, row-major in its block format.
struct WeightView {
    GgmlType type = GgmlType::F32;
    const uint8_t* data = nullptr;
    size_t row_bytes = 0;
    int64_t rows = 0, cols = 0;
};

// True when `isa` has a dedicated kernel for `weight`. Other types (and every
// type at Isa::scalar but Q4_1/Q5_1) take the generic path: each weight row is decoded by the
// reference decoder and dotted with activations rounded as vec_dot_type would round them.
bool has_kernel(GgmlType weight, Isa isa);

// The format activations are prepared in for `weight`: its vec_dot_type when a
// kernel exists, else F32 (already rounded through vec_dot_type).
GgmlType prepared_type(GgmlType weight, Isa isa);
size_t prepared_row_bytes(GgmlType weight, int64_t k, Isa isa);

// Prepares n rows of k floats (row-major) into out (n * prepared_row_bytes).
void prepare_activations(GgmlType weight, Isa isa, const float* x, int64_t n, int64_t k, uint8_t* out);

// Rounds a float row in place to the values vec_dot_type(weight) can hold
// (quantize, then decode). Rows that are not whole blocks stay as they are.
void round_activations(GgmlType weight, float* x, int64_t n);

// y[c * ldy + r] = W[r] . act[c] for rows r0 <= r < r1 and c < n, on the calling thread.
void matmul_rows(const WeightView& w, const uint8_t* prepared, int64_t n, float* y, int64_t ldy, int64_t r0,
                 int64_t r1, Isa isa);

// The same for every row, split across n_threads OpenMP threads in equal contiguous ranges.
void matmul(const WeightView& w, const uint8_t* prepared, int64_t n, float* y, int64_t ldy, Isa isa, int n_threads);

// Weights rewritten at load time (every integer format on AVX2, AVX-512 VNNI and
// NEON with dotprod; BF16 with AVX-512 BF16): groups of 16 rows interleaved 4 bytes
// at a time, so one vpdpbusd (AVX2: two vpmaddubsw; NEON: four SDOTs by lane) with a
// broadcast activation word advances 16 rows at once and each block's scaling is one
// vector multiply-add for 16 (8, 4) rows.
// Sizes per source type are in kernel_table.h (Q8_0: 1.0625 bytes per weight, as the file; Q4_0/Q5_0/IQ4_NL/Q4_1/Q5_1 keep their
// bits, Q3_K/Q4_K/Q5_K/IQ4_XS/Q6_K about theirs, Q2_K 3.125 bits per weight
// against 2.625, IQ3_S/IQ3_XXS 4.3125 against 3.4375/3.0625). Decode and prompts
// both read the copy, and the mapped original's pages are released.
struct RepackedWeights {
    GgmlType source = GgmlType::F32;
    int64_t rows = 0, cols = 0;
    std::vector<uint8_t> data;
};

// True when `isa` has a repacked GEMM for `weight`.
bool can_repack(GgmlType weight, Isa isa);
// Builds the repacked copy (rows split across n_threads); false when !can_repack.
// rows_done(r0, r1), if given, is called (from any thread) once rows [r0, r1) are
// copied, so a caller can let go of the source early.
bool repack(const WeightView& w, Isa isa, int n_threads, RepackedWeights* out,
            const std::function<void(int64_t, int64_t)>& rows_done = {});
// The sum of each Q8_0 block's int8 values, for n prepared rows of k elements:
// sums[c * (k / 32) + b]. Some repacked GEMMs of the Q8_0-paired formats need them:
// those for which repacked_needs_block_sums is true.
void q8_0_block_sums(const uint8_t* prepared, int64_t n, int64_t k, int32_t* sums);
bool repacked_needs_block_sums(GgmlType weight, Isa isa);

// y[c * ldy + r] = W[r] . act[c] from the repacked copy; activations prepared for
// w.source. block_sums: q8_0_block_sums of the activations where the GEMM needs
// them (computed here when null), ignored otherwise.
void matmul_repacked(const RepackedWeights& w, const uint8_t* prepared, const int32_t* block_sums, int64_t n, float* y,
                     int64_t ldy, Isa isa, int n_threads);

// One product of a batch: y[c * ldy + r] = W[r] . act[c] for c < n, through
// the direct kernels (w) or a repacked copy (repacked, with block_sums as in
// matmul_repacked); activations prepared for the weight's type.
struct MatmulJob {
    const WeightView* w = nullptr;
    const RepackedWeights* repacked = nullptr;
    const uint8_t* prepared = nullptr;
    const int32_t* block_sums = nullptr;
    int64_t n = 0;
    float* y = nullptr;
    int64_t ldy = 0;
};
// Independent products (q, k and v of one input, say) in one parallel region:
// their row slices share the threads and one barrier instead of one each.
void matmul_batch(std::span<const MatmulJob> jobs, Isa isa, int n_threads);

}  // namespace gmg::cpu
