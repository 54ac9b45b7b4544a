#!/usr/bin/env python3
"""Crawler benchmark: rankpool-crawl at several rank counts against a Scrapy baseline.

Run it through scripts/bench-crawl.sh (which sets up Open MPI's environment):

    scripts/bench-crawl.sh [--hosts 8] [--pages-per-host 2700] [--latency-ms 0 50]
                           [--ranks 2 3] [--skip-scrapy] [--skip-rankpool] [--keep DIR]

Every crawl gets a synthetic web of its own (rankpool-testweb, --no-specials, Crawl-delay 0)
with a fresh access log, and the ground truth that same server computes for seeds = every
origin's "/" and unlimited depth. rankpool-crawl runs with --delay 0 --max-depth -1 and its
default one connection per origin; Scrapy (scripts/scrapy_baseline.py) with
CONCURRENT_REQUESTS=64 and one request in flight per origin, no delay, robots.txt obeyed.

The server's access log is the witness for both crawlers: pages = page requests it saw
(robots.txt excluded), a URL requested twice is a duplicate, a requested URL outside the
seeds' origins is out of scope, one the origin's robots.txt disallows (RFC 9309: a 5xx or
unreachable robots.txt disallows everything, a 4xx allows everything) is a robots
violation, and recall = truth pages requested / truth pages. Speeds use each crawler's own
crawl time (rankpool: summary.json "seconds"; Scrapy: spider open to close), so process
start-up (mpirun, Python imports) is left out of pages/s; "wall" includes it.

Duration with the defaults on a 2-core machine: about 14 minutes. Scrapy is CPU-bound here
(~10 ms of Python per page): ~100 pages/s without latency, ~70 with 50 ms, so its crawls of
~21,000 pages take ~3.5 and ~5 minutes. rankpool takes seconds without latency; at 50 ms
both crawlers are held to one request in flight per origin, so a crawl lasts at least
(largest origin's pages) x 50 ms = 135 s. --pages-per-host 500 brings the run to ~3 minutes.

Exit status: 0 when every rankpool crawl was exact (100% recall, no duplicate, out-of-scope
or disallowed request, pages.jsonl and links.tsv equal to the truth); 1 otherwise; 2 on bad
usage or a missing binary. Scrapy's deviations are reported, not failed on. Speed targets
(>= 10x Scrapy and >= 2000 pages/s without latency) are reported, not failed on either:
they depend on the machine.
"""
import argparse
import collections
import json
import os
import random
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

ROOT = Path(__file__).resolve().parent.parent
# Requests the driver itself makes (the robots.txt probe) carry this User-Agent, so that the
# access-log accounting can leave them out.
PROBE_UA = "rankpool-crawl-bench-probe"
# --warc may cost at most 30 % of the pages/s (issue 13): every body hashed, compressed, written.
WARC_TARGET_RATIO = 0.70
# Unlimited depth for the truth: testweb takes a number, and no path of this web is longer.
TRUTH_MAX_DEPTH = 1_000_000
SPEED_TARGET_RATIO = 10.0
SPEED_TARGET_PAGES_PER_S = 2000.0


def fail_usage(message):
    print(f"crawl_bench: {message}", file=sys.stderr)
    sys.exit(2)


def number_list(values):
    """["0 50"] or ["0", "50"] or ["0,50"] -> [0, 50]: lists work quoted or not."""
    out = []
    for value in values:
        for item in value.replace(",", " ").split():
            try:
                out.append(int(item))
            except ValueError:
                fail_usage(f"not an integer: {item!r}")
    return out


