// Test helper: one weight tensor of a GGUF times float32 activations, through the
// CPU kernels on a chosen ISA, so Python can compare our products bit for bit with
// the ones llama.cpp computed on the same inputs (captured with its eval callback).
// usage: gmg-test-matmul MODEL.gguf TENSOR IN.f32 OUT.f32 [ISA]
//   IN holds n rows of the tensor's ne[0] floats; OUT gets n rows of ne[1] floats.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "lib/gguf/gguf_file.h"

int main(int argc, char** argv) {
    using namespace gmg;
    using gguf::GgufFile;
    using gguf::TensorInfo;
    if (argc < 5 || argc > 6) {
        std::fputs("usage: gmg-test-matmul MODEL.gguf TENSOR IN.f32 OUT.f32 [ISA]\n", stderr);
        return 2;
    }
    std::unique_ptr<GgufFile> file;
    if (Status st = GgufFile::open(argv[1], &file); !st.ok()) {
        std::fprintf(stderr, "gmg-test-matmul: %s\n", st.message().c_str());
        return 1;
    }
    const TensorInfo* t = file->find_tensor(argv[2]);
    if (!t || t->n_dims != 2) {
        std::fprintf(stderr, "gmg-test-matmul: no 2-D tensor named %s\n", argv[2]);
        return 1;
    }
    cpu::Isa isa = cpu::active_isa();
    if (argc == 6) {
        auto want = cpu::isa_from_name(argv[5]);
        if (!want || !cpu::isa_supported(*want)) {
            std::fprintf(stderr, "gmg-test-matmul: ISA %s not available here\n", argv[5]);
            return 1;
        }
        isa = *want;
    }
    const int64_t k = t->ne[0], rows = t->ne[1];
    std::vector<float> x;
    if (FILE* in = std::fopen(argv[3], "rb")) {
        float buf[4096];
        size_t got;
        while ((got = std::fread(buf, sizeof(float), 4096, in)) > 0) x.insert(x.end(), buf, buf + got);
        std::fclose(in);
    }
    if (x.empty() || x.size() % static_cast<size_t>(k)) {
        std::fprintf(stderr, "gmg-test-matmul: %s must hold whole rows of %lld floats\n", argv[3], static_cast<long long>(k));
        return 1;
    }
    const int64_t n = static_cast<int64_t>(x.size()) / k;
    const cpu::WeightView w{t->type, t->data, t->row_bytes, rows, k};
    std::vector<uint8_t> prepared(cpu::prepared_row_bytes(t->type, k, isa) * static_cast<size_t>(n));
    cpu::prepare_activations(t->type, isa, x.data(), n, k, prepared.data());
    std::vector<float> y(static_cast<size_t>(n * rows));
    cpu::matmul(w, prepared.data(), n, y.data(), rows, isa, 1);
    FILE* out = std::fopen(argv[4], "wb");
    const bool ok = out && std::fwrite(y.data(), sizeof(float), y.size(), out) == y.size() && std::fclose(out) == 0;
    if (!ok) std::fprintf(stderr, "gmg-test-matmul: cannot write %s\n", argv[4]);
    return ok ? 0 : 1;
}
