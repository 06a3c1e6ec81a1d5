// Reference decoder throughput per type, in GB/s of source (quantized) bytes and
// elements/s: the baseline the SIMD kernels of the next step must beat.
#include <cstring>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "kernels/common/ggml_type.h"
#include "kernels/common/half.h"
#include "kernels/ref/dequantize.h"

namespace {

using gmg::GgmlType;

// Byte offsets of the f16 scale fields in one block (block_formats.h); given sane
// values so that no denormal or NaN arithmetic distorts the timing.
std::vector<int> f16_fields(GgmlType t) {
    switch (t) {
        case GgmlType::Q4_1: case GgmlType::Q5_1: case GgmlType::Q4_K: case GgmlType::Q5_K: return {0, 2};
        case GgmlType::Q2_K: return {80, 82};
        case GgmlType::Q3_K: return {108};
        case GgmlType::Q6_K: return {208};
        case GgmlType::TQ1_0: return {52};
        case GgmlType::TQ2_0: return {64};
        case GgmlType::IQ1_M: case GgmlType::MXFP4: case GgmlType::NVFP4: return {};
        default: return {0};
    }
}

std::vector<uint8_t> random_blocks(GgmlType t, int64_t n_elements) {
    const gmg::TypeTraits tr = gmg::traits_of(t);
    const int64_t n_blocks = n_elements / tr.block_elems;
    std::vector<uint8_t> buf(static_cast<size_t>(n_blocks * tr.block_bytes) + 64);
    std::mt19937 rng(1234);
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    std::uniform_real_distribution<float> scale(0.001f, 0.1f);
    if (!tr.quantized) {  // plain float types: fill with sane values of their own kind
        for (int64_t i = 0; i < n_elements; ++i) {
            const float v = scale(rng);
            if (t == GgmlType::F32) std::memcpy(&buf[4 * i], &v, 4);
            else {
                const uint16_t h = t == GgmlType::F16 ? gmg::f32_to_f16(v) : gmg::f32_to_bf16(v);
                std::memcpy(&buf[2 * i], &h, 2);
            }
        }
        return buf;
    }
    for (int64_t b = 0; b < n_blocks; ++b) {
        uint8_t* blk = &buf[static_cast<size_t>(b * tr.block_bytes)];
        for (int off : f16_fields(t)) {
            const uint16_t h = gmg::f32_to_f16(scale(rng));
            std::memcpy(blk + off, &h, 2);
        }
        if (t == GgmlType::IQ1_M) blk[55] = 0x20, blk[53] &= 0x0f;  // d's exponent bits: a normal f16
        if (t == GgmlType::MXFP4) blk[0] = 120;
    }
    return buf;
}

void BM_dequantize(benchmark::State& state, GgmlType t) {
    const int64_t n = 1 << 20;  // elements per iteration
    const auto src = random_blocks(t, n);
    std::vector<float> dst(n);
    const gmg::TypeTraits tr = gmg::traits_of(t);
    for (auto _ : state) {
        gmg::ref::dequantize_row(t, src.data(), dst.data(), n);
        benchmark::DoNotOptimize(dst.data());
        benchmark::ClobberMemory();
    }
    const int64_t src_bytes = n / tr.block_elems * tr.block_bytes;
    state.SetBytesProcessed(state.iterations() * src_bytes);
    state.SetItemsProcessed(state.iterations() * n);
}

const bool registered = [] {
    int count = 0;
    const gmg::TypeTraits* all = gmg::all_type_traits(&count);
    for (int i = 0; i < count; ++i) {
        const auto& tr = all[i];
        const bool plain_int = tr.type == GgmlType::I8 || tr.type == GgmlType::I16 || tr.type == GgmlType::I32 ||
                               tr.type == GgmlType::I64 || tr.type == GgmlType::F64;
        if (plain_int) continue;
        benchmark::RegisterBenchmark(("dequantize/" + std::string(tr.name)).c_str(), BM_dequantize, tr.type)
            ->Unit(benchmark::kMicrosecond);
    }
    return true;
}();

}  // namespace

BENCHMARK_MAIN();
