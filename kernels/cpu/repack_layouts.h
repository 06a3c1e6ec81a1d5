// The repacked weight layouts (their bytes are laid out in kernel_table.h), as
// compile-time facts and portable writers: every ISA's repacked GEMM (x86 and
// NEON) reads the same bytes, written by one piece of code built without ISA flags.
// Only constants, types, declarations, one loop template and constexpr functions
// used in constant expressions only (no code emitted) here: an ISA translation unit
// that includes this header must not leave behind a copy of a function compiled
// with its flags for the rest of the library to link.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kernels/common/block_formats.h"
#include "kernels/common/iq_tables.h"
#include "kernels/cpu/kernel_table.h"

namespace gmg::cpu::layout {

// ---- Q8_0: per block the rows' f16 scales, then bytes w + 128 (kRepackBlockBytes) ----
void repack_q8_0(const uint8_t* w, size_t w_stride, int64_t rows, int64_t k, int64_t g0, int64_t g1, uint8_t* out);

// ---- the 32-element nibble formats: Q4_0, IQ4_NL, Q5_0, Q4_1, Q5_1 ----
// Q4_1/Q5_1 (d * q + m, Q8_1 activations) carry each row's m after its d.
enum NibbleKind { kQ4_0, kIQ4_NL, kQ5_0, kQ4_1, kQ5_1 };
template <NibbleKind Kind>
struct Nibbles {
    using Block = std::conditional_t<Kind == kQ4_0, block_q4_0, std::conditional_t<Kind == kIQ4_NL, block_iq4_nl,
                  std::conditional_t<Kind == kQ5_0, block_q5_0, std::conditional_t<Kind == kQ4_1, block_q4_1, block_q5_1>>>>;
    static constexpr bool fifth = Kind == kQ5_0 || Kind == kQ5_1;
    static constexpr bool minimum = Kind == kQ4_1 || Kind == kQ5_1;
    using Act = std::conditional_t<minimum, block_q8_1, block_q8_0>;
    // u = w + offset, the value a GEMM multiplies unsigned (IQ4_NL: its codebook entry + 128)
    static constexpr int offset = Kind == kQ4_0 ? 8 : Kind == kIQ4_NL ? 128 : Kind == kQ5_0 ? 16 : 0;
    static constexpr size_t planes = kRepackRows * 2 * (minimum ? 2 : 1);  // the fifth bits' 64 bit-plane bytes
    static constexpr size_t values = planes + (fifth ? 64 : 0);            // 4 nibble vectors of kRepackRows x 4 bytes
    static constexpr size_t unit = values + 4 * kRepackRows * 4;
};
static_assert(Nibbles<kQ4_0>::unit == kRepackQ4Bytes && Nibbles<kQ5_0>::unit == kRepackQ5Bytes &&
              Nibbles<kQ4_1>::unit == kRepackQ4_1Bytes && Nibbles<kQ5_1>::unit == kRepackQ5_1Bytes);

template <NibbleKind Kind>
void repack_nibbles(const uint8_t* w, size_t w_stride, int64_t rows, int64_t k, int64_t g0, int64_t g1, uint8_t* out);

// A 16-entry codebook as unsigned bytes (value + 128): vpshufb / tbl tables.
struct UnsignedCodebook {
    alignas(16) uint8_t v[16];
};
namespace detail {
constexpr UnsignedCodebook iq4nl_unsigned() {
    UnsignedCodebook c{};
    for (int i = 0; i < 16; ++i) c.v[i] = static_cast<uint8_t>(iq::kvalues_iq4nl[i] + 128);
    return c;
}
// IQ3_S / IQ3_XXS: index = level + 8 * sign over the format's 8 magnitudes.
constexpr UnsignedCodebook signed_levels(const std::array<int, 8>& levels) {
    UnsignedCodebook c{};
    for (int i = 0; i < 8; ++i) {
        c.v[i] = static_cast<uint8_t>(128 + levels[i]);
        c.v[i + 8] = static_cast<uint8_t>(128 - levels[i]);
    }
    return c;
}
}  // namespace detail
inline constexpr UnsignedCodebook kIq4nlUnsigned = detail::iq4nl_unsigned();
// The byte values of iq::iq3s_grid and iq::iq3xxs_grid (kernels/common/iq_tables.cpp).
inline constexpr std::array<int, 8> kIq3sLevels{1, 3, 5, 7, 9, 11, 13, 15};
inline constexpr std::array<int, 8> kIq3xxsLevels{4, 12, 20, 28, 36, 44, 52, 62};

// ---- the super-block formats' compact layouts (Q8_K activations) ----
// IQ3_S and IQ3_XXS take IQ4_XS's layout: each of their values is one of 8
// magnitudes and a sign, so a 4-bit index into a 16-entry codebook of their own.
enum CompactK { kQ2K, kQ3K, kQ4K, kQ5K, kQ6K, kIQ4XS, kIQ3S, kIQ3XXS };
constexpr bool has_mins(CompactK kind) { return kind == kQ2K || kind == kQ4K || kind == kQ5K; }
constexpr bool is_codebook(CompactK kind) { return kind == kIQ4XS || kind == kIQ3S || kind == kIQ3XXS; }
constexpr bool is_two_bit_plane(CompactK kind) { return kind == kQ2K || kind == kQ3K; }

template <CompactK Kind>
struct CompactLayout {
    static constexpr size_t unit = Kind == kQ2K   ? kRepackQ2KBytes
                                   : Kind == kQ3K ? kRepackQ3KBytes
                                   : Kind == kQ4K ? kRepackQ4KBytes
                                   : Kind == kQ5K ? kRepackQ5KBytes
                                   : Kind == kQ6K ? kRepackQ6KBytes
                                                  : kRepackIQ4XSBytes;
    static constexpr int groups = Kind == kQ2K || Kind == kQ3K || Kind == kQ6K ? 16 : 8;  // scale groups per super-block
    static constexpr size_t scales = has_mins(Kind) ? kRepackRows * 4 : kRepackRows * 2;  // after d (and dmin)
    static constexpr size_t mins = scales + groups * kRepackRows;  // in row pairs: [groups / 2][kRepackRows][2]
    static constexpr size_t values = mins + (has_mins(Kind) ? groups * kRepackRows : 0);
    static constexpr size_t group_bytes = Kind == kQ2K   ? kRepackRows * 4                // 2-bit plane
                                          : Kind == kQ3K ? kRepackRows * 4 + 32           // and the third bits' planes
                                          : Kind == kQ6K ? 3 * kRepackRows * 4
                                                         : 4 * kRepackRows * 4 + (Kind == kQ5K ? 64 : 0);
    // u = value + offset (the integer sums start at -offset * the activation sum)
    static constexpr int offset = is_codebook(Kind) ? 128 : Kind == kQ6K ? 32 : Kind == kQ3K ? 4 : 0;
    // the codebook kinds' scales: d * scale * factor (IQ3_XXS: d * (2s + 1) / 4)
    static constexpr float factor = Kind == kIQ3XXS ? 0.25f : 1.0f;
    static_assert(values + groups * group_bytes == unit);
};

template <CompactK Kind>
inline constexpr UnsignedCodebook kCodebook = Kind == kIQ3S     ? detail::signed_levels(kIq3sLevels)
                                              : Kind == kIQ3XXS ? detail::signed_levels(kIq3xxsLevels)
                                                                : kIq4nlUnsigned;

template <CompactK Kind>
using CompactBlock = std::conditional_t<Kind == kQ2K, block_q2_K, std::conditional_t<Kind == kQ3K, block_q3_K,
                     std::conditional_t<Kind == kQ4K, block_q4_K, std::conditional_t<Kind == kQ5K, block_q5_K,
                     std::conditional_t<Kind == kQ6K, block_q6_K, std::conditional_t<Kind == kIQ4XS, block_iq4_xs,
                     std::conditional_t<Kind == kIQ3S, block_iq3_s, block_iq3_xxs>>>>>>>;

template <CompactK Kind>
void repack_compact(const uint8_t* w, size_t w_stride, int64_t rows, int64_t k, int64_t g0, int64_t g1, uint8_t* out);

// Calls f.operator()<NC>() with NC = min(nc, kMax), a compile-time column count
// (nc >= 1). Like repacked_loop, instantiated only with each ISA file's own lambdas.
template <int kMax, class F>
void with_columns(int nc, F&& f) {
    if constexpr (kMax > 1) {
        if (nc < kMax) return with_columns<kMax - 1>(nc, f);
    }
    f.template operator()<kMax>();
}

// The loop every repacked GEMM shares: row groups [g0, g1), columns in tiles of
// kCols, a partial last group written through a buffer. tile(pg, c0, nc, out)
// computes one group x nc columns into out[c] (kRepackRows floats each). (A
// template instantiated with each ISA file's own lambda, so no copy is shared.)
template <int kCols, class Tile>
void repacked_loop(const uint8_t* packed, size_t unit_bytes, int64_t nb, int64_t rows, int64_t g0, int64_t g1,
                   int64_t n_cols, float* y, int64_t ldy, Tile&& tile) {
    float tmp[kCols][kRepackRows];
    for (int64_t g = g0; g < g1; ++g) {
        const uint8_t* pg = packed + static_cast<size_t>(g * nb) * unit_bytes;
        const int64_t r0 = g * kRepackRows, nr = rows - r0 < kRepackRows ? rows - r0 : kRepackRows;
        for (int64_t c0 = 0; c0 < n_cols; c0 += kCols) {
            const int nc = static_cast<int>(n_cols - c0 < kCols ? n_cols - c0 : kCols);
            float* out[kCols];
            for (int c = 0; c < nc; ++c) out[c] = nr == kRepackRows ? y + (c0 + c) * ldy + r0 : tmp[c];
            tile(pg, c0, nc, out);
            if (nr < kRepackRows)
                for (int c = 0; c < nc; ++c)
                    for (int64_t r = 0; r < nr; ++r) y[(c0 + c) * ldy + r0 + r] = tmp[c][r];
        }
    }
}

// The writers are instantiated once, in repack_layouts.cpp.
#define GMG_REPACK_WRITER(EXTERN, NAME, KIND) \
    EXTERN template void NAME<KIND>(const uint8_t*, size_t, int64_t, int64_t, int64_t, int64_t, uint8_t*);
#define GMG_REPACK_WRITERS(EXTERN)                                                                              \
    GMG_REPACK_WRITER(EXTERN, repack_nibbles, kQ4_0) GMG_REPACK_WRITER(EXTERN, repack_nibbles, kIQ4_NL)         \
    GMG_REPACK_WRITER(EXTERN, repack_nibbles, kQ5_0) GMG_REPACK_WRITER(EXTERN, repack_nibbles, kQ4_1)           \
    GMG_REPACK_WRITER(EXTERN, repack_nibbles, kQ5_1) GMG_REPACK_WRITER(EXTERN, repack_compact, kQ2K)            \
    GMG_REPACK_WRITER(EXTERN, repack_compact, kQ3K) GMG_REPACK_WRITER(EXTERN, repack_compact, kQ4K)             \
    GMG_REPACK_WRITER(EXTERN, repack_compact, kQ5K) GMG_REPACK_WRITER(EXTERN, repack_compact, kQ6K)             \
    GMG_REPACK_WRITER(EXTERN, repack_compact, kIQ4XS) GMG_REPACK_WRITER(EXTERN, repack_compact, kIQ3S)          \
    GMG_REPACK_WRITER(EXTERN, repack_compact, kIQ3XXS)
GMG_REPACK_WRITERS(extern)

}  // namespace gmg::cpu::layout
