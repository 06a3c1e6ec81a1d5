#include "lib/gpu/gpu_model.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "kernels/common/argmax_key.h"
#include "kernels/gpu/split_attention.h"
#include "lib/model/gemma3_model.h"
#include "lib/runtime/kv_cache.h"
#include "lib/runtime/sampler.h"
#include "kernels/common/env_flag.h"

namespace gmg {
namespace {

constexpr int64_t kHeadRows = 16;  // LM-head rows computed per pass in prompts (bounds the logits buffer)
constexpr int64_t kTensorMinRows = 16;  // with GMG_GPU_TENSOR=1, prompts of this many tokens take the tensor-core matmul

Status gpu_error(const std::string& what) { return {StatusCode::internal, "GPU: " + what}; }

// GMG_GPU_SAFE=1: the simplest kernels only (no tiled prompt attention, no quantized
// outputs fused into the attention and the GeGLU), for a first device run whose tests
// fail on one of those and for bug reports.
bool safe_kernels() {
    static const bool safe = env_is("GMG_GPU_SAFE", "1");
    return safe;
}

// GMG_GPU_TENSOR=1: prompts' matrix products on the tensor cores (f16 tiles). Off by
// default: their f16 activations round unlike the int8 ones of the CPU path and of
// llama.cpp, enough to part the 270M's greedy text from the CPU's after one token
// (measured on the simulated device, docs/GPU.md), while the int8 kernels keep it.
bool tensor_prompts() {
    static const bool on = env_is("GMG_GPU_TENSOR", "1");
    return on;
}

}  // namespace

// ---- weights -------------------------------------------------------------------

Status GpuModel::upload(const Gemma3Model& model, int device, int64_t first_layer, std::unique_ptr<GpuModel>* out) {
    std::string err;
    gpu::Stream stream;
    if (!stream.create(device, &err)) return {StatusCode::unsupported, "GPU offload requested, but " + err};
    std::unique_ptr<GpuModel> m(new GpuModel());
    m->device_ = device;
    m->first_layer_ = first_layer;
    m->buffers_.reserve(16 * model.layers().size() + 4);

    auto copy = [&](const void* src, size_t bytes, const void** dst) -> Status {
        gpu::DeviceBuffer buf;
        if (!buf.allocate(bytes, &err)) return {StatusCode::out_of_memory, "GPU: " + err};
        stream.upload(buf.data(), src, bytes);
        if (!stream.sync(&err)) return gpu_error(err);  // pageable source: wait before it can change
        *dst = buf.data();
        m->bytes_ += bytes;
        m->buffers_.push_back(std::move(buf));
        return Status::success();
    };
    auto matrix = [&](const Weight& w, gpu::DeviceWeight* d) -> Status {
        if (!gpu::has_matmul(w.view.type))
            return {StatusCode::unsupported, fmt::format("GPU: no kernel for weight type {} (tensor '{}')",
                                                         traits_of(w.view.type).name, std::string(w.tensor->name))};
        *d = {w.view.type, nullptr, w.view.row_bytes, w.view.rows, w.view.cols};
        return copy(w.view.data, w.view.row_bytes * static_cast<size_t>(w.view.rows), &d->d_data);
    };
    auto vector = [&](const std::vector<float>& v, const float** d) -> Status {
        const void* p = nullptr;
        Status s = copy(v.data(), v.size() * sizeof(float), &p);
        *d = static_cast<const float*>(p);
        return s;
    };

    Status s;
    for (size_t il = static_cast<size_t>(first_layer); il < model.layers().size(); ++il) {
        const Gemma3Layer& L = model.layers()[il];
        Layer d{};
        for (auto [w, dw] : {std::pair{&L.wq, &d.wq}, {&L.wk, &d.wk}, {&L.wv, &d.wv}, {&L.wo, &d.wo},
                             {&L.gate, &d.gate}, {&L.up, &d.up}, {&L.down, &d.down}})
            if (s.ok()) s = matrix(*w, dw);
        for (auto [v, dv] : {std::pair{&L.attn_norm, &d.attn_norm}, {&L.q_norm, &d.q_norm}, {&L.k_norm, &d.k_norm},
                             {&L.post_attn_norm, &d.post_attn_norm}, {&L.ffn_norm, &d.ffn_norm},
                             {&L.post_ffw_norm, &d.post_ffw_norm}})
            if (s.ok()) s = vector(*v, dv);
        if (!s.ok()) return s;
        m->layers_.push_back(d);
    }
    if (s = matrix(model.lm_head(), &m->lm_head_); !s.ok()) return s;
    if (s = vector(model.output_norm(), &m->output_norm_); !s.ok()) return s;
    *out = std::move(m);
    return Status::success();
}

// ---- contexts --------------------------------------------------------------------

struct GpuContext::State {
    gpu::Stream stream;
    gpu::Graph decode_graph;  // one token, its logits copied back
    gpu::Graph greedy_graph;  // one token, only its argmax copied back
    gpu::Graph ranked_graph;  // one token, only its best candidates copied back
    int64_t n_ctx = 0, n_batch = 0;
    // Activations, (n_batch, width) row-major.
    gpu::DeviceBuffer x, h, q, k, v, attn, proj, gate, up, logits, pos, best;
    gpu::DeviceBuffer attn_scratch;  // decode's split attention (split_attention.h)
    gpu::DeviceBuffer ranked_scratch, ranked_keys;  // top_candidates' scratch and result
    gpu::PinnedBuffer host_ranked_keys;
    // Quantized activations, two sets: a launch that quantizes its output for the
    // next matrix (the GeGLU) writes the set its input is not read from.
    gpu::DeviceBuffer act_q[2], act_scale[2], act_sum[2], act_f[2], act_tensor;
    int act_set = 0;  // the set act() returns
    gpu::DeviceBuffer geglu_counters;  // matmul_geglu's fused quantization (zeroed, left zeroed)
    gpu::PinnedBuffer host_x, host_pos, host_logits, host_best;
    struct LayerCache {
        gpu::DeviceBuffer k, v;
        gpu::AttentionShape shape;
    };
    std::vector<LayerCache> cache;
    // The activations prepared for the current input, and for which rule.
    const float* input = nullptr;
    int64_t input_n = 0, input_k = 0;
    std::optional<gpu::ActRule> prepared;  // none until quantized (set_input clears it)
    bool tensor_ready = false;  // act_tensor holds the current input
};

GpuContext::GpuContext(const Gemma3Model& model) : model_(model), s_(std::make_unique<State>()) {}
GpuContext::~GpuContext() = default;

Status GpuContext::create(const Gemma3Model& model, int64_t n_ctx, int64_t n_batch, std::unique_ptr<GpuContext>* out) {
    const GpuModel* gm = model.gpu();
    if (!gm) return {StatusCode::internal, "GPU context for a model that was not offloaded"};
    std::unique_ptr<GpuContext> ctx(new GpuContext(model));
    State& s = *ctx->s_;
    std::string err;
    if (!s.stream.create(gm->device(), &err)) return {StatusCode::unsupported, "GPU: " + err};
    s.n_ctx = n_ctx;
    s.n_batch = n_batch;
    const Gemma3Config& c = model.config();
    const auto B = static_cast<size_t>(n_batch), F = sizeof(float);
    const int64_t widest = std::max({c.n_embd, c.q_dim(), c.n_ff});
    const size_t head_rows = static_cast<size_t>(std::min(n_batch, kHeadRows));
    bool ok = s.x.allocate(B * c.n_embd * F, &err) && s.h.allocate(B * c.n_embd * F, &err) &&
              s.q.allocate(B * c.q_dim() * F, &err) && s.k.allocate(B * c.kv_dim() * F, &err) &&
              s.v.allocate(B * c.kv_dim() * F, &err) && s.attn.allocate(B * c.q_dim() * F, &err) &&
              s.proj.allocate(B * c.n_embd * F, &err) && s.gate.allocate(B * c.n_ff * F, &err) &&
              s.up.allocate(B * c.n_ff * F, &err) && s.logits.allocate(head_rows * c.n_vocab * F, &err) &&
              s.pos.allocate(sizeof(int32_t), &err) && s.best.allocate(sizeof(int32_t), &err) &&
              s.geglu_counters.allocate(gpu::geglu_counters_bytes(c.n_ff), &err) &&
              s.act_tensor.allocate(gpu::tensor_activation_bytes(n_batch, widest), &err) &&
              s.host_x.allocate(B * c.n_embd * F, &err) && s.host_pos.allocate(sizeof(int32_t), &err) &&
              s.host_logits.allocate(c.n_vocab * F, &err) && s.host_best.allocate(sizeof(int32_t), &err);
    const int64_t first = gm->first_layer();
    for (int set = 0; ok && set < 2; ++set)
        ok = s.act_q[set].allocate(B * widest, &err) && s.act_scale[set].allocate(B * (widest / 32 + 1) * F, &err) &&
             s.act_sum[set].allocate(B * (widest / 32 + 1) * F, &err) && s.act_f[set].allocate(B * widest * F, &err);
    if (ok) s.stream.zero(s.geglu_counters.data(), gpu::geglu_counters_bytes(c.n_ff));
    s.cache.resize(static_cast<size_t>(c.n_layer - first));
    for (int64_t il = first; ok && il < c.n_layer; ++il) {
        State::LayerCache& L = s.cache[static_cast<size_t>(il - first)];
        L.shape = {c.n_head, c.n_head_kv, c.head_dim, c.n_rot, KvCache::layer_capacity(c, il, n_ctx, n_batch),
                   c.is_global(il) ? 0 : c.sliding_window};
        const size_t bytes = static_cast<size_t>(L.shape.capacity * c.kv_dim()) * sizeof(uint16_t);
        ok = L.k.allocate(bytes, &err) && L.v.allocate(bytes, &err);
        if (ok) {  // as the CPU cache starts: no slot ever holds garbage
            s.stream.zero(L.k.data(), bytes);
            s.stream.zero(L.v.data(), bytes);
        }
        ctx->cache_bytes_ += 2 * bytes;
    }
    size_t scratch = 0;
    for (const State::LayerCache& L : s.cache)
        scratch = std::max(scratch, gpu::attention_scratch_bytes(L.shape, std::min(n_batch, gpu::kSplitMaxQueries)));
    ok = ok && s.attn_scratch.allocate(scratch, &err) &&
         s.ranked_scratch.allocate(gpu::top_candidates_scratch_bytes(c.n_vocab), &err) &&
         s.ranked_keys.allocate(gpu::kTopCandidates * sizeof(uint64_t), &err) &&
         s.host_ranked_keys.allocate(gpu::kTopCandidates * sizeof(uint64_t), &err);
    if (!ok) return {StatusCode::out_of_memory, "GPU: " + err};
    if (!s.stream.sync(&err)) return gpu_error(err);
    *out = std::move(ctx);
    return Status::success();
}

void GpuContext::set_input(const float* d_x, int64_t n, int64_t k) {
    s_->input = d_x;
    s_->input_n = n;
    s_->input_k = k;
    s_->prepared.reset();
    s_->tensor_ready = false;
}

gpu::ActRows GpuContext::act(int set) const {
    const State& s = *s_;
    const int i = set < 0 ? s.act_set : set;
    return {s.act_q[i].as<int8_t>(), s.act_scale[i].as<float>(), s.act_f[i].as<float>(), s.act_sum[i].as<float>()};
}

// The activations of the current input, quantized for `rule` (q/k/v and gate/up usually share one).
void GpuContext::prepare(gpu::ActRule rule) {
    State& s = *s_;
    if (s.prepared == rule) return;
    gpu::quantize_rows(s.stream, rule, s.input, s.input_n, s.input_k, act());
    s.prepared = rule;
}

bool GpuContext::use_tensor(const gpu::DeviceWeight& w) const {
    return tensor_prompts() && s_->input_n >= kTensorMinRows && gpu::has_tensor_matmul(s_->stream, w.type);
}

// y = input . w^T; allow_tensor = false keeps the dp4a kernels, neither f16 nor integer
// tensor cores (the LM head: its logits then round the same whatever rows a prompt
// chunk holds, as in decode).
void GpuContext::project(const gpu::DeviceWeight& w, float* d_y, bool allow_tensor) {
    State& s = *s_;
    if (allow_tensor && use_tensor(w)) {
        if (!s.tensor_ready) gpu::to_tensor_activations(s.stream, s.input, s.input_n, s.input_k, s.act_tensor.data());
        s.tensor_ready = true;
        return gpu::matmul_tensor(s.stream, w, s.act_tensor.data(), s.input_n, d_y, w.rows);
    }
    prepare(gpu::act_rule(w.type));
    gpu::matmul(s.stream, w, act(), s.input_n, d_y, w.rows, allow_tensor);
}

// q, k and v in as few launches as their types allow (one when they share a type).
void GpuContext::project_qkv(const GpuModel::Layer& L, float* q, float* k, float* v) {
    const gpu::DeviceWeight w[3] = {L.wq, L.wk, L.wv};
    float* const y[3] = {q, k, v};
    if (use_tensor(L.wq)) {
        for (int j = 0; j < 3; ++j) project(w[j], y[j]);
        return;
    }
    const int same = L.wk.type != L.wq.type ? 1 : L.wv.type != L.wq.type ? 2 : 3;
    prepare(gpu::act_rule(L.wq.type));
    gpu::matmul_multi(s_->stream, w, y, same, act(), s_->input_n);
    for (int j = same; j < 3; ++j) project(w[j], y[j]);
}

// h = rms_norm(x) * w, and the activations for `next` prepared from it: one launch
// when the row fits the fused kernel.
void GpuContext::norm_input(const float* d_x, const float* d_w, int64_t n, const gpu::DeviceWeight& next) {
    State& s = *s_;
    const Gemma3Config& c = model_.config();
    const gpu::ActRule rule = gpu::act_rule(next.type);
    set_input(s.h.as<float>(), n, c.n_embd);
    if (!gpu::fused_norm_fits(c.n_embd, rule)) return gpu::rms_norm(s.stream, d_x, d_w, s.h.as<float>(), n, c.n_embd, c.rms_eps);
    gpu::rms_norm_quantize(s.stream, d_x, d_w, s.h.as<float>(), n, c.n_embd, c.rms_eps, rule, act());
    s.prepared = rule;
}

// x += rms_norm(p) * w_post, then norm_input(x, w_pre, next) — fused when it fits.
void GpuContext::residual_then_norm(const float* d_p, const float* w_post, const float* w_pre, int64_t n,
                                    const gpu::DeviceWeight& next) {
    State& s = *s_;
    const Gemma3Config& c = model_.config();
    const gpu::ActRule rule = gpu::act_rule(next.type);
    float* x = s.x.as<float>();
    if (!gpu::fused_norm_fits(c.n_embd, rule)) {
        gpu::add_rms_norm(s.stream, x, d_p, w_post, n, c.n_embd, c.rms_eps);
        return norm_input(x, w_pre, n, next);
    }
    set_input(s.h.as<float>(), n, c.n_embd);
    gpu::add_rms_norm_quantize(s.stream, x, d_p, w_post, w_pre, s.h.as<float>(), n, c.n_embd, c.rms_eps, rule, act());
    s.prepared = rule;
}

// Queues one step's layers for n tokens: the embedded rows and the position come
// from the pinned host buffers, so a captured graph picks up new ones each replay.
void GpuContext::enqueue_layers(int64_t n) {
    State& s = *s_;
    const Gemma3Config& c = model_.config();
    const GpuModel& gm = *model_.gpu();
    const int64_t E = c.n_embd;
    gpu::Stream& st = s.stream;
    st.upload(s.pos.data(), s.host_pos.data(), sizeof(int32_t));
    st.upload(s.x.data(), s.host_x.data(), static_cast<size_t>(n * E) * sizeof(float));
    float *x = s.x.as<float>(), *q = s.q.as<float>(), *k = s.k.as<float>(),
          *v = s.v.as<float>(), *attn = s.attn.as<float>(), *proj = s.proj.as<float>(), *gate = s.gate.as<float>(),
          *up = s.up.as<float>();
    const auto* pos = s.pos.as<int32_t>();
    norm_input(x, gm.layers()[0].attn_norm, n, gm.layers()[0].wq);
    const int64_t first = gm.first_layer();
    for (int64_t il = first; il < c.n_layer; ++il) {
        const GpuModel::Layer& L = gm.layers()[static_cast<size_t>(il - first)];
        State::LayerCache& C = s.cache[static_cast<size_t>(il - first)];
        const bool global = c.is_global(il);
        project_qkv(L, q, k, v);
        gpu::qk_norm_rope_store(st, C.shape, q, k, v, L.q_norm, L.k_norm, c.rms_eps,
                                global ? c.rope_base_global : c.rope_base_local,
                                global ? c.rope_freq_scale_global : 1.0f, c.attn_scale, C.k.as<uint16_t>(),
                                C.v.as<uint16_t>(), n, pos);
        // The output's activations for wo come with the attention (in decode, from its
        // last blocks rather than one more launch).
        set_input(attn, n, c.q_dim());
        const gpu::ActOutput attn_act{gpu::act_rule(L.wo.type), act()};
        const bool quantize_out = !use_tensor(L.wo) && !safe_kernels();
        const gpu::AttentionPath path = !safe_kernels() ? gpu::AttentionPath::automatic
                                        : n <= gpu::kSplitMaxQueries ? gpu::AttentionPath::split
                                                                     : gpu::AttentionPath::rows;
        gpu::attention(st, C.shape, q, C.k.as<uint16_t>(), C.v.as<uint16_t>(), attn, n, pos, s.attn_scratch.as<float>(),
                       path, quantize_out ? &attn_act : nullptr);
        if (quantize_out) s.prepared = attn_act.rule;
        project(L.wo, proj);
        residual_then_norm(proj, L.post_attn_norm, L.ffn_norm, n, L.gate);
        if (L.gate.type == L.up.type && !use_tensor(L.gate)) {
            prepare(gpu::act_rule(L.gate.type));
            const gpu::ActRows in = act();
            set_input(gate, n, c.n_ff);
            // down's activations come with the GeGLU (in decode, from the blocks that
            // finish each activation block), into the other set: `in` is being read.
            const gpu::ActOutput down_act{gpu::act_rule(L.down.type), act(1 - s.act_set)};
            const bool quantize_out = !use_tensor(L.down) && !safe_kernels();
            gpu::matmul_geglu(st, L.gate, L.up, in, n, gate, c.n_ff, quantize_out ? &down_act : nullptr,
                              s.geglu_counters.as<unsigned>());
            if (quantize_out) {
                s.act_set = 1 - s.act_set;
                s.prepared = down_act.rule;
            }
        } else {
            project(L.gate, gate);
            project(L.up, up);
            gpu::geglu(st, gate, up, n * c.n_ff);
            set_input(gate, n, c.n_ff);
        }
        project(L.down, proj);
        if (il + 1 < c.n_layer) {
            const GpuModel::Layer& next = gm.layers()[static_cast<size_t>(il + 1 - first)];
            residual_then_norm(proj, L.post_ffw_norm, next.attn_norm, n, next.wq);
        } else {
            gpu::add_rms_norm(st, x, proj, L.post_ffw_norm, n, E, c.rms_eps);
        }
    }
}

// Final norm, LM head and soft-cap for rows first..first+m-1 into d_logits (m rows).
void GpuContext::enqueue_head(int64_t first, int64_t m, float* d_logits) {
    State& s = *s_;
    const Gemma3Config& c = model_.config();
    const int64_t E = c.n_embd;
    gpu::rms_norm(s.stream, s.x.as<float>() + first * E, model_.gpu()->output_norm(), s.h.as<float>(), m, E, c.rms_eps);
    set_input(s.h.as<float>(), m, E);
    project(model_.gpu()->lm_head(), d_logits, /*allow_tensor=*/false);
    if (c.final_logit_softcap > 0.0f) gpu::softcap(s.stream, d_logits, m * c.n_vocab, c.final_logit_softcap);
}

// The argmax of the logits row at d_row, into host_best (4 bytes copied back).
void GpuContext::enqueue_greedy(const float* d_row) {
    State& s = *s_;
    gpu::argmax_rows(s.stream, d_row, 1, model_.config().n_vocab, s.best.as<int32_t>());
    s.stream.download(s.host_best.data(), s.best.data(), sizeof(int32_t));
}

// The best kTopCandidates of the logits row at d_row, into host_ranked_keys (512 bytes copied back).
void GpuContext::enqueue_ranked(const float* d_row) {
    State& s = *s_;
    gpu::top_candidates(s.stream, d_row, model_.config().n_vocab, s.ranked_scratch.as<uint64_t>(), s.ranked_keys.as<uint64_t>());
    s.stream.download(s.host_ranked_keys.data(), s.ranked_keys.data(), gpu::kTopCandidates * sizeof(uint64_t));
}

static_assert(gpu::kTopCandidates == kDeviceCandidates, "the sampler's device ranking is the backend's");

Status GpuContext::forward(const TokenId* tokens, const float* hidden, int64_t n, int64_t pos0, bool all_logits,
                           float* logits, TokenId* greedy, std::vector<std::pair<float, TokenId>>* ranked) {
    State& s = *s_;
    const Gemma3Config& c = model_.config();
    const int64_t V = c.n_vocab;
    if (n < 1 || n > s.n_batch || pos0 + n > s.n_ctx) return {StatusCode::internal, "GPU forward: bad step size"};
    if (!s.stream.activate()) return gpu_error("cannot select the context's device");
    // The step's input rows, on the host, into the page-locked buffer the step uploads.
    if (hidden) std::memcpy(s.host_x.data(), hidden, static_cast<size_t>(n * c.n_embd) * sizeof(float));
    else model_.embed(tokens, n, s.host_x.as<float>());
    *s.host_pos.as<int32_t>() = static_cast<int32_t>(pos0);
    std::string err;

    const bool device_greedy = greedy && !logits;        // only the argmax comes back
    const bool device_ranked = ranked && !logits && !greedy;  // only the best candidates come back
    // The device's ranking, read back after the step.
    auto read_ranked = [&] {
        const auto* keys = s.host_ranked_keys.as<uint64_t>();
        ranked->clear();
        for (int64_t i = 0; i < std::min<int64_t>(gpu::kTopCandidates, V); ++i)
            ranked->push_back({argmax_value(keys[i]), static_cast<TokenId>(argmax_index(keys[i]))});
    };
    if (n == 1) {  // decode: one graph per kind of output, captured on first use and replayed
        gpu::Graph& graph = device_greedy ? s.greedy_graph : device_ranked ? s.ranked_graph : s.decode_graph;
        if (!graph.valid()) {
            if (!s.stream.begin_capture()) return gpu_error(s.stream.sync(&err) ? "graph capture failed" : err);
            enqueue_layers(1);
            enqueue_head(0, 1, s.logits.as<float>());
            if (device_greedy) enqueue_greedy(s.logits.as<float>());
            else if (device_ranked) enqueue_ranked(s.logits.as<float>());
            else s.stream.download(s.host_logits.data(), s.logits.data(), static_cast<size_t>(V) * sizeof(float));
            if (!s.stream.end_capture(&graph)) {
                s.stream.sync(&err);
                return gpu_error(err);
            }
        }
        graph.launch(s.stream);
        if (!s.stream.sync(&err)) return gpu_error(err);
        if (device_greedy) {
            *greedy = *s.host_best.as<int32_t>();
            return Status::success();
        }
        if (device_ranked) {
            read_ranked();
            return Status::success();
        }
        const std::span<const float> row(s.host_logits.as<float>(), static_cast<size_t>(V));
        if (logits) std::memcpy(logits, row.data(), row.size_bytes());
        if (greedy) *greedy = greedy_token(row);
        return Status::success();
    }

    enqueue_layers(n);
    if (logits) {
        const int64_t first = all_logits ? 0 : n - 1;
        const int64_t rows = std::min(n, kHeadRows);
        for (int64_t r = first; r < n; r += rows) {
            const int64_t m = std::min(rows, n - r);
            enqueue_head(r, m, s.logits.as<float>());
            s.stream.download(logits + (r - first) * V, s.logits.data(), static_cast<size_t>(m * V) * sizeof(float));
        }
    } else if (device_greedy || device_ranked) {
        enqueue_head(n - 1, 1, s.logits.as<float>());
        if (device_greedy) enqueue_greedy(s.logits.as<float>());
        else enqueue_ranked(s.logits.as<float>());
    }
    if (!s.stream.sync(&err)) return gpu_error(err);
    if (device_ranked) read_ranked();
    if (device_greedy) *greedy = *s.host_best.as<int32_t>();
    else if (greedy) *greedy = greedy_token({logits + (all_logits ? n - 1 : 0) * V, static_cast<size_t>(V)});
    return Status::success();
}

}  // namespace gmg
