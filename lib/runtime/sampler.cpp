#include "lib/runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "kernels/common/argmax_key.h"

namespace gmg {
namespace {

using Candidate = std::pair<float, TokenId>;

// The sampler's order: the larger logit first, then the smaller index (a strict total order).
bool ranks_before(const Candidate& a, const Candidate& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
}

// NaN ranks last, as -inf: a broken model's logits must still give an order.
float rank_value(float l) { return l == l ? l : -std::numeric_limits<float>::infinity(); }

// The k best of logits, in order, by one pass that keeps the k best so far in a heap
// whose top is the worst of them: most logits lose to it at one comparison.
void best_k(std::span<const float> logits, size_t k, std::vector<Candidate>* out) {
    out->clear();
    const auto n = static_cast<TokenId>(logits.size());
    TokenId i = 0;
    for (; i < n && out->size() < k; ++i) out->push_back({rank_value(logits[static_cast<size_t>(i)]), i});
    std::make_heap(out->begin(), out->end(), ranks_before);
    float worst = out->front().first;
    auto offer = [&](TokenId j) {
        // A later index ties to its loss, so only a strictly larger logit gets in.
        if (!(logits[static_cast<size_t>(j)] > worst)) return;
        std::pop_heap(out->begin(), out->end(), ranks_before);
        out->back() = {logits[static_cast<size_t>(j)], j};
        std::push_heap(out->begin(), out->end(), ranks_before);
        worst = out->front().first;
    };
    constexpr TokenId kRun = 16;  // a run with no logit above the worst kept is skipped whole (vectorized)
    for (; i + kRun <= n; i += kRun) {
        const float* x = logits.data() + i;
        float top = -std::numeric_limits<float>::infinity();  // a NaN never becomes the run's maximum
        for (TokenId j = 0; j < kRun; ++j) top = x[j] > top ? x[j] : top;
        if (top > worst)
            for (TokenId j = 0; j < kRun; ++j) offer(i + j);
    }
    for (; i < n; ++i) offer(i);
    std::sort(out->begin(), out->end(), ranks_before);
}

}  // namespace

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

// ---- the candidates in order, sorted only as far as they are read -------------------

void RankedCandidates::reset(std::span<const float> logits, size_t k) {
    logits_ = logits;
    size_ = std::min(std::max<size_t>(k, 1), logits.size());
    ranked_.clear();
    if (size_ < logits.size()) {  // top-k: all k at once
        best_k(logits, size_, &ranked_);
        done_ = true;
        return;
    }
    max_ = -std::numeric_limits<float>::infinity();
    min_ = std::numeric_limits<float>::infinity();
    bool finite = true;
    for (const float l : logits) max_ = std::max(max_, l), min_ = std::min(min_, l), finite &= std::isfinite(l);
    if (!finite) {  // infinities or NaN (the bands assume finite bounds): one full sort, NaN as -inf
        sanitized_.resize(logits.size());
        std::transform(logits.begin(), logits.end(), sanitized_.begin(), rank_value);
        logits_ = sanitized_;
        const auto n = static_cast<TokenId>(logits.size());
        for (TokenId i = 0; i < n; ++i) ranked_.push_back({sanitized_[static_cast<size_t>(i)], i});
        std::sort(ranked_.begin(), ranked_.end(), ranks_before);
        done_ = true;
        return;
    }
    bound_ = std::numeric_limits<float>::infinity();
    width_ = 4.0f;
    done_ = logits.empty();
}

// The next band of logits in [bound - width, bound), sorted after those before it; the
// band doubles each time, and the last takes whatever is left.
void RankedCandidates::extend() {
    const float lower = bound_ == std::numeric_limits<float>::infinity() ? max_ - width_ : bound_ - width_;
    const bool last = !(lower > min_);
    const size_t start = ranked_.size();
    const auto n = static_cast<TokenId>(logits_.size());
    for (TokenId i = 0; i < n; ++i) {
        const float l = logits_[static_cast<size_t>(i)];
        if (l < bound_ && (last || l >= lower)) ranked_.push_back({l, i});
    }
    std::sort(ranked_.begin() + static_cast<long>(start), ranked_.end(), ranks_before);
    bound_ = lower;
    width_ *= 2.0f;
    done_ = last;
}

const std::pair<float, TokenId>& RankedCandidates::at(size_t i) {
    while (i >= ranked_.size() && !done_) extend();
    return ranked_[i];
}

void RankedCandidates::reset_ranked(std::span<const std::pair<float, TokenId>> best, size_t k) {
    logits_ = {};
    size_ = std::min(k, best.size());
    ranked_.assign(best.begin(), best.begin() + static_cast<long>(size_));
    done_ = true;
}

// In index order: an order that does not depend on how far the candidates were sorted.
double RankedCandidates::mass(size_t count, double max, double t) {
    double sum = 0.0;
    if (count == logits_.size()) {
        for (const float l : logits_) sum += std::exp((static_cast<double>(l) - max) / t);
        return sum;
    }
    at(count - 1);
    by_index_.assign(ranked_.begin(), ranked_.begin() + static_cast<long>(count));
    std::sort(by_index_.begin(), by_index_.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    for (const auto& c : by_index_) sum += std::exp((static_cast<double>(c.first) - max) / t);
    return sum;
}

TokenId Sampler::sample(std::span<const float> logits, std::span<const TokenId> history) {
    return sample_at(logits, history, p_.temperature > 0.0f ? next_uniform() : 0.0);
}

TokenId Sampler::sample_at(std::span<const float> logits, std::span<const TokenId> history, double u) {
    if (p_.plain_greedy() || logits.empty()) return greedy_token(logits);  // no candidate list needed
    const auto n = static_cast<TokenId>(logits.size());

    // Repetition, presence and frequency penalties over the recent window, on a copy.
    if (p_.penalizes()) {
        penalized_.assign(logits.begin(), logits.end());
        const size_t window = p_.repeat_last_n < 0 ? history.size()
                                                   : std::min(history.size(), static_cast<size_t>(p_.repeat_last_n));
        std::unordered_map<TokenId, int> counts;
        for (size_t i = history.size() - window; i < history.size(); ++i) ++counts[history[i]];
        for (const auto& [tok, count] : counts) {
            if (tok < 0 || tok >= n) continue;
            float& l = penalized_[static_cast<size_t>(tok)];
            l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
            l -= static_cast<float>(count) * p_.frequency_penalty + p_.presence_penalty;
        }
        logits = penalized_;
    }
    if (p_.temperature <= 0.0f) return greedy_token(logits);

    const size_t top_k = p_.top_k > 0 ? static_cast<size_t>(p_.top_k) : logits.size();
    ranked_.reset(logits, top_k);
    return draw(u);
}

TokenId Sampler::sample_ranked(std::span<const std::pair<float, TokenId>> best) {
    const double u = next_uniform();
    ranked_.reset_ranked(best, static_cast<size_t>(std::max(1, p_.top_k)));
    return draw(u);
}

// top-p, min-p and temperature over the ranked candidates, then the draw at u.
TokenId Sampler::draw(double u) {
    size_t keep = ranked_.size();
    // A +inf logit wins outright (the first of them), and a row of -inf has no
    // probabilities: both are broken rows, which still give a token.
    if (!std::isfinite(ranked_.at(0).first)) return ranked_.at(0).second;

    // Probabilities at temperature 1 decide the top-p and min-p cut-offs.
    const double max = ranked_.at(0).first;
    auto prob = [&](size_t i) { return std::exp(static_cast<double>(ranked_.at(i).first) - max); };
    if (p_.top_p < 1.0f) {
        const double sum = ranked_.mass(keep, max, 1.0);
        double cum = 0.0;
        size_t i = 0;
        for (; i < keep; ++i) {
            cum += prob(i) / sum;
            if (cum >= p_.top_p) break;
        }
        keep = std::min(keep, i + 1);
    }
    if (p_.min_p > 0.0f) {
        size_t i = 1;
        while (i < keep && prob(i) >= p_.min_p * prob(0)) ++i;
        keep = i;
    }
    // Temperature, then one draw, walking the candidates in order.
    const double t = p_.temperature;
    double r = u * ranked_.mass(keep, max, t);
    for (size_t i = 0; i < keep; ++i) {
        r -= std::exp((static_cast<double>(ranked_.at(i).first) - max) / t);
        if (r < 0) return ranked_.at(i).second;
    }
    return ranked_.at(keep - 1).second;
}

}  // namespace gmg
