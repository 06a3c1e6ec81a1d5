// Prompt in, streamed text out: decode the prompt, then sample and decode one
// token at a time until n_predict tokens or an end-of-generation token.
#pragma once
#include <functional>
#include <string_view>
#include <vector>

#include "lib/runtime/gemma3_context.h"
#include "lib/runtime/sampler.h"

namespace gmg {

// Holds a context plus what sampling needs between calls: the logits of the
// last decode and every token the context has seen.
class Session {
public:
    explicit Session(std::unique_ptr<Gemma3Context> ctx) : ctx_(std::move(ctx)) {}
    Gemma3Context& context() { return *ctx_; }
    const Gemma3Context& context() const { return *ctx_; }

    Status decode(std::span<const TokenId> tokens, bool all_logits);
    // Decodes without keeping logits (logits() is then null): *best = the last token's
    // greedy pick, made on the device by a GPU context.
    Status decode_greedy(std::span<const TokenId> tokens, TokenId* best);
    // The same for samplers that read only the best candidates: *ranked, the last token's
    // best min(kDeviceCandidates, n_vocab) (logit, id), ranked on the device by a GPU context.
    Status decode_ranked(std::span<const TokenId> tokens, std::vector<std::pair<float, TokenId>>* ranked);
    // Decodes, then *next = the token sampler draws after them: on a GPU context picked
    // (plain greedy) or ranked (SamplerParams::ranks_on_device) on the device, without
    // logits; else drawn from the logits.
    Status decode_sample(std::span<const TokenId> tokens, Sampler& sampler, TokenId* next);
    // Row i of the last decode's logits (-1: the last row); nullptr if none.
    const float* logits(int64_t i) const;
    int64_t logit_rows() const { return logit_rows_; }
    const std::vector<TokenId>& history() const { return history_; }
    void reset();
    Status truncate(int64_t n);

    struct GenerateOptions {
        int64_t n_predict = 128;  // -1: until the context is full
        SamplerParams sampler;
    };
    // on_piece gets whole UTF-8 characters; returning false stops. *n_generated counts tokens.
    // An empty prompt continues from the logits of the last decode. Plain greedy
    // sampling on a GPU context picks each token on the device (decode_greedy), and
    // sampling with top-k <= kDeviceCandidates and no penalty ranks the candidates
    // there (decode_ranked), so logits() is null afterwards.
    Status generate(std::span<const TokenId> prompt, const GenerateOptions& options,
                    const std::function<bool(std::string_view)>& on_piece, int64_t* n_generated);

private:
    std::unique_ptr<Gemma3Context> ctx_;
    std::vector<float> logits_;
    std::vector<std::pair<float, TokenId>> ranked_;  // decode_sample's device ranking
    int64_t logit_rows_ = 0;
    std::vector<TokenId> history_;
};

}  // namespace gmg
