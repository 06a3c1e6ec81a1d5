#!/usr/bin/env bash
# Instructions the NEON product kernels execute, counted under qemu-aarch64 (the
# machine here has no Arm core to time them on; instruction counts are repeatable,
# as callgrind's are on x86). For each type: one product of ROWS x K weights with
# 1 activation column (decode) and with 4 and 8 (a prompt's columns, read through
# the same row kernels), as instructions per 32 weights (per column for n > 1),
# on the dotprod kernel set (-cpu max), its repacked GEMMs (the layout the model
# reads where a type has one: "-" where not) and the plain NEON row kernels (-cpu cortex-a53).
# usage: count_neon_instructions.sh [OUT [TYPE...]]   (OUT defaults to build-arm64)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$src/build-arm64}
shift || true
types=("$@")
[ ${#types[@]} -gt 0 ] || types=(Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 IQ4_NL Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_XS IQ3_XXS IQ3_S F16 BF16)
cxx=${CXX_ARM64:-aarch64-linux-gnu-g++}
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64) || { echo "no qemu-aarch64(-static) found" >&2; exit 1; }
# one instruction per translation block: -singlestep until QEMU 8.0, -one-insn-per-tb from 8.1
one_insn=-singlestep
"$qemu" -h | grep -q -- -one-insn-per-tb && one_insn=-one-insn-per-tb
"$src/tests/cross/build_arm64.sh" "$src" "$out" "$cxx" > /dev/null
mapfile -t flags < "$out/flags"
# (the linker's warning about dlopen in libgomp is printed only if the link fails)
"$cxx" "${flags[@]}" -static -o "$out/neon_product" "$src/bench/arm/neon_product.cpp" \
    -Wl,--whole-archive "$out/libgmg-arm64.a" -Wl,--no-whole-archive > "$out/link.log" 2>&1 || { cat "$out/link.log"; exit 1; }
k=2304 rows=32  # k: a multiple of 256 (the K formats) and of 32
count() {  # CPU TYPE COLUMNS REPS [repacked] -> executed instructions (one per logged translation block)
    "$qemu" -cpu "$1" "$one_insn" -d nochain,exec -D /dev/stdout "$out/neon_product" "$2" $k $rows "$3" "$4" ${5:-} | grep -c '^Trace'
}
per32() {  # CPU TYPE COLUMNS [repacked] -> instructions per 32 weights and column, one product
    local one two
    if [ -n "${4:-}" ] && ! "$qemu" -cpu "$1" "$out/neon_product" "$2" $k $rows 1 0 repacked > /dev/null; then
        printf -- "-"
        return
    fi
    one=$(count "$1" "$2" "$3" 1 ${4:-})
    two=$(count "$1" "$2" "$3" 2 ${4:-})
    awk -v d=$((two - one)) -v n="$3" -v w=$((k * rows)) 'BEGIN { printf "%.1f", d * 32 / (w * n) }'
}
echo "| type | dotprod n=1 | n=4 | n=8 | dotprod repacked n=1 | n=4 | n=8 | plain NEON n=1 | n=4 | n=8 |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for t in "${types[@]}"; do
    line="| $t"
    for mode in "max" "max repacked" "cortex-a53"; do
        set -- $mode
        for n in 1 4 8; do line="$line | $(per32 "$1" "$t" $n ${2:-})"; done
    done
    echo "$line |"
done
