// Token samplers: penalties, then top-k, top-p, min-p, temperature and a seeded
// draw (llama.cpp's default order). temperature <= 0 is greedy. The same seed
// and the same logits give the same token on every machine (our own RNG math).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "lib/model/vocab.h"

namespace gmg {

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
};

// The index of the largest logit, the first of equal ones: the greedy pick.
TokenId greedy_token(std::span<const float> logits);

class Sampler {
public:
    explicit Sampler(const SamplerParams& p);
    // New filter settings; the random stream goes on where it was.
    void set_params(const SamplerParams& p) { p_ = p; }
    const SamplerParams& params() const { return p_; }
    // history: the tokens so far (prompt and generated), for the penalties.
    TokenId sample(std::span<const float> logits, std::span<const TokenId> history);

private:
    double next_uniform();  // [0, 1)
    SamplerParams p_;
    uint64_t state_;
    std::vector<std::pair<float, TokenId>> cand_;
};

}  // namespace gmg
