// Every GPU kernel against a CPU oracle on random data: the quantized products
// for every weight type (odd row counts, several column counts, outputs poisoned
// with NaN so an unwritten element fails), the activation quantizers byte for
// byte, the norms, GeGLU, and QK-norm + RoPE + cache store + attention across a
// sliding-window ring. Exits 77 (ctest: skipped) when no GPU can be used.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/argmax_key.h"
#include "kernels/cpu/attention.h"
#include "kernels/gpu/gpu_backend.h"
#include "kernels/gpu/split_attention.h"
#include "kernels/common/group_decode.h"
#include "kernels/ref/dequantize.h"
#include "lib/runtime/reference_ops.h"
#include "lib/runtime/sampler.h"
#include "tests/support/random_blocks.h"

using namespace gmg;

namespace {

gpu::Stream* g_stream = nullptr;

template <class T>
gpu::DeviceBuffer to_device(const std::vector<T>& host) {
    gpu::DeviceBuffer b;
    std::string err;
    REQUIRE(b.allocate(std::max<size_t>(1, host.size() * sizeof(T)), &err));
    if (!host.empty()) g_stream->upload(b.data(), host.data(), host.size() * sizeof(T));
    REQUIRE(g_stream->sync(&err));
    return b;
}

template <class T>
std::vector<T> to_host(const gpu::DeviceBuffer& b, size_t count) {
    std::vector<T> out(count);
    g_stream->download(out.data(), b.data(), count * sizeof(T));
    std::string err;
    INFO(err);
    REQUIRE(g_stream->sync(&err));
    return out;
}

std::vector<float> normal_floats(size_t n, std::mt19937& rng, float sigma = 1.0f) {
    std::normal_distribution<float> d(0.0f, sigma);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

// The host side of one activation row under a rule: dequantized values.
std::vector<double> host_activation(gpu::ActRule rule, const float* x, int64_t k) {
    std::vector<double> a(static_cast<size_t>(k));
    if (gpu::is_float_rule(rule)) {
        for (int64_t i = 0; i < k; ++i) a[static_cast<size_t>(i)] = gpu::round_float_act(rule, x[i]);
        return a;
    }
    const int blk = gpu::act_block(rule);
    std::vector<int8_t> q(static_cast<size_t>(blk));
    std::vector<float> d(static_cast<size_t>(blk / 32));
    for (int64_t b = 0; b < k / blk; ++b) {
        gpu::quantize_block(rule, x + b * blk, q.data(), d.data());
        for (int j = 0; j < blk; ++j) a[static_cast<size_t>(b * blk + j)] = static_cast<double>(d[0]) * q[static_cast<size_t>(j)];
    }
    return a;
}

std::vector<GgmlType> gpu_types() {
    std::vector<GgmlType> out;
    int n = 0;
    const TypeTraits* all = all_type_traits(&n);
    for (int i = 0; i < n; ++i)
        if (all[i].weight_only && gpu::has_matmul(all[i].type)) out.push_back(all[i].type);
    return out;
}

// Random weights of one type on the device, with their dequantized values.
struct RandomWeight {
    GgmlType type;
    int64_t rows, cols;
    std::vector<uint8_t> bytes;
    size_t row_bytes;
    std::vector<float> values;
    gpu::DeviceBuffer device;

    RandomWeight(GgmlType t, int64_t r, int64_t c, std::mt19937& rng)
        : type(t), rows(r), cols(c), bytes(testing::random_rows(t, r, c, rng)) {
        row_bytes = bytes.size() / static_cast<size_t>(rows);
        values.resize(static_cast<size_t>(rows * cols));
        for (int64_t i = 0; i < rows; ++i)
            REQUIRE(ref::dequantize_row(t, bytes.data() + i * row_bytes, values.data() + i * cols, cols));
        device = to_device(bytes);
    }
    gpu::DeviceWeight view() const { return {type, device.data(), row_bytes, rows, cols}; }
};

// Device buffers for n rows of quantized activations of width k, exactly sized (the
// scales and sums one per 32 values; rounded up, for float rules, which leave them unused).
struct ActBuffers {
    gpu::DeviceBuffer q, scale, f, sum;
    ActBuffers(int64_t n, int64_t k) {
        std::string err;
        const size_t blocks = static_cast<size_t>((n * k + 31) / 32);
        REQUIRE(q.allocate(static_cast<size_t>(n * k), &err));
        REQUIRE(scale.allocate(blocks * sizeof(float), &err));
        REQUIRE(sum.allocate(blocks * sizeof(float), &err));
        REQUIRE(f.allocate(static_cast<size_t>(n * k) * sizeof(float), &err));
    }
    gpu::ActRows rows() { return {q.as<int8_t>(), scale.as<float>(), f.as<float>(), sum.as<float>()}; }
};

// y (n rows of ldy, poisoned with NaN before the launch) against the exact product of
// the weights with x's activations rounded by the type's rule: every output written,
// none past `rows`, each within 1e-5 of the sum of its products' magnitudes.
void check_exact_products(const RandomWeight& w, const std::vector<float>& x, int64_t n, const std::vector<float>& y,
                          int64_t ldy) {
    const TypeTraits tr = traits_of(w.type);
    const gpu::ActRule rule = gpu::act_rule(w.type);
    const int64_t rows = w.rows, cols = w.cols;
    int bad = 0, unwritten = 0, overwritten = 0;
    double worst = 0.0;
    for (int64_t c = 0; c < n; ++c) {
        const auto a = host_activation(rule, x.data() + c * cols, cols);
        // Q4_1/Q5_1 take their min term from Q8_1's stored sum s (f16(d * sum(q)),
        // as llama.cpp's CPU path does), not from the activations' exact sum.
        std::vector<float> stored_sum(static_cast<size_t>(cols / 32));
        if (rule == gpu::ActRule::q8_1) {
            std::vector<int8_t> qb(32);
            float d = 0.0f;
            for (int64_t b = 0; b < cols / 32; ++b)
                gpu::quantize_block(rule, x.data() + c * cols + b * 32, qb.data(), &d, &stored_sum[static_cast<size_t>(b)]);
        }
        for (int64_t r = 0; r < rows; ++r) {
            double exact = 0.0, mag = 0.0;
            for (int64_t i = 0; i < cols; ++i) {
                double wi = w.values[static_cast<size_t>(r * cols + i)];
                if (rule == gpu::ActRule::q8_1) {  // the block's min (the f16 after d) goes with s below
                    const uint8_t* blk = w.bytes.data() + r * w.row_bytes + (i / 32) * tr.block_bytes;
                    const double m = f16_to_f32(static_cast<uint16_t>(blk[2] | blk[3] << 8));
                    wi -= m;
                    if (i % 32 == 0) exact += m * stored_sum[static_cast<size_t>(i / 32)];
                }
                const double p = wi * a[static_cast<size_t>(i)];
                exact += p;
                mag += std::fabs(p);
            }
            const float got = y[static_cast<size_t>(c * ldy + r)];
            if (std::isnan(got)) ++unwritten;
            else if (std::fabs(got - exact) > 1e-5 * mag + 1e-7) ++bad;
            if (mag > 0) worst = std::max(worst, std::fabs(got - exact) / mag);
        }
        for (int64_t r = rows; r < ldy; ++r) overwritten += !std::isnan(y[static_cast<size_t>(c * ldy + r)]);
    }
    CAPTURE(worst);
    CHECK(unwritten == 0);
    CHECK(overwritten == 0);
    CHECK(bad == 0);
}

int64_t test_width(GgmlType t) {
    const TypeTraits tr = traits_of(t);
    return gpu::act_block(gpu::act_rule(t)) == 256 || tr.block_elems == 256 ? 768
         : tr.block_elems == 64                                              ? 512
         : tr.block_elems == 1                                               ? 100
                                                                             : 160;
}

// Runs `product` (a matmul into y, n rows of ldy) on random activations and checks it
// against the exact product.
template <class Product>
void check_product(const RandomWeight& w, int64_t n, std::mt19937& rng, Product&& product) {
    CAPTURE(n);
    const auto x = normal_floats(static_cast<size_t>(n * w.cols), rng);
    gpu::DeviceBuffer dx = to_device(x);
    ActBuffers act(n, w.cols);
    const int64_t ldy = w.rows + 3;  // the gaps must stay poisoned
    gpu::DeviceBuffer dy = to_device(std::vector<float>(static_cast<size_t>(n * ldy), std::numeric_limits<float>::quiet_NaN()));
    gpu::quantize_rows(*g_stream, gpu::act_rule(w.type), dx.as<float>(), n, w.cols, act.rows());
    product(act.rows(), dy.as<float>(), ldy);
    check_exact_products(w, x, n, to_host<float>(dy, static_cast<size_t>(n * ldy)), ldy);
}

}  // namespace

TEST_CASE("GPU matmul matches the exact product for every weight type", "[gpu][matmul]") {
    std::mt19937 rng(42);
    const auto types = gpu_types();
    REQUIRE(types.size() >= 26);
    for (GgmlType t : types) {
        CAPTURE(traits_of(t).name);
        const RandomWeight w(t, 37, test_width(t), rng);
        for (int64_t n : {1, 2, 9, 17})
            check_product(w, n, rng, [&](const gpu::ActRows& act, float* y, int64_t ldy) {
                gpu::matmul(*g_stream, w.view(), act, n, y, ldy);
            });
    }
}

// Odd row and column counts cut the 128 x 64 tiles short on both sides; GeGLU's
// fused tile is checked against geglu() of the two products the same kernel gives.
TEST_CASE("integer tensor-core prompt matmul matches the exact product", "[gpu][mma]") {
    std::mt19937 rng(29);
    int tested = 0;
    for (GgmlType t : gpu_types()) {
        if (!gpu::has_mma_matmul(*g_stream, t)) continue;
        CAPTURE(traits_of(t).name);
        ++tested;
        const RandomWeight w(t, 133, test_width(t), rng);
        for (int64_t n : {5, 70})
            check_product(w, n, rng, [&](const gpu::ActRows& act, float* y, int64_t ldy) {
                gpu::matmul_mma(*g_stream, w.view(), act, n, y, ldy);
            });
        const RandomWeight up(t, 133, w.cols, rng);
        const int64_t n = 19, rows = w.rows;
        gpu::DeviceBuffer dx = to_device(normal_floats(static_cast<size_t>(n * w.cols), rng));
        ActBuffers act(n, w.cols);
        gpu::quantize_rows(*g_stream, gpu::act_rule(t), dx.as<float>(), n, w.cols, act.rows());
        const auto poison = std::vector<float>(static_cast<size_t>(n * rows), std::numeric_limits<float>::quiet_NaN());
        gpu::DeviceBuffer fused = to_device(poison), g = to_device(poison), u = to_device(poison);
        gpu::matmul_geglu_mma(*g_stream, w.view(), up.view(), act.rows(), n, fused.as<float>(), rows);
        gpu::matmul_mma(*g_stream, w.view(), act.rows(), n, g.as<float>(), rows);
        gpu::matmul_mma(*g_stream, up.view(), act.rows(), n, u.as<float>(), rows);
        gpu::geglu(*g_stream, g.as<float>(), u.as<float>(), n * rows);
        const auto got = to_host<float>(fused, poison.size()), want = to_host<float>(g, poison.size());
        int differ = 0;
        for (size_t i = 0; i < got.size(); ++i) differ += !(got[i] == want[i]);  // NaN (unwritten) differs too
        CHECK(differ == 0);
    }
    const auto types = gpu_types();
    const auto integer_types = std::count_if(types.begin(), types.end(), [](GgmlType t) {
        return t != GgmlType::F32 && t != GgmlType::F16 && t != GgmlType::BF16;
    });
    CHECK(tested == (gpu::has_mma_matmul(*g_stream, GgmlType::Q8_0) ? integer_types : 0));
}

TEST_CASE("tensor-core prompt matmul equals the product of f16-rounded operands", "[gpu][tensor]") {
    std::mt19937 rng(23);
    std::string err;
    int tested = 0;
    for (GgmlType t : gpu_types()) {
        if (!gpu::has_tensor_matmul(*g_stream, t)) continue;
        const TypeTraits tr = traits_of(t);
        CAPTURE(tr.name);
        const int64_t rows = 100, cols = tr.block_elems == 1 ? 96 : 768;  // 100: a partial 64-row tile
        if (!row_bytes(t, cols)) continue;
        const auto wbytes = testing::random_rows(t, rows, cols, rng);
        const size_t rb = wbytes.size() / static_cast<size_t>(rows);
        std::vector<float> w(static_cast<size_t>(rows * cols));
        for (int64_t r = 0; r < rows; ++r) REQUIRE(ref::dequantize_row(t, wbytes.data() + r * rb, w.data() + r * cols, cols));
        gpu::DeviceBuffer dw = to_device(wbytes);
        const gpu::DeviceWeight weight{t, dw.data(), rb, rows, cols};
        for (int64_t n : {16, 70}) {
            CAPTURE(n);
            auto x = normal_floats(static_cast<size_t>(n * cols), rng, 3.0f);
            for (size_t i = 0; i < static_cast<size_t>(cols); ++i) x[i] *= 3e4f;  // a row past f16's range: scaled
            gpu::DeviceBuffer dx = to_device(x), xt;
            REQUIRE(xt.allocate(gpu::tensor_activation_bytes(n, cols), &err));
            gpu::DeviceBuffer dy = to_device(std::vector<float>(static_cast<size_t>(n * rows), std::numeric_limits<float>::quiet_NaN()));
            gpu::to_tensor_activations(*g_stream, dx.as<float>(), n, cols, xt.data());
            gpu::matmul_tensor(*g_stream, weight, xt.data(), n, dy.as<float>(), rows);
            const auto y = to_host<float>(dy, static_cast<size_t>(n * rows));
            int bad = 0, unwritten = 0;
            for (int64_t c = 0; c < n; ++c) {
                // The power of two that brings the row under 2^14, as the device picks it.
                float amax = 0.0f;
                for (int64_t i = 0; i < cols; ++i) amax = std::max(amax, std::fabs(x[static_cast<size_t>(c * cols + i)]));
                int e = 0;
                if (amax > 16384.0f) std::frexp(amax / 16384.0f, &e);
                const double scale = std::ldexp(1.0, e);
                for (int64_t r = 0; r < rows; ++r) {
                    double exact = 0.0, mag = 0.0;
                    for (int64_t i = 0; i < cols; ++i) {
                        const float xs = static_cast<float>(x[static_cast<size_t>(c * cols + i)] / scale);
                        const double p = static_cast<double>(f16_to_f32(f32_to_f16(w[static_cast<size_t>(r * cols + i)]))) *
                                         f16_to_f32(f32_to_f16(xs)) * scale;
                        exact += p;
                        mag += std::fabs(p);
                    }
                    const float got = y[static_cast<size_t>(c * rows + r)];
                    if (std::isnan(got)) ++unwritten;
                    else bad += !(std::fabs(got - exact) <= 1e-4 * mag + 1e-6);
                }
            }
            CHECK(unwritten == 0);
            CHECK(bad == 0);
        }
        ++tested;
    }
    CHECK(tested >= (gpu::has_tensor_matmul(*g_stream, GgmlType::Q8_0) ? 20 : 0));
}

// Two sets of activation buffers for n rows of `width`, poisoned unlike each other: [0]
// for a kernel that quantizes its own output, [1] for quantize_rows of that output.
struct QuantizedPair {
    size_t elems, blocks;
    gpu::DeviceBuffer q[2], scale[2], sum[2], f[2];
    QuantizedPair(int64_t n, int64_t width)
        : elems(static_cast<size_t>(n * width)), blocks(static_cast<size_t>(n * width / 32)) {
        for (int i = 0; i < 2; ++i) {
            q[i] = to_device(std::vector<int8_t>(elems, static_cast<int8_t>(99 - i)));
            scale[i] = to_device(std::vector<float>(blocks, -1.0f - i));
            sum[i] = to_device(std::vector<float>(blocks, -1.0f - i));
            f[i] = to_device(std::vector<float>(elems, -1.0f - i));
        }
    }
    gpu::ActRows rows(int i) { return {q[i].as<int8_t>(), scale[i].as<float>(), f[i].as<float>(), sum[i].as<float>()}; }
    // Byte for byte what `rule` writes (one scale per 32 values; Q8_K repeats its own).
    void check_equal(gpu::ActRule rule) {
        if (gpu::is_float_rule(rule)) {
            CHECK(to_host<float>(f[0], elems) == to_host<float>(f[1], elems));
            return;
        }
        CHECK(to_host<int8_t>(q[0], elems) == to_host<int8_t>(q[1], elems));
        CHECK(to_host<float>(scale[0], blocks) == to_host<float>(scale[1], blocks));
        if (rule == gpu::ActRule::q8_1) CHECK(to_host<float>(sum[0], blocks) == to_host<float>(sum[1], blocks));
    }
};

TEST_CASE("fused GPU launches equal the separate kernels they replace", "[gpu][fused]") {
    std::mt19937 rng(17);
    const int64_t cols = 768, n_max = 20;
    auto close = [](const std::vector<float>& a, const std::vector<float>& b) {
        int bad = 0;
        for (size_t i = 0; i < a.size(); ++i) bad += !(std::fabs(a[i] - b[i]) <= 1e-6f * (std::fabs(b[i]) + 1e-3f));
        return bad;
    };
    for (GgmlType t : {GgmlType::Q5_0, GgmlType::Q4_K, GgmlType::IQ4_NL, GgmlType::Q5_1, GgmlType::BF16}) {
        CAPTURE(traits_of(t).name);
        const gpu::ActRule rule = gpu::act_rule(t);
        const int64_t rows[3] = {256, 64, 96};
        std::vector<gpu::DeviceBuffer> wbuf;
        gpu::DeviceWeight w[3];
        for (int j = 0; j < 3; ++j) {
            const auto bytes = testing::random_rows(t, rows[j], cols, rng);
            wbuf.push_back(to_device(bytes));
            w[j] = {t, wbuf.back().data(), bytes.size() / static_cast<size_t>(rows[j]), rows[j], cols};
        }
        for (int64_t n : {1, 9, 20}) {
            const bool mma = n >= 16 && gpu::has_mma_matmul(*g_stream, t);  // matmul's tensor-core kernels
            if (n == 20 && !mma) continue;  // the dp4a kernels: as for 9
            CAPTURE(n);
            ActBuffers buffers(n_max, cols);
            const gpu::ActRows act = buffers.rows();
            gpu::DeviceBuffer dx = to_device(normal_floats(static_cast<size_t>(n * cols), rng));
            gpu::quantize_rows(*g_stream, rule, dx.as<float>(), n, cols, act);
            std::vector<gpu::DeviceBuffer> fused, single;
            float* fy[3];
            for (int j = 0; j < 3; ++j) {
                const auto poison = std::vector<float>(static_cast<size_t>(n * rows[j]), std::numeric_limits<float>::quiet_NaN());
                fused.push_back(to_device(poison));
                single.push_back(to_device(poison));
                fy[j] = fused.back().as<float>();
            }
            gpu::matmul_multi(*g_stream, w, fy, 3, act, n);
            for (int j = 0; j < 3; ++j) gpu::matmul(*g_stream, w[j], act, n, single[static_cast<size_t>(j)].as<float>(), rows[j]);
            for (int j = 0; j < 3; ++j) {
                const size_t count = static_cast<size_t>(n * rows[j]);
                CHECK(close(to_host<float>(fused[static_cast<size_t>(j)], count), to_host<float>(single[static_cast<size_t>(j)], count)) == 0);
            }
            // gate/up + GeGLU: matrices 1 and 2 cut to the same shape
            const gpu::DeviceWeight gate{t, w[0].d_data, w[0].row_bytes, 64, cols}, up{t, w[1].d_data, w[1].row_bytes, 64, cols};
            gpu::DeviceBuffer g1 = to_device(std::vector<float>(static_cast<size_t>(n * 64), std::numeric_limits<float>::quiet_NaN()));
            gpu::DeviceBuffer g2 = to_device(std::vector<float>(static_cast<size_t>(n * 64), 0.0f));
            gpu::DeviceBuffer u2 = to_device(std::vector<float>(static_cast<size_t>(n * 64), 0.0f));
            gpu::matmul_geglu(*g_stream, gate, up, act, n, g1.as<float>(), 64);
            gpu::matmul(*g_stream, gate, act, n, g2.as<float>(), 64);
            gpu::matmul(*g_stream, up, act, n, u2.as<float>(), 64);
            gpu::geglu(*g_stream, g2.as<float>(), u2.as<float>(), n * 64);
            CHECK(close(to_host<float>(g1, static_cast<size_t>(n * 64)), to_host<float>(g2, static_cast<size_t>(n * 64))) == 0);
            // The GeGLU's output quantized for the next matrix (decode: by the blocks that
            // complete each activation block; twice, so a counter left set would show),
            // against quantize_rows of that output.
            if (mma) continue;  // prompts quantize the GeGLU's output by quantize_rows, as for 9
            const gpu::DeviceWeight g256{t, w[0].d_data, w[0].row_bytes, 256, cols};
            for (const gpu::ActRule out_rule : {gpu::ActRule::q8_0, gpu::ActRule::q8_1, gpu::ActRule::q8_K, gpu::ActRule::f16}) {
                CAPTURE(static_cast<int>(out_rule));
                gpu::DeviceBuffer counters = to_device(std::vector<uint8_t>(gpu::geglu_counters_bytes(256), 0));
                for (int rep = 0; rep < 2; ++rep) {
                    gpu::DeviceBuffer y = to_device(std::vector<float>(static_cast<size_t>(n * 256), std::numeric_limits<float>::quiet_NaN()));
                    QuantizedPair pair(n, 256);
                    const gpu::ActOutput fused_out{out_rule, pair.rows(0)};
                    gpu::matmul_geglu(*g_stream, g256, g256, act, n, y.as<float>(), 256, &fused_out, counters.as<unsigned>());
                    gpu::quantize_rows(*g_stream, out_rule, y.as<float>(), n, 256, pair.rows(1));
                    pair.check_equal(out_rule);
                }
                CHECK(to_host<uint8_t>(counters, gpu::geglu_counters_bytes(256)) ==
                      std::vector<uint8_t>(gpu::geglu_counters_bytes(256), 0));
            }
        }
    }
    // Norm + quantize, and residual + norm + quantize, for an integer, a K and a float rule.
    for (gpu::ActRule rule : {gpu::ActRule::q8_0, gpu::ActRule::q8_K, gpu::ActRule::bf16}) {
        CAPTURE(static_cast<int>(rule));
        const int64_t n = 3, width = cols;
        REQUIRE(gpu::fused_norm_fits(width, rule));
        const auto x = normal_floats(static_cast<size_t>(n * width), rng, 2.0f);
        const auto p = normal_floats(static_cast<size_t>(n * width), rng, 20.0f);
        const auto w1 = normal_floats(static_cast<size_t>(width), rng), w2 = normal_floats(static_cast<size_t>(width), rng);
        gpu::DeviceBuffer dx1 = to_device(x), dx2 = to_device(x), dp = to_device(p), dw1 = to_device(w1), dw2 = to_device(w2);
        gpu::DeviceBuffer h1 = to_device(std::vector<float>(x.size(), 0.0f)), h2 = to_device(std::vector<float>(x.size(), 0.0f));
        ActBuffers ba(n_max, cols), bb(n_max, cols);
        const gpu::ActRows a1 = ba.rows(), a2 = bb.rows();
        for (int fused_residual = 0; fused_residual < 2; ++fused_residual) {
            if (fused_residual) {
                gpu::add_rms_norm_quantize(*g_stream, dx1.as<float>(), dp.as<float>(), dw1.as<float>(), dw2.as<float>(),
                                           h1.as<float>(), n, width, 1e-6f, rule, a1);
                gpu::add_rms_norm(*g_stream, dx2.as<float>(), dp.as<float>(), dw1.as<float>(), n, width, 1e-6f);
                gpu::rms_norm(*g_stream, dx2.as<float>(), dw2.as<float>(), h2.as<float>(), n, width, 1e-6f);
            } else {
                gpu::rms_norm_quantize(*g_stream, dx1.as<float>(), dw1.as<float>(), h1.as<float>(), n, width, 1e-6f, rule, a1);
                gpu::rms_norm(*g_stream, dx2.as<float>(), dw1.as<float>(), h2.as<float>(), n, width, 1e-6f);
            }
            gpu::quantize_rows(*g_stream, rule, h2.as<float>(), n, width, a2);
            CHECK(close(to_host<float>(dx1, x.size()), to_host<float>(dx2, x.size())) == 0);
            CHECK(close(to_host<float>(h1, x.size()), to_host<float>(h2, x.size())) == 0);
            if (gpu::is_float_rule(rule)) {
                CHECK(close(to_host<float>(ba.f, x.size()), to_host<float>(bb.f, x.size())) == 0);
            } else {
                // The same floats quantize to the same bytes; allow a rare last-ulp flip of a rounding tie.
                const auto q1 = to_host<int8_t>(ba.q, x.size()), q2 = to_host<int8_t>(bb.q, x.size());
                int differ = 0;
                for (size_t i = 0; i < q1.size(); ++i) differ += std::abs(q1[i] - q2[i]) > 1;
                CHECK(differ == 0);
            }
        }
    }
}

TEST_CASE("GPU activation quantizers are byte-identical to the host rules", "[gpu][quantize]") {
    std::mt19937 rng(3);
    const int64_t n = 3, k = 512;
    auto x = normal_floats(static_cast<size_t>(n * k), rng, 4.0f);
    for (size_t i = 0; i < 64; ++i) x[i] = std::round(x[i] * 2.0f) * 0.5f;  // ties
    for (size_t i = 64; i < 96; ++i) x[i] = 0.0f;                          // an empty block
    for (size_t i = 512; i < 768; ++i) x[i] = 0.0f;                        // an empty Q8_K block
    x[1024 + 3] = -50.0f, x[1024 + 200] = 50.0f;  // Q8_K: the first of two largest magnitudes sets the sign
    gpu::DeviceBuffer dx = to_device(x);
    for (gpu::ActRule rule : {gpu::ActRule::q8_0, gpu::ActRule::q8_1, gpu::ActRule::q8_K, gpu::ActRule::f16,
                              gpu::ActRule::bf16, gpu::ActRule::f32}) {
        CAPTURE(static_cast<int>(rule));
        ActBuffers buffers(n, k);
        auto& [q, scale, f, sum] = buffers;
        gpu::quantize_rows(*g_stream, rule, dx.as<float>(), n, k, buffers.rows());
        if (gpu::is_float_rule(rule)) {
            const auto got = to_host<float>(f, static_cast<size_t>(n * k));
            int differ = 0;
            for (size_t i = 0; i < got.size(); ++i) differ += got[i] != gpu::round_float_act(rule, x[i]);
            CHECK(differ == 0);
            continue;
        }
        const auto got_q = to_host<int8_t>(q, static_cast<size_t>(n * k));
        const auto got_d = to_host<float>(scale, static_cast<size_t>(n * k / 32));
        const auto got_s = to_host<float>(sum, static_cast<size_t>(n * k / 32));
        const int blk = gpu::act_block(rule);
        int differ = 0;
        std::vector<int8_t> want(static_cast<size_t>(blk));
        std::vector<float> want_d(static_cast<size_t>(blk / 32));
        float want_s = 0.0f;
        for (int64_t b = 0; b < n * k / blk; ++b) {
            gpu::quantize_block(rule, x.data() + b * blk, want.data(), want_d.data(), &want_s);
            differ += std::memcmp(want.data(), got_q.data() + b * blk, static_cast<size_t>(blk)) != 0;
            for (int g = 0; g < blk / 32; ++g) differ += got_d[static_cast<size_t>(b * blk / 32 + g)] != want_d[static_cast<size_t>(g)];
            if (rule == gpu::ActRule::q8_1) differ += got_s[static_cast<size_t>(b)] != want_s;
        }
        CHECK(differ == 0);
    }
}

TEST_CASE("GPU RMSNorm, sandwich norm, GeGLU and soft-cap match the CPU ops", "[gpu][ops]") {
    std::mt19937 rng(5);
    const int64_t n = 5, width = 1152;
    const auto x = normal_floats(static_cast<size_t>(n * width), rng, 3.0f);
    const auto p = normal_floats(static_cast<size_t>(n * width), rng, 30.0f);
    const auto w = normal_floats(static_cast<size_t>(width), rng, 2.0f);
    gpu::DeviceBuffer dx = to_device(x), dp = to_device(p), dw = to_device(w);
    gpu::DeviceBuffer dy = to_device(std::vector<float>(x.size(), std::numeric_limits<float>::quiet_NaN()));
    gpu::rms_norm(*g_stream, dx.as<float>(), dw.as<float>(), dy.as<float>(), n, width, 1e-6f);
    gpu::add_rms_norm(*g_stream, dx.as<float>(), dp.as<float>(), dw.as<float>(), n, width, 1e-6f);
    const auto y = to_host<float>(dy, x.size());
    const auto x2 = to_host<float>(dx, x.size());
    std::vector<float> want(static_cast<size_t>(width)), pn(static_cast<size_t>(width));
    int bad_norm = 0, bad_add = 0;
    for (int64_t r = 0; r < n; ++r) {
        ops::rms_norm(x.data() + r * width, w.data(), want.data(), width, 1e-6f);
        ops::rms_norm(p.data() + r * width, w.data(), pn.data(), width, 1e-6f);
        for (int64_t i = 0; i < width; ++i) {
            const size_t at = static_cast<size_t>(r * width + i);
            bad_norm += !(std::fabs(y[at] - want[static_cast<size_t>(i)]) <= 1e-5f * (std::fabs(want[static_cast<size_t>(i)]) + 1.0f));
            const float sum = pn[static_cast<size_t>(i)] + x[at];
            bad_add += !(std::fabs(x2[at] - sum) <= 1e-5f * (std::fabs(sum) + 1.0f));
        }
    }
    CHECK(bad_norm == 0);
    CHECK(bad_add == 0);

    auto gate = normal_floats(4096, rng, 4.0f);
    gate[0] = -12.0f, gate[1] = 11.0f, gate[2] = 0.0f;
    const auto up = normal_floats(4096, rng);
    gpu::DeviceBuffer dg = to_device(gate), du = to_device(up);
    gpu::geglu(*g_stream, dg.as<float>(), du.as<float>(), 4096);
    const auto got = to_host<float>(dg, 4096);
    std::vector<float> ref(4096);
    ops::geglu(gate.data(), up.data(), ref.data(), 4096);
    int bad_gelu = 0;
    for (size_t i = 0; i < ref.size(); ++i)  // at most one f16 step apart (libm's last ulp before the rounding)
        bad_gelu += !(std::fabs(got[i] - ref[i]) <= 1e-3f * std::fabs(ref[i]) + 1e-6f);
    CHECK(bad_gelu == 0);

    gpu::softcap(*g_stream, dg.as<float>(), 4096, 30.0f);
    const auto capped = to_host<float>(dg, 4096);
    int bad_cap = 0;
    for (size_t i = 0; i < got.size(); ++i) bad_cap += !(std::fabs(capped[i] - 30.0f * std::tanh(got[i] / 30.0f)) <= 1e-5f);
    CHECK(bad_cap == 0);
}

TEST_CASE("GPU argmax picks the host sampler's greedy token, ties and signed zeros included", "[gpu][ops]") {
    std::mt19937 rng(13);
    const int64_t n = 262147, rows = 5;  // a vocabulary's width, not a multiple of any block
    std::vector<float> x = normal_floats(n * rows, rng, 8.0f);
    auto row = [&](int64_t r) { return x.data() + r * n; };
    row(1)[7] = row(1)[100000] = 1e3f;   // equal maxima: the first wins
    for (int64_t i = 0; i < n; ++i) row(2)[i] = -1.0f;  // all equal: index 0
    for (int64_t i = 0; i < n; ++i) row(3)[i] = -std::fabs(row(3)[i]) - 1.0f;
    row(3)[5] = -0.0f, row(3)[9] = 0.0f;  // -0 equals +0: index 5
    row(4)[n - 1] = 1e4f;                  // the last element
    gpu::DeviceBuffer dx = to_device(x), dout = to_device(std::vector<int32_t>(rows, -7));
    gpu::argmax_rows(*g_stream, dx.as<float>(), rows, n, dout.as<int32_t>());
    const auto got = to_host<int32_t>(dout, rows);
    for (int64_t r = 0; r < rows; ++r) {
        CAPTURE(r);
        CHECK(got[static_cast<size_t>(r)] == greedy_token({row(r), static_cast<size_t>(n)}));
    }
    CHECK(got[1] == 7);
    CHECK(got[2] == 0);
    CHECK(got[3] == 5);
    CHECK(got[4] == n - 1);
}

// The CPU path's attention of query rows q (n, n_head*head_dim) over host copies of
// the cache: the oracle for both attention paths. Counts NaN (unwritten) and wrong outputs.
void check_attention_output(const gpu::AttentionShape& a, const std::vector<float>& q, const std::vector<uint16_t>& host_k,
                            const std::vector<uint16_t>& host_v, int64_t pos0, int64_t n, const std::vector<float>& out) {
    const int64_t D = a.head_dim, Q = a.n_head * D, KV = a.n_head_kv * D;
    int bad_out = 0, unwritten = 0;
    for (int64_t t = 0; t < n; ++t) {
        const int64_t p = pos0 + t;
        const int64_t lo = a.window ? std::max<int64_t>(0, p - a.window + 1) : 0;
        for (int64_t h = 0; h < a.n_head; ++h) {
            const int64_t kvh = h / (a.n_head / a.n_head_kv);
            const cpu::KvRows rows{host_k.data() + kvh * D, host_v.data() + kvh * D, a.capacity, KV};
            std::vector<float> want(static_cast<size_t>(D));
            cpu::attend_head(q.data() + t * Q + h * D, D, rows, lo, p, want.data(), cpu::Isa::scalar);
            for (int64_t i = 0; i < D; ++i) {
                const float got = out[static_cast<size_t>(t * Q + h * D + i)];
                if (std::isnan(got)) ++unwritten;
                else bad_out += !(std::fabs(got - want[static_cast<size_t>(i)]) <= 2e-3f);
            }
        }
    }
    CHECK(unwritten == 0);
    CHECK(bad_out == 0);
}

// Scratch for the split path, poisoned so that a part it reads before writing shows.
gpu::DeviceBuffer poisoned_scratch(const gpu::AttentionShape& a, int64_t n) {
    return to_device(std::vector<float>(gpu::attention_scratch_bytes(a, n) / sizeof(float),
                                        std::numeric_limits<float>::quiet_NaN()));
}

// The attention kernels under test: one block per row, the split decode path (for up
// to kSplitMaxQueries rows; more take the rows kernel, as attention() would), and the
// tiled one, forced for every row count, one included.
enum class Path { rows, split, tiled };
constexpr Path kPaths[] = {Path::rows, Path::split, Path::tiled};
const char* path_name(Path p) { return p == Path::rows ? "rows" : p == Path::split ? "split" : "tiled"; }

void run_attention(Path path, const gpu::AttentionShape& a, gpu::DeviceBuffer& q, gpu::DeviceBuffer& k,
                   gpu::DeviceBuffer& v, gpu::DeviceBuffer& out, int64_t n, gpu::DeviceBuffer& pos,
                   gpu::DeviceBuffer& scratch) {
    const gpu::AttentionPath want = path == Path::tiled                            ? gpu::AttentionPath::tiled
                                    : path == Path::split && n <= gpu::kSplitMaxQueries ? gpu::AttentionPath::split
                                                                                    : gpu::AttentionPath::rows;
    gpu::attention(*g_stream, a, q.as<float>(), k.as<uint16_t>(), v.as<uint16_t>(), out.as<float>(), n, pos.as<int32_t>(),
                   path == Path::split ? scratch.as<float>() : nullptr, want);
}

TEST_CASE("GPU top candidates are the row's best keys, best first", "[gpu][argmax]") {
    std::mt19937 rng(21);
    // One tile, one tile and a bit, the vocabulary (two passes), and three passes; a row
    // shorter than the candidates (zero keys after it); heavy ties and signed zeros.
    for (const int64_t n : {int64_t{5}, int64_t{4096}, int64_t{4097}, int64_t{262144}, int64_t{300001}}) {
        for (const bool ties : {false, true}) {
            CAPTURE(n, ties);
            std::vector<float> x = normal_floats(static_cast<size_t>(n), rng, 3.0f);
            if (ties)
                for (auto& v : x) v = rng() % 4 == 0 ? -0.0f : static_cast<float>(rng() % 3);
            gpu::DeviceBuffer dx = to_device(x);
            gpu::DeviceBuffer scratch = to_device(std::vector<uint8_t>(gpu::top_candidates_scratch_bytes(n), 0xab));
            gpu::DeviceBuffer dout = to_device(std::vector<uint64_t>(gpu::kTopCandidates, 0x5a5a5a5a5a5a5a5aull));
            gpu::top_candidates(*g_stream, dx.as<float>(), n, scratch.as<uint64_t>(), dout.as<uint64_t>());
            const auto got = to_host<uint64_t>(dout, gpu::kTopCandidates);
            std::vector<uint64_t> want(static_cast<size_t>(std::max<int64_t>(n, gpu::kTopCandidates)), 0);
            for (int64_t j = 0; j < n; ++j) want[static_cast<size_t>(j)] = argmax_key(x[static_cast<size_t>(j)], static_cast<uint32_t>(j));
            std::sort(want.begin(), want.end(), std::greater<>());
            int wrong = 0;
            for (int i = 0; i < gpu::kTopCandidates; ++i) wrong += got[static_cast<size_t>(i)] != want[static_cast<size_t>(i)];
            CHECK(wrong == 0);
            // The keys give back the values and indices the sampler ranks.
            CHECK(argmax_index(got[0]) == static_cast<uint32_t>(greedy_token({x.data(), x.size()})));
            CHECK(argmax_value(got[0]) == x[argmax_index(got[0])]);
        }
    }
}

TEST_CASE("GPU QK-norm, RoPE, cache store and attention match the CPU path", "[gpu][attention]") {
    // (window, largest step): one chunk of keys; a window of several chunks whose ring
    // wraps, its first visible key inside a chunk.
    struct Case {
        int64_t window, n_batch;
        std::vector<int64_t> steps;
    };
    const Case cases[] = {{0, 8, {8, 3, 1, 7, 1}}, {5, 8, {8, 3, 1, 7, 1}},
                          {300, 64, {64, 64, 64, 64, 64, 1, 3, 64, 1, 4, 2}}};
    // Gemma3-1B's heads (4 query heads on one K/V head of 256); 8 query heads on 4 K/V
    // heads of 128 (groups of 2: a tile holds 8 tokens; K/V heads past the first); one
    // query head per K/V head of 64 (tiles of 16 tokens); groups of 8.
    struct Heads {
        int64_t n_head, n_head_kv, head_dim;
    };
    const Heads heads[] = {{4, 1, 256}, {8, 4, 128}, {4, 4, 64}, {16, 2, 128}};
    for (const Heads& hd : heads) for (const Path path : kPaths) for (const Case& cs : cases) {
        std::mt19937 rng(9);
        const int64_t window = cs.window, n_batch = cs.n_batch;
        CAPTURE(hd.n_head, hd.n_head_kv, path_name(path), window);
        gpu::AttentionShape a;
        a.n_head = hd.n_head, a.n_head_kv = hd.n_head_kv, a.head_dim = hd.head_dim, a.n_rot = hd.head_dim, a.window = window;
        const int64_t D = a.head_dim, Q = a.n_head * D, KV = a.n_head_kv * D;
        a.capacity = window ? window + n_batch : 64;
        if (path == Path::tiled && !gpu::has_tiled_attention(*g_stream, a)) continue;  // HIP, or before sm_70
        gpu::DeviceBuffer scratch = poisoned_scratch(a, gpu::kSplitMaxQueries);
        const float eps = 1e-6f, base = 10000.0f, attn_scale = 0.0625f;
        const auto qn = normal_floats(static_cast<size_t>(D), rng), kn = normal_floats(static_cast<size_t>(D), rng);
        gpu::DeviceBuffer dqn = to_device(qn), dkn = to_device(kn);
        const size_t cache_elems = static_cast<size_t>(a.capacity * KV);
        gpu::DeviceBuffer kc = to_device(std::vector<uint16_t>(cache_elems, 0));
        gpu::DeviceBuffer vc = to_device(std::vector<uint16_t>(cache_elems, 0));
        std::vector<uint16_t> host_k(cache_elems), host_v(cache_elems);
        gpu::DeviceBuffer dpos = to_device(std::vector<int32_t>{0});

        int64_t pos0 = 0;
        for (const int64_t n : cs.steps) {  // prompts and decode steps; the local ring wraps
            CAPTURE(pos0, n);
            auto q = normal_floats(static_cast<size_t>(n * Q), rng, 2.0f);
            const auto k = normal_floats(static_cast<size_t>(n * KV), rng, 2.0f);
            const auto v = normal_floats(static_cast<size_t>(n * KV), rng);
            gpu::DeviceBuffer dq = to_device(q), dk = to_device(k), dv = to_device(v);
            gpu::DeviceBuffer dout = to_device(std::vector<float>(static_cast<size_t>(n * Q), std::numeric_limits<float>::quiet_NaN()));
            const int32_t p0 = static_cast<int32_t>(pos0);
            g_stream->upload(dpos.data(), &p0, sizeof p0);
            gpu::qk_norm_rope_store(*g_stream, a, dq.as<float>(), dk.as<float>(), dv.as<float>(), dqn.as<float>(),
                                    dkn.as<float>(), eps, base, 1.0f, attn_scale, kc.as<uint16_t>(), vc.as<uint16_t>(), n,
                                    dpos.as<int32_t>());
            run_attention(path, a, dq, kc, vc, dout, n, dpos, scratch);
            const auto out = to_host<float>(dout, static_cast<size_t>(n * Q));
            const auto qdev = to_host<float>(dq, static_cast<size_t>(n * Q));

            // The oracle: the CPU path's ops and its scalar attention (which rounds q and
            // the probabilities through f16, as the GPU kernel does).
            for (int64_t t = 0; t < n; ++t) {
                for (int64_t h = 0; h < a.n_head; ++h) {
                    float* qh = q.data() + t * Q + h * D;
                    ops::rms_norm(qh, qn.data(), qh, D, eps);
                    ops::rope_neox(qh, a.n_rot, pos0 + t, base, 1.0f);
                    for (int64_t i = 0; i < D; ++i) qh[i] *= attn_scale;
                }
                std::vector<float> kh(k.begin() + t * KV, k.begin() + (t + 1) * KV);
                for (int64_t h = 0; h < a.n_head_kv; ++h) {
                    ops::rms_norm(kh.data() + h * D, kn.data(), kh.data() + h * D, D, eps);
                    ops::rope_neox(kh.data() + h * D, a.n_rot, pos0 + t, base, 1.0f);
                }
                const size_t slot = static_cast<size_t>(((pos0 + t) % a.capacity) * KV);
                for (int64_t i = 0; i < KV; ++i) {
                    host_k[slot + static_cast<size_t>(i)] = f32_to_f16(kh[static_cast<size_t>(i)]);
                    host_v[slot + static_cast<size_t>(i)] = f32_to_f16(v[static_cast<size_t>(t * KV + i)]);
                }
            }
            int bad_q = 0;
            for (size_t i = 0; i < q.size(); ++i) bad_q += !(std::fabs(qdev[i] - q[i]) <= 1e-4f * (std::fabs(q[i]) + 0.1f));
            CHECK(bad_q == 0);
            const auto kdev = to_host<uint16_t>(kc, cache_elems);
            int bad_k = 0;
            for (size_t i = 0; i < cache_elems; ++i)
                bad_k += !(std::fabs(f16_to_f32(kdev[i]) - f16_to_f32(host_k[i])) <= 2e-3f * (std::fabs(f16_to_f32(host_k[i])) + 0.1f));
            CHECK(bad_k == 0);

            check_attention_output(a, q, host_k, host_v, pos0, n, out);
            pos0 += n;
        }
    }
}

TEST_CASE("GPU split attention over a long cache matches the CPU path", "[gpu][attention]") {
    // Past kSplitMinKeys * kSplitMaxChunks keys the chunks grow; a window's first key
    // falls inside a chunk; the last query sees every key of the cache.
    for (const int64_t window : {int64_t{0}, int64_t{1000}}) {
        std::mt19937 rng(17);
        gpu::AttentionShape a;
        a.n_head = 4, a.n_head_kv = 1, a.head_dim = 256, a.n_rot = 256, a.window = window;
        a.capacity = 33000;
        const int64_t D = a.head_dim, Q = a.n_head * D, KV = a.n_head_kv * D, n = 3;
        const gpu::SplitPlan plan = gpu::split_plan(a);
        CAPTURE(window, plan.chunk, plan.chunks);
        CHECK(plan.chunks <= gpu::kSplitMaxChunks);
        CHECK(plan.chunks * plan.chunk >= gpu::visible_keys(a));
        const size_t cache_elems = static_cast<size_t>(a.capacity * KV);
        std::vector<uint16_t> host_k(cache_elems), host_v(cache_elems);
        for (auto& x : host_k) x = f32_to_f16(std::normal_distribution<float>(0.0f, 0.4f)(rng));
        for (auto& x : host_v) x = f32_to_f16(std::normal_distribution<float>(0.0f, 1.0f)(rng));
        gpu::DeviceBuffer kc = to_device(host_k), vc = to_device(host_v);
        const int64_t pos0 = a.capacity - n;  // window 0: the last query sees all capacity keys
        gpu::DeviceBuffer dpos = to_device(std::vector<int32_t>{static_cast<int32_t>(pos0)});
        const auto q = normal_floats(static_cast<size_t>(n * Q), rng, 0.5f);
        gpu::DeviceBuffer dq = to_device(q), scratch = poisoned_scratch(a, n);
        for (const Path path : kPaths) {
            CAPTURE(path_name(path));
            if (path == Path::tiled && !gpu::has_tiled_attention(*g_stream, a)) continue;
            gpu::DeviceBuffer dout = to_device(std::vector<float>(static_cast<size_t>(n * Q), std::numeric_limits<float>::quiet_NaN()));
            run_attention(path, a, dq, kc, vc, dout, n, dpos, scratch);
            check_attention_output(a, q, host_k, host_v, pos0, n, to_host<float>(dout, static_cast<size_t>(n * Q)));
        }
    }
}

TEST_CASE("attention's quantized output is quantize_rows of its output", "[gpu][fused][attention]") {
    // Decode's split blocks quantize their heads' slices themselves (when head_dim is whole
    // activation blocks); the other paths, and Q8_K over heads of 128, quantize after.
    std::mt19937 rng(23);
    std::string err;
    for (const int64_t head_dim : {int64_t{256}, int64_t{128}}) {
        gpu::AttentionShape a;
        a.n_head = 4, a.n_head_kv = 1, a.head_dim = head_dim, a.n_rot = head_dim, a.capacity = 700, a.window = 0;
        const int64_t D = a.head_dim, Q = a.n_head * D, KV = a.n_head_kv * D, n_max = 9;
        std::vector<uint16_t> host_k(static_cast<size_t>(a.capacity * KV)), host_v(host_k.size());
        for (auto& x : host_k) x = f32_to_f16(std::normal_distribution<float>(0.0f, 0.4f)(rng));
        for (auto& x : host_v) x = f32_to_f16(std::normal_distribution<float>(0.0f, 1.0f)(rng));
        gpu::DeviceBuffer kc = to_device(host_k), vc = to_device(host_v);
        gpu::DeviceBuffer dq = to_device(normal_floats(static_cast<size_t>(n_max * Q), rng, 0.5f));
        gpu::DeviceBuffer dpos = to_device(std::vector<int32_t>{600}), scratch = poisoned_scratch(a, gpu::kSplitMaxQueries);
        for (const gpu::ActRule rule : {gpu::ActRule::q8_0, gpu::ActRule::q8_1, gpu::ActRule::q8_K, gpu::ActRule::f16,
                                        gpu::ActRule::bf16}) {
            for (const int64_t n : {int64_t{1}, int64_t{3}, int64_t{9}}) {
                CAPTURE(head_dim, static_cast<int>(rule), n);
                gpu::DeviceBuffer out = to_device(std::vector<float>(static_cast<size_t>(n * Q), std::numeric_limits<float>::quiet_NaN()));
                QuantizedPair pair(n, Q);
                const gpu::ActOutput fused{rule, pair.rows(0)};
                gpu::attention(*g_stream, a, dq.as<float>(), kc.as<uint16_t>(), vc.as<uint16_t>(), out.as<float>(), n,
                               dpos.as<int32_t>(), scratch.as<float>(), gpu::AttentionPath::automatic, &fused);
                gpu::quantize_rows(*g_stream, rule, out.as<float>(), n, Q, pair.rows(1));
                REQUIRE(g_stream->sync(&err));
                pair.check_equal(rule);
            }
        }
    }
}

TEST_CASE("a decode step captured as a graph replays at new positions", "[gpu][graph]") {
    std::mt19937 rng(13);
    const int64_t width = 256;
    const auto w = normal_floats(static_cast<size_t>(width), rng);
    gpu::DeviceBuffer dw = to_device(w), dx = to_device(std::vector<float>(static_cast<size_t>(width), 0.0f));
    gpu::DeviceBuffer dy = to_device(std::vector<float>(static_cast<size_t>(width), 0.0f));
    gpu::PinnedBuffer pin;
    std::string err;
    REQUIRE(pin.allocate(static_cast<size_t>(width) * sizeof(float), &err));
    gpu::Graph graph;
    REQUIRE(g_stream->begin_capture());
    g_stream->upload(dx.data(), pin.data(), static_cast<size_t>(width) * sizeof(float));
    gpu::rms_norm(*g_stream, dx.as<float>(), dw.as<float>(), dy.as<float>(), 1, width, 1e-6f);
    REQUIRE(g_stream->end_capture(&graph));
    for (int round = 0; round < 3; ++round) {  // new inputs in the pinned buffer, same graph
        const auto x = normal_floats(static_cast<size_t>(width), rng);
        std::memcpy(pin.data(), x.data(), x.size() * sizeof(float));
        graph.launch(*g_stream);
        const auto y = to_host<float>(dy, x.size());
        std::vector<float> want(x.size());
        ops::rms_norm(x.data(), w.data(), want.data(), width, 1e-6f);
        int bad = 0;
        for (size_t i = 0; i < x.size(); ++i) bad += !(std::fabs(y[i] - want[i]) <= 1e-5f * (std::fabs(want[i]) + 1.0f));
        CHECK(bad == 0);
    }
}

int main(int argc, char** argv) {
    int n = 0;
    std::string err;
    if (!gpu::device_count(&n, &err)) {
        std::printf("skipped: %s\n", err.c_str());
        return 77;  // ctest SKIP_RETURN_CODE
    }
    gpu::Stream stream;
    if (!stream.create(0, &err)) {
        std::printf("cannot use GPU 0: %s\n", err.c_str());
        return 1;
    }
    gpu::DeviceInfo info;
    if (gpu::device_info(0, &info, &err))
        std::printf("%s device 0: %s (compute %d.%d, %d multiprocessors, warp %d, %.1f GiB)\n", gpu::vendor(),
                    info.name.c_str(), info.major, info.minor, info.multiprocessors, info.warp_size,
                    static_cast<double>(info.memory_bytes) / (1ull << 30));
    g_stream = &stream;
    return Catch::Session().run(argc, argv);
}
