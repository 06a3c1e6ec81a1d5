// Writers of the repacked layouts (kernel_table.h, repack_layouts.h): plain C++,
// run once per weight at load time, so their speed matters little and one copy
// serves every ISA.
#include "kernels/cpu/repack_layouts.h"

#include <cstring>

namespace gmg::cpu::layout {
namespace {

uint32_t load32(const void* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// Row r's fifth bits (bit(l) for element l of a 32-element group) into the
// group's 64 bit-plane bytes: bit 2m + h of byte 4r + e is element 16h + 4m + e,
// the element whose nibble byte 4r + e of nibble vector m holds (low nibble h = 0,
// high h = 1; kernel_table.h). Each plane is then one shift away from its place.
template <class Bit>
void add_fifth_bit_planes(uint8_t* at, int r, Bit&& bit) {
    for (int e = 0; e < 4; ++e)
        for (int m = 0; m < 4; ++m)
            for (int h = 0; h < 2; ++h) at[4 * r + e] |= static_cast<uint8_t>(bit(16 * h + 4 * m + e) << (2 * m + h));
}

// Row r's third bits (bit(l) for element l of a 16-element group, Q3_K) into
// the group's 32 bit-plane bytes: bit j + 4 (r / 8) of byte 4 (r % 8) + e is
// element 4j + e, the element in bits 2j..2j+1 of byte 4r + e of the 2-bit
// vector. Each 8-row half's plane j is then one shift away from bit 2.
template <class Bit>
void add_third_bit_planes(uint8_t* at, int r, Bit&& bit) {
    for (int e = 0; e < 4; ++e)
        for (int j = 0; j < 4; ++j) at[4 * (r % 8) + e] |= static_cast<uint8_t>(bit(4 * j + e) << (j + 4 * (r / 8)));
}

// Eight 6-bit scales and eight 6-bit mins packed in 12 bytes (Q4_K, Q5_K).
void k4_scale_min(const uint8_t* q, int i, int* sc, int* m) {
    if (i < 4) {
        *sc = q[i] & 63;
        *m = q[i + 4] & 63;
    } else {
        *sc = (q[i + 4] & 15) | ((q[i - 4] >> 6) << 4);
        *m = (q[i + 4] >> 4) | ((q[i] >> 6) << 4);
    }
}

// Q3_K's scale i (6 bits, minus 32): the low nibbles of bytes 0-7 are scales
// 0-7, their high nibbles 8-15, and two bits of bytes 8-11 go on top.
int q3k_scale(const uint8_t* scales, int i) {
    const int word = i / 4, byte = i % 4;
    const int low = word < 2 ? scales[4 * word + byte] & 15 : scales[4 * (word - 2) + byte] >> 4;
    const int high = (scales[8 + byte] >> (2 * word)) & 3;
    return (low | high << 4) - 32;
}

// IQ4_XS's sub-block g scale minus 32: nibble g of scales_l, bits 2g, 2g + 1 of scales_h.
int iq4xs_scale(const block_iq4_xs& x, int g) {
    const int low = (load32(x.scales_l) >> (4 * g)) & 15, high = (x.scales_h >> (2 * g)) & 3;
    return (low | high << 4) - 32;
}

// One super-block of a codebook kind: its f16 d, the integer scale of each
// 32 elements, and each element's codebook index.
struct CodebookBlock {
    uint16_t d;
    int8_t scale[8];
    uint8_t index[QK_K];
};

// The index of a signed grid value (a magnitude from `levels` and a sign).
uint8_t level_index(const std::array<int, 8>& levels, int magnitude, bool negative) {
    int i = 0;
    while (i < 7 && levels[i] != magnitude) ++i;
    return static_cast<uint8_t>(i + (negative ? 8 : 0));
}

void decode_codebook(const block_iq4_xs& x, CodebookBlock* o) {
    std::memcpy(&o->d, &x.d, 2);
    for (int g = 0; g < 8; ++g) {
        o->scale[g] = static_cast<int8_t>(iq4xs_scale(x, g));
        for (int l = 0; l < 16; ++l) {
            o->index[32 * g + l] = x.qs[16 * g + l] & 15;
            o->index[32 * g + 16 + l] = x.qs[16 * g + l] >> 4;
        }
    }
}

// IQ3_S: value = d * (2s + 1) * grid * sign, the grid index 9 bits (qs and one bit of qh).
void decode_codebook(const block_iq3_s& x, CodebookBlock* o) {
    std::memcpy(&o->d, &x.d, 2);
    for (int g = 0; g < 8; ++g) o->scale[g] = static_cast<int8_t>(1 + 2 * ((x.scales[g / 2] >> (4 * (g % 2))) & 15));
    for (int e = 0; e < QK_K; ++e) {
        const int i = e / 4;
        const uint32_t grid = iq::iq3s_grid[x.qs[i] | (((x.qh[i / 8] >> (i % 8)) & 1) << 8)];
        const bool negative = (x.signs[e / 8] >> (e % 8)) & 1;
        o->index[e] = level_index(kIq3sLevels, static_cast<int>((grid >> (8 * (e % 4))) & 255), negative);
    }
}

// IQ3_XXS: per 32 elements an aux word of four 7-bit sign fields (even parity
// completes each to 8 signs) and the scale s on top: value = d * (2s + 1) / 4 * grid * sign.
void decode_codebook(const block_iq3_xxs& x, CodebookBlock* o) {
    std::memcpy(&o->d, &x.d, 2);
    for (int g = 0; g < 8; ++g) {
        const uint32_t aux = load32(x.qs + QK_K / 4 + 4 * g);
        o->scale[g] = static_cast<int8_t>(2 * (aux >> 28) + 1);
        for (int e = 0; e < 32; ++e) {
            const int l = e / 8, j = e % 8;
            const uint32_t grid = iq::iq3xxs_grid[x.qs[8 * g + 2 * l + j / 4]];
            const bool negative = (iq::sign_byte((aux >> (7 * l)) & 127) >> j) & 1;
            o->index[32 * g + e] = level_index(kIq3xxsLevels, static_cast<int>((grid >> (8 * (j % 4))) & 255), negative);
        }
    }
}

// Element e's two low bits in Q2_K's and Q3_K's qs (the reference decoders' positions).
int two_bits(const uint8_t* qs, int e) { return (qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3; }

// Element e of a Q6_K super-block, 0..63 (the reference decoder's bit positions).
int q6k_value(const block_q6_K& x, int e) {
    const int h = e / 128, c = (e % 128) / 32, l = e % 32;
    const int low = (x.ql[64 * h + 32 * (c % 2) + l] >> (4 * (c / 2))) & 15;
    return low | (((x.qh[32 * h + l] >> (2 * c)) & 3) << 4);
}

}  // namespace

// Source rows -> groups of kRepackRows rows: per block, the rows' f16 scales, then
// for each 4-element chunk j the rows' bytes w + 128 side by side (as many bytes
// as the file's blocks). Rows past the end are zero weights with zero scale.
void repack_q8_0(const uint8_t* w, size_t w_stride, int64_t rows, int64_t k, int64_t g0, int64_t g1, uint8_t* out) {
    const int64_t nb = k / 32;
    for (int64_t g = g0; g < g1; ++g) {
        for (int64_t b = 0; b < nb; ++b) {
            uint8_t* dst = out + static_cast<size_t>(g * nb + b) * kRepackBlockBytes;
            uint8_t* values = dst + kRepackRows * 2;
            for (int r = 0; r < kRepackRows; ++r) {
                const int64_t row = g * kRepackRows + r;
                int8_t q[32] = {};
                uint16_t d = 0;
                if (row < rows) {
                    const block_q8_0& blk = reinterpret_cast<const block_q8_0*>(w + static_cast<size_t>(row) * w_stride)[b];
                    std::memcpy(q, blk.qs, 32);
                    d = blk.d;
                }
                std::memcpy(dst + 2 * r, &d, 2);
                for (int j = 0; j < 8; ++j)
                    for (int e = 0; e < 4; ++e)
                        values[(j * kRepackRows + r) * 4 + e] = static_cast<uint8_t>(q[4 * j + e] + 128);
            }
        }
    }
}

template <NibbleKind Kind>
void repack_nibbles(const uint8_t* w, size_t w_stride, int64_t rows, int64_t k, int64_t g0, int64_t g1, uint8_t* out) {
    using N = Nibbles<Kind>;
    const int64_t nb = k / 32;
    for (int64_t g = g0; g < g1; ++g)
        for (int64_t b = 0; b < nb; ++b) {
            uint8_t* dst = out + static_cast<size_t>(g * nb + b) * N::unit;
            for (int r = 0; r < kRepackRows; ++r) {
                const int64_t row = g * kRepackRows + r;
                if (row >= rows) continue;  // zero scale, zero bits
                const auto& blk = reinterpret_cast<const typename N::Block*>(w + static_cast<size_t>(row) * w_stride)[b];
                std::memcpy(dst + 2 * r, &blk.d, 2);
                if constexpr (N::minimum) std::memcpy(dst + kRepackRows * 2 + 2 * r, &blk.m, 2);
                if constexpr (N::fifth) {
                    const uint32_t qh = load32(blk.qh);
                    add_fifth_bit_planes(dst + N::planes, r, [&](int l) { return (qh >> l) & 1u; });
                }
                for (int m = 0; m < 4; ++m) std::memcpy(dst + N::values + (m * kRepackRows + r) * 4, blk.qs + 4 * m, 4);
            }
        }
}

template <CompactK Kind>
void repack_compact(const uint8_t* w, size_t w_stride, int64_t rows, int64_t k, int64_t g0, int64_t g1, uint8_t* out) {
    using L = CompactLayout<Kind>;
    const int64_t nb = k / QK_K;
    for (int64_t g = g0; g < g1; ++g)
        for (int64_t b = 0; b < nb; ++b) {
            uint8_t* dst = out + static_cast<size_t>(g * nb + b) * L::unit;
            for (int r = 0; r < kRepackRows; ++r) {
                const int64_t row = g * kRepackRows + r;
                if (row >= rows) continue;  // zero scales, zero values
                const auto& x = reinterpret_cast<const CompactBlock<Kind>*>(w + static_cast<size_t>(row) * w_stride)[b];
                auto value_word = [&](int grp, int m) { return dst + L::values + grp * L::group_bytes + (m * kRepackRows + r) * 4; };
                auto put_min = [&](int grp, int m) { dst[L::mins + (grp / 2) * kRepackRows * 2 + 2 * r + grp % 2] = static_cast<uint8_t>(m); };
                if constexpr (Kind == kQ4K || Kind == kQ5K) {
                    std::memcpy(dst + 2 * r, &x.d, 2);
                    std::memcpy(dst + kRepackRows * 2 + 2 * r, &x.dmin, 2);
                    for (int j = 0; j < 8; ++j) {
                        int sc, mn;
                        k4_scale_min(x.scales, j, &sc, &mn);
                        dst[L::scales + j * kRepackRows + r] = static_cast<uint8_t>(sc);
                        put_min(j, mn);
                        auto nib = [&](int l) { return (x.qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 15; };
                        for (int m = 0; m < 4; ++m)
                            for (int e = 0; e < 4; ++e) value_word(j, m)[e] = static_cast<uint8_t>(nib(4 * m + e) | nib(16 + 4 * m + e) << 4);
                        if constexpr (Kind == kQ5K)  // fifth bits as Q5_0's planes, after the group's nibbles
                            add_fifth_bit_planes(dst + L::values + j * L::group_bytes + 4 * kRepackRows * 4, r,
                                                [&](int l) { return (x.qh[l] >> j) & 1u; });
                    }
                } else if constexpr (is_codebook(Kind)) {
                    CodebookBlock cb;
                    decode_codebook(x, &cb);
                    std::memcpy(dst + 2 * r, &cb.d, 2);
                    for (int j = 0; j < 8; ++j) {
                        dst[L::scales + j * kRepackRows + r] = static_cast<uint8_t>(cb.scale[j]);
                        const uint8_t* idx = cb.index + 32 * j;
                        for (int m = 0; m < 4; ++m)
                            for (int e = 0; e < 4; ++e) value_word(j, m)[e] = static_cast<uint8_t>(idx[4 * m + e] | idx[16 + 4 * m + e] << 4);
                    }
                } else if constexpr (is_two_bit_plane(Kind)) {
                    std::memcpy(dst + 2 * r, &x.d, 2);
                    uint8_t sc[16];
                    if constexpr (Kind == kQ2K) {
                        std::memcpy(dst + kRepackRows * 2 + 2 * r, &x.dmin, 2);
                        for (int i = 0; i < 16; ++i) {
                            sc[i] = x.scales[i] & 15;
                            put_min(i, x.scales[i] >> 4);
                        }
                    } else {
                        for (int i = 0; i < 16; ++i) sc[i] = static_cast<uint8_t>(q3k_scale(x.scales, i));
                    }
                    for (int i = 0; i < 16; ++i) {
                        dst[L::scales + i * kRepackRows + r] = sc[i];
                        uint8_t* q = dst + L::values + i * L::group_bytes;
                        for (int e = 0; e < 4; ++e) {
                            int plane = 0;
                            for (int j = 0; j < 4; ++j) plane |= two_bits(x.qs, 16 * i + 4 * j + e) << (2 * j);
                            q[4 * r + e] = static_cast<uint8_t>(plane);
                        }
                        if constexpr (Kind == kQ3K)  // element l's third bit, from hmask
                            add_third_bit_planes(q + kRepackRows * 4, r, [&](int l) {
                                const int el = 16 * i + l;
                                return (x.hmask[el % 32] >> (4 * (el / 128) + (el % 128) / 32)) & 1u;
                            });
                    }
                } else {
                    std::memcpy(dst + 2 * r, &x.d, 2);
                    for (int i = 0; i < 16; ++i) {
                        dst[L::scales + i * kRepackRows + r] = static_cast<uint8_t>(x.scales[i]);
                        for (int e = 0; e < 4; ++e) {
                            int q[4], high = 0;
                            for (int j = 0; j < 4; ++j) {
                                q[j] = q6k_value(x, 16 * i + 4 * j + e);
                                high |= (q[j] >> 4) << (2 * j);
                            }
                            value_word(i, 0)[e] = static_cast<uint8_t>((q[0] & 15) | (q[2] & 15) << 4);
                            value_word(i, 1)[e] = static_cast<uint8_t>((q[1] & 15) | (q[3] & 15) << 4);
                            value_word(i, 2)[e] = static_cast<uint8_t>(high);
                        }
                    }
                }
            }
        }
}

GMG_REPACK_WRITERS()

}  // namespace gmg::cpu::layout
