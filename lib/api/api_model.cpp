// extern "C" shims for models, contexts, tokenization, sampling and generation.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "lib/api/api_guard.h"
#include "lib/model/chat_template.h"
#include "lib/model/gemma3_model.h"
#include "lib/runtime/generator.h"

struct gmg_model {
    std::unique_ptr<gmg::Gemma3Model> model;
};

struct gmg_context {
    const gmg_model* owner;
    std::unique_ptr<gmg::Session> session;
    // gmg_sample's random stream: kept across calls so that successive draws are
    // independent; restarted by a new seed or a reset.
    std::unique_ptr<gmg::Sampler> sampler;
};

using gmg::api::fail;
using gmg::api::guarded;
using gmg::api::report;

namespace {

// Params structs grow by appending fields: a caller compiled against an older,
// smaller struct still works, one claiming a larger size than we know is refused.
template <class P>
gmg_status check_params(const P* p, const char* fn) {
    if (p && (p->struct_size < sizeof(size_t) || p->struct_size > sizeof(P)))
        return fail(GMG_ERR_INVALID_ARGUMENT, fmt::format("{}: struct_size {} is not a size this library knows "
                                                          "(call the _init function first)", fn, p->struct_size));
    return GMG_OK;
}

// Copies bytes plus a NUL into a caller buffer with the BUFFER_TOO_SMALL protocol.
gmg_status copy_out(const std::string& s, char* buf, size_t buf_size, size_t* length, const char* fn) {
    if (length) *length = s.size();
    if (buf_size < s.size() + 1) {
        if (buf && buf_size) buf[0] = '\0';
        return fail(GMG_ERR_BUFFER_TOO_SMALL, fmt::format("{}: needs {} bytes, the buffer has {}", fn, s.size() + 1, buf_size));
    }
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    return GMG_OK;
}

gmg::SamplerParams to_cpp(const gmg_sampler_params& p) {
    gmg::SamplerParams s;
    s.temperature = p.temperature;
    s.top_k = p.top_k;
    s.top_p = p.top_p;
    s.min_p = p.min_p;
    s.repeat_penalty = p.repeat_penalty;
    s.repeat_last_n = p.repeat_last_n;
    s.presence_penalty = p.presence_penalty;
    s.frequency_penalty = p.frequency_penalty;
    s.seed = p.seed;
    return s;
}

}  // namespace

