#!/usr/bin/env python3
"""rankpool-run end to end: real processes under a real mpirun.

Each case runs the app and checks what a user would look at: the exit status, stdout and
stderr, the joblog (read with Python's csv module, as scripts written for GNU parallel read
it), the JSON lines, the results files, the journal (parsed here, independently of the C++
code) and side-effect files the tasks themselves write. Every run has a deadline, so a hang
fails the test instead of stalling it.
"""
import argparse
import csv
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from rankpool_journal import journal_records as read_journal  # noqa: E402
import rankpool_testing as rt  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--mpiexec", required=True)
p.add_argument("--app", required=True)
p.add_argument("--ranks", type=int, required=True)
p.add_argument("--case", required=True)
p.add_argument("--seed", type=int, default=None)
args = p.parse_args()

seed = args.seed if args.seed is not None else random.randrange(1 << 30)
rng = random.Random(seed)
print(f"case {args.case} at {args.ranks} ranks, seed {seed} (rerun with --seed {seed})", flush=True)
work = tempfile.mkdtemp(prefix="rankpool-run-")
checks = rt.Checks(verbose=True)
check, failures = checks.check, checks.failures
WORKERS = max(1, args.ranks - 1)


def path(name):
    return os.path.join(work, name)


def start(opts, env=None, stdin=None, quiet_mpirun=True):
    e = dict(os.environ)
    e.update(env or {})
    return rt.start(rt.mpirun_command(args.mpiexec, args.ranks, args.app, opts, quiet=quiet_mpirun),
                    stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL, text=False, env=e)


def kill_group(proc):
    """SIGKILL to mpirun and its ranks (not the ranks' tasks)."""
    rt.signal_pids(rt.children(proc.pid) + [proc.pid], signal.SIGKILL)


def finish(proc, timeout=120, stdin=None):
    rc, o, e = rt.finish(proc, timeout, input=stdin, grace=0)  # a hang: killed with every descendant
    if rc is None:
        check(False, f"run finished within {timeout} s (stderr: {e[-600:]!r})")
    return proc.returncode, o.decode(errors="replace"), e.decode(errors="replace")


def run(opts, env=None, stdin=None, timeout=120, quiet_mpirun=True):
    proc = start(opts, env, stdin, quiet_mpirun)
    return finish(proc, timeout, stdin.encode() if isinstance(stdin, str) else stdin)


