// Samplers against their definitions: argmax for greedy, the support that
// top-k / top-p / min-p allow, softmax frequencies for temperature sampling.
#include <cmath>
#include <map>
#include <vector>

#include <catch2/catch.hpp>

#include "lib/runtime/sampler.h"

using gmg::Sampler;
using gmg::SamplerParams;

namespace {
const std::vector<float> kLogits = {1.0f, 3.0f, 2.5f, -1.0f, 3.0f, 0.0f, 2.9f, -5.0f};

SamplerParams plain(float temp) {
    SamplerParams p;
    p.temperature = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    return p;
}
}  // namespace

TEST_CASE("greedy picks the first largest logit", "[sampler]") {
    Sampler s(plain(0.0f));
    CHECK(s.sample(kLogits, {}) == 1);
}

TEST_CASE("the same seed gives the same tokens; another seed differs", "[sampler]") {
    auto draw = [](uint64_t seed) {
        SamplerParams p = plain(1.0f);
        p.seed = seed;
        Sampler s(p);
        std::vector<int> out;
        for (int i = 0; i < 64; ++i) out.push_back(s.sample(kLogits, {}));
        return out;
    };
    CHECK(draw(7) == draw(7));
    CHECK(draw(7) != draw(8));
}

TEST_CASE("top-k, top-p and min-p bound the support", "[sampler]") {
    auto support = [](SamplerParams p) {
        std::map<int, int> seen;
        Sampler s(p);
        for (int i = 0; i < 4000; ++i) ++seen[s.sample(kLogits, {})];
        return seen;
    };
    SamplerParams k2 = plain(1.0f);
    k2.top_k = 2;
    for (const auto& [tok, n] : support(k2)) CHECK((tok == 1 || tok == 4));
    SamplerParams mp = plain(1.0f);
    mp.min_p = 0.5f;  // keeps tokens with p >= 0.5 * p_max: logits >= 3 - ln 2
    for (const auto& [tok, n] : support(mp)) CHECK(kLogits[static_cast<size_t>(tok)] >= 3.0f - std::log(2.0f));
    SamplerParams tp = plain(1.0f);
    tp.top_p = 0.5f;
    // Tokens 1 and 4 (e^3 each of a total of about e^4.31) together hold 0.54 >= 0.5 of the mass.
    for (const auto& [tok, n] : support(tp)) CHECK((tok == 1 || tok == 4));
}

TEST_CASE("temperature sampling follows softmax(logits / T)", "[sampler]") {
    const float T = 0.7f;
    SamplerParams p = plain(T);
    p.seed = 123;
    Sampler s(p);
    const int draws = 200000;
    std::vector<int> count(kLogits.size());
    for (int i = 0; i < draws; ++i) ++count[static_cast<size_t>(s.sample(kLogits, {}))];
    double z = 0;
    for (float l : kLogits) z += std::exp(l / T);
    for (size_t i = 0; i < kLogits.size(); ++i) {
        const double expect = std::exp(kLogits[i] / T) / z;
        const double sigma = std::sqrt(expect * (1 - expect) / draws);
        INFO("token " << i);
        CHECK(std::fabs(count[i] / static_cast<double>(draws) - expect) <= 5 * sigma + 1e-6);
    }
}

TEST_CASE("repetition, presence and frequency penalties", "[sampler]") {
    SamplerParams p = plain(0.0f);
    p.repeat_penalty = 2.0f;  // 3.0 -> 1.5 for tokens 1 and 4; 2.9 (token 6) then wins
    Sampler s(p);
    const std::vector<gmg::TokenId> history = {1, 4};
    CHECK(s.sample(kLogits, history) == 6);
    SamplerParams q = plain(0.0f);
    q.frequency_penalty = 0.2f;  // token 1 seen twice: 3.0 - 0.4 = 2.6 < 3.0 (token 4)
    Sampler s2(q);
    const std::vector<gmg::TokenId> twice = {1, 1};
    CHECK(s2.sample(kLogits, twice) == 4);
}
