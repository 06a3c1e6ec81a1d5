#!/usr/bin/env bash
# Compiles every library source for 64-bit Arm (Debian's cross compiler) into
# OUT/libgmg-arm64.a, with a CMake Release build's flags plus -Wall -Wextra -Werror,
# so that no x86 intrinsic or header leaks out of kernels/cpu/x86/. Shared by tests/cross/test_arm64.sh and
# bench/arm/count_neon_instructions.sh; OUT/flags holds the compile flags for
# the programs they link against the archive (one per line).
# usage: build_arm64.sh SOURCE_DIR OUT [CXX]
set -euo pipefail
src=$(cd "$1" && pwd)
out=$2
cxx=${3:-aarch64-linux-gnu-g++}
mkdir -p "$out/include" "$out/obj"
# Header-only dependencies, copied so that the host's /usr/include stays out of the cross build.
cp -r /usr/include/fmt "$out/include/"
cp -r /usr/include/catch2 "$out/include/"
flags=(-std=c++20 -O3 -DNDEBUG -ffp-contract=off -fopenmp -Wall -Wextra -Werror -I"$src" -I"$src/include" -I/usr/include/eigen3 -I"$out/include"
       -DFMT_HEADER_ONLY -DGMG_VERSION_STRING='"cross"')
printf '%s\n' "${flags[@]}" > "$out/flags"
objs=()
pids=()
compile() {  # FILE [EXTRA FLAGS...]: in the background, at most nproc at once
    local f=$1
    shift
    local o
    o="$out/obj/$(echo "${f#"$src"/}" | tr / _).o"
    objs+=("$o")
    while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
    "$cxx" "${flags[@]}" "$@" -c "$f" -o "$o" &
    pids+=($!)
}
for f in "$src"/kernels/common/*.cpp "$src"/kernels/ref/*.cpp "$src"/kernels/cpu/*.cpp "$src"/lib/*/*.cpp \
         "$src"/kernels/gpu/host_emulation.cpp "$src"/kernels/cpu/arm/quant_dot_neon.cpp; do
    [ "$(basename "$f")" = no_arm.cpp ] && continue
    compile "$f"
done
compile "$src"/kernels/cpu/arm/quant_dot_neon_dotprod.cpp -march=armv8.2-a+dotprod
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ $failed = 0 ] || { echo "the aarch64 build failed"; exit 1; }
rm -f "$out/libgmg-arm64.a"
"${AR:-$("$cxx" -print-prog-name=ar)}" rcs "$out/libgmg-arm64.a" "${objs[@]}"
echo "compiled ${#objs[@]} library sources for aarch64 with $cxx"