def origin_of(url):
    """"http://127.0.0.2:8080" for any URL of that origin (same as scrapy_baseline.origin_of)."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return f"{parts.scheme}://{parts.hostname}:{port}"


class Children:
    """Every process the driver starts, so that all of them die with it.

    Each child gets a session (process group) of its own: a terminal's Ctrl-C then reaches only
    the driver, which stops the children in order, and stopping a child's group also stops what
    it started (mpirun's ranks).
    """

    def __init__(self):
        self.procs = []

    def start(self, cmd, **kwargs):
        proc = subprocess.Popen([str(c) for c in cmd], start_new_session=True, **kwargs)
        self.procs.append(proc)
        return proc

    def stop(self, proc, grace=10.0):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            except ProcessLookupError:
                pass
        if proc in self.procs:
            self.procs.remove(proc)
        return proc.returncode

    def stop_all(self):
        for proc in reversed(list(self.procs)):
            self.stop(proc, grace=3.0)


def _raise_on_signal(signum, frame):
    # Turns SIGTERM (and SIGINT) into an exception so that the finally clauses stop the
    # children and remove the work directory.
    raise KeyboardInterrupt(f"signal {signum}")


class TestWeb:
    """One rankpool-testweb, its access log and its ground truth, for one crawl.

    The seeds must be known before the server starts (it computes the truth for them), so the
    ports are chosen here instead of --port 0: a port P below the kernel's ephemeral range (so
    that no client socket takes it meanwhile), free on every host address, with P+1 free for
    the extra origin. A lost race just means another try.
    """

    def __init__(self, children, binary, hosts, pages, latency_ms, directory):
        self.children = children
        self.binary = binary
        self.hosts = hosts
        self.pages = pages
        self.latency_ms = latency_ms
        self.dir = directory
        self.access_log = directory / "access.log"
        self.truth_file = directory / "truth.json"
        self.proc = None
        self.seeds = []

    def _addresses(self):
        return [f"127.0.0.{2 + i}" for i in range(self.hosts)]

    def _port_is_free(self, port):
        endpoints = [(a, port) for a in self._addresses()] + [(self._addresses()[0], port + 1)]
        for endpoint in endpoints:
            with socket.socket() as s:
                try:
                    s.bind(endpoint)
                except OSError:
                    return False
        return True

    def start(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(10):
            port = random.randrange(20000, 32000)
            if not self._port_is_free(port):
                continue
            origins = [f"http://{a}:{port}" for a in self._addresses()]
            origins.append(f"http://{self._addresses()[0]}:{port + 1}")
            self.seeds = [o + "/" for o in origins]
            self.access_log.unlink(missing_ok=True)
            cmd = [self.binary, "--hosts", self.hosts, "--pages", self.pages, "--no-specials",
                   "--crawl-delay", 0, "--port", port, "--latency-ms", self.latency_ms,
                   "--access-log", self.access_log, "--truth", self.truth_file,
                   "--max-depth", TRUTH_MAX_DEPTH, "--crawl-seed", *self.seeds]
            with open(self.dir / "testweb.err", "w") as err:
                self.proc = self.children.start(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
            line = self._read_line(timeout=60.0)
            if line.startswith("origins:"):
                served = line.split()[1:]
                if sorted(served) != sorted(origins):
                    raise RuntimeError(f"testweb serves {served}, expected {origins}: "
                                       "has its address layout changed?")
                return self
            self.children.stop(self.proc)  # most likely lost the port race: try another
        raise RuntimeError(f"rankpool-testweb did not start; see {self.dir / 'testweb.err'}")

    def _read_line(self, timeout):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        ready = sel.select(timeout)
        sel.close()
        return self.proc.stdout.readline() if ready else ""

    def robots_rules(self):
        """origin -> can_fetch(url), from each origin's robots.txt as the server serves it."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
        rules = {}
        for seed in self.seeds:
            origin = origin_of(seed)
            request = urllib.request.Request(origin + "/robots.txt",
                                             headers={"User-Agent": PROBE_UA})
            body, status = "", 0
            try:
                with opener.open(request, timeout=10) as response:
                    status, body = response.status, response.read().decode("utf-8", "replace")
            except urllib.error.HTTPError as e:
                status = e.code
            except OSError:
                status = 0
            if status == 200:
                parser = RobotFileParser()
                parser.parse(body.splitlines())
                # "*": the crawlers' own agent names match no named group of this web.
                rules[origin] = lambda url, p=parser: p.can_fetch("*", url)
            elif 400 <= status < 500:
                rules[origin] = lambda url: True
            else:
                rules[origin] = lambda url: False
        return rules

    def stop(self):
        """Stops the server; False when it had already exited (then the crawl met a dead web)."""
        # Stopping flushes the access log; it is read only afterwards.
        if self.proc is None:
            return True
        was_running = self.proc.poll() is None
        self.children.stop(self.proc)
        self.proc = None
        return was_running


