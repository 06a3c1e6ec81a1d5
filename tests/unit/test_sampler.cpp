// Samplers against their definitions: argmax for greedy, the support that
// top-k / top-p / min-p allow, softmax frequencies for temperature sampling.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "kernels/common/argmax_key.h"
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

namespace {

// The sampler's definition written plainly, as a reference for the fast one: every
// candidate sorted, the top-k prefix kept, the cut-offs walked in order, and each
// probability mass summed in index order.
gmg::TokenId reference_pick(const SamplerParams& p, std::vector<float> logits, const std::vector<gmg::TokenId>& history,
                            double u) {
    const auto n = static_cast<gmg::TokenId>(logits.size());
    for (auto& l : logits) l = std::isnan(l) ? -std::numeric_limits<float>::infinity() : l;  // NaN ranks as -inf
    if (p.penalizes()) {
        const size_t window = p.repeat_last_n < 0 ? history.size()
                                                  : std::min(history.size(), static_cast<size_t>(p.repeat_last_n));
        std::map<gmg::TokenId, int> counts;
        for (size_t i = history.size() - window; i < history.size(); ++i) ++counts[history[i]];
        for (const auto& [tok, count] : counts) {
            float& l = logits[static_cast<size_t>(tok)];
            l = l > 0 ? l / p.repeat_penalty : l * p.repeat_penalty;
            l -= static_cast<float>(count) * p.frequency_penalty + p.presence_penalty;
        }
    }
    std::vector<std::pair<float, gmg::TokenId>> cand;
    for (gmg::TokenId i = 0; i < n; ++i) cand.push_back({logits[static_cast<size_t>(i)], i});
    std::sort(cand.begin(), cand.end(),
              [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
    if (p.temperature <= 0.0f) return cand[0].second;
    if (!std::isfinite(cand[0].first)) return cand[0].second;  // +inf wins; a row of -inf has no probabilities
    size_t keep = p.top_k > 0 ? std::min(cand.size(), static_cast<size_t>(p.top_k)) : cand.size();
    const double max = cand[0].first;
    auto mass = [&](size_t count, double t) {
        std::vector<std::pair<float, gmg::TokenId>> first(cand.begin(), cand.begin() + static_cast<long>(count));
        std::sort(first.begin(), first.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
        double sum = 0.0;
        for (const auto& c : first) sum += std::exp((static_cast<double>(c.first) - max) / t);
        return sum;
    };
    auto prob = [&](size_t i) { return std::exp(static_cast<double>(cand[i].first) - max); };
    if (p.top_p < 1.0f) {
        const double sum = mass(keep, 1.0);
        double cum = 0.0;
        size_t i = 0;
        while (i < keep && (cum += prob(i) / sum) < p.top_p) ++i;
        keep = std::min(keep, i + 1);
    }
    if (p.min_p > 0.0f) {
        size_t i = 1;
        while (i < keep && prob(i) >= p.min_p * prob(0)) ++i;
        keep = i;
    }
    const double t = p.temperature;
    double r = u * mass(keep, t);
    for (size_t i = 0; i < keep; ++i)
        if ((r -= std::exp((static_cast<double>(cand[i].first) - max) / t)) < 0) return cand[i].second;
    return cand[keep - 1].second;
}

}  // namespace

TEST_CASE("the sampler picks what its plain definition picks", "[sampler]") {
    std::mt19937 rng(5);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    // Vocabularies: flat and peaked normal logits, heavy ties (signed zeros too),
    // logits spread so wide that the sorted bands double many times, integers on the
    // bands' bounds, gaps that leave bands empty, -inf entries.
    auto make = [&](size_t n, int kind) {
        std::normal_distribution<float> normal(0.0f, 3.0f);
        std::vector<float> l(n);
        for (size_t i = 0; i < n; ++i) {
            const float z = normal(rng);
            switch (kind) {
                case 0: l[i] = z; break;
                case 1: l[i] = z + (i % 997 == 3 ? 25.0f : 0.0f); break;
                case 2: l[i] = static_cast<float>(static_cast<int>(rng() % 4)) * 0.5f * (rng() % 2 ? 1.0f : -1.0f); break;
                case 3: l[i] = z * 5000.0f; break;
                case 4: l[i] = -static_cast<float>(rng() % 40); break;  // on the bands' bounds (max - 4, - 12, ...)
                case 5: l[i] = -static_cast<float>(i % 3 ? 20 + rng() % 20 : rng() % 3); break;  // empty bands between
                default: l[i] = i % 5 == 0 ? -std::numeric_limits<float>::infinity() : z; break;
            }
        }
        return l;
    };
    std::vector<SamplerParams> params;
    for (float temp : {0.0f, 0.7f, 1.5f})
        for (int32_t k : {0, 1, 40, 1000})
            for (float top_p : {1.0f, 0.95f, 0.5f})
                for (float min_p : {0.0f, 0.05f}) {
                    SamplerParams p;
                    p.temperature = temp, p.top_k = k, p.top_p = top_p, p.min_p = min_p;
                    params.push_back(p);
                }
    SamplerParams penal;
    penal.repeat_penalty = 1.3f, penal.frequency_penalty = 0.1f, penal.presence_penalty = 0.2f;
    params.push_back(penal);
    std::vector<gmg::TokenId> history;
    for (int i = 0; i < 40; ++i) history.push_back(static_cast<gmg::TokenId>(rng() % 7));  // tokens < every vocabulary here
    int checked = 0;
    for (size_t n : {size_t{7}, size_t{2000}, size_t{262144}}) {
        for (int kind = 0; kind < 7; ++kind) {
            const auto logits = make(n, kind);
            for (size_t pi = 0; pi < params.size(); ++pi) {
                if (n == 262144 && pi % 18 != 0 && pi + 1 != params.size()) continue;  // the reference sorts everything
                const SamplerParams& p = params[pi];
                Sampler s(p);
                for (int draw = 0; draw < 3; ++draw) {
                    const double u = uniform(rng);
                    INFO("n " << n << " kind " << kind << " params " << pi << " u " << u);
                    CHECK(s.sample_at(logits, history, u) == reference_pick(p, logits, history, u));
                    ++checked;
                }
            }
        }
    }
    CHECK(checked > 1000);
}

TEST_CASE("sampling from a GPU's ranked best candidates picks what sampling the logits picks", "[sampler]") {
    std::mt19937 rng(23);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    for (const size_t n : {size_t{10}, size_t{64}, size_t{5000}}) {
        for (int kind = 0; kind < 2; ++kind) {
            std::vector<float> l(n);
            for (auto& x : l) x = kind == 0 ? normal(rng) : (rng() % 4 == 0 ? -0.0f : static_cast<float>(rng() % 3));
            // What the device returns: the best min(64, n) as keys, read back as (value, index).
            std::vector<uint64_t> keys;
            for (size_t i = 0; i < n; ++i) keys.push_back(gmg::argmax_key(l[i], static_cast<uint32_t>(i)));
            std::sort(keys.begin(), keys.end(), std::greater<>());
            std::vector<std::pair<float, gmg::TokenId>> best;
            for (size_t i = 0; i < std::min<size_t>(n, gmg::kDeviceCandidates); ++i)
                best.push_back({gmg::argmax_value(keys[i]), static_cast<gmg::TokenId>(gmg::argmax_index(keys[i]))});
            for (int32_t k : {1, 5, 40, 64})
                for (float top_p : {1.0f, 0.9f})
                    for (float temp : {0.5f, 1.0f}) {
                        SamplerParams p;
                        p.top_k = k, p.top_p = top_p, p.temperature = temp, p.seed = rng();
                        REQUIRE(p.ranks_on_device());
                        Sampler on_host(p), on_device(p);
                        for (int draw = 0; draw < 5; ++draw) {
                            INFO("n " << n << " kind " << kind << " k " << k << " top_p " << top_p << " T " << temp);
                            CHECK(on_host.sample(l, {}) == on_device.sample_ranked(best));
                        }
                    }
        }
    }
}

TEST_CASE("logits with NaN or infinities: NaN ranks as -inf, +inf wins", "[sampler]") {
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<std::vector<float>> cases = {
        {nan, 1.0f, nan, 2.0f}, {inf, 1.0f, inf, -inf}, {-inf, -inf, -inf}, {nan, nan}, {1.0f, -inf, 0.5f, nan, inf}};
    // A NaN at the head of a run of 16 (top-k's runs start after its first k logits: at
    // 17 for k = 1, 18 for k = 2) must not hide the run's largest logit.
    std::vector<float> runs(64, 0.0f);
    runs[17] = runs[18] = nan, runs[19] = 5.0f;
    cases.push_back(runs);
    for (const auto& l : cases)
        for (int32_t k : {0, 1, 2, 40})
            for (float temp : {0.0f, 0.8f}) {
                SamplerParams p;
                p.top_k = k, p.temperature = temp;
                Sampler s(p);
                for (int i = 0; i < 20; ++i) {
                    const double u = (i + 0.5) / 20.0;
                    CHECK(s.sample_at(l, {}, u) == reference_pick(p, l, {}, u));
                }
            }
}

TEST_CASE("ranked candidates come in the fully sorted order, band by band", "[sampler]") {
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    const size_t n = 3000;
    for (int kind = 0; kind < 4; ++kind) {
        std::vector<float> l(n);
        for (size_t i = 0; i < n; ++i) {
            switch (kind) {
                case 0: l[i] = normal(rng); break;
                case 1: l[i] = -static_cast<float>(rng() % 40); break;  // on the bands' bounds
                case 2: l[i] = -static_cast<float>(i % 3 ? 20 + rng() % 20 : rng() % 3); break;  // empty bands
                default: l[i] = i % 5 == 0 ? -std::numeric_limits<float>::infinity() : normal(rng) * 5000.0f; break;
            }
        }
        std::vector<std::pair<float, gmg::TokenId>> want;
        for (size_t i = 0; i < n; ++i) want.push_back({l[i], static_cast<gmg::TokenId>(i)});
        std::sort(want.begin(), want.end(),
                  [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
        for (const size_t k : {size_t{0}, size_t{1}, size_t{37}, n - 1, n}) {  // 0: no top-k (size() is the vocabulary)
            gmg::RankedCandidates r;
            r.reset(l, k ? k : n + 1);
            INFO("kind " << kind << " k " << k);
            REQUIRE(r.size() == (k ? k : n));
            int wrong = 0;
            for (size_t i = 0; i < r.size(); ++i) wrong += r.at(i) != want[i];
            CHECK(wrong == 0);
        }
    }
}
