// GeGLU over the FFN activations: y[i] = gelu(gate[i]) * up[i], with llama.cpp's
// roundings (kernels/common/gelu.h's geglu_value, bit for bit).
#pragma once
#include <cstdint>

#include "kernels/cpu/cpu_features.h"

namespace gmg::cpu {

void geglu(const float* gate, const float* up, float* y, int64_t n, Isa isa);

// GELU of every f16 bit pattern, as f16 (llama.cpp reads GELU from such a table),
// plus one zero entry so that a 32-bit gather at the last index stays inside.
const uint16_t* gelu_f16_table();

}  // namespace gmg::cpu
