"""The test drivers' shared harness: checks, Open MPI settings, mpirun command lines, child
processes (each in a session of its own, killed with every descendant on a hang, at exit and on
SIGINT/SIGTERM) and the loopback web rankpool-testweb. Python stdlib only.

A driver imports it as it imports rankpool_journal:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
    import rankpool_testing as rt  # noqa: E402
"""
import atexit
import datetime
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time


# ---- the network ---------------------------------------------------------------------------

# Tests talk to loopback only, and never through the proxy of the machine they run on: the
# proxy and CA-bundle variables that curl (and rankpool-crawl, as curl does) reads are removed
# here, so no child of a driver sees them. A test that wants a proxy sets them for one child.
NETWORK_ENV = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
               "no_proxy", "NO_PROXY", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")
for _name in NETWORK_ENV:
    os.environ.pop(_name, None)


# ---- checks -------------------------------------------------------------------------------

class Checks:
    """Counts failed checks. check(cond, what) prints "FAIL: what" (and, verbose, "ok:   what"
    for a passing one) and returns cond; `failures` lists the failed `what`s."""

    def __init__(self, verbose=False, out=None):
        self.failures = []
        self.verbose = verbose
        self.out = out

    def check(self, cond, what):
        if not cond:
            self.failures.append(what)
            print("FAIL:", what, flush=True, file=self.out or sys.stdout)
        elif self.verbose:
            print("ok:  ", what, flush=True, file=self.out or sys.stdout)
        return cond

    __call__ = check

    @property
    def ok(self):
        return not self.failures

    def exit_code(self):
        """0 without failures, else 1."""
        return 0 if self.ok else 1

    def summary(self, what=""):
        """'ok: WHAT, N failures' or 'FAILED: ...'."""
        return f"{'ok' if self.ok else 'FAILED'}: {what + ', ' if what else ''}{len(self.failures)} failures"


def few(xs, n=5):
    """The first n of xs (sorted as text), and how many there are when more."""
    xs = sorted(xs, key=str)
    return str(xs[:n]) + (f" ... ({len(xs)} in all)" if len(xs) > n else "")


# ---- Open MPI and mpirun ------------------------------------------------------------------

def openmpi_env(env=None, bind_none=True):
    """A copy of env (default: os.environ) with Open MPI's settings for tests, as scripts/env.sh:
    running as root allowed (when root), oversubscription, and no binding unless env sets one."""
    env = dict(os.environ if env is None else env)
    if os.geteuid() == 0:  # Open MPI refuses root unless told twice
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
    if bind_none:
        env.setdefault("OMPI_MCA_hwloc_base_binding_policy", "none")
    return env


def add_mpiexec_arguments(parser, numproc_flag=True):
    """The mpiexec options CTest passes to the drivers: --mpiexec, --numproc-flag and
    --mpiexec-flags (a CMake list, ';'-separated)."""
    parser.add_argument("--mpiexec", required=True)
    if numproc_flag:
        parser.add_argument("--numproc-flag", default="-n")
    parser.add_argument("--mpiexec-flags", default="--oversubscribe;--bind-to;none",
                        help="extra mpiexec flags, ';'-separated (a CMake list)")


def split_flags(flags):
    """A CMake list ("--oversubscribe;--bind-to;none;") as a list of flags."""
    return [f for f in flags.split(";") if f]


def mpirun_command(mpiexec, ranks, program, app_args=(), flags=("--oversubscribe",), numproc_flag="-n",
                   quiet=True):
    """[mpiexec, -q, -n, RANKS, *flags, program, *app_args] (-q unless quiet is false: mpirun's
    own report of a dead rank needs it off).

    At one rank under Open MPI's mpirun, --mca odls_base_sigkill_timeout 0 too: after a rank
    exits non-zero mpirun otherwise waits about 2 s (the SIGTERM-to-SIGKILL grace it gives the
    job's other ranks) before it exits itself, and the 1-rank tests of bad input run dozens of
    such commands. With one rank there is no other rank to spare, and no test signals mpirun
    at one rank; at several ranks the grace is what lets the others drain, so it stays."""
    grace = []
    if int(ranks) == 1 and os.path.basename(mpiexec) in ("mpirun", "mpiexec", "orterun"):
        grace = ["--mca", "odls_base_sigkill_timeout", "0"]
    return [mpiexec, *(["-q"] if quiet else []), numproc_flag, str(ranks), *grace, *flags, program, *app_args]


# ---- processes ----------------------------------------------------------------------------

CHILDREN = []  # Popen objects started by start() and not yet finished: killed at exit


