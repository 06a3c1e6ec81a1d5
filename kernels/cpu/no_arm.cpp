// Builds for other architectures: the NEON tables stay empty (cpu_features.cpp
// never reports a NEON ISA there).
#include "kernels/cpu/kernel_table.h"

namespace gmg::cpu {
namespace neon { void fill(KernelSet*) {} }
namespace neon_dotprod { void fill(KernelSet*) {} }
}  // namespace gmg::cpu
