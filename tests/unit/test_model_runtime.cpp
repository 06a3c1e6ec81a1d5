// The runtime on the real model (GMG_TEST_MODEL): the sliding-window ring and
// batch splitting must not change results, truncation must rewind exactly, and
// bad input must be refused.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>

#include "lib/model/gemma3_model.h"
#include "lib/runtime/gemma3_context.h"

using namespace gmg;

namespace {

const Gemma3Model& model() {
    static std::unique_ptr<Gemma3Model> m = [] {
        const char* path = std::getenv("GMG_TEST_MODEL");
        if (!path) FAIL("GMG_TEST_MODEL is not set");
        std::unique_ptr<Gemma3Model> out;
        const Status s = Gemma3Model::load(path, {}, &out);
        if (!s.ok()) FAIL(s.message());
        return out;
    }();
    return *m;
}

std::vector<TokenId> some_tokens(size_t n) {
    std::string text;
    for (int i = 0; text.size() < n * 8; ++i)
        text += "Sentence number " + std::to_string(i) + " talks about rivers, mountains and the sea. ";
    std::vector<TokenId> ids = model().vocab().tokenize(text, true, false);
    ids.resize(n);
    return ids;
}

std::unique_ptr<Gemma3Context> context(int64_t n_ctx, int64_t n_batch, Gemma3Context::Options o = {}) {
    o.n_ctx = n_ctx;
    o.n_batch = n_batch;
    std::unique_ptr<Gemma3Context> ctx;
    REQUIRE(Gemma3Context::create(model(), o, &ctx).ok());
    return ctx;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    float m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
    return m;
}

}  // namespace

TEST_CASE("past the sliding window: one batch, small batches and token-by-token agree", "[model]") {
    const auto ids = some_tokens(700);  // > 512: the local layers' rings wrap
    // The AVX2 kernels compute each (row, column) product in the same order
    // whatever the batch size, so there the three ways must agree to float
    // rounding: a check of the cache logic itself. (On AVX-512 prompts of 16+
    // tokens take the repacked GEMM, which sums blocks in another float order;
    // Gemma3's f16-rounded attention amplifies that, so there only the argmax is
    // compared, below.)
    Gemma3Context::Options o;
    o.isa = gmg::cpu::isa_supported(gmg::cpu::Isa::avx2) ? gmg::cpu::Isa::avx2 : gmg::cpu::Isa::scalar;
    std::vector<float> whole, chunked, stepped;
    REQUIRE(context(1024, 512, o)->decode(ids, false, &whole).ok());
    auto c2 = context(1024, 48, o);
    REQUIRE(c2->decode(ids, false, &chunked).ok());
    auto c3 = context(1024, 512, o);
    REQUIRE(c3->decode({ids.data(), 680}, false, nullptr).ok());
    for (size_t i = 680; i < ids.size(); ++i) REQUIRE(c3->decode({&ids[i], 1}, false, &stepped).ok());
    CHECK(max_abs_diff(whole, chunked) < 1e-3f);
    CHECK(max_abs_diff(whole, stepped) < 1e-3f);

    std::vector<float> fast_whole, fast_stepped;
    REQUIRE(context(1024, 512)->decode(ids, false, &fast_whole).ok());
    auto c4 = context(1024, 512);
    REQUIRE(c4->decode({ids.data(), 680}, false, nullptr).ok());
    for (size_t i = 680; i < ids.size(); ++i) REQUIRE(c4->decode({&ids[i], 1}, false, &fast_stepped).ok());
    CHECK(std::max_element(fast_whole.begin(), fast_whole.end()) - fast_whole.begin() ==
          std::max_element(fast_stepped.begin(), fast_stepped.end()) - fast_stepped.begin());
    CHECK(max_abs_diff(fast_whole, whole) < 2.0f);
}

