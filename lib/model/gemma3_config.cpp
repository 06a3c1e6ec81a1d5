#include "lib/model/gemma3_config.h"

#include <cmath>

#include <fmt/format.h>

namespace gmg {
namespace {

Status missing(std::string_view key) {
    return {StatusCode::invalid_file, fmt::format("missing or mistyped metadata key '{}'", key)};
}

// A u32 key, or an array of per-layer values that must all be equal (gemma3 uses one value).
Status read_count(const gguf::GgufFile& f, std::string_view key, bool required, int64_t* out) {
    const gguf::KeyValue* kv = f.find(key);
    if (!kv) return required ? missing(key) : Status::success();
    if (kv->value.is_array()) {
        if (kv->value.count == 0 || kv->value.elem_type == gguf::ValueType::string) return missing(key);
        const int64_t first = kv->value.array_i64(0);
        for (uint64_t i = 1; i < kv->value.count; ++i)
            if (kv->value.array_i64(i) != first)
                return {StatusCode::unsupported, fmt::format("'{}' varies per layer, which gemma3 does not use", key)};
        *out = first;
    } else {
        const auto v = f.get_uint(key);
        if (!v || *v > (1ull << 40)) return missing(key);
        *out = static_cast<int64_t>(*v);
    }
    if (*out <= 0 && required) return {StatusCode::invalid_file, fmt::format("'{}' must be positive", key)};
    return Status::success();
}

}  // namespace

Status Gemma3Config::from_gguf(const gguf::GgufFile& f, Gemma3Config* out) {
    const auto arch = f.get_string("general.architecture");
    if (!arch) return missing("general.architecture");
    if (*arch != "gemma3")
        return {StatusCode::unsupported, fmt::format("unsupported architecture '{}' (only gemma3)", *arch)};
    Gemma3Config c;
    const gguf::TensorInfo* embd = f.find_tensor("token_embd.weight");
    if (!embd || embd->n_dims != 2) return {StatusCode::invalid_file, "missing 2-D tensor 'token_embd.weight'"};
    c.n_vocab = embd->ne[1];

    if (Status s = read_count(f, "gemma3.context_length", true, &c.n_ctx_train); !s.ok()) return s;
    if (Status s = read_count(f, "gemma3.embedding_length", true, &c.n_embd); !s.ok()) return s;
    if (Status s = read_count(f, "gemma3.block_count", true, &c.n_layer); !s.ok()) return s;
    if (Status s = read_count(f, "gemma3.feed_forward_length", true, &c.n_ff); !s.ok()) return s;
    if (Status s = read_count(f, "gemma3.attention.head_count", true, &c.n_head); !s.ok()) return s;
    c.n_head_kv = c.n_head;
    if (Status s = read_count(f, "gemma3.attention.head_count_kv", false, &c.n_head_kv); !s.ok()) return s;
    c.head_dim = c.n_embd / c.n_head;
    if (Status s = read_count(f, "gemma3.attention.key_length", false, &c.head_dim); !s.ok()) return s;
    int64_t value_length = c.head_dim;
    if (Status s = read_count(f, "gemma3.attention.value_length", false, &value_length); !s.ok()) return s;
    c.n_rot = c.head_dim;
    if (Status s = read_count(f, "gemma3.rope.dimension_count", false, &c.n_rot); !s.ok()) return s;
    if (Status s = read_count(f, "gemma3.attention.sliding_window", false, &c.sliding_window); !s.ok()) return s;

    const auto eps = f.get_float("gemma3.attention.layer_norm_rms_epsilon");
    if (!eps) return missing("gemma3.attention.layer_norm_rms_epsilon");
    c.rms_eps = static_cast<float>(*eps);
    c.rope_base_global = static_cast<float>(f.get_float("gemma3.rope.freq_base").value_or(10000.0));
    if (const auto type = f.get_string("gemma3.rope.scaling.type"); type && *type != "linear" && *type != "none")
        return {StatusCode::unsupported, fmt::format("rope scaling type '{}' is not supported", *type)};
    if (const auto factor = f.get_float("gemma3.rope.scaling.factor"); factor && *factor > 0)
        c.rope_freq_scale_global = static_cast<float>(1.0 / *factor);
    c.final_logit_softcap = static_cast<float>(f.get_float("gemma3.final_logit_softcapping").value_or(0.0));

    if (c.n_head_kv <= 0 || c.n_head % c.n_head_kv != 0)
        return {StatusCode::invalid_file, fmt::format("head_count {} is not a multiple of head_count_kv {}", c.n_head, c.n_head_kv)};
    if (value_length != c.head_dim)
        return {StatusCode::unsupported, "attention.value_length differs from key_length"};
    if (c.n_rot != c.head_dim || c.head_dim % 2 != 0)
        return {StatusCode::unsupported, fmt::format("rope.dimension_count {} must equal key_length {}", c.n_rot, c.head_dim)};
    if (c.n_vocab <= 0 || embd->ne[0] != c.n_embd)
        return {StatusCode::invalid_file,
                fmt::format("token_embd.weight is [{}, {}], expected [{}, n_vocab]", embd->ne[0], embd->ne[1], c.n_embd)};
    // 27B (62 layers) scales queries by 1/sqrt(n_embd / n_head) (query_pre_attn_scalar 168); the others by 1/sqrt(head_dim).
    c.attn_scale = c.n_layer == 62 ? 1.0f / std::sqrt(static_cast<float>(c.n_embd / c.n_head))
                                   : 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    *out = c;
    return Status::success();
}

}  // namespace gmg
