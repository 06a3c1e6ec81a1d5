// One conversation's state over a shared model: the KV cache, the scratch
// buffers and the number of positions already evaluated. One thread at a time.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <vector>

#include "lib/model/gemma3_model.h"
#include "lib/runtime/kv_cache.h"
#include "lib/runtime/prepared_input.h"

namespace gmg {

class Gemma3Context {
public:
    struct Options {
        int64_t n_ctx = 4096;   // 0: the model's training context
        int64_t n_batch = 512;  // tokens per forward step (longer inputs are split)
        int n_threads = 0;      // 0: all cores
        // The oracle path: every weight row decoded by the reference decoders and
        // multiplied in double (Eigen), attention summed in double. For tests.
        bool reference = false;
        // Kernels of this ISA instead of cpu::active_isa() (capped at what the CPU has).
        std::optional<cpu::Isa> isa;
    };
    static Status create(const Gemma3Model& model, const Options& options, std::unique_ptr<Gemma3Context>* out);

    // Evaluates `tokens` at positions n_past()...; afterwards n_past() grows by
    // their count. logits receives n_vocab floats for every token when
    // all_logits, else for the last one only; *greedy, when asked for, the last
    // token's highest-logit id (greedy_token's pick: on a GPU context without
    // logits, picked on the device and the only thing copied back); *ranked, asked
    // for instead, its best min(kDeviceCandidates, n_vocab) (logit, id) in the
    // sampler's order (on a GPU context without logits, ranked on the device).
    Status decode(std::span<const TokenId> tokens, bool all_logits, std::vector<float>* logits,
                  TokenId* greedy = nullptr, std::vector<std::pair<float, TokenId>>* ranked = nullptr);

    int64_t n_past() const { return n_past_; }
    int64_t n_ctx() const { return n_ctx_; }
    int64_t n_vocab() const { return cfg_.n_vocab; }
    cpu::Isa isa() const { return isa_; }
    bool on_gpu() const { return gpu_ != nullptr; }  // (some of) its layers run on a GPU
    const Gemma3Model& model() const { return model_; }
    uint64_t cache_bytes() const { return (gpu_ ? gpu_->cache_bytes() : 0) + cache_.bytes(); }
    void reset() { n_past_ = 0; }
    // Forgets positions >= n. Sliding-window rings can only be rewound by at
    // most n_batch positions (older keys are gone); further needs reset().
    Status truncate(int64_t n);

private:
    Gemma3Context(const Gemma3Model& m, const Options& o);
    // The embedding and the CPU's layers (all but a GPU's) for n tokens into x_.
    void forward_layers(const TokenId* tokens, int64_t n);
    // The final norm, LM head and soft-cap over x_'s rows (the last, or all) into logits.
    void forward_head(int64_t n, bool all_logits, float* logits);
    void attention(int64_t il, int64_t n, int64_t pos0);
    // f(t) for each of n tokens, spread over the threads (the per-token steps are independent).
    template <class F>
    void per_token(int64_t n, F&& f) const;
    void add_post_normed(const std::vector<float>& norm, int64_t n);
    void set_input(const float* x, int64_t n, int64_t k);  // the rows the next project() calls read
    void project(const Weight& w, float* y);                  // y (n, w.rows) = input . w^T
    // Several projections of the same input (q, k, v; gate, up) in one parallel region.
    struct Projection {
        const Weight* w;
        float* y;
    };
    void project_all(std::initializer_list<Projection> projections);
    cpu::MatmulJob job_for(const Weight& w, float* y);  // the fastest path for this input size

    const Gemma3Model& model_;
    const Gemma3Config& cfg_;
    int64_t n_ctx_, n_batch_;
    int n_threads_;
    int64_t cpu_layers_;  // layers 0..cpu_layers_-1 run here; the rest (if any) on the GPU
    bool reference_;
    cpu::Isa isa_;
    PreparedInput input_;
    const float* input_x_ = nullptr;
    int64_t input_n_ = 0;
    int64_t n_past_ = 0;
    KvCache cache_;                      // the CPU's layers
    std::unique_ptr<GpuContext> gpu_;    // the GPU's layers, for models offloaded to one
    // Scratch, sized for n_batch tokens: (tokens, width) row-major.
    std::vector<float> x_, h_, q_, k_, v_, attn_, proj_, gate_, up_, act_in_;
};

}  // namespace gmg
