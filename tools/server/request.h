// OpenAI-style request bodies (/v1/chat/completions, /v1/completions) read into
// plain structs, with the error message a client should see when one is malformed.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gemmagguf/gemmagguf.h"

namespace server {

struct Message {
    std::string role;  // system, user or assistant ("developer" is read as system)
    std::string content;
};

struct CompletionRequest {
    bool chat = false;              // messages (chat template) or a raw prompt
    std::vector<Message> messages;  // chat
    std::string prompt;             // completions
    int64_t max_tokens = -1;        // -1: until the context is full
    bool stream = false;
    bool return_tokens = false;     // llama-server's extension: the generated token ids
    std::vector<std::string> stop;
    gmg_sampler_params sampler{};
    bool seeded = false;            // a seed was given (else the server draws one)
};

// Reads a request body; on failure returns nullopt with *error set to the reason.
std::optional<CompletionRequest> parse_request(const nlohmann::json& body, bool chat, std::string* error);

}  // namespace server
