#!/usr/bin/env python3
"""rankpool over several hosts: network-namespace "hosts" from scripts/cluster-local.sh.

  --case up       bring up the test cluster (a CTest fixture); exit 77 with the reason when the
                  kernel refuses namespaces, remembered in --skip-file for the other cases
  --case down     remove it; fails if anything (namespace, link, process) is left
  --case fib      rankpool-fib with its 3 ranks on 3 hosts: the results equal a one-host run's
                  (the JSONL output without the fields that name the rank or time it), and the
                  per-host statistics name the three hosts
  --case relays   rankpool-fib with 7 ranks on 3 hosts (--map-by node) and --hierarchy on over the
                  real nodes: the first rank of each host but rank 0's relays for the host's other
                  ranks; the results equal a flat one-host run's, the statistics show the relays,
                  each on the host of the ranks it feeds, and every worker rank did tasks
  --case crawl    rankpool-crawl on 3 hosts against a rankpool-testweb on the bridge's service
                  addresses: the same pages (url, status, depth) and links.tsv edges as a plain
                  local `mpirun -n 3` crawl of the same web; summary.json ranks[].host names the
                  three hosts and both crawling hosts fetched pages
  --case run      rankpool-run with its 3 ranks on 3 hosts (rank 0 schedules, a worker with
                  --slots 2 on each other host), 40 tasks that print the host they ran on
                  (`hostname` and RANKPOOL_HOST): exit 0; the joblog (rank 0's, read with csv)
                  has every task once, succeeded, and its Host column names every worker host;
                  every task's line reached the master over MPI and is on mpirun's stdout once,
                  naming the host the joblog names (no shared file system is assumed: the tasks
                  write no file)
  --case fault    a long rankpool-fib run; one host's link is taken down mid-run: the job must
                  end with a non-zero status and Open MPI's lost-daemon error within a bound,
                  then the link comes back and the cluster runs a job again

Every mpirun runs under `timeout -k` and in its own session; the script kills what it started
by process group and PID. Exit 0 pass, 1 fail, 77 skip (with the reason on stdout).
Python stdlib only.
"""
import argparse
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from fib_oracle import fib_oracle  # noqa: E402
import rankpool_testing as rt  # noqa: E402
from rankpool_testing import few  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--case", required=True, choices=["up", "down", "fib", "relays", "crawl", "run", "fault"])
p.add_argument("--cluster-script", required=True, help="scripts/cluster-local.sh")
p.add_argument("--state-dir", required=True, help="RANKPOOL_CLUSTER_DIR of the test cluster")
p.add_argument("--name", default="rpt", help="RANKPOOL_CLUSTER_NAME of the test cluster")
p.add_argument("--net", default="198.18.1", help="RANKPOOL_CLUSTER_NET of the test cluster")
p.add_argument("--hosts", type=int, default=3)
p.add_argument("--skip-file", required=True, help="where `up` records why the cluster is unavailable")
p.add_argument("--workdir", help="parent of the work directories (default: the temp directory)")
p.add_argument("--mpiexec", default="mpirun")
p.add_argument("--mpiexec-flags", default="--oversubscribe --bind-to none",
               help="flags of the one-host reference runs, space-separated")
p.add_argument("--fib", help="rankpool-fib")
p.add_argument("--crawl", help="rankpool-crawl")
p.add_argument("--testweb", help="rankpool-testweb")
p.add_argument("--run", help="rankpool-run")
p.add_argument("--fault-bound", type=float, default=40.0,
               help="seconds the job may take to end after the link goes down (measured: 6-8 s)")
p.add_argument("--keep", action="store_true", help="keep the work directory even on success")
args = p.parse_args()

START = time.monotonic()
ENV = dict(rt.openmpi_env(bind_none=False), RANKPOOL_CLUSTER_NAME=args.name, RANKPOOL_CLUSTER_NET=args.net,
           RANKPOOL_CLUSTER_DIR=args.state_dir)
HOSTNAMES = [f"{args.name}-h{i}" for i in range(1, args.hosts + 1)]
NAMESPACES = HOSTNAMES  # cluster-local.sh names each host's namespace and hostname alike
checks = rt.Checks()
check, failures = checks.check, checks.failures


def log(*a):
    print(*a, flush=True)


def skip(reason):
    log(f"SKIP: {reason}")
    sys.exit(77)


