#include "ggml_type.h"

#include "block_formats.h"

namespace gmg {
namespace {

// Sizes and alignments come from the block structs, so table and structs cannot disagree.
template <class Block>
constexpr TypeTraits blocks(GgmlType t, std::string_view name, int elems, bool weight = true) {
    return {t, name, static_cast<uint32_t>(elems), sizeof(Block), alignof(Block), true, weight};
}
template <class Scalar>
constexpr TypeTraits scalar(GgmlType t, std::string_view name) {
    return {t, name, 1, sizeof(Scalar), alignof(Scalar), false, true};
}

constexpr TypeTraits kTraits[] = {
    scalar<float>(GgmlType::F32, "F32"),
    scalar<uint16_t>(GgmlType::F16, "F16"),
    blocks<block_q4_0>(GgmlType::Q4_0, "Q4_0", QK4_0),
    blocks<block_q4_1>(GgmlType::Q4_1, "Q4_1", QK4_1),
    blocks<block_q5_0>(GgmlType::Q5_0, "Q5_0", QK5_0),
    blocks<block_q5_1>(GgmlType::Q5_1, "Q5_1", QK5_1),
    blocks<block_q8_0>(GgmlType::Q8_0, "Q8_0", QK8_0),
    blocks<block_q8_1>(GgmlType::Q8_1, "Q8_1", QK8_1, false),
    blocks<block_q2_K>(GgmlType::Q2_K, "Q2_K", QK_K),
    blocks<block_q3_K>(GgmlType::Q3_K, "Q3_K", QK_K),
    blocks<block_q4_K>(GgmlType::Q4_K, "Q4_K", QK_K),
    blocks<block_q5_K>(GgmlType::Q5_K, "Q5_K", QK_K),
    blocks<block_q6_K>(GgmlType::Q6_K, "Q6_K", QK_K),
    blocks<block_q8_K>(GgmlType::Q8_K, "Q8_K", QK_K, false),
    blocks<block_iq2_xxs>(GgmlType::IQ2_XXS, "IQ2_XXS", QK_K),
    blocks<block_iq2_xs>(GgmlType::IQ2_XS, "IQ2_XS", QK_K),
    blocks<block_iq3_xxs>(GgmlType::IQ3_XXS, "IQ3_XXS", QK_K),
    blocks<block_iq1_s>(GgmlType::IQ1_S, "IQ1_S", QK_K),
    blocks<block_iq4_nl>(GgmlType::IQ4_NL, "IQ4_NL", QK4_NL),
    blocks<block_iq3_s>(GgmlType::IQ3_S, "IQ3_S", QK_K),
    blocks<block_iq2_s>(GgmlType::IQ2_S, "IQ2_S", QK_K),
    blocks<block_iq4_xs>(GgmlType::IQ4_XS, "IQ4_XS", QK_K),
    scalar<int8_t>(GgmlType::I8, "I8"),
    scalar<int16_t>(GgmlType::I16, "I16"),
    scalar<int32_t>(GgmlType::I32, "I32"),
    scalar<int64_t>(GgmlType::I64, "I64"),
    scalar<double>(GgmlType::F64, "F64"),
    blocks<block_iq1_m>(GgmlType::IQ1_M, "IQ1_M", QK_K),
    scalar<uint16_t>(GgmlType::BF16, "BF16"),
    blocks<block_tq1_0>(GgmlType::TQ1_0, "TQ1_0", QK_K),
    blocks<block_tq2_0>(GgmlType::TQ2_0, "TQ2_0", QK_K),
    blocks<block_mxfp4>(GgmlType::MXFP4, "MXFP4", QK_MXFP4),
    blocks<block_nvfp4>(GgmlType::NVFP4, "NVFP4", QK_NVFP4),
};

}  // namespace

std::optional<TypeTraits> type_traits(uint32_t id) {
    for (const TypeTraits& t : kTraits)
        if (static_cast<uint32_t>(t.type) == id) return t;
    return std::nullopt;
}

const TypeTraits* all_type_traits(int* count) {
    *count = static_cast<int>(sizeof kTraits / sizeof kTraits[0]);
    return kTraits;
}

std::optional<GgmlType> type_from_name(std::string_view name) {
    for (const TypeTraits& t : kTraits)
        if (t.name == name) return t.type;
    return std::nullopt;
}

std::optional<uint64_t> row_bytes(GgmlType t, int64_t n) {
    const TypeTraits tr = traits_of(t);
    if (n < 0 || n % tr.block_elems != 0) return std::nullopt;
    return static_cast<uint64_t>(n / tr.block_elems) * tr.block_bytes;
}

}  // namespace gmg
