// gmg-make-random-model OUT [--mix NAME] [--layers N] [--embd N] [--ff N] [--vocab N] [--seed S]
// Writes a Gemma3-shaped GGUF with random weights, in the tensor-type mix that
// llama.cpp's quantizer gives a Gemma3-1B file (read off the files that
// bench/make_bench_models.sh makes), with no Python and no llama.cpp: the GPU
// machine, which has neither, makes its benchmark and test models with it.
// Speed does not depend on the weight values; every block gets random bits with
// finite, moderate scales (tests/support/random_blocks.h).
//
// Mixes: Q4_K_M, Q8_0, IQ4_XS, BF16, or uniform:TYPE (every matrix TYPE, where a
// 256-element type cannot hold a 1152-wide row Q8_0 stands in, as llama.cpp's fallback does).
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kernels/common/ggml_type.h"
#include "tests/support/random_blocks.h"
#include "tests/unit/gguf_builder.h"
#include "tools/cli_common.h"

namespace {

const char* kTool = "gmg-make-random-model";

using gmg::GgmlType;

// llama.cpp's use_more_bits(layer, n): the first and last eighth and every third layer between.
bool more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

struct Mix {
    std::string name;
    GgmlType embd, q, k, v, o, gate, up, down;
};

Mix mix_for(const std::string& name, int64_t il, int64_t n_layer) {
    using T = GgmlType;
    if (name == "Q4_K_M")
        return {name, T::Q8_0, T::Q5_0, T::Q5_0, more_bits(il, n_layer) ? T::Q8_0 : T::Q5_0, T::Q4_K, T::Q5_0, T::Q5_0,
                more_bits(il, n_layer) ? T::Q6_K : T::Q4_K};
    if (name == "IQ4_XS")
        return {name, T::Q8_0, T::IQ4_NL, T::IQ4_NL, T::Q5_1, T::IQ4_XS, T::IQ4_NL, T::IQ4_NL,
                il < n_layer / 8 ? T::Q5_K : T::IQ4_XS};
    if (name == "Q8_0") return {name, T::Q8_0, T::Q8_0, T::Q8_0, T::Q8_0, T::Q8_0, T::Q8_0, T::Q8_0, T::Q8_0};
    if (name == "BF16") return {name, T::BF16, T::BF16, T::BF16, T::BF16, T::BF16, T::BF16, T::BF16, T::BF16};
    if (name.rfind("uniform:", 0) == 0) {
        const auto t = gmg::type_from_name(name.substr(8));
        if (!t || !gmg::traits_of(*t).weight_only) cli::die(kTool, "unknown weight type in --mix " + name, 2);
        return {name, *t, *t, *t, *t, *t, *t, *t, *t};
    }
    cli::die(kTool, "--mix must be Q4_K_M, Q8_0, IQ4_XS, BF16 or uniform:TYPE", 2);
}

// The type itself when cols is a whole number of its blocks, else Q8_0.
GgmlType fitting(GgmlType t, int64_t cols) {
    return gmg::row_bytes(t, cols) ? t : GgmlType::Q8_0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string out, mix = "Q4_K_M";
    int64_t n_layer = 26, E = 1152, F = 6912, V = 262144, n_head = 4, n_kv = 1, D = 256;
    uint64_t seed = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto v = [&] { return cli::option_value(kTool, argc, argv, i); };
        auto num = [&](const char* flag) { return cli::parse_int(kTool, flag, v()); };
        if (a == "--mix") mix = v();
        else if (a == "--layers") n_layer = num("--layers");
        else if (a == "--embd") E = num("--embd");
        else if (a == "--ff") F = num("--ff");
        else if (a == "--vocab") V = num("--vocab");
        else if (a == "--seed") seed = static_cast<uint64_t>(num("--seed"));
        else if (a == "-h" || a == "--help") {
            std::puts("usage: gmg-make-random-model OUT [--mix Q4_K_M|Q8_0|IQ4_XS|BF16|uniform:TYPE] [--layers 26]\n"
                      "                             [--embd 1152] [--ff 6912] [--vocab 262144] [--seed 1]");
            return 0;
        } else if (out.empty() && a[0] != '-') out = a;
        else cli::die(kTool, "unknown argument " + a, 2);
    }
    if (out.empty()) cli::die(kTool, "usage: gmg-make-random-model OUT [--mix NAME] (see --help)", 2);
    if (n_layer < 1 || E < 32 || E % 32 || F < 32 || F % 32 || V < 260) cli::die(kTool, "implausible shape", 2);

