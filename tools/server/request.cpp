#include "server/request.h"

namespace server {
namespace {

using nlohmann::json;

// A message's content: a string, or OpenAI's list of parts of which only text ones are understood.
bool read_content(const json& c, std::string* out, std::string* error) {
    if (c.is_string()) {
        *out = c.get<std::string>();
        return true;
    }
    if (!c.is_array()) return *error = "message content must be a string or a list of text parts", false;
    for (const json& part : c) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
            return *error = "only text content parts are supported", false;
        *out += part["text"].get<std::string>();
    }
    return true;
}

template <class T>
bool read_number(const json& body, const char* key, T* out, std::string* error) {
    if (!body.contains(key) || body[key].is_null()) return true;
    if (!body[key].is_number()) return *error = std::string("'") + key + "' must be a number", false;
    *out = body[key].get<T>();
    return true;
}

}  // namespace

std::optional<CompletionRequest> parse_request(const json& body, bool chat, std::string* error) {
    if (!body.is_object()) return *error = "the request body must be a JSON object", std::nullopt;
    CompletionRequest r;
    r.chat = chat;
    gmg_sampler_params_init(&r.sampler);
    if (chat) {
        if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty())
            return *error = "'messages' must be a non-empty list", std::nullopt;
        for (const json& m : body["messages"]) {
            if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content"))
                return *error = "each message needs a 'role' and a 'content'", std::nullopt;
            Message msg{m["role"].get<std::string>(), {}};
            if (msg.role == "developer") msg.role = "system";
            if (msg.role != "system" && msg.role != "user" && msg.role != "assistant")
                return *error = "unsupported message role '" + msg.role + "' (system, user or assistant)", std::nullopt;
            if (!read_content(m["content"], &msg.content, error)) return std::nullopt;
            r.messages.push_back(std::move(msg));
        }
    } else {
        if (!body.contains("prompt") || !body["prompt"].is_string())
            return *error = "'prompt' must be a string", std::nullopt;
        r.prompt = body["prompt"].get<std::string>();
    }
    // max_completion_tokens is the newer name; n_predict is llama-server's.
    for (const char* key : {"max_tokens", "max_completion_tokens", "n_predict"})
        if (!read_number(body, key, &r.max_tokens, error)) return std::nullopt;
    if (r.max_tokens < -1) return *error = "'max_tokens' must be positive", std::nullopt;
    gmg_sampler_params& s = r.sampler;
    if (!read_number(body, "temperature", &s.temperature, error) || !read_number(body, "top_p", &s.top_p, error) ||
        !read_number(body, "top_k", &s.top_k, error) || !read_number(body, "min_p", &s.min_p, error) ||
        !read_number(body, "presence_penalty", &s.presence_penalty, error) ||
        !read_number(body, "frequency_penalty", &s.frequency_penalty, error) ||
        !read_number(body, "repeat_penalty", &s.repeat_penalty, error) ||
        !read_number(body, "repeat_last_n", &s.repeat_last_n, error))
        return std::nullopt;
    if (body.contains("seed") && !body["seed"].is_null()) {
        if (!body["seed"].is_number_integer()) return *error = "'seed' must be an integer", std::nullopt;
        s.seed = body["seed"].get<uint64_t>();
        r.seeded = true;
    }
    if (body.contains("n") && !(body["n"].is_number_integer() && body["n"].get<int64_t>() == 1))
        return *error = "only n = 1 is supported", std::nullopt;
    if (body.contains("stream")) {
        if (!body["stream"].is_boolean()) return *error = "'stream' must be true or false", std::nullopt;
        r.stream = body["stream"].get<bool>();
    }
    if (body.contains("return_tokens")) r.return_tokens = body["return_tokens"].is_boolean() && body["return_tokens"].get<bool>();
    if (body.contains("stop") && !body["stop"].is_null()) {
        const json& stop = body["stop"];
        if (stop.is_string()) r.stop.push_back(stop.get<std::string>());
        else if (stop.is_array())
            for (const json& x : stop) {
                if (!x.is_string()) return *error = "'stop' must be a string or a list of strings", std::nullopt;
                r.stop.push_back(x.get<std::string>());
            }
        else return *error = "'stop' must be a string or a list of strings", std::nullopt;
        std::erase(r.stop, std::string());
    }
    return r;
}

}  // namespace server
