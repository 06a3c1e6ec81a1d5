// gmg-run: generate text with a Gemma3 GGUF. Only the generated text goes to
// stdout; logs and timings go to stderr.
//
//   gmg-run -m FILE -p TEXT [-n N] [--chat] [--temp T] [--top-k K] [--top-p P]
//           [--min-p P] [--repeat-penalty R] [--seed S] [-t THREADS] [-c CTX]
//           [--dump-logits OUT]
//
// Without -p: an interactive chat when stdin is a terminal, else the prompt is read from stdin.
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "cli_common.h"

namespace {

const char* kTool = "gmg-run";

struct Args {
    std::string model, prompt, dump_logits;
    bool have_prompt = false, chat = false, verbose = false;
    int n_predict = 128, threads = 0, n_ctx = 4096;
    gmg_sampler_params sampler;
    gmg_model_params model_params;
};

[[noreturn]] void usage(int code) {
    std::fputs(
        "usage: gmg-run -m FILE [-p TEXT] [options]\n"
        "  -m, --model FILE      GGUF model\n"
        "  -p, --prompt TEXT     prompt (without it: interactive chat on a terminal, else read stdin)\n"
        "  -f, --file FILE       read the prompt from FILE\n"
        "  -n, --n-predict N     tokens to generate (default 128; -1 = until the context is full)\n"
        "  --chat                wrap the prompt in the Gemma chat template\n"
        "  --temp T              temperature (default 0.8; 0 = greedy)\n"
        "  --top-k K, --top-p P, --min-p P, --repeat-penalty R, --repeat-last-n N,\n"
        "  --presence-penalty P, --frequency-penalty P\n"
        "  --seed S              sampling seed (default: random, printed on stderr)\n"
        "  -t, --threads N       threads (default: all cores)\n"
        "  -c, --ctx-size N      context length (default 4096; 0 = the model's maximum)\n"
        "  --dump-logits OUT     write float32 logits of every prompt position, [n_prompt][n_vocab]\n",
        code ? stderr : stdout);
    std::fputs(cli::kGpuUsage, code ? stderr : stdout);
    std::exit(code);
}

Args parse(int argc, char** argv) {
    Args a;
    gmg_sampler_params_init(&a.sampler);
    gmg_model_params_init(&a.model_params);
    a.sampler.seed = std::random_device{}();
    for (int i = 1; i < argc; ++i) {
        const std::string s = argv[i];
        auto v = [&] { return cli::option_value(kTool, argc, argv, i); };
        if (s == "-m" || s == "--model") a.model = v();
        else if (s == "-p" || s == "--prompt") a.prompt = v(), a.have_prompt = true;
        else if (s == "-f" || s == "--file") a.prompt = cli::read_file(kTool, v()), a.have_prompt = true;
        else if (s == "-n" || s == "--n-predict") a.n_predict = static_cast<int>(cli::parse_int(kTool, "-n", v()));
        else if (s == "--chat") a.chat = true;
        else if (s == "--temp") a.sampler.temperature = cli::parse_float(kTool, "--temp", v());
        else if (s == "--top-k") a.sampler.top_k = static_cast<int32_t>(cli::parse_int(kTool, "--top-k", v()));
        else if (s == "--top-p") a.sampler.top_p = cli::parse_float(kTool, "--top-p", v());
        else if (s == "--min-p") a.sampler.min_p = cli::parse_float(kTool, "--min-p", v());
        else if (s == "--repeat-penalty") a.sampler.repeat_penalty = cli::parse_float(kTool, s.c_str(), v());
        else if (s == "--repeat-last-n") a.sampler.repeat_last_n = static_cast<int32_t>(cli::parse_int(kTool, s.c_str(), v()));
        else if (s == "--presence-penalty") a.sampler.presence_penalty = cli::parse_float(kTool, s.c_str(), v());
        else if (s == "--frequency-penalty") a.sampler.frequency_penalty = cli::parse_float(kTool, s.c_str(), v());
        else if (s == "--seed") a.sampler.seed = static_cast<uint64_t>(cli::parse_int(kTool, "--seed", v()));
        else if (s == "-t" || s == "--threads") a.threads = static_cast<int>(cli::parse_int(kTool, "-t", v()));
        else if (s == "-c" || s == "--ctx-size") a.n_ctx = static_cast<int>(cli::parse_int(kTool, "-c", v()));
        else if (s == "--dump-logits") a.dump_logits = v();
        else if (cli::gpu_option(kTool, argc, argv, i, &a.model_params)) continue;
        else if (s == "-v" || s == "--verbose") a.verbose = true;
        else if (s == "-h" || s == "--help") usage(0);
        else cli::die(kTool, "unknown argument " + s + " (see --help)", 2);
    }
    if (a.model.empty()) usage(2);
    if (a.threads < 0) cli::die(kTool, "-t must not be negative", 2);
    return a;
}

int print_piece(const char* piece, size_t len, void*) {
    std::fwrite(piece, 1, len, stdout);
    std::fflush(stdout);
    return 0;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One user turn of the chat template, ending with the model's turn opener.
std::string user_turn(const std::string& content) {
    const char* roles[] = {"user"};
    const char* contents[] = {content.c_str()};
    size_t len = 0;
    const gmg_status sized = gmg_chat_format(roles, contents, 1, 1, nullptr, 0, &len);  // asks for the length
    if (sized != GMG_ERR_BUFFER_TOO_SMALL) cli::check(kTool, sized);
    std::string turn(len + 1, '\0');
    cli::check(kTool, gmg_chat_format(roles, contents, 1, 1, turn.data(), turn.size(), &len));
    turn.resize(len);
    return turn;
}

// Decodes the prompt keeping every position's logits and writes them out.
void dump_prompt_logits(gmg_context* ctx, gmg_model* model, const Args& a, const std::string& text) {
    const std::vector<gmg_token> ids = cli::tokenize(kTool, model, text, 1, a.chat);
    const size_t n = ids.size();
    gmg_model_info info;
    cli::check(kTool, gmg_model_get_info(model, &info));
    cli::check(kTool, gmg_decode(ctx, ids.data(), n, 1));
    FILE* out = std::fopen(a.dump_logits.c_str(), "wb");
    if (!out) cli::die(kTool, "cannot write " + a.dump_logits);
    for (size_t i = 0; i < n; ++i) {
        const float* row = nullptr;
        cli::check(kTool, gmg_get_logits(ctx, static_cast<int32_t>(i), &row));
        if (std::fwrite(row, sizeof(float), static_cast<size_t>(info.n_vocab), out) != static_cast<size_t>(info.n_vocab))
            cli::die(kTool, "write to " + a.dump_logits + " failed");
    }
    if (std::fclose(out) != 0) cli::die(kTool, "write to " + a.dump_logits + " failed");
    std::fprintf(stderr, "%s: wrote logits of %zu prompt positions to %s\n", kTool, n, a.dump_logits.c_str());
}

void interactive(gmg_context* ctx, const Args& a) {
    gmg_generate_params gp;
    gmg_generate_params_init(&gp);
    gp.n_predict = a.n_predict;
    gp.sampler = a.sampler;
    gp.parse_special = 1;
    std::fprintf(stderr, "%s: chat mode; an empty line or Ctrl-D ends it\n", kTool);
    bool first = true;
    std::string line;
    while (true) {
        std::fprintf(stderr, "\n> ");
        if (!std::getline(std::cin, line) || line.empty()) break;
        std::string turn = user_turn(line);
        // The model's end-of-turn token ends generation without entering the cache: close its turn.
        if (!first) turn = "<end_of_turn>\n" + turn;
        first = false;
        int32_t produced = 0;
        const gmg_status s = gmg_generate(ctx, turn.c_str(), &gp, print_piece, nullptr, &produced);
        std::printf("\n");
        if (s == GMG_ERR_CONTEXT_FULL) {
            std::fprintf(stderr, "%s: the context is full; starting a new conversation\n", kTool);
            gmg_context_reset(ctx);
            first = true;
        } else {
            cli::check(kTool, s);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    Args a = parse(argc, argv);
    const auto t_load = std::chrono::steady_clock::now();
    gmg_model_params mp = a.model_params;
    mp.n_threads = a.threads;
    gmg_model* model = nullptr;
    cli::check(kTool, gmg_model_load(a.model.c_str(), &mp, &model));
    gmg_context_params cp;
    gmg_context_params_init(&cp);
    cp.n_ctx = a.n_ctx;
    cp.n_threads = a.threads;
    gmg_context* ctx = nullptr;
    cli::check(kTool, gmg_context_create(model, &cp, &ctx));
    uint64_t cache = 0;
    gmg_context_cache_bytes(ctx, &cache);
    std::fprintf(stderr, "%s: loaded %s in %.2f s; KV cache %.1f MiB; seed %llu\n", kTool, a.model.c_str(),
                 seconds_since(t_load), static_cast<double>(cache) / (1 << 20),
                 static_cast<unsigned long long>(a.sampler.seed));

    if (!a.have_prompt) {
        if (isatty(STDIN_FILENO)) {
            interactive(ctx, a);
            gmg_context_free(ctx);
            gmg_model_free(model);
            return 0;
        }
        a.prompt.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    }
    std::string text = a.prompt;
    gmg_generate_params gp;
    gmg_generate_params_init(&gp);
    gp.n_predict = a.n_predict;
    gp.chat = a.chat;
    gp.sampler = a.sampler;
    const auto t0 = std::chrono::steady_clock::now();
    if (!a.dump_logits.empty()) {
        if (a.chat) text = user_turn(text);
        dump_prompt_logits(ctx, model, a, text);
        text.clear();  // generation continues from the dumped prompt
    }
    int32_t n_prompt = 0;
    int32_t produced = 0;
    const gmg_status s = gmg_generate(ctx, text.c_str(), &gp, print_piece, nullptr, &produced);
    gmg_context_n_past(ctx, &n_prompt);
    std::printf("\n");
    const double dt = seconds_since(t0);
    std::fprintf(stderr, "%s: %d positions evaluated, %d tokens generated in %.2f s (%.2f tokens/s overall)\n", kTool,
                 n_prompt, produced, dt, dt > 0 ? (n_prompt + produced) / dt : 0.0);
    if (s != GMG_OK) cli::die(kTool, gmg_last_error());
    gmg_context_free(ctx);
    gmg_model_free(model);
    return 0;
}
