#include <cstdio>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "gguf_builder.h"
#include "kernels/common/half.h"
#include "lib/gguf/gguf_file.h"

using gmg::StatusCode;
using gmg::gguf::GgufFile;
using gmg::gguf::ValueType;
using gmg::test::GgufBuilder;

namespace {

std::vector<uint8_t> f32_bytes(std::vector<float> v) {
    std::vector<uint8_t> out(v.size() * 4);
    std::memcpy(out.data(), v.data(), out.size());
    return out;
}

std::unique_ptr<GgufFile> parse_ok(const std::vector<uint8_t>& bytes) {
    std::unique_ptr<GgufFile> f;
    const gmg::Status s = GgufFile::parse(bytes.data(), bytes.size(), {}, &f);
    INFO(s.message());
    REQUIRE(s.ok());
    return f;
}

gmg::Status parse_status(const std::vector<uint8_t>& bytes) {
    std::unique_ptr<GgufFile> f;
    return GgufFile::parse(bytes.data(), bytes.size(), {}, &f);
}

}  // namespace

TEST_CASE("metadata of every scalar type reads back", "[gguf]") {
    GgufBuilder b;
    b.string("general.architecture", "gemma3")
        .scalar<uint8_t>("k.u8", 0, 200)
        .scalar<int8_t>("k.i8", 1, -5)
        .scalar<uint16_t>("k.u16", 2, 60000)
        .scalar<int16_t>("k.i16", 3, -30000)
        .scalar<uint32_t>("k.u32", 4, 4000000000u)
        .scalar<int32_t>("k.i32", 5, -7)
        .scalar<float>("k.f32", 6, 1e-6f)
        .scalar<uint8_t>("k.bool", 7, 1)
        .scalar<uint64_t>("k.u64", 10, 1ull << 40)
        .scalar<int64_t>("k.i64", 11, -(1ll << 40))
        .scalar<double>("k.f64", 12, 0.25)
        .strings("k.strs", {"<pad>", "", "\xe2\x96\x81hi"})
        .f32_array("k.scores", {-1.0f, 0.5f});
    const auto bytes = b.build();  // parse() views these bytes: keep them alive
    auto f = parse_ok(bytes);
    CHECK(f->version() == 3);
    CHECK(f->metadata().size() == 14);
    CHECK(f->get_string("general.architecture") == "gemma3");
    CHECK(f->get_uint("k.u8") == 200u);
    CHECK(f->find("k.i8")->value.i == -5);
    CHECK(f->get_uint("k.u16") == 60000u);
    CHECK(f->find("k.i16")->value.i == -30000);
    CHECK(f->get_uint("k.u32") == 4000000000u);
    CHECK_FALSE(f->get_uint("k.i32"));  // negative: not an unsigned value
    CHECK(f->get_float("k.f32") == Approx(1e-6).epsilon(1e-7));
    CHECK(f->get_bool("k.bool") == true);
    CHECK(f->get_uint("k.u64") == (1ull << 40));
    CHECK(f->find("k.i64")->value.i == -(1ll << 40));
    CHECK(f->get_float("k.f64") == 0.25);
    const auto& strs = f->find("k.strs")->value;
    REQUIRE(strs.is_array());
    REQUIRE(strs.elem_type == ValueType::string);
    REQUIRE(strs.strings.size() == 3);
    CHECK(strs.strings[0] == "<pad>");
    CHECK(strs.strings[1].empty());
    CHECK(strs.strings[2] == "\xe2\x96\x81hi");
    const auto& scores = f->find("k.scores")->value;
    CHECK(scores.count == 2);
    CHECK(scores.array_f64(1) == 0.5);
    CHECK(f->find("missing") == nullptr);
    CHECK_FALSE(f->get_string("k.u8"));  // wrong type
}

