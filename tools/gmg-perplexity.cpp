// gmg-perplexity -m FILE -f TEXT [-c CTX] [--chunks N] [-t THREADS] [-ngl N]
// llama.cpp's method: split the tokenized text into windows of CTX tokens (the
// first of each replaced by BOS), evaluate each window from an empty cache, and
// score only the second half of each window, so every scored token has at
// least CTX/2 tokens of context. The last line reads "PPL = <value> +/- <err>".
#include <cmath>
#include <string>
#include <vector>

#include "cli_common.h"

int main(int argc, char** argv) {
    const char* tool = "gmg-perplexity";
    std::string model_path, text_path;
    int n_ctx = 512, threads = 0;
    long max_chunks = -1;
    gmg_model_params mp;
    gmg_model_params_init(&mp);
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto v = [&] { return cli::option_value(tool, argc, argv, i); };
        if (a == "-m" || a == "--model") model_path = v();
        else if (a == "-f" || a == "--file") text_path = v();
        else if (a == "-c" || a == "--ctx-size") n_ctx = static_cast<int>(cli::parse_int(tool, "-c", v()));
        else if (a == "-t" || a == "--threads") threads = static_cast<int>(cli::parse_int(tool, "-t", v()));
        else if (a == "--chunks") max_chunks = cli::parse_int(tool, "--chunks", v());
        else if (cli::gpu_option(tool, argc, argv, i, &mp)) continue;
        else if (a == "-h" || a == "--help") {
            std::printf("usage: gmg-perplexity -m FILE -f TEXT [-c CTX (default 512)] [--chunks N (default: all)] [-t THREADS]\n%s",
                        cli::kGpuUsage);
            return 0;
        } else cli::die(tool, "unknown argument " + a, 2);
    }
    if (model_path.empty() || text_path.empty()) cli::die(tool, "usage: gmg-perplexity -m FILE -f TEXT [-c CTX] [-t THREADS]", 2);
    if (n_ctx < 4) cli::die(tool, "-c must be at least 4", 2);
    if (threads < 0) cli::die(tool, "-t must not be negative", 2);
    const std::string text = cli::read_file(tool, text_path);

    mp.n_threads = threads;
    gmg_model* model = nullptr;
    cli::check(tool, gmg_model_load(model_path.c_str(), &mp, &model));
    gmg_model_info info;
    cli::check(tool, gmg_model_get_info(model, &info));
    const std::vector<gmg_token> tokens = cli::tokenize(tool, model, text, 1, 0);
    const size_t n_tokens = tokens.size();
    size_t n_chunks = n_tokens / static_cast<size_t>(n_ctx);
    if (max_chunks >= 0 && static_cast<size_t>(max_chunks) < n_chunks) n_chunks = static_cast<size_t>(max_chunks);
    if (n_chunks == 0)
        cli::die(tool, "the text has " + std::to_string(n_tokens) + " tokens, fewer than one window of " + std::to_string(n_ctx));

    gmg_context_params cp;
    gmg_context_params_init(&cp);
    cp.n_ctx = n_ctx;
    cp.n_batch = n_ctx;
    cp.n_threads = threads;
    gmg_context* ctx = nullptr;
    cli::check(tool, gmg_context_create(model, &cp, &ctx));
    std::fprintf(stderr, "%s: %zu tokens, %zu windows of %d\n", tool, n_tokens, n_chunks, n_ctx);

    double nll = 0.0, nll2 = 0.0;
    size_t count = 0;
    const int first = n_ctx / 2;
    for (size_t c = 0; c < n_chunks; ++c) {
        std::vector<gmg_token> window(tokens.begin() + static_cast<long>(c * n_ctx),
                                      tokens.begin() + static_cast<long>((c + 1) * n_ctx));
        window[0] = info.bos;
        cli::check(tool, gmg_context_reset(ctx));
        cli::check(tool, gmg_decode(ctx, window.data(), window.size(), 1));
        for (int i = first; i < n_ctx - 1; ++i) {
            const float* logits = nullptr;
            cli::check(tool, gmg_get_logits(ctx, i, &logits));
            float max = logits[0];
            for (int v = 1; v < info.n_vocab; ++v) max = std::fmax(max, logits[v]);
            double sum = 0.0;
            for (int v = 0; v < info.n_vocab; ++v) sum += std::exp(static_cast<double>(logits[v]) - max);
            const double logprob = static_cast<double>(logits[window[static_cast<size_t>(i) + 1]]) - max - std::log(sum);
            nll -= logprob;
            nll2 += logprob * logprob;
            ++count;
        }
        std::fprintf(stderr, "[%zu] running PPL %.4f\n", c + 1, std::exp(nll / static_cast<double>(count)));
    }
    const double mean = nll / static_cast<double>(count);
    const double ppl = std::exp(mean);
    double var = nll2 / static_cast<double>(count) - mean * mean;
    const double err = var > 0 && count > 1 ? std::sqrt(var / static_cast<double>(count - 1)) * ppl : 0.0;
    std::printf("PPL = %.4f +/- %.5f\n", ppl, err);
    gmg_context_free(ctx);
    gmg_model_free(model);
    return 0;
}
