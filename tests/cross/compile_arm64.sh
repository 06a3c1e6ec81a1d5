#!/usr/bin/env bash
# Compiles the library (every source but the x86 kernel files) for 64-bit Arm with
# Debian's cross compiler, warnings as errors: proves the portable path builds
# there (no x86 intrinsic or header leaks out of kernels/cpu/x86/). NEON kernels
# are not written yet, so this is the path an Arm build runs (the reference kernels).
# usage: compile_arm64.sh SOURCE_DIR [CXX]
set -euo pipefail
src=$(cd "$1" && pwd)
cxx=${2:-aarch64-linux-gnu-g++}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
n=0
for f in "$src"/kernels/common/*.cpp "$src"/kernels/ref/*.cpp "$src"/kernels/cpu/*.cpp "$src"/lib/*/*.cpp; do
    "$cxx" -std=c++20 -O1 -fopenmp -Wall -Wextra -Werror -I"$src" -I"$src/include" -I/usr/include/eigen3 \
        -DGMG_VERSION_STRING='"cross"' -c "$f" -o "$out/$(basename "$f").o"
    n=$((n + 1))
done
echo "compiled $n sources for aarch64 with $cxx"
