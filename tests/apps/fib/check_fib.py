#!/usr/bin/env python3
"""End-to-end checks of rankpool-fib under mpirun.

Values are checked against Python's own big integers (an independent oracle), JSONL and
CSV are parsed back, every bad input must give one line naming it and exit 2 on every
rank (no hang: each run has a timeout), and static and dynamic schedules must agree.
"""
import argparse
import csv
import io
import json
import os
import signal
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
p.add_argument("--seq", required=True)
args = p.parse_args()

checks = rt.Checks()
check, failures = checks.check, checks.failures


def run(app_args, stdin=None, timeout=120):
    cmd = rt.mpirun_command(args.mpiexec, args.ranks, args.app, app_args)
    r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)
    return r


def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def expected(n):
    s = str(fib(n))
    return {"n": n, "digits": len(s), "head": s[:20], "tail": s[-20:]}


def records(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


# Known values, duplicates, ranges; JSONL.
inputs = ["0", "1", "2", "10", "93", "94", "100", "1000", "100", "5:9:2", "4000:4003"]
ns = [0, 1, 2, 10, 93, 94, 100, 1000, 100, 5, 7, 9, 4000, 4001, 4002, 4003]
r = run(["--format", "jsonl", "--quiet"] + inputs)
check(r.returncode == 0, f"jsonl run exit {r.returncode}: {r.stderr}")
recs = records(r.stdout)
check([x["n"] for x in recs] == ns, f"rows in input order with duplicates: {[x['n'] for x in recs]}")
for x in recs:
    e = expected(x["n"])
    for k in ("digits", "head", "tail"):
        check(x[k] == e[k], f"F({x['n']}) {k}: got {x[k]} want {e[k]}")
    check(isinstance(x["seconds"], float) or isinstance(x["seconds"], int), "seconds is a number")
    if args.ranks == 1:
        check(x["rank"] == 0, "single rank computes everything itself")
    else:
        check(1 <= x["rank"] < args.ranks, f"rank {x['rank']} is a worker")
f100 = [x for x in recs if x["n"] == 100][0]
check(f100["head"] == "35422484817926191507" and f100["digits"] == 21, "F(100)=354224848179261915075")
f93 = [x for x in recs if x["n"] == 93][0]
check(int(f93["head"]) == 12200160415121876738 and int(f93["head"]) > 2**63 - 1, "F(93) overflows int64")

# --full and --mod.
r = run(["--format", "jsonl", "--quiet", "--full", "--mod", "1000000007", "0", "300", "1234"])
check(r.returncode == 0, f"full run exit {r.returncode}: {r.stderr}")
for x in records(r.stdout):
    check(x["value"] == str(fib(x["n"])), f"full value of F({x['n']})")
    check(int(x["mod"]) == fib(x["n"]) % 1000000007, f"F({x['n']}) mod 1e9+7")

# Digit count of F(10^6) and the highest value in the summary (table format).
r = run(["1000000", "17", "999999"])
check(r.returncode == 0, f"table run exit {r.returncode}: {r.stderr}")
rows = [l.split() for l in r.stdout.splitlines() if l.strip() and l.split()[0].isdigit()]
by_n = {int(x[0]): x for x in rows}
check(by_n.get(1000000, [None, None])[1] == "208988", "F(10^6) has 208988 digits")
check("F(1000000)" in r.stdout and "208988" in r.stdout, "summary names the highest F(n)")
check("farm statistics" in r.stdout, "table output ends with the farm's statistics")

# CSV parses back to the same records as JSONL.
r_csv = run(["--format", "csv", "--quiet", "0:50", "500", "93"])
r_js = run(["--format", "jsonl", "--quiet", "0:50", "500", "93"])
rows = list(csv.DictReader(io.StringIO(r_csv.stdout)))
js = records(r_js.stdout)
check(len(rows) == len(js) == 53, f"csv rows {len(rows)} jsonl {len(js)}")
for c, j in zip(rows, js):
    check(int(c["n"]) == j["n"] and int(c["digits"]) == j["digits"] and c["head"] == j["head"] and c["tail"] == j["tail"],
          f"csv/jsonl agree for n={j['n']}")

# Inputs from a file and from stdin.
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "in.txt")
    with open(path, "w") as f:
        f.write("# some inputs\n\n30\n  40  # trailing comment\n10:12\n")
    r = run(["--format", "jsonl", "--quiet", "--inputs", path])
    check([x["n"] for x in records(r.stdout)] == [30, 40, 10, 11, 12], f"file inputs: {r.stdout} {r.stderr}")
    r = run(["--format", "jsonl", "--quiet", "--inputs", "-"], stdin="7\n8\n")
    check([x["n"] for x in records(r.stdout)] == [7, 8], f"stdin inputs: {r.stdout} {r.stderr}")
    out = os.path.join(d, "out.jsonl")
    r = run(["--format", "jsonl", "--quiet", "--output", out, "20", "21"])
    with open(out) as f:
        check([x["n"] for x in records(f.read())] == [20, 21], "--output writes the file")
    r = run(["--stats-json", os.path.join(d, "stats.json"), "--quiet", "0:200"])
    with open(os.path.join(d, "stats.json")) as f:
        st = json.load(f)
    check(len(st["ranks"]) == args.ranks, "stats JSON has one entry per rank")
    check(st["tasks_completed"] == 201, "stats JSON counts the tasks")

