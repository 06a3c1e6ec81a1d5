// The x86 kernels built for AVX2 + FMA + F16C (CMake gives this file those flags only).
#define GMG_X86_NS avx2
#include "kernels/cpu/x86/quant_dot_x86.inc"
