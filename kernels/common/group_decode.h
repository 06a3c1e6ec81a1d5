// Every integer GGUF block format seen 32 elements at a time, as the GPU kernels
// and the NEON kernels read it: 32 signed 8-bit values q (packed four to a 32-bit word), a scale d per
// 16 elements, an integer offset and a float offset m per 16 elements, so that
//     weight[e] = d[e/16] * (q[e] - off) - m[e/16].
// Every format fits this form exactly (IQ1's +-1/8 deltas by scaling q by 8), so
// one dot-product loop serves them all: an int8 dot of q with the quantized
// activations (dp4a on the device), an int8 sum of the activations for the
// offsets, then one float scaling per group.
//
// Host-device code: the GPU kernels compile it with nvcc/hipcc, the NEON kernels
// (kernels/cpu/arm/) and the CPU unit tests with g++; the tests check every format
// against the reference decoders (tests/unit/test_gpu_group_decode.cpp), so the
// block arithmetic is proven on machines without a GPU.
#pragma once
#include <cstdint>

#include "kernels/common/block_formats.h"
#include "kernels/common/compat.h"
#include "kernels/common/ggml_type.h"
#include "kernels/common/half.h"
#include "kernels/common/iq_tables.h"

namespace gmg::groups {

// Codebooks the IQ formats index; on the host they point at gmg::iq's tables
// (host_tables()), on the device at copies uploaded once (kernels/gpu/device.cu).
struct GridTables {
    const uint64_t* iq2xxs = nullptr;
    const uint64_t* iq2xs = nullptr;
    const uint64_t* iq2s = nullptr;
    const uint32_t* iq3xxs = nullptr;
    const uint32_t* iq3s = nullptr;
    const uint64_t* iq1s = nullptr;
    const int8_t* iq4nl = nullptr;  // 16 values
    const int8_t* fp4 = nullptr;    // 16 values (E2M1 doubled)
};

// The host's tables (the CPU kernels and tests; device code gets uploaded copies).
inline GridTables host_tables() {
    GridTables t;
    t.iq2xxs = iq::iq2xxs_grid;
    t.iq2xs = iq::iq2xs_grid;
    t.iq2s = iq::iq2s_grid;
    t.iq3xxs = iq::iq3xxs_grid;
    t.iq3s = iq::iq3s_grid;
    t.iq1s = iq::iq1s_grid;
    t.iq4nl = iq::kvalues_iq4nl;
    t.fp4 = iq::kvalues_fp4;
    return t;
}

struct QGroup {
    int32_t q[8];  // element 4i+k in byte k of q[i]
    float d[2];
    float m[2];
    int off;
};

// ---- small host-device helpers ------------------------------------------------

// Byte loads only: blocks of 17, 18, 22 or 34 bytes leave every wider field unaligned.
GMG_HOST_DEVICE inline uint32_t ld_u16(const uint8_t* p) { return p[0] | (static_cast<uint32_t>(p[1]) << 8); }
GMG_HOST_DEVICE inline uint32_t ld_u32(const uint8_t* p) {
    return p[0] | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
           (static_cast<uint32_t>(p[3]) << 24);
}
GMG_HOST_DEVICE inline float ld_half(const uint8_t* p) { return f16_to_f32(static_cast<uint16_t>(ld_u16(p))); }

GMG_HOST_DEVICE inline int32_t pack4(int b0, int b1, int b2, int b3) {
    return static_cast<int32_t>((static_cast<uint32_t>(b0) & 255u) | ((static_cast<uint32_t>(b1) & 255u) << 8) |
                                ((static_cast<uint32_t>(b2) & 255u) << 16) | ((static_cast<uint32_t>(b3) & 255u) << 24));
}

GMG_HOST_DEVICE inline int byte_of(uint32_t w, int k) { return static_cast<int>((w >> (8 * k)) & 255u); }
GMG_HOST_DEVICE inline int sbyte_of(uint32_t w, int k) { return static_cast<int8_t>((w >> (8 * k)) & 255u); }

// Four nibbles (one per byte, each 0..15) through a 16-entry codebook.
GMG_HOST_DEVICE inline int32_t lookup4(const int8_t* table, uint32_t nibbles) {
    return pack4(table[byte_of(nibbles, 0)], table[byte_of(nibbles, 1)], table[byte_of(nibbles, 2)],
                 table[byte_of(nibbles, 3)]);
}

// Four unsigned grid bytes, byte k negated where bit k of signs is set.
GMG_HOST_DEVICE inline int32_t signed4(uint32_t grid, uint32_t signs) {
    int v[4];
    for (int k = 0; k < 4; ++k) v[k] = (signs >> k) & 1u ? -byte_of(grid, k) : byte_of(grid, k);
    return pack4(v[0], v[1], v[2], v[3]);
}

// Grid entry l of a group (8 unsigned bytes) into words 2l, 2l+1, byte k negated where bit k of signs is set.
GMG_HOST_DEVICE inline void signed_grid8(QGroup& g, int l, uint64_t grid, uint32_t signs) {
    g.q[2 * l] = signed4(static_cast<uint32_t>(grid), signs & 15u);
    g.q[2 * l + 1] = signed4(static_cast<uint32_t>(grid >> 32), (signs >> 4) & 15u);
}

// Bits 0..3 of `bits` moved to bit 4 of bytes 0..3 (the fifth bit of Q5 formats).
GMG_HOST_DEVICE inline uint32_t spread_bit4(uint32_t bits) {
    return ((bits & 1u) << 4) | ((bits & 2u) << 11) | ((bits & 4u) << 18) | ((bits & 8u) << 25);
}

// 8 int8 grid values v in {-1, 0, 1} (IQ1) as 8*v + s, s = +-1: the 1/8 delta in integers.
GMG_HOST_DEVICE inline int32_t iq1_word(uint32_t grid, int s) {
    return pack4(8 * sbyte_of(grid, 0) + s, 8 * sbyte_of(grid, 1) + s, 8 * sbyte_of(grid, 2) + s,
                 8 * sbyte_of(grid, 3) + s);
}

GMG_HOST_DEVICE inline void iq1_grid8(QGroup& g, int l, uint64_t grid, int s) {
    g.q[2 * l] = iq1_word(static_cast<uint32_t>(grid), s);
    g.q[2 * l + 1] = iq1_word(static_cast<uint32_t>(grid >> 32), s);
}

GMG_HOST_DEVICE inline void set_scales(QGroup& g, float d0, float d1, float m0, float m1, int off) {
    g.d[0] = d0;
    g.d[1] = d1;
    g.m[0] = m0;
    g.m[1] = m1;
    g.off = off;
}

// Two nibble planes of 16 bytes: element j (< 16) in the low nibble of qs[j], j + 16 in the high.
GMG_HOST_DEVICE inline void nibble_planes(const uint8_t* qs, QGroup& g) {
    for (int i = 0; i < 4; ++i) {
        const uint32_t w = ld_u32(qs + 4 * i);
        g.q[i] = static_cast<int32_t>(w & 0x0f0f0f0fu);
        g.q[i + 4] = static_cast<int32_t>((w >> 4) & 0x0f0f0f0fu);
    }
}

GMG_HOST_DEVICE inline void nibble_planes_lookup(const uint8_t* qs, const int8_t* table, QGroup& g) {
    for (int i = 0; i < 4; ++i) {
        const uint32_t w = ld_u32(qs + 4 * i);
        g.q[i] = lookup4(table, w & 0x0f0f0f0fu);
        g.q[i + 4] = lookup4(table, (w >> 4) & 0x0f0f0f0fu);
    }
}

// E8M0 exponent -> 2^(e-127) / 2 (the /2 undoes the doubled fp4 codebook).
GMG_HOST_DEVICE inline float e8m0_half(uint32_t e) {
    return bits_to_f32(e < 2 ? (0x00200000u << e) : ((e - 1u) << 23));
}

// Unsigned E4M3 (bias 7) halved; 0x7F (NaN) reads as 0.
GMG_HOST_DEVICE inline float ue4m3_half(uint32_t v) {
    if (v == 0 || v == 0x7f) return 0.0f;
    const uint32_t exp = (v >> 3) & 15u, man = v & 7u;
    if (exp == 0) return static_cast<float>(man) * bits_to_f32(117u << 23);  // man * 2^-10
    return bits_to_f32(((exp + 119u) << 23) | (man << 20));                  // (1 + man/8) * 2^(exp-8)
}

GMG_HOST_DEVICE inline int q3_K_scale(const uint8_t* s, int i) {
    const int low = i < 8 ? (s[i] & 15) : (s[i - 8] >> 4);
    const int high = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
    return (low | (high << 4)) - 32;
}

GMG_HOST_DEVICE inline void k4_scale_min(const uint8_t* s, int i, int* scale, int* min) {
    if (i < 4) {
        *scale = s[i] & 63;
        *min = s[i + 4] & 63;
    } else {
        *scale = (s[i + 4] & 15) | ((s[i - 4] >> 6) << 4);
        *min = (s[i + 4] >> 4) | ((s[i] >> 6) << 4);
    }
}

GMG_HOST_DEVICE inline float iq2_scale(float d, uint32_t nibble) {
    return d * (0.5f + static_cast<float>(nibble)) * 0.25f;
}

// ---- one decoder per format: group g of the block at blk ------------------------
// Byte offsets follow the structs of kernels/common/block_formats.h.

template <GgmlType T>
struct Format;

template <>
struct Format<GgmlType::Q4_0> {
    static constexpr int kElems = 32, kBytes = 18;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int, const GridTables&, QGroup& g) {
        const float d = ld_half(b);
        nibble_planes(b + 2, g);
        set_scales(g, d, d, 0.0f, 0.0f, 8);
    }
};

