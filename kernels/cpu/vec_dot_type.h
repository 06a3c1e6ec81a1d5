// The activation format each weight type is multiplied with: llama.cpp's
// vec_dot_type in its CPU backend (ggml-cpu type_traits_cpu). Activations are
// quantized to it once per row, so a dot product is an integer dot product
// scaled per block, and our numbers round where llama.cpp's round.
#pragma once
#include "kernels/common/compat.h"
#include "kernels/common/ggml_type.h"

namespace gmg::cpu {

GMG_HOST_DEVICE constexpr GgmlType vec_dot_type(GgmlType weight) {
    switch (weight) {
        case GgmlType::F32: return GgmlType::F32;
        case GgmlType::F16: return GgmlType::F16;
        case GgmlType::BF16: return GgmlType::BF16;
        case GgmlType::Q4_0: case GgmlType::Q5_0: case GgmlType::Q8_0: case GgmlType::IQ4_NL: case GgmlType::MXFP4:
            return GgmlType::Q8_0;
        case GgmlType::Q4_1: case GgmlType::Q5_1: return GgmlType::Q8_1;
        default: return GgmlType::Q8_K;
    }
}

}  // namespace gmg::cpu