def cluster(*argv, timeout=120):
    return subprocess.run(["bash", args.cluster_script, *argv], env=ENV, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------------------------------
# Processes: each mpirun leads its own session (under timeout -k); rankpool_testing.kill_tree
# ends the session and any descendant that left it.

def start(cmd, budget, **kw):
    """cmd under `timeout -k 10 budget`, in its own session."""
    return rt.start(["timeout", "-k", "10", str(int(budget)), *cmd], env=ENV, **kw)


def finish(proc, timeout):
    """(returncode or None if still running after timeout (then killed), stdout, stderr)."""
    return rt.finish(proc, max(1.0, timeout))


def run(cmd, budget):
    t0 = time.monotonic()
    rc, out, err = finish(start(cmd, budget), budget + 15)
    secs = time.monotonic() - t0
    if rc in (124, 137):  # timeout(1) ended it
        rc = None
    return rc, out, err, secs


def cluster_mpirun():
    with open(os.path.join(args.state_dir, "mpirun-args")) as f:
        return [args.mpiexec] + f.read().split()


def local_mpirun():
    return [args.mpiexec] + args.mpiexec_flags.split()


def ns_pids(ns):
    r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
    return [int(x) for x in r.stdout.split()]


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def require_cluster():
    """True when this run brought the cluster up itself (and must take it down)."""
    if os.path.exists(args.skip_file):
        with open(args.skip_file) as f:
            skip(f.read().strip() or "the test cluster could not be created")
    if os.path.exists(os.path.join(args.state_dir, "ready")):
        return False
    # Run on its own (ctest -FA, or by hand): bring the hosts up here, and down at the end.
    log(f"the test cluster is not up ({args.state_dir}/ready missing): running `up` now")
    try:
        case_up()
    except SystemExit:  # a skip: nothing to take down, but the note must not stay behind
        if os.path.exists(args.skip_file):
            os.remove(args.skip_file)
        raise
    if failures:
        cluster("down")
        sys.exit(1)
    return True


# ---------------------------------------------------------------------------------------

def case_up():
    if os.path.exists(args.skip_file):
        os.remove(args.skip_file)
    t0 = time.monotonic()
    r = cluster("up", str(args.hosts))
    sys.stdout.write(r.stdout)
    sys.stdout.write(r.stderr)
    if r.returncode == 77:
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        reason = lines[-1].split("SKIP: ", 1)[-1] if lines else "cluster-local.sh up exited 77"
        reason = "no network-namespace hosts here: " + reason
        try:
            with open(args.skip_file, "w") as f:
                f.write(reason + "\n")
        except OSError as e:
            log(f"(could not record the reason in {args.skip_file}: {e})")
        skip(reason)
    check(r.returncode == 0, f"cluster-local.sh up {args.hosts}: exit {r.returncode}")
    if r.returncode == 0:
        log(f"{args.hosts} hosts up in {time.monotonic() - t0:.2f} s")
        with open(os.path.join(args.state_dir, "hostfile")) as f:
            hostfile = f.read().split()
        check(all(w.startswith(args.net + ".") or w.startswith("slots=") for w in hostfile),
              f"hostfile holds addresses only: {hostfile}")


def case_down():
    r = cluster("down")
    sys.stdout.write(r.stdout)
    sys.stdout.write(r.stderr)
    check(r.returncode == 0, f"cluster-local.sh down: exit {r.returncode}")
    if os.path.exists(args.skip_file):
        os.remove(args.skip_file)
    left_ns = [l.split()[0] for l in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                    text=True).stdout.splitlines()
               if l.split() and l.split()[0].startswith(args.name + "-")]
    left_links = [l.split(": ")[1].split("@")[0] for l in subprocess.run(
        ["ip", "-o", "link", "show"], capture_output=True, text=True).stdout.splitlines()
        if l.split(": ")[1].startswith(args.name + "-")]
    check(not left_ns, f"namespaces left: {left_ns}")
    check(not left_links, f"links left: {left_links}")
    check(not os.path.exists(args.state_dir), f"state directory left: {args.state_dir}")
    check(not any(os.path.exists(f"/etc/netns/{ns}") for ns in NAMESPACES), "/etc/netns entries left")


def stripped_rows(path):
    """JSONL rows without the fields that depend on where and when a task ran."""
    with open(path) as f:
        return [{k: v for k, v in json.loads(l).items() if k not in ("rank", "seconds")}
                for l in f if l.strip()]


