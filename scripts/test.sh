#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: the release build, then the same suite
# under ASan+UBSan.   scripts/test.sh [--no-asan] [--fuzz] [extra ctest args]
# With --fuzz, or in CI (CI=true), the crawler's parsers are also fuzzed after the release
# suite: scripts/fuzz.sh with RANKPOOL_FUZZ_SECONDS per target (default 60; 0 skips it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
asan=1
fuzz=0
if [ "${CI:-}" = true ]; then fuzz=1; fi
while [ $# -gt 0 ]; do
  case "$1" in
    --no-asan) asan=0; shift ;;
    --fuzz) fuzz=1; shift ;;
    *) break ;;
  esac
done
fuzz_seconds="${RANKPOOL_FUZZ_SECONDS:-60}"
if [ "$fuzz_seconds" = 0 ]; then fuzz=0; fi
cd "$RANKPOOL_ROOT"

"$RANKPOOL_ROOT/scripts/setup.sh" release
echo "== test suite (release) =="
ctest --preset release -j2 "$@"

if [ "$fuzz" = 1 ]; then
  echo "== fuzzing (${fuzz_seconds} s per target) =="
  # CI fuzzes with a fixed seed: the same inputs every run, so CI fails on a change, not on
  # luck. New ground is covered by running scripts/fuzz.sh (a new seed each time).
  if [ "${CI:-}" = true ]; then export RANKPOOL_FUZZ_SEED="${RANKPOOL_FUZZ_SEED:-1}"; fi
  "$RANKPOOL_ROOT/scripts/fuzz.sh" "$fuzz_seconds"
fi

if [ "$asan" = 1 ]; then
  "$RANKPOOL_ROOT/scripts/setup.sh" asan
  echo "== test suite (ASan+UBSan) =="
  # Open MPI's own allocations are reported as leaks at exit; they are not ours.
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=0" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    ctest --preset asan -j2 "$@"
fi
