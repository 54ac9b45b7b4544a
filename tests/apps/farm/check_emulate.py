#!/usr/bin/env python3
"""rankpool-bench --emulate under a real mpirun: the farm's master against K emulated workers
per worker rank. Checks results, not timings:

  - the run exits 0 and reports K x (ranks - 1) workers and every task;
  - the outputs are the task function's (3x + 1): their sum, printed by the bench, equals the
    sum computed here;
  - the batches the master sent equal the count the cost model plans for the batch policy
    (automatic, and a fixed --batch);
  - bad input (--emulate 0, a negative --task-us, one rank) is one line and exit 2.

Python stdlib only.
"""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
import rankpool_testing as rt  # noqa: E402

p = argparse.ArgumentParser()
rt.add_mpiexec_arguments(p)
p.add_argument("--app", required=True, help="path of rankpool-bench")
args = p.parse_args()
checks = rt.Checks()
check = checks.check


def mpirun(ranks, app_args, timeout=120):
    cmd = rt.mpirun_command(args.mpiexec, ranks, args.app, app_args, flags=rt.split_flags(args.mpiexec_flags),
                            numproc_flag=args.numproc_flag)
    rc, out, err = rt.finish(rt.start(cmd, env=rt.openmpi_env()), timeout)
    return rc, out or "", err or ""


def parse(out):
    """The bench's table row as {column: text} and the outputs line's sum."""
    lines = [l.split() for l in out.splitlines() if l.strip()]
    header = next((l for l in lines if l and l[0] == "workers"), None)
    row = lines[lines.index(header) + 1] if header and lines.index(header) + 1 < len(lines) else None
    table = dict(zip(header, row)) if header and row else {}
    sums = [l[-1] for l in lines if l[:1] == ["outputs:"]]
    return table, (int(sums[0]) if sums else None)


for ranks, per_rank, tasks, batch, task_us in [(3, 64, 20000, None, 50), (3, 16, 5001, 7, 20), (2, 100, 3000, 1, 0)]:
    extra = ["--batch", str(batch)] if batch else []
    what = f"{ranks} ranks, --emulate {per_rank} --tasks {tasks} --task-us {task_us} {' '.join(extra)}"
    rc, out, err = mpirun(ranks, ["--emulate", str(per_rank), "--tasks", str(tasks), "--task-us", str(task_us), *extra])
    check(rc == 0, f"{what}: exit {rc}, want 0; stderr {rt.few(err.splitlines())}")
    table, total = parse(out)
    want_workers = per_rank * (ranks - 1)
    check(table.get("workers") == str(want_workers), f"{what}: workers {table.get('workers')}, want {want_workers}")
    check(table.get("tasks") == str(tasks), f"{what}: tasks {table.get('tasks')}, want {tasks}")
    want_sum = sum(3 * x + 1 for x in range(tasks))
    check(total == want_sum, f"{what}: output sum {total}, want {want_sum}")
    check(table.get("batches") is not None and table.get("batches") == table.get("planned"),
          f"{what}: {table.get('batches')} batches sent, the model planned {table.get('planned')}")
    if batch:
        want = -(-tasks // batch)
        check(table.get("batches") == str(want), f"{what}: {table.get('batches')} batches, want {want}")

for ranks, bad in [(3, ["--emulate", "0"]), (3, ["--emulate", "4", "--task-us", "-1"]), (1, ["--emulate", "4"])]:
    rc, out, err = mpirun(ranks, bad, timeout=60)
    lines = [l for l in err.splitlines() if l.strip()]
    check(rc == 2, f"{ranks} ranks, {' '.join(bad)}: exit {rc}, want 2")
    check(len(lines) == 1 and "emulate" in lines[0], f"{ranks} ranks, {' '.join(bad)}: stderr {lines}, want one line")

sys.exit(checks.exit_code())
