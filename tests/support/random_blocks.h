// Random weight rows in any GGUF block format, for kernel tests and benchmarks.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/common/block_formats.h"
#include "kernels/common/ggml_type.h"
#include "kernels/common/half.h"

namespace gmg::testing {

inline uint16_t sane_half(std::mt19937& rng) {
    std::uniform_real_distribution<float> u(0.002f, 0.05f);
    return gmg::f32_to_f16(u(rng));
}

inline void set_half(uint8_t* block, size_t offset, uint16_t h) { std::memcpy(block + offset, &h, 2); }

// Random bytes for every block, then scale fields set to sane finite values:
// the formats give meaning to every bit pattern of the quant fields, but a
// random f16 scale can be inf or NaN.
inline std::vector<uint8_t> random_rows(GgmlType t, int64_t rows, int64_t k, std::mt19937& rng) {
    using namespace gmg;
    const TypeTraits tr = traits_of(t);
    const size_t row = static_cast<size_t>(*row_bytes(t, k));
    std::vector<uint8_t> data(row * static_cast<size_t>(rows));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    if (t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16) {
        for (size_t i = 0; i < static_cast<size_t>(rows * k); ++i) {
            const float v = normal(rng);
            if (t == GgmlType::F32) std::memcpy(data.data() + 4 * i, &v, 4);
            else {
                const uint16_t h = t == GgmlType::F16 ? f32_to_f16(v) : f32_to_bf16(v);
                std::memcpy(data.data() + 2 * i, &h, 2);
            }
        }
        return data;
    }
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    const size_t nb = data.size() / tr.block_bytes;
    for (size_t i = 0; i < nb; ++i) {
        uint8_t* b = data.data() + i * tr.block_bytes;
        auto half_at = [&](size_t off) { set_half(b, off, sane_half(rng)); };
        switch (t) {
            case GgmlType::Q4_1: case GgmlType::Q5_1: case GgmlType::Q4_K: case GgmlType::Q5_K:
                half_at(0); half_at(2); break;
            case GgmlType::Q2_K: half_at(offsetof(block_q2_K, d)); half_at(offsetof(block_q2_K, dmin)); break;
            case GgmlType::Q3_K: half_at(offsetof(block_q3_K, d)); break;
            case GgmlType::Q6_K: half_at(offsetof(block_q6_K, d)); break;
            case GgmlType::TQ1_0: half_at(offsetof(block_tq1_0, d)); break;
            case GgmlType::TQ2_0: half_at(offsetof(block_tq2_0, d)); break;
            case GgmlType::MXFP4: b[0] = static_cast<uint8_t>(118 + rng() % 8); break;
            case GgmlType::NVFP4: for (int j = 0; j < 4; ++j) b[j] = static_cast<uint8_t>(0x20 + rng() % 0x30); break;
            case GgmlType::IQ1_M: {
                const uint16_t h = sane_half(rng);  // its nibbles sit in the top of the four u16 scale words
                auto* sc = b + offsetof(block_iq1_m, scales);
                for (int w = 0; w < 4; ++w) sc[2 * w + 1] = static_cast<uint8_t>((sc[2 * w + 1] & 0x0f) | (((h >> (4 * w)) & 15) << 4));
                break;
            }
            default: half_at(0); break;  // d first: Q4_0 Q5_0 Q8_0 IQ4_NL IQ4_XS IQ2_* IQ3_* IQ1_S
        }
    }
    return data;
}

}  // namespace gmg::testing
