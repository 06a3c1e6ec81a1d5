#!/usr/bin/env bash
# The AArch64 build, proven here on x86-64 with Debian's cross compiler and qemu-user:
#   1. every library source compiles for 64-bit Arm with -Wall -Wextra -Werror (no
#      x86 intrinsic or header leaks out of kernels/cpu/x86/);
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
# Header-only dependencies, copied so that the host's /usr/include stays out of the cross build.
mkdir -p "$out/include"
cp -r /usr/include/fmt "$out/include/"
cp -r /usr/include/catch2 "$out/include/"
flags=(-std=c++20 -O2 -fopenmp -Wall -Wextra -Werror -I"$src" -I"$src/include" -I/usr/include/eigen3 -I"$out/include"
       -DFMT_HEADER_ONLY -DGMG_VERSION_STRING='"cross"')
objs=()
compile() {  # FILE [EXTRA FLAGS...]
    local f=$1
    shift
    local o
    o="$out/$(echo "${f#"$src"/}" | tr / _).o"
    "$cxx" "${flags[@]}" "$@" -c "$f" -o "$o"
    objs+=("$o")
}
for f in "$src"/kernels/common/*.cpp "$src"/kernels/ref/*.cpp "$src"/kernels/cpu/*.cpp "$src"/lib/*/*.cpp \
         "$src"/kernels/gpu/host_emulation.cpp "$src"/kernels/cpu/arm/quant_dot_neon.cpp; do
    [ "$(basename "$f")" = no_arm.cpp ] && continue
    compile "$f"
done
compile "$src"/kernels/cpu/arm/quant_dot_neon_dotprod.cpp -march=armv8.2-a+dotprod
echo "compiled ${#objs[@]} library sources for aarch64 with $cxx"
lib_objs=("${objs[@]}")
objs=()
compile "$src"/tests/unit/catch_main.cpp
compile "$src"/tests/unit/test_cpu_kernels.cpp
compile "$src"/tests/unit/test_gpu_group_decode.cpp
"$cxx" -static -fopenmp -o "$out/kernel-tests" "${objs[@]}" "${lib_objs[@]}"
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