def hosts_of(stats_ranks):
    return sorted({r.get("host") for r in stats_ranks})


def case_fib(workdir):
    # Small and big n, a range with a step, duplicates, comments: about 1,700 tasks,
    # with every digit (--full) and a residue, so any corrupted value shows.
    inputs = os.path.join(workdir, "inputs.txt")
    with open(inputs, "w") as f:
        f.write("# rankpool-fib over 3 hosts\n0:1500\n1000000\n5\n999990:1000010\n"
                "200000:400000:1000\n2000000\n1500\n7\n")
    common = [args.fib, "--format", "jsonl", "--inputs", inputs, "--full", "--mod", "1000000007", "--quiet"]
    runs = {}
    for where, prefix in (("one host", local_mpirun()), ("3 hosts", cluster_mpirun())):
        tag = where.replace(" ", "-")
        out, stats = os.path.join(workdir, f"{tag}.jsonl"), os.path.join(workdir, f"{tag}-stats.json")
        rc, so, se, secs = run(prefix + ["-n", "3"] + common + ["--output", out, "--stats-json", stats], 150)
        log(f"rankpool-fib -n 3, {where}: exit {rc}, {secs:.1f} s")
        if not check(rc == 0, f"fib on {where}: exit {rc if rc is not None else 'none: hung, killed'}; "
                              f"stderr: {se[-2000:]}"):
            return
        with open(stats) as f:
            runs[where] = (stripped_rows(out), json.load(f))
    (local_rows, local_stats), (cl_rows, cl_stats) = runs["one host"], runs["3 hosts"]
    check(len(cl_rows) == len(local_rows) and len(local_rows) > 1700,
          f"row counts: 3 hosts {len(cl_rows)}, one host {len(local_rows)}")
    diff = [i for i, (a, b) in enumerate(zip(local_rows, cl_rows)) if a != b]
    check(not diff, f"{len(diff)} rows differ, first at line {diff[0] + 1 if diff else 0}: "
                    f"{cl_rows[diff[0]] if diff else ''}")
    # Per-rank and per-host statistics: three distinct hosts, the namespace hosts, each
    # worker's host did tasks.
    ranks = cl_stats.get("ranks", [])
    check(hosts_of(ranks) == HOSTNAMES, f"ranks ran on hosts {hosts_of(ranks)}, want {HOSTNAMES}")
    per_host = {h.get("host"): h for h in cl_stats.get("hosts", [])}
    check(sorted(per_host) == HOSTNAMES, f"per-host statistics name {sorted(per_host)}, want {HOSTNAMES}")
    workers = {r.get("host") for r in ranks if r.get("role") == "worker"}
    check(all(per_host.get(h, {}).get("tasks", 0) > 0 for h in workers),
          f"a worker host did no task: {[(h, per_host.get(h, {}).get('tasks')) for h in sorted(workers)]}")
    check(cl_stats.get("tasks_completed") == local_stats.get("tasks_completed"),
          f"tasks completed: 3 hosts {cl_stats.get('tasks_completed')}, one host {local_stats.get('tasks_completed')}")
    log(f"fib: {len(cl_rows)} identical rows; per host: "
        + ", ".join(f"{h} {per_host[h].get('ranks')} rank(s) {per_host[h].get('tasks')} tasks" for h in sorted(per_host)))


