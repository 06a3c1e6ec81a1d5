// Gemma3 hyper-parameters from metadata: defaults, the per-size rules (rope
// scaling for 4B+, the 27B attention scale), and clear errors.
#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "gguf_builder.h"
#include "lib/model/gemma3_config.h"

using gmg::Gemma3Config;
using gmg::StatusCode;
using gmg::gguf::GgufFile;
using gmg::test::GgufBuilder;

namespace {

// A metadata-only Gemma3 file (token_embd is the one tensor the config reads).
GgufBuilder gemma3_meta(uint32_t n_embd, uint32_t n_layer, uint32_t n_head, uint32_t n_head_kv = 0) {
    GgufBuilder b;
    b.string("general.architecture", "gemma3")
        .scalar<uint32_t>("gemma3.context_length", 4, 131072)
        .scalar<uint32_t>("gemma3.embedding_length", 4, n_embd)
        .scalar<uint32_t>("gemma3.block_count", 4, n_layer)
        .scalar<uint32_t>("gemma3.feed_forward_length", 4, 4 * n_embd)
        .scalar<uint32_t>("gemma3.attention.head_count", 4, n_head)
        .scalar<uint32_t>("gemma3.attention.head_count_kv", 4, n_head_kv ? n_head_kv : n_head / 2)
        .scalar<uint32_t>("gemma3.attention.key_length", 4, 128)
        .scalar<uint32_t>("gemma3.attention.value_length", 4, 128)
        .scalar<float>("gemma3.attention.layer_norm_rms_epsilon", 6, 1e-6f)
        .scalar<uint32_t>("gemma3.attention.sliding_window", 4, 1024)
        .scalar<float>("gemma3.rope.freq_base", 6, 1e6f);
    b.tensor("token_embd.weight", {n_embd, 3}, 0, std::vector<uint8_t>(static_cast<size_t>(n_embd) * 3 * 4));
    return b;
}

gmg::Status config_of(const std::vector<uint8_t>& bytes, Gemma3Config* c) {
    std::unique_ptr<GgufFile> f;
    const gmg::Status s = GgufFile::parse(bytes.data(), bytes.size(), {}, &f);
    REQUIRE(s.ok());
    return Gemma3Config::from_gguf(*f, c);
}

}  // namespace

TEST_CASE("4B-style: linear rope scaling on global layers, 1/sqrt(head_dim) scale", "[config]") {
    auto b = gemma3_meta(2560, 34, 8);
    b.string("gemma3.rope.scaling.type", "linear").scalar<float>("gemma3.rope.scaling.factor", 6, 8.0f);
    const auto bytes = b.build();
    Gemma3Config c;
    REQUIRE(config_of(bytes, &c).ok());
    CHECK(c.rope_freq_scale_global == 0.125f);
    CHECK(c.rope_base_local == 10000.0f);
    CHECK(c.rope_base_global == 1e6f);
    CHECK(c.attn_scale == 1.0f / std::sqrt(128.0f));
    CHECK(c.head_dim == 128);
    CHECK(c.n_vocab == 3);
    CHECK(c.sliding_window == 1024);
    for (int64_t il = 0; il < c.n_layer; ++il) CHECK(c.is_global(il) == ((il + 1) % 6 == 0));
}

TEST_CASE("27B (62 layers) scales queries by 1/sqrt(n_embd / n_head)", "[config]") {
    const auto bytes = gemma3_meta(5376, 62, 32).build();
    Gemma3Config c;
    REQUIRE(config_of(bytes, &c).ok());
    CHECK(c.attn_scale == 1.0f / std::sqrt(168.0f));
}

TEST_CASE("missing keys and other architectures are named in the error", "[config]") {
    Gemma3Config c;
    GgufBuilder llama;
    llama.string("general.architecture", "llama");
    llama.tensor("token_embd.weight", {4, 2}, 0, std::vector<uint8_t>(32));
    const auto a = llama.build();
    gmg::Status s = config_of(a, &c);
    CHECK(s.code() == StatusCode::unsupported);
    CHECK_THAT(s.message(), Catch::Contains("unsupported architecture 'llama'"));

    GgufBuilder no_eps;
    no_eps.string("general.architecture", "gemma3")
        .scalar<uint32_t>("gemma3.context_length", 4, 8)
        .scalar<uint32_t>("gemma3.embedding_length", 4, 4)
        .scalar<uint32_t>("gemma3.block_count", 4, 1)
        .scalar<uint32_t>("gemma3.feed_forward_length", 4, 8)
        .scalar<uint32_t>("gemma3.attention.head_count", 4, 1);
    no_eps.tensor("token_embd.weight", {4, 2}, 0, std::vector<uint8_t>(32));
    const auto e = no_eps.build();
    s = config_of(e, &c);
    CHECK(s.code() == StatusCode::invalid_file);
    CHECK_THAT(s.message(), Catch::Contains("gemma3.attention.layer_norm_rms_epsilon"));

    const auto odd_groups = gemma3_meta(256, 2, 6).build();  // 6 heads over 3 KV heads: fine
    REQUIRE(config_of(odd_groups, &c).ok());
    const auto uneven = gemma3_meta(256, 2, 6, 4).build();  // 6 query heads cannot share 4 KV heads
    s = config_of(uneven, &c);
    CHECK(s.code() == StatusCode::invalid_file);
    CHECK_THAT(s.message(), Catch::Contains("not a multiple of head_count_kv 4"));
}
