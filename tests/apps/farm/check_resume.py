#!/usr/bin/env python3
"""Runs that survive being killed: journal, resume, interrupts, dying ranks, task timeouts.

Drives a farm program under mpirun (--kind probe: rankpool-farm-probe; --kind fib:
rankpool-fib), compares every resumed run with an uninterrupted one, and parses the journal
itself to show that each task is recorded exactly once: zero lost, zero duplicated results.
Every run has a deadline, so a hang fails the test instead of stalling it.
"""
import argparse
import os
import random
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from rankpool_journal import journal_records as read_journal  # noqa: E402
import rankpool_testing as rt  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--mpiexec", required=True)
p.add_argument("--ranks", type=int, required=True)
p.add_argument("--app", required=True)
p.add_argument("--kind", choices=["probe", "fib"], default="probe")
p.add_argument("--case", required=True)
p.add_argument("--seed", type=int, default=None)
p.add_argument("--app-args", default="", help="more arguments for every run, e.g. '--hierarchy on --node-size 2'")
args = p.parse_args()

seed = args.seed if args.seed is not None else random.randrange(1 << 30)
rng = random.Random(seed)
print(f"case {args.case}, kind {args.kind}, seed {seed} (rerun with --seed {seed})", flush=True)
checks = rt.Checks()
check, failures = checks.check, checks.failures
work = tempfile.mkdtemp(prefix="rankpool-resume-")


# ---- the programs ---------------------------------------------------------------------------

FIB_INPUTS = ["100000:6000000:9973"]  # ~600 inputs, F(n) up to 1.25 million digits: a few seconds


def command(out, extra):
    # mpirun's own report of a dead rank is what names it: keep mpirun verbose for that case.
    base = rt.mpirun_command(args.mpiexec, args.ranks, args.app, quiet=args.case != "rank_death")
    base += args.app_args.split()
    if args.kind == "fib":
        return base + ["--format", "csv", "--output", out, "--no-progress"] + extra + FIB_INPUTS
    defaults = {"--tasks": "300", "--sleep-ms": "12"}
    fixed = [x for k, v in defaults.items() if k not in extra for x in (k, v)]
    return base + fixed + ["--output", out, "-q"] + extra


def rows(path):
    """The output's rows as comparable tuples (fib: the columns that do not vary by run)."""
    with open(path) as f:
        lines = f.read().splitlines()
    if args.kind == "fib":
        return [tuple(l.split(",")[:4]) for l in lines]
    return [tuple(l.split(" ", 1)) for l in lines]


def start(out, extra):
    return rt.start(command(out, extra), stdin=None)


def finish(proc, timeout=120):
    rc, o, e = rt.finish(proc, timeout, grace=0)  # a hang: killed with every descendant
    if rc is None:
        check(False, f"run did not finish within {timeout} s: {e[-500:]}")
    return proc.returncode, o, e


def run(out, extra, timeout=120):
    return finish(start(out, extra), timeout)


def ranks_of(proc):
    """PIDs of the ranks mpirun started (its children; Open MPI puts each in its own group)."""
    return rt.children(proc.pid)


def kill_all(proc):
    rt.signal_pids(ranks_of(proc) + [proc.pid], signal.SIGKILL)


