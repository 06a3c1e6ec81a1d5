// The NEON kernels for every 64-bit Arm CPU (baseline Advanced SIMD).
#define GMG_NEON_NS neon
#include "kernels/cpu/arm/quant_dot_neon.inc"
