#!/usr/bin/env bash
# Installs llama-cpp-python (built from source: llama.cpp's CPU backend for this
# machine) and the gguf/numpy helpers into .venv-golden, once.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if .venv-golden/bin/python -c "import llama_cpp, numpy, gguf" 2>/dev/null; then exit 0; fi
python3 -m venv .venv-golden
echo "installing llama-cpp-python into .venv-golden (builds llama.cpp, about 10 minutes)" >&2
CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) .venv-golden/bin/pip install -q --disable-pip-version-check \
    numpy gguf==0.19.0 llama-cpp-python==0.3.36 >&2
