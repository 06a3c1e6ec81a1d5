// Which instruction set the CPU kernels use, decided once per process in one
// place: what the CPU has (cpuid) and the OS saves (XGETBV), capped by the
// GMG_ISA environment variable (scalar | avx2 | avx512) for tests and bug
// reports. The library is built once for plain x86-64 and runs everywhere.
#pragma once
#include <optional>
#include <string_view>

namespace gmg::cpu {

enum class Isa : int {
    scalar = 0,  // the reference loops, any CPU
    avx2 = 1,    // AVX2 + FMA + F16C
    avx512 = 2,  // AVX-512 F/BW/VL + VNNI (int8 dot products); BF16 dot products when present
};

Isa detected_isa();  // the best this CPU and OS support
Isa active_isa();    // detected_isa() capped by GMG_ISA; computed once
bool has_avx512_bf16();  // detected, whatever GMG_ISA says
std::string_view isa_name(Isa isa);
std::optional<Isa> isa_from_name(std::string_view name);

}  // namespace gmg::cpu
