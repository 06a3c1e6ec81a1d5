// Token samplers: penalties, then top-k, top-p, min-p, temperature and a seeded
// draw (llama.cpp's default order). temperature <= 0 is greedy. The same seed
// and the same logits give the same token on every machine (our own RNG math).
#pragma once
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "lib/model/vocab.h"

namespace gmg {

// The most candidates a GPU context ranks on the device for the sampler (gpu::kTopCandidates).
inline constexpr int32_t kDeviceCandidates = 64;

struct SamplerParams {
    float temperature = 0.8f;
    int32_t top_k = 40;          // <= 0: off
    float top_p = 0.95f;         // >= 1: off
    float min_p = 0.05f;         // <= 0: off
    float repeat_penalty = 1.0f; // 1: off
    int32_t repeat_last_n = 64;  // how many recent tokens the penalties look at
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    uint64_t seed = 0;
    // Whether the penalties change any logit.
    bool penalizes() const {
        return repeat_last_n != 0 && (repeat_penalty != 1.0f || presence_penalty != 0.0f || frequency_penalty != 0.0f);
    }
    // Greedy with no penalty: the token is the logits' argmax (argmax_key.h), which
    // a GPU context can pick on the device.
    bool plain_greedy() const { return temperature <= 0.0f && !penalizes(); }
    // Sampling that reads only the best top_k <= kDeviceCandidates logits, which a
    // GPU context can rank on the device (Sampler::sample_ranked).
    bool ranks_on_device() const {
        return temperature > 0.0f && !penalizes() && top_k >= 1 && top_k <= kDeviceCandidates;
    }
};

// The index of the largest logit, the first of equal ones: the greedy pick.
TokenId greedy_token(std::span<const float> logits);

// The candidates of one draw in the sampler's order (larger logit first, then smaller
// index), sorted only as far as they are read: a top-k in one pass; without top-k,
// bands of logits below the largest, the next one sorted when a reader needs it
// (sorting a 262144-token vocabulary for every token costs more than the model step).
class RankedCandidates {
public:
    // The best k of logits (all of them when k >= logits.size()); logits must outlive the use.
    void reset(std::span<const float> logits, size_t k);
    // The first k of candidates already in order (a GPU context's ranking).
    void reset_ranked(std::span<const std::pair<float, TokenId>> best, size_t k);
    size_t size() const { return size_; }
    const std::pair<float, TokenId>& at(size_t i);  // i < size()
    // sum of exp((logit - max) / t) over the first `count` candidates, in index order.
    double mass(size_t count, double max, double t);

private:
    void extend();
    std::span<const float> logits_;
    size_t size_ = 0;
    std::vector<std::pair<float, TokenId>> ranked_, by_index_;
    std::vector<float> sanitized_;  // a row with NaN: NaN as -inf
    float max_ = 0, min_ = 0, bound_ = 0, width_ = 0;  // bands: the next is [bound - width, bound)
    bool done_ = true;
};

class Sampler {
public:
    explicit Sampler(const SamplerParams& p);
    // New filter settings; the random stream goes on where it was.
    void set_params(const SamplerParams& p) { p_ = p; }
    const SamplerParams& params() const { return p_; }
    // history: the tokens so far (prompt and generated), for the penalties.
    TokenId sample(std::span<const float> logits, std::span<const TokenId> history);
    // The same pick with the draw's uniform number u in [0, 1) given rather than taken
    // from the seeded stream (which sample() advances once per call at temperature > 0).
    TokenId sample_at(std::span<const float> logits, std::span<const TokenId> history, double u);
    // The same pick from the vocabulary's best min(kDeviceCandidates, vocabulary) logits
    // in the sampler's order (not empty), when params().ranks_on_device().
    TokenId sample_ranked(std::span<const std::pair<float, TokenId>> best);

private:
    double next_uniform();  // [0, 1)
    TokenId draw(double u);
    SamplerParams p_;
    uint64_t state_;
    RankedCandidates ranked_;
    std::vector<float> penalized_;
};

}  // namespace gmg
