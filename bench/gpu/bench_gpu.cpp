// gmg-bench-gpu [--quick] [--types T1,T2,...]
// The GPU kernels at Gemma3-1B shapes against the device's measured ceilings:
//   - copy bandwidth: a device-to-device copy of 2 GiB, bytes read plus written;
//   - mat-vec (decode, one column) per weight type: weight bytes read per second,
//     over enough weight copies to defeat the L2 cache, as a share of the copy rate;
//   - integer tensor-core rate: mma.m16n8k16 on register operands, every SM busy;
//   - mat-mat (prompt, 512 columns): arithmetic rate in TFLOP/s (2 per weight per column),
//     on the dp4a kernels (GMG_GPU_MMA=0), on the integer tensor cores (what prompts
//     take where present) as a share of their measured rate, and on the f16 tensor-core
//     path (GMG_GPU_TENSOR=1);
//   - attention over a 4096- and a 32768-position f16 cache (decode), one block per head
//     and split across blocks: cache bytes read per second; a 512-token prompt's
//     attention, one block per row and in tiles: multiply-adds per second.
// Device events around each region, warm-up first, median of the repetitions.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "kernels/gpu/gpu_backend.h"
#include "kernels/gpu/split_attention.h"
#include "tests/support/random_blocks.h"

using namespace gmg;

namespace {

gpu::Stream g_stream;

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "gmg-bench-gpu: error: %s\n", msg.c_str());
    std::exit(1);
}

void check() {
    std::string err;
    if (!g_stream.sync(&err)) die(err);
}

gpu::DeviceBuffer alloc(size_t bytes) {
    gpu::DeviceBuffer b;
    std::string err;
    if (!b.allocate(bytes, &err)) die(err);
    return b;
}

// Median device milliseconds of `reps` runs of f, after two warm-up runs.
template <class F>
double median_ms(int reps, F&& f) {
    gpu::Timer timer;
    for (int i = 0; i < 2; ++i) f(i);
    std::vector<double> ms;
    for (int i = 0; i < reps; ++i) {
        timer.start(g_stream);
        f(i);
        ms.push_back(timer.stop_ms(g_stream));
    }
    check();
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

struct Shape {
    const char* name;
    int64_t rows, cols;
};

}  // namespace