def read_access_log(path):
    """(page URL -> request count, robots.txt URL -> request count), the probe's lines left out.

    A line: '2026-11-25T21:10:30.123456Z 127.0.0.2:8080 GET /p/3 200 "User-Agent"'.
    """
    pages, robots = collections.Counter(), collections.Counter()
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split(" ", 5)
            if len(fields) < 6:
                continue
            _, hostport, _, target, _, agent = fields
            if agent.strip('"') == PROBE_UA:
                continue
            url = f"http://{hostport}{target}"
            (robots if target == "/robots.txt" else pages)[url] += 1
    return pages, robots


def judge(requests, robots_requests, truth, rules):
    """Measures one crawl's requests (from the access log) against the ground truth."""
    expected = {f["url"] for f in truth["fetched"]}
    scope = {origin_of(s) for s in truth["seeds"]}
    out_of_scope = robots_violations = stray = 0
    for url in requests:
        if url in expected:
            continue
        origin = origin_of(url)
        if origin not in scope:
            out_of_scope += 1
        elif not rules[origin](url):
            robots_violations += 1
        else:
            stray += 1  # allowed and in scope but not reachable: a link resolved wrongly
    return {
        "pages": sum(requests.values()),
        "distinct": len(requests),
        "expected": len(expected),
        "recall": len(expected & requests.keys()) / len(expected) if expected else 1.0,
        "missing": len(expected - requests.keys()),
        "duplicates": sum(n - 1 for n in requests.values()),
        "out_of_scope": out_of_scope,
        "robots_violations": robots_violations,
        "stray": stray,
        "robots_fetches": sum(robots_requests.values()),
        "robots_duplicates": sum(n - 1 for n in robots_requests.values()),
    }


def check_rankpool_outputs(out_dir, truth, row):
    """Notes where pages.jsonl, links.tsv or summary.json disagree with the truth or the log."""
    notes = []
    depths = {f["url"]: f["depth"] for f in truth["fetched"]}
    pages = {}
    with open(out_dir / "pages.jsonl") as f:
        for line in f:
            record = json.loads(line)
            pages[record["url"]] = record["depth"]
    if pages.keys() != depths.keys():
        notes.append(f"pages.jsonl: {len(depths.keys() - pages.keys())} truth URLs missing, "
                     f"{len(pages.keys() - depths.keys())} extra")
    wrong_depth = sum(1 for url, d in pages.items() if url in depths and depths[url] != d)
    if wrong_depth:
        notes.append(f"pages.jsonl: {wrong_depth} URLs at a depth other than the shortest")
    edges = {tuple(e) for e in truth["edges"]}
    with open(out_dir / "links.tsv") as f:
        # FROM, TO and possibly more columns (the link's kind): the edge is the first two.
        links = {tuple(line.rstrip("\n").split("\t")[:2]) for line in f if line.strip()}
    if links != edges:
        notes.append(f"links.tsv: {len(edges - links)} truth links missing, "
                     f"{len(links - edges)} extra")
    if row["summary_pages"] != row["pages"]:
        notes.append(f"summary.json says {row['summary_pages']} pages, "
                     f"the access log {row['pages']}")
    return notes


def run_rankpool(children, args, web, ranks, directory, warc=False):
    out = directory / "out"
    # --overwrite: a rerun with the same --keep directory measures again.
    cmd = ["mpirun", "-n", ranks, args.build / "apps/crawl/rankpool-crawl", "--quiet", "--overwrite",
           "--delay", 0, "--max-depth", -1, "--out-dir", out, *(["--warc"] if warc else []), *web.seeds]
    start = time.monotonic()
    with open(directory / "crawl.log", "w") as log:
        proc = children.start(cmd, stdout=log, stderr=subprocess.STDOUT)
        status = wait_or_stop(children, proc, args.timeout)
    wall = time.monotonic() - start
    summary = json.loads((out / "summary.json").read_text()) if status == 0 else {}
    warc_dir = out / "warc"
    return {
        "crawler": "rankpool-crawl" + (" --warc" if warc else ""),
        "warc_mib": sum(f.stat().st_size for f in warc_dir.iterdir()) / 2**20 if warc_dir.is_dir() else None,
        "ranks": ranks,
        "exit": status,
        "wall": wall,
        "seconds": summary.get("seconds", wall),
        "links": summary.get("links", 0),
        "summary_pages": summary.get("pages", 0),
        "rss_kb": [r.get("peak_rss_kb", 0) for r in summary.get("ranks", [])],
        "out": out,
    }


