#!/usr/bin/env python3
"""Self-test of rankpool_testing.py (CTest: rankpool_testing_test, label unit): checks, mpirun
lines, the Open MPI environment, descendants, a hung process group that ignores SIGTERM ended
by finish(), cleanup(), TestWeb (with a stand-in web) and the access-log reader. Needs no MPI."""
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rankpool_testing as rt  # noqa: E402

# A shell that ignores SIGTERM (inherited by its children) and starts two sleeps in its group
# and one in a session of its own; prints the three PIDs.
STUBBORN = ("trap '' TERM; sleep 60 & a=$!; sleep 60 & b=$!; setsid sleep 60 & c=$!; "
            "echo $a $b $c; wait")


def started_pids(proc):
    return [int(x) for x in proc.stdout.readline().split()]


class ChecksTest(unittest.TestCase):
    def test_counts(self):
        out = io.StringIO()
        c = rt.Checks(out=out)
        self.assertTrue(c.check(True, "fine"))
        self.assertEqual((c.exit_code(), c.summary("x")), (0, "ok: x, 0 failures"))
        self.assertFalse(c(1 == 2, "one is two"))
        self.assertFalse(c.check(None, "none"))
        self.assertEqual(c.failures, ["one is two", "none"])
        self.assertEqual(out.getvalue(), "FAIL: one is two\nFAIL: none\n")
        self.assertEqual((c.ok, c.exit_code(), c.summary()), (False, 1, "FAILED: 2 failures"))

    def test_verbose(self):
        out = io.StringIO()
        c = rt.Checks(verbose=True, out=out)
        c.check(True, "a")
        c.check(False, "b")
        self.assertEqual(out.getvalue(), "ok:   a\nFAIL: b\n")

    def test_few(self):
        self.assertEqual(rt.few([3, 1, 2]), "[1, 2, 3]")
        self.assertEqual(rt.few(range(7), 2), "[0, 1] ... (7 in all)")


class MpirunTest(unittest.TestCase):
    def test_command(self):
        self.assertEqual(rt.mpirun_command("mpiexec", 3, "app", ["--x", "1"]),
                         ["mpiexec", "-q", "-n", "3", "--oversubscribe", "app", "--x", "1"])
        self.assertEqual(rt.mpirun_command("srun", 2, "app", flags=rt.split_flags("--a;b;;"), numproc_flag="-N",
                                           quiet=False), ["srun", "-N", "2", "--a", "b", "app"])
        # One rank under Open MPI's mpirun: no SIGTERM-to-SIGKILL grace (nothing else to drain).
        self.assertEqual(rt.mpirun_command("/usr/bin/mpirun", 1, "app"),
                         ["/usr/bin/mpirun", "-q", "-n", "1", "--mca", "odls_base_sigkill_timeout", "0",
                          "--oversubscribe", "app"])
        self.assertEqual(rt.mpirun_command("srun", 1, "app", numproc_flag="-N"), ["srun", "-q", "-N", "1",
                                                                                   "--oversubscribe", "app"])

    def test_env(self):
        env = rt.openmpi_env({"PATH": "/bin", "OMPI_MCA_hwloc_base_binding_policy": "core"})
        self.assertEqual(env["OMPI_MCA_rmaps_base_oversubscribe"], "1")
        self.assertEqual(env["OMPI_MCA_hwloc_base_binding_policy"], "core")  # kept
        self.assertEqual(rt.openmpi_env({})["OMPI_MCA_hwloc_base_binding_policy"], "none")
        self.assertNotIn("OMPI_MCA_hwloc_base_binding_policy", rt.openmpi_env({}, bind_none=False))
        self.assertEqual("OMPI_ALLOW_RUN_AS_ROOT" in env, os.geteuid() == 0)


