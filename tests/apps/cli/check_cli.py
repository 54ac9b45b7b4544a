#!/usr/bin/env python3
"""The command-line behaviour every MPI app shares, under a real mpirun at several ranks:

  --help          printed once (by rank 0), with the exit codes, exit 0 on every rank;
  --version       printed once: the version line and the MPI library, exit 0;
  a usage error   one line on stderr, from rank 0 only, nothing on stdout, exit 2 on every
                  rank, and no hang (each run has a timeout).

One app per invocation (--app NAME=PATH). Python stdlib only.
"""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
import rankpool_testing as rt  # noqa: E402

p = argparse.ArgumentParser()
rt.add_mpiexec_arguments(p)
p.add_argument("--ranks", type=int, default=3)
p.add_argument("--app", required=True, help="NAME=PATH, e.g. rankpool-fib=/path/to/rankpool-fib")
p.add_argument("--version", required=True, help="the project's version")
args = p.parse_args()

name, _, program = args.app.partition("=")
checks = rt.Checks()
check, failures = checks.check, checks.failures


def mpirun(app_args, timeout=60):
    cmd = rt.mpirun_command(args.mpiexec, args.ranks, program, app_args, flags=rt.split_flags(args.mpiexec_flags),
                            numproc_flag=args.numproc_flag)
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return None, out, ""


def lines(text):
    return [l for l in text.splitlines() if l.strip()]


# --help: the option list once (each app lists "-h [ --help ]" exactly once), the exit codes once.
rc, out, err = mpirun(["--help"])
check(rc == 0, f"{name} --help: exit {rc}, want 0; stderr {lines(err)[-5:]}")
n_help = len(re.findall(r"-h \[ --help \]", out))
check(n_help == 1, f"{name} --help at {args.ranks} ranks: the help printed {n_help} times, want once")
n_exit = len(re.findall(r"^Exit status:", out, flags=re.M))
check(n_exit == 1, f"{name} --help: 'Exit status:' appears {n_exit} times, want once (the exit codes)")
check(lines(err) == [], f"{name} --help: stderr {lines(err)[:5]}")

# --version: one version line and one MPI line.
rc, out, err = mpirun(["--version"])
check(rc == 0, f"{name} --version: exit {rc}, want 0")
want = rf"{re.escape(name)} {re.escape(args.version)}( \(git [^)\n]+\))?\nMPI: [^\n]+ \(MPI [0-9]+\.[0-9]+\)\n"
check(re.fullmatch(want, out) is not None, f"{name} --version at {args.ranks} ranks printed {out!r}")
check(lines(err) == [], f"{name} --version: stderr {lines(err)[:5]}")

# Usage errors: an unknown option, and an option without its value.
for argv, needle in ((["--no-such-option"], "no-such-option"), (["--version", "--help", "--bogus=1"], "bogus")):
    rc, out, err = mpirun(argv)
    if not check(rc is not None, f"{name} {argv}: hung (killed after 60 s)"):
        continue
    got = lines(err)
    check(rc == 2, f"{name} {argv}: exit {rc}, want 2 ({got[:5]})")
    check(len(got) == 1 and got[0].startswith(f"{name}: ") and needle in got[0],
          f"{name} {argv}: want one line '{name}: ...' naming {needle!r} (rank 0 only), got {got[:10]}")
    check(out == "", f"{name} {argv}: stdout {out[:200]!r}")

print(f"{'ok' if not failures else 'FAILED'}: {name} at {args.ranks} ranks, {len(failures)} failures")
sys.exit(1 if failures else 0)
