// Reference decoders for the codebook ("IQ") formats and IQ4_XS.
#include "../common/half.h"
#include "../common/iq_tables.h"
#include "dequantize.h"
#include "load.h"

namespace gmg::ref {
namespace {

// Byte j of a packed codebook entry.
inline float grid_byte(uint64_t entry, int j) { return static_cast<float>(static_cast<uint8_t>(entry >> (8 * j))); }
inline float grid_int8(uint64_t entry, int j) { return static_cast<float>(static_cast<int8_t>(entry >> (8 * j))); }
inline float sign_of(uint32_t mask, int j) { return (mask >> j) & 1u ? -1.0f : 1.0f; }

}  // namespace

// Per 32 elements: a0 holds four grid indices, a1 four 7-bit sign indices and a 4-bit scale.
void dequantize_row_iq2_xxs(const block_iq2_xxs* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b) {
        const float d = f16_to_f32(x[b].d);
        const uint8_t* qs = reinterpret_cast<const uint8_t*>(x[b].qs);
        for (int g = 0; g < QK_K / 32; ++g) {
            const uint32_t a0 = load_u32(qs + 8 * g);
            const uint32_t a1 = load_u32(qs + 8 * g + 4);
            const float db = d * (0.5f + static_cast<float>(a1 >> 28)) * 0.25f;
            for (int l = 0; l < 4; ++l, y += 8) {
                const uint64_t grid = iq::iq2xxs_grid[(a0 >> (8 * l)) & 255];
                const uint8_t signs = iq::sign_byte(a1 >> (7 * l));
                for (int j = 0; j < 8; ++j) y[j] = db * grid_byte(grid, j) * sign_of(signs, j);
            }
        }
    }
}

// Two 4-bit scales per 32 elements: the low nibble for the first 16, the high for the rest.
static inline float iq2_group_scale(float d, uint8_t scales, int l) {
    const int nib = l < 2 ? (scales & 15) : (scales >> 4);
    return d * (0.5f + static_cast<float>(nib)) * 0.25f;
}

void dequantize_row_iq2_xs(const block_iq2_xs* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b) {
        const float d = f16_to_f32(x[b].d);
        for (int g = 0; g < QK_K / 32; ++g) {
            for (int l = 0; l < 4; ++l, y += 8) {
                const float db = iq2_group_scale(d, x[b].scales[g], l);
                const uint16_t w = x[b].qs[4 * g + l];
                const uint64_t grid = iq::iq2xs_grid[w & 511];
                const uint8_t signs = iq::sign_byte(w >> 9);
                for (int j = 0; j < 8; ++j) y[j] = db * grid_byte(grid, j) * sign_of(signs, j);
            }
        }
    }
}

void dequantize_row_iq2_s(const block_iq2_s* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b) {
        const float d = f16_to_f32(x[b].d);
        const uint8_t* signs = x[b].qs + QK_K / 8;
        for (int g = 0; g < QK_K / 32; ++g) {
            for (int l = 0; l < 4; ++l, y += 8) {
                const float db = iq2_group_scale(d, x[b].scales[g], l);
                const int idx = x[b].qs[4 * g + l] | (((x[b].qh[g] >> (2 * l)) & 3) << 8);
                const uint64_t grid = iq::iq2s_grid[idx];
                for (int j = 0; j < 8; ++j) y[j] = db * grid_byte(grid, j) * sign_of(signs[4 * g + l], j);
            }
        }
    }
}

void dequantize_row_iq3_xxs(const block_iq3_xxs* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b) {
        const float d = f16_to_f32(x[b].d);
        const uint8_t* qs = x[b].qs;
        const uint8_t* scale_signs = x[b].qs + QK_K / 4;
        for (int g = 0; g < QK_K / 32; ++g) {
            const uint32_t a = load_u32(scale_signs + 4 * g);
            const float db = d * (0.5f + static_cast<float>(a >> 28)) * 0.5f;
            for (int l = 0; l < 4; ++l, y += 8) {
                const uint8_t signs = iq::sign_byte(a >> (7 * l));
                const uint32_t lo = iq::iq3xxs_grid[qs[8 * g + 2 * l]];
                const uint32_t hi = iq::iq3xxs_grid[qs[8 * g + 2 * l + 1]];
                for (int j = 0; j < 4; ++j) {
                    y[j] = db * grid_byte(lo, j) * sign_of(signs, j);
                    y[j + 4] = db * grid_byte(hi, j) * sign_of(signs, j + 4);
                }
            }
        }
    }
}

