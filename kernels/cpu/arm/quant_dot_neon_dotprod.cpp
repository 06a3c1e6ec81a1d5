// The NEON kernels with the Armv8.2 SDOT dot product (CMake gives this file +dotprod only).
#define GMG_NEON_NS neon_dotprod
#include "kernels/cpu/arm/quant_dot_neon.inc"
