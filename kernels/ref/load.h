// Unaligned little-endian loads from byte arrays inside blocks.
#pragma once
#include <bit>
#include <cstdint>
#include <cstring>

namespace gmg::ref {

static_assert(std::endian::native == std::endian::little, "GGUF block decoding assumes a little-endian host");

inline uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline uint16_t load_u16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

}  // namespace gmg::ref
