#!/usr/bin/env python3
"""jobs/*.sbatch submitted with sbatch to the single-node cluster of scripts/slurm-local.sh.

Scenarios (--scenario):
  fib       jobs/fib.sbatch at --ranks tasks: COMPLETED, exit 0:0, every value checked
            against Python's big integers, rows in input order, only workers compute.
  crawl     jobs/crawl.sbatch against a loopback rankpool-testweb (--delay 0, --max-depth 3):
            COMPLETED, 0:0, pages.jsonl's URLs, depths and statuses equal to the web's truth.
  timeout   jobs/crawl.sbatch with --time=1 on a slow web (200 ms per response, 5000 pages
            per host, --delay 0.2): Slurm ends it at its time limit; JobState TIMEOUT, the
            crawler flushed (summary.json "interrupted": true, every pages.jsonl line whole,
            a subset of the truth) and stopped before KillWait's SIGKILL.

  fib_resume jobs/fib.sbatch with --time=1 on ~3 minutes of work (sized by a calibration run
            to twice the latest enforcement of the limit): Slurm ends it at its time
            limit (TIMEOUT, the journal flushed, part of the rows written); the same sbatch
            command again continues from the journal and COMPLETES with every row right.

  run       jobs/run.sbatch on a task file of 60 shell commands (each appends "TASK JOBID" to a
            side-effect file, every third prints a line): COMPLETED, 0:0; the joblog (csv,
            tab-separated) has every task once with Exitval 0 on this host, the side-effect
            file every task once from this job, the JSON lines every task on the worker ranks
            and both slots of --cpus-per-task, the job log every task's line once and the
            summary.
  run_resume jobs/run.sbatch with --time=1 on 120 tasks of 3 s (twice the latest enforcement
            of the limit on the job's 2 slots): TIMEOUT, tasks done and the ones running at
            the limit interrupted (joblog Exitval -1, JSON "interrupted", not journaled) or
            absent; or, where Slurm gives SLURM_JOB_END_TIME, rankpool-run stops starting
            tasks before the limit and exits 3 (FAILED, 3:0). The same sbatch command again
            (without --time=1, as in fib_resume) COMPLETES: joblog and journal every task
            exactly once and succeeded, the second job ran exactly the tasks the first did not
            finish, and side effects twice only for tasks that ran at the limit (at most the
            slots).

Every job is waited for with a deadline (a job that cannot be scheduled pends forever
without an error) and afterwards no process of it may be left. Exit 77 (CTest SKIP) with a
"SKIP:" line when the cluster could not be started here (the reason the fixture
slurm_cluster_up recorded); a cluster that should be up but is not is a failure.
Python stdlib only.
"""
import argparse
import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from fib_oracle import fib_oracle  # noqa: E402
from rankpool_journal import MAGIC, journal_records  # noqa: E402
import rankpool_testing as rt  # noqa: E402
from rankpool_testing import few  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--scenario", required=True, choices=["fib", "crawl", "timeout", "fib_resume", "run",
                                                          "run_resume"])
p.add_argument("--ranks", type=int, default=3,
               help="tasks of the job (--ntasks-per-node); for run*: the job's MPI ranks, which "
                    "jobs/run.sbatch makes nodes + 1 (2 on the one-node cluster)")
p.add_argument("--slurm-local", required=True, help="scripts/slurm-local.sh")
p.add_argument("--state", required=True, help="directory of the fixture's notes (unavailable.txt)")
p.add_argument("--jobs", required=True, help="the jobs/ directory")
p.add_argument("--fib-bin", help="directory holding rankpool-fib")
p.add_argument("--crawl-bin", help="directory holding rankpool-crawl")
p.add_argument("--testweb", help="rankpool-testweb")
p.add_argument("--run-bin", help="directory holding rankpool-run")
p.add_argument("--workdir", default=None, help="where job directories go (default: a temp dir)")
p.add_argument("--budget", type=float, default=100.0, help="seconds for the whole scenario")
p.add_argument("--keep", action="store_true", help="keep the work directory even on success")
args = p.parse_args()

START = time.monotonic()
SKIP = 77
if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(0)  # F(250000) has 52,247 digits
TERMINAL = {"COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY",
            "BOOT_FAIL", "DEADLINE", "SPECIAL_EXIT"}
checks = rt.Checks()
check, failures = checks.check, checks.failures
jobs = []      # job ids submitted (cancelled on an early exit)


def log(*a):
    print(f"[{time.monotonic() - START:6.1f}s]", *a, flush=True)


def remaining():
    return args.budget - (time.monotonic() - START)


def cancel_jobs():
    """scancel of every job not yet seen to end (run by rankpool_testing.cleanup(): at exit, on
    SIGINT/SIGTERM, before the processes started here are killed)."""
    if jobs:
        print(f"cancelling jobs {jobs}", flush=True)
    for j in jobs:
        subprocess.run(["scancel", j], env=ENV, capture_output=True, timeout=15)


