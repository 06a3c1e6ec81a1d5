// The x86 kernels built for AVX-512 F/BW/VL + VNNI + BF16 (CMake gives this file
// those flags only; the dispatcher calls it only on CPUs that have them).
#define GMG_X86_NS avx512
// GCC 12 warns that the undefined upper halves of its own AVX-512 cast intrinsics
// "may be used uninitialized" (they are by definition don't-care); silence that here only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/x86/quant_dot_x86.inc"
