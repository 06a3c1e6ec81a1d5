// gmg-server: an OpenAI-compatible HTTP server for one Gemma3 GGUF, as
// `llama-server -m FILE --port 8080` is used: POST /v1/chat/completions and
// /v1/completions (JSON, or server-sent events with "stream": true), GET
// /v1/models and /health. One context, one request at a time; a request whose
// prompt starts like the previous one reuses its cached positions.
//
//   gmg-server -m FILE [--host 127.0.0.1] [--port 8080] [-c 4096] [-b 512] [-t N] [-ngl N] [--alias NAME]
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "server/engine.h"
#include "server/request.h"

namespace {

using nlohmann::json;
const char* kTool = "gmg-server";

struct Args {
    std::string model, host = "127.0.0.1", alias;
    int port = 8080, n_ctx = 4096, n_batch = 512, threads = 0;
    bool verbose = false;
    gmg_model_params model_params;
};

[[noreturn]] void usage(int code) {
    std::fputs(
        "usage: gmg-server -m FILE [options]\n"
        "  -m, --model FILE      GGUF model\n"
        "  --host ADDR           address to listen on (default 127.0.0.1)\n"
        "  --port N              port (default 8080)\n"
        "  -c, --ctx-size N      context length (default 4096; 0 = the model's maximum)\n"
        "  -b, --batch-size N    tokens per forward step (default 512)\n"
        "  -t, --threads N       threads (default: all cores)\n"
        "  -a, --alias NAME      the model name in responses (default: the file name)\n"
        "  -v, --verbose         log every request on stderr\n",
        code ? stderr : stdout);
    std::fputs(cli::kGpuUsage, code ? stderr : stdout);
    std::exit(code);
}

Args parse(int argc, char** argv) {
    Args a;
    gmg_model_params_init(&a.model_params);
    for (int i = 1; i < argc; ++i) {
        const std::string s = argv[i];
        auto v = [&] { return cli::option_value(kTool, argc, argv, i); };
        if (s == "-m" || s == "--model") a.model = v();
        else if (s == "--host") a.host = v();
        else if (s == "--port") {
            const long port = cli::parse_int(kTool, "--port", v());
            if (port < 0 || port > 65535) cli::die(kTool, "--port must be 0..65535", 2);
            a.port = static_cast<int>(port);
        }
        else if (s == "-c" || s == "--ctx-size") a.n_ctx = static_cast<int>(cli::parse_int(kTool, "-c", v()));
        else if (s == "-b" || s == "--batch-size") a.n_batch = static_cast<int>(cli::parse_int(kTool, "-b", v()));
        else if (s == "-t" || s == "--threads") a.threads = static_cast<int>(cli::parse_int(kTool, "-t", v()));
        else if (s == "-a" || s == "--alias") a.alias = v();
        else if (cli::gpu_option(kTool, argc, argv, i, &a.model_params)) continue;
        else if (s == "-v" || s == "--verbose") a.verbose = true;
        else if (s == "-h" || s == "--help") usage(0);
        else cli::die(kTool, "unknown argument " + s + " (see --help)", 2);
    }
    if (a.model.empty()) cli::die(kTool, "no model given (-m FILE)", 2);
    if (a.n_ctx < 0 || a.n_batch < 1) cli::die(kTool, "-c must be >= 0 and -b >= 1", 2);
    if (a.alias.empty()) a.alias = a.model.substr(a.model.find_last_of('/') + 1);
    return a;
}

// JSON text; invalid UTF-8 (a generation cut inside a character) becomes U+FFFD instead of an exception.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void send_error(httplib::Response& res, int status, const std::string& message) {
    res.status = status;
    const char* type = status == 400 ? "invalid_request_error" : status == 404 ? "not_found_error" : "server_error";
    res.set_content(dump({{"error", {{"message", message}, {"type", type}, {"code", status}}}}), "application/json");
}

int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// OpenAI's token counts.
json usage(const server::CompletionResult& r) {
    const auto completion = static_cast<int64_t>(r.tokens.size());
    return {{"prompt_tokens", r.prompt_tokens}, {"completion_tokens", completion}, {"total_tokens", r.prompt_tokens + completion}};
}

// OpenAI's response envelope around one choice.
json envelope(const std::string& id, const std::string& model, const char* object,
              json choice) {
    return {{"id", id}, {"object", object}, {"created", now_seconds()}, {"model", model}, {"choices", json::array({std::move(choice)})}};
}

// The body of a finished completion, in the shape of OpenAI's responses.
json completion_body(const server::CompletionRequest& req, const server::CompletionResult& r, const std::string& id,
                     const std::string& model) {
    json choice = {{"index", 0}, {"finish_reason", r.finish_reason}};
    if (req.chat) choice["message"] = {{"role", "assistant"}, {"content", r.text}};
    else choice["text"] = r.text;
    json body = envelope(id, model, req.chat ? "chat.completion" : "text_completion", std::move(choice));
    body["usage"] = usage(r);
    body["usage"]["prompt_tokens_details"] = {{"cached_tokens", r.cached_tokens}};
    if (req.return_tokens) body["tokens"] = r.tokens;
    return body;
}