def _stat_fields(pid):
    """The fields of /proc/PID/stat after the command name (state, ppid, ...)."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    return stat[stat.rindex(")") + 2:].split()


def children(pid):
    """PIDs whose parent is pid (mpirun's ranks: Open MPI gives each a process group of its own)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if int(_stat_fields(d)[1]) == pid:
                    out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def descendants(pid):
    """PIDs of every descendant of pid (children, their children, ...), read from /proc."""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                parent[int(d)] = int(_stat_fields(d)[1])
            except (OSError, ValueError, IndexError):
                pass
    found, frontier = set(), {pid}
    while frontier:
        frontier = {c for c, pp in parent.items() if pp in frontier and c not in found}
        found |= frontier
    return found


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        return _stat_fields(pid)[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def wait_gone(pids, seconds):
    """True once none of pids is alive; False if some still are after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return not any(alive(p) for p in pids)


def signal_pids(pids, sig):
    """Sends sig to each of pids, ignoring those already gone."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def signal_tree(proc, sig):
    """Sends sig to proc's process group and to each descendant by PID (those that left the
    group); returns the PIDs signalled besides the group."""
    pids = descendants(proc.pid) | {proc.pid}
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    signal_pids(pids, sig)
    return pids


def kill_tree(proc, grace=3.0):
    """Ends a still-running proc and everything it started: SIGTERM to its group and every
    descendant, `grace` seconds to exit, then SIGKILL to what is left."""
    if proc.poll() is not None:
        return
    pids = descendants(proc.pid)
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        signal_pids(pids, sig)
        try:
            proc.wait(timeout=wait)
            if sig == signal.SIGTERM:
                time.sleep(0.2)  # let the ranks follow mpirun
                pids = {q for q in pids if os.path.exists(f"/proc/{q}")}
                if not pids:
                    return
        except subprocess.TimeoutExpired:
            pass


def dump_stacks(proc, prefix="rankpool"):
    """Prints the main-thread stack (gdb, when installed) of each descendant of proc whose
    command name starts with prefix: a hang seen once, elsewhere, can be read from the log."""
    gdb = shutil.which("gdb")
    if not gdb:
        print("  (hung: gdb is not installed, no stacks)", flush=True)
        return
    for pid in sorted(descendants(proc.pid)):
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if not comm.startswith(prefix):
            continue
        try:
            r = subprocess.run([gdb, "-batch", "-nx", "-p", str(pid), "-ex", "bt 16"],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
            frames = [l for l in r.stdout.splitlines() if l.startswith("#")]
        except (OSError, subprocess.TimeoutExpired) as e:
            frames = [f"gdb: {e}"]
        print(f"  hung {comm} pid {pid}:\n    " + "\n    ".join(frames[:80]), flush=True)


def start(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw):
    """Popen(cmd) leading a session of its own, registered in CHILDREN (killed at exit)."""
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=stderr, text=text,
                            start_new_session=True, **kw)
    CHILDREN.append(proc)
    return proc


def forget(proc):
    """Takes proc out of CHILDREN (it has ended, or is someone else's to end)."""
    if proc in CHILDREN:
        CHILDREN.remove(proc)


def finish(proc, timeout, input=None, dump=False, grace=3.0):
    """(returncode, stdout, stderr) once proc ends; after `timeout` seconds (a hang) first the
    stacks (dump), then kill_tree(proc, grace), and returncode None."""
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        if dump:
            dump_stacks(proc)
        kill_tree(proc, grace)
        out, err = proc.communicate()
        rc = None
    forget(proc)
    return rc, out, err


_cleanups = []


def cleanup():
    """Runs the hooks of at_cleanup() (newest first), then kills every process still in CHILDREN."""
    while _cleanups:
        try:
            _cleanups.pop()()
        except Exception as e:  # noqa: BLE001 - the processes must still be killed
            print(f"cleanup: {e!r}", flush=True)
    for proc in list(CHILDREN):
        kill_tree(proc, grace=2.0)
        forget(proc)
        for f in (proc.stdin, proc.stdout, proc.stderr):
            if f:
                f.close()


def at_cleanup(fn):
    """Runs fn() before the processes are killed by cleanup() (at exit, on SIGINT/SIGTERM)."""
    _cleanups.append(fn)


def _on_signal(sig, _frame):
    cleanup()
    sys.exit(128 + sig)


atexit.register(cleanup)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


# ---- rankpool-testweb ---------------------------------------------------------------------

class TestWebError(RuntimeError):
    """rankpool-testweb did not print its "origins:" line; `line` and `stderr` say why."""

    def __init__(self, line, stderr):
        super().__init__(f"rankpool-testweb did not start: {line!r} {stderr}")
        self.line, self.stderr = line, stderr


class TestWeb:
    """A rankpool-testweb serving until stop(): `origins` from its "origins:" line, `truth`
    (the --truth file, when given), `log` (the --access-log file, when given).

    cmd: the full command line (testweb binary, its options, maybe a wrapper before it);
    stderr: PIPE (returned by stop()) or an open file."""

    def __init__(self, cmd, truth=None, access_log=None, stderr=subprocess.PIPE, timeout=20, env=None):
        self.truth_file, self.log = truth, access_log
        self.proc = start(cmd, stderr=stderr, env=env)
        line = self.first_line(timeout)
        if not line.startswith("origins:"):
            raise TestWebError(line, self.stop())
        self.origins = line.split()[1:]
        self.truth = None
        if truth:
            with open(truth) as f:
                self.truth = json.load(f)

    def first_line(self, timeout):
        """The web's first stdout line, "" if it exits or says nothing for `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                return self.proc.stdout.readline()
            if self.proc.poll() is not None:
                return ""
        return ""

    def stop(self, sig=signal.SIGTERM):
        """Stops the web (sig, then kill_tree after 10 s) and returns its stderr ("" unless PIPE).
        The access log is whole only after this."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                kill_tree(self.proc)
        forget(self.proc)
        err = self.proc.stderr.read() if self.proc.stderr else ""
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()
        return err or ""


ACCESS_LOG_LINE = re.compile(r'^(\S+) (\S+) (\S+) (\S+) (\d+) "(.*)"$')


def read_access_log(path, report=None):
    """The requests of a testweb access log, in order, each a dict: time (epoch seconds), origin,
    method, target, url, status, user_agent. report(message) is called for an unparsable line."""
    reqs = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            m = ACCESS_LOG_LINE.match(line.rstrip("\n"))
            if m is None:
                if report:
                    report(f"access log line {n} unparsable: {line!r}")
                continue
            ts, hostport, method, target, status, ua = m.groups()
            t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
            origin = hostport if "://" in hostport else "http://" + hostport  # https origins carry their scheme
            reqs.append({"time": t.timestamp(), "origin": origin, "method": method,
                         "target": target, "url": origin + target, "status": int(status),
                         "user_agent": ua})
    return reqs
