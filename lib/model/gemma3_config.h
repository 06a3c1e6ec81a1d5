// Gemma3 hyper-parameters, read from `gemma3.*` GGUF metadata and validated.
#pragma once
#include <cstdint>
#include <string>

#include "lib/gguf/gguf_file.h"
#include "lib/util/status.h"

namespace gmg {

struct Gemma3Config {
    int64_t n_vocab = 0;        // rows of token_embd
    int64_t n_ctx_train = 0;    // gemma3.context_length
    int64_t n_embd = 0;         // hidden size (1152 for 1B, 640 for 270M)
    int64_t n_layer = 0;
    int64_t n_ff = 0;           // GeGLU inner size
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;       // key_length (256), not n_embd / n_head
    int64_t n_rot = 0;          // rotated dimensions (= head_dim)
    float rms_eps = 1e-6f;
    int64_t sliding_window = 0; // keys visible to a local layer, the query included; 0: none
    int64_t swa_pattern = 6;    // every 6th layer is global
    float rope_base_local = 10000.0f;
    float rope_base_global = 1000000.0f;
    float rope_freq_scale_global = 1.0f;  // 1 / rope.scaling.factor (linear scaling, 4B and up)
    float attn_scale = 0.0625f;           // 1/sqrt(head_dim); 27B: 1/sqrt(n_embd/n_head)
    float final_logit_softcap = 0.0f;     // 0: none

    bool is_global(int64_t layer) const { return sliding_window == 0 || (layer + 1) % swa_pattern == 0; }
    int64_t q_dim() const { return n_head * head_dim; }
    int64_t kv_dim() const { return n_head_kv * head_dim; }

    static Status from_gguf(const gguf::GgufFile& file, Gemma3Config* out);
};

}  // namespace gmg
