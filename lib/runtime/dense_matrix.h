// A row-major float32 matrix (rows x cols). Plain storage; the math lives in
// lib/runtime/reference_ops.* (Eigen maps these buffers without copying).
#pragma once
#include <cstdint>
#include <vector>

namespace gmg {

struct DenseMatrix {
    int64_t rows = 0, cols = 0;
    std::vector<float> data;  // rows * cols

    const float* row(int64_t r) const { return data.data() + r * cols; }
    float* row(int64_t r) { return data.data() + r * cols; }
};

}  // namespace gmg
