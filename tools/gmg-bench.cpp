// gmg-bench -m FILE [-p 512] [-n 128] [-t THREADS] [-r REPS] [-b BATCH] [--isa NAME] [--no-repack] [-o md|json | --json]
// llama-bench's two measures on one model: pp (prompt processing: one decode of
// -p tokens from an empty cache, logits for the last) and tg (text generation:
// -n single-token decodes from an empty cache). One untimed warm-up run each,
// then REPS timed runs; tokens/s as mean +/- sample stddev. JSON output uses
// llama-bench's field names so tools that read its results read ours.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <omp.h>
#include <fmt/format.h>

#include "cli_common.h"
#include "lib/model/gemma3_model.h"
#include "lib/runtime/gemma3_context.h"

namespace {

const char* kTool = "gmg-bench";

struct Result {
    std::string test;
    int n_prompt = 0, n_gen = 0;
    std::vector<double> ns;  // per timed run
    double avg_ts() const { return mean(ts()); }
    double stddev_ts() const { return stddev(ts()); }
    std::vector<double> ts() const {
        std::vector<double> v;
        for (double t : ns) v.push_back(1e9 * (n_prompt + n_gen) / t);
        return v;
    }
    static double mean(const std::vector<double>& v) {
        double s = 0;
        for (double x : v) s += x;
        return v.empty() ? 0 : s / static_cast<double>(v.size());
    }
    static double stddev(const std::vector<double>& v) {
        if (v.size() < 2) return 0;
        const double m = mean(v);
        double s = 0;
        for (double x : v) s += (x - m) * (x - m);
        return std::sqrt(s / static_cast<double>(v.size() - 1));
    }
};

void check(const gmg::Status& s) {
    if (!s.ok()) cli::die(kTool, s.message());
}

// Deterministic token ids spread over the vocabulary (never BOS/EOS-dependent).
std::vector<gmg::TokenId> tokens(int n, int64_t n_vocab, uint64_t seed) {
    std::vector<gmg::TokenId> t(static_cast<size_t>(n));
    for (auto& id : t) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        id = static_cast<gmg::TokenId>((seed >> 33) % static_cast<uint64_t>(n_vocab));
    }
    return t;
}

// Fills the first `depth` positions (untimed), as llama-bench's -d does.
void fill_depth(gmg::Gemma3Context& ctx, int depth, int64_t n_vocab) {
    ctx.reset();
    std::vector<float> logits;
    if (depth > 0) check(ctx.decode(tokens(depth, n_vocab, 7), false, &logits));
}

// One timed test after `depth` cached positions: back to that depth (a rewind
// when the sliding-window rings allow it, else a fresh fill), then the timed part.
double run_once(gmg::Gemma3Context& ctx, int depth, int n_prompt, int n_gen, int64_t n_vocab, uint64_t seed) {
    if (depth == 0 || !ctx.truncate(depth).ok()) fill_depth(ctx, depth, n_vocab);
    std::vector<float> logits;
    const auto t0 = std::chrono::steady_clock::now();
    if (n_prompt > 0) check(ctx.decode(tokens(n_prompt, n_vocab, seed), false, &logits));
    const auto gen = tokens(n_gen, n_vocab, seed + 1);
    for (int i = 0; i < n_gen; ++i) check(ctx.decode({&gen[static_cast<size_t>(i)], 1}, false, &logits));
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
}

// Resident bytes now (/proc/self/statm), 0 where unavailable.
uint64_t rss_bytes() {
    FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long long size = 0, resident = 0;
    const int n = std::fscanf(f, "%llu %llu", &size, &resident);
    std::fclose(f);
    return n == 2 ? resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

uint64_t peak_rss_bytes() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<uint64_t>(u.ru_maxrss) * 1024;
}

std::string json_escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        o += c;
    }
    return o;
}

std::string cpu_name() {
    FILE* f = std::fopen("/proc/cpuinfo", "r");
    if (!f) return "unknown";
    char line[512];
    std::string name = "unknown";
    while (std::fgets(line, sizeof line, f)) {
        std::string l = line;
        if (l.rfind("model name", 0) == 0) {
            name = l.substr(l.find(':') + 2);
            if (!name.empty() && name.back() == '\n') name.pop_back();
            break;
        }
    }
    std::fclose(f);
    return name;
}

}  // namespace

