// The activations of one matmul input, prepared (quantized) once per format and
// shared by every weight that reads that input: q, k and v read the same normed
// rows, as do gate and up. Invalidated by reset() when the input changes.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/cpu/matmul.h"

namespace gmg {

class PreparedInput {
public:
    void reset(const float* x, int64_t n, int64_t k, cpu::Isa isa, int n_threads);
    // Rows prepared for `weight` (n rows of cpu::prepared_row_bytes(weight, k, isa)).
    const uint8_t* get(GgmlType weight);
    // cpu::q8_0_block_sums of those rows when they are Q8_0 blocks (else null),
    // computed once per input like the rows themselves.
    const int32_t* block_sums(GgmlType weight);

private:
    struct Entry {
        GgmlType prepared, rounding;  // storage format, and vec_dot_type the values were rounded to
        std::vector<uint8_t> bytes;
        bool valid = false;
        std::vector<int32_t> sums;
        bool sums_valid = false;
    };
    const float* x_ = nullptr;
    int64_t n_ = 0, k_ = 0;
    cpu::Isa isa_ = cpu::Isa::scalar;
    int n_threads_ = 1;
    Entry& entry(GgmlType weight);
    std::vector<Entry> entries_;
};

}  // namespace gmg
