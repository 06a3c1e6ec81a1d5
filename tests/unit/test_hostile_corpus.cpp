// Runs the reader over the generated hostile corpus (tests/hostile): every file
// must be rejected with the expected status and message, in both I/O modes.
// The corpus directory comes from the GMG_CORPUS_DIR environment variable.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "kernels/ref/dequantize.h"
#include "lib/gguf/gguf_file.h"

using gmg::StatusCode;
using gmg::gguf::GgufFile;

namespace {

std::string corpus_dir() {
    const char* dir = std::getenv("GMG_CORPUS_DIR");
    if (!dir) FAIL("GMG_CORPUS_DIR is not set (ctest sets it; see tests/CMakeLists.txt)");
    return dir;
}

StatusCode code_named(const std::string& s) {
    if (s == "invalid_file") return StatusCode::invalid_file;
    if (s == "unsupported") return StatusCode::unsupported;
    FAIL("unknown status name in expected.tsv: " << s);
    return StatusCode::internal;
}

}  // namespace

TEST_CASE("hostile corpus: each file is rejected with its message", "[hostile]") {
    const std::string dir = corpus_dir() + "/hostile";
    std::ifstream manifest(dir + "/expected.tsv");
    REQUIRE(manifest.good());
    std::string line;
    int files = 0;
    while (std::getline(manifest, line)) {
        std::istringstream fields(line);
        std::string name, status, want;
        std::getline(fields, name, '\t');
        std::getline(fields, status, '\t');
        std::getline(fields, want);
        ++files;
        for (auto mode : {gmg::MappedFile::Mode::mmap_or_read, gmg::MappedFile::Mode::read_only}) {
            GgufFile::Options opt;
            opt.mode = mode;
            std::unique_ptr<GgufFile> f;
            const gmg::Status s = GgufFile::open(dir + "/" + name, opt, &f);
            INFO(name << ": " << s.message());
            CHECK(s.code() == code_named(status));
            CHECK_THAT(s.message(), Catch::Contains(want));
            CHECK(s.message().find('\n') == std::string::npos);
        }
    }
    CHECK(files >= 30);
}

TEST_CASE("valid seed files open and every tensor decodes", "[hostile]") {
    for (const char* name : {"minimal", "two_tensors", "aligned_64"}) {
        std::unique_ptr<GgufFile> f;
        const gmg::Status s = GgufFile::open(corpus_dir() + "/valid/" + name + ".gguf", &f);
        INFO(name << ": " << s.message());
        REQUIRE(s.ok());
        for (const auto& t : f->tensors()) {
            std::vector<float> out(t.n_elements);
            for (uint64_t r = 0; r < t.n_rows(); ++r)
                REQUIRE(gmg::ref::dequantize_row(t.type, t.data + r * t.row_bytes, out.data() + r * t.ne[0], t.ne[0]));
        }
    }
}