def run_scrapy(children, args, web, directory):
    summary_file = directory / "scrapy.json"
    cmd = [args.scrapy_python, ROOT / "scripts/scrapy_baseline.py", "--summary", summary_file,
           "--links", args.scrapy_links, *web.seeds]
    start = time.monotonic()
    with open(directory / "crawl.log", "w") as log:
        proc = children.start(cmd, stdout=log, stderr=subprocess.STDOUT)
        status = wait_or_stop(children, proc, args.timeout)
    wall = time.monotonic() - start
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    return {
        "crawler": f"scrapy {summary.get('scrapy', '?')}",
        "ranks": 1,
        "exit": status,
        "wall": wall,
        "seconds": summary.get("seconds", wall),
        "links": summary.get("links", 0),
        "rss_kb": [summary.get("peak_rss_kb", 0)],
    }


def wait_or_stop(children, proc, timeout):
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        print(f"crawl_bench: crawl still running after {timeout} s, stopping it", file=sys.stderr)
    return children.stop(proc)


def one_crawl(children, args, latency, crawler, ranks, directory):
    web = TestWeb(children, args.build / "apps/testweb/rankpool-testweb", args.hosts,
                  args.pages_per_host, latency, directory).start()
    try:
        if crawler.startswith("rankpool"):
            row = run_rankpool(children, args, web, ranks, directory, warc=crawler == "rankpool-warc")
        else:
            row = run_scrapy(children, args, web, directory)
        rules = web.robots_rules()
    finally:
        web_survived = web.stop()
    truth = json.loads(web.truth_file.read_text())
    requests, robots_requests = read_access_log(web.access_log)
    row.update(judge(requests, robots_requests, truth, rules))
    row["latency"] = latency
    row["pages_per_s"] = row["pages"] / row["seconds"] if row["seconds"] > 0 else 0.0
    row["links_per_s"] = row["links"] / row["seconds"] if row["seconds"] > 0 else 0.0
    # The politeness bound: one request in flight per origin, each taking at least the
    # latency, so the crawl lasts at least (the largest origin's truth pages) x latency.
    per_origin = collections.Counter(origin_of(f["url"]) for f in truth["fetched"])
    row["bound_seconds"] = max(per_origin.values(), default=0) * latency / 1000.0

    notes = []
    if not web_survived:
        # Seen once while other jobs ran on the machine: the server got a SIGTERM mid-crawl
        # and every later request was refused. The figures of such a crawl mean nothing.
        notes.append(f"the test web exited during the crawl (see {directory / 'testweb.err'}): "
                     "figures invalid, run again")
    if row["exit"] != 0:
        notes.append(f"exit status {row['exit']} (see {directory / 'crawl.log'})")
    if row["missing"]:
        notes.append(f"{row['missing']} truth pages never requested")
    for key, what in (("duplicates", "duplicate requests"),
                      ("out_of_scope", "out-of-scope requests"),
                      ("robots_violations", "requests robots.txt disallows"),
                      ("stray", "requests for URLs no page links to")):
        if row[key]:
            notes.append(f"{row[key]} {what}")
    if row["robots_duplicates"]:
        notes.append(f"robots.txt requested {row['robots_duplicates']} extra times")
    if crawler.startswith("rankpool") and row["exit"] == 0:
        notes.extend(check_rankpool_outputs(row.pop("out"), truth, row))
    row.pop("out", None)
    row["notes"] = notes
    return row


