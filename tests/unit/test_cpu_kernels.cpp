// Every CPU dot-product kernel against the plain scalar reference, on random
// blocks, for every ISA this machine has (and the lower ones it can be forced
// to). The reference decodes the weight row and the prepared activation row
// with the reference decoders (themselves bit-exact vs gguf-py) and sums in
// double; a kernel may differ only by float rounding of its per-block sums.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/common/block_formats.h"
#include "kernels/common/half.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/geglu.h"
#include "kernels/cpu/kernel_table.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/vec_dot_type.h"
#include "kernels/ref/dequantize.h"
#include "kernels/ref/quantize_activations.h"
#include "lib/runtime/reference_ops.h"
#include "tests/support/random_blocks.h"

using gmg::GgmlType;
using gmg::testing::random_rows;
using gmg::cpu::Isa;

namespace {

std::vector<Isa> isas_here() {
    std::vector<Isa> out;
    for (Isa i : {Isa::scalar, Isa::avx2, Isa::avx512, Isa::neon, Isa::neon_dotprod})
        if (gmg::cpu::isa_supported(i)) out.push_back(i);
    return out;
}

std::vector<float> random_activations(int64_t n, int64_t k, std::mt19937& rng) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n * k));
    for (auto& v : x) v = normal(rng);
    for (int64_t i = 0; i < n * k; i += 97) x[static_cast<size_t>(i)] *= 20.0f;  // outliers, as real activations have
    return x;
}

struct Expected {
    double value, magnitude;  // the reference, and sum |w_j a_j| for the tolerance
};

// The reference for one (row, column): decoded weight . decoded prepared activation,
// in double. With Q8_1 activations the kernel uses the block's stored
// s = f16(d * sum(q)) for the weight's min term, as the format intends; the
// reference does the same.
Expected reference_dot(GgmlType wt, const uint8_t* wrow, GgmlType at, const uint8_t* arow, int64_t k) {
    std::vector<float> w(static_cast<size_t>(k)), a(static_cast<size_t>(k));
    REQUIRE(gmg::ref::dequantize_row(wt, wrow, w.data(), k));
    REQUIRE(gmg::ref::dequantize_row(at, arow, a.data(), k));
    Expected e{0.0, 0.0};
    for (int64_t j = 0; j < k; ++j) {
        e.value += static_cast<double>(w[static_cast<size_t>(j)]) * a[static_cast<size_t>(j)];
        e.magnitude += std::fabs(static_cast<double>(w[static_cast<size_t>(j)]) * a[static_cast<size_t>(j)]);
    }
    if (at == GgmlType::Q8_1) {
        for (int64_t b = 0; b < k / 32; ++b) {
            const auto* ab = reinterpret_cast<const gmg::block_q8_1*>(arow) + b;
            const uint16_t mbits = wt == GgmlType::Q4_1 ? reinterpret_cast<const gmg::block_q4_1*>(wrow)[b].m
                                                        : reinterpret_cast<const gmg::block_q5_1*>(wrow)[b].m;
            int sum = 0;
            for (int j = 0; j < 32; ++j) sum += ab->qs[j];
            const double m = gmg::f16_to_f32(mbits), d = gmg::f16_to_f32(ab->d);
            e.value += m * (gmg::f16_to_f32(ab->s) - d * sum);
        }
    }
    return e;
}

