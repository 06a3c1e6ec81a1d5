#include "lib/runtime/prepared_input.h"

#include "kernels/cpu/vec_dot_type.h"

namespace gmg {

void PreparedInput::reset(const float* x, int64_t n, int64_t k, cpu::Isa isa, int n_threads) {
    x_ = x;
    n_ = n;
    k_ = k;
    isa_ = isa;
    n_threads_ = n_threads;
    for (Entry& e : entries_) e.valid = false;
}

const uint8_t* PreparedInput::get(GgmlType weight) {
    const GgmlType prepared = cpu::prepared_type(weight, isa_), rounding = cpu::vec_dot_type(weight);
    Entry* entry = nullptr;
    for (Entry& e : entries_)
        if (e.prepared == prepared && e.rounding == rounding) entry = &e;
    if (!entry) entry = &entries_.emplace_back(Entry{prepared, rounding, {}, false});
    if (!entry->valid) {
        const size_t stride = cpu::prepared_row_bytes(weight, k_, isa_);
        entry->bytes.resize(stride * static_cast<size_t>(n_));
        uint8_t* out = entry->bytes.data();
        const float* x = x_;
        const int64_t k = k_;
        const cpu::Isa isa = isa_;
#pragma omp parallel for num_threads(n_threads_) schedule(static) if (n_ > 1)
        for (int64_t r = 0; r < n_; ++r) cpu::prepare_activations(weight, isa, x + r * k, 1, k, out + r * stride);
        entry->valid = true;
    }
    return entry->bytes.data();
}

}  // namespace gmg
