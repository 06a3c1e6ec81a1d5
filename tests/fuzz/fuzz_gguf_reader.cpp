// libFuzzer target: any byte string through the GGUF reader, then every tensor
// of an accepted file decoded, so a reader bug that lets bad offsets through
// shows up as an out-of-bounds read under ASan.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/ref/dequantize.h"
#include "lib/gguf/gguf_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    gmg::gguf::Limits limits;
    limits.max_array_count = 1 << 16;  // keep each run small; the checks are the same
    std::unique_ptr<gmg::gguf::GgufFile> file;
    if (!gmg::gguf::GgufFile::parse(data, size, limits, &file).ok()) return 0;
    std::vector<float> row;
    for (const auto& t : file->tensors()) {
        if (t.ne[0] > (1 << 16)) continue;
        row.resize(static_cast<size_t>(t.ne[0]));
        const uint64_t rows = t.n_rows() < 64 ? t.n_rows() : 64;
        for (uint64_t r = 0; r < rows; ++r) gmg::ref::dequantize_row(t.type, t.data + r * t.row_bytes, row.data(), t.ne[0]);
    }
    return 0;
}