def print_table(rows):
    header = (f"{'crawler':<23}{'ranks':>6}{'latency':>9}{'pages':>8}{'seconds':>9}{'wall':>8}"
              f"{'pages/s':>9}{'links/s':>9}{'recall':>9}{'dups':>6}{'out-of-scope':>13}"
              f"{'robots':>7}  peak RSS MiB (per rank)")
    print(header)
    print("-" * len(header))
    for r in rows:
        rss = "/".join(str(round(kb / 1024)) for kb in r["rss_kb"]) or "-"
        print(f"{r['crawler']:<23}{r['ranks']:>6}{str(r['latency']) + ' ms':>9}{r['pages']:>8}"
              f"{r['seconds']:>9.2f}{r['wall']:>8.1f}{r['pages_per_s']:>9.0f}"
              f"{r['links_per_s']:>9.0f}{100 * r['recall']:>8.2f}%{r['duplicates']:>6}"
              f"{r['out_of_scope']:>13}{r['robots_violations']:>7}  {rss}")


def print_comparison(rows, latencies):
    print()
    for latency in latencies:
        at = [r for r in rows if r["latency"] == latency]
        scrapy = next((r for r in at if r["crawler"].startswith("scrapy")), None)
        bound = max((r["bound_seconds"] for r in at), default=0)
        for r in at:
            if r["crawler"] != "rankpool-crawl":
                continue
            line = f"{latency} ms, rankpool -n {r['ranks']}: {r['pages_per_s']:.0f} pages/s"
            if scrapy and scrapy["pages_per_s"] > 0:
                ratio = r["pages_per_s"] / scrapy["pages_per_s"]
                line += f", {ratio:.1f}x Scrapy"
                if latency == 0:
                    met = (ratio >= SPEED_TARGET_RATIO
                           and r["pages_per_s"] >= SPEED_TARGET_PAGES_PER_S)
                    line += (f"  (target >= {SPEED_TARGET_RATIO:.0f}x Scrapy and >= "
                             f"{SPEED_TARGET_PAGES_PER_S:.0f} pages/s: "
                             f"{'met' if met else 'NOT met'})")
            elif latency == 0:
                met = r["pages_per_s"] >= SPEED_TARGET_PAGES_PER_S
                line += (f"  (target >= {SPEED_TARGET_PAGES_PER_S:.0f} pages/s: "
                         f"{'met' if met else 'NOT met'}; Scrapy not run)")
            print(line)
        for r in at:
            if r["crawler"] != "rankpool-crawl --warc":
                continue
            plain = next((p for p in at if p["crawler"] == "rankpool-crawl" and p["ranks"] == r["ranks"]), None)
            if plain and plain["pages_per_s"] > 0:
                ratio = r["pages_per_s"] / plain["pages_per_s"]
                print(f"{latency} ms, rankpool -n {r['ranks']} --warc: {r['pages_per_s']:.0f} pages/s, "
                      f"{100 * ratio:.0f} % of the same crawl without --warc, {r['warc_mib']:.1f} MiB of WARC "
                      f"(target >= {100 * WARC_TARGET_RATIO:.0f} %: {'met' if ratio >= WARC_TARGET_RATIO else 'NOT met'})")
        if latency > 0 and bound > 0:
            print(f"{latency} ms: one request in flight per origin makes {bound:.0f} s the "
                  f"shortest possible crawl (largest origin's pages x {latency} ms); a crawler "
                  f"near it is limited by politeness, not by itself.")


def find_scrapy_python(requested):
    # Debian's python3-scrapy lives in /usr/bin/python3's path; the python3 first on PATH
    # may be another interpreter (pyenv, a venv) without it.
    candidates = [requested] if requested else [sys.executable, "/usr/bin/python3"]
    for python in candidates:
        if python and subprocess.run([python, "-c", "import scrapy"],
                                     capture_output=True).returncode == 0:
            return python
    return None


