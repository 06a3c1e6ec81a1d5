#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "kernels/common/ggml_type.h"

TEST_CASE("traits table is consistent", "[types]") {
    int n = 0;
    const gmg::TypeTraits* all = gmg::all_type_traits(&n);
    REQUIRE(n >= 33);
    std::set<std::string_view> names;
    for (int i = 0; i < n; ++i) {
        const auto& t = all[i];
        INFO(std::string(t.name));
        REQUIRE(names.insert(t.name).second);
        REQUIRE(gmg::type_traits(static_cast<uint32_t>(t.type))->name == t.name);
        REQUIRE(gmg::type_from_name(t.name) == t.type);
        REQUIRE(t.block_elems >= 1);
        REQUIRE(t.block_bytes >= 1);
        REQUIRE(t.block_bytes % t.align == 0);  // consecutive blocks stay aligned
        REQUIRE(gmg::row_bytes(t.type, 3 * t.block_elems) == 3ull * t.block_bytes);
        if (t.block_elems > 1) REQUIRE_FALSE(gmg::row_bytes(t.type, t.block_elems + 1).has_value());
    }
    for (uint32_t retired : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 1000u}) REQUIRE_FALSE(gmg::type_traits(retired));
}