TEST_CASE("tensors are zero-copy views at the right place", "[gguf]") {
    GgufBuilder b(64);
    b.scalar<uint32_t>("general.alignment", 4, 64);
    const std::vector<float> a = {1, 2, 3, 4, 5, 6};
    std::vector<uint8_t> q8(34 * 2);
    for (size_t i = 0; i < q8.size(); ++i) q8[i] = static_cast<uint8_t>(i * 7);
    const uint16_t one = gmg::f32_to_f16(1.0f);
    std::memcpy(q8.data(), &one, 2);
    b.tensor("a", {3, 2}, 0, f32_bytes(a)).tensor("q", {64}, 8, q8);
    const auto bytes = b.build();
    auto f = parse_ok(bytes);
    CHECK(f->alignment() == 64);
    CHECK(f->data_offset() % 64 == 0);
    const auto* t = f->find_tensor("a");
    REQUIRE(t);
    CHECK(t->n_dims == 2);
    CHECK(t->ne[0] == 3);
    CHECK(t->ne[1] == 2);
    CHECK(t->ne[2] == 1);
    CHECK(t->n_elements == 6);
    CHECK(t->n_bytes == 24);
    CHECK(t->row_bytes == 12);
    CHECK(t->n_rows() == 2);
    CHECK(t->data == bytes.data() + f->data_offset());
    float got[6];
    std::memcpy(got, t->data, sizeof got);
    CHECK(got[5] == 6.0f);
    const auto* q = f->find_tensor("q");
    REQUIRE(q);
    CHECK(q->type == gmg::GgmlType::Q8_0);
    CHECK(q->n_bytes == 68);
    CHECK(q->offset == 64);
}

TEST_CASE("version 2 files are read, version 1 is refused", "[gguf]") {
    GgufBuilder b;
    b.string("general.architecture", "gemma3");
    const auto v2 = b.build(2);
    CHECK(parse_ok(v2)->version() == 2);
    const gmg::Status s = parse_status(b.build(1));
    CHECK(s.code() == StatusCode::unsupported);
    CHECK_THAT(s.message(), Catch::Contains("version 1"));
}

TEST_CASE("every truncation of a valid file is an error, never a crash", "[gguf]") {
    GgufBuilder b;
    b.string("general.architecture", "gemma3").strings("tokens", {"a", "bb", "ccc"});
    b.tensor("w", {8, 2}, 0, f32_bytes(std::vector<float>(16, 0.5f)));
    const auto full = b.build();
    parse_ok(full);
    for (size_t cut = 0; cut < full.size(); ++cut) {
        // A heap copy of exactly `cut` bytes, so ASan sees any read past the end.
        std::vector<uint8_t> part(full.begin(), full.begin() + static_cast<long>(cut));
        const gmg::Status s = parse_status(part);
        INFO("cut at " << cut);
        CHECK(s.code() == StatusCode::invalid_file);
        CHECK_FALSE(s.message().empty());
    }
}

TEST_CASE("open() reports OS errors and reads the same in mmap and read modes", "[gguf]") {
    std::unique_ptr<GgufFile> f;
    gmg::Status s = GgufFile::open("/nonexistent/model.gguf", &f);
    CHECK(s.code() == StatusCode::io_error);
    CHECK_THAT(s.message(), Catch::Contains("/nonexistent/model.gguf"));
    s = GgufFile::open("/tmp", &f);
    CHECK(s.code() == StatusCode::io_error);
    CHECK_THAT(s.message(), Catch::Contains("not a regular file"));

    GgufBuilder b;
    b.string("general.architecture", "gemma3").tensor("t", {4}, 0, f32_bytes({1, 2, 3, 4}));
    const auto bytes = b.build();
    const std::string path = "gmg_reader_test.gguf";
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
    for (auto mode : {gmg::MappedFile::Mode::mmap_or_read, gmg::MappedFile::Mode::read_only}) {
        GgufFile::Options opt;
        opt.mode = mode;
        std::unique_ptr<GgufFile> g;
        REQUIRE(GgufFile::open(path, opt, &g).ok());
        float v[4];
        std::memcpy(v, g->find_tensor("t")->data, sizeof v);
        CHECK(v[3] == 4.0f);
    }
    std::remove(path.c_str());
}

TEST_CASE("limits are enforced before allocation", "[gguf]") {
    GgufBuilder b;
    b.strings("many", std::vector<std::string>(100, "x"));
    gmg::gguf::Limits lim;
    lim.max_array_count = 50;
    std::unique_ptr<GgufFile> f;
    const auto bytes = b.build();
    const gmg::Status s = GgufFile::parse(bytes.data(), bytes.size(), lim, &f);
    CHECK(s.code() == StatusCode::invalid_file);
    CHECK_THAT(s.message(), Catch::Contains("above the limit of 50"));
}
