// Attention over the f16 KV cache at Gemma3-1B's shape (head dim 256, the four
// query heads of its one KV head): the decode step (one token, on one thread and
// with its positions split across all of them, as the model runs it) and a
// prompt tile (four tokens, one thread) against n cached positions. Reports multiply-adds
// per second (q.k and p.v: 2 x n x d per query head) and the K/V bytes read per
// second, to set against gmg-bench-matvec's int8 peak and read bandwidth.
#include <benchmark/benchmark.h>

#include <omp.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/common/half.h"
#include "kernels/cpu/attention.h"

namespace {

constexpr int64_t kHeadDim = 256, kHeads = 4;

void attention(benchmark::State& state) {
    const int64_t n = state.range(0), tokens = state.range(1);
    const int threads = state.range(2) ? omp_get_max_threads() : 1;
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<uint16_t> k(static_cast<size_t>(n * kHeadDim)), v(k.size());
    for (auto& x : k) x = gmg::f32_to_f16(normal(rng));
    for (auto& x : v) x = gmg::f32_to_f16(normal(rng));
    const int64_t stride = kHeads * kHeadDim;
    std::vector<float> q(static_cast<size_t>(tokens * stride)), out(q.size());
    for (auto& x : q) x = normal(rng) * 0.0625f;
    std::vector<int64_t> lo(static_cast<size_t>(tokens), 0), hi(static_cast<size_t>(tokens));
    for (int64_t t = 0; t < tokens; ++t) hi[static_cast<size_t>(t)] = n - tokens + t;
    const gmg::cpu::KvRows rows{k.data(), v.data(), n, kHeadDim};
    const gmg::cpu::QueryTile tile{q.data(), out.data(), tokens, kHeads, stride, lo.data(), hi.data()};
    const gmg::cpu::Isa isa = gmg::cpu::active_isa();
    for (auto _ : state) {
        gmg::cpu::attend_tile(tile, kHeadDim, rows, isa, threads);
        benchmark::DoNotOptimize(out.data());
    }
    const double macs = 2.0 * static_cast<double>(n * kHeadDim * kHeads * tokens);
    state.counters["GMAC/s"] = benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["KV_GB/s"] =
        benchmark::Counter(2.0 * static_cast<double>(k.size()) * 2e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(attention)
    ->ArgNames({"positions", "tokens", "all_threads"})
    ->ArgsProduct({{512, 4096, 16384}, {1}, {0, 1}})
    ->ArgsProduct({{512, 4096, 16384}, {4}, {0}})
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