void check_type(GgmlType t, int64_t k, int64_t rows, int64_t n, Isa isa, uint32_t seed) {
    std::mt19937 rng(seed);
    const gmg::cpu::WeightView w{t, nullptr, static_cast<size_t>(*gmg::row_bytes(t, k)), rows, k};
    const std::vector<uint8_t> wdata = random_rows(t, rows, k, rng);
    gmg::cpu::WeightView view = w;
    view.data = wdata.data();
    const std::vector<float> x = random_activations(n, k, rng);
    const size_t stride = gmg::cpu::prepared_row_bytes(t, k, isa);
    std::vector<uint8_t> act(stride * static_cast<size_t>(n));
    gmg::cpu::prepare_activations(t, isa, x.data(), n, k, act.data());
    // Poisoned output: a kernel that skips an element is caught.
    std::vector<float> y(static_cast<size_t>(n * rows), std::nanf(""));
    gmg::cpu::matmul_rows(view, act.data(), n, y.data(), rows, 0, rows, isa);
    const GgmlType at = gmg::cpu::prepared_type(t, isa);
    int bad = 0;
    for (int64_t c = 0; c < n; ++c) {
        for (int64_t r = 0; r < rows; ++r) {
            const Expected e = reference_dot(t, wdata.data() + static_cast<size_t>(r) * view.row_bytes, at,
                                             act.data() + static_cast<size_t>(c) * stride, k);
            const double got = y[static_cast<size_t>(c * rows + r)];
            const double tol = 2e-6 * e.magnitude + 1e-30;
            if (!(std::fabs(got - e.value) <= tol) && bad++ < 3)
                FAIL_CHECK(gmg::traits_of(t).name << " " << gmg::cpu::isa_name(isa) << " k=" << k << " row " << r
                                                  << " col " << c << ": got " << got << ", reference " << e.value
                                                  << " (tolerance " << tol << ")");
        }
    }
    CHECK(bad == 0);
}

const GgmlType kAllTypes[] = {
    GgmlType::F32,  GgmlType::F16,    GgmlType::BF16,    GgmlType::Q4_0,    GgmlType::Q4_1,   GgmlType::Q5_0,
    GgmlType::Q5_1, GgmlType::Q8_0,   GgmlType::IQ4_NL,  GgmlType::MXFP4,   GgmlType::NVFP4,  GgmlType::Q2_K,
    GgmlType::Q3_K, GgmlType::Q4_K,   GgmlType::Q5_K,    GgmlType::Q6_K,    GgmlType::IQ4_XS, GgmlType::IQ3_XXS,
    GgmlType::IQ3_S, GgmlType::IQ2_XXS, GgmlType::IQ2_XS, GgmlType::IQ2_S, GgmlType::IQ1_S,  GgmlType::IQ1_M,
    GgmlType::TQ1_0, GgmlType::TQ2_0,
};

}  // namespace

TEST_CASE("every type's dot kernels match the scalar reference on random blocks", "[kernels]") {
    uint32_t seed = 1;
    for (GgmlType t : kAllTypes) {
        const int64_t block = gmg::traits_of(t).block_elems == 1 ? 1 : gmg::traits_of(t).block_elems;
        const int64_t align = gmg::traits_of(gmg::cpu::vec_dot_type(t)).block_elems;
        const int64_t unit = std::max<int64_t>(block, align);
        // One block, an odd count, and the Gemma3-1B width 1152 where the type allows it.
        std::vector<int64_t> ks = {unit, 5 * unit};
        if (1152 % unit == 0) ks.push_back(1152);
        if (unit == 1) ks.push_back(1003);  // float rows: tails shorter than a vector
        for (Isa isa : isas_here()) {
            for (int64_t k : ks) {
                for (int64_t n : {1, 3, 4, 6, 9}) {
                    INFO(gmg::traits_of(t).name << " isa " << gmg::cpu::isa_name(isa) << " k " << k << " n " << n);
                    check_type(t, k, 7, n, isa, seed++);
                }
            }
        }
    }
}

TEST_CASE("the dedicated kernels exist where the ISA is present", "[kernels]") {
    const Isa best = gmg::cpu::detected_isa();
    if (best == Isa::scalar) return;
    const bool x86 = best == Isa::avx2 || best == Isa::avx512;
    for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q4_1, GgmlType::IQ4_NL,
                       GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::IQ4_XS,
                       GgmlType::IQ3_XXS, GgmlType::IQ3_S, GgmlType::F32, GgmlType::F16, GgmlType::BF16}) {
        if (t == GgmlType::F32 && !x86) continue;  // NEON: f32 rows take the generic path with a NEON dot
        INFO(gmg::traits_of(t).name << " on " << gmg::cpu::isa_name(best));
        CHECK(gmg::cpu::has_kernel(t, best));
        CHECK(gmg::cpu::prepared_type(t, best) == gmg::cpu::vec_dot_type(t));
    }
    CHECK_FALSE(gmg::cpu::has_kernel(GgmlType::Q4_K, Isa::scalar));
}

