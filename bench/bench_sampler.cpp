// The sampler over a Gemma3 vocabulary (262144 logits): the time per token that
// sampling adds to a decode step, for the parameter sets people use.
//   gmg-bench-sampler [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "lib/runtime/sampler.h"

namespace {

const std::vector<float>& vocabulary_logits() {
    static const std::vector<float> logits = [] {
        std::mt19937 rng(1);
        std::normal_distribution<float> d(0.0f, 3.0f);  // flatter than a model's: top-p keeps thousands
        std::vector<float> l(262144);
        for (auto& x : l) x = d(rng);
        return l;
    }();
    return logits;
}

void sample(benchmark::State& state, gmg::SamplerParams p) {
    const auto& logits = vocabulary_logits();
    const std::vector<gmg::TokenId> history(64, 5);
    gmg::Sampler s(p);
    for (auto _ : state) benchmark::DoNotOptimize(s.sample(logits, history));
}

gmg::SamplerParams with(int32_t top_k, float top_p, float min_p, float repeat_penalty = 1.0f) {
    gmg::SamplerParams p;
    p.top_k = top_k, p.top_p = top_p, p.min_p = min_p, p.repeat_penalty = repeat_penalty;
    return p;
}

BENCHMARK_CAPTURE(sample, defaults_k40, with(40, 0.95f, 0.05f))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(sample, k40_repeat_penalty, with(40, 0.95f, 0.05f, 1.1f))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(sample, no_top_k_top_p, with(0, 0.95f, 0.05f))->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(sample, temperature_only, with(0, 1.0f, 0.0f))->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