template <>
struct Format<GgmlType::Q4_1> {
    static constexpr int kElems = 32, kBytes = 20;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int, const GridTables&, QGroup& g) {
        const float d = ld_half(b), min = ld_half(b + 2);
        nibble_planes(b + 4, g);
        set_scales(g, d, d, -min, -min, 0);
    }
};

GMG_HOST_DEVICE inline void q5_planes(const uint8_t* qh_bytes, const uint8_t* qs, QGroup& g) {
    const uint32_t qh = ld_u32(qh_bytes);
    nibble_planes(qs, g);
    for (int i = 0; i < 4; ++i) {
        g.q[i] |= static_cast<int32_t>(spread_bit4(qh >> (4 * i)));
        g.q[i + 4] |= static_cast<int32_t>(spread_bit4(qh >> (16 + 4 * i)));
    }
}

template <>
struct Format<GgmlType::Q5_0> {
    static constexpr int kElems = 32, kBytes = 22;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int, const GridTables&, QGroup& g) {
        const float d = ld_half(b);
        q5_planes(b + 2, b + 6, g);
        set_scales(g, d, d, 0.0f, 0.0f, 16);
    }
};

template <>
struct Format<GgmlType::Q5_1> {
    static constexpr int kElems = 32, kBytes = 24;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int, const GridTables&, QGroup& g) {
        const float d = ld_half(b), min = ld_half(b + 2);
        q5_planes(b + 4, b + 8, g);
        set_scales(g, d, d, -min, -min, 0);
    }
};

