#!/usr/bin/env bash
# Sets everything up (packages, build) and runs the main job on a built-in default:
# rankpool-fib at 3 ranks over a spread of inputs, then the farm's overhead benchmark.
# No network needed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$RANKPOOL_ROOT/scripts/setup.sh" release
echo
echo "== rankpool-fib at 3 ranks: mpirun -n 3 rankpool-fib 0:100:25 93 1000 100000 1000000 5000000 10000000 1000 =="
mpirun -n 3 "$RANKPOOL_BUILD/apps/fib/rankpool-fib" 0:100:25 93 1000 100000 1000000 5000000 10000000 1000
echo
echo "== the task farm against a hand-written MPI loop: mpirun -n 3 rankpool-bench =="
mpirun -n 3 "$RANKPOOL_BUILD/apps/bench/rankpool-bench" --repeat 3
