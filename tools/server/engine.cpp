#include "server/engine.h"

#include <algorithm>
#include <chrono>

#include "cli_common.h"

namespace server {
namespace {

EngineError api_error(int http_status, const std::string& what) { return {http_status, what + ": " + gmg_last_error()}; }

// The text of a conversation in the Gemma chat template, ready for the model's turn.
bool chat_text(const std::vector<Message>& messages, std::string* out) {
    std::vector<const char*> roles, contents;
    for (const Message& m : messages) roles.push_back(m.role.c_str()), contents.push_back(m.content.c_str());
    size_t n = 0;
    gmg_status s = gmg_chat_format(roles.data(), contents.data(), messages.size(), 1, nullptr, 0, &n);
    if (s != GMG_OK && s != GMG_ERR_BUFFER_TOO_SMALL) return false;
    out->resize(n + 1);
    s = gmg_chat_format(roles.data(), contents.data(), messages.size(), 1, out->data(), out->size(), &n);
    out->resize(n);
    return s == GMG_OK;
}

}  // namespace

size_t complete_utf8_prefix(const std::string& text) {
    // Step back over the continuation bytes (4 at most) to the last lead byte; keep it only if its character is whole.
    size_t i = text.size(), back = 0;
    while (i > 0 && back < 4 && (static_cast<unsigned char>(text[i - 1]) & 0xC0) == 0x80) --i, ++back;
    if (i == 0) return text.size();
    const auto lead = static_cast<unsigned char>(text[i - 1]);
    const size_t need = lead < 0x80 ? 1 : (lead >> 5) == 6 ? 2 : (lead >> 4) == 14 ? 3 : (lead >> 3) == 30 ? 4 : 1;
    return back + 1 >= need ? text.size() : i - 1;
}

size_t find_stop(const std::string& text, const std::vector<std::string>& stop, size_t from) {
    size_t best = std::string::npos;
    for (const std::string& s : stop) best = std::min(best, text.find(s, from));
    return best;
}

size_t partial_stop_suffix(const std::string& text, const std::vector<std::string>& stop) {
    size_t longest = 0;
    for (const std::string& s : stop)
        for (size_t len = std::min(s.size() - 1, text.size()); len > longest; --len)
            if (text.compare(text.size() - len, len, s, 0, len) == 0) {
                longest = len;
                break;
            }
    return longest;
}

EngineError Engine::tokenize_prompt(const CompletionRequest& req, std::vector<gmg_token>* prompt) const {
    std::string text = req.prompt;
    if (req.chat && !chat_text(req.messages, &text)) return api_error(400, "cannot format the conversation");
    // Chat text holds control tokens (<start_of_turn>) to be read as such; a raw prompt is plain text.
    if (cli::tokenize_into(model_, text, 1, req.chat, prompt) != GMG_OK) return api_error(400, "cannot tokenize the prompt");
    if (static_cast<int64_t>(prompt->size()) >= n_ctx_)
        return {400, "the prompt has " + std::to_string(prompt->size()) + " tokens; the context holds " +
                         std::to_string(n_ctx_) + " (start the server with a larger -c)"};
    return {};
}

EngineError Engine::check(const CompletionRequest& req) const {
    std::vector<gmg_token> prompt;
    return tokenize_prompt(req, &prompt);
}

EngineError Engine::prepare(const CompletionRequest& req, const gmg_sampler_params& sampler, std::vector<gmg_token>* prompt,
                            int64_t* kept, gmg_token* next) {
    if (EngineError e = tokenize_prompt(req, prompt); e.http_status) return e;
    // Keep what the context already holds of this prompt, less one token: the
    // last prompt token is decoded again, and the first token drawn from its logits.
    size_t keep = 0;
    while (keep < cached_.size() && keep + 1 < prompt->size() && cached_[keep] == (*prompt)[keep]) ++keep;
    if (gmg_context_truncate(ctx_, static_cast<int32_t>(keep)) != GMG_OK) {
        keep = 0;  // a sliding-window ring that cannot be rewound that far
        gmg_context_reset(ctx_);
    }
    const gmg_token* rest = prompt->data() + keep;
    const size_t n_rest = prompt->size() - keep;
    if (gmg_decode_sample(ctx_, rest, n_rest, &sampler, next) != GMG_OK) {
        cached_.clear();
        gmg_context_reset(ctx_);
        return api_error(500, "decoding the prompt failed");
    }
    cached_ = *prompt;
    *kept = static_cast<int64_t>(keep);
    return {};
}

EngineError Engine::complete(const CompletionRequest& req, const std::function<bool(const std::string&)>& on_text,
                             CompletionResult* out) {
    *out = CompletionResult{};
    // Each decode draws the next token (gmg_decode_sample: on a GPU, greedy and top-k <= 64
    // picks are made on the device, with no logits copied back).
    gmg_sampler_params sampler = req.sampler;
    gmg_sampler_reset(ctx_);  // each request draws from the start of its seed's stream
    if (!req.seeded) sampler.seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) + ++draws_;
    gmg_token next = -1;
    std::vector<gmg_token> prompt;
    if (EngineError e = prepare(req, sampler, &prompt, &out->cached_tokens, &next); e.http_status) return e;
    out->prompt_tokens = static_cast<int64_t>(prompt.size());
    const int64_t room = n_ctx_ - static_cast<int64_t>(prompt.size());
    size_t longest_stop = 0;
    for (const std::string& s : req.stop) longest_stop = std::max(longest_stop, s.size());
    const int64_t limit = req.max_tokens < 0 ? room : std::min(req.max_tokens, room);
    size_t emitted = 0;  // bytes of out->text already given to on_text
    out->finish_reason = "length", out->stop_type = "limit";
    bool client_gone = false;
    for (int64_t i = 0; i < limit; ++i) {
        const gmg_token tok = next;
        int eog = 0;
        gmg_model_is_eog(model_, tok, &eog);
        if (eog) {
            out->finish_reason = "stop", out->stop_type = "eos";
            break;
        }
        out->tokens.push_back(tok);
        std::string piece;
        cli::detokenize_into(model_, &tok, 1, &piece);
        const size_t len = piece.size();
        out->text += piece;
        // A stop string not seen before ends in the new piece.
        const size_t from = out->text.size() > len + longest_stop ? out->text.size() - len - longest_stop : 0;
        if (size_t at = find_stop(out->text, req.stop, from); at != std::string::npos) {
            out->text.resize(at);
            out->finish_reason = "stop", out->stop_type = "word";
            break;
        }
        // Decode the token only if another one will be sampled after it.
        if (i + 1 < limit) {
            if (gmg_decode_sample(ctx_, &tok, 1, &sampler, &next) != GMG_OK) return api_error(500, "decoding failed");
            cached_.push_back(tok);
        }
        const size_t safe = std::min(complete_utf8_prefix(out->text), out->text.size() - partial_stop_suffix(out->text, req.stop));
        if (safe > emitted) {
            if (!on_text(out->text.substr(emitted, safe - emitted))) {
                client_gone = true;
                break;
            }
            emitted = safe;
        }
    }
    if (!client_gone && out->text.size() > emitted) on_text(out->text.substr(emitted));
    return {};
}

}  // namespace server