def case_relays(workdir):
    inputs = os.path.join(workdir, "inputs.txt")
    with open(inputs, "w") as f:
        f.write("0:4000\n100000:110000:500\n")
    common = [args.fib, "--format", "jsonl", "--inputs", inputs, "--mod", "1000000007", "--quiet"]
    runs = {}
    for where, prefix in (("flat, one host", local_mpirun() + ["-n", "3"]),
                          ("relays, 3 hosts", cluster_mpirun() + ["--map-by", "node", "-n", "7"])):
        tag = where.replace(" ", "-").replace(",", "")
        out, stats = os.path.join(workdir, f"{tag}.jsonl"), os.path.join(workdir, f"{tag}-stats.json")
        extra = ["--hierarchy", "on"] if where.startswith("relays") else []
        rc, so, se, secs = run(prefix + common + extra + ["--output", out, "--stats-json", stats], 150)
        log(f"rankpool-fib {where}: exit {rc}, {secs:.1f} s")
        if not check(rc == 0, f"fib {where}: exit {rc if rc is not None else 'none: hung, killed'}; "
                              f"stderr: {se[-2000:]}"):
            return
        with open(stats) as f:
            runs[where] = (stripped_rows(out), json.load(f))
    (flat_rows, _), (rows, stats) = runs["flat, one host"], runs["relays, 3 hosts"]
    check(rows == flat_rows and len(rows) > 4000, f"rows: relays {len(rows)}, flat {len(flat_rows)}, equal: {rows == flat_rows}")
    ranks = stats.get("ranks", [])
    check(len(ranks) == 7, f"7 rows of statistics, got {len(ranks)}")
    host = {r.get("rank"): r.get("host") for r in ranks}
    relays = [r for r in ranks if str(r.get("role", "")).startswith("relay")]
    # --map-by node: ranks 1 and 2 lead the two hosts that are not rank 0's.
    check(sorted(r.get("rank") for r in relays) == [1, 2], f"relays {[(r.get('rank'), r.get('role')) for r in relays]}")
    role = {r.get("rank"): r.get("role") for r in ranks}
    for r in relays:
        mates = [k for k in host if k != r.get("rank") and host[k] == r.get("host")]
        fed = re.match(r"relay for (\d+) ", r.get("role", ""))
        check(fed and int(fed.group(1)) == len(mates) and all(role[k] == "worker" for k in mates),
              f"relay {r.get('rank')} ({r.get('role')}) feeds the other ranks of its host: {mates}")
    idle = [r.get("rank") for r in ranks if r.get("role") == "worker" and not r.get("tasks")]
    check(not idle, f"worker ranks that did no task: {idle}")
    log(f"relays: {len(rows)} rows equal the flat run's; " + ", ".join(f"{r.get('rank')} {r.get('role')} on {r.get('host')}" for r in ranks))


def start_testweb(workdir):
    """rankpool-testweb on the bridge's service addresses NET.101..104 (set up by `up`)."""
    with open(os.path.join(args.state_dir, "services")) as f:
        services = f.read().split()
    check(len(services) >= 4, f"service addresses on the bridge: {services}")
    web = rt.TestWeb(["timeout", "-k", "10", "360", args.testweb, "--address", services[0], "--hosts", "4",
                      "--port", "0", "--access-log", os.path.join(workdir, "access.log")], env=ENV)
    log(f"testweb: {' '.join(web.origins)}")
    return web, web.origins


def stop_testweb(web):
    web.stop(signal.SIGINT)


def read_crawl(out):
    with open(os.path.join(out, "pages.jsonl")) as f:
        recs = [json.loads(l) for l in f if l.strip()]
    with open(os.path.join(out, "links.tsv")) as f:
        edges = [tuple(l.rstrip("\n").split("\t")) for l in f if l.strip()]
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    return recs, edges, summary


def case_crawl(workdir):
    web, origins = start_testweb(workdir)
    results = {}
    try:
        # Every origin's home page (4 hosts + the extra origin on a second port), depth 4,
        # no delay: the whole default web with its redirects, robots.txt variants, trap,
        # big and gzip-bomb pages, 404/500.
        seeds = [o + "/" for o in origins]
        for where, prefix in (("one host", local_mpirun()), ("3 hosts", cluster_mpirun())):
            out = os.path.join(workdir, where.replace(" ", "-"))
            rc, so, se, secs = run(prefix + ["-n", "3", args.crawl, "--out-dir", out, "--quiet", "--delay", "0",
                                             "--max-depth", "4"] + seeds, 150)
            log(f"rankpool-crawl -n 3, {where}: exit {rc}, {secs:.1f} s")
            if not check(rc == 0, f"crawl on {where}: exit {rc if rc is not None else 'none: hung, killed'}; "
                                  f"stderr: {se[-2000:]}"):
                return
            results[where] = read_crawl(out)
    finally:
        stop_testweb(web)
    (lrec, ledges, _), (crec, cedges, csum) = results["one host"], results["3 hosts"]
    lp = {(r["url"], r["status"], r["depth"]) for r in lrec}
    cp = {(r["url"], r["status"], r["depth"]) for r in crec}
    check(len(lp) > 100, f"the reference crawl fetched only {len(lp)} pages")
    check(len(crec) == len(cp), f"3 hosts: pages.jsonl repeats URLs ({len(crec)} records, {len(cp)} distinct)")
    check(cp == lp, f"pages (url, status, depth) differ: only on 3 hosts {few(cp - lp)}, "
                    f"only on one host {few(lp - cp)}")
    check(set(cedges) == set(ledges), f"links.tsv edges differ: only on 3 hosts {few(set(cedges) - set(ledges))}, "
                                      f"only on one host {few(set(ledges) - set(cedges))}")
    ranks = csum.get("ranks", [])
    check(hosts_of(ranks) == HOSTNAMES, f"summary.json ranks[].host: {hosts_of(ranks)}, want {HOSTNAMES}")
    host_of_rank = {r.get("rank"): r.get("host") for r in ranks}
    fetched_on = {host_of_rank.get(r.get("rank")) for r in crec}
    check(fetched_on == set(HOSTNAMES[1:]), f"pages were fetched on {sorted(fetched_on, key=str)}, "
                                            f"want both crawling hosts {HOSTNAMES[1:]}")
    log(f"crawl: {len(cp)} identical pages, {len(set(cedges))} identical edges; ranks on "
        + ", ".join(f"{r.get('rank')}@{r.get('host')}" for r in ranks))


