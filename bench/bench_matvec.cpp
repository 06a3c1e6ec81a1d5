// The kernel suite: read bandwidth of this machine, then for each weight type
// the quantized mat-vec at Gemma3-1B's shapes (decode: GB/s of weight bytes and
// the share of the measured read bandwidth) and the mat-mat at 512 columns
// (prefill: GFLOP/s, 2 flops per multiply-add). Threads: all cores (OMP_NUM_THREADS).
#include <benchmark/benchmark.h>

#include <omp.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <immintrin.h>


#include "kernels/cpu/matmul.h"
#include "tests/support/random_blocks.h"

namespace {

using gmg::GgmlType;

// Streams a buffer far larger than the caches through 256-bit loads on every
// thread (four independent accumulators each): a read-only stream like decode's
// weight reads, and the ceiling its bandwidth floor is computed against.
// Four streams per thread (quarters of its range), as a matvec reads several rows at once.
__attribute__((target("avx2"))) uint64_t sum_words(const uint64_t* p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    const size_t q = n / 4 & ~size_t{3};
    for (size_t i = 0; i + 4 <= q; i += 4) {
        a0 = _mm256_add_epi64(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + q + i)));
        a2 = _mm256_add_epi64(a2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2 * q + i)));
        a3 = _mm256_add_epi64(a3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 3 * q + i)));
    }
    alignas(32) uint64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)));
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

uint64_t parallel_sum(const std::vector<uint64_t>& buf) {
    uint64_t total = 0;
#pragma omp parallel reduction(+ : total)
    {
        const size_t t = static_cast<size_t>(omp_get_thread_num()), nt = static_cast<size_t>(omp_get_num_threads());
        const size_t per = (buf.size() / nt) & ~size_t{15};
        total += sum_words(buf.data() + t * per, per);
    }
    return total;
}

double probe_read_bandwidth(size_t bytes, int reps) {
    std::vector<uint64_t> buf(bytes / 8, 1);
    double best = 0;
    for (int r = 0; r < reps; ++r) {
        const double t0 = omp_get_wtime();
        benchmark::DoNotOptimize(parallel_sum(buf));
        best = std::max(best, static_cast<double>(bytes) / (omp_get_wtime() - t0));
    }
    return best;
}

double read_bandwidth() {
    static const double bw = probe_read_bandwidth(size_t{1} << 30, 8);
    return bw;
}

void BM_ReadBandwidth(benchmark::State& state) {
    std::vector<uint64_t> buf((size_t{1} << 30) / 8, 1);
    for (auto _ : state) benchmark::DoNotOptimize(parallel_sum(buf));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(buf.size() * 8));
}

// The int8 multiply-add ceiling of one core: eight independent vpdpbusd chains
// (512-bit when the CPU has AVX-512 VNNI, else 256-bit vpmaddubsw + vpmaddwd).
// Prompt processing's floor is its multiply-adds over this rate times the cores.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) int64_t int8_macs_avx512(int64_t iters) {
    __m512i acc[8];
    for (auto& a : acc) a = _mm512_setzero_si512();
    const __m512i u = _mm512_set1_epi8(3), s = _mm512_set1_epi8(-2);
    for (int64_t i = 0; i < iters; ++i)
        for (auto& a : acc) a = _mm512_dpbusd_epi32(a, u, s);
    for (auto& a : acc) benchmark::DoNotOptimize(a);
    return iters * 8 * 64;
}
__attribute__((target("avx2"))) int64_t int8_macs_avx2(int64_t iters) {
    __m256i acc[8];
    for (auto& a : acc) a = _mm256_setzero_si256();
    const __m256i u = _mm256_set1_epi8(3), s = _mm256_set1_epi8(-2), one = _mm256_set1_epi16(1);
    for (int64_t i = 0; i < iters; ++i)
        for (auto& a : acc) a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), one));
    for (auto& a : acc) benchmark::DoNotOptimize(a);
    return iters * 8 * 32;
}

void BM_PeakInt8(benchmark::State& state) {
    const bool vnni = gmg::cpu::active_isa() == gmg::cpu::Isa::avx512;
    int64_t macs = 0;
    for (auto _ : state) {
        int64_t total = 0;
#pragma omp parallel reduction(+ : total)
        total += vnni ? int8_macs_avx512(1 << 20) : int8_macs_avx2(1 << 20);
        macs += total;
    }
    state.counters["GOPS"] = benchmark::Counter(2.0 * static_cast<double>(macs) / 1e9, benchmark::Counter::kIsRate);
}

struct Problem {
    std::vector<uint8_t> weights, act;
    gmg::cpu::WeightView w;
    std::vector<float> y;
};

