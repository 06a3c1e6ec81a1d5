// Qualifiers that let the same inline code compile for the host and for CUDA/HIP devices.
#pragma once

#if defined(__CUDACC__) || defined(__HIPCC__)
#define GMG_HOST_DEVICE __host__ __device__
#else
#define GMG_HOST_DEVICE
#endif
