// Test helper: weight rows times float32 activations through the CPU kernels on a
// chosen ISA, so Python can compare our products bit for bit with llama.cpp's
// (its exported dot products, or products captured with its eval callback).
// usage: gmg-test-matmul MODEL.gguf TENSOR IN.f32 OUT.f32 [ISA]
//        gmg-test-matmul --raw TYPE K WEIGHTS.bin IN.f32 OUT.f32 [ISA]
//   IN holds n rows of K floats (the tensor's ne[0]); OUT gets n rows of one float per weight row.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "lib/gguf/gguf_file.h"

namespace {

std::vector<uint8_t> read_file(const char* path) {
    std::vector<uint8_t> bytes;
    if (FILE* f = std::fopen(path, "rb")) {
        uint8_t buf[1 << 14];
        size_t got;
        while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.insert(bytes.end(), buf, buf + got);
        std::fclose(f);
    }
    return bytes;
}

int fail(const std::string& why) {
    std::fprintf(stderr, "gmg-test-matmul: %s\n", why.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace gmg;
    const bool raw = argc > 1 && std::string(argv[1]) == "--raw";
    const int fixed = raw ? 7 : 5;  // arguments before the optional ISA
    if (argc != fixed && argc != fixed + 1) {
        std::fputs("usage: gmg-test-matmul MODEL.gguf TENSOR IN.f32 OUT.f32 [ISA]\n"
                   "       gmg-test-matmul --raw TYPE K WEIGHTS.bin IN.f32 OUT.f32 [ISA]\n",
                   stderr);
        return 2;
    }
    cpu::WeightView w;
    std::unique_ptr<gguf::GgufFile> file;
    std::vector<uint8_t> raw_weights;
    if (raw) {
        const auto type = type_from_name(argv[2]);
        const int64_t k = std::atoll(argv[3]);
        const auto rb = type ? row_bytes(*type, k) : std::nullopt;
        if (!rb || *rb == 0) return fail(std::string("bad type or row length: ") + argv[2] + " " + argv[3]);
        raw_weights = read_file(argv[4]);
        if (raw_weights.empty() || raw_weights.size() % *rb) return fail(std::string(argv[4]) + " is not whole rows");
        w = {*type, raw_weights.data(), *rb, static_cast<int64_t>(raw_weights.size() / *rb), k};
    } else {
        if (Status st = gguf::GgufFile::open(argv[1], &file); !st.ok()) return fail(st.message());
        const gguf::TensorInfo* t = file->find_tensor(argv[2]);
        if (!t || t->n_dims != 2) return fail(std::string("no 2-D tensor named ") + argv[2]);
        w = {t->type, t->data, t->row_bytes, t->ne[1], t->ne[0]};
    }
    cpu::Isa isa = cpu::active_isa();
    if (argc == fixed + 1) {
        auto want = cpu::isa_from_name(argv[fixed]);
        if (!want || !cpu::isa_supported(*want)) return fail(std::string("ISA ") + argv[fixed] + " not available here");
        isa = *want;
    }
    const std::vector<uint8_t> in = read_file(argv[fixed - 2]);
    const size_t row_in = static_cast<size_t>(w.cols) * sizeof(float);
    if (in.empty() || in.size() % row_in) return fail(std::string(argv[fixed - 2]) + " must hold whole rows of K floats");
    const int64_t n = static_cast<int64_t>(in.size() / row_in);
    std::vector<float> x(in.size() / sizeof(float));
    std::memcpy(x.data(), in.data(), in.size());
    std::vector<uint8_t> prepared(cpu::prepared_row_bytes(w.type, w.cols, isa) * static_cast<size_t>(n));
    cpu::prepare_activations(w.type, isa, x.data(), n, w.cols, prepared.data());
    std::vector<float> y(static_cast<size_t>(n * w.rows));
    cpu::matmul(w, prepared.data(), n, y.data(), w.rows, isa, 1);
    FILE* out = std::fopen(argv[fixed - 1], "wb");
    const bool ok = out && std::fwrite(y.data(), sizeof(float), y.size(), out) == y.size() && std::fclose(out) == 0;
    return ok ? 0 : fail(std::string("cannot write ") + argv[fixed - 1]);
}