# ---------------------------------------------------------------------------------------
# The cluster: up (from the fixture), or skip with the fixture's reason.

def cluster_env():
    st = subprocess.run([args.slurm_local, "status"], capture_output=True, text=True, timeout=60)
    if st.returncode != 0:
        reason_file = os.path.join(args.state, "unavailable.txt")
        if os.path.exists(reason_file):
            with open(reason_file) as f:
                print(f"SKIP: Slurm is not available here: {f.read().strip()}", flush=True)
            sys.exit(SKIP)
        print(st.stdout + st.stderr)
        print("FAIL: the Slurm cluster is not up, and the fixture slurm_cluster_up gave no reason "
              "(it died, or the test ran without its fixture)", flush=True)
        sys.exit(1)
    conf = subprocess.run([args.slurm_local, "env"], capture_output=True, text=True, timeout=10).stdout
    m = re.search(r"SLURM_CONF=(\S+)", conf)
    env = {k: v for k, v in os.environ.items()
           # The job scripts must work on their own: no Open MPI settings from the test
           # environment (root permission, oversubscription) reach the jobs.
           if not k.startswith(("OMPI_", "PMIX_", "SLURM_")) and k not in ("RANKPOOL_BIN",)}
    env["SLURM_CONF"] = m.group(1)
    return env


ENV = cluster_env()
rt.at_cleanup(cancel_jobs)


def slurm(*argv, timeout=30):
    r = subprocess.run(list(argv), env=ENV, capture_output=True, text=True, timeout=timeout)
    return r


def show_job(job):
    r = slurm("scontrol", "show", "job", "-o", job)
    fields = {}
    for tok in r.stdout.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            fields.setdefault(k, v)
    return fields


def submit(script, sbatch_args, app_args, workdir, export):
    """sbatch --parsable; returns the job id."""
    cmd = ["sbatch", "--parsable", "--chdir", workdir, "--output", os.path.join(workdir, "job-%j.log"),
           "--export", ",".join(["ALL"] + [f"{k}={v}" for k, v in export.items()])] + sbatch_args + \
          [os.path.join(args.jobs, script)] + app_args
    r = slurm(*cmd)
    if not check(r.returncode == 0, f"sbatch failed ({r.returncode}): {r.stderr.strip()}"):
        return None
    job = r.stdout.strip().split(";")[0]
    jobs.append(job)
    log(f"submitted job {job}: sbatch {' '.join(sbatch_args)} {script} {' '.join(app_args)}")
    return job


def wait_job(job, deadline_s):
    """Polls until the job reaches a final state and has left the queue (its processes are
    gone; scontrol says COMPLETING until then). Returns (fields, seconds from the job's
    EndTime, when Slurm ended or signalled it, to leaving the queue), or (None, None) on the
    deadline, after cancelling the job."""
    deadline = time.monotonic() + deadline_s
    last = {}
    while time.monotonic() < deadline:
        last = show_job(job)
        if last.get("JobState", "") in TERMINAL and not slurm("squeue", "-h", "-j", job, "-o", "%T").stdout.strip():
            gone = time.time()
            jobs.remove(job)
            try:  # EndTime is local time, to the second
                drain = gone - time.mktime(time.strptime(last.get("EndTime", ""), "%Y-%m-%dT%H:%M:%S"))
            except ValueError:
                drain = None
            return last, drain
        time.sleep(0.25)
    check(False, f"job {job} did not finish in {deadline_s:.0f} s: JobState={last.get('JobState')} "
                 f"Reason={last.get('Reason')} (cancelled)")
    slurm("scancel", job)
    return None, None


def job_processes(job):
    """PIDs of processes still carrying the job's SLURM_JOB_ID in their environment."""
    needle = f"SLURM_JOB_ID={job}\0".encode()
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != os.getpid():
            try:
                with open(f"/proc/{d}/environ", "rb") as f:
                    if needle in f.read() + b"\0":
                        with open(f"/proc/{d}/stat") as s:
                            if s.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                                pids.append(int(d))
            except OSError:
                pass
    return pids


def check_job_ended(job, fields, want_state, want_exit=None):
    """True when the job ended as wanted and left no process behind."""
    before = len(failures)
    check(fields.get("JobState") == want_state,
          f"job {job}: JobState={fields.get('JobState')} (Reason={fields.get('Reason')}), want {want_state}")
    if want_exit is not None:
        check(fields.get("ExitCode") == want_exit, f"job {job}: ExitCode={fields.get('ExitCode')}, want {want_exit}")
    deadline = time.monotonic() + 5
    left = job_processes(job)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = job_processes(job)
    check(not left, f"job {job}: processes left running after the job ended: {left}")
    return len(failures) == before


def job_log(workdir, job):
    path = os.path.join(workdir, f"job-{job}.log")
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


class Job:
    """A job that ran to a final state: its id, scontrol's fields, the seconds from its
    EndTime to leaving the queue (wait_job), its log, and whether it ended as wanted."""

    def __init__(self, job, fields, drain_s, text, ended):
        self.id, self.fields, self.drain_s, self.text, self.ended = job, fields, drain_s, text, ended

    def get(self, field):
        return self.fields.get(field)


