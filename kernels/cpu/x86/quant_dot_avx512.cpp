// The x86 kernels built for AVX-512 F/BW/VL + VNNI + BF16 (CMake gives this file
// those flags only; the dispatcher calls it only on CPUs that have them).
#define GMG_X86_NS avx512
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/x86/quant_dot_x86.inc"