TEST_CASE("threaded matmul equals the single-thread rows, bit for bit", "[kernels]") {
    std::mt19937 rng(7);
    const int64_t k = 2304, rows = 1001, n = 5;  // whole blocks for every type below
    for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::IQ2_XS}) {
        const std::vector<uint8_t> wdata = random_rows(t, rows, k, rng);
        const gmg::cpu::WeightView w{t, wdata.data(), static_cast<size_t>(*gmg::row_bytes(t, k)), rows, k};
        const Isa isa = gmg::cpu::active_isa();
        const std::vector<float> x = random_activations(n, k, rng);
        std::vector<uint8_t> act(gmg::cpu::prepared_row_bytes(t, k, isa) * n);
        gmg::cpu::prepare_activations(t, isa, x.data(), n, k, act.data());
        std::vector<float> one(static_cast<size_t>(n * rows)), many(one.size(), std::nanf(""));
        gmg::cpu::matmul_rows(w, act.data(), n, one.data(), rows, 0, rows, isa);
        gmg::cpu::matmul(w, act.data(), n, many.data(), rows, isa, 3);
        INFO(gmg::traits_of(t).name);
        CHECK(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)) == 0);
    }
}

TEST_CASE("attention over f16 rows matches the double reference on every ISA", "[kernels]") {
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int64_t d = 256, cap = 37, stride = 2 * d;  // a ring of 37 slots, two heads per slot
    std::vector<uint16_t> k(static_cast<size_t>(cap * stride)), v(k.size());
    for (auto& h : k) h = gmg::f32_to_f16(normal(rng));
    for (auto& h : v) h = gmg::f32_to_f16(normal(rng));
    std::vector<float> q(static_cast<size_t>(d));
    for (auto& f : q) f = 0.2f * normal(rng);
    const gmg::cpu::KvRows rows{k.data() + d, v.data() + d, cap, stride};  // the second head
    const int64_t lo = 30, hi = 60;  // wraps around the ring
    std::vector<float> ref(static_cast<size_t>(d));
    gmg::cpu::attend_head(q.data(), d, rows, lo, hi, ref.data(), Isa::scalar);
    // An independent double-precision evaluation of the same definition.
    std::vector<double> s(static_cast<size_t>(hi - lo + 1));
    double mx = -1e300;
    for (int64_t j = lo; j <= hi; ++j) {
        double acc = 0;
        for (int64_t i = 0; i < d; ++i)
            acc += gmg::f16_to_f32(gmg::f32_to_f16(q[static_cast<size_t>(i)])) *
                   static_cast<double>(gmg::f16_to_f32(rows.k[(j % cap) * stride + i]));
        s[static_cast<size_t>(j - lo)] = acc;
        mx = std::max(mx, acc);
    }
    double z = 0;
    for (double& e : s) z += (e = std::exp(e - mx));
    for (int64_t i = 0; i < d; ++i) {
        double o = 0;
        for (int64_t j = lo; j <= hi; ++j) o += s[static_cast<size_t>(j - lo)] / z * gmg::f16_to_f32(rows.v[(j % cap) * stride + i]);
        CHECK(std::fabs(ref[static_cast<size_t>(i)] - o) <= 2e-3 * (1 + std::fabs(o)));  // probabilities pass through f16
    }
    for (Isa isa : isas_here()) {
        std::vector<float> got(static_cast<size_t>(d));
        gmg::cpu::attend_head(q.data(), d, rows, lo, hi, got.data(), isa);
        for (int64_t i = 0; i < d; ++i) CHECK(std::fabs(got[static_cast<size_t>(i)] - ref[static_cast<size_t>(i)]) <= 1e-4f);
    }
}

