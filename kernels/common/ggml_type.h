// The GGUF tensor type ids (ggml_type) and one traits table describing each.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace gmg {

// Ids are fixed by the GGUF format (ggml.h). Gaps are retired ids.
enum class GgmlType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39,
    NVFP4 = 40,
};

struct TypeTraits {
    GgmlType type;
    std::string_view name;
    uint32_t block_elems;  // elements per block (1 for plain scalars)
    uint32_t block_bytes;  // bytes per block
    uint32_t align;        // alignment a block needs in memory (its widest field)
    bool quantized;        // stored in blocks with scales
    bool weight_only;      // appears in files; false for activation-only types (Q8_1, Q8_K)
};

// Traits for a raw id read from a file; nullopt for an unknown or retired id.
std::optional<TypeTraits> type_traits(uint32_t id);
inline TypeTraits traits_of(GgmlType t) { return *type_traits(static_cast<uint32_t>(t)); }

// Every id type_traits knows, in id order.
const TypeTraits* all_type_traits(int* count);

std::optional<GgmlType> type_from_name(std::string_view name);  // "Q4_K", case-sensitive

// Bytes of one row of n elements, or nullopt if n is not a whole number of blocks.
std::optional<uint64_t> row_bytes(GgmlType t, int64_t n);

}  // namespace gmg
