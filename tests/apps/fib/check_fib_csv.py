#!/usr/bin/env python3
"""rankpool-fib --format csv read with Python's csv module (RFC 4180): every row, success or
failure, has exactly the header's columns, and the values are right.

An input fails when its task outlives --task-timeout: F(10^8) takes about a second, far
beyond the 0.1 s allowed (--retries 0: reported at once), while the small inputs take
microseconds. Success rows are checked against Python's big integers; failure rows hold n, empty
value columns and the error. Python stdlib only.
"""
import argparse
import csv
import io
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
import rankpool_testing as rt  # noqa: E402

p = argparse.ArgumentParser()
rt.add_mpiexec_arguments(p, numproc_flag=False)
p.add_argument("--ranks", type=int, required=True)
p.add_argument("--app", required=True)
args = p.parse_args()

checks = rt.Checks()
check, failures = checks.check, checks.failures
SLOW = 100_000_000  # F(10^8): ~1 s of GMP, 20,898,764 digits
MOD = 1_000_000_007


def run(app_args, timeout=120):
    cmd = rt.mpirun_command(args.mpiexec, args.ranks, args.app, app_args, flags=rt.split_flags(args.mpiexec_flags))
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def check_csv(name, app_args, inputs, slow, extra_columns):
    r = run(["--format", "csv", "--quiet", "--task-timeout", "0.1", "--retries", "0", "--batch", "1"]
            + app_args + [str(n) for n in inputs])
    print(f"{name}: exit {r.returncode}", flush=True)
    # Some inputs failed: exit 1, and stderr says how many.
    check(r.returncode == 1, f"{name}: exit {r.returncode}, want 1; stderr: {r.stderr[-2000:]}")
    check(f"{len(slow)} inputs failed" in r.stderr, f"{name}: stderr does not count the failures: {r.stderr[-2000:]}")
    rows = list(csv.reader(io.StringIO(r.stdout, newline=""), strict=True))
    if not check(len(rows) == 1 + len(inputs), f"{name}: {len(rows)} CSV records, want 1 + {len(inputs)}"):
        return
    header = rows[0]
    want_header = ["n", "digits", "head", "tail", "rank", "seconds"] + extra_columns + ["error"]
    if not check(header == want_header, f"{name}: header {header}, want {want_header}"):
        return
    for row in rows[1:]:
        if not check(len(row) == len(header), f"{name}: row {row[:7]} has {len(row)} fields, header {len(header)}"):
            continue
        rec = dict(zip(header, row))
        n = int(rec["n"])
        if n in slow:
            check(all(rec[c] == "" for c in header if c not in ("n", "error")),
                  f"{name}: failure row for n={n} has values: {rec}")
            check("timed out" in rec["error"], f"{name}: failure row for n={n}: error {rec['error']!r}")
            continue
        s = str(fib(n))
        check(rec["error"] == "", f"{name}: n={n} has an error: {rec['error']!r}")
        check(rec["digits"] == str(len(s)) and rec["head"] == s[:20] and rec["tail"] == s[-20:],
              f"{name}: n={n}: {rec}")
        check(int(rec["rank"]) >= (1 if args.ranks > 1 else 0), f"{name}: n={n} rank {rec['rank']}")
        check(float(rec["seconds"]) >= 0, f"{name}: n={n} seconds {rec['seconds']}")
        if "value" in rec:
            check(rec["value"] == s, f"{name}: n={n} value")
        if "mod" in rec:
            check(rec["mod"] == str(fib(n) % MOD), f"{name}: n={n} mod {rec['mod']}")
    check([int(x[0]) for x in rows[1:]] == inputs, f"{name}: rows not in input order")


inputs = [0, 1, 2, 93, SLOW, 500, 1000]
check_csv("csv", [], inputs, {SLOW}, [])
check_csv("csv --full --mod", ["--full", "--mod", str(MOD)], [10, SLOW, 94, SLOW + 1, 300],
          {SLOW, SLOW + 1}, ["value", "mod"])

print(f"{'ok' if not failures else 'FAILED'}: {len(failures)} failures")
sys.exit(1 if failures else 0)
