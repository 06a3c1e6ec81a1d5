// Small helpers shared by the gmg-* tools (argument parsing, errors). The tools
// use only the public C API, as an application would.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "gemmagguf/gemmagguf.h"

namespace cli {

[[noreturn]] inline void die(const char* tool, const std::string& msg, int code = 1) {
    std::fprintf(stderr, "%s: error: %s\n", tool, msg.c_str());
    std::exit(code);
}

inline void check(const char* tool, gmg_status s) {
    if (s != GMG_OK) die(tool, gmg_last_error());
}

// The value after option argv[i] (advancing i), or exit 2 naming the option.
inline const char* option_value(const char* tool, int argc, char** argv, int& i) {
    if (i + 1 >= argc) die(tool, std::string(argv[i]) + " needs a value", 2);
    return argv[++i];
}

inline long parse_int(const char* tool, const char* flag, const char* text) {
    char* end = nullptr;
    const long v = std::strtol(text, &end, 10);
    if (!text[0] || *end) die(tool, std::string("bad integer for ") + flag + ": '" + text + "'", 2);
    return v;
}

inline float parse_float(const char* tool, const char* flag, const char* text) {
    char* end = nullptr;
    const float v = std::strtof(text, &end);
    if (!text[0] || *end) die(tool, std::string("bad number for ") + flag + ": '" + text + "'", 2);
    return v;
}

// Text -> token ids through gmg_tokenize's buffer protocol (a second call with the
// count it asks for: a piece can be longer in tokens than in bytes).
inline gmg_status tokenize_into(const gmg_model* model, const std::string& text, int add_special, int parse_special,
                                std::vector<gmg_token>* ids) {
    ids->resize(text.size() + 2);
    size_t n = 0;
    gmg_status s = gmg_tokenize(model, text.data(), text.size(), add_special, parse_special, ids->data(), ids->size(), &n);
    if (s == GMG_ERR_BUFFER_TOO_SMALL) {
        ids->resize(n);
        s = gmg_tokenize(model, text.data(), text.size(), add_special, parse_special, ids->data(), ids->size(), &n);
    }
    ids->resize(s == GMG_OK ? n : 0);
    return s;
}
inline std::vector<gmg_token> tokenize(const char* tool, const gmg_model* model, const std::string& text,
                                       int add_special, int parse_special) {
    std::vector<gmg_token> ids;
    check(tool, tokenize_into(model, text, add_special, parse_special, &ids));
    return ids;
}
// Token ids -> text, the same protocol (a second call when the buffer was short).
inline gmg_status detokenize_into(const gmg_model* model, const gmg_token* ids, size_t n_ids, std::string* text) {
    text->assign(64, '\0');
    size_t n = 0;
    gmg_status s = gmg_detokenize(model, ids, n_ids, 0, text->data(), text->size(), &n);
    if (s == GMG_ERR_BUFFER_TOO_SMALL) {
        text->assign(n + 1, '\0');
        s = gmg_detokenize(model, ids, n_ids, 0, text->data(), text->size(), &n);
    }
    text->resize(s == GMG_OK ? n : 0);
    return s;
}

// -ngl/--n-gpu-layers N and -mg/--main-gpu N, as llama.cpp's tools spell them.
// True when argv[i] was one of them (its value consumed).
inline bool gpu_option(const char* tool, int argc, char** argv, int& i, gmg_model_params* mp) {
    const std::string a = argv[i];
    if (a == "-ngl" || a == "--n-gpu-layers" || a == "--gpu-layers")
        mp->n_gpu_layers = static_cast<int32_t>(parse_int(tool, "-ngl", option_value(tool, argc, argv, i)));
    else if (a == "-mg" || a == "--main-gpu")
        mp->gpu_device = static_cast<int32_t>(parse_int(tool, "-mg", option_value(tool, argc, argv, i)));
    else
        return false;
    return true;
}

inline constexpr const char* kGpuUsage =
    "  -ngl, --n-gpu-layers N  layers on the GPU: -1 or >= the layer count (e.g. 99) = the whole model; fewer: the\n"
    "                          last N layers and the LM head, the rest on the CPU (default 0: CPU)\n"
    "  -mg, --main-gpu N       which GPU (default 0)\n";

inline std::string read_file(const char* tool, const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) die(tool, "cannot read '" + path + "'");
    std::string s;
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    std::fclose(f);
    return s;
}

}  // namespace cli