TEST_CASE("grouped attention gives each head exactly its one-head result", "[kernels]") {
    // attend_heads reads each cached row once for all the heads of a group; the
    // per-head arithmetic must not change with the group size (or the ring's wrap).
    std::mt19937 rng(13);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (int64_t d : {256, 72, 13}) {  // Gemma's head size, and sizes with vector and scalar tails
        const int64_t cap = 41, stride = 3 * d;
        std::vector<uint16_t> k(static_cast<size_t>(cap * stride)), v(k.size());
        for (auto& h : k) h = gmg::f32_to_f16(normal(rng));
        for (auto& h : v) h = gmg::f32_to_f16(normal(rng));
        const gmg::cpu::KvRows rows{k.data() + d, v.data() + d, cap, stride};
        for (int64_t nq : {1, 2, 3, 4, 5, 8}) {
            std::vector<float> q(static_cast<size_t>(nq * d));
            for (auto& f : q) f = 0.3f * normal(rng);
            for (auto [lo, hi] : {std::pair<int64_t, int64_t>{0, 0}, {3, 40}, {30, 70}}) {  // one row; whole; wrapping
                for (Isa isa : isas_here()) {
                    std::vector<float> group(static_cast<size_t>(nq * d), std::nanf(""));
                    gmg::cpu::attend_heads(q.data(), nq, d, rows, lo, hi, group.data(), isa);
                    for (int64_t h = 0; h < nq; ++h) {
                        std::vector<float> one(static_cast<size_t>(d), std::nanf(""));
                        gmg::cpu::attend_head(q.data() + h * d, d, rows, lo, hi, one.data(), isa);
                        INFO(gmg::cpu::isa_name(isa) << " d " << d << " nq " << nq << " head " << h << " rows " << lo << ".." << hi);
                        CHECK(std::memcmp(one.data(), group.data() + h * d, one.size() * sizeof(float)) == 0);
                    }
                }
            }
            // Several tokens at once, each with its own causal, sliding range (the
            // tile reads the union, 20..52, and masks the rest): every head of every
            // token as computed alone. Tokens are `tstride` floats apart.
            const int64_t T = 4, tstride = nq * d + 5;
            const int64_t lo[T] = {20, 20, 22, 21}, hi[T] = {49, 50, 52, 51};
            std::vector<float> qt(static_cast<size_t>(T * tstride)), out(qt.size(), std::nanf(""));
            for (auto& f : qt) f = 0.3f * normal(rng);
            for (Isa isa : isas_here()) {
                const gmg::cpu::QueryTile tile{qt.data(), out.data(), T, nq, tstride, lo, hi};
                gmg::cpu::attend_tile(tile, d, rows, isa);
                for (int64_t t = 0; t < T; ++t)
                    for (int64_t h = 0; h < nq; ++h) {
                        std::vector<float> one(static_cast<size_t>(d), std::nanf(""));
                        gmg::cpu::attend_head(qt.data() + t * tstride + h * d, d, rows, lo[t], hi[t], one.data(), isa);
                        INFO(gmg::cpu::isa_name(isa) << " d " << d << " nq " << nq << " token " << t << " head " << h);
                        CHECK(std::memcmp(one.data(), out.data() + t * tstride + h * d, one.size() * sizeof(float)) == 0);
                    }
            }
        }
    }
}

