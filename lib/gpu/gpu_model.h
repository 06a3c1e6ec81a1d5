// GPU offload: the weights of the last layers (all of them, or the last
// n_gpu_layers), the final norm and the LM head copied to one device in their GGUF
// block formats (no dequantized copies), and a context that runs those layers of a
// Gemma3 step there with their KV cache in device memory. Behind Gemma3Model /
// Gemma3Context: a model loaded with n_gpu_layers != 0 runs every context's layers
// from first_layer() on the GPU (the ones before, and the embedding, on the CPU).
#pragma once
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "kernels/gpu/gpu_backend.h"
#include "lib/model/vocab.h"
#include "lib/util/status.h"

namespace gmg {

class Gemma3Model;

class GpuModel {
public:
    // Copies layers first_layer.. of the model, its final norm and LM head to `device`.
    // Fails cleanly without a GPU build, a device, enough device memory, or a kernel
    // for one of the weight types.
    static Status upload(const Gemma3Model& model, int device, int64_t first_layer, std::unique_ptr<GpuModel>* out);

    struct Layer {
        gpu::DeviceWeight wq, wk, wv, wo, gate, up, down;
        const float *attn_norm, *q_norm, *k_norm, *post_attn_norm, *ffn_norm, *post_ffw_norm;
    };
    int device() const { return device_; }
    uint64_t bytes() const { return bytes_; }
    int64_t first_layer() const { return first_layer_; }  // 0: the whole model
    const std::vector<Layer>& layers() const { return layers_; }  // layers first_layer().. (index il - first_layer())
    const gpu::DeviceWeight& lm_head() const { return lm_head_; }
    const float* output_norm() const { return output_norm_; }

private:
    GpuModel() = default;
    int device_ = 0;
    int64_t first_layer_ = 0;
    uint64_t bytes_ = 0;
    std::vector<gpu::DeviceBuffer> buffers_;  // owns every device array below
    std::vector<Layer> layers_;
    gpu::DeviceWeight lm_head_;
    const float* output_norm_ = nullptr;
};

class GpuContext {
public:
    static Status create(const Gemma3Model& model, int64_t n_ctx, int64_t n_batch, std::unique_ptr<GpuContext>* out);
    ~GpuContext();
    // Evaluates n <= n_batch tokens at positions pos0... from their embeddings, or
    // (partial offload) from `hidden`, their rows (n, n_embd) after the CPU's layers;
    // logits (n_vocab floats per
    // row: every token when all_logits, else the last) when logits is not null;
    // *greedy = the last token's highest-logit id when greedy is not null (picked on
    // the device, so that without logits only that id is copied back); *ranked, when
    // asked for instead, the last token's min(gpu::kTopCandidates, n_vocab) best
    // (logit, id) in the sampler's order, ranked on the device (512 bytes copied back).
    Status forward(const TokenId* tokens, const float* hidden, int64_t n, int64_t pos0, bool all_logits, float* logits,
                   TokenId* greedy = nullptr, std::vector<std::pair<float, TokenId>>* ranked = nullptr);
    uint64_t cache_bytes() const { return cache_bytes_; }

private:
    struct State;
    explicit GpuContext(const Gemma3Model& model);
    void enqueue_layers(int64_t n);
    void enqueue_head(int64_t first, int64_t m, float* d_logits);
    void enqueue_greedy(const float* d_row);
    void enqueue_ranked(const float* d_row);
    void set_input(const float* d_x, int64_t n, int64_t k);
    gpu::ActRows act(int set = -1) const;  // the current set of quantized activations, or set 0/1
    void prepare(gpu::ActRule rule);
    bool use_tensor(const gpu::DeviceWeight& w) const;
    void project(const gpu::DeviceWeight& w, float* d_y, bool allow_tensor = true);
    void project_qkv(const GpuModel::Layer& L, float* q, float* k, float* v);
    void norm_input(const float* d_x, const float* d_w, int64_t n, const gpu::DeviceWeight& next);
    void residual_then_norm(const float* d_p, const float* w_post, const float* w_pre, int64_t n,
                            const gpu::DeviceWeight& next);

    const Gemma3Model& model_;
    std::unique_ptr<State> s_;
    uint64_t cache_bytes_ = 0;
};

}  // namespace gmg
