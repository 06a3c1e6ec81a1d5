// One model and one context behind the server, through the public C API: a
// request's prompt is tokenized, the part the context already holds from the
// previous request is kept (prompt caching), the rest decoded, then tokens are
// sampled until an end-of-generation token, a stop string, max_tokens or a full
// context. One request at a time (the caller serializes).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "gemmagguf/gemmagguf.h"
#include "server/request.h"

namespace server {

struct CompletionResult {
    std::string text;
    std::vector<gmg_token> tokens;  // the generated ids (end-of-generation token excluded)
    std::string finish_reason;      // "stop" or "length"
    std::string stop_type;          // llama-server's words for it: "eos", "word" or "limit"
    int64_t prompt_tokens = 0, cached_tokens = 0;
};

struct EngineError {
    int http_status = 0;  // 0: no error; 400: the request's fault; 500: ours
    std::string message;
};

class Engine {
public:
    // n_ctx: the context's positions.
    Engine(gmg_model* model, gmg_context* ctx, int64_t n_ctx) : model_(model), ctx_(ctx), n_ctx_(n_ctx) {}
    // on_text gets the generated text in order, whole UTF-8 characters, never a
    // piece that could still turn out to start a stop string; returning false
    // stops (a client that went away).
    EngineError complete(const CompletionRequest& req, const std::function<bool(const std::string&)>& on_text,
                         CompletionResult* out);
    // What complete() would refuse before generating (a prompt that cannot be
    // formatted, tokenized or fitted): checked before a stream's 200 goes out.
    // Reads only the model, so it needs no lock.
    EngineError check(const CompletionRequest& req) const;

private:
    EngineError tokenize_prompt(const CompletionRequest& req, std::vector<gmg_token>* prompt) const;
    // Decodes the prompt (keeping the cached part); *next gets the token drawn after it.
    EngineError prepare(const CompletionRequest& req, const gmg_sampler_params& sampler, std::vector<gmg_token>* prompt,
                        int64_t* kept, gmg_token* next);
    gmg_model* model_;
    gmg_context* ctx_;
    int64_t n_ctx_;
    std::vector<gmg_token> cached_;  // the tokens the context holds
    uint64_t draws_ = 0;             // for requests without a seed
};

// Bytes of text that form whole UTF-8 characters (a multi-byte character cut by
// a token boundary waits for its next piece).
size_t complete_utf8_prefix(const std::string& text);
// Where the first stop string starts in text at or after `from`, or npos.
size_t find_stop(const std::string& text, const std::vector<std::string>& stop, size_t from);
// The length of the longest suffix of text that begins some stop string (held back while streaming).
size_t partial_stop_suffix(const std::string& text, const std::vector<std::string>& stop);

}  // namespace server
