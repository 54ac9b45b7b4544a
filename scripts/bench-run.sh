#!/usr/bin/env bash
# Benchmark of rankpool-run against the machine's spawn rate and GNU parallel, in one run.
#   scripts/bench-run.sh [N_TRUE] [N_SLEEP]        (default 5000 tasks of /bin/true, 400 sleeps)
# 1. N_TRUE tasks of /bin/true: bound by process creation. Baseline: xargs -P <cores> -n 1 true
#    (the physical limit: no shell, no bookkeeping); GNU parallel -j <cores>; rankpool-run at
#    -n 2 (1 worker x <cores> slots) and -n 3 (2 workers x <cores>/2 slots). Every task of
#    rankpool-run and parallel goes through /bin/sh -c, as users' command lines do.
# 2. N_SLEEP tasks sleeping 10-100 ms (a fixed mix): time against the ideal, work / slots,
#    and against xargs -P slots (the same sleeps with nothing but process creation around them).
# rankpool-run is shown twice: the whole mpirun (start-up of the MPI job included, ~0.5-1 s
# here) and its own run as its summary line reports it (the rate a long list sees); the
# ratios use the latter. The master's CPU seconds per 1000 tasks come from the same line.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
n_true="${1:-5000}" n_sleep="${2:-400}"
bin="$RANKPOOL_BUILD/apps/run/rankpool-run"
[ -x "$bin" ] || { echo "bench-run: build first (scripts/setup.sh)" >&2; exit 2; }
command -v parallel >/dev/null || { echo "bench-run: GNU parallel is needed (apt-get install parallel)" >&2; exit 2; }
cores=$(nproc)
half=$(( (cores + 1) / 2 ))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
py() { python3 -c "print($1)"; }
declare -A wall inrun cpu
timed() {  # timed NAME COMMAND...  (stdout discarded; rankpool-run's summary line parsed)
  local name="$1"; shift
  local t0 t1
  t0=$(now); "$@" > /dev/null 2> "$work/$name.err"; t1=$(now)
  wall[$name]=$(py "$t1 - $t0")
  inrun[$name]=$(sed -n 's/^rankpool-run: [0-9]* tasks in \([0-9.]*\) s.*/\1/p' "$work/$name.err" | tail -1)
  cpu[$name]=$(sed -n 's/.*(\([0-9.]*\) s per 1000 tasks).*/\1/p' "$work/$name.err" | tail -1)
  [ -n "${inrun[$name]}" ] || inrun[$name]=${wall[$name]}
}
run_opts=(--no-output --no-progress)

# ---- 1. /bin/true ----
seq "$n_true" > "$work/true.args"
timed xargs sh -c "xargs -P $cores -n 1 true < '$work/true.args'"
timed parallel parallel --will-cite -j "$cores" true :::: "$work/true.args"
timed run_n2 mpirun -n 2 "$bin" "${run_opts[@]}" --slots "$cores" --tasks "$work/true.args" true
timed run_n3 mpirun -n 3 "$bin" "${run_opts[@]}" --slots "$half" --tasks "$work/true.args" true

printf 'rankpool-run benchmark: %s tasks of /bin/true, %s cores\n' "$n_true" "$cores"
printf '%-36s %9s %9s %9s %10s %12s %14s\n' run "wall s" "run s" tasks/s "vs xargs" "vs parallel" "master CPU/1k"
row() {  # row NAME LABEL
  local s=${inrun[$1]}
  printf '%-36s %9.2f %9.2f %9.0f %10s %12s %14s\n' "$2" "${wall[$1]}" "$s" "$(py "$n_true / $s")" \
    "$(py "f'{${inrun[xargs]} / $s:.2f}'")" "$(py "f'{${inrun[parallel]} / $s:.2f}'")" "${cpu[$1]:--}"
}
row xargs "xargs -P $cores -n 1 (spawn limit)"
row parallel "GNU parallel -j $cores"
row run_n2 "rankpool-run -n 2 (1x$cores slots)"
row run_n3 "rankpool-run -n 3 (2x$half slots)"

# ---- 2. mixed sleeps ----
python3 - "$n_sleep" > "$work/sleep.args" <<'PY'
import random, sys
rng = random.Random(20261204)
print("\n".join(f"0.{rng.randint(10, 100):03d}" for _ in range(int(sys.argv[1]))))
PY
total=$(python3 -c "print(sum(float(x) for x in open('$work/sleep.args')))")
printf '\n%s tasks sleeping 10-100 ms (%.2f s of work in all)\n' "$n_sleep" "$total"
printf '%-36s %9s %9s %9s %10s %10s\n' run "wall s" "run s" "ideal s" "run/ideal" "run/xargs"
for slots in 2 4 8; do
  ideal=$(py "$total / $slots")
  timed s_x sh -c "xargs -P $slots -n 1 sleep < '$work/sleep.args'"
  timed s_n2 mpirun -n 2 "$bin" "${run_opts[@]}" --slots "$slots" --tasks "$work/sleep.args" sleep
  timed s_n3 mpirun -n 3 "$bin" "${run_opts[@]}" --slots $(( slots / 2 )) --tasks "$work/sleep.args" sleep
  timed s_par parallel --will-cite -j "$slots" sleep :::: "$work/sleep.args"
  for name in s_x s_n2 s_n3 s_par; do
    case $name in
      s_x) label="xargs -P $slots -n 1 (spawn limit)";;
      s_n2) label="rankpool-run -n 2 (1x$slots slots)";;
      s_n3) label="rankpool-run -n 3 (2x$(( slots / 2 )) slots)";;
      s_par) label="GNU parallel -j $slots";;
    esac
    printf '%-36s %9.2f %9.2f %9.2f %10s %10s\n' "$label" "${wall[$name]}" "${inrun[$name]}" "$ideal" \
      "$(py "f'{${inrun[$name]} / $ideal:.3f}'")" "$(py "f'{${inrun[$name]} / ${inrun[s_x]}:.3f}'")"
  done
done
