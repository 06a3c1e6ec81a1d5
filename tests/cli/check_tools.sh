#!/usr/bin/env bash
# The gmg-* tools as a user runs them: exit codes, stdout holding only the
# generated text or the ids, one-line errors. usage: check_tools.sh BIN_DIR MODEL
set -uo pipefail
bin=$1
model=$2
passed=0
failed=0
check() {  # check NAME CONDITION-COMMAND...
    local name=$1
    shift
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL $name" >&2; fi
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin/gmg-tokenize" -m "$model" -p "Hello world" > "$work/ids" 2> "$work/err"
check "tokenize prints ids" grep -qx "2 9259 1902" "$work/ids"
"$bin/gmg-tokenize" -m "$model" -p "<start_of_turn>user" --parse-special --no-bos > "$work/ids2"
check "tokenize --parse-special --no-bos" grep -qx "105 2364" "$work/ids2"

"$bin/gmg-run" -m "$model" -p "The capital of France is" -n 8 --temp 0 -t 2 > "$work/out" 2> "$work/log"
check "run exits 0" test $? -eq 0
# llama.cpp greedy continues " the capital of the country of France." (tests/golden greedy.json)
check "run prints the continuation on stdout" grep -q "the capital of the country of France" "$work/out"
check "run keeps logs on stderr" grep -q "tokens generated" "$work/log"
check "stdout has no log lines" bash -c "! grep -q 'gmg-run' '$work/out'"

"$bin/gmg-run" -m "$model" -p "Hi" -n 4 --temp 0.8 --seed 5 > "$work/s1" 2>/dev/null
"$bin/gmg-run" -m "$model" -p "Hi" -n 4 --temp 0.8 --seed 5 > "$work/s2" 2>/dev/null
check "same seed, same text" cmp -s "$work/s1" "$work/s2"

"$bin/gmg-run" -m "$model" -p "Hello" -n 0 --dump-logits "$work/logits.f32" > /dev/null 2>&1
check "dump-logits writes [2][262144] floats" test "$(stat -c %s "$work/logits.f32")" -eq $((2 * 262144 * 4))

head -c 20000 /dev/zero | tr '\0' 'a' | sed 's/aaaa/a b /g' > "$work/long.txt"
"$bin/gmg-run" -m "$model" -f "$work/long.txt" -c 256 -n 4 > /dev/null 2> "$work/err"
rc=$?
check "prompt longer than the context: exit 1" test $rc -eq 1
check "prompt longer than the context: says so" grep -q "exceed the context length 256" "$work/err"

"$bin/gmg-run" -m /nonexistent.gguf -p x > /dev/null 2> "$work/err"
rc=$?
check "missing model: exit 1, one line" bash -c "test $rc -eq 1 && test \$(wc -l < '$work/err') -eq 1"
"$bin/gmg-run" -m "$model" --bogus > /dev/null 2>&1
check "unknown flag: exit 2" test $? -eq 2
"$bin/gmg-run" -m "$model" -p x -t -3 > /dev/null 2>&1
check "negative threads: exit 2" test $? -eq 2

# gmg-bench after a filled context (-d, llama-bench's depth): past the sliding
# window, rewound between repetitions; llama-bench's JSON fields.
"$bin/gmg-bench" -m "$model" -p 16 -n 4 -d 600 -b 64 -r 2 -t 2 --json > "$work/bench.json" 2> "$work/err"
check "bench -d exits 0" test $? -eq 0
check "bench -d names its tests and depth" python3 -c "
import json, sys
r = json.load(open('$work/bench.json'))
assert [x['test'] for x in r] == ['pp16 @ d600', 'tg4 @ d600'], r
assert all(x['n_depth'] == 600 and x['avg_ts'] > 0 and len(x['samples_ns']) == 2 for x in r), r
"
"$bin/gmg-bench" -m "$model" -p 16 -n 0 -d -1 > /dev/null 2>&1
check "bench negative depth: exit 2" test $? -eq 2
"$bin/gmg-bench" -m "$model" -p 16 -n 0 -d 40000 > /dev/null 2> "$work/err"
rc=$?
check "bench depth past the context: exit 2, says so" bash -c "test $rc -eq 2 && grep -q 'exceeds the model' '$work/err'"

echo "$passed passed, $failed failed"
test $failed -eq 0
