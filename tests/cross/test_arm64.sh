#!/usr/bin/env bash
# The AArch64 build, proven here on x86-64 with Debian's cross compiler and qemu-user:
#   1. every library source compiles for 64-bit Arm with -Wall -Wextra -Werror
#      (build_arm64.sh);
#   2. the CPU kernel tests (tests/unit/test_cpu_kernels.cpp, the NEON kernels of
#      every format against the scalar reference) are linked statically and run
#      under qemu-aarch64 twice: as a Cortex-A53 (plain NEON) and as a CPU with the
#      dotprod extension (SDOT), so both NEON kernel sets are exercised.
# Without qemu-aarch64-static, step 2 stops after linking.
# usage: test_arm64.sh SOURCE_DIR [CXX]
set -euo pipefail
src=$(cd "$1" && pwd)
cxx=${2:-aarch64-linux-gnu-g++}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ -n "${GMG_KEEP_CROSS:-}" ] && trap - EXIT && echo "keeping $out"
"$src/tests/cross/build_arm64.sh" "$src" "$out" "$cxx"
mapfile -t flags < "$out/flags"
objs=()
for f in catch_main test_cpu_kernels test_gpu_group_decode; do
    "$cxx" "${flags[@]}" -c "$src/tests/unit/$f.cpp" -o "$out/$f.o"
    objs+=("$out/$f.o")
done
"$cxx" -static -fopenmp -o "$out/kernel-tests" "${objs[@]}" -Wl,--whole-archive "$out/libgmg-arm64.a" -Wl,--no-whole-archive
echo "linked the kernel tests for aarch64"
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
if [ -z "$qemu" ]; then
    echo "no qemu-aarch64: the NEON kernels were compiled and linked, not run"
    exit 0
fi
for cpu in cortex-a53 max; do
    echo "== qemu-aarch64 -cpu $cpu"
    "$qemu" -cpu "$cpu" "$out/kernel-tests" "[kernels],[gpu]" > "$out/qemu-$cpu.log" 2>&1 || { tail -n 60 "$out/qemu-$cpu.log"; exit 1; }
    tail -n 2 "$out/qemu-$cpu.log"
done
