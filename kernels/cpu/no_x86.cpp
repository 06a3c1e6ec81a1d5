// Non-x86 builds: the x86 tables stay empty, so every type takes the generic
// path (cpu_features.cpp never reports an x86 ISA there).
#include "kernels/cpu/kernel_table.h"

namespace gmg::cpu {
namespace avx2 { void fill(KernelSet*) {} }
namespace avx512 { void fill(KernelSet*) {} }
}  // namespace gmg::cpu