def joblog(p):
    """Rows of a joblog as dicts, read the way a script written for GNU parallel reads it."""
    with open(p, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return rows


def jsonl(p):
    with open(p) as f:
        return [json.loads(l) for l in f]


def side_effects(p):
    """Lines 'SEQ RUN' that tasks appended: {seq: [run, ...]}."""
    out = {}
    if os.path.exists(p):
        with open(p) as f:
            for line in f:
                s, r = line.split()
                out.setdefault(int(s), []).append(int(r))
    return out


def journal_records(p):
    """(index, ok) of every task record of the run's journal (tests/support/rankpool_journal.py)."""
    return read_journal(p, strict=True, report=lambda m: check(False, m))


def write(name, text):
    with open(path(name), "w") as f:
        f.write(text)
    return path(name)


def one_line_error(rc, err, needle, what):
    lines = [l for l in err.splitlines() if l.strip()]
    check(rc == 2, f"{what}: exit status 2 (got {rc})")
    check(len(lines) == 1 and needle in lines[0], f"{what}: one line naming the problem ({lines!r})")


# ---- cases ----------------------------------------------------------------------------------

def case_basic():
    """Every task runs exactly once, with slots > 1; the joblog and JSON lines say where."""
    n = 60
    side = path("side.txt")
    tasks = write("tasks.txt", "# a comment, then a blank line\n\n" + "".join(
        f"sleep 0.0{i % 5}; echo out {i}; echo err {i} >&2; echo {i} 1 >> {side}; exit {3 if i % 17 == 0 else 0}\n"
        for i in range(1, n + 1)))
    rc, out, err = run(["--slots", "2", "--joblog", path("run.log"), "--output-jsonl", path("run.jsonl"),
                        "--tasks", tasks, "--no-progress"])
    failed = [i for i in range(1, n + 1) if i % 17 == 0]
    check(rc == 1, f"exit status 1 when some tasks fail (got {rc}; stderr {err[-300:]!r})")
    effects = side_effects(side)
    check(sorted(effects) == list(range(1, n + 1)) and all(len(v) == 1 for v in effects.values()),
          f"each of {n} tasks ran exactly once (side-effect file)")
    rows = joblog(path("run.log"))
    check(list(rows[0].keys()) == ["Seq", "Host", "Starttime", "JobRuntime", "Send", "Receive", "Exitval",
                                   "Signal", "Command"], "joblog has GNU parallel's columns")
    check(sorted(int(r["Seq"]) for r in rows) == list(range(1, n + 1)), "joblog: one row per task")
    check(sorted(int(r["Seq"]) for r in rows if r["Exitval"] != "0") == failed, f"joblog: tasks {failed} failed")
    check(all(float(r["JobRuntime"]) >= 0 and float(r["Starttime"]) > 1.6e9 for r in rows), "joblog: times")
    recs = jsonl(path("run.jsonl"))
    check(sorted(r["task"] for r in recs) == list(range(1, n + 1)), "JSONL: one record per task")
    ranks = {r["rank"] for r in recs}
    expect = {0} if args.ranks == 1 else set(range(1, args.ranks))
    check(ranks == expect, f"tasks ran on the worker ranks {sorted(expect)} (got {sorted(ranks)})")
    check({r["slot"] for r in recs} == {1, 2}, "both slots of each rank were used")
    check(all(r["stdout"] == f"out {r['task']}\n" and r["stderr"] == f"err {r['task']}\n" for r in recs),
          "JSONL: each task's stdout and stderr")
    # Grouped output: each task's stdout is whole and appears once.
    lines = out.splitlines()
    check(sorted(lines) == sorted(f"out {i}" for i in range(1, n + 1)), "stdout: every task's output once")
    check(sum(1 for l in err.splitlines() if l.startswith("err ")) == n, "stderr: every task's error output once")
    check("failed" in err and "joblog" in err, "summary names the failures and the joblog")


def case_template():
    """GNU parallel templates, --tag, --results, stdin as an argument source."""
    rc, out, err = run(["--tag", "--results", path("res"), "--no-progress",
                        "echo {#}:{1}-{2}", ":::", "a", "b c", ":::", "x", "y"])
    check(rc == 0, f"exit 0 (got {rc}: {err[-300:]!r})")
    expect = {"a x\t1:a-x", "a y\t2:a-y", "b c x\t3:b c-x", "b c y\t4:b c-y"}
    check(set(out.splitlines()) == expect, f"--tag lines {sorted(out.splitlines())}")
    for seq, text in [(1, "1:a-x\n"), (4, "4:b c-y\n")]:
        with open(os.path.join(path("res"), "0000", f"{seq}.out")) as f:
            check(f.read() == text, f"--results file of task {seq}")
    rc, out, err = run(["--tasks", "-", "--no-output", "--output-jsonl", path("s.jsonl"), "--progress-interval", "0.2",
                        "sleep 0.05; test {} -gt 0 && echo {}"], stdin="".join(f"{i}\n" for i in range(1, 31)))
    check(rc == 0 and out == "", f"stdin source, --no-output (rc {rc}, out {out[:80]!r})")
    progress = [l for l in err.splitlines() if "/30 done," in l and "running" in l and "ETA" in l]
    check(len(progress) >= 2, f"--progress-interval prints plain progress lines ({progress[:2]})")
    check(sorted(int(r["stdout"]) for r in jsonl(path("s.jsonl"))) == list(range(1, 31)), "30 tasks from stdin")
    rc, out, err = run(["--dry-run", "gzip -9 {}", ":::", "a b.csv", "c"])
    check(rc == 0 and out.splitlines() == ["gzip -9 'a b.csv'", "gzip -9 c"], f"--dry-run prints quoted commands: {out!r}")


def case_line_buffer():
    """--line-buffer: lines reach the master's stdout while their task runs, interleaved;
    --group (the default) prints each task whole when it ends."""
    tasks = ["echo start; sleep 1.5; echo end", "sleep 0.5; echo mid"]
    rc, out, err = run(["--line-buffer", "--tag", "--slots", "2", "--no-progress", "{}", ":::", *tasks])
    check(rc == 0, f"exit 0 (got {rc}: {err[-300:]!r})")
    lines = [l.split("\t")[1] for l in out.splitlines()]
    if args.ranks <= 2:  # both tasks run at once only with two slots on one rank
        check(lines == ["start", "mid", "end"], f"--line-buffer interleaves lines as written: {lines}")
    else:
        check(sorted(lines) == ["end", "mid", "start"] and lines.index("start") < lines.index("end"),
              f"--line-buffer: every line once ({lines})")
    check(all(l.startswith(t + "\t") for l in out.splitlines() for t in tasks if l.split("\t")[1] in
              (("start", "end") if t == tasks[0] else ("mid",))), "--tag prefixes each line with its task")
    rc, out, err = run(["--slots", "2", "--no-progress", "{}", ":::", *tasks])
    check(out.splitlines() == ["mid", "start", "end"] or args.ranks > 2 and sorted(out.splitlines()) == ["end", "mid", "start"],
          f"--group prints each task whole: {out.splitlines()}")
    rc, out, err = run(["--line-buffer", "--no-progress", "printf", ":::", "no newline at the end"])
    check(out == "no newline at the end", f"a last line without newline arrives ({out!r})")


def case_output():
    """Large, binary and early-closed output never deadlocks and arrives whole."""
    rc, out, err = run(["--slots", "2", "--results", path("res"), "--output-jsonl", path("o.jsonl"),
                        "--max-output", "100", "--no-progress", "{}", ":::",
                        "head -c 20000000 /dev/zero | tr '\\0' x",
                        "printf 'a\\000b\\377'",
                        "exec 1>&-; sleep 0.3; echo late >&2",
                        "yes | head -c 3000000 >&2"], timeout=180)
    check(rc == 0, f"exit 0 (got {rc}: {err[-200:]!r})")
    check(out.count("x") == 20000000, f"20 MB of stdout arrived whole ({out.count('x')} x)")
    recs = {r["task"]: r for r in jsonl(path("o.jsonl"))}
    check(recs[1]["out_bytes"] == 20000000 and len(recs[1]["stdout"]) == 100, "JSONL: bytes counted, output capped")
    check(recs[2].get("stdout_base64") == "YQBi/w==", "JSONL: binary output as base64")
    check(recs[3]["seconds"] >= 0.3 and recs[3]["stderr"] == "late\n", "a task that closes stdout runs to its end")
    with open(os.path.join(path("res"), "0000", "2.out"), "rb") as f:
        check(f.read() == b"a\x00b\xff", "--results keeps binary output exactly")
    check(os.path.getsize(os.path.join(path("res"), "0000", "4.err")) == 3000000, "3 MB of stderr in --results")


def case_failures():
    """Non-zero exits, signals, missing programs, timeouts that kill a process group, retries."""
    pids = path("pids")
    rc, out, err = run(["--joblog", path("f.log"), "--output-jsonl", path("f.jsonl"), "--timeout", "1",
                        "--grace", "0.5", "--no-progress", "{}", ":::",
                        "exit 4", "kill -9 $$", "no-such-program-xyz",
                        f"sleep 60 & echo $! >> {pids}; sleep 60 & echo $! >> {pids}; echo $$ >> {pids}; wait",
                        "true"], timeout=60)
    check(rc == 1, f"exit 1 (got {rc})")
    recs = {r["task"]: r for r in jsonl(path("f.jsonl"))}
    check(recs[1]["exit"] == 4 and recs[1]["status"] == "failed", "exit 4 recorded")
    check(recs[2]["signal"] == 9 and recs[2]["status"] == "failed", "killed by signal 9 recorded")
    check(recs[3]["exit"] == 127 and "not found" in recs[3]["stderr"], "missing program: 127 and a message")
    check(recs[4]["status"] == "timeout" and recs[4]["exit"] == -1 and 1.0 <= recs[4]["seconds"] < 5,
          f"timeout recorded ({recs[4]['status']}, {recs[4]['seconds']} s)")
    check(recs[5]["status"] == "ok", "the healthy task succeeded")
    time.sleep(0.5)
    with open(pids) as f:
        ps = [int(x) for x in f.read().split()]
    check(len(ps) == 3 and not any(rt.alive(p) for p in ps), f"the timeout killed the whole process group {ps}")
    rows = {int(r["Seq"]): r for r in joblog(path("f.log"))}
    check(rows[4]["Exitval"] == "-1" and rows[4]["Signal"] in ("15", "9"), "joblog: timeout as -1 and the signal")

    # Retries: fails on its first attempt, then succeeds on another rank where there is one.
    rc, out, err = run(["--retries", "2", "--output-jsonl", path("r.jsonl"), "--no-progress",
                        f"echo $RANKPOOL_RANK >> {path('attempts')}.{{}}; test $RANKPOOL_ATTEMPT -ge 2", ":::",
                        *[str(i) for i in range(1, 7)]])
    check(rc == 0, f"retried tasks succeed: exit 0 (got {rc}: {err[-300:]!r})")
    recs = jsonl(path("r.jsonl"))
    check(len(recs) == 6 and all(r["attempt"] == 2 for r in recs), "JSONL: one record per task, attempt 2")
    if WORKERS > 1:
        moved = 0
        for i in range(1, 7):
            with open(f"{path('attempts')}.{i}") as f:
                a = f.read().split()
            moved += len(a) == 2 and a[0] != a[1]
        check(moved == 6, f"each retry ran on another rank ({moved} of 6)")

    # --halt now,fail=1: the first failure stops the run and kills what runs.
    t0 = time.time()
    rc, out, err = run(["--halt", "now,fail=1", "--slots", "2", "--no-progress", "{}", ":::",
                        "sleep 0.2; exit 5", *["sleep 30"] * (2 * WORKERS + 3)], timeout=60)
    check(rc == 1 and "halt" in err, f"--halt now: exit 1 and says so (rc {rc}: {err[-300:]!r})")
    check(time.time() - t0 < 20, f"--halt now killed the running tasks ({time.time() - t0:.1f} s)")


def case_env():
    """The environment, cores and devices each task gets."""
    rc, out, err = run(["--slots", "2", "--cpus-per-task", "1", "--gpus-per-task", "2", "--output-jsonl",
                        path("e.jsonl"), "--no-output", "--no-progress",
                        "echo $RANKPOOL_TASK $RANKPOOL_SLOT $RANKPOOL_RANK $RANKPOOL_HOST $RANKPOOL_ATTEMPT "
                        "$RANKPOOL_NTASKS $OMP_NUM_THREADS $CUDA_VISIBLE_DEVICES "
                        "$(grep Cpus_allowed_list /proc/self/status | cut -f2) ${OMPI_COMM_WORLD_RANK:-none} {%}",
                        ":::", *[str(i) for i in range(8)]],
                       env={"CUDA_VISIBLE_DEVICES": "0,1,2,3"})
    check(rc == 0, f"exit 0 (got {rc}: {err[-300:]!r})")
    recs = jsonl(path("e.jsonl"))
    ok = True
    for r in recs:
        f = r["stdout"].split()
        task, slot, rank, host, attempt, ntasks, omp, gpus, cpus, mpi_rank, pslot = f
        ok &= int(task) == r["task"] and int(slot) == r["slot"] and slot == pslot and int(rank) == r["rank"]
        ok &= host == r["host"] and attempt == "1" and ntasks == "8" and omp == "1"
        ok &= gpus == ("0,1" if slot == "1" else "2,3") and "," not in cpus and "-" not in cpus
        ok &= mpi_rank == "none"
    check(ok and len(recs) == 8, f"RANKPOOL_* variables, one core per task, 2 GPUs per slot, no MPI job variables "
                                 f"({[r['stdout'] for r in recs][:3]})")
    rc, out, err = run(["--slots", "3", "--gpus-per-task", "2", "true", ":::", "x"],
                       env={"CUDA_VISIBLE_DEVICES": "0,1"})
    one_line_error(rc, err, "needs 6 devices", "too few GPUs")


def case_relays():
    """Through node relays (--hierarchy on --node-size 2 at 5 ranks: ranks 1 and 3 relay for 2
    and 4): each task once, and the joblog and JSON lines name the worker that ran it."""
    check(args.ranks == 5, "the relays case runs at 5 ranks")
    n = 40
    side = path("side.txt")
    rc, out, err = run(["--slots", "2", "--hierarchy", "on", "--node-size", "2", "--joblog", path("run.log"),
                        "--output-jsonl", path("run.jsonl"), "--no-progress",
                        f"echo $RANKPOOL_RANK; echo {{}} 1 >> {side}; exit $(( {{}} % 13 == 0 ? 5 : 0 ))",
                        ":::", *[str(i) for i in range(1, n + 1)]])
    failed = [i for i in range(1, n + 1) if i % 13 == 0]
    check(rc == 1, f"exit status 1 when some tasks fail (got {rc}; stderr {err[-300:]!r})")
    effects = side_effects(side)
    check(sorted(effects) == list(range(1, n + 1)) and all(len(v) == 1 for v in effects.values()),
          f"each of {n} tasks ran exactly once (side-effect file)")
    recs = jsonl(path("run.jsonl"))
    check(sorted(r["task"] for r in recs) == list(range(1, n + 1)), "JSONL: one record per task")
    check({r["rank"] for r in recs} == {2, 4}, f"tasks ran on the relays' workers 2 and 4, never on a relay "
                                              f"(got {sorted({r['rank'] for r in recs})})")
    check(all(r["stdout"] == f"{r['rank']}\n" for r in recs), "JSONL: each task's rank is the one it ran on")
    rows = joblog(path("run.log"))
    check(sorted(int(r["Seq"]) for r in rows) == list(range(1, n + 1)), "joblog: one row per task")
    check(sorted(int(r["Seq"]) for r in rows if r["Exitval"] != "0") == failed, f"joblog: tasks {failed} failed")
    hosts = {r["task"]: r["host"] for r in recs}
    check(all(r["Host"] == hosts[int(r["Seq"])] and r["Host"] for r in rows),
          "joblog: each row names the host of the worker that ran it")
    check(f"{n} tasks in " in err and " on 2 worker ranks × 2 slots (through 2 relays): 37 succeeded, 3 failed" in err,
          f"the summary counts the ranks that ran tasks, and the relays apart (stderr {err[-300:]!r})")
    rc, out, err = run(["--hierarchy", "sideways", "true", ":::", "x"])
    one_line_error(rc, err, "invalid --hierarchy 'sideways'", "bad --hierarchy")


def case_relays_retries():
    """--retries through node relays at 5 ranks: each task fails on its first attempt and its retry
    runs on another worker rank, both with two relays (--node-size 2: 1 and 3 relay for 2 and 4;
    the retry goes to the other relay) and with one (--node-size 4: 1 relays for 2-4; it keeps the
    retry off the worker the task failed on)."""
    check(args.ranks == 5, "the relays_retries case runs at 5 ranks")
    for node, workers in ((2, {2, 4}), (4, {2, 3, 4})):
        attempts = path(f"attempts{node}")
        rc, out, err = run(["--hierarchy", "on", "--node-size", str(node), "--retries", "2",
                            "--output-jsonl", path(f"retry{node}.jsonl"), "--no-progress",
                            f"echo $RANKPOOL_RANK >> {attempts}.{{}}; test $RANKPOOL_ATTEMPT -ge 2",
                            ":::", *[str(i) for i in range(1, 13)]])
        check(rc == 0, f"node size {node}: retried tasks succeed, exit 0 (got {rc}: {err[-300:]!r})")
        relays = 4 - len(workers)
        summary = rf" on {len(workers)} worker ranks × \d+ slots? \(through {relays} relays?\): 12 succeeded"
        check(re.search(summary, err), f"node size {node}: the summary counts {len(workers)} worker ranks and "
                                       f"{relays} relays apart (stderr {err[-300:]!r})")
        recs = jsonl(path(f"retry{node}.jsonl"))
        check(len(recs) == 12 and all(r["attempt"] == 2 for r in recs),
              f"node size {node}: JSONL: one record per task, attempt 2")
        ranks = []
        for i in range(1, 13):
            with open(f"{attempts}.{i}") as f:
                ranks.append([int(x) for x in f.read().split()])
        check(all(len(a) == 2 and set(a) <= workers for a in ranks),
              f"node size {node}: two attempts per task, on the workers {sorted(workers)} only ({ranks})")
        check(all(a[0] != a[1] for a in ranks), f"node size {node}: each retry ran on another rank ({ranks})")


def case_bad_input():
    """Bad input: one line from rank 0 and exit 2, on every rank count."""
    one_line_error(*run(["--tasks", path("missing.txt")])[::2], "missing.txt", "unreadable task file")
    one_line_error(*run(["echo {==}", ":::", "a"])[::2], "{==}", "unsupported replacement string")
    one_line_error(*run(["--slots", "0", "--tasks", "x"])[::2], "--slots 0", "--slots 0")
    one_line_error(*run(["--halt", "sometimes", "--tasks", "x"])[::2], "--halt", "bad --halt")
    one_line_error(*run(["--timeout", "abc", "--tasks", "x"])[::2], "timeout", "bad --timeout")
    tasks = write("t.txt", "true\n")
    rc, _, _ = run(["--journal", path("j"), "--tasks", tasks, "-q"])
    check(rc == 0, "a journaled run")
    one_line_error(*run(["--journal", path("j"), "--tasks", tasks, "-q"])[::2], "j", "an existing journal without --resume")
    write("t.txt", "false\n")
    one_line_error(*run(["--journal", path("j"), "--resume", "--tasks", tasks, "-q"])[::2], "changed",
                   "a changed list on --resume")


def killed_runs(kind):
    """Three runs stopped mid-way (kind: kill = SIGKILL of mpirun, term = SIGTERM to mpirun, and
    once to every process of the job as Slurm does), then a resume.
    Every task completes exactly once by the journal and the logs; the side-effect file shows
    reruns only of tasks the stopped runs had not finished."""
    n = 150
    side = path("side.txt")
    tasks = write("tasks.txt", "".join(f"sleep 0.{rng.randrange(10, 30)}; echo {i} $RUN >> {side}\n"
                                       for i in range(1, n + 1)))
    opts = ["--slots", "2", "--journal", path("j"), "--joblog", path("run.log"), "--output-jsonl",
            path("run.jsonl"), "--tasks", tasks, "--no-progress", "--grace", "0.5"]
    for attempt in range(1, 4):
        proc = start(opts + ["--resume"], env={"RUN": str(attempt)})
        time.sleep(rng.uniform(0.8, 2.0))
        if kind == "kill":
            kill_group(proc)
            rc, _, err = finish(proc, 30)
            check(rc != 0, f"run {attempt} was killed (rc {rc})")
        elif attempt == 2:
            # As Slurm's time limit does: every process of the job at once, tasks included, so
            # a task may die of its SIGTERM before its rank has noticed the run is stopping.
            rt.signal_pids([proc.pid, *rt.descendants(proc.pid)], signal.SIGTERM)
            rc, _, err = finish(proc, 30)
        else:
            os.kill(proc.pid, signal.SIGTERM)
            rc, _, err = finish(proc, 30)
            # mpirun itself exits 1 when signalled; the ranks exit 143 (see the sbatch case).
            check(rc in (1, 128 + 15) and "stopped by SIGTERM" in err,
                  f"run {attempt}: SIGTERM stops the run and says so (rc {rc}: {err[-300:]!r})")
            check("--resume" in err, f"run {attempt}: says --resume finishes the list")
    if kind == "term":
        rows = joblog(path("run.log"))
        interrupted = [r for r in rows if r["Exitval"] == "-1"]
        recs = [r for r in jsonl(path("run.jsonl")) if r["status"] == "interrupted"]
        check(len(interrupted) > 0 and len(recs) == len(interrupted),
              f"the last SIGTERM recorded {len(interrupted)} running tasks as interrupted")
    rc, out, err = run(opts + ["--resume"], env={"RUN": "4"})
    check(rc == 0, f"the resume completes (rc {rc}: {err[-300:]!r})")
    recs = journal_records(path("j"))
    check(sorted(i for i, ok in recs) == list(range(n)) and all(ok for _, ok in recs),
          f"journal: each of {n} tasks done exactly once over all runs ({len(recs)} records)")
    rows = joblog(path("run.log"))
    check(sorted(int(r["Seq"]) for r in rows) == list(range(1, n + 1)) and all(r["Exitval"] == "0" for r in rows),
          "joblog after the resume: every task exactly once, all succeeded")
    check(sorted(r["task"] for r in jsonl(path("run.jsonl"))) == list(range(1, n + 1)), "JSONL: every task exactly once")
    effects = side_effects(side)
    check(sorted(effects) == list(range(1, n + 1)), "every task's side effect happened")
    reruns = {s: v for s, v in effects.items() if len(v) > 1}
    # A task can only run twice if a stopped run had it running (or done but not yet journaled):
    # at most slots x workers per stopped run.
    check(len(reruns) <= 3 * 2 * WORKERS, f"{len(reruns)} tasks ran twice, all from stopped runs: {reruns}")
    check(all(max(v[:-1]) <= 3 for v in reruns.values()), "reruns come from the stopped runs only")


def case_kill():
    killed_runs("kill")


def case_sigterm():
    killed_runs("term")


def case_rank_death():
    """A worker rank dies mid-run: the job ends with Open MPI's message, and --resume finishes it."""
    n = 80
    marker = path("died")
    tasks = write("tasks.txt", "".join(
        f"sleep 0.05; if [ {i} = 30 ] && [ ! -e {marker} ]; then touch {marker}; "
        f"kill -9 $(awk '{{print $4}}' /proc/$PPID/stat); fi; echo {i}\n" for i in range(1, n + 1)))
    opts = ["--slots", "2", "--journal", path("j"), "--joblog", path("run.log"), "--tasks", tasks, "--no-progress"]
    rc, out, err = run(opts, timeout=60, quiet_mpirun=False)
    check(rc != 0 and os.path.exists(marker), f"the job with a dead rank fails (rc {rc})")
    check("signal 9" in err or "Killed" in err or "exited on signal" in err or "terminated" in err,
          f"mpirun names the dead rank: {err[-400:]!r}")
    rc, out, err = run(opts + ["--resume"], timeout=60)
    check(rc == 0, f"the resume finishes (rc {rc}: {err[-300:]!r})")
    recs = journal_records(path("j"))
    check(sorted(i for i, _ in recs) == list(range(n)), "journal: each task exactly once")
    check(sorted(int(r["Seq"]) for r in joblog(path("run.log"))) == list(range(1, n + 1)), "joblog: each task once")


def case_deadline():
    """--deadline: no task starts that would not end in time; --resume finishes the rest."""
    n = 40
    tasks = write("tasks.txt", "".join(f"sleep 0.4; echo {i}\n" for i in range(1, n + 1)))
    opts = ["--slots", "1", "--journal", path("j"), "--joblog", path("run.log"), "--tasks", tasks, "--no-progress"]
    t0 = time.time()
    rc, out, err = run(opts + ["--deadline", "+2"], timeout=60)
    took = time.time() - t0
    check(rc == 3 and "deadline" in err and "not started" in err, f"exit 3 and says why (rc {rc}: {err[-300:]!r})")
    done = len(joblog(path("run.log")))
    check(0 < done < n, f"{done} of {n} tasks ran before the deadline")
    check(took < 2 + 0.4 + 4, f"the run ended near its deadline ({took:.1f} s)")
    rc, out, err = run(opts + ["--resume", "--deadline", "none"], timeout=120)
    check(rc == 0 and len(joblog(path("run.log"))) == n, f"--resume finishes the list (rc {rc})")


def case_throughput():
    """A smoke run of many tiny tasks (the benchmark measures; this only checks they all run)."""
    n = 400
    rc, out, err = run(["--slots", "2", "--output-jsonl", path("t.jsonl"), "--no-output", "true", ":::",
                        *[str(i) for i in range(n)]], timeout=120)
    check(rc == 0 and len(jsonl(path("t.jsonl"))) == n, f"{n} tasks of /bin/true (rc {rc}): {err.strip()[-200:]}")
    check("master CPU" in err, "the summary reports the master's CPU time")


cases = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}
if args.case not in cases:
    sys.exit(f"unknown case {args.case}; known: {', '.join(cases)}")
try:
    cases[args.case]()
finally:
    if not failures:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"work directory kept: {work}")
if failures:
    print(f"{len(failures)} check(s) failed (seed {seed})")
    sys.exit(1)
print("all checks passed")