template <>
struct Format<GgmlType::Q8_0> {
    static constexpr int kElems = 32, kBytes = 34;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int, const GridTables&, QGroup& g) {
        const float d = ld_half(b);
        for (int i = 0; i < 8; ++i) g.q[i] = static_cast<int32_t>(ld_u32(b + 2 + 4 * i));
        set_scales(g, d, d, 0.0f, 0.0f, 0);
    }
};

template <>
struct Format<GgmlType::IQ4_NL> {
    static constexpr int kElems = 32, kBytes = 18;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int, const GridTables& t, QGroup& g) {
        const float d = ld_half(b);
        nibble_planes_lookup(b + 2, t.iq4nl, g);
        set_scales(g, d, d, 0.0f, 0.0f, 0);
    }
};

template <>
struct Format<GgmlType::MXFP4> {
    static constexpr int kElems = 32, kBytes = 17;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int, const GridTables& t, QGroup& g) {
        const float d = e8m0_half(b[0]);
        nibble_planes_lookup(b + 1, t.fp4, g);
        set_scales(g, d, d, 0.0f, 0.0f, 0);
    }
};

// 64 elements: four 16-element sub-blocks (scale each), low nibbles first within each.
template <>
struct Format<GgmlType::NVFP4> {
    static constexpr int kElems = 64, kBytes = 36;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int grp, const GridTables& t, QGroup& g) {
        for (int h = 0; h < 2; ++h) {
            const int s = 2 * grp + h;
            const uint32_t w0 = ld_u32(b + 4 + 8 * s), w1 = ld_u32(b + 8 + 8 * s);
            g.q[4 * h + 0] = lookup4(t.fp4, w0 & 0x0f0f0f0fu);
            g.q[4 * h + 1] = lookup4(t.fp4, w1 & 0x0f0f0f0fu);
            g.q[4 * h + 2] = lookup4(t.fp4, (w0 >> 4) & 0x0f0f0f0fu);
            g.q[4 * h + 3] = lookup4(t.fp4, (w1 >> 4) & 0x0f0f0f0fu);
        }
        set_scales(g, ue4m3_half(b[2 * grp]), ue4m3_half(b[2 * grp + 1]), 0.0f, 0.0f, 0);
    }
};