// llama-server's own /completion body: the text and how it ended.
json native_body(const server::CompletionRequest& req, const server::CompletionResult& r, const std::string& model) {
    json body = {{"content", r.text},
                 {"stop", true},
                 {"stop_type", r.stop_type},
                 {"model", model},
                 {"tokens_predicted", r.tokens.size()},
                 {"tokens_evaluated", r.prompt_tokens},
                 {"tokens_cached", r.cached_tokens}};
    if (req.return_tokens) body["tokens"] = r.tokens;
    return body;
}

// One server-sent event of a streamed completion: text so far (delta), or the end
// (finish_reason); role_only: the chat stream's first event, naming the role.
std::string stream_event(const server::CompletionRequest& req, const std::string& id, const std::string& model,
                         const std::string* delta, const server::CompletionResult* end, bool role_only = false) {
    json choice = {{"index", 0}, {"finish_reason", end ? json(end->finish_reason) : json(nullptr)}};
    if (role_only) choice["delta"] = {{"role", "assistant"}, {"content", ""}};
    else if (req.chat) choice["delta"] = delta ? json{{"content", *delta}} : json::object();
    else choice["text"] = delta ? *delta : std::string();
    json body = envelope(id, model, req.chat ? "chat.completion.chunk" : "text_completion", std::move(choice));
    if (end) {
        body["usage"] = usage(*end);
        if (req.return_tokens) body["tokens"] = end->tokens;
    }
    return "data: " + dump(body) + "\n\n";
}

struct Server {
    Args args;
    gmg_model* model = nullptr;
    std::unique_ptr<server::Engine> engine;
    std::mutex busy;  // one completion at a time: one context
    std::atomic<uint64_t> next_id{1};

    enum class Shape { chat, openai_completion, native };

    void completion(const httplib::Request& http, httplib::Response& res, Shape shape) {
        const bool chat = shape == Shape::chat, native = shape == Shape::native;
        json body = json::parse(http.body, nullptr, false);
        if (body.is_discarded()) return send_error(res, 400, "the request body is not valid JSON");
        std::string error;
        const auto req = server::parse_request(body, chat, &error);
        if (!req) return send_error(res, 400, error);
        const std::string id = std::string(chat ? "chatcmpl-" : "cmpl-") + std::to_string(next_id++);
        if (args.verbose) std::fprintf(stderr, "%s: %s %s (%zu bytes)\n", kTool, http.path.c_str(), id.c_str(), http.body.size());
        if (!req->stream) {
            server::CompletionResult result;
            server::EngineError e;
            {
                std::lock_guard<std::mutex> lock(busy);
                e = engine->complete(*req, [](const std::string&) { return true; }, &result);
            }
            if (e.http_status) return send_error(res, e.http_status, e.message);
            res.set_content(dump(native ? native_body(*req, result, args.alias) : completion_body(*req, result, id, args.alias)),
                            "application/json");
            return;
        }
        // Streaming: the events are written while generating, from the provider (run
        // after this handler returns, once the 200 is sent): refuse a bad prompt first.
        if (const server::EngineError e = engine->check(*req); e.http_status) return send_error(res, e.http_status, e.message);
        auto shared = std::make_shared<server::CompletionRequest>(*req);
        res.set_header("Cache-Control", "no-cache");
        res.set_chunked_content_provider("text/event-stream", [this, shared, id, native](size_t, httplib::DataSink& sink) {
            std::lock_guard<std::mutex> lock(busy);
            if (shared->chat) {  // OpenAI's first chunk names the role
                const std::string role = stream_event(*shared, id, args.alias, nullptr, nullptr, true);
                if (!sink.write(role.data(), role.size())) return false;
            }
            server::CompletionResult result;
            const server::EngineError e = engine->complete(
                *shared,
                [&](const std::string& text) {
                    const std::string event = native ? "data: " + dump({{"content", text}, {"stop", false}}) + "\n\n"
                                                     : stream_event(*shared, id, args.alias, &text, nullptr);
                    return sink.write(event.data(), event.size());
                },
                &result);
            std::string tail;
            if (e.http_status) tail = "data: " + dump({{"error", {{"message", e.message}, {"code", e.http_status}}}}) + "\n\n";
            else if (native) {
                json last = native_body(*shared, result, args.alias);
                last["content"] = "";  // the text went out in the events before
                tail = "data: " + dump(last) + "\n\n";
            } else {
                tail = stream_event(*shared, id, args.alias, nullptr, &result);
            }
            if (!native) tail += "data: [DONE]\n\n";  // OpenAI's end marker; llama-server's /completion has none
            sink.write(tail.data(), tail.size());
            sink.done();
            return true;
        });
    }

