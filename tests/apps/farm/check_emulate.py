#!/usr/bin/env python3
"""rankpool-bench --emulate under a real mpirun: the farm's master against K emulated workers
per worker rank. Checks results, not timings:

  - the run exits 0 and reports K x (ranks - 1) workers and every task;
  - the outputs are the task function's (3x + 1): their sum, printed by the bench, equals the
    sum computed here;
  - the batches the master sent equal the count the cost model plans for the batch policy
    (automatic, and a fixed --batch);
  - with --node-size K a second row runs through relays of K workers: the same outputs, the
    planned batch count, and about K times fewer batches at rank 0 than the flat row;
  - bad input (--emulate 0, a negative --task-us, one rank, a --node-size that does not divide
    the workers per rank) is one line and exit 2.

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


def parse_all(out):
    """The bench's table rows as [{column: text}] and the outputs lines' sums."""
    lines = [l.split() for l in out.splitlines() if l.strip()]
    header = next((l for l in lines if l and l[0] == "workers"), None)
    rows = [dict(zip(header, l)) for l in lines if header and l is not header and l[:1] != ["outputs:"]]
    sums = [int(l[-1]) for l in lines if l[:1] == ["outputs:"]]
    return rows, sums


def parse(out):
    """The bench's first table row as {column: text} and its outputs line's sum."""
    rows, sums = parse_all(out)
    return (rows[0] if rows else {}), (sums[0] if sums else None)


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

# Relays: 2 x 64 workers as 16 relays of 8, beside the flat run in the same launch.
what = "3 ranks, --emulate 64 --tasks 50000 --task-us 50 --node-size 8"
rc, out, err = mpirun(3, ["--emulate", "64", "--tasks", "50000", "--task-us", "50", "--node-size", "8"])
check(rc == 0, f"{what}: exit {rc}, want 0; stderr {rt.few(err.splitlines())}")
rows, sums = parse_all(out)
if check(len(rows) == 2 and len(sums) == 2, f"{what}: want a flat and a relay row, got {out!r}"):
    flat, relay = rows
    check(sums == [sum(3 * x + 1 for x in range(50000))] * 2, f"{what}: output sums {sums}")
    check(flat.get("relays") == "0" and relay.get("relays") == "16", f"{what}: relays {flat}, {relay}")
    check(relay.get("workers") == "128", f"{what}: the relay row still counts 128 workers: {relay}")
    for row in rows:
        check(row.get("batches") == row.get("planned"), f"{what}: {row.get('batches')} batches, planned {row.get('planned')}")
    fb, rb = int(flat.get("batches", 0)), int(relay.get("batches", 1 << 40))
    check(rb * 8 <= fb * 1.2, f"{what}: rank 0 sent {rb} batches through relays, {fb} flat: want ~8 times fewer")

for ranks, bad in [(3, ["--emulate", "0"]), (3, ["--emulate", "4", "--task-us", "-1"]), (1, ["--emulate", "4"]),
                   (3, ["--emulate", "6", "--node-size", "4"])]:
    rc, out, err = mpirun(ranks, bad, timeout=60)
    lines = [l for l in err.splitlines() if l.strip()]
    check(rc == 2, f"{ranks} ranks, {' '.join(bad)}: exit {rc}, want 2")
    check(len(lines) == 1 and "emulate" in lines[0], f"{ranks} ranks, {' '.join(bad)}: stderr {lines}, want one line")

sys.exit(checks.exit_code())