// 2-bit planes of the 256-element formats: group g = half g/4, plane g%4.
GMG_HOST_DEVICE inline void two_bit_plane(const uint8_t* qs, int grp, QGroup& g) {
    const uint8_t* q = qs + 32 * (grp / 4);
    const int shift = 2 * (grp % 4);
    for (int i = 0; i < 8; ++i) g.q[i] = static_cast<int32_t>((ld_u32(q + 4 * i) >> shift) & 0x03030303u);
}

template <>
struct Format<GgmlType::Q2_K> {
    static constexpr int kElems = 256, kBytes = 84;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int grp, const GridTables&, QGroup& g) {
        const float d = ld_half(b + 80), dmin = ld_half(b + 82);
        two_bit_plane(b + 16, grp, g);
        const uint32_t s0 = b[2 * grp], s1 = b[2 * grp + 1];
        set_scales(g, d * static_cast<float>(s0 & 15), d * static_cast<float>(s1 & 15),
                   dmin * static_cast<float>(s0 >> 4), dmin * static_cast<float>(s1 >> 4), 0);
    }
};

template <>
struct Format<GgmlType::Q3_K> {
    static constexpr int kElems = 256, kBytes = 110;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int grp, const GridTables&, QGroup& g) {
        const float d = ld_half(b + 108);
        two_bit_plane(b + 32, grp, g);
        const int shift = 4 * (grp / 4) + grp % 4;
        for (int i = 0; i < 8; ++i)  // a set hmask bit means no -4 offset: q = low + 4*bit, minus 4
            g.q[i] |= static_cast<int32_t>(((ld_u32(b + 4 * i) >> shift) & 0x01010101u) << 2);
        set_scales(g, d * static_cast<float>(q3_K_scale(b + 96, 2 * grp)),
                   d * static_cast<float>(q3_K_scale(b + 96, 2 * grp + 1)), 0.0f, 0.0f, 4);
    }
};

