#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: the release build, then the same suite
# under ASan+UBSan.   scripts/test.sh [--no-asan] [extra ctest args]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
asan=1
if [ "${1:-}" = "--no-asan" ]; then asan=0; shift; fi
cd "$RANKPOOL_ROOT"

"$RANKPOOL_ROOT/scripts/setup.sh" release
echo "== test suite (release) =="
ctest --preset release -j2 "$@"

if [ "$asan" = 1 ]; then
  "$RANKPOOL_ROOT/scripts/setup.sh" asan
  echo "== test suite (ASan+UBSan) =="
  # Open MPI's own allocations are reported as leaks at exit; they are not ours.
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=0" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    ctest --preset asan -j2 "$@"
fi
