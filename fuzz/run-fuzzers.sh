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
# Needs clang-14 and libFuzzer (Debian 12: apt-get install -y clang-14 libclang-rt-14-dev).
# FUZZ_JOBS (default 2) is the build's parallelism.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
readonly ROOT
readonly BUILD="$ROOT/build-fuzz"
readonly RUN_SECONDS="${1:-600}"
readonly JOBS="${FUZZ_JOBS:-2}"

die() { printf 'fuzz/run-fuzzers.sh: error: %s\n' "$*" >&2; exit 2; }

[[ "$RUN_SECONDS" =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a positive whole number, got '$RUN_SECONDS'"
command -v clang++-14 >/dev/null 2>&1 || die "clang++-14 not found: apt-get install -y clang-14 libclang-rt-14-dev"
if ! compgen -G "/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null &&
   ! compgen -G "/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a" >/dev/null; then
  die "libFuzzer for clang-14 not found: apt-get install -y libclang-rt-14-dev"
fi

# The targets, as fuzz/fuzz_targets.cmake lists them.
read -ra TARGETS <<<"$(sed -n 's/^set(INTEROP_FUZZ_TARGETS \(.*\))$/\1/p' "$ROOT/fuzz/fuzz_targets.cmake")"
[[ ${#TARGETS[@]} -gt 0 ]] || die "no targets found in fuzz/fuzz_targets.cmake"

printf '==> Configuring %s (clang-14, ASan+UBSan, libFuzzer)\n' "$BUILD"
mkdir -p "$BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DINTEROP_BUILD_FUZZERS=ON -DINTEROP_SANITIZE=ON -DINTEROP_BUILD_TESTS=OFF >"$BUILD/configure.log" 2>&1 ||
  { tail -n 30 "$BUILD/configure.log" >&2; die "configure failed (log: $BUILD/configure.log)"; }
printf '==> Building %s\n' "${TARGETS[*]}"
cmake --build "$BUILD" -j"$JOBS" --target fuzzers

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
