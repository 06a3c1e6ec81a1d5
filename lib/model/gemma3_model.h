// A loaded Gemma3 model: the mapped GGUF, validated hyper-parameters, the
// vocabulary, and every weight tensor bound by name with its shape checked.
// Immutable after load, so one model can serve many contexts on many threads.
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lib/gguf/gguf_file.h"
#include "lib/model/gemma3_config.h"
#include "lib/model/vocab.h"
#include "kernels/cpu/matmul.h"
#include "lib/gpu/gpu_model.h"

namespace gmg {

// One weight matrix, used where it lies in the mapped file (rows x cols =
// ne[1] x ne[0], row-major in its block format): no decoded copy is kept.
struct Weight {
    const gguf::TensorInfo* tensor = nullptr;
    const gguf::GgufFile* file = nullptr;
    cpu::WeightView view;
    // The repacked copy for GEMMs, built on first use by any context (thread-safe);
    // null when this type and ISA have none. Decode reads the copy too, so the
    // original's pages are then released.
    const cpu::RepackedWeights* repacked(cpu::Isa isa, int n_threads) const;

private:
    struct RepackSlot {
        std::once_flag once;
        cpu::RepackedWeights weights;
        bool ok = false;
    };
    std::unique_ptr<RepackSlot> slot_ = std::make_unique<RepackSlot>();
};

struct Gemma3Layer {
    std::vector<float> attn_norm;       // (n_embd)
    Weight wq;                          // (q_dim, n_embd)
    Weight wk;                          // (kv_dim, n_embd)
    Weight wv;                          // (kv_dim, n_embd)
    std::vector<float> q_norm, k_norm;  // (head_dim), shared by all heads
    Weight wo;                          // (n_embd, q_dim)
    std::vector<float> post_attn_norm;  // (n_embd)
    std::vector<float> ffn_norm;        // (n_embd)
    Weight gate, up;                    // (n_ff, n_embd)
    Weight down;                        // (n_embd, n_ff)
    std::vector<float> post_ffw_norm;   // (n_embd)
};

class Gemma3Model {
public:
    struct Options {
        int n_threads = 0;  // unused since weights stay mapped; kept for API stability
        bool vocab_only = false;  // metadata and vocabulary only: enough to tokenize
        bool prompt_repack = true;  // see gmg_model_params::prompt_repack
        // Layers offloaded to the GPU: 0 none; -1 or >= n_layer the whole model;
        // 1..n_layer-1 the last n_gpu_layers layers, with the final norm and LM head
        // (the embedding and the first layers stay on the CPU).
        int n_gpu_layers = 0;
        int gpu_device = 0;
    };
    static Status load(const std::string& path, const Options& options, std::unique_ptr<Gemma3Model>* out);

    const Gemma3Config& config() const { return config_; }
    const Vocab& vocab() const { return vocab_; }
    const gguf::GgufFile& file() const { return *file_; }
    const gguf::TensorInfo& token_embd() const { return *token_embd_; }
    // Rows of the embedding for n tokens into out (n, n_embd): an exact decode of each
    // row of the mapped table, scaled by sqrt(n_embd) in f32 (both the CPU and GPU paths).
    void embed(const TokenId* tokens, int64_t n, float* out) const;
    const std::vector<float>& output_norm() const { return output_norm_; }
    const Weight& lm_head() const { return *lm_head_; }  // output.weight, or token_embd when tied
    const std::vector<Gemma3Layer>& layers() const { return layers_; }
    bool tied_lm_head() const { return lm_head_ == &embd_weight_; }
    bool vocab_only() const { return lm_head_ == nullptr; }
    bool prompt_repack() const { return prompt_repack_; }
    uint64_t weight_bytes() const;  // bytes of the tensors as stored in the file
    const GpuModel* gpu() const { return gpu_.get(); }  // null unless offloaded

private:
    Gemma3Model() = default;
    std::unique_ptr<gguf::GgufFile> file_;
    Gemma3Config config_;
    Vocab vocab_;
    const gguf::TensorInfo* token_embd_ = nullptr;
    std::vector<float> output_norm_;
    Weight embd_weight_;   // token_embd as a matrix, only when it is also the LM head
    Weight output_weight_; // output.weight when the file has one
    const Weight* lm_head_ = nullptr;
    std::vector<Gemma3Layer> layers_;
    bool prompt_repack_ = true;
    std::unique_ptr<GpuModel> gpu_;
};

}  // namespace gmg
