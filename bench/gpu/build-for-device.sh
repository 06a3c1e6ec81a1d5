#!/usr/bin/env bash
# Builds build-cuda/ here for the GPU machine (which has nvcc but maybe not fmt,
# Eigen or Catch2): sm_90 SASS plus PTX, fmt header-only, so the binaries need
# only libc, libstdc++, libgomp and the driver there. Carry build-cuda with the
# device call: run(carry=["build-cuda"], command="bench/gpu/device-check.sh $OUT/gpu").
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build-cuda -DCMAKE_BUILD_TYPE=Release -DGMG_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="90" \
    -DGMG_FMT_HEADER_ONLY=ON -DGMG_BUILD_TESTS=ON -DGMG_BUILD_BENCH=ON -DGMG_BUILD_TOOLS=ON > /dev/null
cmake --build build-cuda -j"$(nproc)" --target gemmagguf gmg-gpu-tests gmg-bench-gpu gmg-make-random-model gmg-run gmg-bench
# Only what the device check runs travels (the carry limit is 64 MiB).
find build-cuda -name '*.o' -delete
du -sh build-cuda
