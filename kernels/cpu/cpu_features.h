// Which instruction set the CPU kernels use, decided once per process in one
// place: on x86 what the CPU has (cpuid) and the OS saves (XGETBV), on 64-bit Arm
// what the kernel reports (HWCAP), capped by the GMG_ISA environment variable
// (scalar | avx2 | avx512 | neon | neon_dotprod) for tests and bug reports. The
// library is built once for the plain architecture and runs everywhere.
#pragma once
#include <optional>
#include <string_view>

namespace gmg::cpu {

enum class Isa : int {
    scalar = 0,  // the reference loops, any CPU
    avx2 = 1,    // AVX2 + FMA + F16C
    avx512 = 2,  // AVX-512 F/BW/VL + VNNI (int8 dot products); BF16 dot products when present
    neon = 3,    // AArch64 Advanced SIMD (every 64-bit Arm CPU)
    neon_dotprod = 4,  // + the SDOT int8 dot product (Armv8.2 dotprod)
};

Isa detected_isa();  // the best this CPU and OS support
bool isa_supported(Isa isa);  // this CPU can run it (scalar always; the lower levels of its own family)
Isa cap_isa(Isa want);  // want when supported, else detected_isa()
Isa active_isa();    // detected_isa() capped by GMG_ISA; computed once
bool has_avx512_bf16();  // detected, whatever GMG_ISA says
std::string_view isa_name(Isa isa);
std::optional<Isa> isa_from_name(std::string_view name);

}  // namespace gmg::cpu