// Q4_K/Q5_K: group g reads the low (even g) or high nibbles of 32-byte chunk g/2.
GMG_HOST_DEVICE inline void k4_group(const uint8_t* b, const uint8_t* qs, int grp, QGroup& g) {
    const float d = ld_half(b), dmin = ld_half(b + 2);
    int sc, mn;
    k4_scale_min(b + 4, grp, &sc, &mn);
    const uint8_t* q = qs + 32 * (grp / 2);
    const int shift = 4 * (grp % 2);
    for (int i = 0; i < 8; ++i) g.q[i] = static_cast<int32_t>((ld_u32(q + 4 * i) >> shift) & 0x0f0f0f0fu);
    const float dl = d * static_cast<float>(sc), ml = dmin * static_cast<float>(mn);
    set_scales(g, dl, dl, ml, ml, 0);
}

template <>
struct Format<GgmlType::Q4_K> {
    static constexpr int kElems = 256, kBytes = 144;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int grp, const GridTables&, QGroup& g) {
        k4_group(b, b + 16, grp, g);
    }
};

template <>
struct Format<GgmlType::Q5_K> {
    static constexpr int kElems = 256, kBytes = 176;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int grp, const GridTables&, QGroup& g) {
        k4_group(b, b + 48, grp, g);
        for (int i = 0; i < 8; ++i) g.q[i] |= static_cast<int32_t>(((ld_u32(b + 16 + 4 * i) >> grp) & 0x01010101u) << 4);
    }
};

template <>
struct Format<GgmlType::Q6_K> {
    static constexpr int kElems = 256, kBytes = 210;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int grp, const GridTables&, QGroup& g) {
        const int h = grp / 4, c = grp % 4;
        const uint8_t* ql = b + 64 * h + 32 * (c % 2);
        const uint8_t* qh = b + 128 + 32 * h;
        for (int i = 0; i < 8; ++i) {
            const uint32_t low = (ld_u32(ql + 4 * i) >> (4 * (c / 2))) & 0x0f0f0f0fu;
            const uint32_t high = (ld_u32(qh + 4 * i) >> (2 * c)) & 0x03030303u;
            g.q[i] = static_cast<int32_t>(low | (high << 4));
        }
        const float d = ld_half(b + 208);
        const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
        set_scales(g, d * static_cast<float>(sc[2 * grp]), d * static_cast<float>(sc[2 * grp + 1]), 0.0f, 0.0f, 32);
    }
};

template <>
struct Format<GgmlType::IQ2_XXS> {
    static constexpr int kElems = 256, kBytes = 66;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int grp, const GridTables& t, QGroup& g) {
        const float d = ld_half(b);
        const uint32_t a0 = ld_u32(b + 2 + 8 * grp), a1 = ld_u32(b + 6 + 8 * grp);
        for (int l = 0; l < 4; ++l) {
            const uint64_t grid = t.iq2xxs[(a0 >> (8 * l)) & 255u];
            const uint32_t signs = iq::sign_byte(a1 >> (7 * l));
            signed_grid8(g, l, grid, signs);
        }
        const float db = iq2_scale(d, a1 >> 28);
        set_scales(g, db, db, 0.0f, 0.0f, 0);
    }
};

template <>
struct Format<GgmlType::IQ2_XS> {
    static constexpr int kElems = 256, kBytes = 74;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int grp, const GridTables& t, QGroup& g) {
        const float d = ld_half(b);
        for (int l = 0; l < 4; ++l) {
            const uint32_t w = ld_u16(b + 2 + 2 * (4 * grp + l));
            const uint64_t grid = t.iq2xs[w & 511u];
            const uint32_t signs = iq::sign_byte(w >> 9);
            signed_grid8(g, l, grid, signs);
        }
        const uint32_t sc = b[66 + grp];
        set_scales(g, iq2_scale(d, sc & 15u), iq2_scale(d, sc >> 4), 0.0f, 0.0f, 0);
    }
};