int main(int argc, char** argv) {
    bool quick = false;
    std::string type_list = "Q4_0,Q4_1,Q5_0,Q5_1,Q8_0,IQ4_NL,Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,IQ4_XS,IQ3_XXS,IQ3_S,IQ2_XXS,"
                            "IQ2_XS,IQ2_S,IQ1_S,IQ1_M,TQ1_0,TQ2_0,MXFP4,BF16,F16,F32";
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--quick") quick = true;
        else if (a == "--types" && i + 1 < argc) type_list = argv[++i];
        else if (a == "-h" || a == "--help") {
            std::puts("usage: gmg-bench-gpu [--quick] [--types Q4_K,Q8_0,...]");
            return 0;
        } else die("unknown argument " + a);
    }
    std::string err;
    if (!g_stream.create(0, &err)) die(err);
    gpu::DeviceInfo info;
    if (!gpu::device_info(0, &info, &err)) die(err);
    std::printf("device: %s %s, compute %d.%d, %d multiprocessors, %.1f GiB\n", gpu::vendor(), info.name.c_str(),
                info.major, info.minor, info.multiprocessors, static_cast<double>(info.memory_bytes) / (1ull << 30));

    // Ceiling: copy bandwidth.
    const size_t copy_bytes = size_t{2} << 30;
    gpu::DeviceBuffer a = alloc(copy_bytes), b = alloc(copy_bytes);
    g_stream.zero(a.data(), copy_bytes);
    const double copy_ms = median_ms(quick ? 5 : 10, [&](int) { gpu::copy_device(g_stream, b.data(), a.data(), copy_bytes); });
    const double copy_gbs = 2.0 * static_cast<double>(copy_bytes) / (copy_ms * 1e-3) / 1e9;
    std::printf("copy bandwidth (read + write): %.0f GB/s\n\n", copy_gbs);
    a = gpu::DeviceBuffer();
    b = gpu::DeviceBuffer();

    // Ceiling: the integer tensor cores (8 blocks of 8 warps per multiprocessor).
    double mma_peak = 0.0;
    {
        const int blocks = 8 * std::max(1, info.multiprocessors), rounds = 8192;
        gpu::DeviceBuffer sink = alloc(static_cast<size_t>(blocks) * 256 * sizeof(int));
        double ops = 0.0;
        const double ms = median_ms(5, [&](int) { ops = gpu::mma_peak_launch(g_stream, blocks, rounds, sink.as<int>()); });
        if (ops > 0.0) {
            mma_peak = ops / (ms * 1e-3) / 1e12;
            std::printf("integer tensor cores (mma.m16n8k16 s8, register operands): %.0f TOP/s\n\n", mma_peak);
        }
    }

    const Shape shapes[] = {{"q 1152->1024", 1024, 1152},  {"k/v 1152->256", 256, 1152},
                            {"gate/up 1152->6912", 6912, 1152}, {"down 6912->1152", 1152, 6912},
                            {"lm_head 1152->262144", 262144, 1152}};
    std::mt19937 rng(1);
    std::printf("| type | shape | mat-vec GB/s | %% of copy | n=512 dp4a TFLOP/s | n=512 int8 mma TOP/s | %% of mma peak "
                "| n=512 f16 wmma TFLOP/s |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    std::stringstream list(type_list);
    for (std::string name; std::getline(list, name, ',');) {
        const auto type = type_from_name(name);
        if (!type || !gpu::has_matmul(*type)) {
            std::printf("| %s | (no GPU kernel) | | | | |\n", name.c_str());
            continue;
        }
        const gpu::ActRule rule = gpu::act_rule(*type);
        for (const Shape& sh : shapes) {
            if (quick && sh.rows == 262144 && *type != GgmlType::Q8_0) continue;
            const auto rb = row_bytes(*type, sh.cols);
            if (!rb || sh.cols % gpu::act_block(rule) != 0) continue;  // this type cannot hold such rows
            const size_t bytes = static_cast<size_t>(*rb) * static_cast<size_t>(sh.rows);
            // Copies enough to exceed the L2 several times over (at least 512 MiB read per sweep).
            const int copies = static_cast<int>(std::min<size_t>(64, std::max<size_t>(1, (size_t{512} << 20) / bytes)));
            const auto host = testing::random_rows(*type, sh.rows, sh.cols, rng);
            std::vector<gpu::DeviceBuffer> w;
            for (int c = 0; c < copies; ++c) {
                w.push_back(alloc(bytes));
                g_stream.upload(w.back().data(), host.data(), bytes);
            }
            check();
            const int64_t n_max = 512;
            gpu::DeviceBuffer x = alloc(static_cast<size_t>(n_max * sh.cols) * sizeof(float));
            std::vector<float> xs(static_cast<size_t>(n_max * sh.cols));
            std::normal_distribution<float> normal(0.0f, 1.0f);
            for (auto& v : xs) v = normal(rng);
            g_stream.upload(x.data(), xs.data(), xs.size() * sizeof(float));
            gpu::DeviceBuffer q = alloc(static_cast<size_t>(n_max * sh.cols));
            gpu::DeviceBuffer scale = alloc(static_cast<size_t>(n_max * sh.cols / 32 + 1) * sizeof(float));
            gpu::DeviceBuffer sum = alloc(static_cast<size_t>(n_max * sh.cols / 32 + 1) * sizeof(float));
            gpu::DeviceBuffer f = alloc(static_cast<size_t>(n_max * sh.cols) * sizeof(float));
            gpu::DeviceBuffer y = alloc(static_cast<size_t>(n_max * sh.rows) * sizeof(float));
            const gpu::ActRows act{q.as<int8_t>(), scale.as<float>(), f.as<float>(), sum.as<float>()};
            gpu::quantize_rows(g_stream, rule, x.as<float>(), n_max, sh.cols, act);
            auto weight = [&](int i) {
                return gpu::DeviceWeight{*type, w[static_cast<size_t>(i % copies)].data(), static_cast<size_t>(*rb), sh.rows, sh.cols};
            };
            const double mv_ms = median_ms(quick ? 20 : 50, [&](int i) { gpu::matmul(g_stream, weight(i), act, 1, y.as<float>(), sh.rows); });
            setenv("GMG_GPU_MMA", "0", 1);  // matmul's dp4a kernels
            const double mm_ms = median_ms(quick ? 3 : 10, [&](int i) { gpu::matmul(g_stream, weight(i), act, n_max, y.as<float>(), sh.rows); });
            unsetenv("GMG_GPU_MMA");
            const double flop = 2.0 * static_cast<double>(sh.rows * sh.cols * n_max);
            double mma_tops = 0.0;
            if (gpu::has_mma_matmul(g_stream, *type)) {
                const double ms = median_ms(quick ? 3 : 10, [&](int i) {
                    gpu::matmul_mma(g_stream, weight(i), act, n_max, y.as<float>(), sh.rows);
                });
                mma_tops = flop / (ms * 1e-3) / 1e12;
            }
            double tc_tflops = 0.0;
            if (gpu::has_tensor_matmul(g_stream, *type)) {
                gpu::DeviceBuffer xt = alloc(gpu::tensor_activation_bytes(n_max, sh.cols));
                gpu::to_tensor_activations(g_stream, x.as<float>(), n_max, sh.cols, xt.data());
                const double tc_ms = median_ms(quick ? 3 : 10, [&](int i) {
                    gpu::matmul_tensor(g_stream, weight(i), xt.data(), n_max, y.as<float>(), sh.rows);
                });
                tc_tflops = flop / (tc_ms * 1e-3) / 1e12;
            }
            const double gbs = static_cast<double>(bytes) / (mv_ms * 1e-3) / 1e9;
            std::printf("| %s | %s | %.0f | %.0f%% | %.1f | %.1f | %.0f%% | %.1f |\n", name.c_str(), sh.name, gbs,
                        100.0 * gbs / copy_gbs, flop / (mm_ms * 1e-3) / 1e12, mma_tops,
                        mma_peak > 0.0 ? 100.0 * mma_tops / mma_peak : 0.0, tc_tflops);
            std::fflush(stdout);
        }
    }

    // Attention: one decode query over a long f16 cache, Gemma3-1B heads (4 query
    // heads on one KV head of 256), one block per head against the keys split
    // across blocks (split_attention.h).
    // A K and a V cache of the shape's capacity, the same N(0, sigma) f16 values in both.
    auto random_cache = [&](const gpu::AttentionShape& at, float sigma) {
        const size_t elems = static_cast<size_t>(at.capacity * at.n_head_kv * at.head_dim);
        std::pair<gpu::DeviceBuffer, gpu::DeviceBuffer> kv{alloc(elems * 2), alloc(elems * 2)};
        std::vector<uint16_t> hc(elems);
        for (auto& v : hc) v = f32_to_f16(std::normal_distribution<float>(0.0f, sigma)(rng));
        g_stream.upload(kv.first.data(), hc.data(), elems * 2);
        g_stream.upload(kv.second.data(), hc.data(), elems * 2);
        return kv;
    };
    std::printf("\n| attention, one decode query | path | us | GB/s of K+V | %% of copy |\n|---|---|---:|---:|---:|\n");
    for (const int64_t positions : {int64_t{4096}, int64_t{32768}}) {
        gpu::AttentionShape at;
        at.n_head = 4, at.n_head_kv = 1, at.head_dim = 256, at.n_rot = 256, at.capacity = positions, at.window = 0;
        const size_t cache_elems = static_cast<size_t>(at.capacity * at.n_head_kv * at.head_dim);
        auto [kc, vc] = random_cache(at, 1.0f);
        gpu::DeviceBuffer qd = alloc(static_cast<size_t>(at.n_head * at.head_dim) * sizeof(float));
        gpu::DeviceBuffer od = alloc(static_cast<size_t>(at.n_head * at.head_dim) * sizeof(float));
        gpu::DeviceBuffer scratch = alloc(gpu::attention_scratch_bytes(at, 1));
        std::vector<float> qh(static_cast<size_t>(at.n_head * at.head_dim), 0.1f);
        g_stream.upload(qd.data(), qh.data(), qh.size() * sizeof(float));
        gpu::DeviceBuffer pos = alloc(sizeof(int32_t));
        const int32_t last = static_cast<int32_t>(at.capacity - 1);
        g_stream.upload(pos.data(), &last, sizeof last);
        for (const bool split : {false, true}) {
            const double att_ms = median_ms(quick ? 20 : 50, [&](int) {
                gpu::attention(g_stream, at, qd.as<float>(), kc.as<uint16_t>(), vc.as<uint16_t>(), od.as<float>(), 1,
                               pos.as<int32_t>(), split ? scratch.as<float>() : nullptr);
            });
            const double gbs = 2.0 * static_cast<double>(cache_elems * 2) / (att_ms * 1e-3) / 1e9;
            std::printf("| %lld positions | %s | %.1f | %.0f | %.1f%% |\n", static_cast<long long>(positions),
                        split ? "split" : "one block per head", att_ms * 1e3, gbs, 100.0 * gbs / copy_gbs);
        }
    }

    // Attention of a 512-token prompt, Gemma3-1B heads: its sliding-window layers
    // (window 512, the prompt after 512 cached positions) and a global layer at depth
    // 0 and 4096; one block per (head, token) against tiles of 16 rows sharing keys
    // (tiled_attention.h). Rate: the multiply-adds of q.k and p.v over the visible keys.
    std::printf("\n| attention, 512-token prompt | path | us | TFLOP/s |\n|---|---|---:|---:|\n");
    struct PromptCase {
        const char* name;
        int64_t window, depth;
    };
    for (const PromptCase pc : {PromptCase{"window 512, depth 512", 512, 512}, PromptCase{"global, depth 0", 0, 0},
                                PromptCase{"global, depth 4096", 0, 4096}}) {
        const int64_t n = 512;
        gpu::AttentionShape at;
        at.n_head = 4, at.n_head_kv = 1, at.head_dim = 256, at.n_rot = 256, at.window = pc.window;
        at.capacity = pc.window ? pc.window + n : pc.depth + n;
        auto [kc, vc] = random_cache(at, 0.3f);
        const size_t qn = static_cast<size_t>(n * at.n_head * at.head_dim);
        gpu::DeviceBuffer qd = alloc(qn * sizeof(float)), od = alloc(qn * sizeof(float));
        std::vector<float> qh(qn);
        for (auto& v : qh) v = std::normal_distribution<float>(0.0f, 0.3f)(rng);
        g_stream.upload(qd.data(), qh.data(), qn * sizeof(float));
        gpu::DeviceBuffer pos = alloc(sizeof(int32_t));
        const int32_t p0 = static_cast<int32_t>(pc.depth);
        g_stream.upload(pos.data(), &p0, sizeof p0);
        double keys = 0.0;  // visible (query, key) pairs per head
        for (int64_t t = 0; t < n; ++t) {
            int64_t lo, p;
            gpu::query_keys(at, pc.depth, t, &lo, &p);
            keys += static_cast<double>(p - lo + 1);
        }
        const double flop = 2.0 * 2.0 * keys * static_cast<double>(at.n_head * at.head_dim);
        for (const gpu::AttentionPath path : {gpu::AttentionPath::rows, gpu::AttentionPath::tiled}) {
            if (path == gpu::AttentionPath::tiled && !gpu::has_tiled_attention(g_stream, at)) continue;
            const double att_ms = median_ms(quick ? 5 : 20, [&](int) {
                gpu::attention(g_stream, at, qd.as<float>(), kc.as<uint16_t>(), vc.as<uint16_t>(), od.as<float>(), n,
                               pos.as<int32_t>(), nullptr, path);
            });
            std::printf("| %s | %s | %.1f | %.2f |\n", pc.name,
                        path == gpu::AttentionPath::tiled ? "tiled, 16 rows a block" : "one block per (head, token)",
                        att_ms * 1e3, flop / (att_ms * 1e-3) / 1e12);
        }
    }

    // The decode step's tails: the greedy argmax and the sampler's 64 candidates over a
    // 262144-logit row, and the activation quantizers at the widths decode quantizes.
    {
        const int64_t vocab = 262144;
        std::vector<float> row(static_cast<size_t>(vocab));
        for (auto& v : row) v = std::normal_distribution<float>(0.0f, 3.0f)(rng);
        gpu::DeviceBuffer xd = alloc(row.size() * sizeof(float)), best = alloc(sizeof(int32_t));
        gpu::DeviceBuffer scratch = alloc(gpu::top_candidates_scratch_bytes(vocab)), keys = alloc(gpu::kTopCandidates * 8);
        g_stream.upload(xd.data(), row.data(), row.size() * sizeof(float));
        const double argmax_ms = median_ms(quick ? 20 : 50, [&](int) {
            gpu::argmax_rows(g_stream, xd.as<float>(), 1, vocab, best.as<int32_t>());
        });
        const double top_ms = median_ms(quick ? 20 : 50, [&](int) {
            gpu::top_candidates(g_stream, xd.as<float>(), vocab, scratch.as<uint64_t>(), keys.as<uint64_t>());
        });
        std::printf("\n262144 logits: argmax %.1f us, best 64 candidates %.1f us\n", argmax_ms * 1e3, top_ms * 1e3);
        std::printf("\n| quantize one row | width | us |\n|---|---:|---:|\n");
        const int64_t widest = 6912;
        gpu::DeviceBuffer q = alloc(widest), scale = alloc(widest / 32 * sizeof(float)), sum = alloc(widest / 32 * sizeof(float));
        const gpu::ActRows act{q.as<int8_t>(), scale.as<float>(), nullptr, sum.as<float>()};
        for (const auto& [rule, name] : {std::pair{gpu::ActRule::q8_0, "Q8_0"}, std::pair{gpu::ActRule::q8_K, "Q8_K"}})
            for (const int64_t width : {int64_t{1024}, int64_t{1152}, widest}) {
                if (width % gpu::act_block(rule) != 0) continue;
                const double ms = median_ms(quick ? 20 : 50, [&](int) { gpu::quantize_rows(g_stream, rule, xd.as<float>(), 1, width, act); });
                std::printf("| %s | %lld | %.1f |\n", name, static_cast<long long>(width), ms * 1e3);
            }
    }
    return 0;
}
