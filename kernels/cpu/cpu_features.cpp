#include "kernels/cpu/cpu_features.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define GMG_X86 1
#elif defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#define GMG_ARM64 1
#endif

namespace gmg::cpu {
namespace {

struct Features {
    bool avx2 = false, avx512 = false, avx512_bf16 = false;
    bool neon = false, dotprod = false;
};

#ifdef GMG_X86
// XCR0: which register states the OS saves on a context switch. Using AVX
// registers the OS does not save corrupts them silently, so cpuid alone is not enough.
uint64_t xgetbv0() {
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

Features probe() {
    Features f;
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28), f16c = c & (1u << 29);
    if (!osxsave || !avx) return f;
    const uint64_t xcr0 = xgetbv0();
    const bool ymm_saved = (xcr0 & 0x6) == 0x6;         // SSE + AVX state
    const bool zmm_saved = (xcr0 & 0xe6) == 0xe6;       // + opmask, ZMM_Hi256, Hi16_ZMM
    if (!ymm_saved || __get_cpuid_max(0, nullptr) < 7) return f;
    __cpuid_count(7, 0, a, b, c, d);
    const bool avx2 = b & (1u << 5);
    const bool avx512f = b & (1u << 16), avx512bw = b & (1u << 30), avx512vl = b & (1u << 31);
    const bool vnni = c & (1u << 11);
    f.avx2 = avx2 && fma && f16c;
    f.avx512 = f.avx2 && zmm_saved && avx512f && avx512bw && avx512vl && vnni;
    __cpuid_count(7, 1, a, b, c, d);
    f.avx512_bf16 = f.avx512 && (a & (1u << 5));
    return f;
}
#elif defined(GMG_ARM64)
Features probe() {
    Features f;
    const unsigned long hwcap = getauxval(AT_HWCAP);
    f.neon = hwcap & HWCAP_ASIMD;
    f.dotprod = f.neon && (hwcap & HWCAP_ASIMDDP);
    return f;
}
#else
Features probe() { return {}; }
#endif

const Features& features() {
    static const Features f = probe();
    return f;
}

}  // namespace

Isa detected_isa() {
    const Features& f = features();
    if (f.neon) return f.dotprod ? Isa::neon_dotprod : Isa::neon;
    return f.avx512 ? Isa::avx512 : f.avx2 ? Isa::avx2 : Isa::scalar;
}

bool isa_supported(Isa isa) {
    const Features& f = features();
    switch (isa) {
        case Isa::scalar: return true;
        case Isa::avx2: return f.avx2;
        case Isa::avx512: return f.avx512;
        case Isa::neon: return f.neon;
        case Isa::neon_dotprod: return f.dotprod;
    }
    return false;
}

Isa cap_isa(Isa want) { return isa_supported(want) ? want : detected_isa(); }

bool has_avx512_bf16() { return features().avx512_bf16; }

Isa active_isa() {
    static const Isa isa = [] {
        const Isa best = detected_isa();
        const char* env = std::getenv("GMG_ISA");
        if (!env || !*env) return best;
        const std::optional<Isa> want = isa_from_name(env);
        if (!want) {
            std::fprintf(stderr, "gemmagguf: GMG_ISA=%s is not one of scalar, avx2, avx512, neon, neon_dotprod; using %s\n",
                         env, isa_name(best).data());
            return best;
        }
        return cap_isa(*want);
    }();
    return isa;
}

std::string_view isa_name(Isa isa) {
    switch (isa) {
        case Isa::scalar: return "scalar";
        case Isa::avx2: return "avx2";
        case Isa::avx512: return "avx512";
        case Isa::neon: return "neon";
        case Isa::neon_dotprod: return "neon_dotprod";
    }
    return "?";
}

std::optional<Isa> isa_from_name(std::string_view name) {
    for (Isa i : {Isa::scalar, Isa::avx2, Isa::avx512, Isa::neon, Isa::neon_dotprod})
        if (isa_name(i) == name) return i;
    return std::nullopt;
}

}  // namespace gmg::cpu
