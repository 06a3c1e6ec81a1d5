// Per-layer K and V for past positions, stored as f16 (as llama.cpp stores
// them). Global layers keep every position up to n_ctx; sliding-window layers
// keep a ring of window + n_batch slots, enough for the window of every query
// in a batch even after that batch's own keys are written.
#pragma once
#include <cstdint>
#include <vector>

#include "lib/model/gemma3_config.h"

namespace gmg {

class KvCache {
public:
    KvCache() = default;
    // Layers 0..n_layers-1 (all when n_layers < 0; a partially offloaded model's GPU
    // layers keep theirs on the device).
    KvCache(const Gemma3Config& c, int64_t n_ctx, int64_t n_batch, int64_t n_layers = -1);

    // Slots of layer il: every position on global layers, window + n_batch on local ones.
    static int64_t layer_capacity(const Gemma3Config& c, int64_t il, int64_t n_ctx, int64_t n_batch);
    int64_t capacity(int64_t layer) const { return layers_[static_cast<size_t>(layer)].capacity; }
    int64_t slot(int64_t layer, int64_t pos) const { return pos % capacity(layer); }
    // (kv_dim) f16 values for one position.
    uint16_t* k(int64_t layer, int64_t pos) { return at(layers_[static_cast<size_t>(layer)].k, layer, pos); }
    uint16_t* v(int64_t layer, int64_t pos) { return at(layers_[static_cast<size_t>(layer)].v, layer, pos); }
    uint64_t bytes() const;

private:
    struct Layer {
        int64_t capacity = 0;
        std::vector<uint16_t> k, v;  // (capacity, kv_dim)
    };
    uint16_t* at(std::vector<uint16_t>& buf, int64_t layer, int64_t pos) {
        return buf.data() + slot(layer, pos) * kv_dim_;
    }
    int64_t kv_dim_ = 0;
    std::vector<Layer> layers_;
};

}  // namespace gmg
