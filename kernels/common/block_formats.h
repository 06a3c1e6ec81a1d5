// GGUF block layouts, defined once and shared by the CPU kernels and the CUDA/HIP
// sources. Field order and sizes are fixed by the file format (ggml-common.h);
// every struct is checked against the format's byte count below. All multi-byte
// fields are little-endian; "half" fields hold IEEE binary16 bits (see half.h).
#pragma once
#include <cstdint>

namespace gmg {

using half_bits = uint16_t;

inline constexpr int QK_K = 256;  // elements per K-quant / IQ super-block
inline constexpr int K_SCALE_SIZE = 12;

inline constexpr int QK4_0 = 32;
struct block_q4_0 {
    half_bits d;           // scale
    uint8_t qs[QK4_0 / 2];  // element j in the low nibble of qs[j], element j+16 in the high
};

inline constexpr int QK4_1 = 32;
struct block_q4_1 {
    half_bits d;  // scale
    half_bits m;  // offset (the block minimum)
    uint8_t qs[QK4_1 / 2];
};

inline constexpr int QK5_0 = 32;
struct block_q5_0 {
    half_bits d;
    uint8_t qh[4];  // bit j of the little-endian u32 is the fifth bit of element j
    uint8_t qs[QK5_0 / 2];
};

inline constexpr int QK5_1 = 32;
struct block_q5_1 {
    half_bits d;
    half_bits m;
    uint8_t qh[4];
    uint8_t qs[QK5_1 / 2];
};

inline constexpr int QK8_0 = 32;
struct block_q8_0 {
    half_bits d;
    int8_t qs[QK8_0];
};

inline constexpr int QK8_1 = 32;
struct block_q8_1 {
    half_bits d;  // scale
    half_bits s;  // d * sum(qs), used by the Q4_1/Q5_1 dot products
    int8_t qs[QK8_1];
};

struct block_q2_K {
    uint8_t scales[QK_K / 16];  // low nibble scale, high nibble min, per 16 elements
    uint8_t qs[QK_K / 4];       // 2-bit quants
    half_bits d;                // super-block scale of the scales
    half_bits dmin;             // super-block scale of the mins
};

struct block_q3_K {
    uint8_t hmask[QK_K / 8];  // third bit of each quant
    uint8_t qs[QK_K / 4];     // low 2 bits
    uint8_t scales[12];       // sixteen 6-bit scales
    half_bits d;
};

struct block_q4_K {
    half_bits d;
    half_bits dmin;
    uint8_t scales[K_SCALE_SIZE];  // eight 6-bit scales and eight 6-bit mins
    uint8_t qs[QK_K / 2];
};

struct block_q5_K {
    half_bits d;
    half_bits dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];  // fifth bits
    uint8_t qs[QK_K / 2];
};

struct block_q6_K {
    uint8_t ql[QK_K / 2];      // low 4 bits
    uint8_t qh[QK_K / 4];      // high 2 bits
    int8_t scales[QK_K / 16];  // 8-bit scales per 16 elements
    half_bits d;
};

// Activation-only super-block (never stored in files): the dot partner of K/IQ types.
struct block_q8_K {
    float d;                    // f32, may be negative (see quantize_row_q8_K_ref)
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];  // sum of qs per 16 elements
};

struct block_iq2_xxs {
    half_bits d;
    uint16_t qs[QK_K / 8];  // per 32 elements: 4 grid bytes + 28 sign bits + 4-bit scale
};

struct block_iq2_xs {
    half_bits d;
    uint16_t qs[QK_K / 8];       // 9-bit grid index + 7-bit sign index
    uint8_t scales[QK_K / 32];  // two 4-bit scales
};

struct block_iq2_s {
    half_bits d;
    uint8_t qs[QK_K / 4];  // 32 low grid bytes, then 32 sign bytes
    uint8_t qh[QK_K / 32];
    uint8_t scales[QK_K / 32];
};

struct block_iq3_xxs {
    half_bits d;
    uint8_t qs[3 * QK_K / 8];  // 64 grid bytes, then per 32 elements a u32 of signs + scale
};

struct block_iq3_s {
    half_bits d;
    uint8_t qs[QK_K / 4];
    uint8_t qh[QK_K / 32];
    uint8_t signs[QK_K / 8];
    uint8_t scales[QK_K / 64];
};

struct block_iq1_s {
    half_bits d;
    uint8_t qs[QK_K / 8];
    uint16_t qh[QK_K / 32];  // 3 high index bits x4, 3-bit scale, delta sign
};

struct block_iq1_m {
    uint8_t qs[QK_K / 8];
    uint8_t qh[QK_K / 16];
    uint8_t scales[QK_K / 32];  // 3-bit scales; the top nibble of each u16 holds d's bits
};

inline constexpr int QK4_NL = 32;
struct block_iq4_nl {
    half_bits d;
    uint8_t qs[QK4_NL / 2];
};

struct block_iq4_xs {
    half_bits d;
    uint16_t scales_h;  // 2 high bits of eight 6-bit scales
    uint8_t scales_l[QK_K / 64];
    uint8_t qs[QK_K / 2];
};

struct block_tq1_0 {
    uint8_t qs[(QK_K - 4 * QK_K / 64) / 5];  // five base-3 digits per byte
    uint8_t qh[QK_K / 64];                   // four base-3 digits per byte
    half_bits d;
};

struct block_tq2_0 {
    uint8_t qs[QK_K / 4];  // 2-bit codes 0..2 for -1..1
    half_bits d;
};

inline constexpr int QK_MXFP4 = 32;
struct block_mxfp4 {
    uint8_t e;  // E8M0 shared exponent
    uint8_t qs[QK_MXFP4 / 2];
};

inline constexpr int QK_NVFP4 = 64;
struct block_nvfp4 {
    uint8_t d[QK_NVFP4 / 16];   // unsigned E4M3 scale per 16 elements
    uint8_t qs[QK_NVFP4 / 2];  // per 16 elements: 8 bytes, low nibbles first
};

static_assert(sizeof(block_q4_0) == 18);
static_assert(sizeof(block_q4_1) == 20);
static_assert(sizeof(block_q5_0) == 22);
static_assert(sizeof(block_q5_1) == 24);
static_assert(sizeof(block_q8_0) == 34);
static_assert(sizeof(block_q8_1) == 36);
static_assert(sizeof(block_q2_K) == 84);
static_assert(sizeof(block_q3_K) == 110);
static_assert(sizeof(block_q4_K) == 144);
static_assert(sizeof(block_q5_K) == 176);
static_assert(sizeof(block_q6_K) == 210);
static_assert(sizeof(block_q8_K) == 292);
static_assert(sizeof(block_iq2_xxs) == 66);
static_assert(sizeof(block_iq2_xs) == 74);
static_assert(sizeof(block_iq2_s) == 82);
static_assert(sizeof(block_iq3_xxs) == 98);
static_assert(sizeof(block_iq3_s) == 110);
static_assert(sizeof(block_iq1_s) == 50);
static_assert(sizeof(block_iq1_m) == 56);
static_assert(sizeof(block_iq4_nl) == 18);
static_assert(sizeof(block_iq4_xs) == 136);
static_assert(sizeof(block_tq1_0) == 54);
static_assert(sizeof(block_tq2_0) == 66);
static_assert(sizeof(block_mxfp4) == 17);
static_assert(sizeof(block_nvfp4) == 36);

}  // namespace gmg