class ProcessTest(unittest.TestCase):
    def test_descendants_and_hang(self):
        proc = rt.start(["sh", "-c", STUBBORN])
        a, b, c = started_pids(proc)
        time.sleep(0.2)  # setsid has exec'd sleep
        self.assertEqual(set(rt.children(proc.pid)), {a, b, c})
        self.assertEqual(rt.descendants(proc.pid), {a, b, c})
        self.assertIn(proc, rt.CHILDREN)
        t0 = time.monotonic()
        rc, _, _ = rt.finish(proc, timeout=0.5, grace=0.5)
        self.assertIsNone(rc, "a hang gives no exit code")
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(proc.returncode, -signal.SIGKILL, "SIGTERM was ignored: SIGKILL ended it")
        self.assertTrue(rt.wait_gone([a, b, c], 5), "the group and the descendant that left it are gone")
        self.assertNotIn(proc, rt.CHILDREN)

    def test_finish_in_time(self):
        rc, out, err = rt.finish(rt.start(["sh", "-c", "cat; echo e >&2; exit 3"], stdin=subprocess.PIPE),
                                 timeout=10, input="in\n")
        self.assertEqual((rc, out, err), (3, "in\n", "e\n"))

    def test_signal_tree_and_cleanup(self):
        proc = rt.start(["sh", "-c", "sleep 60 & echo $!; wait"])
        kid = started_pids(proc)[0]
        pids = rt.signal_tree(proc, signal.SIGKILL)
        self.assertEqual(pids, {proc.pid, kid})
        proc.wait()
        rt.forget(proc)
        proc.stdout.close()
        proc.stderr.close()
        self.assertTrue(rt.wait_gone([kid], 5))
        # cleanup(): the hooks, then every process still registered.
        proc = rt.start(["sh", "-c", STUBBORN])
        pids = started_pids(proc)
        ran = []
        rt.at_cleanup(lambda: ran.append(proc.poll()))
        rt.cleanup()
        self.assertEqual(ran, [None], "the hook ran before the kill")
        self.assertIsNotNone(proc.poll())
        self.assertTrue(rt.wait_gone(pids, 5))
        self.assertEqual(rt.CHILDREN, [])
        self.assertFalse(rt.alive(proc.pid))


FAKE_WEB = """import sys, time
print("stopping soon", file=sys.stderr, flush=True)
print(sys.argv[1], flush=True)
time.sleep(60)
"""


class TestWebTest(unittest.TestCase):
    def test_start_stop(self):
        with tempfile.TemporaryDirectory() as d:
            truth = os.path.join(d, "truth.json")
            with open(truth, "w") as f:
                f.write('{"seeds": ["http://127.0.0.2:1/"]}')
            web = rt.TestWeb([sys.executable, "-c", FAKE_WEB, "origins: http://127.0.0.2:1 http://127.0.0.3:1"],
                             truth=truth, access_log=os.path.join(d, "access.log"))
            self.assertEqual(web.origins, ["http://127.0.0.2:1", "http://127.0.0.3:1"])
            self.assertEqual(web.truth["seeds"], ["http://127.0.0.2:1/"])
            self.assertEqual(web.stop(), "stopping soon\n")
            self.assertNotIn(web.proc, rt.CHILDREN)

    def test_no_origins(self):
        with self.assertRaises(rt.TestWebError) as e:
            rt.TestWeb([sys.executable, "-c", FAKE_WEB, "bind: address in use"], timeout=10)
        self.assertEqual(e.exception.line, "bind: address in use\n")
        self.assertIn("stopping soon", e.exception.stderr)

    def test_access_log(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "access.log")
            with open(path, "w") as f:
                f.write('2026-11-25T21:10:30.250000Z 127.0.0.2:8080 GET /p/3 200 "bot/1 (+x)"\n'
                        "garbage\n")
            problems = []
            reqs = rt.read_access_log(path, report=problems.append)
        self.assertEqual(reqs, [{"time": 1795641030.25, "origin": "http://127.0.0.2:8080", "method": "GET",
                                 "target": "/p/3", "url": "http://127.0.0.2:8080/p/3", "status": 200,
                                 "user_agent": "bot/1 (+x)"}])
        self.assertEqual(problems, ["access log line 2 unparsable: 'garbage\\n'"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