TEST_CASE("attention split across threads, or over a prompt tile, equals one token alone bit for bit", "[kernels]") {
    // Long ranges cross the 128-position chunks the sums are cut at, and a ring
    // of 300 slots (not a multiple of the chunk) wraps inside a chunk.
    std::mt19937 rng(19);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int64_t d = 256, nq = 4, cap = 300, stride = d;
    std::vector<uint16_t> k(static_cast<size_t>(cap * stride)), v(k.size());
    for (auto& h : k) h = gmg::f32_to_f16(normal(rng));
    for (auto& h : v) h = gmg::f32_to_f16(normal(rng));
    const gmg::cpu::KvRows rows{k.data(), v.data(), cap, stride};
    for (auto [lo, hi] : {std::pair<int64_t, int64_t>{0, 299}, {127, 128}, {5, 260}, {200, 499}, {1000, 1283}}) {
        std::vector<float> q(static_cast<size_t>(nq * d));
        for (auto& f : q) f = 0.3f * normal(rng);
        for (Isa isa : isas_here()) {
            std::vector<float> alone(q.size(), std::nanf(""));
            gmg::cpu::attend_heads(q.data(), nq, d, rows, lo, hi, alone.data(), isa);
            for (int threads : {2, 3, 7}) {
                std::vector<float> split(q.size(), std::nanf(""));
                gmg::cpu::attend_tile({q.data(), split.data(), 1, nq, 0, &lo, &hi}, d, rows, isa, threads);
                INFO(gmg::cpu::isa_name(isa) << " rows " << lo << ".." << hi << " threads " << threads);
                CHECK(std::memcmp(alone.data(), split.data(), alone.size() * sizeof(float)) == 0);
            }
            // The same token as the last of a prompt tile whose first token starts
            // its range 70 positions earlier (the tile reads the union, 70 more rows).
            const int64_t T = 2, tlo[T] = {std::max<int64_t>(0, lo - 70), lo}, thi[T] = {hi - 1, hi};
            if (thi[0] < tlo[0]) continue;
            std::vector<float> qt(static_cast<size_t>(T * nq * d)), out(qt.size(), std::nanf(""));
            for (auto& f : qt) f = 0.3f * normal(rng);
            std::copy(q.begin(), q.end(), qt.begin() + nq * d);
            gmg::cpu::attend_tile({qt.data(), out.data(), T, nq, nq * d, tlo, thi}, d, rows, isa);
            INFO(gmg::cpu::isa_name(isa) << " tile, rows " << lo << ".." << hi);
            CHECK(std::memcmp(alone.data(), out.data() + nq * d, alone.size() * sizeof(float)) == 0);
        }
    }
}

TEST_CASE("the softmax exponentials are within 2 ulp of exp and their double sum is exact to 1e-12", "[kernels]") {
    std::mt19937 rng(23);
    std::uniform_real_distribution<float> uniform(-95.0f, 5.0f);
    for (Isa isa : isas_here()) {
        const gmg::cpu::ExpSumFn exp_sum = gmg::cpu::kernel_set(isa).exp_sum;
        if (!exp_sum) continue;
        for (int64_t n : {1, 7, 8, 13, 64, 1001}) {
            const float max = 5.0f;
            std::vector<float> s(static_cast<size_t>(n));
            for (auto& x : s) x = uniform(rng);
            s[0] = max;  // the maximum itself: exactly 1
            if (n > 8) s[3] = -INFINITY, s[5] = max - 87.0f, s[6] = max - 88.0f;
            const std::vector<float> in = s;
            const double sum = exp_sum(s.data(), n, max);
            double want_sum = 0.0;
            for (int64_t j = 0; j < n; ++j) {
                const double want = std::exp(static_cast<double>(in[static_cast<size_t>(j)] - max));
                const float got = s[static_cast<size_t>(j)];
                want_sum += got;
                INFO(gmg::cpu::isa_name(isa) << " n " << n << " x " << in[static_cast<size_t>(j)] - max);
                if (in[static_cast<size_t>(j)] - max < -87.3f) CHECK(got == 0.0f);  // flushed (f16 rounds it to 0 too)
                else CHECK(std::fabs(got - want) <= 2.0 * std::ldexp(1.0, std::ilogb(want) - 23));
            }
            CHECK(s[0] == 1.0f);
            CHECK(std::fabs(sum - want_sum) <= 1e-12 * want_sum);
        }
        std::vector<float> nan = {std::nanf(""), 0.0f};
        exp_sum(nan.data(), 2, 0.0f);
        CHECK(std::isnan(nan[0]));
    }
}

