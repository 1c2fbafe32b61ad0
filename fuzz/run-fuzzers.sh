#!/usr/bin/env bash
# fuzz/run-fuzzers.sh [SECONDS]: builds the libFuzzer targets (fuzz/fuzz_targets.cmake) with
# clang-14, AddressSanitizer and UndefinedBehaviorSanitizer in build-fuzz/, then runs each of them
# for SECONDS (default 600), one after the other, starting from its checked-in seeds
# (fuzz/corpus/<target>/). Exits 0 if no target found a failing input, 1 otherwise.
#
# Output, all under build-fuzz/:
#   fuzz-corpus/<target>/      inputs the fuzzer found interesting (kept between runs; never checked in)
#   fuzz-artifacts/<target>/   crash-*, leak-*, timeout-* inputs, if any
#   fuzz-logs/<target>.log     libFuzzer's output, with the final stats
# Reproduce a failure with: build-fuzz/fuzz/<target> build-fuzz/fuzz-artifacts/<target>/crash-...
#
# Needs clang-14 and libFuzzer (Debian 12: apt-get install -y clang-14 libclang-rt-14-dev llvm-14;
# tools/dev setup installs them). The build is fuzz/build-fuzzers.sh's; FUZZ_JOBS (default 2) is its
# parallelism. The test suite runs each target briefly (ctest tests fuzz_run.<target>, fuzz/README.md).
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
readonly ROOT
readonly BUILD="$ROOT/build-fuzz"
readonly RUN_SECONDS="${1:-600}"
readonly JOBS="${FUZZ_JOBS:-2}"

die() { printf 'fuzz/run-fuzzers.sh: error: %s\n' "$*" >&2; exit 2; }

[[ "$RUN_SECONDS" =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a positive whole number, got '$RUN_SECONDS'"

# The targets, as fuzz/fuzz_targets.cmake lists them.
read -ra TARGETS <<<"$(sed -n 's/^set(INTEROP_FUZZ_TARGETS \(.*\))$/\1/p' "$ROOT/fuzz/fuzz_targets.cmake")"
[[ ${#TARGETS[@]} -gt 0 ]] || die "no targets found in fuzz/fuzz_targets.cmake"

# Configures and builds build-fuzz/ (clang-14, libFuzzer, ASan+UBSan): exit 2 if the toolchain is missing.
FUZZ_BUILD_DIR="$BUILD" FUZZ_JOBS="$JOBS" "$ROOT/fuzz/build-fuzzers.sh" || exit 2

mkdir -p "$BUILD/fuzz-logs"
failed=()
for target in "${TARGETS[@]}"; do
  corpus="$BUILD/fuzz-corpus/$target"
  artifacts="$BUILD/fuzz-artifacts/$target"
  log="$BUILD/fuzz-logs/$target.log"
  mkdir -p "$corpus" "$artifacts"
  printf '==> %s for %s s (log %s)\n' "$target" "$RUN_SECONDS" "${log#"$ROOT"/}"
  status=0
  # New inputs go to the first directory; the checked-in seeds are only read.
  "$BUILD/fuzz/$target" -max_total_time="$RUN_SECONDS" -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$corpus" "$ROOT/fuzz/corpus/$target" >"$log" 2>&1 || status=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
  coverage="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)"
  printf '    exit %s, %s runs, %s/s, %s, corpus %s files\n' "$status" "${runs:-?}" "${speed:-?}" \
    "${coverage:-cov: ?}" "$(find "$corpus" -type f | wc -l)"
  if [[ $status -ne 0 ]]; then
    failed+=("$target")
    grep -E 'ERROR|FUZZ_CHECK|SUMMARY|Test unit written' "$log" | head -n 10 | sed 's/^/    /'
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  printf '==> FAILED: %s (inputs in %s/fuzz-artifacts/)\n' "${failed[*]}" "$BUILD"
  exit 1
fi
printf '==> All %d targets ran %s s each without a failure\n' "${#TARGETS[@]}" "$RUN_SECONDS"
