// The per-ISA kernel tables behind matmul.h (internal to kernels/cpu).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/ggml_type.h"
#include "kernels/cpu/cpu_features.h"

namespace gmg::cpu {

// y[c * ldy + r] = dot(weight row r, activation row c) for r < n_rows, c < n_cols.
// Weight rows are `w_stride` bytes apart in their GGUF block format; activation
// rows `a_stride` bytes apart in the weight's vec_dot_type; k elements per row.
using DotTileFn = void (*)(int64_t k, const uint8_t* w, size_t w_stride, int64_t n_rows, const uint8_t* a,
                           size_t a_stride, int64_t n_cols, float* y, int64_t ldy);
using DotF32Fn = float (*)(const float* x, const float* y, int64_t n);
// Activations -> vec_dot_type blocks, byte-identical to the reference quantizer.
using QuantizeFn = void (*)(const float* x, uint8_t* out, int64_t n);
// Attention over f16 cache rows for nq query heads (q: nq rows of d floats):
// s[h * ls + j] = q_h . k_j, and out[h * d + i] += sum_j p[h * lp + j] * v_j[i]
// (j ascending), with rows k_j = k + j * k_stride, v_j = v + j * v_stride.
using ScoresF16Fn = void (*)(const float* q, int64_t nq, int64_t d, const uint16_t* k, int64_t k_stride, int64_t nk,
                             float* s, int64_t ls);
using MixF16Fn = void (*)(const float* p, int64_t lp, int64_t nq, const uint16_t* v, int64_t v_stride, int64_t nv,
                          float* out, int64_t d);
using ScaleRoundF16Fn = void (*)(float* s, int64_t n, float scale);  // s[j] = f16(s[j] * scale) as float
// s[j] = exp(s[j] - max) for j < n (within 2 ulp; 0 below e^-87, where a probability
// rounds to 0 in f16 anyway); returns their sum in double, in a fixed order.
using ExpSumFn = double (*)(float* s, int64_t n, float max);
// y[i] = gelu(gate[i]) * up[i] through the f16 GELU table (kernels/cpu/geglu.h),
// for the first n - n % 8 elements (geglu() does the rest).
using GegluFn = void (*)(const uint16_t* table, const float* gate, const float* up, float* y, int64_t n);

inline constexpr int kMaxTypeId = 64;

// The repacked layouts (see matmul.h, RepackedWeights), read by the x86 and the
// NEON (dotprod) GEMMs alike and written by kernels/cpu/repack_layouts.cpp.
// Q8_0's: groups of kRepackRows rows; per group and 32-element block, kRepackRows
// f16 scales then 8 chunks of kRepackRows x 4 unsigned bytes (w + 128).
inline constexpr int kRepackRows = 16;
inline constexpr size_t kRepackBlockBytes = kRepackRows * 2 + 8 * kRepackRows * 4;
// Q4_0 / IQ4_NL / Q5_0 / Q4_1 / Q5_1 keep their bits (one layout for decode and
// prompts, no growth): per group and block, kRepackRows f16 scales (Q4_1/Q5_1:
// then kRepackRows f16 minimums), for Q5_0/Q5_1 the fifth bits
// as 64 bit-plane bytes (bit 2m + h of byte 4r + e for row r's element
// 16h + 4m + e: plane 2m + h lines up with nibble vector m's low (h = 0) or high
// nibbles), then 4 x (kRepackRows x 4 nibble bytes): vector m holds each
// row's qs[4m..4m+3], whose low nibbles are elements 4m.. and high 16 + 4m...
inline constexpr size_t kRepackQ4Bytes = kRepackRows * 2 + 4 * kRepackRows * 4;
inline constexpr size_t kRepackQ5Bytes = kRepackQ4Bytes + kRepackRows * 4;
inline constexpr size_t kRepackQ4_1Bytes = kRepackQ4Bytes + kRepackRows * 2;
inline constexpr size_t kRepackQ5_1Bytes = kRepackQ5Bytes + kRepackRows * 2;
// The super-block formats (Q8_K activations) keep (about) their bits too, with
// the scales decoded to bytes at repack time so that decode is not held up
// decoding them. Per group and super-block: the rows' f16 d (Q2_K, Q4_K, Q5_K:
// then dmin), per scale group the rows' int8 scales (Q2_K, Q4_K, Q5_K: then the
// mins in row pairs, [groups / 2][kRepackRows][2]), then the values, per scale group:
// - Q4_K, IQ4_XS (32 elements): 4 x (kRepackRows x 4 nibble bytes) as for Q4_0;
//   Q5_K: then the group's fifth bits as Q5_0's 64 bit-plane bytes;
// - IQ3_S, IQ3_XXS: IQ4_XS's layout, the nibble indexing a 16-entry codebook of
//   the format's 8 magnitudes and their negatives (IQ3_XXS's scale counts quarters);
// - Q6_K (16 elements): two such nibble vectors (elements 4m.. low, 8 + 4m.. high)
//   and one of the high bit pairs, byte e's bits 2j..2j+1 for element 4j + e;
// - Q2_K, Q3_K (16 elements): one vector of 2-bit values (byte e's bits 2j..2j+1:
//   element 4j + e); Q3_K: then its third bits as 32 bit-plane bytes (bit j + 4 (r / 8)
//   of byte 4 (r % 8) + e for row r's element 4j + e: each 8-row half's plane j
//   is one shift from bit 2 of the bytes that hold its 2-bit values).
inline constexpr size_t kRepackQ2KBytes = kRepackRows * 4 + 2 * 16 * kRepackRows + 16 * kRepackRows * 4;
inline constexpr size_t kRepackQ3KBytes = kRepackRows * 2 + 16 * kRepackRows + 16 * (kRepackRows * 4 + 32);
inline constexpr size_t kRepackQ4KBytes = kRepackRows * 4 + 8 * kRepackRows * 2 + 8 * 4 * kRepackRows * 4;
inline constexpr size_t kRepackQ5KBytes = kRepackQ4KBytes + 8 * 64;
inline constexpr size_t kRepackQ6KBytes = kRepackRows * 2 + 16 * kRepackRows + 16 * 3 * kRepackRows * 4;
inline constexpr size_t kRepackIQ4XSBytes = kRepackRows * 2 + 8 * kRepackRows + 8 * 4 * kRepackRows * 4;  // IQ3_S, IQ3_XXS too
// BF16: per group and 32 elements, 16 pairs of kRepackRows x 2 bf16 values.
inline constexpr size_t kRepackBf16Bytes = 16 * kRepackRows * 4;
// Writes rows [g0, g1) groups of the repacked layout from the source rows.
using RepackFn = void (*)(const uint8_t* w, size_t w_stride, int64_t rows, int64_t k, int64_t g0, int64_t g1, uint8_t* out);
// Repacked rows [g0, g1) groups x n prepared activation rows. block_sums: the
// sum of each Q8_0 activation block's int8 values ([column][block]) where the
// GEMM reads them (RepackedGemm::block_sums), else null.
using RepackedTileFn = void (*)(const uint8_t* packed, int64_t rows, int64_t k, int64_t g0, int64_t g1, const uint8_t* a,
                                size_t a_stride, const int32_t* block_sums, int64_t n_cols, float* y, int64_t ldy);

// One weight type's repacked GEMM: how to write the layout, the tile that reads
// it, the layout's bytes per group of kRepackRows rows and block (32 elements; 256
// for the Q8_K-paired formats), and whether the tile reads each Q8_0 activation
// block's int8 sum (to start each block's integer sum at -offset * that sum,
// where the weights are stored as value + offset and multiplied unsigned;
// AVX2's sign trick for Q8_0 and IQ4_NL needs none).
struct RepackedGemm {
    RepackFn repack = nullptr;
    RepackedTileFn tile = nullptr;
    size_t unit_bytes = 0;
    bool block_sums = false;
};

struct KernelSet {
    DotTileFn tile[kMaxTypeId] = {};  // by weight type id; null: no kernel, use the generic path
    DotF32Fn dot_f32 = nullptr;       // for the generic path (decoded weight row . f32 activations)
    QuantizeFn quantize[kMaxTypeId] = {};  // by activation type id; null: the reference quantizer
    RepackedGemm repacked[kMaxTypeId] = {};  // by weight type id; null functions: no repacked GEMM for it
    ScoresF16Fn scores_f16 = nullptr;  // attention over the f16 KV cache; null: attention.cpp's scalar loops
    MixF16Fn mix_f16 = nullptr;
    ScaleRoundF16Fn scale_round_f16 = nullptr;
    ExpSumFn exp_sum = nullptr;  // null: std::exp and a sequential sum
    GegluFn geglu = nullptr;           // null: geglu.cpp's scalar loop
    DotTileFn get(GgmlType t) const {
        const auto id = static_cast<uint32_t>(t);
        return id < kMaxTypeId ? tile[id] : nullptr;
    }
};

const KernelSet& kernel_set(Isa isa);

// Filled by the per-ISA translation units (the only files built with ISA flags).
namespace scalar { void fill(KernelSet* set); }  // portable C++ (scalar_kernels.cpp)
namespace avx2 { void fill(KernelSet* set); }
namespace avx512 { void fill(KernelSet* set); }
namespace neon { void fill(KernelSet* set); }
namespace neon_dotprod { void fill(KernelSet* set); }

}  // namespace gmg::cpu