def wait_for_rows(journal, minimum, seconds):
    """Waits until the journal holds at least `minimum` task records (the run is under way)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if os.path.exists(journal) and len(journal_records(journal, strict=False)) >= minimum:
            return True
        time.sleep(0.02)
    return False


# ---- the journal, read independently of the C++ code ----------------------------------------

def journal_records(path, strict=True):
    """(index, ok) of every task record (tests/support/rankpool_journal.py); stops at a torn
    tail (strict: damage before the end is a failure)."""
    return read_journal(path, strict=strict, report=lambda m: check(False, m))


def check_exactly_once(journal, total):
    recs = journal_records(journal)
    indices = sorted(i for i, _ in recs)
    check(indices == list(range(total)),
          f"journal records each of {total} tasks exactly once (has {len(indices)} records, "
          f"{len(set(indices))} distinct)")


# ---- cases ----------------------------------------------------------------------------------

baseline_out = os.path.join(work, "baseline.out")
rc, _, err = run(baseline_out, [])
check(rc == 0, f"uninterrupted run exits 0, got {rc}: {err[-400:]}")
baseline = rows(baseline_out)
total = len(baseline) - (1 if args.kind == "fib" else 0)  # fib's CSV has a header row
check(total > 100, f"baseline has {total} rows")


def resume_and_compare(journal, tag, extra=()):
    out = os.path.join(work, f"{tag}.resumed")
    rc, _, err = run(out, ["--journal", journal, "--resume", *extra])
    check(rc == 0, f"{tag}: resumed run exits 0, got {rc}: {err[-400:]}")
    check(rows(out) == baseline, f"{tag}: resumed output equals the uninterrupted run's")
    check_exactly_once(journal, total)
    return err


if args.case == "kill":
    # SIGKILL the launcher at a random point: its ranks must go away by themselves (no orphan
    # keeps computing), and the rerun must finish the job with each task exactly once.
    for trial in range(3):
        journal = os.path.join(work, f"kill{trial}.journal")
        # As in the sigterm case: slower tasks, killed at a random 0-40 % of the run journaled.
        slow = ["--sleep-ms", "30"] if args.kind == "probe" else []
        proc = start(os.path.join(work, f"kill{trial}.out"), ["--journal", journal, *slow])
        check(wait_for_rows(journal, rng.randint(1, 2 * total // 5), 60), f"trial {trial}: the run journals tasks")
        pids = ranks_of(proc)
        at_kill = len(journal_records(journal, strict=False))
        if trial == 2:
            kill_all(proc)  # every rank at once, not only the launcher
        else:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        check(rt.wait_gone(pids, 20), f"trial {trial}: every rank exits after the launcher is killed")
        # With only mpirun killed, its ranks run on until they notice (~2-3 s): count both.
        done = len(journal_records(journal, strict=False))
        print(f"trial {trial}: killed with {at_kill} of {total} tasks journaled, {done} when every rank was gone",
              flush=True)
        check(at_kill < total, f"trial {trial}: the kill came before the end ({at_kill} of {total})")
        err = resume_and_compare(journal, f"kill{trial}")
        if args.kind == "fib":
            check(f"{done} read back" in err, f"trial {trial}: the rerun reads {done} results back: {err[-300:]}")

elif args.case == "sigterm":
    # SIGTERM (and SIGINT) on the launcher: every rank stops promptly, the journal and the output
    # are flushed, the exit status and message say the run was interrupted.
    for trial, sig in enumerate([signal.SIGTERM, signal.SIGINT]):
        journal = os.path.join(work, f"term{trial}.journal")
        out = os.path.join(work, f"term{trial}.out")
        # Slower tasks than the other cases, and the signal sent once a random 10-40 % of the
        # run is journaled (not after a fixed sleep): on a loaded machine a 2-second run could
        # end before the signal reached it, and the journal would then hold all of it.
        slow = ["--sleep-ms", "30"] if args.kind == "probe" else []
        proc = start(out, ["--journal", journal, *slow])
        check(wait_for_rows(journal, rng.randint(total // 10, 2 * total // 5), 60),
              f"{sig.name}: the run journals tasks")
        pids = ranks_of(proc)
        t0 = time.time()
        proc.send_signal(sig)
        rc, _, err = finish(proc, timeout=30)
        took = time.time() - t0
        print(f"{sig.name}: mpirun exited {rc} after {took:.1f} s", flush=True)
        check(rc != 0, f"{sig.name}: exit status is not 0")
        check(took < 15, f"{sig.name}: stopped within 15 s (took {took:.1f})")
        check("interrupted by SIG" in err, f"{sig.name}: message says interrupted: {err[-400:]}")
        check(rt.wait_gone(pids, 10), f"{sig.name}: every rank has exited")
        done = len(journal_records(journal))  # strict: a clean stop leaves no torn record
        got = rows(out)
        check(0 < done < total, f"{sig.name}: journal holds part of the run ({done} of {total})")
        check(got == baseline[:len(got)], f"{sig.name}: the rows written so far are a prefix of the full output")
        resume_and_compare(journal, f"term{trial}")

elif args.case == "rank_death" and args.kind == "probe":
    # A worker dies (SIGKILL) mid-run: the job ends with a message naming it, no hang; the
    # journal lets the rerun finish.
    journal = os.path.join(work, "death.journal")
    t0 = time.time()
    rc, _, err = run(os.path.join(work, "death.out"),
                     ["--journal", journal, "--die-rank", str(args.ranks - 1), "--die-at", "60"], timeout=60)
    took = time.time() - t0
    print(f"rank death: mpirun exited {rc} after {took:.1f} s: {err.strip().splitlines()[-3:]}", flush=True)
    check(rc != 0, "a dead rank makes the job fail")
    check(f"rank {args.ranks - 1}" in err, f"the message names rank {args.ranks - 1}: {err[-500:]}")
    done = len(journal_records(journal, strict=False))
    check(0 < done < total, f"journal holds part of the run ({done} of {total})")
    resume_and_compare(journal, "death")

elif args.case == "timeout" and args.kind == "probe":
    # Task 7 never returns: it fails as timed out after its retries, the run ends, every other
    # task is right. --retry-failed then runs only it again.
    journal = os.path.join(work, "timeout.journal")
    out = os.path.join(work, "timeout.out")
    t0 = time.time()
    rc, _, err = run(out, ["--journal", journal, "--hang", "7", "--task-timeout", "0.4", "--retries", "1"], timeout=90)
    print(f"timeout: exit {rc} after {time.time() - t0:.1f} s; {err.strip().splitlines()[-1:]}", flush=True)
    check(rc == 1, f"a task that failed makes exit status 1, got {rc}: {err[-400:]}")
    got = rows(out)
    check(len(got) == total, f"every task has a row ({len(got)} of {total})")
    if len(got) == total:
        check(got[7][0] == "7" and got[7][1].startswith("FAILED: timed out after 0.4 s") and "attempts 2" in got[7][1],
              f"task 7 failed as timed out after 2 attempts: {got[7]}")
        check([r for i, r in enumerate(got) if i != 7] == [r for i, r in enumerate(baseline) if i != 7],
              "every other task's result is right")
    check("timeouts=2" in err, f"two timed-out attempts counted: {err[-300:]}")
    out2 = os.path.join(work, "timeout.retry")
    rc, _, err = run(out2, ["--journal", journal, "--resume", "--retry-failed"])
    check(rc == 0, f"--retry-failed run exits 0, got {rc}: {err[-300:]}")
    check(rows(out2) == baseline, "--retry-failed output equals the uninterrupted run's")
    check(f"from_journal={total - 1} " in err, f"only the failed task ran again: {err[-300:]}")

elif args.case == "journal_errors" and args.kind == "probe":
    journal = os.path.join(work, "e.journal")
    out = os.path.join(work, "e.out")
    rc, _, err = run(out, ["--journal", journal])
    check(rc == 0, f"journaled run exits 0: {err[-300:]}")
    size = os.path.getsize(journal)

    def refused(extra, needle, what, out_path=out):
        before = open(out_path).read() if os.path.exists(out_path) else None
        rc, _, err = run(out_path, extra, timeout=60)
        lines = [l for l in err.splitlines() if l.startswith("rankpool")]
        check(rc == 2, f"{what}: exit 2, got {rc}: {err[-300:]}")
        check(len(lines) == 1 and needle in lines[0], f"{what}: one line with '{needle}': {lines}")
        if before is not None:
            check(open(out_path).read() == before, f"{what}: the previous output is left alone")

    refused(["--journal", journal], "already exists: pass --resume", "rerun without --resume")
    refused(["--journal", journal, "--resume", "--tasks", "301"], "different task list", "other task list")
    refused(["--resume"], "--resume needs --journal", "--resume without --journal")
    notj = os.path.join(work, "notajournal")
    with open(notj, "w") as f:
        f.write("hello\n")
    refused(["--journal", notj, "--resume"], "is not a rankpool journal", "not a journal")
    # One writer at a time.
    busy = os.path.join(work, "busy.journal")
    proc = start(os.path.join(work, "busy.out"), ["--journal", busy, "--sleep-ms", "40"])
    check(wait_for_rows(busy, 1, 60), "the first run journals tasks")
    refused(["--journal", busy, "--resume"], "in use by another running job", "journal in use",
            out_path=os.path.join(work, "busy2.out"))
    kill_all(proc)
    proc.wait()
    # A torn tail (killed mid-write): dropped, the rest is kept, the rerun completes.
    for cut in sorted({1, 7, 13, rng.randrange(1, 30)}):  # < one record (38 bytes)
        torn = os.path.join(work, f"torn{cut}.journal")
        with open(journal, "rb") as f:
            data = f.read()
        with open(torn, "wb") as f:
            f.write(data[: len(data) - cut])
        err = resume_and_compare(torn, f"torn{cut}")
        check(f"from_journal={total - 1} " in err, f"cut {cut}: all but the torn record are kept: {err[-200:]}")
    # A damaged record before the end: refused, not silently recomputed.
    damaged = os.path.join(work, "damaged.journal")
    with open(journal, "rb") as f:
        data = bytearray(f.read())
    data[size // 2] ^= 0x55
    with open(damaged, "wb") as f:
        f.write(data)
    refused(["--journal", damaged, "--resume"], "damaged record at byte", "damaged middle record",
            out_path=os.path.join(work, "damaged.out"))

else:
    print(f"case {args.case} is not defined for --kind {args.kind}")
    sys.exit(2)

if failures:
    print(f"{len(failures)} check(s) failed (seed {seed}); work files in {work}")
    sys.exit(1)
print("all checks passed")