// Logit differences from float rounding grow through 18 layers; the measured
// spread between the fast and the reference path is reported with the check.
TEST_CASE("the fast kernels on every ISA agree with the double-precision reference path", "[model]") {
    const auto ids = some_tokens(40);
    Gemma3Context::Options ro;
    ro.reference = true;
    std::vector<float> ref;
    REQUIRE(context(64, 64, ro)->decode(ids, true, &ref).ok());
    const int64_t V = model().config().n_vocab;
    for (gmg::cpu::Isa isa : {gmg::cpu::Isa::scalar, gmg::cpu::Isa::avx2, gmg::cpu::Isa::avx512, gmg::cpu::Isa::neon,
                               gmg::cpu::Isa::neon_dotprod}) {
        if (!gmg::cpu::isa_supported(isa)) continue;
        Gemma3Context::Options o;
        o.isa = isa;
        auto ctx = context(64, 64, o);
        std::vector<float> got;
        REQUIRE(ctx->decode(ids, true, &got).ok());
        const float diff = max_abs_diff(ref, got);
        // Position 0 attends to itself only (probability exactly 1): no f16 rounding
        // of probabilities can amplify the float-order differences there.
        const float diff0 = max_abs_diff({ref.begin(), ref.begin() + V}, {got.begin(), got.begin() + V});
        int top1_same = 0, decided = 0;
        for (size_t t = 0; t < ids.size(); ++t) {
            const float* a = ref.data() + t * V;
            const float* b = got.data() + t * V;
            std::vector<float> sorted(a, a + V);
            std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<float>());
            if (sorted[0] - sorted[1] < 0.5f) continue;  // a near tie may flip under any rounding
            ++decided;
            top1_same += std::max_element(a, a + V) - a == std::max_element(b, b + V) - b;
        }
        INFO("isa " << gmg::cpu::isa_name(ctx->isa()) << ": max |dlogit| vs reference " << diff << ", position 0 "
                    << diff0 << ", top-1 " << top1_same << "/" << decided);
        CHECK(diff0 < 1e-3f);
        // Later positions: the f16-rounded attention probabilities turn float-order
        // differences into discrete jumps (llama.cpp differs from itself by up to
        // 2.0 on these prompts, docs/accuracy.md); a broken kernel moves logits by far more.
        CHECK(diff < 2.0f);
        CHECK(top1_same == decided);
        WARN("isa " << gmg::cpu::isa_name(ctx->isa()) << ": max |dlogit| vs reference " << diff << ", position 0 "
                    << diff0 << ", top-1 " << top1_same << "/" << decided);
    }
}

TEST_CASE("truncate rewinds to exactly the same state", "[model]") {
    const auto ids = some_tokens(620);
    auto ctx = context(1024, 64);
    std::vector<float> first, again;
    REQUIRE(ctx->decode({ids.data(), 610}, false, nullptr).ok());
    REQUIRE(ctx->decode({ids.data() + 610, 10}, true, &first).ok());
    REQUIRE(ctx->truncate(610).ok());
    REQUIRE(ctx->decode({ids.data() + 610, 10}, true, &again).ok());
    CHECK(max_abs_diff(first, again) == 0.0f);
    // Further back than the rings keep: refused rather than silently wrong.
    const Status s = ctx->truncate(10);
    CHECK(s.code() == StatusCode::invalid_argument);
    CHECK_THAT(s.message(), Catch::Contains("reset instead"));
}

TEST_CASE("bad input is refused with a clear status", "[model]") {
    auto ctx = context(64, 16);
    std::vector<float> logits;
    const auto ids = some_tokens(65);
    Status s = ctx->decode(ids, false, &logits);
    CHECK(s.code() == StatusCode::context_full);
    CHECK(ctx->n_past() == 0);
    const std::vector<TokenId> bad = {2, 262144};
    s = ctx->decode(bad, false, &logits);
    CHECK(s.code() == StatusCode::invalid_argument);
    CHECK_THAT(s.message(), Catch::Contains("262144"));
    CHECK(ctx->decode({}, false, &logits).code() == StatusCode::invalid_argument);
    Gemma3Context::Options o;
    o.n_ctx = model().config().n_ctx_train + 1;
    std::unique_ptr<Gemma3Context> c;
    CHECK(Gemma3Context::create(model(), o, &c).code() == StatusCode::invalid_argument);
}

TEST_CASE("the KV cache keeps only the window on local layers", "[model]") {
    const Gemma3Config& c = model().config();
    auto ctx = context(8192, 512);
    int64_t global = 0, local = 0;
    for (int64_t il = 0; il < c.n_layer; ++il) (c.is_global(il) ? global : local) += 1;
    const uint64_t per_pos = 2 * c.kv_dim() * 2;  // K and V, f16
    CHECK(ctx->cache_bytes() == per_pos * (global * 8192 + local * (c.sliding_window + 512)));
    CHECK(global == 3);  // 270M: layers 5, 11, 17
}
