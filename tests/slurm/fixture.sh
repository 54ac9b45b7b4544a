#!/usr/bin/env bash
# CTest fixture of the slurm tests: brings the single-node cluster up once before them and
# down after them (scripts/slurm-local.sh).
#   fixture.sh up   STATE_DIR   exit 0 (up), 77 (SKIP: cannot start here; the reason goes to
#                               STATE_DIR/unavailable.txt for the tests to repeat), else failure
#   fixture.sh down STATE_DIR   stops the cluster unless it was already up before `up` (a
#                               developer's cluster is left as found); fails if anything is
#                               left running
set -uo pipefail
slurm_local="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/slurm-local.sh"
cmd="${1:?usage: fixture.sh up|down STATE_DIR}"
state="${2:?usage: fixture.sh up|down STATE_DIR}"
mkdir -p "$state"

case "$cmd" in
  up)
    rm -f "$state/unavailable.txt" "$state/was-up"
    if "$slurm_local" status >/dev/null 2>&1; then
      touch "$state/was-up"
      echo "fixture: a cluster is already up; using it and leaving it up afterwards"
    fi
    "$slurm_local" up 2>"$state/up.err"
    rc=$?
    cat "$state/up.err" >&2
    if [ "$rc" = 77 ]; then
      reason="$(grep 'cannot start Slurm here' "$state/up.err" | tail -1)"
      echo "${reason:-slurm-local.sh up exited 77}" >"$state/unavailable.txt"
      echo "SKIP: ${reason:-slurm-local.sh up exited 77}"
    fi
    exit "$rc"
    ;;
  down)
    if [ -e "$state/was-up" ]; then
      echo "fixture: the cluster was up before the tests: leaving it up"
      exit 0
    fi
    "$slurm_local" down
    rc=$?
    "$slurm_local" status >/dev/null 2>&1
    if [ "$?" != 3 ]; then
      echo "FAIL: a Slurm daemon is still running after down"
      "$slurm_local" status
      exit 1
    fi
    exit "$rc"
    ;;
  *)
    echo "usage: fixture.sh up|down STATE_DIR" >&2
    exit 2
    ;;
esac
