// The GPU kernels' block arithmetic (kernels/common/group_decode.h, act_quant.h),
// compiled for the host and checked against the reference decoders and
// quantizers: this runs on every machine, with or without a GPU.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/common/iq_tables.h"
#include "kernels/cpu/matmul.h"
#include "kernels/gpu/act_quant.h"
#include "kernels/common/group_decode.h"
#include "kernels/ref/dequantize.h"
#include "kernels/ref/quantize_activations.h"
#include "tests/support/random_blocks.h"

using namespace gmg;

namespace {

std::vector<GgmlType> group_types() {
    std::vector<GgmlType> out;
    int n = 0;
    const TypeTraits* all = all_type_traits(&n);
    for (int i = 0; i < n; ++i)
        if (groups::visit_format(all[i].type, [](auto) {})) out.push_back(all[i].type);
    return out;
}

// Element e of a group as the form says: d * (q - off) - m, in double.
double group_value(const groups::QGroup& g, int e) {
    const int q = static_cast<int8_t>((static_cast<uint32_t>(g.q[e / 4]) >> (8 * (e % 4))) & 255u);
    return static_cast<double>(g.d[e / 16]) * (q - g.off) - static_cast<double>(g.m[e / 16]);
}

struct Decoded {
    std::vector<groups::QGroup> groups;  // in element order
    int elems = 0, bytes = 0;
};

Decoded decode_all(GgmlType t, const std::vector<uint8_t>& data, const groups::GridTables& tables) {
    Decoded out;
    groups::visit_format(t, [&](auto tag) {
        using F = groups::Format<decltype(tag)::value>;
        out.elems = F::kElems;
        out.bytes = F::kBytes;
        for (size_t b = 0; b * F::kBytes < data.size(); ++b)
            for (int g = 0; g < F::kElems / 32; ++g) {
                groups::QGroup grp;
                F::decode(data.data() + b * F::kBytes, g, tables, grp);
                out.groups.push_back(grp);
            }
    });
    return out;
}

}  // namespace

TEST_CASE("GPU group decoders reproduce the reference decoders for every integer format", "[gpu][decode]") {
    const groups::GridTables tables = groups::host_tables();
    std::mt19937 rng(20261130);
    const auto types = group_types();
    REQUIRE(types.size() >= 23);
    for (GgmlType t : types) {
        CAPTURE(traits_of(t).name);
        REQUIRE(traits_of(t).block_bytes == static_cast<uint32_t>(decode_all(t, {}, tables).bytes));
        const int64_t k = 4 * 256;
        const auto data = testing::random_rows(t, 1, k, rng);
        std::vector<float> ref(static_cast<size_t>(k));
        REQUIRE(ref::dequantize_row(t, data.data(), ref.data(), k));
        const Decoded dec = decode_all(t, data, tables);
        REQUIRE(dec.groups.size() == static_cast<size_t>(k / 32));
        int bad = 0;
        for (int64_t e = 0; e < k; ++e) {
            const groups::QGroup& g = dec.groups[static_cast<size_t>(e / 32)];
            const double v = group_value(g, static_cast<int>(e % 32));
            // The reference rounds d*q and the offset to float; ours is exact: a few ulps apart.
            const double scale = std::fabs(static_cast<double>(g.d[(e % 32) / 16])) * 128.0 +
                                 std::fabs(static_cast<double>(g.m[(e % 32) / 16]));
            if (std::fabs(v - ref[static_cast<size_t>(e)]) > 1e-6 * scale + 1e-30) ++bad;
        }
        CHECK(bad == 0);
    }
}

TEST_CASE("GPU group dot products equal the exact dot of decoded weights and activations", "[gpu][dot]") {
    const groups::GridTables tables = groups::host_tables();
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (GgmlType t : group_types()) {
        CAPTURE(traits_of(t).name);
        const gpu::ActRule rule = gpu::act_rule(t);
        const int64_t k = 512;
        const auto data = testing::random_rows(t, 1, k, rng);
        std::vector<float> w(static_cast<size_t>(k)), x(static_cast<size_t>(k));
        REQUIRE(ref::dequantize_row(t, data.data(), w.data(), k));
        for (auto& v : x) v = normal(rng);
        // Quantize the activations with the GPU rule; dequantize them for the oracle.
        std::vector<int8_t> q(static_cast<size_t>(k));
        std::vector<float> da(static_cast<size_t>(k / 32));
        const int blk = gpu::act_block(rule);
        for (int64_t b = 0; b < k / blk; ++b)
            gpu::quantize_block(rule, x.data() + b * blk, q.data() + b * blk, da.data() + b * blk / 32);
        const Decoded dec = decode_all(t, data, tables);
        double exact = 0.0, magnitude = 0.0, ours = 0.0;
        for (int64_t e = 0; e < k; ++e) {
            const double a = static_cast<double>(da[static_cast<size_t>(e / 32)]) * q[static_cast<size_t>(e)];
            exact += static_cast<double>(w[static_cast<size_t>(e)]) * a;
            magnitude += std::fabs(static_cast<double>(w[static_cast<size_t>(e)]) * a);
        }
        for (int64_t g = 0; g < k / 32; ++g) {
            int32_t act[8];
            std::memcpy(act, q.data() + 32 * g, 32);
            ours += groups::group_dot(dec.groups[static_cast<size_t>(g)], act, da[static_cast<size_t>(g)]);
        }
        CHECK(std::fabs(ours - exact) <= 2e-6 * magnitude);
    }
}

