// f16/bf16 conversions. The oracle for f16 is the CPU's own F16C unit where
// present (an implementation independent of ours); bf16 is checked against the
// definition of round-to-nearest-even computed in double.
#include <cmath>
#include <cstring>
#include <random>

#include <catch2/catch.hpp>
#include <immintrin.h>

#include "kernels/common/half.h"

using gmg::bits_to_f32;
using gmg::f32_to_bits;

namespace {

__attribute__((target("f16c"))) float hw_f16_to_f32(uint16_t h) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_set1_epi16(static_cast<short>(h))));
}

__attribute__((target("f16c"))) uint16_t hw_f32_to_f16(float f) {
    return static_cast<uint16_t>(_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT), 0));
}

bool have_f16c() { return __builtin_cpu_supports("f16c"); }

}  // namespace

TEST_CASE("f16 -> f32 matches F16C for all 65536 inputs", "[half]") {
    if (!have_f16c()) {
        WARN("no F16C on this CPU: nothing to compare against");
        return;
    }
    for (uint32_t h = 0; h < 65536; ++h) {
        const float ours = gmg::f16_to_f32(static_cast<uint16_t>(h));
        const float hw = hw_f16_to_f32(static_cast<uint16_t>(h));
        if (std::isnan(hw)) {
            REQUIRE(std::isnan(ours));  // payload handling of NaN may differ
        } else if (f32_to_bits(ours) != f32_to_bits(hw)) {
            FAIL("f16 bits " << h);
        }
    }
}

TEST_CASE("f32 -> f16 rounds like F16C (nearest even)", "[half]") {
    if (!have_f16c()) {
        WARN("no F16C on this CPU: nothing to compare against");
        return;
    }
    std::mt19937 rng(42);
    std::uniform_int_distribution<uint32_t> any_bits;
    auto check = [](uint32_t bits) {
        const float f = bits_to_f32(bits);
        if (std::isnan(f)) return;
        const uint16_t ours = gmg::f32_to_f16(f), hw = hw_f32_to_f16(f);
        if (ours != hw) FAIL("f32 bits " << bits << ": ours " << ours << " F16C " << hw);
    };
    for (int i = 0; i < 2000000; ++i) check(any_bits(rng));
    // Every f16 value, and the midpoints and neighbours around each one, cover all rounding cases.
    for (uint32_t h = 0; h < 0x7c00; ++h) {
        const uint32_t b = f32_to_bits(gmg::f16_to_f32(static_cast<uint16_t>(h)));
        for (uint32_t s : {0u, 0x80000000u})
            for (int64_t delta = -4096; delta <= 4096; delta += 1024) check((b | s) + static_cast<uint32_t>(delta));
    }
    check(f32_to_bits(65520.0f));
    check(f32_to_bits(65519.99f));
    check(f32_to_bits(std::ldexp(1.0f, -25)));
    check(f32_to_bits(std::ldexp(1.5f, -25)));
}

TEST_CASE("f32 -> bf16 is round-to-nearest-even", "[half]") {
    std::mt19937 rng(7);
    std::uniform_int_distribution<uint32_t> any_bits;
    for (int i = 0; i < 1000000; ++i) {
        const uint32_t bits = any_bits(rng);
        const float f = bits_to_f32(bits);
        if (!std::isfinite(f)) continue;
        const uint16_t r = gmg::f32_to_bf16(f);
        const double lo = gmg::bf16_to_f32(static_cast<uint16_t>(bits >> 16));
        const double hi = gmg::bf16_to_f32(static_cast<uint16_t>((bits >> 16) + 1));  // next away from zero
        const double err_lo = std::fabs(static_cast<double>(f) - lo), err_hi = std::fabs(static_cast<double>(f) - hi);
        const uint16_t want = err_lo < err_hi ? static_cast<uint16_t>(bits >> 16)
                              : err_hi < err_lo ? static_cast<uint16_t>((bits >> 16) + 1)
                                                : static_cast<uint16_t>(((bits >> 16) & 1) ? (bits >> 16) + 1 : bits >> 16);
        if (std::isinf(hi)) continue;  // the overflow boundary; covered by RNE going to inf
        if (r != want) FAIL("f32 bits " << bits << " -> " << r << ", want " << want);
    }
    REQUIRE(std::isnan(gmg::bf16_to_f32(gmg::f32_to_bf16(std::nanf("")))));
}