    // {"content": TEXT, "add_special": false, "parse_special": true} -> {"tokens": [...]}, as llama-server answers.
    void tokenize(const httplib::Request& http, httplib::Response& res) {
        const json body = json::parse(http.body, nullptr, false);
        if (!body.is_object() || !body.contains("content") || !body["content"].is_string())
            return send_error(res, 400, "'content' must be a string");
        const std::string text = body["content"].get<std::string>();
        const int add_special = body.value("add_special", json(false)) == true;
        const int parse_special = body.value("parse_special", json(true)) == true;
        std::vector<gmg_token> ids;
        if (cli::tokenize_into(model, text, add_special, parse_special, &ids) != GMG_OK)
            return send_error(res, 400, gmg_last_error());
        res.set_content(dump({{"tokens", ids}}), "application/json");
    }

    // {"tokens": [...]} -> {"content": TEXT}.
    void detokenize(const httplib::Request& http, httplib::Response& res) {
        const json body = json::parse(http.body, nullptr, false);
        if (!body.is_object() || !body.contains("tokens") || !body["tokens"].is_array())
            return send_error(res, 400, "'tokens' must be a list of token ids");
        std::vector<gmg_token> ids;
        for (const json& t : body["tokens"]) {
            if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() > INT32_MAX)
                return send_error(res, 400, "'tokens' must be a list of token ids");
            ids.push_back(static_cast<gmg_token>(t.get<int64_t>()));
        }
        std::string text;
        if (cli::detokenize_into(model, ids.data(), ids.size(), &text) != GMG_OK) return send_error(res, 400, gmg_last_error());
        res.set_content(dump({{"content", text}}), "application/json");
    }
};

httplib::Server* g_http = nullptr;
void on_signal(int) {
    if (g_http) g_http->stop();
}

}  // namespace

int main(int argc, char** argv) {
    Server s;
    s.args = parse(argc, argv);
    gmg_model*& model = s.model;
    cli::check(kTool, gmg_model_load(s.args.model.c_str(), &s.args.model_params, &model));
    gmg_model_info info{};
    cli::check(kTool, gmg_model_get_info(model, &info));
    gmg_context_params cp;
    gmg_context_params_init(&cp);
    cp.n_ctx = s.args.n_ctx;
    cp.n_batch = s.args.n_batch;
    cp.n_threads = s.args.threads;
    gmg_context* ctx = nullptr;
    cli::check(kTool, gmg_context_create(model, &cp, &ctx));
    const int64_t n_ctx = s.args.n_ctx > 0 ? s.args.n_ctx : info.n_ctx_train;
    s.engine = std::make_unique<server::Engine>(model, ctx, n_ctx);

    httplib::Server http;
    g_http = &http;
    http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(dump({{"status", "ok"}}), "application/json");
    });
    http.Get("/v1/models", [&](const httplib::Request&, httplib::Response& res) {
        res.set_content(dump({{"object", "list"},
                              {"data", json::array({{{"id", s.args.alias}, {"object", "model"}, {"created", now_seconds()},
                                                     {"owned_by", "gemmagguf"}, {"meta", {{"n_ctx", n_ctx}, {"n_vocab", info.n_vocab}}}}})}}),
                        "application/json");
    });
    using Shape = Server::Shape;
    for (const char* path : {"/v1/chat/completions", "/chat/completions"})
        http.Post(path, [&](const httplib::Request& q, httplib::Response& r) { s.completion(q, r, Shape::chat); });
    for (const char* path : {"/v1/completions", "/completions"})
        http.Post(path, [&](const httplib::Request& q, httplib::Response& r) { s.completion(q, r, Shape::openai_completion); });
    // llama-server's own endpoints, for scripts written against it.
    http.Post("/completion", [&](const httplib::Request& q, httplib::Response& r) { s.completion(q, r, Shape::native); });
    http.Post("/tokenize", [&](const httplib::Request& q, httplib::Response& r) { s.tokenize(q, r); });
    http.Post("/detokenize", [&](const httplib::Request& q, httplib::Response& r) { s.detokenize(q, r); });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        send_error(res, 500, "internal error");
    });
    http.set_error_handler([](const httplib::Request& q, httplib::Response& res) {
        if (res.status == 404) send_error(res, 404, "no such endpoint: " + q.method + " " + q.path);
    });
    // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a
    // second server share the port silently instead of failing to start.
    http.set_socket_options([](socket_t sock) {
        int yes = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    http.set_payload_max_length(64u << 20);  // request bodies up to 64 MiB
    int port = s.args.port;
    if (port == 0) port = http.bind_to_any_port(s.args.host);
    else if (!http.bind_to_port(s.args.host, port)) port = -1;
    if (port < 0) cli::die(kTool, "cannot listen on " + s.args.host + ":" + std::to_string(s.args.port) + " (in use, or not an address here)");
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::fprintf(stderr, "%s: %s (%d layers, context %lld) listening on http://%s:%d\n", kTool, s.args.alias.c_str(),
                 info.n_layer, static_cast<long long>(n_ctx), s.args.host.c_str(), port);
    std::fflush(stderr);
    http.listen_after_bind();
    gmg_context_free(ctx);
    gmg_model_free(model);
    return 0;
}
