#include "kernels/cpu/geglu.h"

#include <vector>

#include "kernels/common/gelu.h"
#include "kernels/common/half.h"
#include "kernels/cpu/kernel_table.h"

namespace gmg::cpu {

const uint16_t* gelu_f16_table() {
    static const std::vector<uint16_t> table = [] {
        std::vector<uint16_t> t((1 << 16) + 1, 0);
        for (uint32_t i = 0; i < (1u << 16); ++i) t[i] = f32_to_f16(gelu_tanh(f16_to_f32(static_cast<uint16_t>(i))));
        return t;
    }();
    return table.data();
}

void geglu(const float* gate, const float* up, float* y, int64_t n, Isa isa) {
    const uint16_t* table = gelu_f16_table();
    int64_t i = 0;
    if (const GegluFn f = kernel_set(isa).geglu) {
        f(table, gate, up, y, n);
        i = n - n % 8;
    }
    for (; i < n; ++i) {
        const float g = gate[i];
        if (g <= -10.0f) y[i] = 0.0f;
        else if (g >= 10.0f) y[i] = g * up[i];
        else y[i] = f16_to_f32(table[f32_to_f16(g)]) * up[i];
    }
}

}  // namespace gmg::cpu
