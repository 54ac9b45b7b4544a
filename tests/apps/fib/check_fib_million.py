#!/usr/bin/env python3
"""rankpool-fib on 10^6 inputs: a pathological input list, end to end under mpirun.

The list holds n_i = (i * 7919) mod 10007 for i < 10^6 (10,007 distinct small numbers in a
scrambled order, each repeated ~100 times), read from a file and, a second time, from
stdin. Checked: exit code 0; exactly 10^6 rows, in input order; every row's digits, head,
tail and F(n) mod 1e9+7 against Python's own big integers; the summary's input count,
distinct count and highest value; each distinct n computed once (the farm's task count).
A per-run timeout turns a hang or a quadratic blow-up into a failure; no speed target.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
import rankpool_testing as rt  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--mpiexec", required=True)
p.add_argument("--ranks", type=int, required=True)
p.add_argument("--app", required=True)
p.add_argument("--count", type=int, default=1000000)
p.add_argument("--timeout", type=int, default=400, help="seconds per run")
args = p.parse_args()

MOD = 1000000007
DISTINCT = 10007
ns = [(i * 7919) % DISTINCT for i in range(args.count)]
highest = max(ns)

checks = rt.Checks()
check, failures = checks.check, checks.failures


def run(app_args, stdin=None):
    cmd = rt.mpirun_command(args.mpiexec, args.ranks, args.app, app_args)
    start = time.monotonic()
    r = subprocess.run(cmd, stdin=stdin, capture_output=True, text=True, timeout=args.timeout)
    print(f"{' '.join(app_args[:6])} ...: exit {r.returncode}, {time.monotonic() - start:.1f} s", flush=True)
    return r


# The oracle: F(n) for every distinct n, by Python's big integers.
expected = {}
a, b = 0, 1
wanted = set(ns)
for n in range(highest + 1):
    if n in wanted:
        s = str(a)
        expected[n] = (len(s), s[:20], s[-20:], a % MOD)
    a, b = b, a + b


def check_rows(rows, what):
    """rows: (n, digits, head, tail, mod, rank) tuples in output order."""
    check(len(rows) == len(ns), f"{what}: {len(rows)} rows, want {len(ns)}")
    bad_order = next((i for i, (r, n) in enumerate(zip(rows, ns)) if r[0] != n), None)
    check(bad_order is None, f"{what}: rows in input order (first difference at row {bad_order})")
    wrong = [r for r in rows if expected.get(r[0]) != (r[1], r[2], r[3], r[4])]
    check(not wrong, f"{what}: {len(wrong)} rows differ from Python's F(n), e.g. {wrong[:2]}")
    ranks = {r[5] for r in rows}
    want_ranks = {0} if args.ranks == 1 else set(range(1, args.ranks))
    check(ranks <= want_ranks, f"{what}: computed by ranks {sorted(ranks)}, want workers {sorted(want_ranks)}")


def check_summary(stderr, what):
    check(f"inputs: {len(ns)} ({DISTINCT} distinct, each computed once)" in stderr,
          f"{what}: summary counts the inputs: {stderr[:400]!r}")
    want = f"highest: F({highest}) with {expected[highest][0]} digits"
    check(want in stderr, f"{what}: summary names '{want}'")


with tempfile.TemporaryDirectory() as d:
    inputs = os.path.join(d, "million.txt")
    with open(inputs, "w") as f:
        f.write("# 10^6 small inputs\n")
        f.write("\n".join(map(str, ns)))
        f.write("\n")

    # From a file, JSONL to a file, summary on stderr.
    out = os.path.join(d, "out.jsonl")
    stats = os.path.join(d, "stats.json")
    r = run(["--format", "jsonl", "--mod", str(MOD), "--inputs", inputs, "--output", out,
             "--stats-json", stats, "--no-progress"])
    check(r.returncode == 0, f"file run exit {r.returncode}: {r.stderr[-2000:]}")
    rows = []
    with open(out) as f:
        for line in f:
            x = json.loads(line)
            rows.append((x["n"], x["digits"], x["head"], x["tail"], int(x["mod"]), x["rank"]))
    check_rows(rows, "file/jsonl")
    check_summary(r.stderr, "file/jsonl")
    with open(stats) as f:
        st = json.load(f)
    check(st["tasks_completed"] == DISTINCT and st["tasks_failed"] == 0,
          f"each distinct n computed once: {st['tasks_completed']} tasks, {st['tasks_failed']} failed")
    del rows

    # The same list on stdin (rank 0 reads what mpirun forwards), CSV on stdout.
    with open(inputs) as stdin:
        r = run(["--format", "csv", "--mod", str(MOD), "--inputs", "-", "--no-progress"], stdin=stdin)
    check(r.returncode == 0, f"stdin run exit {r.returncode}: {r.stderr[-2000:]}")
    rows = [(int(x["n"]), int(x["digits"]), x["head"], x["tail"], int(x["mod"]), int(x["rank"]))
            for x in csv.DictReader(r.stdout.splitlines())]
    check_rows(rows, "stdin/csv")
    check_summary(r.stderr, "stdin/csv")

print(f"{len(failures) == 0 and 'ok' or 'FAILED'}: {len(failures)} failures")
sys.exit(1 if failures else 0)