# Progress: a live line when the launcher's stderr is a terminal (script(1) gives it one),
# nothing when stderr is redirected.
with tempfile.TemporaryDirectory() as d:
    ts = os.path.join(d, "typescript")
    cmd = " ".join([args.mpiexec, "-n", str(args.ranks), "--oversubscribe", args.app,
                    "--format", "jsonl", "0:400", ">/dev/null"])
    subprocess.run(["script", "-qec", cmd, ts], capture_output=True, timeout=120)
    with open(ts, errors="replace") as f:
        check("[rankpool] 401/401 tasks" in f.read(), "progress line on a terminal")
r = run(["--format", "jsonl", "0:400"])
check("[rankpool]" not in r.stderr, "no progress line when stderr is not a terminal")

# Static and dynamic schedules give identical values.
a = records(run(["--format", "jsonl", "--quiet", "--schedule", "static", "0:3000:7"]).stdout)
b = records(run(["--format", "jsonl", "--quiet", "--schedule", "dynamic", "0:3000:7"]).stdout)
strip = lambda rs: [(x["n"], x["digits"], x["head"], x["tail"]) for x in rs]
check(len(a) == 429 and strip(a) == strip(b), "static and dynamic agree")

# The sequential baseline agrees too.
seq = subprocess.run([args.seq, "0:3000:7"], capture_output=True, text=True, timeout=60)
check(strip(records(seq.stdout)) == strip(b), "rankpool-fib-seq agrees")

