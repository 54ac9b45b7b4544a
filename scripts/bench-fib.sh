#!/usr/bin/env bash
# Benchmark of rankpool-fib on uneven tasks: a plain single-process loop (rankpool-fib-seq,
# same GMP calls) against rankpool-fib dynamic and static at 2 and 3 ranks, in one run.
#   scripts/bench-fib.sh [COUNT] [MIN_N] [MAX_N] [uniform|log]     (default 256 inputs in [10^5, 2*10^7]:
# the sequential loop takes 10-15 s here)
# Prints wall seconds of the whole mpirun (start-up included) and of the farm's run as it
# reports it (--stats-json), the parallel efficiency sequential / (time × cores) for both,
# cores = the machine's cores, and checks every run's values against the sequential ones.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
count="${1:-256}" lo="${2:-100000}" hi="${3:-20000000}" dist="${4:-uniform}"
case "$dist" in uniform|log) ;; *) echo "bench-fib: distribution must be uniform or log" >&2; exit 2;; esac
bin="$RANKPOOL_BUILD/apps/fib"
[ -x "$bin/rankpool-fib" ] || { echo "bench-fib: build first (scripts/setup.sh)" >&2; exit 2; }
cores=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Deterministic uneven inputs, shuffled so that big ones are not all at one end.
# "log" draws log-uniformly: many small inputs and a few huge ones, the uneven case.
python3 - "$count" "$lo" "$hi" "$dist" > "$work/inputs.txt" <<'PY'
import math, random, sys
count, lo, hi = map(int, sys.argv[1:4])
rng = random.Random(20261125)
if sys.argv[4] == "log":
    xs = [int(math.exp(rng.uniform(math.log(lo), math.log(hi)))) for _ in range(count)]
else:
    xs = [rng.randint(lo, hi) for _ in range(count)]
rng.shuffle(xs)
print("\n".join(map(str, xs)))
PY

now() { date +%s.%N; }
key() { python3 -c 'import json,sys; [print(r["n"],r["digits"],r["head"],r["tail"]) for r in map(json.loads, sys.stdin)]'; }

t0=$(now); "$bin/rankpool-fib-seq" --inputs "$work/inputs.txt" > "$work/seq.jsonl"; t1=$(now)
seq_s=$(python3 -c "print($t1 - $t0)")
key < "$work/seq.jsonl" > "$work/seq.key"

printf 'rankpool-fib benchmark: %s inputs in [%s, %s] (%s), %s cores\n' "$count" "$lo" "$hi" "$dist" "$cores"
printf '%-28s %10s %12s %10s %12s\n' "run" "seconds" "efficiency" "farm s" "efficiency"
printf '%-28s %10.2f %12s\n' "sequential loop (1 core)" "$seq_s" "(baseline)"
for n in 2 3; do
  for sched in dynamic static; do
    t0=$(now)
    mpirun -n "$n" "$bin/rankpool-fib" --quiet --format jsonl --schedule "$sched" \
      --stats-json "$work/stats.json" --inputs "$work/inputs.txt" > "$work/out.jsonl"
    t1=$(now)
    s=$(python3 -c "print($t1 - $t0)")
    key < "$work/out.jsonl" | cmp -s - "$work/seq.key" || { echo "bench-fib: -n $n $sched results differ from the sequential loop" >&2; exit 1; }
    eff=$(python3 -c "print($seq_s / ($s * $cores))")
    farm_s=$(python3 -c "import json; print(json.load(open('$work/stats.json'))['wall_s'])")
    farm_eff=$(python3 -c "print($seq_s / ($farm_s * $cores))")
    printf '%-28s %10.2f %12.3f %10.2f %12.3f\n' "rankpool-fib -n $n $sched" "$s" "$eff" "$farm_s" "$farm_eff"
  done
done
