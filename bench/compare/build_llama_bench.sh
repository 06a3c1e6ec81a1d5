#!/usr/bin/env bash
# Builds llama.cpp's llama-bench (and llama-quantize, which make_bench_models.sh
# uses) from the source that the llama-cpp-python package carries (the same
# version as our goldens), into build-llama/ (tuned to this CPU), or with --avx2
# into build-llama-avx2/ (AVX2 and FMA only, as on a CPU without AVX-512: compare
# against GMG_ISA=avx2).
# Never committed; only for the side-by-side comparison in compare.py.
# usage: build_llama_bench.sh [--avx2]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
version=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}
out="$root/build-llama"
cpu_flags=(-DGGML_NATIVE=ON)
if [[ "${1:-}" == --avx2 ]]; then
    out="$root/build-llama-avx2"
    cpu_flags=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF)
fi
if [[ -x "$out/bin/llama-bench" && -x "$out/bin/llama-quantize" ]]; then echo "$out/bin/llama-bench"; exit 0; fi
mkdir -p "$out/src"
sdist="$out/src/llama_cpp_python-$version.tar.gz"
if [[ ! -f "$sdist" ]]; then
    python3 -m pip download -q --no-deps --no-binary :all: -d "$out/src" "llama-cpp-python==$version" >&2
fi
tar -xzf "$sdist" -C "$out/src"
src="$out/src/llama_cpp_python-$version/vendor/llama.cpp"
cmake -S "$src" -B "$out/cmake" -DCMAKE_BUILD_TYPE=Release "${cpu_flags[@]}" -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=ON >&2
cmake --build "$out/cmake" --target llama-bench llama-quantize -j "$(nproc)" >&2
mkdir -p "$out/bin"
cp "$out/cmake/bin/llama-bench" "$out/cmake/bin/llama-quantize" "$out/bin/"
cp -P "$out"/cmake/bin/*.so* "$out/bin/" 2>/dev/null || true
echo "$out/bin/llama-bench"