template <>
struct Format<GgmlType::IQ2_S> {
    static constexpr int kElems = 256, kBytes = 82;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int grp, const GridTables& t, QGroup& g) {
        const float d = ld_half(b);
        const uint8_t* qs = b + 2;
        const uint32_t qh = b[66 + grp];
        for (int l = 0; l < 4; ++l) {
            const uint32_t idx = qs[4 * grp + l] | (((qh >> (2 * l)) & 3u) << 8);
            const uint64_t grid = t.iq2s[idx];
            const uint32_t signs = qs[32 + 4 * grp + l];
            signed_grid8(g, l, grid, signs);
        }
        const uint32_t sc = b[74 + grp];
        set_scales(g, iq2_scale(d, sc & 15u), iq2_scale(d, sc >> 4), 0.0f, 0.0f, 0);
    }
};

template <>
struct Format<GgmlType::IQ3_XXS> {
    static constexpr int kElems = 256, kBytes = 98;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int grp, const GridTables& t, QGroup& g) {
        const float d = ld_half(b);
        const uint8_t* qs = b + 2;
        const uint32_t a = ld_u32(qs + 64 + 4 * grp);
        for (int l = 0; l < 4; ++l) {
            const uint32_t signs = iq::sign_byte(a >> (7 * l));
            g.q[2 * l] = signed4(t.iq3xxs[qs[8 * grp + 2 * l]], signs & 15u);
            g.q[2 * l + 1] = signed4(t.iq3xxs[qs[8 * grp + 2 * l + 1]], signs >> 4);
        }
        const float db = d * (0.5f + static_cast<float>(a >> 28)) * 0.5f;
        set_scales(g, db, db, 0.0f, 0.0f, 0);
    }
};

template <>
struct Format<GgmlType::IQ3_S> {
    static constexpr int kElems = 256, kBytes = 110;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int grp, const GridTables& t, QGroup& g) {
        const float d = ld_half(b);
        const uint8_t* qs = b + 2;
        const uint32_t qh = b[66 + grp];
        const uint8_t* signs = b + 74 + 4 * grp;
        for (int k = 0; k < 8; ++k) {
            const uint32_t idx = qs[8 * grp + k] | (((qh >> k) & 1u) << 8);
            g.q[k] = signed4(t.iq3s[idx], (static_cast<uint32_t>(signs[k / 2]) >> (4 * (k % 2))) & 15u);
        }
        const uint32_t nib = (static_cast<uint32_t>(b[106 + grp / 2]) >> (4 * (grp % 2))) & 15u;
        const float db = d * static_cast<float>(1 + 2 * nib);
        set_scales(g, db, db, 0.0f, 0.0f, 0);
    }
};

template <>
struct Format<GgmlType::IQ1_S> {
    static constexpr int kElems = 256, kBytes = 50;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int grp, const GridTables& t, QGroup& g) {
        const float d = ld_half(b);
        const uint32_t qh = ld_u16(b + 34 + 2 * grp);
        const int s = qh & 0x8000u ? -1 : 1;
        for (int l = 0; l < 4; ++l) {
            const uint64_t grid = t.iq1s[b[2 + 4 * grp + l] | (((qh >> (3 * l)) & 7u) << 8)];
            iq1_grid8(g, l, grid, s);
        }
        const float dl = d * static_cast<float>(2 * ((qh >> 12) & 7u) + 1) * 0.125f;
        set_scales(g, dl, dl, 0.0f, 0.0f, 0);
    }
};

template <>
struct Format<GgmlType::IQ1_M> {
    static constexpr int kElems = 256, kBytes = 56;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int grp, const GridTables& t, QGroup& g) {
        uint32_t sc[4];
        for (int i = 0; i < 4; ++i) sc[i] = ld_u16(b + 48 + 2 * i);
        const uint32_t d_bits = (sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0u) | ((sc[2] >> 4) & 0x0f00u) | (sc[3] & 0xf000u);
        const float d = f16_to_f32(static_cast<uint16_t>(d_bits));
        float dl[2];
        for (int l = 0; l < 4; ++l) {
            const int i = 4 * grp + l;  // one 8-element grid entry
            const uint32_t qhn = (static_cast<uint32_t>(b[32 + i / 2]) >> (4 * (i % 2))) & 15u;
            const uint64_t grid = t.iq1s[b[i] | ((qhn & 7u) << 8)];
            const int s = qhn & 8u ? -1 : 1;
            iq1_grid8(g, l, grid, s);
            if (l % 2 == 0) {
                const uint32_t s3 = (sc[i / 8] >> (3 * ((i / 2) % 4))) & 7u;
                dl[l / 2] = d * static_cast<float>(2 * s3 + 1) * 0.125f;
            }
        }
        set_scales(g, dl[0], dl[1], 0.0f, 0.0f, 0);
    }
};

