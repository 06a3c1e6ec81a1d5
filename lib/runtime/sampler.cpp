#include "lib/runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "kernels/common/argmax_key.h"

namespace gmg {

Sampler::Sampler(const SamplerParams& p) : p_(p), state_(p.seed ^ 0x9e3779b97f4a7c15ull) {}

// splitmix64: tiny, fast, and the same everywhere.
double Sampler::next_uniform() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
}

TokenId greedy_token(std::span<const float> logits) {
    return static_cast<TokenId>(argmax_first(logits.data(), static_cast<int64_t>(logits.size())));
}

TokenId Sampler::sample(std::span<const float> logits, std::span<const TokenId> history) {
    if (p_.plain_greedy()) return greedy_token(logits);  // no candidate list needed
    const auto n = static_cast<TokenId>(logits.size());
    cand_.resize(logits.size());
    for (TokenId i = 0; i < n; ++i) cand_[static_cast<size_t>(i)] = {logits[static_cast<size_t>(i)], i};

    // Repetition, presence and frequency penalties over the recent window.
    if (p_.penalizes()) {
        const size_t window = p_.repeat_last_n < 0 ? history.size()
                                                   : std::min(history.size(), static_cast<size_t>(p_.repeat_last_n));
        std::unordered_map<TokenId, int> counts;
        for (size_t i = history.size() - window; i < history.size(); ++i) ++counts[history[i]];
        for (const auto& [tok, count] : counts) {
            if (tok < 0 || tok >= n) continue;
            float& l = cand_[static_cast<size_t>(tok)].first;
            l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
            l -= static_cast<float>(count) * p_.frequency_penalty + p_.presence_penalty;
        }
    }
    auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
    if (p_.temperature <= 0.0f) return std::min_element(cand_.begin(), cand_.end(), by_logit)->second;

    size_t keep = cand_.size();
    if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < keep) keep = static_cast<size_t>(p_.top_k);
    std::partial_sort(cand_.begin(), cand_.begin() + static_cast<long>(keep), cand_.end(), by_logit);
    cand_.resize(keep);

    // Probabilities at temperature 1 decide the top-p and min-p cut-offs.
    std::vector<double> prob(keep);
    const double max = cand_[0].first;
    double sum = 0.0;
    for (size_t i = 0; i < keep; ++i) sum += prob[i] = std::exp(static_cast<double>(cand_[i].first) - max);
    if (p_.top_p < 1.0f) {
        double cum = 0.0;
        size_t i = 0;
        for (; i < keep; ++i) {
            cum += prob[i] / sum;
            if (cum >= p_.top_p) break;
        }
        keep = std::min(keep, i + 1);
    }
    if (p_.min_p > 0.0f) {
        size_t i = 1;
        while (i < keep && prob[i] >= p_.min_p * prob[0]) ++i;
        keep = i;
    }
    // Temperature, then one draw.
    double total = 0.0;
    for (size_t i = 0; i < keep; ++i)
        total += prob[i] = std::exp((static_cast<double>(cand_[i].first) - max) / p_.temperature);
    double r = next_uniform() * total;
    for (size_t i = 0; i < keep; ++i) {
        r -= prob[i];
        if (r < 0) return cand_[i].second;
    }
    return cand_[keep - 1].second;
}

}  // namespace gmg