extern "C" {

void gmg_model_params_init(gmg_model_params* p) {
    if (!p) return;
    *p = gmg_model_params{};
    p->struct_size = sizeof *p;
    p->prompt_repack = 1;
}

gmg_status gmg_model_load(const char* path, const gmg_model_params* params, gmg_model** out) {
    return guarded("gmg_model_load", [&] {
        if (!path || !out) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_model_load: path and out must not be NULL");
        *out = nullptr;
        if (gmg_status s = check_params(params, "gmg_model_load"); s != GMG_OK) return s;
        gmg::Gemma3Model::Options opt;
        if (params) {
            gmg_model_params full;
            gmg_model_params_init(&full);
            std::memcpy(&full, params, params->struct_size);
            opt.n_threads = full.n_threads;
            opt.vocab_only = full.vocab_only != 0;
            opt.prompt_repack = full.prompt_repack != 0;
            opt.n_gpu_layers = full.n_gpu_layers;
            opt.gpu_device = full.gpu_device;
        }
        if (opt.n_gpu_layers < -1)
            return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_model_load: n_gpu_layers must be -1 (all), 0 (none) or positive");
        if (opt.gpu_device < 0) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_model_load: gpu_device must not be negative");
        if (opt.n_threads < 0) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_model_load: n_threads must not be negative");
        auto handle = std::make_unique<gmg_model>();
        if (gmg_status s = report(gmg::Gemma3Model::load(path, opt, &handle->model)); s != GMG_OK) return s;
        *out = handle.release();
        return GMG_OK;
    });
}

void gmg_model_free(gmg_model* model) { delete model; }

const char* gmg_gpu_backend(void) { return gmg::gpu::vendor(); }

gmg_status gmg_gpu_device_count(int32_t* out) {
    return guarded("gmg_gpu_device_count", [&] {
        if (!out) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_gpu_device_count: out must not be NULL");
        int n = 0;
        std::string err;
        const bool ok = gmg::gpu::device_count(&n, &err);
        *out = n;
        return ok ? GMG_OK : fail(GMG_ERR_UNSUPPORTED, "gmg_gpu_device_count: " + err);
    });
}

gmg_status gmg_model_get_info(const gmg_model* model, gmg_model_info* out) {
    return guarded("gmg_model_get_info", [&] {
        if (!model || !out) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_model_get_info: NULL argument");
        const gmg::Gemma3Config& c = model->model->config();
        const gmg::Vocab& v = model->model->vocab();
        out->n_vocab = static_cast<int32_t>(c.n_vocab);
        out->n_ctx_train = static_cast<int32_t>(c.n_ctx_train);
        out->n_embd = static_cast<int32_t>(c.n_embd);
        out->n_layer = static_cast<int32_t>(c.n_layer);
        out->n_head = static_cast<int32_t>(c.n_head);
        out->n_head_kv = static_cast<int32_t>(c.n_head_kv);
        out->head_dim = static_cast<int32_t>(c.head_dim);
        out->sliding_window = static_cast<int32_t>(c.sliding_window);
        out->bos = v.bos();
        out->eos = v.eos();
        out->eot = v.eot();
        out->weight_bytes = model->model->weight_bytes();
        return GMG_OK;
    });
}

gmg_status gmg_model_is_eog(const gmg_model* model, gmg_token token, int* out) {
    return guarded("gmg_model_is_eog", [&] {
        if (!model || !out) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_model_is_eog: NULL argument");
        *out = model->model->vocab().is_eog(token) ? 1 : 0;
        return GMG_OK;
    });
}

gmg_status gmg_tokenize(const gmg_model* model, const char* text, size_t text_len, int add_special, int parse_special,
                        gmg_token* tokens, size_t capacity, size_t* n_tokens) {
    return guarded("gmg_tokenize", [&] {
        if (!model || (!text && text_len) || !n_tokens || (!tokens && capacity))
            return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_tokenize: NULL argument");
        const auto ids = model->model->vocab().tokenize({text ? text : "", text_len}, add_special != 0, parse_special != 0);
        *n_tokens = ids.size();
        if (ids.size() > capacity)
            return fail(GMG_ERR_BUFFER_TOO_SMALL, fmt::format("gmg_tokenize: {} tokens, room for {}", ids.size(), capacity));
        std::copy(ids.begin(), ids.end(), tokens);
        return GMG_OK;
    });
}

gmg_status gmg_detokenize(const gmg_model* model, const gmg_token* tokens, size_t n_tokens, int special, char* buf,
                          size_t buf_size, size_t* length) {
    return guarded("gmg_detokenize", [&] {
        if (!model || (!tokens && n_tokens) || (!buf && buf_size))
            return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_detokenize: NULL argument");
        const gmg::Vocab& v = model->model->vocab();
        std::string text;
        for (size_t i = 0; i < n_tokens; ++i) {
            if (!v.valid(tokens[i]))
                return fail(GMG_ERR_INVALID_ARGUMENT, fmt::format("gmg_detokenize: token {} at index {} is outside 0..{}",
                                                                  tokens[i], i, v.size() - 1));
            text += v.token_to_piece(tokens[i], special != 0);
        }
        return copy_out(text, buf, buf_size, length, "gmg_detokenize");
    });
}

gmg_status gmg_chat_format(const char* const* roles, const char* const* contents, size_t n_messages,
                           int add_generation_prompt, char* buf, size_t buf_size, size_t* length) {
    return guarded("gmg_chat_format", [&] {
        if ((!roles || !contents) && n_messages) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_chat_format: NULL argument");
        if (!buf && buf_size) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_chat_format: NULL buffer");
        std::vector<gmg::ChatMessage> msgs;
        for (size_t i = 0; i < n_messages; ++i) {
            if (!roles[i] || !contents[i])
                return fail(GMG_ERR_INVALID_ARGUMENT, fmt::format("gmg_chat_format: message {} has a NULL field", i));
            const std::string role = roles[i];
            if (role != "system" && role != "user" && role != "assistant" && role != "model")
                return fail(GMG_ERR_INVALID_ARGUMENT, fmt::format("gmg_chat_format: unknown role '{}'", role));
            msgs.push_back({role, contents[i]});
        }
        return copy_out(gmg::apply_gemma_chat_template(msgs, add_generation_prompt != 0), buf, buf_size, length,
                        "gmg_chat_format");
    });
}

void gmg_context_params_init(gmg_context_params* p) {
    if (!p) return;
    *p = gmg_context_params{};
    p->struct_size = sizeof *p;
    p->n_ctx = 4096;
    p->n_batch = 512;
}

gmg_status gmg_context_create(const gmg_model* model, const gmg_context_params* params, gmg_context** out) {
    return guarded("gmg_context_create", [&] {
        if (!model || !out) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_context_create: NULL argument");
        *out = nullptr;
        if (model->model->vocab_only())
            return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_context_create: the model was loaded with vocab_only");
        if (gmg_status s = check_params(params, "gmg_context_create"); s != GMG_OK) return s;
        gmg_context_params p;
        gmg_context_params_init(&p);
        if (params) std::memcpy(&p, params, params->struct_size);
        gmg::Gemma3Context::Options opt;
        opt.n_ctx = p.n_ctx;
        opt.n_batch = p.n_batch;
        opt.n_threads = p.n_threads;
        std::unique_ptr<gmg::Gemma3Context> ctx;
        if (gmg_status s = report(gmg::Gemma3Context::create(*model->model, opt, &ctx)); s != GMG_OK) return s;
        *out = new gmg_context{model, std::make_unique<gmg::Session>(std::move(ctx)), nullptr};
        return GMG_OK;
    });
}

void gmg_context_free(gmg_context* ctx) { delete ctx; }

gmg_status gmg_context_n_past(const gmg_context* ctx, int32_t* out) {
    return guarded("gmg_context_n_past", [&] {
        if (!ctx || !out) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_context_n_past: NULL argument");
        *out = static_cast<int32_t>(ctx->session->context().n_past());
        return GMG_OK;
    });
}

gmg_status gmg_context_cache_bytes(const gmg_context* ctx, uint64_t* out) {
    return guarded("gmg_context_cache_bytes", [&] {
        if (!ctx || !out) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_context_cache_bytes: NULL argument");
        *out = ctx->session->context().cache_bytes();
        return GMG_OK;
    });
}

gmg_status gmg_context_reset(gmg_context* ctx) {
    return guarded("gmg_context_reset", [&] {
        if (!ctx) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_context_reset: ctx is NULL");
        ctx->session->reset();
        ctx->sampler.reset();
        return GMG_OK;
    });
}

gmg_status gmg_context_truncate(gmg_context* ctx, int32_t n) {
    return guarded("gmg_context_truncate", [&] {
        if (!ctx) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_context_truncate: ctx is NULL");
        return report(ctx->session->truncate(n));
    });
}

gmg_status gmg_decode(gmg_context* ctx, const gmg_token* tokens, size_t n_tokens, int all_logits) {
    return guarded("gmg_decode", [&] {
        if (!ctx || !tokens) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_decode: NULL argument");
        return report(ctx->session->decode({tokens, n_tokens}, all_logits != 0));
    });
}

gmg_status gmg_decode_greedy(gmg_context* ctx, const gmg_token* tokens, size_t n_tokens, gmg_token* best) {
    return guarded("gmg_decode_greedy", [&] {
        if (!ctx || !tokens || !best) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_decode_greedy: NULL argument");
        return report(ctx->session->decode_greedy({tokens, n_tokens}, best));
    });
}

gmg_status gmg_get_logits(const gmg_context* ctx, int32_t i, const float** logits) {
    return guarded("gmg_get_logits", [&] {
        if (!ctx || !logits) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_get_logits: NULL argument");
        *logits = i < -1 ? nullptr : ctx->session->logits(i);
        if (!*logits)
            return fail(GMG_ERR_INVALID_ARGUMENT, fmt::format("gmg_get_logits: no logits row {} (the last decode kept {})",
                                                              i, ctx->session->logit_rows()));
        return GMG_OK;
    });
}

void gmg_sampler_params_init(gmg_sampler_params* p) {
    if (!p) return;
    const gmg::SamplerParams d;
    *p = gmg_sampler_params{};
    p->struct_size = sizeof *p;
    p->temperature = d.temperature;
    p->top_k = d.top_k;
    p->top_p = d.top_p;
    p->min_p = d.min_p;
    p->repeat_penalty = d.repeat_penalty;
    p->repeat_last_n = d.repeat_last_n;
    p->presence_penalty = d.presence_penalty;
    p->frequency_penalty = d.frequency_penalty;
    p->seed = d.seed;
}

namespace {
// The caller's params (checked), over the defaults for fields an older caller's struct lacks.
gmg::SamplerParams sampler_params_of(const gmg_sampler_params* params) {
    gmg_sampler_params p;
    gmg_sampler_params_init(&p);
    std::memcpy(&p, params, params->struct_size);
    return to_cpp(p);
}

// The context's sampler for these params: kept while the seed stays (one random stream).
gmg::Sampler& context_sampler(gmg_context* ctx, const gmg::SamplerParams& sp) {
    if (!ctx->sampler || ctx->sampler->params().seed != sp.seed) ctx->sampler = std::make_unique<gmg::Sampler>(sp);
    ctx->sampler->set_params(sp);
    return *ctx->sampler;
}
}  // namespace

gmg_status gmg_sample(gmg_context* ctx, const gmg_sampler_params* params, gmg_token* out) {
    return guarded("gmg_sample", [&] {
        if (!ctx || !params || !out) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_sample: NULL argument");
        if (gmg_status s = check_params(params, "gmg_sample"); s != GMG_OK) return s;
        const float* logits = ctx->session->logits(-1);
        if (!logits) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_sample: decode something first");
        *out = context_sampler(ctx, sampler_params_of(params))
                   .sample({logits, static_cast<size_t>(ctx->session->context().n_vocab())}, ctx->session->history());
        return GMG_OK;
    });
}

gmg_status gmg_decode_sample(gmg_context* ctx, const gmg_token* tokens, size_t n_tokens,
                             const gmg_sampler_params* params, gmg_token* out) {
    return guarded("gmg_decode_sample", [&] {
        if (!ctx || !tokens || !params || !out) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_decode_sample: NULL argument");
        if (gmg_status s = check_params(params, "gmg_decode_sample"); s != GMG_OK) return s;
        return report(ctx->session->decode_sample({tokens, n_tokens}, context_sampler(ctx, sampler_params_of(params)), out));
    });
}

gmg_status gmg_sampler_reset(gmg_context* ctx) {
    return guarded("gmg_sampler_reset", [&] {
        if (!ctx) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_sampler_reset: ctx is NULL");
        ctx->sampler.reset();
        return GMG_OK;
    });
}

void gmg_generate_params_init(gmg_generate_params* p) {
    if (!p) return;
    *p = gmg_generate_params{};
    p->struct_size = sizeof *p;
    p->n_predict = 128;
    p->chat = 0;
    p->add_special = 1;
    p->parse_special = -1;  // follows chat
    gmg_sampler_params_init(&p->sampler);
}

gmg_status gmg_generate(gmg_context* ctx, const char* prompt, const gmg_generate_params* params,
                        gmg_piece_callback on_piece, void* user_data, int32_t* n_generated) {
    return guarded("gmg_generate", [&] {
        if (n_generated) *n_generated = 0;
        if (!ctx || !prompt || !on_piece) return fail(GMG_ERR_INVALID_ARGUMENT, "gmg_generate: NULL argument");
        if (gmg_status s = check_params(params, "gmg_generate"); s != GMG_OK) return s;
        gmg_generate_params p;
        gmg_generate_params_init(&p);
        if (params) std::memcpy(&p, params, params->struct_size);
        if (gmg_status s = check_params(&p.sampler, "gmg_generate (sampler)"); s != GMG_OK) return s;
        const gmg::Vocab& vocab = ctx->owner->model->vocab();
        std::string text = prompt;
        if (p.chat) text = gmg::apply_gemma_chat_template({{"user", text}}, true);
        const bool parse_special = p.parse_special < 0 ? p.chat != 0 : p.parse_special != 0;
        // Continuing a conversation: never add a second BOS.
        const bool add_bos = p.add_special != 0 && ctx->session->context().n_past() == 0;
        const auto tokens = vocab.tokenize(text, add_bos, parse_special);
        gmg::Session::GenerateOptions opt;
        opt.n_predict = p.n_predict;
        opt.sampler = to_cpp(p.sampler);
        int64_t produced = 0;
        const gmg::Status s = ctx->session->generate(
            tokens, opt, [&](std::string_view piece) { return on_piece(piece.data(), piece.size(), user_data) == 0; },
            &produced);
        if (n_generated) *n_generated = static_cast<int32_t>(produced);
        return report(s);
    });
}

}  // extern "C"