template <>
struct Format<GgmlType::IQ4_XS> {
    static constexpr int kElems = 256, kBytes = 136;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int grp, const GridTables& t, QGroup& g) {
        const float d = ld_half(b);
        const uint32_t low = (static_cast<uint32_t>(b[4 + grp / 2]) >> (4 * (grp % 2))) & 15u;
        const uint32_t high = (ld_u16(b + 2) >> (2 * grp)) & 3u;
        nibble_planes_lookup(b + 8 + 16 * grp, t.iq4nl, g);
        const float dl = d * static_cast<float>(static_cast<int>(low | (high << 4)) - 32);
        set_scales(g, dl, dl, 0.0f, 0.0f, 0);
    }
};

template <>
struct Format<GgmlType::TQ1_0> {
    static constexpr int kElems = 256, kBytes = 54;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int grp, const GridTables&, QGroup& g) {
        int v[32];
        for (int l = 0; l < 32; ++l) {
            const int e = 32 * grp + l;
            uint32_t byte, digit;
            if (e < 160) {
                byte = b[e % 32];
                digit = static_cast<uint32_t>(e / 32);
            } else if (e < 240) {
                byte = b[32 + (e - 160) % 16];
                digit = static_cast<uint32_t>((e - 160) / 16);
            } else {
                byte = b[48 + (e - 240) % 4];
                digit = static_cast<uint32_t>((e - 240) / 4);
            }
            uint32_t pow3 = 1;
            for (uint32_t k = 0; k < digit; ++k) pow3 *= 3;
            v[l] = static_cast<int>((((byte * pow3) & 255u) * 3u) >> 8);
        }
        for (int i = 0; i < 8; ++i) g.q[i] = pack4(v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]);
        const float d = ld_half(b + 52);
        set_scales(g, d, d, 0.0f, 0.0f, 1);
    }
};

template <>
struct Format<GgmlType::TQ2_0> {
    static constexpr int kElems = 256, kBytes = 66;
    GMG_HOST_DEVICE static void decode(const uint8_t* b, int grp, const GridTables&, QGroup& g) {
        two_bit_plane(b, grp, g);
        const float d = ld_half(b + 64);
        set_scales(g, d, d, 0.0f, 0.0f, 1);
    }
};

// ---- the dot product of one group with 32 quantized activations -------------------

GMG_HOST_DEVICE inline int dot4(int32_t a, int32_t b, int acc) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 610
    return __dp4a(a, b, acc);
#else
    for (int k = 0; k < 4; ++k) acc += sbyte_of(static_cast<uint32_t>(a), k) * sbyte_of(static_cast<uint32_t>(b), k);
    return acc;
#endif
}

// act: 8 words of int8 activations; da: their scale.
GMG_HOST_DEVICE inline float group_dot(const QGroup& g, const int32_t* act, float da) {
    int s[2] = {0, 0}, a[2] = {0, 0};
    for (int i = 0; i < 8; ++i) {
        s[i / 4] = dot4(g.q[i], act[i], s[i / 4]);
        a[i / 4] = dot4(0x01010101, act[i], a[i / 4]);
    }
    const float r = g.d[0] * static_cast<float>(s[0] - g.off * a[0]) + g.d[1] * static_cast<float>(s[1] - g.off * a[1]) -
                    g.m[0] * static_cast<float>(a[0]) - g.m[1] * static_cast<float>(a[1]);
    return da * r;
}