TEST_CASE("GeGLU kernels equal the formula bit for bit, bounds and rounding ties included", "[kernels]") {
    std::mt19937 rng(17);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    std::vector<float> gate, up;
    for (int i = 0; i < 5000; ++i) gate.push_back(normal(rng));
    // The bounds and their neighbours, signed zeros, f16 rounding ties, values
    // that round to +-10 in f16 but are not, huge and tiny magnitudes.
    for (float g : {-10.0f, 10.0f, std::nextafter(-10.0f, 0.0f), std::nextafter(10.0f, 0.0f), -10.001f, 10.001f, 0.0f,
                    -0.0f, 1.0f + 1.0f / 2048, -1.0f - 3.0f / 2048, 9.998f, -9.998f, 1e-8f, -1e-8f, 7e4f, -7e4f, 1e30f})
        gate.push_back(g);
    for (size_t i = 0; i < gate.size(); ++i) up.push_back(normal(rng));
    const auto n = static_cast<int64_t>(gate.size());  // not a multiple of 8: the scalar tail runs too
    std::vector<float> want(gate.size());
    gmg::ops::geglu(gate.data(), up.data(), want.data(), n);
    for (Isa isa : isas_here()) {
        std::vector<float> got(gate.size(), std::nanf(""));
        gmg::cpu::geglu(gate.data(), up.data(), got.data(), n, isa);
        int bad = 0;
        for (size_t i = 0; i < gate.size(); ++i)
            if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0 && bad++ < 5)
                FAIL_CHECK(gmg::cpu::isa_name(isa) << ": gate " << gate[i] << " up " << up[i] << ": " << got[i] << " vs "
                                                   << want[i]);
        CHECK(bad == 0);
    }
}

TEST_CASE("a batch of products equals the products run one by one", "[kernels]") {
    // matmul_batch shares one parallel region between independent products
    // (direct and repacked); each output must be what one thread alone computes.
    std::mt19937 rng(19);
    const Isa isa = gmg::cpu::active_isa();
    const int64_t k = 1152;
    struct Case {
        GgmlType t;
        int64_t rows;
        bool repacked;
    };
    const std::vector<Case> cases{{GgmlType::Q5_0, 1024, false}, {GgmlType::Q8_0, 256, true}, {GgmlType::Q4_K, 0, false},
                                  {GgmlType::Q6_K, 23, false}, {GgmlType::IQ4_NL, 40, true}};
    for (int64_t n : {1, 7}) {
        const std::vector<float> x = random_activations(n, k, rng);
        std::vector<std::vector<uint8_t>> wdata, act;
        std::vector<gmg::cpu::WeightView> views;
        std::vector<gmg::cpu::RepackedWeights> packed(cases.size());
        std::vector<std::vector<float>> alone, together;
        for (const Case& c : cases) {
            const GgmlType t = c.t;
            const int64_t kk = t == GgmlType::Q4_K || t == GgmlType::Q6_K ? 1024 : k;  // 256-element super-blocks
            const std::vector<float> xk = kk == k ? x : random_activations(n, kk, rng);
            const int64_t rows = c.rows ? c.rows : 300;
            wdata.push_back(random_rows(t, rows, kk, rng));
            views.push_back({t, wdata.back().data(), static_cast<size_t>(*gmg::row_bytes(t, kk)), rows, kk});
            act.emplace_back(gmg::cpu::prepared_row_bytes(t, kk, isa) * static_cast<size_t>(n));
            gmg::cpu::prepare_activations(t, isa, xk.data(), n, kk, act.back().data());
            alone.emplace_back(static_cast<size_t>(n * rows), std::nanf(""));
            together.emplace_back(static_cast<size_t>(n * rows), std::nanf(""));
        }
        std::vector<gmg::cpu::MatmulJob> jobs;
        for (size_t i = 0; i < cases.size(); ++i) {
            const gmg::cpu::WeightView& w = views[i];
            const bool use_repacked = cases[i].repacked && gmg::cpu::repack(w, isa, 2, &packed[i]);
            if (use_repacked) {
                gmg::cpu::matmul_repacked(packed[i], act[i].data(), nullptr, n, alone[i].data(), w.rows, isa, 1);
                jobs.push_back({nullptr, &packed[i], act[i].data(), nullptr, n, together[i].data(), w.rows});
            } else {
                gmg::cpu::matmul_rows(w, act[i].data(), n, alone[i].data(), w.rows, 0, w.rows, isa);
                jobs.push_back({&w, nullptr, act[i].data(), nullptr, n, together[i].data(), w.rows});
            }
        }
        gmg::cpu::matmul_batch(jobs, isa, 3);
        for (size_t i = 0; i < cases.size(); ++i) {
            INFO(gmg::traits_of(cases[i].t).name << " n " << n);
            CHECK(std::memcmp(alone[i].data(), together[i].data(), alone[i].size() * sizeof(float)) == 0);
            CHECK_FALSE(std::isnan(together[i].back()));
        }
    }
}

