#!/usr/bin/env bash
# tests/fuzz/run-fuzz-target.sh NAME FUZZER SEEDS SECONDS WORK_DIR: the ctest test fuzz_run.NAME. Runs
# the libFuzzer binary FUZZER (built in build-fuzz/ by fuzz/build-fuzzers.sh, the test fuzz_build) for
# SECONDS, starting from a copy of its checked-in seeds SEEDS (fuzz/corpus/NAME/) in a temporary
# directory, which is removed afterwards: the checked-in corpus is only read.
#
# Exits 0 if libFuzzer ran for SECONDS without finding a failing input; 1 if it found one (crash,
# sanitizer report, FUZZ_CHECK, leak, timeout, out of memory), if FUZZER was not built (clang-14
# missing: the message says what to install), or if it did not run. Failing inputs are kept in
# WORK_DIR/artifacts/, libFuzzer's last log in WORK_DIR/last.log.
set -euo pipefail

[[ $# -eq 5 ]] || { echo "usage: $0 NAME FUZZER SEEDS SECONDS WORK_DIR" >&2; exit 2; }
readonly NAME="$1" FUZZER="$2" SEEDS="$3" SECONDS_TO_RUN="$4" WORK="$5"
readonly APT_HINT="apt-get install -y clang-14 libclang-rt-14-dev llvm-14 (tools/dev setup installs them)"
readonly PER_INPUT_TIMEOUT=10  # seconds; a parser taking longer on one input is a failure (a hang)

fail() { printf 'fuzz_run.%s: FAILED: %s\n' "$NAME" "$*"; exit 1; }

if [[ ! -x "$FUZZER" ]]; then
  if ! command -v clang++-14 >/dev/null 2>&1; then
    fail "clang++-14 is not installed, so the libFuzzer target $FUZZER was not built." \
      "These tests need clang-14 and libFuzzer: $APT_HINT; then run tools/dev test (or fuzz/build-fuzzers.sh)."
  fi
  fail "the libFuzzer target $FUZZER was not built: see the output of the test fuzz_build," \
    "or build it with fuzz/build-fuzzers.sh (tools/dev test does)."
fi
[[ -d "$SEEDS" ]] || fail "no seed corpus at $SEEDS"
[[ "$SECONDS_TO_RUN" =~ ^[1-9][0-9]*$ ]] || fail "SECONDS must be a positive whole number, got '$SECONDS_TO_RUN'"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/fuzz_run.$NAME.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/corpus" "$WORK/artifacts"
cp -R "$SEEDS/." "$TMP/corpus/"
seeds="$(find "$TMP/corpus" -type f | wc -l)"
touch "$TMP/start"

# Symbolized stack traces in sanitizer and libFuzzer reports (llvm-14); UBSan aborts on the first
# error (-fno-sanitize-recover), which libFuzzer reports as a crash.
if [[ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]]; then
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi
export UBSAN_OPTIONS="print_stacktrace=1:${UBSAN_OPTIONS:-}"

log="$WORK/last.log"
status=0
"$FUZZER" -max_total_time="$SECONDS_TO_RUN" -timeout="$PER_INPUT_TIMEOUT" -print_final_stats=1 \
  -artifact_prefix="$WORK/artifacts/" "$TMP/corpus" >"$log" 2>&1 || status=$?

runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
added="$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -n 1)"
coverage="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)"
seed="$(sed -n 's/^INFO: Seed: *//p' "$log" | head -n 1)"
printf 'fuzz_run.%s: %s for %s s from %s seeds: exit %s, %s runs, %s/s, %s, %s new inputs (libFuzzer seed %s)\n' \
  "$NAME" "$(basename "$FUZZER")" "$SECONDS_TO_RUN" "$seeds" "$status" "${runs:-?}" "${speed:-?}" \
  "${coverage:-cov: ?}" "${added:-?}" "${seed:-?}"

if [[ $status -ne 0 ]]; then
  # The report: from the first error line (sanitizer, FUZZ_CHECK, libFuzzer's own) to the end.
  first="$(grep -n -m 1 -E '==[0-9]+== ?ERROR|runtime error:|FUZZ_CHECK failed|ERROR: libFuzzer' "$log" |
    cut -d: -f1 || true)"
  printf '\n----- libFuzzer report (full log: %s) -----\n' "$log"
  if [[ -n "$first" ]]; then
    sed -n "$((first > 3 ? first - 3 : 1)),\$p" "$log" | head -n 200
  else
    tail -n 80 "$log"
  fi
  printf -- '-----\n\n'
  mapfile -t found < <(find "$WORK/artifacts" -type f -newer "$TMP/start" | sort)
  if [[ ${#found[@]} -gt 0 ]]; then
    printf 'Failing input(s):\n'
    printf '  %s\n' "${found[@]}"
    printf 'Reproduce: %s %s\n' "$FUZZER" "${found[0]}"
    printf 'Fix the parser, then add the input to fuzz/corpus/%s/ (under a name saying what it is),\n' "$NAME"
    printf 'so that fuzz_corpus.%s keeps it fixed.\n' "$NAME"
  fi
  fail "libFuzzer exited with status $status"
fi
[[ -n "$runs" && "$runs" -gt 0 ]] || { tail -n 40 "$log"; fail "libFuzzer did not report any run (log: $log)"; }