    std::mt19937 rng(static_cast<uint32_t>(seed));
    gmg::test::GgufBuilder b;
    constexpr uint32_t kU32 = 4, kF32 = 6, kBool = 7;
    b.string("general.architecture", "gemma3").string("general.name", "random-gemma3-" + mix);
    b.scalar<uint32_t>("gemma3.context_length", kU32, 32768)
        .scalar<uint32_t>("gemma3.embedding_length", kU32, static_cast<uint32_t>(E))
        .scalar<uint32_t>("gemma3.block_count", kU32, static_cast<uint32_t>(n_layer))
        .scalar<uint32_t>("gemma3.feed_forward_length", kU32, static_cast<uint32_t>(F))
        .scalar<uint32_t>("gemma3.attention.head_count", kU32, static_cast<uint32_t>(n_head))
        .scalar<uint32_t>("gemma3.attention.head_count_kv", kU32, static_cast<uint32_t>(n_kv))
        .scalar<uint32_t>("gemma3.attention.key_length", kU32, static_cast<uint32_t>(D))
        .scalar<uint32_t>("gemma3.attention.value_length", kU32, static_cast<uint32_t>(D))
        .scalar<float>("gemma3.attention.layer_norm_rms_epsilon", kF32, 1e-6f)
        .scalar<float>("gemma3.rope.freq_base", kF32, 1e6f)
        .scalar<uint32_t>("gemma3.attention.sliding_window", kU32, 512);
    // A SentencePiece-style vocabulary: four control tokens, the 256 byte-fallback
    // tokens (so that any text tokenizes, byte by byte), then unique pieces.
    std::vector<std::string> tokens(static_cast<size_t>(V));
    std::vector<float> scores(static_cast<size_t>(V));
    std::vector<int32_t> types(static_cast<size_t>(V), 1);
    const char* specials[] = {"<pad>", "<eos>", "<bos>", "<unk>"};
    for (int64_t i = 0; i < V; ++i) {
        const bool byte = i >= 4 && i < 260;
        tokens[static_cast<size_t>(i)] = i < 4 ? std::string(specials[i])
                                       : byte  ? fmt::format("<0x{:02X}>", i - 4)
                                               : fmt::format("\xe2\x96\x81t{}", i);
        scores[static_cast<size_t>(i)] = -static_cast<float>(i);
        if (i < 4) types[static_cast<size_t>(i)] = 3;
        if (byte) types[static_cast<size_t>(i)] = 6;
    }
    b.string("tokenizer.ggml.model", "llama").strings("tokenizer.ggml.tokens", tokens).f32_array("tokenizer.ggml.scores", scores);
    b.i32_array("tokenizer.ggml.token_type", types)
        .scalar<uint32_t>("tokenizer.ggml.bos_token_id", kU32, 2)
        .scalar<uint32_t>("tokenizer.ggml.eos_token_id", kU32, 1)
        .scalar<uint32_t>("tokenizer.ggml.unknown_token_id", kU32, 3)
        .scalar<uint32_t>("tokenizer.ggml.padding_token_id", kU32, 0)
        .scalar<bool>("tokenizer.ggml.add_bos_token", kBool, true)
        .scalar<uint32_t>("general.quantization_version", kU32, 2);

    auto matrix = [&](const std::string& name, GgmlType t, int64_t rows, int64_t cols) {
        t = fitting(t, cols);
        b.tensor(name, {cols, rows}, static_cast<uint32_t>(t), gmg::testing::random_rows(t, rows, cols, rng));
    };
    std::normal_distribution<float> normal(0.0f, 1.0f);
    auto norm = [&](const std::string& name, int64_t n) {
        std::vector<uint8_t> bytes(static_cast<size_t>(n) * 4);
        for (int64_t i = 0; i < n; ++i) {
            const float w = 1.0f + 0.1f * normal(rng);
            std::memcpy(bytes.data() + 4 * i, &w, 4);
        }
        b.tensor(name, {n}, 0, bytes);
    };
    const Mix top = mix_for(mix, 0, n_layer);
    matrix("token_embd.weight", top.embd, V, E);
    norm("output_norm.weight", E);
    for (int64_t il = 0; il < n_layer; ++il) {
        const Mix m = mix_for(mix, il, n_layer);
        const std::string p = fmt::format("blk.{}.", il);
        norm(p + "attn_norm.weight", E);
        matrix(p + "attn_q.weight", m.q, n_head * D, E);
        matrix(p + "attn_k.weight", m.k, n_kv * D, E);
        matrix(p + "attn_v.weight", m.v, n_kv * D, E);
        norm(p + "attn_q_norm.weight", D);
        norm(p + "attn_k_norm.weight", D);
        matrix(p + "attn_output.weight", m.o, E, n_head * D);
        norm(p + "post_attention_norm.weight", E);
        norm(p + "ffn_norm.weight", E);
        matrix(p + "ffn_gate.weight", m.gate, F, E);
        matrix(p + "ffn_up.weight", m.up, F, E);
        matrix(p + "ffn_down.weight", m.down, E, F);
        norm(p + "post_ffw_norm.weight", E);
    }
    const std::vector<uint8_t> image = b.build();
    FILE* f = std::fopen(out.c_str(), "wb");
    if (!f || std::fwrite(image.data(), 1, image.size(), f) != image.size() || std::fclose(f) != 0)
        cli::die(kTool, "cannot write " + out);
    std::fprintf(stderr, "%s: wrote %s (%s, %.2f GiB)\n", kTool, out.c_str(), mix.c_str(),
                 static_cast<double>(image.size()) / (1ull << 30));
    return 0;
}
