#!/usr/bin/env bash
# fuzz/build-fuzzers.sh: configures build-fuzz/ for the libFuzzer targets (fuzz/fuzz_targets.cmake) and
# builds them, and nothing else: clang-14, -DINTEROP_BUILD_FUZZERS=ON (libFuzzer; coverage
# instrumentation for every library), -DINTEROP_SANITIZE=ON (ASan+UBSan), RelWithDebInfo, no tests,
# ccache when installed (the root CMakeLists.txt picks it up). Quick when nothing changed (about 1 s).
#
# The one place that knows how build-fuzz/ is configured. Used by fuzz/run-fuzzers.sh (long runs),
# `tools/dev test` (before ctest) and the ctest test fuzz_build (tests/fuzz/CMakeLists.txt), which the
# short fuzz runs fuzz_run.<target> depend on, so they never run a stale fuzzer.
#
# Exit status: 0 built; 1 configure or build failed; 2 clang-14 or libFuzzer missing.
# Environment: FUZZ_BUILD_DIR (default build-fuzz/ in the repository), FUZZ_JOBS (default 2).
# Holds a lock on FUZZ_BUILD_DIR/.build.lock, so two callers never build the tree at the same time.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
readonly ROOT
readonly BUILD="${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
readonly JOBS="${FUZZ_JOBS:-2}"
readonly APT_HINT="apt-get install -y clang-14 libclang-rt-14-dev llvm-14 (tools/dev setup installs them)"

missing() { printf 'fuzz/build-fuzzers.sh: error: %s\n' "$*" >&2; exit 2; }
die() { printf 'fuzz/build-fuzzers.sh: error: %s\n' "$*" >&2; exit 1; }

command -v clang++-14 >/dev/null 2>&1 || missing "clang++-14 not found, so the libFuzzer targets cannot be built: $APT_HINT"
if ! compgen -G "/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-$(uname -m).a" >/dev/null; then
  missing "libFuzzer for clang-14 (libclang_rt.fuzzer-$(uname -m).a) not found: $APT_HINT"
fi

mkdir -p "$BUILD"
exec 9>"$BUILD/.build.lock"
if ! flock -n 9; then
  printf '==> Waiting for another build of %s to finish\n' "$BUILD"
  flock 9
fi

printf '==> Configuring %s (clang-14, libFuzzer, ASan+UBSan)\n' "$BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DINTEROP_BUILD_FUZZERS=ON -DINTEROP_SANITIZE=ON -DINTEROP_BUILD_TESTS=OFF >"$BUILD/configure.log" 2>&1 ||
  { tail -n 30 "$BUILD/configure.log" >&2; die "configure failed (log: $BUILD/configure.log)"; }
printf '==> Building the fuzzers target in %s (-j%s)\n' "$BUILD" "$JOBS"
cmake --build "$BUILD" -j"$JOBS" --target fuzzers || die "build failed (in $BUILD)"
