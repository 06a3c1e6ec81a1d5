#include "server/request.h"

#include <cmath>
#include <limits>

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
        if (!part.is_object() || !part.contains("type") || part["type"] != "text" || !part.contains("text") ||
            !part["text"].is_string())
            return *error = "only text content parts are supported", false;
        *out += part["text"].get<std::string>();
    }
    return true;
}

// A number field (absent or null: left as it is), within [lo, hi]; integers only for integer fields.
template <class T>
bool read_number(const json& body, const char* key, T* out, std::string* error, double lo = -1e9, double hi = 1e9) {
    if (!body.contains(key) || body[key].is_null()) return true;
    const json& v = body[key];
    const bool integral = std::numeric_limits<T>::is_integer;
    if (!v.is_number() || (integral && !v.is_number_integer()))
        return *error = std::string("'") + key + "' must be " + (integral ? "an integer" : "a number"), false;
    const double x = v.get<double>();
    if (!std::isfinite(x) || x < lo || x > hi)
        return *error = std::string("'") + key + "' is out of range", false;
    *out = static_cast<T>(x);
    return true;
}

std::optional<CompletionRequest> read_request(const json& body, bool chat, std::string* error) {
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
    // n_predict is llama-server's name, max_completion_tokens OpenAI's newer one:
    // where several are given, the later in this list wins.
    for (const char* key : {"n_predict", "max_tokens", "max_completion_tokens"})
        if (!read_number(body, key, &r.max_tokens, error, -1, std::numeric_limits<int32_t>::max())) return std::nullopt;
    gmg_sampler_params& s = r.sampler;
    if (!read_number(body, "temperature", &s.temperature, error) || !read_number(body, "top_p", &s.top_p, error) ||
        !read_number(body, "top_k", &s.top_k, error, -1e9, std::numeric_limits<int32_t>::max()) || !read_number(body, "min_p", &s.min_p, error) ||
        !read_number(body, "presence_penalty", &s.presence_penalty, error) ||
        !read_number(body, "frequency_penalty", &s.frequency_penalty, error) ||
        !read_number(body, "repeat_penalty", &s.repeat_penalty, error) ||
        !read_number(body, "repeat_last_n", &s.repeat_last_n, error, -1, std::numeric_limits<int32_t>::max()))
        return std::nullopt;
    if (body.contains("seed") && !body["seed"].is_null()) {
        if (!body["seed"].is_number_integer()) return *error = "'seed' must be an integer", std::nullopt;
        s.seed = body["seed"].is_number_unsigned() ? body["seed"].get<uint64_t>()
                                                   : static_cast<uint64_t>(body["seed"].get<int64_t>());
        r.seeded = true;
    }
    if (body.contains("n") && !body["n"].is_null() && !(body["n"].is_number_integer() && body["n"].get<int64_t>() == 1))
        return *error = "only n = 1 is supported", std::nullopt;
    if (body.contains("stream") && !body["stream"].is_null()) {
        if (!body["stream"].is_boolean()) return *error = "'stream' must be true or false", std::nullopt;
        r.stream = body["stream"].get<bool>();
    }
    if (body.contains("return_tokens")) r.return_tokens = body["return_tokens"] == true;
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

}  // namespace

std::optional<CompletionRequest> parse_request(const json& body, bool chat, std::string* error) {
    try {
        return read_request(body, chat, error);
    } catch (const json::exception& e) {  // a shape the checks above did not foresee
        *error = std::string("malformed request: ") + e.what();
        return std::nullopt;
    }
}

}  // namespace server
