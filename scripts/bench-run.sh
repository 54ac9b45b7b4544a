#!/usr/bin/env bash
# Benchmark of rankpool-run against the machine's spawn rate and GNU parallel, in one run.
#   scripts/bench-run.sh [N_TRUE] [N_SLEEP]        (default 3000 tasks of /bin/true, 200 sleeps)
# 1. N_TRUE tasks of /bin/true: bound by process creation. Baseline: xargs -P <cores> -n 1 true
#    (the physical limit: no shell, no bookkeeping); then GNU parallel -j <cores>, and
#    rankpool-run at -n 2 (1 worker x <cores> slots) and -n 3 (2 workers x <cores>/2 slots).
#    Prints tasks/s and the ratio to xargs and to GNU parallel.
# 2. N_SLEEP tasks sleeping 10-100 ms (a fixed mix): wall time against the ideal,
#    total work / slots.
# rankpool-run also reports its master's CPU seconds per 1000 tasks (its own summary line).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
n_true="${1:-3000}" n_sleep="${2:-200}"
bin="$RANKPOOL_BUILD/apps/run/rankpool-run"
[ -x "$bin" ] || { echo "bench-run: build first (scripts/setup.sh)" >&2; exit 2; }
command -v parallel >/dev/null || { echo "bench-run: GNU parallel is needed (apt-get install parallel)" >&2; exit 2; }
cores=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
elapsed() { python3 -c "print($2 - $1)"; }
declare -A secs master_cpu
timed() {  # timed NAME COMMAND...  (stdout discarded, stderr kept for the summary line)
  local name="$1"; shift
  local t0 t1
  t0=$(now); "$@" > /dev/null 2> "$work/$name.err"; t1=$(now)
  secs[$name]=$(elapsed "$t0" "$t1")
  master_cpu[$name]=$(sed -n 's/.*(\([0-9.]*\) s per 1000 tasks).*/\1/p' "$work/$name.err" | tail -1)
}

seq "$n_true" > "$work/true.args"
timed xargs sh -c "xargs -P $cores -n 1 true < '$work/true.args'"
timed parallel parallel --will-cite -j "$cores" true :::: "$work/true.args"
timed run_n2 mpirun -n 2 "$bin" -q --no-output --slots "$cores" --tasks "$work/true.args" true
timed run_n3 mpirun -n 3 "$bin" -q --no-output --slots $(( (cores + 1) / 2 )) --tasks "$work/true.args" true
timed run_n3s mpirun -n 3 "$bin" --no-output --no-progress --slots $(( (cores + 1) / 2 )) --tasks "$work/true.args" true

rate() { python3 -c "print(f'{$n_true / ${secs[$1]}:.0f}')"; }
ratio() { python3 -c "print(f'{${secs[$2]} / ${secs[$1]}:.2f}')"; }
printf 'rankpool-run benchmark: %s tasks of /bin/true, %s cores\n' "$n_true" "$cores"
printf '%-34s %9s %9s %10s %12s\n' run seconds tasks/s "vs xargs" "vs parallel"
for name in xargs parallel run_n2 run_n3; do
  case $name in
    xargs) label="xargs -P $cores -n 1 (spawn limit)";;
    parallel) label="GNU parallel -j $cores";;
    run_n2) label="rankpool-run -n 2 (1x$cores slots)";;
    run_n3) label="rankpool-run -n 3 (2x$(( (cores + 1) / 2 )) slots)";;
  esac
  printf '%-34s %9.2f %9s %10s %12s\n' "$label" "${secs[$name]}" "$(rate $name)" "$(ratio $name xargs)" "$(ratio $name parallel)"
done
printf 'rankpool-run -n 3 master CPU: %s s per 1000 tasks\n' "${master_cpu[run_n3s]:-?}"

# Mixed sleeps: 10-100 ms, a fixed pseudo-random mix; ideal = total / slots.
python3 - "$n_sleep" > "$work/sleep.args" <<'PY'
import random, sys
rng = random.Random(20261204)
print("\n".join(f"0.{rng.randint(10, 100):03d}" for _ in range(int(sys.argv[1]))))
PY
total=$(python3 -c "print(sum(float(x) for x in open('$work/sleep.args')))")
printf '\n%s tasks sleeping 10-100 ms (%.2f s of work)\n' "$n_sleep" "$total"
printf '%-34s %9s %9s %10s\n' run seconds ideal "vs ideal"
for slots in 2 4; do
  timed sleep_n2 mpirun -n 2 "$bin" -q --no-output --slots "$slots" --tasks "$work/sleep.args" sleep
  timed sleep_n3 mpirun -n 3 "$bin" -q --no-output --slots $(( slots / 2 )) --tasks "$work/sleep.args" sleep
  ideal=$(python3 -c "print($total / $slots)")
  for name in sleep_n2 sleep_n3; do
    [ $name = sleep_n2 ] && label="rankpool-run -n 2 (1x$slots slots)" || label="rankpool-run -n 3 (2x$(( slots / 2 )) slots)"
    printf '%-34s %9.2f %9.2f %10s\n' "$label" "${secs[$name]}" "$ideal" "$(python3 -c "print(f'{${secs[$name]} / $ideal:.2f}x')")"
  done
done
timed sleep_par parallel --will-cite -j 4 sleep :::: "$work/sleep.args"
printf '%-34s %9.2f %9.2f %10s\n' "GNU parallel -j 4" "${secs[sleep_par]}" "$(python3 -c "print($total / 4)")" \
  "$(python3 -c "print(f'{${secs[sleep_par]} / ($total / 4):.2f}x')")"