Problem make(GgmlType t, int64_t k, int64_t rows, int64_t n) {
    std::mt19937 rng(1);
    Problem p;
    p.weights = gmg::testing::random_rows(t, rows, k, rng);
    p.w = {t, p.weights.data(), static_cast<size_t>(*gmg::row_bytes(t, k)), rows, k};
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n * k));
    for (auto& v : x) v = normal(rng);
    const gmg::cpu::Isa isa = gmg::cpu::active_isa();
    p.act.resize(gmg::cpu::prepared_row_bytes(t, k, isa) * static_cast<size_t>(n));
    gmg::cpu::prepare_activations(t, isa, x.data(), n, k, p.act.data());
    p.y.resize(static_cast<size_t>(n * rows));
    return p;
}

// One product of n activation columns, through the direct kernels or through the
// repacked copy (as the model runs decode and prompts for every type that has
// one). Decode (n = 1) reports the weight bytes read per second and their share of
// the read bandwidth; prefill GFLOP/s, two operations per multiply-add as
// PeakInt8's GOPS counts them.
void BM_Product(benchmark::State& state, GgmlType t, int64_t k, int64_t rows, int64_t n, bool repacked) {
    Problem p = make(t, k, rows, n);
    const int threads = omp_get_max_threads();
    const gmg::cpu::Isa isa = gmg::cpu::active_isa();
    gmg::cpu::RepackedWeights packed;
    if (repacked && !gmg::cpu::repack(p.w, isa, threads, &packed)) {
        state.SkipWithError("no repacked layout for this type on this ISA");
        return;
    }
    for (auto _ : state) {
        if (repacked) gmg::cpu::matmul_repacked(packed, p.act.data(), nullptr, n, p.y.data(), rows, isa, threads);
        else gmg::cpu::matmul(p.w, p.act.data(), n, p.y.data(), rows, isa, threads);
        benchmark::ClobberMemory();
    }
    const auto iterations = static_cast<double>(state.iterations());
    if (n == 1) {
        const double bytes = static_cast<double>(repacked ? packed.data.size() : p.weights.size());
        state.SetBytesProcessed(static_cast<int64_t>(iterations * bytes));
        state.counters["pct_of_bw"] = benchmark::Counter(bytes * iterations / read_bandwidth() * 100, benchmark::Counter::kIsRate);
    } else {
        state.counters["GFLOP/s"] =
            benchmark::Counter(2.0 * static_cast<double>(k * rows * n) * iterations / 1e9, benchmark::Counter::kIsRate);
    }
}

int register_all() {
    const GgmlType types[] = {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                              GgmlType::IQ4_NL, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                              GgmlType::Q6_K, GgmlType::IQ4_XS, GgmlType::IQ3_XXS, GgmlType::IQ3_S, GgmlType::IQ2_XS,
                              GgmlType::BF16, GgmlType::F16, GgmlType::F32};
    // Gemma3-1B: q (1152->1024), k/v (1152->256), gate/up (1152->6912), down (6912->1152), LM head (1152->262144).
    const std::pair<int64_t, int64_t> shapes[] = {{1152, 1024}, {1152, 256}, {1152, 6912}, {6912, 1152}, {1152, 262144}};
    benchmark::RegisterBenchmark("ReadBandwidth", BM_ReadBandwidth)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark("PeakInt8", BM_PeakInt8)->Unit(benchmark::kMillisecond)->UseRealTime();
    for (GgmlType t : types) {
        const std::string name(gmg::traits_of(t).name);
        for (auto [k, rows] : shapes) {
            if (!gmg::row_bytes(t, k)) continue;  // 1152-wide rows exist only in 32-element formats
            const std::string shape = std::to_string(k) + "x" + std::to_string(rows);
            benchmark::RegisterBenchmark(("MatVec/" + name + "/" + shape).c_str(), BM_Product, t, k, rows, 1, false)
                ->Unit(benchmark::kMicrosecond)->UseRealTime();
            if (gmg::cpu::can_repack(t, gmg::cpu::active_isa()))
                benchmark::RegisterBenchmark(("MatVecRepacked/" + name + "/" + shape).c_str(), BM_Product, t, k, rows, 1, true)
                    ->Unit(benchmark::kMicrosecond)->UseRealTime();
        }
        const int64_t k = gmg::row_bytes(t, 1152) ? 1152 : 6912, rows = k == 1152 ? 6912 : 1152;
        const std::string shape = std::to_string(k) + "x" + std::to_string(rows);
        benchmark::RegisterBenchmark(("MatMat512/" + name + "/" + shape).c_str(), BM_Product, t, k, rows, 512, false)
            ->Unit(benchmark::kMillisecond)->UseRealTime();
        if (gmg::cpu::can_repack(t, gmg::cpu::active_isa()))
            benchmark::RegisterBenchmark(("MatMatRepacked512/" + name + "/" + shape).c_str(), BM_Product, t, k, rows, 512, true)
                ->Unit(benchmark::kMillisecond)->UseRealTime();
    }
    return 0;
}
const int registered = register_all();

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    benchmark::AddCustomContext("isa", std::string(gmg::cpu::isa_name(gmg::cpu::active_isa())));
    benchmark::AddCustomContext("read_bandwidth_GBps", std::to_string(read_bandwidth() / 1e9));
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
