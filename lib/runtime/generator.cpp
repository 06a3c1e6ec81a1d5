#include "lib/runtime/generator.h"

#include <fmt/format.h>

namespace gmg {

Status Session::decode(std::span<const TokenId> tokens, bool all_logits) {
    if (Status s = ctx_->decode(tokens, all_logits, &logits_); !s.ok()) return s;
    logit_rows_ = all_logits ? static_cast<int64_t>(tokens.size()) : 1;
    history_.insert(history_.end(), tokens.begin(), tokens.end());
    return Status::success();
}

Status Session::decode_greedy(std::span<const TokenId> tokens, TokenId* best) {
    logit_rows_ = 0;
    if (Status s = ctx_->decode(tokens, false, nullptr, best); !s.ok()) return s;
    history_.insert(history_.end(), tokens.begin(), tokens.end());
    return Status::success();
}

Status Session::decode_ranked(std::span<const TokenId> tokens, std::vector<std::pair<float, TokenId>>* ranked) {
    logit_rows_ = 0;
    if (Status s = ctx_->decode(tokens, false, nullptr, nullptr, ranked); !s.ok()) return s;
    history_.insert(history_.end(), tokens.begin(), tokens.end());
    return Status::success();
}

Status Session::decode_sample(std::span<const TokenId> tokens, Sampler& sampler, TokenId* next) {
    const SamplerParams& p = sampler.params();
    if (ctx_->on_gpu() && p.plain_greedy()) return decode_greedy(tokens, next);
    if (ctx_->on_gpu() && p.ranks_on_device()) {
        if (Status s = decode_ranked(tokens, &ranked_); !s.ok()) return s;
        *next = sampler.sample_ranked(ranked_);
        return Status::success();
    }
    if (Status s = decode(tokens, false); !s.ok()) return s;
    *next = sampler.sample({logits(-1), static_cast<size_t>(ctx_->n_vocab())}, history_);
    return Status::success();
}

const float* Session::logits(int64_t i) const {
    if (logit_rows_ == 0) return nullptr;
    if (i < 0) i = logit_rows_ - 1;
    if (i >= logit_rows_) return nullptr;
    return logits_.data() + i * ctx_->n_vocab();
}

void Session::reset() {
    ctx_->reset();
    history_.clear();
    logit_rows_ = 0;
}

Status Session::truncate(int64_t n) {
    if (Status s = ctx_->truncate(n); !s.ok()) return s;
    history_.resize(static_cast<size_t>(n));
    logit_rows_ = 0;
    return Status::success();
}

Status Session::generate(std::span<const TokenId> prompt, const GenerateOptions& options,
                         const std::function<bool(std::string_view)>& on_piece, int64_t* n_generated) {
    if (n_generated) *n_generated = 0;
    Sampler sampler(options.sampler);
    TokenId next = -1;  // the token to emit next
    if (prompt.empty()) {  // continue from the last decode's logits
        if (logit_rows_ == 0)
            return {StatusCode::invalid_argument,
                    "generate: an empty prompt continues from the last decode's logits, and there are none (nothing "
                    "decoded yet, or the last generation on a GPU picked or ranked its tokens there)"};
        next = sampler.sample({logits(-1), static_cast<size_t>(ctx_->n_vocab())}, history_);
    } else if (Status s = decode_sample(prompt, sampler, &next); !s.ok()) {
        return s;
    }
    const Vocab& vocab = ctx_->model().vocab();
    Utf8Stream stream;
    const int64_t limit = options.n_predict < 0 ? ctx_->n_ctx() : options.n_predict;
    auto flush = [&] {  // an unfinished UTF-8 character at the very end still goes out
        const std::string rest = stream.flush();
        if (!rest.empty()) on_piece(rest);
    };
    for (int64_t i = 0; i < limit; ++i) {
        const TokenId tok = next;
        if (vocab.is_eog(tok)) break;
        if (n_generated) ++*n_generated;
        const std::string text = stream.push(vocab.token_to_piece(tok, false));
        if (!text.empty() && !on_piece(text)) return Status::success();
        if (i + 1 == limit) break;
        if (ctx_->n_past() >= ctx_->n_ctx()) {
            flush();
            return {StatusCode::context_full, fmt::format("generate: the context of {} positions is full", ctx_->n_ctx())};
        }
        if (Status s = decode_sample({&tok, 1}, sampler, &next); !s.ok()) return s;
    }
    flush();
    return Status::success();
}

}  // namespace gmg
