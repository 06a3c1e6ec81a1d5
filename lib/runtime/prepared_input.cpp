#include "lib/runtime/prepared_input.h"

#include "kernels/cpu/vec_dot_type.h"

namespace gmg {

void PreparedInput::reset(const float* x, int64_t n, int64_t k, cpu::Isa isa, int n_threads) {
    x_ = x;
    n_ = n;
    k_ = k;
    isa_ = isa;
    n_threads_ = n_threads;
    for (Entry& e : entries_) e.valid = e.sums_valid = false;
}

PreparedInput::Entry& PreparedInput::entry(GgmlType weight) {
    const GgmlType prepared = cpu::prepared_type(weight, isa_), rounding = cpu::vec_dot_type(weight);
    for (Entry& e : entries_)
        if (e.prepared == prepared && e.rounding == rounding) return e;
    Entry& e = entries_.emplace_back();
    e.prepared = prepared;
    e.rounding = rounding;
    return e;
}

const int32_t* PreparedInput::block_sums(GgmlType weight) {
    Entry& e = entry(weight);
    if (e.prepared != GgmlType::Q8_0) return nullptr;
    if (!e.sums_valid) {
        const uint8_t* rows = get(weight);
        e.sums.resize(static_cast<size_t>(n_ * (k_ / 32)));
        cpu::q8_0_block_sums(rows, n_, k_, e.sums.data());
        e.sums_valid = true;
    }
    return e.sums.data();
}

const uint8_t* PreparedInput::get(GgmlType weight) {
    Entry& e = entry(weight);
    if (!e.valid) {
        const size_t stride = cpu::prepared_row_bytes(weight, k_, isa_);
        e.bytes.resize(stride * static_cast<size_t>(n_));
        uint8_t* out = e.bytes.data();
        const float* x = x_;
        const int64_t k = k_;
        const cpu::Isa isa = isa_;
#pragma omp parallel for num_threads(n_threads_) schedule(static) if (n_ > 1)
        for (int64_t r = 0; r < n_; ++r) cpu::prepare_activations(weight, isa, x + r * k, 1, k, out + r * stride);
        e.valid = true;
    }
    return e.bytes.data();
}

}  // namespace gmg
