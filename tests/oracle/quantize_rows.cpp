// Test helper: quantizes a file of float32 with one of the reference activation
// quantizers and writes the raw blocks, so Python can check them against NumPy.
// usage: gmg-test-quantize q8_0|q8_0_x86|q8_1|q8_1_x86|q8_K IN.f32 OUT.bin
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/ref/quantize_activations.h"

namespace {

template <class Block, class Fn>
bool run(Fn fn, const std::vector<float>& x, int block_elems, FILE* out) {
    if (x.size() % block_elems) return false;
    std::vector<Block> blocks(x.size() / block_elems);
    fn(x.data(), blocks.data(), static_cast<int64_t>(x.size()));
    return std::fwrite(blocks.data(), sizeof(Block), blocks.size(), out) == blocks.size();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fputs("usage: gmg-test-quantize q8_0|q8_0_x86|q8_1|q8_1_x86|q8_K IN.f32 OUT.bin\n", stderr);
        return 2;
    }
    const std::string kind = argv[1];
    FILE* in = std::fopen(argv[2], "rb");
    if (!in) return std::perror(argv[2]), 1;
    std::vector<float> x;
    float buf[4096];
    size_t got;
    while ((got = std::fread(buf, sizeof(float), 4096, in)) > 0) x.insert(x.end(), buf, buf + got);
    std::fclose(in);
    FILE* out = std::fopen(argv[3], "wb");
    if (!out) return std::perror(argv[3]), 1;
    bool ok = false;
    using namespace gmg;
    if (kind == "q8_0") ok = run<block_q8_0>(ref::quantize_row_q8_0, x, QK8_0, out);
    else if (kind == "q8_0_x86") ok = run<block_q8_0>(ref::quantize_row_q8_0_x86, x, QK8_0, out);
    else if (kind == "q8_1") ok = run<block_q8_1>(ref::quantize_row_q8_1, x, QK8_1, out);
    else if (kind == "q8_1_x86") ok = run<block_q8_1>(ref::quantize_row_q8_1_x86, x, QK8_1, out);
    else if (kind == "q8_K") ok = run<block_q8_K>(ref::quantize_row_q8_K, x, QK_K, out);
    ok = (std::fclose(out) == 0) && ok;
    if (!ok) std::fprintf(stderr, "gmg-test-quantize: failed (%s, %zu values)\n", kind.c_str(), x.size());
    return ok ? 0 : 1;
}
