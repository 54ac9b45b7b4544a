#!/usr/bin/env python3
"""Runs the shell examples of README.md and docs/*.md (CTest: docs_commands, label docs).

The rule, also stated at the top of docs/testing.md:
  - every fenced block whose info string is exactly `sh` is run, unless the line just before
    its opening fence is an HTML comment `<!-- not checked: REASON -->` (a reason is required);
    output is shown in blocks with another info string (`text`, `console`, ...), never run;
  - the blocks of one file run in order, each with `bash -e`, in one fresh temporary
    directory per file, so a block may use files an earlier block of the same file made;
  - PATH starts with the build's app directories (rankpool-run, rankpool-fib, rankpool-crawl,
    rankpool-bench, rankpool-testweb), as an installed user's PATH would, and the environment
    has the Open MPI settings of scripts/env.sh (root, oversubscription, no binding);
    RANKPOOL_SOURCE_DIR names the source tree;
  - each block has a time limit (--timeout, default 60 s); background processes a block
    starts are killed when it ends (the block runs in its own process group);
  - a failing block is reported as file:line with its text and output; the other files still
    run, and the script exits 1;
  - a block that starts a background process writing to a file (`cmd > FILE &`) must not
    reuse a FILE that an earlier block of the same file wrote: the wait that follows could read
    the old file before the new process truncates it (docs/crawl.md once did, and failed under
    load).
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import rankpool_testing as rt  # noqa: E402

FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([^`\s]*)\s*(.*)$")
NOT_CHECKED = re.compile(r"^\s*<!--\s*not checked:\s*(\S.*?)\s*-->\s*$")
APPS = ["run", "fib", "crawl", "bench", "testweb"]


def blocks_of(path):
    """Yields (line number of the opening fence, info string, code, not-checked reason or None)."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m.group(1), m.group(2), m.group(3)
        start = i
        body = []
        i += 1
        while i < len(lines):
            close = lines[i].strip()
            if close.startswith(fence[0] * len(fence)) and close.strip(fence[0]) == "":
                break
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        prev = lines[start - 1] if start > 0 else ""
        nc = NOT_CHECKED.match(prev)
        reason = nc.group(1) if nc else None
        if prev.strip().startswith("<!--") and "not checked" in prev and not nc:
            reason = ""  # malformed marker: reported as an error
        yield start + 1, info, "\n".join(body) + "\n", reason


def doc_files(root):
    files = [os.path.join(root, "README.md")]
    docs = os.path.join(root, "docs")
    if os.path.isdir(docs):
        files += sorted(os.path.join(docs, f) for f in os.listdir(docs) if f.endswith(".md"))
    return [f for f in files if os.path.isfile(f)]


# `cmd > FILE &` (not `&&`, not `2>&1`): a background process that writes FILE.
BACKGROUND_WRITE = re.compile(r"(?<![0-9&])>\s*([\w./-]+)(?:\s+2>&1)?\s*&(?![&>])")


def environment(args):
    env = rt.openmpi_env()
    dirs = []
    for app in APPS if args.bin_dir else []:  # CTest passes --path only
        d = os.path.join(args.bin_dir, "apps", app)
        if os.path.isdir(d):
            dirs.append(d)
    for d in args.path or []:
        dirs.append(d)
    env["PATH"] = os.pathsep.join(dirs + [env.get("PATH", "/usr/bin:/bin")])
    env["RANKPOOL_SOURCE_DIR"] = args.source_dir
    env.pop("RANKPOOL_FUZZ_SECONDS", None)
    return env


def run_block(code, cwd, env, timeout):
    """Runs one block with bash -e; returns (exit code, timed out, output, seconds). The output
    goes to a file, not a pipe, so that a background process the block left holding it does
    not keep us waiting: it is killed with the block's process group when bash ends."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as log:
        proc = rt.start(["bash", "-e", "-c", code], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                        text=False)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        try:  # whatever the block left running in the background, or all of it on a timeout
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        rt.forget(proc)
        log.seek(0)
        out = log.read().decode("utf-8", "replace")
    return proc.returncode, timed_out, out, time.monotonic() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--source-dir", default=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                   help="the source tree holding README.md and docs/ (default: this script's tree)")
    p.add_argument("--bin-dir", default=os.environ.get("RANKPOOL_BUILD"),
                   help="the build tree whose apps/<app>/ directories go first on PATH (or $RANKPOOL_BUILD)")
    p.add_argument("--path", action="append", help="another directory to put on PATH (repeatable)")
    p.add_argument("--timeout", type=float, default=60, help="seconds per block (default 60)")
    p.add_argument("--list", action="store_true", help="list the blocks and whether they run; run nothing")
    p.add_argument("files", nargs="*", help="Markdown files (default: README.md and docs/*.md)")
    args = p.parse_args()
    files = [os.path.abspath(f) for f in args.files] or doc_files(args.source_dir)
    if not args.list and not args.bin_dir and not args.path:
        p.error("--bin-dir (or RANKPOOL_BUILD) or --path is required")
    if args.bin_dir:
        args.bin_dir = os.path.abspath(args.bin_dir)
    env = environment(args) if not args.list else None

    failures, ran, skipped = [], 0, 0
    t_all = time.monotonic()
    for path in files:
        rel = os.path.relpath(path, args.source_dir)
        blocks = list(blocks_of(path))
        work = None
        background_files = {}  # FILE of `> FILE &` -> the block that wrote it first
        for line, info, code, reason in blocks:
            if info != "sh":
                continue
            where = f"{rel}:{line}"
            written = BACKGROUND_WRITE.findall(code) if reason is None else []
            reused = [n for n in written if n in background_files]
            if reused and not args.list:
                print(f"FAILED       {where} (reuses {reused[0]})")
                failures.append((where, f"'> {reused[0]} &' reuses the file of the block at line "
                                        f"{background_files[reused[0]]}: a wait on it may read the old "
                                        f"one; name a new file", code, ""))
                continue
            for name in written:
                background_files.setdefault(name, line)
            if reason == "":
                failures.append((where, "a '<!-- not checked -->' comment needs the form "
                                        "'<!-- not checked: REASON -->'", code, ""))
                continue
            if reason is not None:
                skipped += 1
                print(f"not checked  {where}: {reason}")
                continue
            if args.list:
                print(f"checked      {where}")
                continue
            if work is None:
                work = tempfile.mkdtemp(prefix="rankpool-docs-")
            ran += 1
            rc, timed_out, out, secs = run_block(code, work, env, args.timeout)
            if rc == 0 and not timed_out:
                print(f"ok           {where} ({secs:.1f} s)")
            else:
                why = f"timed out after {args.timeout:.0f} s" if timed_out else f"exit {rc}"
                print(f"FAILED       {where} ({why}, {secs:.1f} s)")
                failures.append((where, why, code, out))
            sys.stdout.flush()
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    if args.list:
        return 0
    print(f"\n{ran} blocks run, {skipped} not checked, {len(failures)} failed "
          f"({time.monotonic() - t_all:.1f} s)")
    for where, why, code, out in failures:
        print(f"\n=== {where}: {why}\n--- block:\n{code.rstrip()}\n--- output:\n{out.rstrip()[-4000:]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