# Journal: a run "killed" part way (its journal cut inside a record) resumes to the same
# output, computing only what the journal lacks; a journal is never overwritten silently.
with tempfile.TemporaryDirectory() as d:
    jpath = os.path.join(d, "fib.journal")
    stats = os.path.join(d, "stats.json")
    first = run(["--format", "jsonl", "--quiet", "--journal", jpath, "0:3000:7"])
    check(first.returncode == 0 and strip(records(first.stdout)) == strip(b), f"journaled run: {first.stderr}")
    again = run(["--format", "jsonl", "--quiet", "--journal", jpath, "0:3000:7"])
    lines = [l for l in again.stderr.splitlines() if l.strip()]
    check(again.returncode == 2 and again.stdout == "" and len(lines) == 1 and "already exists: pass --resume" in lines[0],
          f"existing journal without --resume: exit {again.returncode}, {lines}")
    size = os.path.getsize(jpath)
    os.truncate(jpath, size // 2)
    resumed = run(["--format", "jsonl", "--quiet", "--journal", jpath, "--resume", "--stats-json", stats, "0:3000:7"])
    check(resumed.returncode == 0, f"resume exit {resumed.returncode}: {resumed.stderr}")
    check(strip(records(resumed.stdout)) == strip(b), "resumed output equals a fresh run's")
    check("dropped a torn last record" in resumed.stderr, f"torn record reported: {resumed.stderr}")
    with open(stats) as f:
        st = json.load(f)
    check(0 < st["tasks_resumed"] < 429, f"part read back from the journal: {st['tasks_resumed']}")
    executed = sum(x["tasks"] for x in st["ranks"] if x["role"] != "master")
    check(executed == 429 - st["tasks_resumed"], f"only the rest computed: {executed} + {st['tasks_resumed']} != 429")
    check(os.path.getsize(jpath) >= size, "the journal is whole again")
    other = run(["--format", "jsonl", "--quiet", "--journal", jpath, "--resume", "0:3000:8"])
    check(other.returncode == 2 and "different task list" in other.stderr, f"other inputs refused: {other.stderr}")
    full = run(["--format", "jsonl", "--quiet", "--full", "--journal", jpath, "--resume", "0:3000:7"])
    check(full.returncode == 2 and "other options" in full.stderr, f"--full changes the records: {full.stderr}")

# SIGTERM to the ranks (as Slurm's scancel or srun deliver it) mid-run: every rank stops,
# exit code 143, one line saying how to continue; --resume then completes the list with the
# rows of the interrupted run unchanged.
with tempfile.TemporaryDirectory() as d:
    jpath = os.path.join(d, "fib.journal")
    stats = os.path.join(d, "stats.json")
    heavy = ["1000000:1002000"]  # 2001 tasks of a few ms: seconds of work
    cmd = rt.mpirun_command(args.mpiexec, args.ranks, args.app,
                            ["--format", "jsonl", "--quiet", "--journal", jpath] + heavy)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Wait for the first journaled results: the ranks are inside the run, handlers installed.
    for _ in range(1200):
        if os.path.exists(jpath) and os.path.getsize(jpath) > 1000:
            break
        time.sleep(0.05)
    ranks = rt.children(proc.pid)
    check(len(ranks) == args.ranks, f"found the {args.ranks} rank processes: {ranks}")
    for pid in ranks:
        os.kill(pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    lines = [l for l in err.splitlines() if l.strip()]
    check(proc.returncode == 143, f"interrupted run exits 128 + SIGTERM, got {proc.returncode}: {err}")
    check(len(lines) == 1 and lines[0].startswith("rankpool-fib: interrupted by SIGTERM after ")
          and "run again with --resume to continue" in lines[0], f"one line on the interrupt: {lines}")
    partial = records(out)
    check(0 < len(partial) < 2001, f"the interrupted run wrote part of the rows: {len(partial)}")
    resumed = run(["--format", "jsonl", "--quiet", "--journal", jpath, "--resume", "--stats-json", stats] + heavy,
                  timeout=280)
    check(resumed.returncode == 0, f"resume after SIGTERM: exit {resumed.returncode}: {resumed.stderr}")
    rows = records(resumed.stdout)
    check([x["n"] for x in rows] == list(range(1000000, 1002001)), "resumed run writes every row in order")
    check(strip(rows[:len(partial)]) == strip(partial), "rows of the interrupted run are unchanged")
    with open(stats) as f:
        st = json.load(f)
    executed = sum(x["tasks"] for x in st["ranks"] if x["role"] != "master")
    check(st["tasks_resumed"] >= len(partial) and executed == 2001 - st["tasks_resumed"],
          f"resume computes only the rest: {st['tasks_resumed']} read back, {executed} computed")

# Bad input: one line naming it, exit 2, nothing on stdout, every rank exits.
bad = {
    "-5": ["-5"], "abc": ["abc"], "5:2": ["5:2"], "1:5:0": ["1:5:0"],
    "no inputs": [], "/nonexistent/list": ["--inputs", "/nonexistent/list"],
    "300000001": ["300000001"], "max-n = 10": ["--max-n", "10", "11"],
    "xml": ["--format", "xml", "1"], "modulus": ["--mod", "0", "1"],
    "--bogus": ["--bogus", "1"], "'fib=9'": ["--schedule", "fib=9", "1"],
    "--resume needs --journal": ["--resume", "1"], "--task-timeout": ["--task-timeout=-2", "1"],
}
if args.ranks > 1:
    bad["rank 9"] = ["--queue", "fib=9", "1"]
for needle, argv in bad.items():
    r = run(argv, timeout=60)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(r.returncode == 2, f"{argv}: exit {r.returncode}")
    check(len(lines) == 1 and needle in lines[0] and lines[0].startswith("rankpool-fib: "),
          f"{argv}: one line naming '{needle}', got {lines}")
    check(r.stdout == "", f"{argv}: no rows on stdout, got {r.stdout[:200]!r}")

print(f"{len(failures) == 0 and 'ok' or 'FAILED'}: {len(failures)} failures")
sys.exit(1 if failures else 0)