RUN_LINE = re.compile(r"task (\d+) host (\S+) rankpool-host (\S+) rank (\d+) slot (\d+)")
RUN_SUMMARY = re.compile(r"rankpool-run: (\d+) tasks in \S+ s \(\S+\) on (\d+) worker ranks? \S+ (\d+) slots?: "
                         r"(\d+) succeeded, (\d+) failed")


def case_run(workdir):
    n, slots = 40, 2
    tasks = os.path.join(workdir, "tasks.txt")
    # A tenth to four tenths of a second each, so that both slots of both workers get tasks;
    # each names its host twice: the namespace's UTS name and what rankpool-run says.
    with open(tasks, "w") as f:
        for i in range(1, n + 1):
            f.write(f"sleep 0.{i % 4 + 1}; echo task {i} host $(hostname) rankpool-host $RANKPOOL_HOST "
                    f"rank $RANKPOOL_RANK slot $RANKPOOL_SLOT\n")
    joblog, stats = os.path.join(workdir, "run.joblog"), os.path.join(workdir, "run-stats.json")
    rc, so, se, secs = run(cluster_mpirun() + ["-n", str(args.hosts), args.run, "--slots", str(slots),
                                               "--joblog", joblog, "--stats-json", stats, "--tasks", tasks,
                                               "--no-progress"], 120)
    log(f"rankpool-run -n {args.hosts} --slots {slots}, {args.hosts} hosts: exit {rc}, {secs:.1f} s; stderr:\n"
        + "\n".join("    " + l for l in se.strip().splitlines()[-6:]))
    if not check(rc == 0, f"run on {args.hosts} hosts: exit {rc if rc is not None else 'none: hung, killed'}"):
        return
    want = list(range(1, n + 1))
    with open(stats) as f:
        ranks = json.load(f).get("ranks", [])
    check(hosts_of(ranks) == HOSTNAMES, f"ranks ran on hosts {hosts_of(ranks)}, want {HOSTNAMES}")
    host_of_rank = {r.get("rank"): r.get("host") for r in ranks}
    workers = sorted({r.get("host") for r in ranks if r.get("role") == "worker"}, key=str)
    check(workers == HOSTNAMES[1:], f"worker ranks on {workers}, want every host but the master's {HOSTNAMES[1:]}")

    with open(joblog, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    seqs = sorted(int(r["Seq"]) for r in rows)
    check(seqs == want, f"joblog: every task exactly once ({len(rows)} rows, missing {few(set(want) - set(seqs))})")
    bad = [(r["Seq"], r["Exitval"], r["Signal"]) for r in rows if (r["Exitval"], r["Signal"]) != ("0", "0")]
    check(not bad, f"joblog: every task Exitval 0, Signal 0 (seq, exitval, signal): {few(bad)}")
    host_of_seq = {int(r["Seq"]): r["Host"] for r in rows}
    per_host = {h: sum(1 for x in host_of_seq.values() if x == h) for h in set(host_of_seq.values())}
    check(sorted(per_host, key=str) == workers, f"joblog Host column names {sorted(per_host, key=str)}, want every "
                                                f"worker host {workers}")

    # The master's stdout (mpirun's, where rank 0 prints each task's output when it ends).
    lines = so.splitlines()
    got = {}
    for line in lines:
        m = RUN_LINE.fullmatch(line)
        if check(m is not None, f"stdout: an unexpected line {line!r}"):
            got.setdefault(int(m.group(1)), []).append(m.groups()[1:])
    check(sorted(got) == want and all(len(v) == 1 for v in got.values()),
          f"stdout: every task's line exactly once ({len(lines)} lines; missing {few(set(want) - set(got))}, "
          f"repeated {few(s for s, v in got.items() if len(v) > 1)})")
    wrong = [(s, v[0], host_of_seq.get(s)) for s, v in got.items()
             if not (v[0][0] == v[0][1] == host_of_seq.get(s) == host_of_rank.get(int(v[0][2])))]
    check(not wrong, f"each task's hostname, RANKPOOL_HOST, its rank's host and the joblog's Host agree "
                     f"(seq, (hostname, RANKPOOL_HOST, rank, slot), joblog Host): {few(wrong)}")
    used = {h: sorted({int(v[0][3]) for s, v in got.items() if v[0][0] == h}) for h in workers}
    check(all(u == list(range(1, slots + 1)) for u in used.values()), f"slots used per worker host: {used}, "
                                                                         f"want 1..{slots} on each")
    m = RUN_SUMMARY.search(se)
    summary = tuple(int(g) for g in m.groups()) if m else None
    check(summary == (n, args.hosts - 1, slots, n, 0), f"the summary says {n} tasks on {args.hosts - 1} worker "
                                                       f"ranks x {slots} slots, all succeeded: {summary}")
    log(f"run: {len(got)} task lines on the master's stdout; tasks per host (joblog): "
        + ", ".join(f"{h} {per_host[h]}" for h in sorted(per_host)))


FAULT_FIRST, FAULT_COUNT = 50_000_000, 150


def case_fault(workdir):
    victim = args.hosts  # the last host: a worker's (rank 0, the master, is on host 1)
    veth, ns = f"{args.name}-v{victim}", NAMESPACES[victim - 1]
    # 150 F(n) near 5*10^7, ~0.1-0.3 s each: many seconds of work, so only the fault can end
    # the run early. The journal keeps what the master received; after healing, --resume
    # must finish the job with every row right.
    out = os.path.join(workdir, "fault.jsonl")
    journal = os.path.join(workdir, "fault.journal")
    inputs = f"{FAULT_FIRST}:{FAULT_FIRST + FAULT_COUNT - 1}"
    budget = 240
    t0 = time.monotonic()
    proc = start(cluster_mpirun() + ["-n", str(args.hosts), args.fib, "--format", "jsonl",
                                     inputs, "--output", out, "--journal", journal, "--quiet"], budget)
    link_down = False
    try:
        # Mid-run: every host runs its rank, then a little longer.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if all(any(comm(q) == "rankpool-fib" for q in ns_pids(n)) for n in NAMESPACES):
                break
            time.sleep(0.2)
        else:
            check(False, f"the ranks did not start on every host within 60 s (mpirun exit {proc.poll()})")
            rc, so, se = finish(proc, 5)
            log(se[-3000:])
            return
        time.sleep(3)
        if not check(proc.poll() is None, f"the run ended before the fault (exit {proc.poll()})"):
            return
        started = time.monotonic() - t0
        r = subprocess.run(["ip", "link", "set", veth, "down"], capture_output=True, text=True)
        if not check(r.returncode == 0, f"ip link set {veth} down: {r.stderr.strip()}"):
            return
        link_down = True
        t_fault = time.monotonic()
        log(f"fault: {veth} (host {ns}) down {started:.1f} s into the run")
        rc, so, se = finish(proc, args.fault_bound)
        ended = time.monotonic() - t_fault
        if rc is None:
            check(False, f"the job still ran {args.fault_bound:.0f} s after the fault: hung (killed)")
        elif rc in (124, 137):
            check(False, f"the job hung: timeout(1) ended it ({rc}) {ended:.1f} s after the fault")
        else:
            log(f"the job ended {ended:.1f} s after the fault with exit {rc}")
            check(rc != 0, "the job exited 0 although a host was cut off")
            check(ended <= args.fault_bound, f"ended {ended:.1f} s after the fault, bound {args.fault_bound} s")
            # Open MPI's own report names the lost daemon's host.
            check("lost communication with a remote daemon" in se and f"{args.net}.{victim}" in se,
                  f"no clear error naming the lost host on stderr: {se[-2000:]!r}")
            rows = sum(1 for _ in open(out)) if os.path.exists(out) else 0
            check(rows < FAULT_COUNT, f"all {rows} rows written: the fault came too late to test anything")
            log(f"  {rows} of {FAULT_COUNT} rows written before the fault; stderr:\n"
                + "\n".join("    " + l for l in se.strip().splitlines()[-12:]))
    finally:
        if proc in rt.CHILDREN:
            rt.kill_tree(proc)
            rt.forget(proc)
        if link_down:
            subprocess.run(["ip", "link", "set", veth, "up"], check=False)

    # The cut-off host's daemon notices on its own (same keepalive): wait for every host to
    # empty, then kill stragglers by PID — reported, since the next job would meet them.
    def drain_hosts():
        deadline = time.monotonic() + 30
        left = {}
        while time.monotonic() < deadline:
            left = {n: ns_pids(n) for n in NAMESPACES}
            if not any(left.values()):
                break
            time.sleep(0.5)
        if any(left.values()):
            log("processes left on the hosts, killed: "
                + "; ".join(f"{n}: {[(q, comm(q)) for q in ps]}" for n, ps in left.items() if ps))
            for ps in left.values():
                for q in ps:
                    try:
                        os.kill(q, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        else:
            log(f"every host empty {30 - (deadline - time.monotonic()):.1f} s after the job ended")

    drain_hosts()

    # The healed cluster resumes the job on every host. Neighbour entries that went FAILED
    # while the link was down can delay the first connections after it comes back: flush
    # them, and allow one retry (a loaded CI machine once needed it), logging the first try.
    # A failed try leaves the journal valid (it is the point of it), so the retry resumes too.
    for n in NAMESPACES:
        subprocess.run(["ip", "netns", "exec", n, "ip", "neigh", "flush", "all"], check=False)
    stats = os.path.join(workdir, "after-stats.json")
    resumed = os.path.join(workdir, "resumed.jsonl")
    for attempt in (1, 2):
        rc, so, se, secs = run(cluster_mpirun() + ["-n", str(args.hosts), args.fib, inputs, "--format", "jsonl",
                                                   "--output", resumed, "--journal", journal, "--resume",
                                                   "--stats-json", stats], 120)
        if rc == 0 or attempt == 2:
            break
        log(f"after the link came back: first run failed (exit {rc}, {secs:.1f} s), retrying: {se[-600:]}")
        drain_hosts()
        time.sleep(5)
    if check(rc == 0, f"after the link came back: the resumed run exits {rc}; {se[-1500:]}"):
        with open(stats) as f:
            check(hosts_of(json.load(f).get("ranks", [])) == HOSTNAMES, "after the fault: ranks on every host")
        with open(resumed) as f:
            recs = [json.loads(l) for l in f if l.strip()]
        check([r.get("n") for r in recs] == list(range(FAULT_FIRST, FAULT_FIRST + FAULT_COUNT)),
              "the resumed output has every input once, in order")
        wrong = [r.get("n") for r in recs
                 if {k: r.get(k) for k in ("digits", "head", "tail")} != fib_oracle(r.get("n"))]
        check(not wrong, f"resumed rows disagree with the oracle for n in {wrong[:5]}")
        read_back = next((l for l in se.splitlines() if l.startswith("journal:")), "")
        log(f"after the link came back: the resumed run finished on all {args.hosts} hosts in {secs:.1f} s; "
            f"{read_back}")
        check(" 0 read back" not in read_back and read_back, f"the resumed run read results back: {read_back!r}")


def main():
    if args.case == "up":
        return case_up()
    if args.case == "down":
        return case_down()
    own_cluster = require_cluster()
    workdir = tempfile.mkdtemp(prefix=f"cluster-{args.case}-", dir=args.workdir)
    try:
        {"fib": case_fib, "relays": case_relays, "crawl": case_crawl, "run": case_run, "fault": case_fault}[args.case](workdir)
    finally:
        rt.cleanup()
        if own_cluster:
            case_down()
        if failures or args.keep:
            log(f"(work directory kept: {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


try:
    main()
except SystemExit:
    raise
except Exception as e:  # a broken checker must fail the test, not pass it
    import traceback
    traceback.print_exc()
    check(False, f"checker error: {e!r}")
finally:
    rt.cleanup()

log(f"{'ok' if not failures else 'FAILED'}: {args.case}, {len(failures)} failure(s), "
    f"{time.monotonic() - START:.1f} s")
sys.exit(1 if failures else 0)
