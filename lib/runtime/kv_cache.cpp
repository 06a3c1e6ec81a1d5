#include "lib/runtime/kv_cache.h"

#include <algorithm>

namespace gmg {

KvCache::KvCache(const Gemma3Config& c, int64_t n_ctx, int64_t n_batch, int64_t n_layers) : kv_dim_(c.kv_dim()) {
    if (n_layers < 0 || n_layers > c.n_layer) n_layers = c.n_layer;
    layers_.resize(static_cast<size_t>(n_layers));
    for (int64_t il = 0; il < n_layers; ++il) {
        Layer& L = layers_[static_cast<size_t>(il)];
        L.capacity = layer_capacity(c, il, n_ctx, n_batch);
        L.k.assign(static_cast<size_t>(L.capacity * kv_dim_), 0);
        L.v.assign(static_cast<size_t>(L.capacity * kv_dim_), 0);
    }
}

int64_t KvCache::layer_capacity(const Gemma3Config& c, int64_t il, int64_t n_ctx, int64_t n_batch) {
    return c.is_global(il) ? n_ctx : std::min(n_ctx, c.sliding_window + n_batch);
}

uint64_t KvCache::bytes() const {
    uint64_t total = 0;
    for (const Layer& L : layers_) total += (L.k.size() + L.v.size()) * sizeof(uint16_t);
    return total;
}

}  // namespace gmg
