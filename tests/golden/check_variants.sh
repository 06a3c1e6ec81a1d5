#!/usr/bin/env bash
# Slow target (ctest -L slow): the same checks as the committed goldens, live
# against llama.cpp, for
#   1. the Gemma3-270M file requantized with llama.cpp into Q8_0, Q6_K, Q4_K_S,
#      IQ4_XS, IQ3_XXS, Q3_K_M and BF16 (from the Q4_K_M file: allow_requantize);
#   2. a Gemma3-1B-shaped model with random weights quantized into each of the 12
#      LEM-Gemma3-1B-GGUF types (prompt logits only);
# each checked twice: on this CPU's best kernels, and under GMG_ISA=avx2 with
# position 0 held to llama.cpp's plain path bit for bit (check_goldens.py --pos0-exact).
# Results: BUILD/variants/report.md. usage: check_variants.sh BUILD_DIR MODEL.gguf
set -euo pipefail
build=$(cd "$1" && pwd)
model=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/tests/golden/ensure_llama_cpp.sh"
py=$root/.venv-golden/bin/python
work=$build/variants
mkdir -p "$work"
report=$work/report.md
echo "| model | type | check | result |" > "$report"
echo "|---|---|---|---|" >> "$report"
status=0
run_check() {  # NAME GGUF GOLDEN_DIR TYPE (not in a subshell: it sets $status)
    if "$root/.venv/bin/python" "$root/tests/golden/check_goldens.py" "$build" "$2" "$3" --threads 2 \
            --report "$3/ours.json" > "$3/check.log" 2>&1; then :; else status=1; fi
    sed -E "s/^(ok  |FAIL) ([^:]+): (.*)$/| $1 | \2 | \1 \3 |/" "$3/check.log" | grep "^|" >> "$report" || true
    echo "$1: $(tail -n 1 "$3/check.log")"
    # Position 0 bit for bit against llama.cpp's plain path, on the AVX2 kernels (x86 only).
    # Not for BF16: on an AVX512-BF16 CPU llama.cpp multiplies BF16 with vdpbf16ps pairs,
    # which the AVX2 kernels do not imitate (docs/accuracy.md); its distance is only reported.
    if grep -qw avx2 /proc/cpuinfo; then
        exact=--pos0-exact
        [ "$4" = BF16 ] && exact=
        if GMG_ISA=avx2 "$root/.venv/bin/python" "$root/tests/golden/check_goldens.py" "$build" "$2" "$3" --threads 2 \
                $exact --logits-only --report "$3/ours-avx2.json" > "$3/check-avx2.log" 2>&1; then :; else status=1; fi
        sed -E "s/^(ok  |FAIL) ([^:]+): (.*)$/| $1 | \2 (AVX2) | \1 \3 |/" "$3/check-avx2.log" | grep "^|" >> "$report" || true
        echo "$1 (AVX2, position 0 exact): $(tail -n 1 "$3/check-avx2.log")"
    fi
}

for type in Q8_0 Q6_K Q4_K_S IQ4_XS IQ3_XXS Q3_K_M BF16; do
    out=$work/gemma3-270m-$type
    mkdir -p "$out"
    [ -f "$out/model.gguf" ] || "$py" "$root/tests/golden/quantize.py" "$model" "$out/model.gguf" "$type"
    "$py" "$root/tests/golden/make_goldens.py" "$out/model.gguf" "$out" --long-tokens 600 \
        --greedy-prompts 4 --n-greedy 32 > "$out/make.log" 2>&1
    run_check "270M $type" "$out/model.gguf" "$out" "$type"
done

random=$work/random-1b-bf16.gguf
[ -f "$random" ] || "$root/.venv/bin/python" "$root/tests/golden/make_random_gemma3.py" "$model" "$random"
for type in IQ3_XXS IQ3_XS Q3_K_S Q3_K_M IQ4_XS Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K Q8_0 BF16; do
    out=$work/random-1b-$type
    mkdir -p "$out"
    if [ "$type" = BF16 ]; then ln -sf "$random" "$out/model.gguf"
    elif [ ! -f "$out/model.gguf" ]; then "$py" "$root/tests/golden/quantize.py" "$random" "$out/model.gguf" "$type"; fi
    "$py" "$root/tests/golden/make_goldens.py" "$out/model.gguf" "$out" --quick > "$out/make.log" 2>&1
    run_check "1B-shape $type" "$out/model.gguf" "$out" "$type"
    [ "$type" = BF16 ] || rm -f "$out/model.gguf"
done
"$root/.venv/bin/python" "$root/tests/golden/summarize_variants.py" "$work" > "$work/summary.md"
echo "report: $report, summary: $work/summary.md"
cat "$work/summary.md"
exit $status