def main():
    parser = argparse.ArgumentParser(
        description="rankpool-crawl against Scrapy on the synthetic web (see the file's header)")
    parser.add_argument("--hosts", type=int, default=8,
                        help="hosts of the synthetic web (it also has one extra origin)")
    parser.add_argument("--pages-per-host", type=int, default=2700,
                        help="pages per origin (default 2500: 22,500 pages over 9 origins)")
    parser.add_argument("--latency-ms", nargs="+", default=["0 50"],
                        help="emulated per-response latencies, e.g. --latency-ms 0 50")
    parser.add_argument("--ranks", nargs="+", default=["2 3"],
                        help="rank counts of rankpool-crawl, e.g. --ranks 2 3")
    parser.add_argument("--skip-scrapy", action="store_true", help="run rankpool only")
    parser.add_argument("--no-warc", action="store_true",
                        help="skip the rows with --warc (each rank count crawled again, archiving)")
    parser.add_argument("--skip-rankpool", action="store_true", help="run Scrapy only")
    parser.add_argument("--scrapy-links", choices=("extractor", "xpath"), default="extractor",
                        help="Scrapy's link extraction (scrapy_baseline.py --links)")
    parser.add_argument("--scrapy-python", help="interpreter with Scrapy (default: this one, "
                        "else /usr/bin/python3)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep access logs, truths and crawl outputs here (and results.json)")
    parser.add_argument("--build", type=Path,
                        default=Path(os.environ.get("RANKPOOL_BUILD", ROOT / "build/release")),
                        help="build directory (default $RANKPOOL_BUILD or build/release)")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds before a crawl is stopped (default 1800)")
    args = parser.parse_args()
    latencies = number_list(args.latency_ms)
    rank_counts = number_list(args.ranks)
    if args.hosts < 1 or args.hosts > 250 or args.pages_per_host < 2:
        fail_usage("need 1..250 hosts and at least 2 pages per host")
    if any(n < 1 for n in rank_counts) or any(ms < 0 for ms in latencies):
        fail_usage("ranks must be >= 1 and latencies >= 0")

    testweb = args.build / "apps/testweb/rankpool-testweb"
    if not os.access(testweb, os.X_OK):
        fail_usage(f"{testweb} not found: build first (scripts/setup.sh)")
    if not args.skip_rankpool:
        if not os.access(args.build / "apps/crawl/rankpool-crawl", os.X_OK):
            fail_usage("rankpool-crawl not built (or pass --skip-rankpool)")
        if shutil.which("mpirun") is None:
            fail_usage("mpirun not on PATH (source scripts/env.sh, or use bench-crawl.sh)")
    if not args.skip_scrapy:
        args.scrapy_python = find_scrapy_python(args.scrapy_python)
        if args.scrapy_python is None:
            fail_usage("Scrapy not found: apt-get install -y python3-scrapy (or --skip-scrapy)")

    crawls = []
    for n in rank_counts if not args.skip_rankpool else []:
        # Right after each other, so that a shared machine's load hits both alike.
        crawls += [("rankpool", n)] + ([("rankpool-warc", n)] if not args.no_warc else [])
    crawls += [("scrapy", 1)] if not args.skip_scrapy else []
    if not crawls:
        fail_usage("nothing to run (both --skip-rankpool and --skip-scrapy)")

    signal.signal(signal.SIGTERM, _raise_on_signal)
    children = Children()
    work = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="crawl-bench."))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    print(f"crawl benchmark: {args.hosts} hosts + 1 extra origin x {args.pages_per_host} pages, "
          f"seeds = every origin's /, unlimited depth, latencies {latencies} ms, "
          f"{os.cpu_count()} cores")
    try:
        for latency in latencies:
            for crawler, ranks in crawls:
                name = f"{crawler}-n{ranks}" if crawler.startswith("rankpool") else crawler
                print(f"  {latency} ms: {name} ...", end="", flush=True)
                row = one_crawl(children, args, latency, crawler, ranks,
                                work / f"{latency}ms" / name)
                print(f" {row['pages']} pages in {row['seconds']:.1f} s")
                rows.append(row)
    except KeyboardInterrupt:
        print("\ncrawl_bench: interrupted", file=sys.stderr)
        return 130
    finally:
        children.stop_all()
        if args.keep:
            (work / "results.json").write_text(json.dumps(rows, indent=1) + "\n")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print_table(rows)
    print_comparison(rows, latencies)
    failed = False
    for r in rows:
        if not r["notes"]:
            continue
        is_rankpool = r["crawler"].startswith("rankpool-crawl")
        failed |= is_rankpool
        who = f"{r['crawler']} -n {r['ranks']}" if is_rankpool else r["crawler"]
        print(f"{'FAIL' if is_rankpool else 'note'}: {who} at {r['latency']} ms: "
              + "; ".join(r["notes"]))
    if args.keep:
        print(f"access logs, truths and outputs in {work}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