TEST_CASE("SIMD activation quantizers are byte-identical to the reference", "[kernels]") {
    std::mt19937 rng(5);
    const int64_t k = 2304;
    std::vector<std::vector<float>> rows;
    rows.push_back(random_activations(1, k, rng));
    std::vector<float> ties(static_cast<size_t>(k));
    for (int64_t i = 0; i < k; ++i) ties[static_cast<size_t>(i)] = 0.5f * static_cast<float>((i * 37) % 255 - 127);
    rows.push_back(ties);                                     // many exact halves after scaling
    rows.push_back(std::vector<float>(static_cast<size_t>(k), 0.0f));  // all-zero blocks
    std::vector<float> dup(static_cast<size_t>(k), 1.0f);
    for (int64_t i = 0; i < k; i += 7) dup[static_cast<size_t>(i)] = -3.0f;  // max magnitude, both signs
    for (int64_t i = 3; i < k; i += 11) dup[static_cast<size_t>(i)] = 3.0f;
    rows.push_back(dup);
    std::vector<float> odd(static_cast<size_t>(k));  // bf16 rounding: ties, denormals, infinities, NaNs
    const uint32_t specials[] = {0x3f808000u, 0x3f818000u, 0x3f80ffffu, 0x00000001u, 0x80018000u, 0x7f7fffffu,
                                 0x7f800000u, 0xff800000u, 0x7fc00001u, 0xff800001u, 0x7f800001u, 0x80000000u};
    for (int64_t i = 0; i < k; ++i) {
        const uint32_t bits = i % 3 ? static_cast<uint32_t>(rng()) : specials[(i / 3) % std::size(specials)];
        std::memcpy(&odd[static_cast<size_t>(i)], &bits, 4);
    }
    for (Isa isa : isas_here()) {
        if (gmg::cpu::prepared_type(GgmlType::BF16, isa) != GgmlType::BF16) continue;  // no BF16 kernel: f32 rows
        std::vector<uint8_t> got(static_cast<size_t>(2 * k)), want(got.size());
        gmg::cpu::prepare_activations(GgmlType::BF16, isa, odd.data(), 1, k - 5, got.data());  // odd length: tail too
        for (int64_t i = 0; i < k - 5; ++i) {
            const uint16_t h = gmg::f32_to_bf16(odd[static_cast<size_t>(i)]);
            std::memcpy(want.data() + 2 * i, &h, 2);
        }
        INFO("BF16 " << gmg::cpu::isa_name(isa));
        CHECK(std::memcmp(got.data(), want.data(), static_cast<size_t>(2 * (k - 5))) == 0);
    }
    for (Isa isa : isas_here()) {
        for (const auto& x : rows) {
            for (GgmlType w : {GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q4_1}) {
                if (!gmg::cpu::has_kernel(w, isa)) continue;
                std::vector<uint8_t> got(gmg::cpu::prepared_row_bytes(w, k, isa)), want(got.size());
                gmg::cpu::prepare_activations(w, isa, x.data(), 1, k, got.data());
                switch (gmg::cpu::vec_dot_type(w)) {
                    case GgmlType::Q8_0: gmg::ref::quantize_row_q8_0_x86(x.data(), reinterpret_cast<gmg::block_q8_0*>(want.data()), k); break;
                    case GgmlType::Q8_K: gmg::ref::quantize_row_q8_K(x.data(), reinterpret_cast<gmg::block_q8_K*>(want.data()), k); break;
                    default: gmg::ref::quantize_row_q8_1_x86(x.data(), reinterpret_cast<gmg::block_q8_1*>(want.data()), k); break;
                }
                INFO(gmg::traits_of(w).name << " " << gmg::cpu::isa_name(isa));
                CHECK(std::memcmp(got.data(), want.data(), got.size()) == 0);
            }
        }
    }
}

