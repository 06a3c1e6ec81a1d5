#include "lib/model/gemma3_model.h"

#include <cmath>

#include <fmt/format.h>

#include "kernels/ref/dequantize.h"

namespace gmg {
namespace {

Status shape_error(const gguf::TensorInfo& t, int64_t ne0, int64_t ne1) {
    return {StatusCode::invalid_file, fmt::format("tensor '{}' has shape [{}, {}], expected [{}, {}]",
                                                  std::string(t.name), t.ne[0], t.ne[1], ne0, ne1)};
}

Status find(const gguf::GgufFile& f, const std::string& name, const gguf::TensorInfo** out) {
    *out = f.find_tensor(name);
    if (!*out) return {StatusCode::invalid_file, fmt::format("missing tensor '{}'", name)};
    return Status::success();
}

Status bind_matrix(const gguf::GgufFile& f, const std::string& name, int64_t ne0, int64_t ne1, Weight* w) {
    if (Status s = find(f, name, &w->tensor); !s.ok()) return s;
    const gguf::TensorInfo& t = *w->tensor;
    if (t.n_dims != 2 || t.ne[0] != ne0 || t.ne[1] != ne1) return shape_error(t, ne0, ne1);
    w->view = {t.type, t.data, static_cast<size_t>(t.row_bytes), ne1, ne0};
    w->file = &f;
    return Status::success();
}

Status bind_vector(const gguf::GgufFile& f, const std::string& name, int64_t n, std::vector<float>* v) {
    const gguf::TensorInfo* t = nullptr;
    if (Status s = find(f, name, &t); !s.ok()) return s;
    if (t->n_elements != static_cast<uint64_t>(n) || t->ne[0] != n)
        return {StatusCode::invalid_file, fmt::format("tensor '{}' has {} elements, expected {}", name, t->n_elements, n)};
    v->resize(static_cast<size_t>(n));
    if (!ref::dequantize_row(t->type, t->data, v->data(), n))
        return {StatusCode::unsupported, fmt::format("cannot decode tensor '{}'", name)};
    return Status::success();
}

}  // namespace

Status Gemma3Model::load(const std::string& path, const Options& options, std::unique_ptr<Gemma3Model>* out) {
    std::unique_ptr<Gemma3Model> m(new Gemma3Model());
    if (Status s = gguf::GgufFile::open(path, &m->file_); !s.ok()) return s;
    const gguf::GgufFile& f = *m->file_;
    auto in_file = [&](Status s) { return s.ok() ? s : Status(s.code(), fmt::format("{}: {}", path, s.message())); };
    if (Status s = Gemma3Config::from_gguf(f, &m->config_); !s.ok()) return in_file(s);
    if (Status s = Vocab::from_gguf(f, &m->vocab_); !s.ok()) return in_file(s);
    m->prompt_repack_ = options.prompt_repack;
    const Gemma3Config& c = m->config_;
    if (m->vocab_.size() != c.n_vocab)
        return in_file({StatusCode::invalid_file, fmt::format("the vocabulary has {} tokens but token_embd.weight has {} rows",
                                                              m->vocab_.size(), c.n_vocab)});
    if (options.vocab_only) {
        *out = std::move(m);
        return Status::success();
    }

    m->token_embd_ = f.find_tensor("token_embd.weight");
    if (Status s = bind_vector(f, "output_norm.weight", c.n_embd, &m->output_norm_); !s.ok()) return in_file(s);
    if (f.find_tensor("output.weight")) {  // fine-tunes may ship an untied head
        if (Status s = bind_matrix(f, "output.weight", c.n_embd, c.n_vocab, &m->output_weight_); !s.ok())
            return in_file(s);
        m->lm_head_ = &m->output_weight_;
    } else {
        if (Status s = bind_matrix(f, "token_embd.weight", c.n_embd, c.n_vocab, &m->embd_weight_); !s.ok())
            return in_file(s);
        m->lm_head_ = &m->embd_weight_;
    }
    m->layers_.resize(static_cast<size_t>(c.n_layer));
    for (int64_t il = 0; il < c.n_layer; ++il) {
        Gemma3Layer& L = m->layers_[static_cast<size_t>(il)];
        const std::string p = fmt::format("blk.{}.", il);
        Status s;
        auto vec = [&](const char* name, int64_t n, std::vector<float>* v) {
            if (s.ok()) s = bind_vector(f, p + name, n, v);
        };
        auto mat = [&](const char* name, int64_t ne0, int64_t ne1, Weight* w) {
            if (s.ok()) s = bind_matrix(f, p + name, ne0, ne1, w);
        };
        vec("attn_norm.weight", c.n_embd, &L.attn_norm);
        mat("attn_q.weight", c.n_embd, c.q_dim(), &L.wq);
        mat("attn_k.weight", c.n_embd, c.kv_dim(), &L.wk);
        mat("attn_v.weight", c.n_embd, c.kv_dim(), &L.wv);
        vec("attn_q_norm.weight", c.head_dim, &L.q_norm);
        vec("attn_k_norm.weight", c.head_dim, &L.k_norm);
        mat("attn_output.weight", c.q_dim(), c.n_embd, &L.wo);
        vec("post_attention_norm.weight", c.n_embd, &L.post_attn_norm);
        vec("ffn_norm.weight", c.n_embd, &L.ffn_norm);
        mat("ffn_gate.weight", c.n_embd, c.n_ff, &L.gate);
        mat("ffn_up.weight", c.n_embd, c.n_ff, &L.up);
        mat("ffn_down.weight", c.n_ff, c.n_embd, &L.down);
        vec("post_ffw_norm.weight", c.n_embd, &L.post_ffw_norm);
        if (!s.ok()) return in_file(s);
    }
    if (options.n_gpu_layers != 0) {
        // As llama.cpp counts them: the last n_gpu_layers layers go to the GPU.
        const bool whole = options.n_gpu_layers < 0 || options.n_gpu_layers >= c.n_layer;
        const int64_t first = whole ? 0 : c.n_layer - options.n_gpu_layers;
        if (Status s = GpuModel::upload(*m, options.gpu_device, first, &m->gpu_); !s.ok()) return s;
    }
    *out = std::move(m);
    return Status::success();
}

const cpu::RepackedWeights* Weight::repacked(cpu::Isa isa, int n_threads) const {
    if (!cpu::can_repack(view.type, isa)) return nullptr;
    std::call_once(slot_->once, [&] {
        std::function<void(int64_t, int64_t)> release;
        if (file)  // decode reads the copy: the file's pages can go
            release = [this](int64_t r0, int64_t r1) {
                file->release_pages(view.data + static_cast<size_t>(r0) * view.row_bytes,
                                    static_cast<size_t>(r1 - r0) * view.row_bytes);
            };
        slot_->ok = cpu::repack(view, isa, n_threads, &slot_->weights, release);
    });
    return slot_->ok && slot_->weights.source == view.type ? &slot_->weights : nullptr;
}

void Gemma3Model::embed(const TokenId* tokens, int64_t n, float* out) const {
    const int64_t E = config_.n_embd;
    const gguf::TensorInfo& embd = *token_embd_;
    const float scale = std::sqrt(static_cast<float>(E));
    for (int64_t t = 0; t < n; ++t) {
        float* xt = out + t * E;
        ref::dequantize_row(embd.type, embd.data + static_cast<uint64_t>(tokens[t]) * embd.row_bytes, xt, E);
        for (int64_t i = 0; i < E; ++i) xt[i] *= scale;
    }
}

uint64_t Gemma3Model::weight_bytes() const {
    uint64_t total = 0;
    for (const auto& t : file_->tensors()) total += t.n_bytes;
    return total;
}

}  // namespace gmg
