#!/usr/bin/env bash
# Sets everything up (packages, build) and runs the main job on a built-in default:
# rankpool-fib at 3 ranks over a spread of inputs, the farm's overhead benchmark, and
# rankpool-crawl at 3 ranks over the built-in synthetic web (served on 127.0.0.2-.5 by
# rankpool-testweb), and rankpool-run farming a list of shell commands at 3 ranks. No
# network needed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$RANKPOOL_ROOT/scripts/setup.sh" release
echo
echo "== rankpool-fib at 3 ranks: mpirun -n 3 rankpool-fib 0:100:25 93 1000 100000 1000000 5000000 10000000 1000 =="
mpirun -n 3 "$RANKPOOL_BUILD/apps/fib/rankpool-fib" 0:100:25 93 1000 100000 1000000 5000000 10000000 1000
echo
echo "== the task farm against a hand-written MPI loop: mpirun -n 3 rankpool-bench =="
mpirun -n 3 "$RANKPOOL_BUILD/apps/bench/rankpool-bench" --repeat 3
echo
echo "== rankpool-run at 3 ranks: 40 shell commands, 2 worker ranks x 2 slots, a joblog =="
runwork="$(mktemp -d)"
echo "mpirun -q -n 3 rankpool-run --slots 2 --joblog run.log --tag 'sleep 0.{%}; echo task {#} of \$RANKPOOL_NTASKS on rank \$RANKPOOL_RANK slot {%}: {}' ::: alpha beta ::: \$(seq 20)"
# shellcheck disable=SC2016  # $RANKPOOL_* are expanded by each task's shell, not here
mpirun -q -n 3 "$RANKPOOL_BUILD/apps/run/rankpool-run" --slots 2 --joblog "$runwork/run.log" --tag \
  'sleep 0.{%}; echo task {#} of $RANKPOOL_NTASKS on rank $RANKPOOL_RANK slot {%}: {}' ::: alpha beta ::: $(seq 20) | tail -4
echo "run.log (GNU parallel's joblog format), first lines:"
head -4 "$runwork/run.log"
rm -rf "$runwork"
echo
echo "== rankpool-crawl at 3 ranks over the synthetic web (4 hosts on 127.0.0.2-5, 300 pages each) =="
work="$(mktemp -d)"
trap 'kill "$web_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
"$RANKPOOL_BUILD/apps/testweb/rankpool-testweb" --port 0 --hosts 4 --pages 300 --crawl-delay 0.01 >"$work/web.out" 2>"$work/web.err" &
web_pid=$!
for _ in $(seq 100); do grep -q '^origins:' "$work/web.out" && break; sleep 0.1; done
mapfile -t seeds < <(sed -n 's/^origins: //p' "$work/web.out" | tr ' ' '\n' | sed 's|$|/|')
out="${CRAWL_DEMO_OUT:-$PWD/crawl-demo}"  # --overwrite: a rerun of the demo replaces its crawl
echo "mpirun -n 3 rankpool-crawl --delay 0 --max-depth 8 --overwrite --out-dir $out ${seeds[*]}"
mpirun -n 3 "$RANKPOOL_BUILD/apps/crawl/rankpool-crawl" --delay 0 --max-depth 8 --overwrite --out-dir "$out" "${seeds[@]}"
echo "$out/summary.json (excerpt; pages.jsonl and links.tsv beside it):"
python3 - "$out/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"  pages {s['pages']}  links {s['links']}  {s['pages_per_s']:.0f} pages/s  status {s['status']}")
print(f"  not followed {s['not_followed']}")
for r in s["ranks"]:
    print(f"  rank {r['rank']} ({r['role']}): {r.get('pages', 0)} pages, peak RSS {r['peak_rss_kb'] // 1024} MiB")
PY
