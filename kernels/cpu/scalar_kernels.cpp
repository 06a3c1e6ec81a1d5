// Portable kernels for the one family whose dot product the generic path cannot
// reproduce: Q4_1/Q5_1 take their min term from the activation block's stored sum
// s = f16(d * sum(q)), which the generic path (decoded weights . rounded floats)
// never sees, so it would be off by s's f16 rounding (5e-5 relative on llama.cpp's
// products). Plain C++, one block at a time, as llama.cpp's generic loop sums.
#include <cstring>

#include "kernels/common/block_formats.h"
#include "kernels/common/half.h"
#include "kernels/cpu/kernel_table.h"

namespace gmg::cpu::scalar {
namespace {

// The 32 unsigned weight values of a block (element j and j + 16 share byte j).
void values(const block_q4_1& b, int* q) {
    for (int j = 0; j < 16; ++j) q[j] = b.qs[j] & 15, q[j + 16] = b.qs[j] >> 4;
}
void values(const block_q5_1& b, int* q) {
    uint32_t qh;
    std::memcpy(&qh, b.qh, sizeof qh);
    for (int j = 0; j < 16; ++j) {
        q[j] = (b.qs[j] & 15) | static_cast<int>(((qh >> j) & 1) << 4);
        q[j + 16] = (b.qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4);
    }
}

template <class Block>
void q8_1_tile(int64_t k, const uint8_t* w, size_t w_stride, int64_t n_rows, const uint8_t* a, size_t a_stride,
               int64_t n_cols, float* y, int64_t ldy) {
    const int64_t nb = k / 32;
    for (int64_t r = 0; r < n_rows; ++r) {
        const auto* wb = reinterpret_cast<const Block*>(w + static_cast<size_t>(r) * w_stride);
        for (int64_t c = 0; c < n_cols; ++c) {
            const auto* x = reinterpret_cast<const block_q8_1*>(a + static_cast<size_t>(c) * a_stride);
            float sum = 0.0f;
            for (int64_t b = 0; b < nb; ++b) {
                int q[32], sumi = 0;
                values(wb[b], q);
                for (int j = 0; j < 32; ++j) sumi += q[j] * x[b].qs[j];
                sum += f16_to_f32(wb[b].d) * f16_to_f32(x[b].d) * static_cast<float>(sumi) +
                       f16_to_f32(wb[b].m) * f16_to_f32(x[b].s);
            }
            y[c * ldy + r] = sum;
        }
    }
}

}  // namespace

void fill(KernelSet* set) {
    set->tile[static_cast<uint32_t>(GgmlType::Q4_1)] = q8_1_tile<block_q4_1>;
    set->tile[static_cast<uint32_t>(GgmlType::Q5_1)] = q8_1_tile<block_q5_1>;
}

}  // namespace gmg::cpu::scalar