TEST_CASE("the repacked prompt GEMM matches the scalar reference", "[kernels]") {
    for (Isa isa : isas_here()) {
        for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::IQ4_NL, GgmlType::Q4_1, GgmlType::Q5_1,
                           GgmlType::Q2_K, GgmlType::Q3_K,
                           GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::IQ4_XS, GgmlType::IQ3_XXS,
                           GgmlType::IQ3_S, GgmlType::BF16}) {
            if (!gmg::cpu::can_repack(t, isa)) continue;
            const GgmlType at = gmg::cpu::vec_dot_type(t);
            std::mt19937 rng(static_cast<uint32_t>(t) * 17);
            for (int64_t rows : {16, 37}) {  // whole groups, and a partial last group
                for (int64_t k : {32, 1152, 256, 1536}) {
                    if (k % gmg::traits_of(t).block_elems || k % gmg::traits_of(at).block_elems) continue;
                    const std::vector<uint8_t> wdata = random_rows(t, rows, k, rng);
                    const gmg::cpu::WeightView w{t, wdata.data(), static_cast<size_t>(*gmg::row_bytes(t, k)), rows, k};
                    gmg::cpu::RepackedWeights packed;
                    REQUIRE(gmg::cpu::repack(w, isa, 2, &packed));
                    for (int64_t n : {1, 5, 17, 2}) {
                        std::vector<float> x = random_activations(n, k, rng);
                        // n = 2: constant activations (every int8 at +127, then -127), the largest
                        // integer partial sums the kernels must hold without overflow
                        if (n == 2)
                            for (int64_t i = 0; i < k; ++i) x[static_cast<size_t>(i)] = 1.0f, x[static_cast<size_t>(k + i)] = -1.0f;
                        const size_t stride = gmg::cpu::prepared_row_bytes(t, k, isa);
                        std::vector<uint8_t> act(stride * static_cast<size_t>(n));
                        gmg::cpu::prepare_activations(t, isa, x.data(), n, k, act.data());
                        std::vector<float> y(static_cast<size_t>(n * rows), std::nanf(""));
                        gmg::cpu::matmul_repacked(packed, act.data(), nullptr, n, y.data(), rows, isa, 2);
                        int bad = 0;
                        for (int64_t c = 0; c < n; ++c)
                            for (int64_t r = 0; r < rows; ++r) {
                                const Expected e = reference_dot(t, wdata.data() + static_cast<size_t>(r) * w.row_bytes,
                                                                 at, act.data() + static_cast<size_t>(c) * stride, k);
                                const double got = y[static_cast<size_t>(c * rows + r)];
                                if (!(std::fabs(got - e.value) <= 2e-6 * e.magnitude + 1e-30) && bad++ < 3)
                                    FAIL_CHECK(gmg::traits_of(t).name << " rows " << rows << " k " << k << " n " << n << " r "
                                                                      << r << " c " << c << ": " << got << " vs " << e.value);
                            }
                        CHECK(bad == 0);
                    }
                }
            }
        }
    }
}
