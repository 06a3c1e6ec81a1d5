#!/usr/bin/env bash
# The main job, from a fresh machine: install what is needed (Debian packages, a
# Python venv with the Gemma3-270M Q4_K_M model package), build, and generate text.
#   ./run.sh                         answers "What is kindness?" with the default model
#   ./run.sh -p "Once upon a time" -n 100 --temp 0.8 --seed 1    any gmg-run options
#   ./run.sh --inspect [--json]      gmg-inspect on the default model instead
set -euo pipefail
cd "$(dirname "$0")"
model=$(./setup.sh | tail -n 1)
cmake --preset release > /dev/null
cmake --build --preset release -j"$(nproc)" --target gmg-run gmg-inspect > /dev/null
if [ "${1:-}" = "--inspect" ]; then
    shift
    exec ./build/bin/gmg-inspect "$model" "$@"
fi
if [ $# -eq 0 ]; then
    # The packaged model is the pretrained (not instruction-tuned) 270M: it answers
    # best when the question is written as the start of a document.
    set -- -p $'Question: What is kindness?\nAnswer:' -n 64 --temp 0 --repeat-penalty 1.1
fi
exec ./build/bin/gmg-run -m "$model" "$@"