// The same for Q4_1/Q5_1 against Q8_1 activations (one min per group, m[0] ==
// m[1], no offset), the min term taken as llama.cpp takes it: min * s, s being the
// activation block's stored f16(d * sum(q)) rather than da * sum(q).
GMG_HOST_DEVICE inline float group_dot_min_sum(const QGroup& g, const int32_t* act, float da, float s) {
    int sq[2] = {0, 0};
    for (int i = 0; i < 8; ++i) sq[i / 4] = dot4(g.q[i], act[i], sq[i / 4]);
    return da * (g.d[0] * static_cast<float>(sq[0]) + g.d[1] * static_cast<float>(sq[1])) - g.m[0] * s;
}

template <GgmlType T>
struct TypeTag {
    static constexpr GgmlType value = T;
};

// Calls f(TypeTag<type>{}) (use Format<decltype(tag)::value>); false for types
// without an integer group decoder (F32, F16, BF16 and the non-weight types).
template <class F>
bool visit_format(GgmlType type, F&& f) {
    switch (type) {
#define GMG_FORMAT_CASE(T) \
    case GgmlType::T: f(TypeTag<GgmlType::T>{}); return true;
        GMG_FORMAT_CASE(Q4_0) GMG_FORMAT_CASE(Q4_1) GMG_FORMAT_CASE(Q5_0) GMG_FORMAT_CASE(Q5_1)
        GMG_FORMAT_CASE(Q8_0) GMG_FORMAT_CASE(IQ4_NL) GMG_FORMAT_CASE(MXFP4) GMG_FORMAT_CASE(NVFP4)
        GMG_FORMAT_CASE(Q2_K) GMG_FORMAT_CASE(Q3_K) GMG_FORMAT_CASE(Q4_K) GMG_FORMAT_CASE(Q5_K)
        GMG_FORMAT_CASE(Q6_K) GMG_FORMAT_CASE(IQ2_XXS) GMG_FORMAT_CASE(IQ2_XS) GMG_FORMAT_CASE(IQ2_S)
        GMG_FORMAT_CASE(IQ3_XXS) GMG_FORMAT_CASE(IQ3_S) GMG_FORMAT_CASE(IQ1_S) GMG_FORMAT_CASE(IQ1_M)
        GMG_FORMAT_CASE(IQ4_XS) GMG_FORMAT_CASE(TQ1_0) GMG_FORMAT_CASE(TQ2_0)
#undef GMG_FORMAT_CASE
        default: return false;
    }
}

// The weight types a GPU product reads as floats, not through the group decoders.
template <GgmlType T>
constexpr bool kFloatWeights = T == GgmlType::F32 || T == GgmlType::F16 || T == GgmlType::BF16;
// The types whose min term comes from Q8_1's stored sum (group_dot_min_sum).
template <GgmlType T>
constexpr bool kMinTimesSum = T == GgmlType::Q4_1 || T == GgmlType::Q5_1;

template <GgmlType T>
GMG_HOST_DEVICE inline float load_float_weight(const uint8_t* row, int64_t i) {
    if constexpr (T == GgmlType::F32) return reinterpret_cast<const float*>(row)[i];
    else if constexpr (T == GgmlType::F16) return f16_to_f32(reinterpret_cast<const uint16_t*>(row)[i]);
    else return bf16_to_f32(reinterpret_cast<const uint16_t*>(row)[i]);
}

// visit_format, plus the float weight types: every type with a GPU product.
template <class F>
bool visit_weight_type(GgmlType type, F&& f) {
    switch (type) {
        case GgmlType::F32: f(TypeTag<GgmlType::F32>{}); return true;
        case GgmlType::F16: f(TypeTag<GgmlType::F16>{}); return true;
        case GgmlType::BF16: f(TypeTag<GgmlType::BF16>{}); return true;
        default: return visit_format(type, f);
    }
}

}  // namespace gmg::groups
