#!/usr/bin/env bash
# Builds everything and runs every test, from a fresh machine:
#   1. release build: unit, hostile-corpus, C API, install and oracle tests
#      (bit-exact against gguf-py, including every tensor of the real model)
#   2. ASan+UBSan build: the same tests except the large-model ones
#   3. clang libFuzzer build: the GGUF reader fuzzed for GMG_FUZZ_SECONDS (default 60)
#   4. GPU backends: the CUDA build (where nvcc is) and the HIP build (where hipcc is)
#      compiled, their GPU tests run (skipped without a device: none is needed to pass);
#      the same kernel sources built for the simulated device and their tests run there
# Ends with one line "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")"
jobs=$(nproc)
fuzz_seconds=${GMG_FUZZ_SECONDS:-60}
log=$(mktemp -d)
model=$(./setup.sh | tail -n 1)

passed=0
failed=0
count_ctest() {  # adds "X% tests passed, F tests failed out of T" from a ctest log
    local line f t
    line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$1" | tail -n 1)
    f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    t=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
    passed=$((passed + t - f))
    failed=$((failed + f))
}

echo "== release build and tests"
cmake --preset release -DGMG_BUILD_TESTS=ON -DGMG_BUILD_BENCH=ON -DGMG_REQUIRE_ORACLES=ON -DGMG_TEST_MODEL="$model" > "$log/configure.log"
cmake --build --preset release -j"$jobs" > "$log/build.log" 2>&1 || { tail -n 50 "$log/build.log"; exit 1; }
status=0
ctest --preset release -j"$jobs" 2>&1 | tee "$log/ctest-release.log" || status=1
count_ctest "$log/ctest-release.log"

echo "== ASan + UBSan build and tests"
cmake --preset asan -DGMG_TEST_MODEL="$model" > "$log/configure-asan.log"
cmake --build --preset asan -j"$jobs" > "$log/build-asan.log" 2>&1 || { tail -n 50 "$log/build-asan.log"; exit 1; }
ctest --preset asan -j"$jobs" 2>&1 | tee "$log/ctest-asan.log" || status=1
count_ctest "$log/ctest-asan.log"

echo "== libFuzzer: GGUF reader for ${fuzz_seconds}s"
cmake --preset fuzz > "$log/configure-fuzz.log"
cmake --build --preset fuzz -j"$jobs" > "$log/build-fuzz.log" 2>&1 || { tail -n 50 "$log/build-fuzz.log"; exit 1; }
fuzz_work=build-fuzz/corpus-work
mkdir -p "$fuzz_work"
if ./build-fuzz/bin/fuzz_gguf_reader -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix=build-fuzz/ "$fuzz_work" build/corpus/hostile build/corpus/valid \
        > "$log/fuzz.log" 2>&1; then
    grep -E "^Done|number_of_executed_units|new_units_added" "$log/fuzz.log"
    passed=$((passed + 1))
else
    tail -n 60 "$log/fuzz.log"
    echo "fuzzing found a problem: see build-fuzz/crash-* and $log/fuzz.log"
    failed=$((failed + 1))
    status=1
fi

echo "== GPU backends: compiled; their GPU tests skip without a device"
gpu_build() {  # PRESET: configure, build and run the preset's tests
    cmake --preset "$1" -DGMG_TEST_MODEL="$model" > "$log/configure-$1.log"
    cmake --build --preset "$1" -j"$jobs" > "$log/build-$1.log" 2>&1 || { tail -n 50 "$log/build-$1.log"; exit 1; }
    ctest --preset "$1" 2>&1 | tee "$log/ctest-$1.log" || status=1
    count_ctest "$log/ctest-$1.log"
}
nvcc_dir=$(dirname "$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)")
if [ -x "$nvcc_dir/nvcc" ]; then
    export PATH="$nvcc_dir:$PATH"
    gpu_build cuda
else
    echo "no nvcc: CUDA build not compiled"
fi
if command -v hipcc > /dev/null; then gpu_build hip; else echo "no hipcc: HIP build not compiled"; fi
echo "== GPU kernels on the simulated device (kernels/gpu/sim)"
gpu_build gpusim

echo "$passed passed, $failed failed"
exit $status
