// One weight x activation product on the best NEON kernel set, run REPS times:
// the program whose instructions count_neon_instructions.sh counts under
// qemu-aarch64 (the difference between REPS = 2 and REPS = 1 is one product,
// setup excluded). No timing here: qemu's speed says nothing about an Arm core's.
// With "repacked", the product reads the repacked copy (built, with the activation
// block sums, in the setup, as the model builds them once); exit status 3 where
// the type has no repacked GEMM on this CPU.
// usage: neon_product TYPE K ROWS COLUMNS REPS [repacked]
#include <cstdio>
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/ggml_type.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/matmul.h"
#include "tests/support/random_blocks.h"

int main(int argc, char** argv) {
    const bool repacked = argc == 7 && std::string(argv[6]) == "repacked";
    if (argc != 6 && !repacked) {
        std::fprintf(stderr, "usage: %s TYPE K ROWS COLUMNS REPS [repacked]\n", argv[0]);
        return 2;
    }
    const auto type = gmg::type_from_name(argv[1]);
    const int64_t k = std::atoll(argv[2]), rows = std::atoll(argv[3]), n = std::atoll(argv[4]);
    const int reps = std::atoi(argv[5]);
    if (!type || k <= 0 || rows <= 0 || n <= 0 || reps < 0 || !gmg::row_bytes(*type, k)) {
        std::fprintf(stderr, "bad arguments\n");
        return 2;
    }
    const gmg::cpu::Isa isa = gmg::cpu::active_isa();
    // One random row and one random column, repeated: the kernels' instructions do not
    // depend on the values, and setting up every row would cost qemu more than the product.
    std::mt19937 rng(7);
    const std::vector<uint8_t> row = gmg::testing::random_rows(*type, 1, k, rng);
    std::vector<uint8_t> w(row.size() * static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) std::copy(row.begin(), row.end(), w.begin() + static_cast<std::ptrdiff_t>(r * row.size()));
    const gmg::cpu::WeightView view{*type, w.data(), row.size(), rows, k};
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n * k));
    for (int64_t i = 0; i < k; ++i) x[static_cast<size_t>(i)] = normal(rng);
    for (int64_t c = 1; c < n; ++c) std::copy(x.begin(), x.begin() + k, x.begin() + c * k);
    std::vector<uint8_t> act(gmg::cpu::prepared_row_bytes(*type, k, isa) * static_cast<size_t>(n));
    gmg::cpu::prepare_activations(*type, isa, x.data(), n, k, act.data());
    std::vector<float> y(static_cast<size_t>(n * rows));
    if (repacked) {
        gmg::cpu::RepackedWeights packed;
        if (!gmg::cpu::repack(view, isa, 1, &packed)) return 3;
        std::vector<int32_t> sums(static_cast<size_t>(n * (k / 32)));
        gmg::cpu::q8_0_block_sums(act.data(), n, k, sums.data());
        const int32_t* block_sums = gmg::cpu::repacked_needs_block_sums(*type, isa) ? sums.data() : nullptr;
        for (int i = 0; i < reps; ++i) gmg::cpu::matmul_repacked(packed, act.data(), block_sums, n, y.data(), rows, isa, 1);
    } else {
        for (int i = 0; i < reps; ++i) gmg::cpu::matmul_rows(view, act.data(), n, y.data(), rows, 0, rows, isa);
    }
    double sum = 0;
    for (float v : y) sum += v;
    std::printf("%s %s %g\n", std::string(gmg::cpu::isa_name(isa)).c_str(), argv[1], sum);
    return 0;
}