TEST_CASE("GPU Q4_1/Q5_1 dot products take the min term from Q8_1's stored sum, as the CPU path does", "[gpu][dot]") {
    const groups::GridTables tables = groups::host_tables();
    std::mt19937 rng(9);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (GgmlType t : {GgmlType::Q4_1, GgmlType::Q5_1}) {
        CAPTURE(traits_of(t).name);
        const int64_t k = 512;
        const auto data = testing::random_rows(t, 1, k, rng);
        std::vector<float> x(static_cast<size_t>(k));
        for (auto& v : x) v = normal(rng) + 0.5f;  // a non-zero mean: the min term matters
        // The CPU path's scalar kernel (held to llama.cpp's own dot products by oracle_kernel_goldens).
        const cpu::WeightView w{t, data.data(), data.size(), 1, k};
        std::vector<uint8_t> prepared(cpu::prepared_row_bytes(t, k, cpu::Isa::scalar));
        cpu::prepare_activations(t, cpu::Isa::scalar, x.data(), 1, k, prepared.data());
        float cpu_y = 0.0f;
        cpu::matmul(w, prepared.data(), 1, &cpu_y, 1, cpu::Isa::scalar, 1);
        std::vector<int8_t> q(static_cast<size_t>(k));
        std::vector<float> da(static_cast<size_t>(k / 32)), s(static_cast<size_t>(k / 32));
        for (int64_t b = 0; b < k / 32; ++b)
            gpu::quantize_block(gpu::ActRule::q8_1, x.data() + 32 * b, q.data() + 32 * b, &da[static_cast<size_t>(b)],
                                &s[static_cast<size_t>(b)]);
        const Decoded dec = decode_all(t, data, tables);
        double ours = 0.0, magnitude = 0.0;
        for (int64_t g = 0; g < k / 32; ++g) {
            int32_t act[8];
            std::memcpy(act, q.data() + 32 * g, 32);
            ours += groups::group_dot_min_sum(dec.groups[static_cast<size_t>(g)], act, da[static_cast<size_t>(g)],
                                              s[static_cast<size_t>(g)]);
            magnitude += std::fabs(groups::group_dot_min_sum(dec.groups[static_cast<size_t>(g)], act,
                                                             da[static_cast<size_t>(g)], s[static_cast<size_t>(g)]));
        }
        CHECK(std::fabs(ours - cpu_y) <= 2e-6 * magnitude);
    }
}

TEST_CASE("GPU activation quantizers are byte-identical to the reference quantizers", "[gpu][quantize]") {
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    for (int trial = 0; trial < 50; ++trial) {
        std::vector<float> x(512);
        for (auto& v : x) v = normal(rng);
        if (trial % 5 == 0) for (auto& v : x) v = std::round(v * 2.0f) * 0.5f;  // ties
        if (trial == 1) for (int j = 0; j < 32; ++j) x[static_cast<size_t>(j)] = 0.0f;  // an empty block
        if (trial == 2) x[3] = -1e30f;

        std::vector<block_q8_0> r0(16);
        ref::quantize_row_q8_0_x86(x.data(), r0.data(), 512);
        std::vector<block_q8_1> r1(16);
        ref::quantize_row_q8_1_x86(x.data(), r1.data(), 512);
        for (int b = 0; b < 16; ++b) {
            int8_t q[32];
            const float d0 = gpu::quantize_q8_0(x.data() + 32 * b, q);
            CHECK(std::memcmp(q, r0[static_cast<size_t>(b)].qs, 32) == 0);
            CHECK(d0 == f16_to_f32(r0[static_cast<size_t>(b)].d));
            float s1 = 0.0f;
            const float d1 = gpu::quantize_q8_1(x.data() + 32 * b, q, &s1);
            CHECK(std::memcmp(q, r1[static_cast<size_t>(b)].qs, 32) == 0);
            CHECK(d1 == f16_to_f32(r1[static_cast<size_t>(b)].d));
            CHECK(s1 == f16_to_f32(r1[static_cast<size_t>(b)].s));
        }
        std::vector<block_q8_K> rk(2);
        ref::quantize_row_q8_K(x.data(), rk.data(), 512);
        for (int b = 0; b < 2; ++b) {
            int8_t q[256];
            const float d = gpu::quantize_q8_K(x.data() + 256 * b, q);
            CHECK(std::memcmp(q, rk[static_cast<size_t>(b)].qs, 256) == 0);
            CHECK(d == rk[static_cast<size_t>(b)].d);
        }
    }
}