def run_job(script, sbatch_args, app_args, workdir, export, wait_s, want_state=None, want_exit=None,
            show_log="failure"):
    """The shape every scenario's job has: submit, wait up to `wait_s`, read the job log, log
    the job's end (state, exit code, node, run time, how long its processes took to go);
    with `want_state`, check_job_ended. The log's tail is printed when the job did not end
    as wanted, or always (`show_log="always"`). Returns a Job, or None when the job was not
    submitted or did not finish in time (a failure is recorded either way)."""
    job = submit(script, sbatch_args, app_args, workdir, export)
    if job is None:
        return None
    fields, drain_s = wait_job(job, wait_s)
    text = job_log(workdir, job)
    if fields is None:
        print(text[-3000:])
        return None
    line = (f"job {job}: {fields.get('JobState')} {fields.get('ExitCode')} on {fields.get('NodeList')}, "
            f"{fields.get('NumTasks')} tasks, run time {fields.get('RunTime')}")
    if drain_s is not None and fields.get("JobState") != "COMPLETED":
        line += f", its processes gone {round(drain_s, 1)} s after its end time"
    log(line)
    ended = check_job_ended(job, fields, want_state, want_exit) if want_state else True
    if (show_log == "always" or not ended) and text.strip():
        print(f"job log:\n{text[-3000:]}")
    return Job(job, fields, drain_s, text, ended)


# ---------------------------------------------------------------------------------------
# rankpool-fib

def fib_pair(n):
    """(F(n), F(n+1)) by fast doubling."""
    if n == 0:
        return 0, 1
    a, b = fib_pair(n >> 1)
    c = a * (2 * b - a)
    d = a * a + b * b
    return (d, c + d) if n & 1 else (c, d)


def scenario_fib(workdir):
    inputs = ["0:300", "1000", "93", "94", "4000:4003:3", "1000", "100000", "250000", "12345:12350"]
    ns = list(range(301)) + [1000, 93, 94, 4000, 4003, 1000, 100000, 250000] + list(range(12345, 12351))
    out = os.path.join(workdir, "fib.jsonl")
    j = run_job("fib.sbatch", [f"--ntasks-per-node={args.ranks}"], inputs, workdir,
                {"RANKPOOL_BIN": args.fib_bin, "FIB_OUTPUT": out}, min(90.0, remaining() - 5), "COMPLETED", "0:0")
    if j is None:
        return
    job, text = j.id, j.text
    check(j.get("NumTasks") == str(args.ranks), f"job {job}: NumTasks={j.get('NumTasks')}, want {args.ranks}")
    try:
        with open(out) as f:
            recs = [json.loads(l) for l in f if l.strip()]
    except (OSError, ValueError) as e:
        check(False, f"{out}: {e}")
        print(text[-3000:])
        return
    check([r.get("n") for r in recs] == ns, f"rows in input order: got {len(recs)} rows, "
                                            f"first differences {[(a, b) for a, b in zip([r.get('n') for r in recs], ns) if a != b][:5]}")
    bad, ranks = [], set()
    for r in recs:
        s = str(fib_pair(r["n"])[0])
        want = {"digits": len(s), "head": s[:20], "tail": s[-20:]}
        if any(r.get(k) != v for k, v in want.items()):
            bad.append((r["n"], {k: r.get(k) for k in want}, want))
        ranks.add(r.get("rank"))
    check(not bad, f"values differ from Python's big integers: {bad[:3]}")
    want_ranks = set(range(1, args.ranks))
    check(ranks <= want_ranks, f"rows computed by ranks {sorted(ranks, key=str)}, want workers {sorted(want_ranks)}")
    check("F(250000)" in text and str(len(str(fib_pair(250000)[0]))) in text,
          f"the job log's summary names the highest value F(250000): {text[-1500:]!r}")
    log(f"{len(recs)} values correct, computed by ranks {sorted(ranks)}")


# slurmctld enforces a 1-minute limit on its next pass over the jobs, 60-90 s into the job.
LATEST_TIME_LIMIT_S = 90.0