// IQ3_S: grid index i (4 elements) = qs[i] plus bit i%8 of qh[i/8] as its ninth bit;
// the scale nibble k covers elements 32k..32k+31.
void dequantize_row_iq3_s(const block_iq3_s* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b, y += QK_K) {
        const float d = f16_to_f32(x[b].d);
        for (int e = 0; e < QK_K; e += 4) {
            const int k = e / 32;
            const int nib = (x[b].scales[k / 2] >> (4 * (k % 2))) & 15;
            const float db = d * static_cast<float>(1 + 2 * nib);
            const int i = e / 4;
            const int idx = x[b].qs[i] | (((x[b].qh[i / 8] >> (i % 8)) & 1) << 8);
            const uint32_t grid = iq::iq3s_grid[idx];
            for (int j = 0; j < 4; ++j)
                y[e + j] = db * grid_byte(grid, j) * sign_of(x[b].signs[(e + j) / 8], (e + j) % 8);
        }
    }
}

void dequantize_row_iq1_s(const block_iq1_s* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b) {
        const float d = f16_to_f32(x[b].d);
        for (int g = 0; g < QK_K / 32; ++g) {
            const uint16_t qh = x[b].qh[g];
            const float dl = d * static_cast<float>(2 * ((qh >> 12) & 7) + 1);
            const float delta = qh & 0x8000 ? -iq::iq1_delta : iq::iq1_delta;
            for (int l = 0; l < 4; ++l, y += 8) {
                const uint64_t grid = iq::iq1s_grid[x[b].qs[4 * g + l] | (((qh >> (3 * l)) & 7) << 8)];
                for (int j = 0; j < 8; ++j) y[j] = dl * (grid_int8(grid, j) + delta);
            }
        }
    }
}

// IQ1_M has no d field: its f16 bits are the top nibbles of the four u16 scale words.
void dequantize_row_iq1_m(const block_iq1_m* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b) {
        uint16_t sc[4];
        for (int i = 0; i < 4; ++i) sc[i] = load_u16(x[b].scales + 2 * i);
        const uint16_t d_bits = static_cast<uint16_t>((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) |
                                                      ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000));
        const float d = f16_to_f32(d_bits);
        for (int i = 0; i < QK_K / 8; ++i, y += 8) {  // i: one 8-element grid entry
            const int s = (sc[i / 8] >> (3 * ((i / 2) % 4))) & 7;  // one 3-bit scale per 16 elements
            const float dl = d * static_cast<float>(2 * s + 1);
            const int qh = (x[b].qh[i / 2] >> (4 * (i % 2))) & 15;
            const float delta = qh & 8 ? -iq::iq1_delta : iq::iq1_delta;
            const uint64_t grid = iq::iq1s_grid[x[b].qs[i] | ((qh & 7) << 8)];
            for (int j = 0; j < 8; ++j) y[j] = dl * (grid_int8(grid, j) + delta);
        }
    }
}

void dequantize_row_iq4_xs(const block_iq4_xs* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b) {
        const float d = f16_to_f32(x[b].d);
        for (int g = 0; g < QK_K / 32; ++g, y += 32) {
            const int low = (x[b].scales_l[g / 2] >> (4 * (g % 2))) & 15;
            const int high = (x[b].scales_h >> (2 * g)) & 3;
            const float dl = d * static_cast<float>((low | (high << 4)) - 32);
            const uint8_t* qs = x[b].qs + 16 * g;
            for (int j = 0; j < 16; ++j) {
                y[j] = dl * static_cast<float>(iq::kvalues_iq4nl[qs[j] & 15]);
                y[j + 16] = dl * static_cast<float>(iq::kvalues_iq4nl[qs[j] >> 4]);
            }
        }
    }
}

}  // namespace gmg::ref
