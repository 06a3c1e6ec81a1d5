#!/usr/bin/env bash
# Regenerates tests/golden/gemma3-270m-Q4_K_M/ from llama.cpp (via llama-cpp-python,
# installed once into .venv-golden: a ~10 minute source build). CI never runs this;
# it only reads the committed results.
# usage: tests/golden/make_goldens.sh [OUTDIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
model=$(./setup.sh | tail -n 1)
"$root/tests/golden/ensure_llama_cpp.sh"
out=${1:-tests/golden/gemma3-270m-Q4_K_M}
.venv-golden/bin/python tests/golden/make_goldens.py "$model" "$out" --tokens