def calibrate_fib(first, probe=6):
    """Seconds per value near `first` on this machine: one rankpool-fib rank computing `probe`
    values (--ranks 1 runs them on rank 0)."""
    out = os.path.join(tempfile.gettempdir(), f"rankpool-fib-calibrate-{os.getpid()}.jsonl")
    t0 = time.monotonic()
    r = subprocess.run(["mpirun", "-n", "1", os.path.join(args.fib_bin, "rankpool-fib"), "--quiet",
                        "--format", "jsonl", "--output", out, f"{first}:{first + probe - 1}"],
                       env=dict(ENV, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1"),
                       capture_output=True, text=True, timeout=120)
    spent = time.monotonic() - t0
    if os.path.exists(out):
        os.unlink(out)
    if not check(r.returncode == 0, f"calibration run failed ({r.returncode}): {r.stderr[-500:]}"):
        return None
    return spent / probe


def scenario_fib_resume(workdir):
    # Values near 10^8 (~0.6 s each here). The first job must still be working when the limit
    # is enforced, on any machine: its work is sized from a measured value (which includes
    # mpirun's start, so it errs long) to 1.5 times the latest enforcement on 2 workers (at
    # least 360 values, ~110 s at 3 ranks on 2 cores), leaving the second job 20-50 s.
    first = 100_000_000
    per_value = calibrate_fib(first)
    if per_value is None:
        return
    count = min(2000, max(360, int(1.5 * LATEST_TIME_LIMIT_S * 2 / per_value) + 1))
    log(f"calibration: {per_value:.2f} s per value on one rank; {count} values, "
        f"~{count * per_value / 2:.0f} s of work on 2 workers")
    inputs = [f"{first}:{first + count - 1}"]
    ns = list(range(first, first + count))
    outs = [os.path.join(workdir, "fib-1.jsonl"), os.path.join(workdir, "fib-2.jsonl")]
    journal = os.path.join(workdir, "rankpool-fib.journal")
    j = run_job("fib.sbatch", [f"--ntasks-per-node={args.ranks}", "--time=1"], inputs + ["--quiet"], workdir,
                {"RANKPOOL_BIN": args.fib_bin, "FIB_OUTPUT": outs[0]}, min(150.0, remaining() - 60), "TIMEOUT")
    if j is None:
        return
    drain_s = j.drain_s
    # (rank 0's "interrupted by SIGTERM" line does not reliably reach the log: mpirun leaves on
    # the same signal. The journal and the partial output are the evidence.)
    check(drain_s is not None and drain_s < 8.5, f"processes took {drain_s} s to end after SIGTERM (KillWait 10 s)")
    with open(outs[0]) as f:
        partial = [json.loads(l) for l in f if l.strip()]
    check(0 < len(partial) < count, f"{len(partial)} of {count} rows before the time limit: want part of them")
    check([r.get("n") for r in partial] == ns[:len(partial)], "the partial output is a prefix in input order")
    check(os.path.exists(journal), f"the job left its journal {journal}")

    # The same command again (only the output file differs, to compare): resumes and completes.
    j = run_job("fib.sbatch", [f"--ntasks-per-node={args.ranks}"], inputs, workdir,
                {"RANKPOOL_BIN": args.fib_bin, "FIB_OUTPUT": outs[1]}, remaining() - 5, "COMPLETED", "0:0")
    if j is None:
        return
    text = j.text
    with open(outs[1]) as f:
        recs = [json.loads(l) for l in f if l.strip()]
    check([r.get("n") for r in recs] == ns, f"the resumed job's output has every input once, in order ({len(recs)} rows)")
    wrong = [r.get("n") for r in recs if {k: r.get(k) for k in ("digits", "head", "tail")} != fib_oracle(r.get("n"))]
    check(not wrong, f"rows disagree with the closed-form oracle: n in {wrong[:5]}")
    m = re.search(r"journal: (\d+) read back", text)
    check(m is not None and int(m.group(1)) >= len(partial),
          f"the second job read the first one's results back: {m.group(0) if m else text[-800:]!r}")
    log(f"resumed after the time limit: {m.group(1) if m else '?'} rows read back, {count} rows right")


# ---------------------------------------------------------------------------------------
# rankpool-crawl against a loopback rankpool-testweb

def Web(workdir, web_args, max_depth):
    """A rankpool-testweb (stderr in testweb.err) serving until stop(); `origins`, `truth`."""
    truth_file = os.path.join(workdir, "truth.json")
    with open(os.path.join(workdir, "testweb.err"), "w") as err:
        return rt.TestWeb([args.testweb, "--port", "0", "--truth", truth_file, "--max-depth", str(max_depth)]
                          + web_args, truth=truth_file, stderr=err)


def read_pages(out):
    recs = []
    with open(os.path.join(out, "pages.jsonl")) as f:
        for n, line in enumerate(f, 1):
            try:
                recs.append(json.loads(line))
            except ValueError:
                check(False, f"pages.jsonl line {n} is not whole JSON: {line[:200]!r}")
    return recs


def scenario_crawl(workdir):
    web = Web(workdir, [], max_depth=3)
    out = os.path.join(workdir, "crawl")
    try:
        j = run_job("crawl.sbatch", [f"--ntasks-per-node={args.ranks}"],
                    ["--delay", "0", "--max-depth", "3", "--quiet"] + web.truth["seeds"], workdir,
                    {"RANKPOOL_BIN": args.crawl_bin, "CRAWL_OUT": out}, min(90.0, remaining() - 5),
                    "COMPLETED", "0:0", show_log="always")
    finally:
        web.stop()
    if j is None:
        return
    want = {x["url"]: (x["depth"], x["status"]) for x in web.truth["fetched"]}
    try:
        recs = read_pages(out)
        with open(os.path.join(out, "summary.json")) as f:
            summary = json.load(f)
    except (OSError, ValueError) as e:
        check(False, f"crawl outputs: {e}")
        return
    got = {r["url"]: (r.get("depth"), r.get("status")) for r in recs}
    check(len(got) == len(recs), f"URLs recorded more than once: {len(recs)} records, {len(got)} URLs")
    check(set(got) == set(want), f"pages.jsonl URLs != truth: missing {few(set(want) - set(got))}, "
                                 f"unexpected {few(set(got) - set(want))}")
    diff = [(u, got[u], want[u]) for u in set(got) & set(want) if got[u] != want[u]]
    check(not diff, f"(depth, status) differ from the truth (url, got, want): {few(diff)}")
    check(summary.get("interrupted") is False, f"summary interrupted={summary.get('interrupted')}")
    check(summary.get("pages") == len(recs), f"summary pages {summary.get('pages')} != {len(recs)} records")
    check(len(summary.get("ranks", [])) == args.ranks, f"summary has {len(summary.get('ranks', []))} ranks, want {args.ranks}")
    log(f"crawl complete: {len(recs)} pages = the truth's {len(want)}")


def scenario_timeout(workdir):
    # 4 hosts x 5000 pages, 200 ms per response and 0.2 s between requests to a host: about
    # 10 pages/s, so the crawl (thousands of pages) is far from done at the 1-minute limit.
    web = Web(workdir, ["--latency-ms", "200", "--pages", "5000"], max_depth=20)
    out = os.path.join(workdir, "crawl")
    try:
        # Slurm's minimum limit is 1 minute; slurmctld checks limits about every 30 s, then
        # SIGTERM, and SIGKILL KillWait (10 s) later.
        j = run_job("crawl.sbatch", [f"--ntasks-per-node={args.ranks}", "--time=1"],
                    ["--delay", "0.2", "--max-depth", "20", "--quiet"] + web.truth["seeds"], workdir,
                    {"RANKPOOL_BIN": args.crawl_bin, "CRAWL_OUT": out}, min(150.0, remaining() - 5),
                    "TIMEOUT", show_log="always")
    finally:
        web.stop()
    if j is None:
        return
    text, drain_s = j.text, j.drain_s
    check("DUE TO TIME LIMIT" in text, "the job log has Slurm's 'CANCELLED ... DUE TO TIME LIMIT' line")
    # Not SIGKILLed: the job's processes ended well within KillWait (10 s) of the time limit
    # (EndTime is to the second, and polling adds a fraction).
    check(drain_s is not None and drain_s < 8.5,
          f"the job's processes took {drain_s} s to end after the time limit's SIGTERM "
          f"(KillWait is 10 s: they were probably killed, not stopped)")
    try:
        recs = read_pages(out)
        with open(os.path.join(out, "summary.json")) as f:
            summary = json.load(f)
    except (OSError, ValueError) as e:
        check(False, f"crawl outputs after the time limit: {e}")
        return
    want = {x["url"] for x in web.truth["fetched"]}
    got = [r.get("url") for r in recs]
    check(summary.get("interrupted") is True, f"summary.json interrupted={summary.get('interrupted')}, want true")
    check(0 < len(got) < len(want), f"{len(got)} pages of {len(want)}: want a partial crawl")
    check(len(set(got)) == len(got), "URLs recorded more than once")
    check(set(got) <= want, f"URLs outside the truth: {few(set(got) - want)}")
    check(summary.get("pages") == len(recs), f"summary pages {summary.get('pages')} != {len(recs)} records")
    log(f"interrupted crawl flushed: {len(got)} of {len(want)} pages, summary interrupted=true")


# ---------------------------------------------------------------------------------------
# rankpool-run: jobs/run.sbatch runs nodes + 1 ranks (rank 0 schedules, one worker rank per
# node with --cpus-per-task slots); its joblog and journal are <job name>.<kind> in the
# submission directory (--chdir).

RUN_SLOTS = 2  # jobs/run.sbatch's --cpus-per-task: SLURM_CPUS_PER_TASK slots per worker
RUN_COLUMNS = ["Seq", "Host", "Starttime", "JobRuntime", "Send", "Receive", "Exitval", "Signal", "Command"]
JOURNAL_MAGIC = MAGIC


def write_tasks(workdir, commands):
    """A task file: a comment, a blank line, then one command per line (task i = line i)."""
    path = os.path.join(workdir, "tasks.txt")
    with open(path, "w") as f:
        f.write("# rankpool-run under Slurm\n\n" + "".join(c + "\n" for c in commands))
    return path


def read_joblog(path):
    """Rows of a joblog, read the way a script written for GNU parallel reads it (None: no
    file). The header must be GNU parallel's."""
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            rows = list(reader)
            check(reader.fieldnames == RUN_COLUMNS, f"{path}: columns {reader.fieldnames}, want GNU parallel's")
            return rows
    except OSError as e:
        check(False, f"joblog: {e}")
        return None


def read_jsonl(path):
    try:
        with open(path) as f:
            return [json.loads(l) for l in f if l.strip()]
    except (OSError, ValueError) as e:
        check(False, f"{path}: {e}")
        return None


def read_journal(path):
    """(index, ok) of every task record of a rankpool journal (tests/support/rankpool_journal.py);
    None when it cannot be read or is not a journal."""
    try:
        if not check(open(path, "rb").read(len(JOURNAL_MAGIC)) == JOURNAL_MAGIC, f"{path} is a rankpool journal"):
            return None
        return journal_records(path, strict=True, report=lambda m: check(False, m))
    except OSError as e:
        check(False, f"journal: {e}")
        return None


def read_side(path):
    """The side-effect file's lines 'TASK JOBID': {task: [job id, ...]} in write order."""
    out = {}
    if os.path.exists(path):
        with open(path) as f:
            for n, line in enumerate(f, 1):
                w = line.split()
                if check(len(w) == 2 and w[0].isdigit(), f"{path} line {n} is 'TASK JOBID': {line!r}"):
                    out.setdefault(int(w[0]), []).append(w[1])
    return out


SUMMARY_RE = re.compile(r"rankpool-run: (\d+) tasks in \S+ s \(\S+\) on (\d+) worker ranks? \S+ (\d+) slots?: "
                        r"(\d+) succeeded, (\d+) failed(?:, (\d+) from the journal)?")


def run_summary(text):
    """(ran, workers, slots, succeeded, failed, from the journal) of the summary line, or None."""
    m = SUMMARY_RE.search(text)
    return tuple(int(g or 0) for g in m.groups()) if m else None


def scenario_run(workdir):
    n = 60
    side = os.path.join(workdir, "side.txt")
    commands = [f"sleep 0.0{i % 5}; echo {i} $SLURM_JOB_ID >> {side}" + (f"; echo out {i}" if i % 3 == 0 else "")
                for i in range(1, n + 1)]
    tasks = write_tasks(workdir, commands)
    out = os.path.join(workdir, "run.jsonl")
    j = run_job("run.sbatch", [], ["--tasks", tasks, "--output-jsonl", out], workdir, {"RANKPOOL_BIN": args.run_bin},
                min(90.0, remaining() - 5), "COMPLETED", "0:0")
    if j is None:
        return
    job, text = j.id, j.text
    want = list(range(1, n + 1))

    rows = read_joblog(os.path.join(workdir, "rankpool-run.joblog"))
    if rows is not None:
        seqs = sorted(int(r["Seq"]) for r in rows)
        check(seqs == want, f"joblog: every task exactly once ({len(rows)} rows; missing {few(set(want) - set(seqs))}, "
                            f"repeated {few({s for s in seqs if seqs.count(s) > 1})})")
        bad = [(r["Seq"], r["Exitval"], r["Signal"]) for r in rows if (r["Exitval"], r["Signal"]) != ("0", "0")]
        check(not bad, f"joblog: every task Exitval 0, Signal 0 (seq, exitval, signal): {few(bad)}")
        wrong = [r["Seq"] for r in rows if r["Seq"].isdigit() and 1 <= int(r["Seq"]) <= n
                 and r["Command"] != commands[int(r["Seq"]) - 1]]
        check(not wrong, f"joblog: Command is the task's line (differs for seq {few(wrong)})")
        hosts = {r["Host"] for r in rows}
        check(hosts == {socket.gethostname()}, f"joblog: Host {sorted(hosts)}, want this node {socket.gethostname()}")

    effects = read_side(side)
    check(sorted(effects) == want and all(len(v) == 1 for v in effects.values()),
          f"side effects: every task exactly once ({sum(map(len, effects.values()))} lines, missing "
          f"{few(set(want) - set(effects))}, repeated {few(s for s, v in effects.items() if len(v) > 1)})")
    check(all(v == [job] for v in effects.values()), f"side effects: every task ran in job {job} "
                                                      f"({few({j for v in effects.values() for j in v})})")

    recs = read_jsonl(out)
    if recs is not None:
        check(sorted(r.get("task") for r in recs) == want, f"JSON lines: every task exactly once ({len(recs)} records)")
        ranks = {r.get("rank") for r in recs}
        workers = set(range(1, args.ranks))
        check(ranks == workers, f"JSON lines: tasks ran on ranks {sorted(ranks, key=str)}, want the workers "
                                f"{sorted(workers)} only (rank 0 schedules)")
        slots = {r.get("slot") for r in recs}
        check(slots == set(range(1, RUN_SLOTS + 1)), f"JSON lines: slots {sorted(slots, key=str)}, want "
                                                     f"1..{RUN_SLOTS} (SLURM_CPUS_PER_TASK)")
        check(all(r.get("status") == "ok" for r in recs), f"JSON lines: every status ok "
                                                          f"({few({r.get('status') for r in recs})})")
        check(all(r.get("stdout") == (f"out {r.get('task')}\n" if r.get("task", 1) % 3 == 0 else "") for r in recs),
              "JSON lines: each task's stdout")
    # Grouped output: rank 0 printed each task's line whole, once, into the job's output.
    printed = [l for l in text.splitlines() if l.startswith("out ")]
    check(sorted(printed) == sorted(f"out {i}" for i in want if i % 3 == 0),
          f"job log: every printing task's line exactly once ({len(printed)} lines)")
    summary = run_summary(text)
    check(summary is not None and summary[:5] == (n, args.ranks - 1, RUN_SLOTS, n, 0),
          f"job log: the summary line says {n} tasks on {args.ranks - 1} worker rank(s) x {RUN_SLOTS} slots, "
          f"{n} succeeded, 0 failed (got {summary}): {text[-600:]!r}")
    log(f"run: tasks ran on ranks {sorted(ranks) if recs else '?'}; summary (ran, workers, slots, ok, failed, resumed) {summary}")


RUN_TASK_S = 3


def scenario_run_resume(workdir):
    # Tasks of 3 s (sleep: no calibration needed), as many as the job's slots finish in 1.5
    # times the latest enforcement of the limit: 90 tasks, ~135 s of work for 2 slots. The
    # limit stops the first job 60-90 s in with tasks running.
    slots = RUN_SLOTS * (args.ranks - 1)
    count = int(1.5 * LATEST_TIME_LIMIT_S * slots / RUN_TASK_S)
    side = os.path.join(workdir, "side.txt")
    commands = [f"sleep {RUN_TASK_S}; echo {i} $SLURM_JOB_ID >> {side}" for i in range(1, count + 1)]
    tasks = write_tasks(workdir, commands)
    out = os.path.join(workdir, "run.jsonl")
    joblog = os.path.join(workdir, "rankpool-run.joblog")
    journal = os.path.join(workdir, "rankpool-run.journal")
    # RUN_DEADLINE=none: the time limit's SIGTERM must stop the first job with tasks running
    # (with the job's end time as a deadline it would end just before, starting nothing late).
    app_args = ["--tasks", tasks, "--output-jsonl", out]
    export = {"RANKPOOL_BIN": args.run_bin, "RUN_DEADLINE": "none"}
    want = set(range(1, count + 1))
    log(f"{count} tasks of {RUN_TASK_S} s on {slots} slots: ~{count * RUN_TASK_S / slots:.0f} s of work")

    # Which final state is right depends on how it stopped (below): no want_state here.
    j = run_job("run.sbatch", ["--time=1"], app_args, workdir, export, min(150.0, remaining() - 150))
    if j is None:
        return
    job1, fields, text = j.id, j.fields, j.text
    log("job log:\n" + "\n".join("    " + l for l in text.strip().splitlines()[-15:]))
    # Stopped by the time limit (TIMEOUT), or, where Slurm sets SLURM_JOB_END_TIME, by
    # rankpool-run itself before it: no task started that would not end in time, exit 3.
    by_deadline = fields.get("JobState") != "TIMEOUT" and fields.get("ExitCode") == "3:0"
    if by_deadline:
        log("the first job stopped at rankpool-run's deadline (SLURM_JOB_END_TIME), before the time limit")
        check_job_ended(job1, fields, "FAILED", "3:0")
        check("rankpool-run: deadline:" in text, f"the job log says why it stopped (deadline): {text[-800:]!r}")
    else:
        check_job_ended(job1, fields, "TIMEOUT")

    rows = read_joblog(joblog)
    if rows is None:
        return
    seqs = [int(r["Seq"]) for r in rows]
    check(len(set(seqs)) == len(seqs) and set(seqs) <= want, f"first job: joblog rows for distinct tasks of the list "
                                                             f"({len(rows)} rows, {len(set(seqs))} tasks)")
    done1 = {int(r["Seq"]) for r in rows if (r["Exitval"], r["Signal"]) == ("0", "0")}
    interrupted1 = {int(r["Seq"]) for r in rows if r["Exitval"] == "-1"}
    other = [(r["Seq"], r["Exitval"], r["Signal"]) for r in rows if int(r["Seq"]) not in done1 | interrupted1]
    check(not other, f"first job: every joblog row done (Exitval 0) or interrupted (Exitval -1): "
                     f"(seq, exitval, signal) {few(other)}")
    check(0 < len(done1) < count, f"first job: {len(done1)} of {count} tasks done: want part of them")
    check(len(interrupted1) <= slots, f"first job: {len(interrupted1)} tasks interrupted, want at most the {slots} "
                                      f"slots (more: a task started after the time limit's SIGTERM)")
    if by_deadline:
        check(not interrupted1, f"first job: stopped at the deadline, yet tasks {sorted(interrupted1)} interrupted")
    log(f"first job: {len(done1)} tasks done, interrupted {sorted(interrupted1)}; joblog rows of the others: "
        + "; ".join("\t".join(r[c] for c in RUN_COLUMNS[:-1]) for r in rows if int(r["Seq"]) not in done1))
    recs = read_jsonl(out) or []
    status = {r.get("task"): r.get("status") for r in recs}
    check(len(status) == len(recs) == len(rows), f"first job: one JSON line per joblog row ({len(recs)}, {len(rows)})")
    check({t for t, s in status.items() if s == "interrupted"} == interrupted1 and
          {t for t, s in status.items() if s == "ok"} == done1,
          f"first job: JSON status 'interrupted' exactly for the joblog's Exitval -1 rows {sorted(interrupted1)} and "
          f"'ok' for the done ones; the others: {sorted((t, s) for t, s in status.items() if s != 'ok')}")
    records = read_journal(journal)
    if records is not None:
        check(all(ok for _, ok in records) and {i + 1 for i, _ in records} == done1,
              f"first job: the journal holds exactly the done tasks, as succeeded (tasks running at the limit "
              f"must not be journaled, or --resume never reruns them): {len(records)} records, not ok "
              f"{sorted(i + 1 for i, ok in records if not ok)}, not done {few({i + 1 for i, _ in records} - done1)}")
    effects = read_side(side)
    check(all(effects.get(s) == [job1] for s in done1), "first job: every done task's side effect, once")

    # The same sbatch command again (without the 1-minute limit): resumes from the journal.
    j = run_job("run.sbatch", [], app_args, workdir, export, remaining() - 5, "COMPLETED", "0:0")
    if j is None:
        return
    job2, text = j.id, j.text
    rows = read_joblog(joblog) or []
    seqs = sorted(int(r["Seq"]) for r in rows)
    check(seqs == sorted(want), f"joblog after the resume: every task exactly once ({len(rows)} rows, missing "
                                f"{few(want - set(seqs))}, repeated {few({s for s in seqs if seqs.count(s) > 1})})")
    bad = [(r["Seq"], r["Exitval"], r["Signal"]) for r in rows if (r["Exitval"], r["Signal"]) != ("0", "0")]
    check(not bad, f"joblog after the resume: every task Exitval 0 (seq, exitval, signal): {few(bad)}")
    records = read_journal(journal)
    if records is not None:
        check(sorted(i for i, _ in records) == list(range(count)) and all(ok for _, ok in records),
              f"journal after the resume: every task exactly once, succeeded ({len(records)} records, not ok "
              f"{sorted(i + 1 for i, ok in records if not ok)})")
    recs = read_jsonl(out) or []
    check(sorted(r.get("task") for r in recs) == sorted(want) and all(r.get("status") == "ok" for r in recs),
          f"JSON lines after the resume: every task once, ok ({len(recs)} records; not ok "
          f"{few((r.get('task'), r.get('status')) for r in recs if r.get('status') != 'ok')})")
    check(all(r.get("rank", 0) >= 1 for r in recs), "JSON lines: tasks ran on worker ranks only")
    effects = read_side(side)
    check(set(effects) == want, f"side effects: every task at least once (missing {few(want - set(effects))})")
    in_job2 = {s for s, v in effects.items() if job2 in v}
    check(in_job2 == want - done1 and all(effects[s].count(job2) == 1 for s in in_job2),
          f"side effects: job {job2} ran each task the first did not finish, once (ran {len(in_job2)}, "
          f"want {len(want - done1)}; unexpected {few(in_job2 - (want - done1))}, "
          f"missing {few((want - done1) - in_job2)})")
    twice = {s: v for s, v in effects.items() if len(v) > 1}
    check(len(twice) <= slots and all(v == [job1, job2] for v in twice.values()) and not set(twice) & done1,
          f"side effects twice only for tasks running at the limit, at most the {slots} slots: {twice}")
    summary = run_summary(text)
    check(summary is not None and summary[0] == count - len(done1) and summary[3:] == (count - len(done1), 0, len(done1)),
          f"job log: the summary counts {count - len(done1)} tasks run and {len(done1)} from the journal "
          f"(got {summary})")
    log(f"resumed: {len(done1)} tasks from the journal, {len(in_job2)} run by job {job2}, "
        f"{len(twice)} ran in both jobs {sorted(twice)}")


workdir = tempfile.mkdtemp(prefix=f"slurm-{args.scenario}-{args.ranks}r-", dir=args.workdir)
os.chmod(workdir, 0o755)
try:
    {"fib": scenario_fib, "crawl": scenario_crawl, "timeout": scenario_timeout,
     "fib_resume": scenario_fib_resume, "run": scenario_run, "run_resume": scenario_run_resume}[args.scenario](workdir)
except Exception as e:  # a broken checker must fail the test, not pass it
    import traceback
    traceback.print_exc()
    check(False, f"checker error: {e!r}")
finally:
    rt.cleanup()

if failures or args.keep:
    print(f"(work directory kept: {workdir})")
else:
    shutil.rmtree(workdir, ignore_errors=True)
print(f"{'ok' if not failures else 'FAILED'}: slurm {args.scenario} at {args.ranks} ranks, "
      f"{len(failures)} failures, {time.monotonic() - START:.1f} s")
sys.exit(1 if failures else 0)