int main(int argc, char** argv) {
    std::string path, output = "md";
    int n_prompt = 512, n_gen = 128, threads = 0, reps = 5, n_batch = 512, depth = 0;
    std::optional<gmg::cpu::Isa> isa;
    bool repack = true;
    int ngl = 0, main_gpu = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto v = [&] { return cli::option_value(kTool, argc, argv, i); };
        // Token counts: 0 .. 2^24 (larger values would not fit any context, nor an int once summed).
        auto count = [&](const char* flag) {
            const long x = cli::parse_int(kTool, flag, v());
            if (x < 0 || x > (1L << 24)) cli::die(kTool, fmt::format("{} must be between 0 and {}", flag, 1L << 24), 2);
            return static_cast<int>(x);
        };
        if (a == "-m" || a == "--model") path = v();
        else if (a == "-p" || a == "--n-prompt") n_prompt = count("-p");
        else if (a == "-n" || a == "--n-gen") n_gen = count("-n");
        else if (a == "-t" || a == "--threads") threads = static_cast<int>(cli::parse_int(kTool, "-t", v()));
        else if (a == "-r" || a == "--repetitions") reps = static_cast<int>(cli::parse_int(kTool, "-r", v()));
        else if (a == "-b" || a == "--batch-size") n_batch = static_cast<int>(cli::parse_int(kTool, "-b", v()));
        else if (a == "-d" || a == "--n-depth") depth = count("-d");
        else if (a == "-o" || a == "--output") output = v();
        else if (a == "--json") output = "json";
        else if (a == "--no-repack") repack = false;
        else if (a == "-ngl" || a == "--n-gpu-layers") ngl = static_cast<int>(cli::parse_int(kTool, "-ngl", v()));
        else if (a == "-mg" || a == "--main-gpu") main_gpu = static_cast<int>(cli::parse_int(kTool, "-mg", v()));
        else if (a == "--isa") {
            const char* name = v();
            isa = gmg::cpu::isa_from_name(name);
            if (!isa) cli::die(kTool, fmt::format("--isa {}: not one of scalar, avx2, avx512, neon, neon_dotprod", name), 2);
        } else if (a == "-h" || a == "--help") {
            std::puts("usage: gmg-bench -m FILE [-p 512] [-n 128] [-d DEPTH] [-t THREADS] [-r REPS] [-b BATCH] [--isa scalar|avx2|avx512|neon|neon_dotprod]\n"
                      "                 [--no-repack] [-ngl N] [-mg N] [-o md|json] [--json]");
            return 0;
        } else cli::die(kTool, "unknown argument " + a, 2);
    }
    if (path.empty()) cli::die(kTool, "usage: gmg-bench -m FILE [-p N] [-n N] [-t THREADS] [-r REPS] [--json]", 2);
    if (n_prompt < 0 || n_gen < 0 || (n_prompt == 0 && n_gen == 0)) cli::die(kTool, "-p and -n must be >= 0, not both 0", 2);
    if (reps < 1) cli::die(kTool, "-r must be at least 1", 2);
    if (threads < 0) cli::die(kTool, "-t must not be negative", 2);
    if (output != "md" && output != "json") cli::die(kTool, "-o must be md or json", 2);
    if (threads == 0) threads = omp_get_max_threads();

    std::unique_ptr<gmg::Gemma3Model> model;
    gmg::Gemma3Model::Options mo;
    mo.prompt_repack = repack;
    mo.n_gpu_layers = ngl;
    mo.gpu_device = main_gpu;
    check(gmg::Gemma3Model::load(path, mo, &model));
    gmg::Gemma3Context::Options co;
    const int64_t n_ctx = static_cast<int64_t>(depth) + std::max(std::max(n_prompt, n_gen), 1);
    if (n_ctx > model->config().n_ctx_train)
        cli::die(kTool, fmt::format("-d + max(-p, -n) = {} exceeds the model's context of {}", n_ctx, model->config().n_ctx_train), 2);
    co.n_ctx = n_ctx;
    co.n_batch = std::max(1, std::min(n_batch, std::max({n_prompt, depth, 1})));
    co.n_threads = threads;
    co.isa = isa;
    std::unique_ptr<gmg::Gemma3Context> ctx;
    check(gmg::Gemma3Context::create(*model, co, &ctx));
    const int64_t V = model->config().n_vocab;

    uint64_t n_params = 0;
    for (const auto& t : model->file().tensors()) n_params += t.n_elements;
    const uint64_t size = model->weight_bytes();

    std::vector<Result> results;
    for (auto [p, n] : {std::pair{n_prompt, 0}, std::pair{0, n_gen}}) {
        if (p == 0 && n == 0) continue;
        Result r;
        r.test = p ? fmt::format("pp{}", p) : fmt::format("tg{}", n);
        if (depth > 0) r.test += fmt::format(" @ d{}", depth);
        r.n_prompt = p;
        r.n_gen = n;
        run_once(*ctx, depth, p, n, V, 1);  // warm-up: page in the weights, size the buffers
        for (int i = 0; i < reps; ++i) r.ns.push_back(run_once(*ctx, depth, p, n, V, 1 + static_cast<uint64_t>(i)));
        fmt::print(stderr, "{}: {} {:.2f} +/- {:.2f} t/s\n", kTool, r.test, r.avg_ts(), r.stddev_ts());
        results.push_back(r);
    }
    const std::string isa_name(gmg::cpu::isa_name(ctx->isa()));
    std::string gpu_name;
    if (model->gpu()) {
        gmg::gpu::DeviceInfo info;
        std::string err;
        gpu_name = gmg::gpu::device_info(model->gpu()->device(), &info, &err) ? info.name : "?";
    }
    const std::string backend = model->gpu() ? fmt::format("{} ({})", gmg::gpu::vendor(), gpu_name)
                                             : fmt::format("CPU ({})", isa_name);
    const std::string name = path.substr(path.find_last_of('/') + 1);
    if (output == "md") {
        fmt::print("| model | size | params | backend | threads | test | t/s |\n");
        fmt::print("| --- | ---: | ---: | --- | ---: | ---: | ---: |\n");
        for (const Result& r : results)
            fmt::print("| {} | {:.2f} GiB | {:.2f} B | {} | {} | {} | {:.2f} ± {:.2f} |\n", name,
                       static_cast<double>(size) / (1ull << 30), static_cast<double>(n_params) / 1e9, backend, threads,
                       r.test, r.avg_ts(), r.stddev_ts());
        fmt::print("\nresident memory: {:.1f} MiB at the end, {:.1f} MiB peak (weights {:.1f} MiB in the file, KV cache {:.1f} MiB)\n",
                   static_cast<double>(rss_bytes()) / (1 << 20), static_cast<double>(peak_rss_bytes()) / (1 << 20),
                   static_cast<double>(size) / (1 << 20), static_cast<double>(ctx->cache_bytes()) / (1 << 20));
        return 0;
    }
    fmt::print("[\n");
    for (size_t i = 0; i < results.size(); ++i) {
        const Result& r = results[i];
        auto list = [](const std::vector<double>& v, bool integer) {
            std::string s;
            for (size_t j = 0; j < v.size(); ++j)
                s += (j ? ", " : "") + (integer ? fmt::format("{}", static_cast<uint64_t>(v[j])) : fmt::format("{:.6f}", v[j]));
            return "[" + s + "]";
        };
        fmt::print(
            "  {{\n"
            "    \"build_commit\": \"gemmagguf\",\n    \"cpu_info\": \"{}\",\n    \"gpu_info\": \"{}\",\n"
            "    \"backends\": \"{}\",\n    \"isa\": \"{}\",\n    \"model_filename\": \"{}\",\n"
            "    \"model_type\": \"gemma3 {}\",\n    \"model_size\": {},\n    \"model_n_params\": {},\n"
            "    \"n_batch\": {},\n    \"n_ubatch\": {},\n    \"n_threads\": {},\n    \"type_k\": \"f16\",\n"
            "    \"type_v\": \"f16\",\n    \"n_gpu_layers\": {},\n    \"flash_attn\": false,\n"
            "    \"n_prompt\": {},\n    \"n_gen\": {},\n    \"n_depth\": {},\n    \"test\": \"{}\",\n"
            "    \"avg_ns\": {},\n    \"stddev_ns\": {},\n    \"avg_ts\": {:.6f},\n    \"stddev_ts\": {:.6f},\n"
            "    \"samples_ns\": {},\n    \"samples_ts\": {},\n    \"peak_rss_bytes\": {},\n    \"rss_bytes\": {},\n"
            "    \"kv_cache_bytes\": {}\n  }}{}\n",
            json_escape(cpu_name()), json_escape(gpu_name), model->gpu() ? gmg::gpu::vendor() : "CPU", isa_name,
            json_escape(path), json_escape(name), size, n_params, co.n_batch, co.n_batch, threads,
            model->gpu() ? model->config().n_layer : 0, r.n_prompt, r.n_gen, depth, r.test, static_cast<uint64_t>(Result::mean(r.ns)),
            static_cast<uint64_t>(Result::stddev(r.ns)), r.avg_ts(), r.stddev_ts(), list(r.ns, true), list(r.ts(), false),
            peak_rss_bytes(), rss_bytes(), ctx->cache_bytes(), i + 1 < results.size() ? "," : "");
    }
    fmt::print("]\n");
    return 0;
}
