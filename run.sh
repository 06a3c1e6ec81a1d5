#!/usr/bin/env bash
# The main job, from a fresh machine: install what is needed, build, and run
# gmg-inspect on the default model (the real Gemma3-270M Q4_K_M GGUF).
# Extra arguments go to gmg-inspect, e.g.  ./run.sh --json
set -euo pipefail
cd "$(dirname "$0")"
model=$(./setup.sh | tail -n 1)
cmake --preset release > /dev/null
cmake --build --preset release -j"$(nproc)" --target gmg-inspect > /dev/null
exec ./build/bin/gmg-inspect "$model" "$@"
