#!/usr/bin/env python3
"""End-to-end checks of rankpool-crawl under mpirun, against the synthetic web's ground truth.

Every crawl runs against its own rankpool-testweb on loopback, which writes two independent
witnesses: the ground truth (--truth: what a correct crawl fetches, the link graph, what
robots.txt blocks) and the access log (--access-log: what the crawler really requested, and
when). The crawler's outputs are compared with both:

  pages.jsonl   exactly the truth's URLs, each once, with the truth's depth and status;
  links.tsv     exactly the truth's edges;
  access log    every page requested once, nothing blocked or out of scope, each origin's
                robots.txt once and first, the politeness delay between requests;
  summary.json  consistent with the records, one entry per rank, exit code 0.

Scenarios (--scenario): one_seed and all_seeds (the full default web, depth 3 and 4),
politeness, bad_input, max_pages, unreachable, user_agent (--contact in the User-Agent with the
project's version; without it one warning from rank 0; the older --out spelling); resume_kill (kill -9 of mpirun and every rank
at random points, then --resume) and resume_sigterm (SIGTERM to mpirun, --resume, a resume of
the complete crawl, resumes with other seeds or scope refused); resume_slices (kill -9, then a
resume whose state reaches each worker in dozens of 256-byte Restore slices); overwrite (a rerun into the
--out-dir of a finished crawl is refused with nothing touched; --overwrite replaces it and keeps
OUT/warc/); sitemaps (a web serving sitemaps, crawled with --sitemaps: exact against a truth
that reads them; without --sitemaps: exact against the truth without them); scale (--hosts + 1 origins x
--pages-per-host pages, every origin's "/" a seed: exact, and its figures printed, pages/s per tenth of
the crawl among them). Every mpirun has a timeout: a hang fails the
test and the whole process group (mpirun and its ranks) is killed. Python stdlib only.
"""
import argparse
import collections
import contextlib
import datetime
import glob
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
import rankpool_testing as rt  # noqa: E402
from rankpool_testing import few  # noqa: E402

p = argparse.ArgumentParser()
rt.add_mpiexec_arguments(p)
p.add_argument("--ranks", type=int, required=True)
p.add_argument("--app", required=True, help="rankpool-crawl")
p.add_argument("--testweb", required=True, help="rankpool-testweb")
p.add_argument("--scenario", required=True,
               choices=["one_seed", "all_seeds", "politeness", "bad_input", "max_pages", "unreachable",
                        "user_agent", "resume_kill", "resume_sigterm", "proxy", "https", "accept_types",
                        "overwrite", "sitemaps", "retries", "warc", "resume_slices",
                        "frontier_memory", "scale", "start_stop"])
p.add_argument("--project-version", help="the version the User-Agent must carry (scenario user_agent)")
p.add_argument("--budget", type=float, default=105.0,
               help="seconds for the whole scenario (keep below the CTest TIMEOUT)")
p.add_argument("--keep", action="store_true", help="keep the work directories even on success")
p.add_argument("--node", default="node", help="Node.js, for the warcio reader (scenario warc)")
p.add_argument("--warcio", help="directory holding node_modules/warcio (scenario warc)")
p.add_argument("--proxy-script", help="tests/support/forward_proxy.py (scenario proxy)")
p.add_argument("--crawl-flags", default="",
               help="more rankpool-crawl options for every crawl of the scenario, space-separated "
                    "(e.g. --output-shards: the same checks hold with the crawling ranks writing shards)")
p.add_argument("--hosts", type=int, default=1000, help="hosts of the web (scenario scale; one more origin is added)")
p.add_argument("--pages-per-host", type=int, default=100, help="pages per origin (scenario scale)")
p.add_argument("--max-decile-ratio", type=float, default=0.0,
               help="scenario scale: fail when the last tenth of the crawl runs more than this many times slower "
                    "(pages/s) than the first (0: print the tenths only)")
p.add_argument("--max-crawler-rss-mib", type=float, default=0.0,
               help="scenario scale: fail when a crawling rank's peak RSS passes this many MiB (0: print it only)")
p.add_argument("--max-rss-growth-mib", type=float, default=0.0,
               help="scenario scale: fail when a crawling rank's peak RSS grows by more than this many MiB from "
                    "the first tenth of the crawl's pages to its end (0: print the trace only)")
args = p.parse_args()

START = time.monotonic()
ERROR_KINDS = {"timeout", "dns", "connect", "reset", "too_large", "tls", "type_not_accepted", "protocol", "other",
               "origin_gave_up"}
# Every scenario but "retries" checks one request per URL (the web's /error answers 500, a
# retry code, and one origin's robots.txt 500): they crawl with --retries 0. The retries
# scenario crawls the same web with retries on and checks the counts and the spacing.
NO_RETRIES = ["--retries", "0"]
CRAWL_FLAGS = args.crawl_flags.split()
SHARDS = "--output-shards" in CRAWL_FLAGS
UNREACHABLE = "http://127.0.0.1:1/"  # nothing listens on port 1 (not an origin of the web)

checks = rt.Checks()
check, failures = checks.check, checks.failures


def remaining():
    return args.budget - (time.monotonic() - START)


# ---------------------------------------------------------------------------------------
# Processes: every child leads its own session (rankpool_testing.start), so a hang is ended by
# killing its process group plus any descendant that left it, after a dump of the ranks' stacks.

def mpirun(app_args, timeout, env=None):
    """Runs the crawler (env: extra environment variables); returns (returncode or None on a
    hang, stdout, stderr, seconds)."""
    cmd = rt.mpirun_command(args.mpiexec, args.ranks, args.app, CRAWL_FLAGS + app_args,
                            flags=rt.split_flags(args.mpiexec_flags), numproc_flag=args.numproc_flag)
    t0 = time.monotonic()
    rc, out, err = rt.finish(rt.start(cmd, env=dict(os.environ, **env) if env else None), max(1.0, timeout),
                             dump=True)
    return rc, out, err, time.monotonic() - t0


class TestWeb(rt.TestWeb):
    """A rankpool-testweb serving until stop(); `origins` from its "origins:" line."""

    def __init__(self, workdir, web_args, seeds=None, max_depth=3, timeout=20):
        log = os.path.join(workdir, "access.log")
        truth_file = os.path.join(workdir, "truth.json")
        # The truth needs its seeds before the web listens. The default seed (the first
        # origin's "/") works with ephemeral ports; explicit seeds (every origin's "/") need
        # known ports, so those webs get a random free base port, retried on a collision.
        for attempt in range(20):
            port = 0 if seeds is None else self.free_base_port(web_args)
            cmd = [args.testweb, "--port", str(port), "--access-log", log, "--truth", truth_file,
                   "--max-depth", str(max_depth)] + web_args
            if seeds is not None:
                cmd += ["--crawl-seed"] + [s.replace("PORT1", str(port + 1)).replace("PORT", str(port))
                                           for s in seeds]
            try:
                super().__init__(cmd, truth=truth_file, access_log=log, timeout=timeout)
                return
            except rt.TestWebError as e:
                err = e.stderr
                if port == 0 or "bind" not in err.lower() and "in use" not in err.lower() or attempt == 19:
                    raise RuntimeError(str(e)) from None

    @staticmethod
    def free_base_port(web_args):
        hosts = int(web_args[web_args.index("--hosts") + 1]) if "--hosts" in web_args else 4
        for _ in range(100):
            port = random.randrange(20000, 32000)  # below Linux's ephemeral range
            try:
                for addr, prt in [(a, port) for a in host_addresses(hosts)] + [("127.0.0.2", port + 1)]:
                    with socket.socket() as s:
                        s.bind((addr, prt))
                return port
            except OSError:
                continue
        raise RuntimeError("no free base port")


def host_addresses(n):
    """The addresses of rankpool-testweb's n hosts: 127.0.0.2 on, skipping last octets 0 and 255."""
    out, a = [], (127 << 24) + 2
    while len(out) < n:
        if a & 0xff not in (0, 0xff):
            out.append(f"127.{a >> 16 & 0xff}.{a >> 8 & 0xff}.{a & 0xff}")
        a += 1
    return out


# ---------------------------------------------------------------------------------------
# Reading the outputs and the access log.

def read_access_log(path):
    return rt.read_access_log(path, report=lambda m: check(False, m))


def origin_of(url):
    m = re.match(r"^(https?://[^/?#]+)", url)
    return m.group(1) if m else url


def read_outputs(out):
    """(records, edges list, summary) — whatever could be read; failures recorded."""
    records, edges, summary = [], [], {}
    try:
        with open(os.path.join(out, "pages.jsonl")) as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        records.append(json.loads(line))
                    except ValueError:
                        check(False, f"pages.jsonl line {n} is not JSON: {line[:200]!r}")
    except OSError as e:
        check(False, f"pages.jsonl: {e}")
    try:
        with open(os.path.join(out, "links.tsv")) as f:
            for n, line in enumerate(f, 1):
                cols = line.rstrip("\n").split("\t")
                # FROM\tTO (a further column, e.g. the kind of link, is tolerated)
                if check(len(cols) >= 2 and cols[0] and cols[1], f"links.tsv line {n}: {line!r}"):
                    edges.append((cols[0], cols[1]))
    except OSError as e:
        check(False, f"links.tsv: {e}")
    try:
        with open(os.path.join(out, "summary.json")) as f:
            summary = json.load(f)
    except (OSError, ValueError) as e:
        check(False, f"summary.json: {e}")
    return records, edges, summary


# ---------------------------------------------------------------------------------------
# The checks of one crawl.

def verify(name, truth, rc, out, log, *, partial_pages=None, extra_pages=None, reqs=None, resumed=None, attempts=None,
           robots_attempts=None):
    """partial_pages=N: a --max-pages N crawl (exactly N pages, a subset of the truth).
    extra_pages: {url: (depth, status, error_kind)} fetched besides the web's pages.
    reqs: the access log entries of this crawl (default: the whole log).
    resumed: a crawl killed once and resumed: {"run1": the access log entries of the first
    run, "recorded1": URLs in pages.jsonl after it, "robots1": origins whose robots.txt the
    checkpoint held}. Each URL is then requested once over both runs, except those fetched by
    run 1 but not recorded (in flight at the kill), at most twice; robots.txt is not fetched
    again for the origins of robots1.
    attempts: {url: requests} for URLs retried (every other URL: one request), checked against
    the access log and the records' "attempts"; robots_attempts: {origin: requests} likewise."""
    extra_pages = extra_pages or {}
    check(rc == 0, f"{name}: exit code {rc}")
    if SHARDS:
        # Merged into pages.jsonl and links.tsv at the end, and gone.
        check(not os.path.exists(os.path.join(out, "shards")), f"{name}: {out}/shards is left after the crawl")
    records, edge_list, summary = read_outputs(out)
    if reqs is None:
        reqs = read_access_log(log)

    want = {x["url"]: (x["depth"], x["status"]) for x in truth["fetched"]}
    for u, (d, s, _) in extra_pages.items():
        want[u] = (d, s)
    scope = {origin_of(s) for s in truth["seeds"]}
    blocked, out_of_scope = set(truth["blocked"]), set(truth["out_of_scope"])
    redirects, truth_edges = truth["redirects"], {tuple(e) for e in truth["edges"]}

    # pages.jsonl
    by_url = {}
    counts = collections.Counter(r.get("url") for r in records)
    check(all(c == 1 for c in counts.values()),
          f"{name}: URLs recorded more than once in pages.jsonl: {few([u for u, c in counts.items() if c > 1])}")
    for r in records:
        missing = [k for k in ("url", "status", "depth", "content_type", "bytes", "links", "seconds", "rank")
                   if k not in r]
        check(not missing, f"{name}: record without {missing}: {r}")
        by_url[r.get("url")] = r
    got = set(by_url)
    if partial_pages is None:
        check(got == set(want), f"{name}: pages.jsonl URLs != truth: missing {few(set(want) - got)}, "
                                f"unexpected {few(got - set(want))}")
    else:
        check(len(records) == partial_pages, f"{name}: {len(records)} records, want exactly {partial_pages}")
        check(got <= set(want), f"{name}: URLs outside the truth: {few(got - set(want))}")
    bad_depth, bad_status, bad_rank, bad_redirect, bad_error = [], [], [], [], []
    for u, r in by_url.items():
        if u not in want:
            continue
        d, s = want[u]
        # Partial crawls may stop before a shorter path to a URL is seen: never shorter than the truth.
        if r.get("depth") != d and (partial_pages is None or not isinstance(r.get("depth"), int) or r["depth"] < d):
            bad_depth.append((u, r.get("depth"), d))
        if r.get("status") != s:
            bad_status.append((u, r.get("status"), s))
        rk = r.get("rank")
        if not (rk == 0 if args.ranks == 1 else isinstance(rk, int) and 1 <= rk < args.ranks):
            bad_rank.append((u, rk))
        if u in redirects and r.get("redirect") != redirects[u] or u not in redirects and "redirect" in r:
            bad_redirect.append((u, r.get("redirect"), redirects.get(u)))
        if ("error" in r) != ("error_kind" in r) or "error_kind" in r and r["error_kind"] not in ERROR_KINDS \
                or r.get("status") == 0 and "error" not in r:
            bad_error.append((u, r.get("error"), r.get("error_kind")))
        if u in extra_pages and extra_pages[u][2] is not None:
            check(r.get("error_kind") == extra_pages[u][2],
                  f"{name}: {u}: error_kind {r.get('error_kind')!r}, want {extra_pages[u][2]!r} ({r.get('error')!r})")
    check(not bad_depth, f"{name}: depths differ from the truth (url, got, want): {few(bad_depth)}")
    check(not bad_status, f"{name}: statuses differ from the truth (url, got, want): {few(bad_status)}")
    check(not bad_rank, f"{name}: records from a rank that does not crawl: {few(bad_rank)}")
    check(not bad_redirect, f"{name}: redirect fields wrong (url, got, want): {few(bad_redirect)}")
    check(not bad_error, f"{name}: error/error_kind inconsistent: {few(bad_error)}")

    # links.tsv: the truth's edges (of the pages fetched, for a partial crawl), each once.
    edges = set(edge_list)
    dup = [e for e, c in collections.Counter(edge_list).items() if c > 1]
    check(not dup, f"{name}: links.tsv repeats edges: {few(dup)}")
    want_edges = truth_edges if partial_pages is None else {e for e in truth_edges if e[0] in got}
    check(edges == want_edges, f"{name}: links.tsv != truth edges: missing {few(want_edges - edges)}, "
                               f"unexpected {few(edges - want_edges)}")
    out_degree = collections.Counter(e[0] for e in want_edges)
    for u, r in by_url.items():
        n = out_degree[u]
        if isinstance(r.get("links"), int) and r["links"] < n:
            check(False, f"{name}: {u} counts {r['links']} links, it has {n} distinct ones")

    # The access log as witness. Sitemap requests (--sitemaps) are neither robots.txt nor pages.
    want_sitemaps = {x["url"]: x["status"] for x in truth.get("sitemaps", [])}
    robots = [q for q in reqs if q["target"] == "/robots.txt"]
    sitemap_reqs = [q for q in reqs if q["url"] in want_sitemaps]
    pages = [q for q in reqs if q["target"] != "/robots.txt" and q["url"] not in want_sitemaps]
    if partial_pages is None and resumed is None:
        got_sitemaps = collections.Counter(q["url"] for q in sitemap_reqs)
        check(set(got_sitemaps) == set(want_sitemaps) and all(c == 1 for c in got_sitemaps.values()),
              f"{name}: sitemap requests != truth: {few(got_sitemaps.items())}, want {few(want_sitemaps)}")
        bad_sm = [(q["url"], q["status"]) for q in sitemap_reqs if q["status"] != want_sitemaps[q["url"]]]
        check(not bad_sm, f"{name}: sitemap statuses differ from the truth: {few(bad_sm)}")
    rc_pages = collections.Counter(q["url"] for q in pages)
    if attempts is not None:
        wrong = [(u, c, attempts.get(u, 1)) for u, c in rc_pages.items() if c != attempts.get(u, 1)]
        check(not wrong, f"{name}: requests per URL (url, made, want): {few(wrong)}")
        wrong = [(u, r.get("attempts"), rc_pages.get(u, 0), r.get("retried")) for u, r in by_url.items()
                 if r.get("attempts") != rc_pages.get(u, 0) or len(r.get("retried", [])) != max(0, rc_pages.get(u, 0) - 1)]
        check(not wrong, f"{name}: records' attempts/retried != requests (url, attempts, made, retried): {few(wrong)}")
    elif resumed is None:
        check(all(c == 1 for c in rc_pages.values()),
              f"{name}: URLs requested more than once: {few([(u, c) for u, c in rc_pages.items() if c > 1])}")
    else:
        run1 = collections.Counter(q["url"] for q in resumed["run1"] if q["target"] != "/robots.txt")
        in_flight = set(run1) - resumed["recorded1"]
        check(resumed["recorded1"] <= set(run1), f"{name}: run 1 recorded URLs it never requested: "
                                                 f"{few(resumed['recorded1'] - set(run1))}")
        twice = [(u, c) for u, c in rc_pages.items() if c > (2 if u in in_flight else 1)]
        check(not twice, f"{name}: URLs requested too often over both runs: {few(twice)}")
        again = [u for u in resumed["recorded1"] if rc_pages[u] > 1]
        check(not again, f"{name}: URLs recorded by run 1 fetched again: {few(again)}")
        print(f"  run 1: {sum(run1.values())} page requests, {len(resumed['recorded1'])} recorded, "
              f"{len(in_flight)} in flight at the stop; {sum(rc_pages.values())} page requests over both runs")
    requested = set(rc_pages) - set(extra_pages)
    web_want = {u for u in want if u not in extra_pages}
    if partial_pages is None:
        check(requested == web_want, f"{name}: requested URLs != truth: missing {few(web_want - requested)}, "
                                     f"unexpected {few(requested - web_want)}")
    else:
        check(len(pages) == partial_pages, f"{name}: {len(pages)} page requests, want exactly {partial_pages}")
        check(requested == got - set(extra_pages),
              f"{name}: requested != recorded: {few(requested ^ (got - set(extra_pages)))}")
    check(not requested & blocked, f"{name}: robots.txt-blocked URLs requested: {few(requested & blocked)}")
    check(not requested & out_of_scope, f"{name}: out-of-scope URLs requested: {few(requested & out_of_scope)}")
    foreign = {q["origin"] for q in reqs} - scope
    check(not foreign, f"{name}: requests to origins outside the scope: {few(foreign)}")
    rb = collections.Counter(q["origin"] for q in robots)
    if robots_attempts is not None:
        wrong = [(o, c, robots_attempts.get(o, 1)) for o, c in rb.items() if c != robots_attempts.get(o, 1)]
        check(not wrong, f"{name}: robots.txt requests per origin (origin, made, want): {few(wrong)}")
    elif resumed is None:
        check(all(c == 1 for c in rb.values()), f"{name}: robots.txt fetched more than once: {few(rb.items())}")
    else:
        run1_robots = collections.Counter(q["origin"] for q in resumed["run1"] if q["target"] == "/robots.txt")
        refetched = [o for o in resumed["robots1"] if rb[o] > run1_robots[o]]
        check(not refetched, f"{name}: robots.txt fetched again although the checkpoint held it: {few(refetched)}")
        check(all(c <= 2 for c in rb.values()), f"{name}: robots.txt fetched more than twice: {few(rb.items())}")
    want_robots = {origin_of(u) for u in truth["robots"]} - {origin_of(u) for u, x in extra_pages.items() if x[1] == 0}
    if partial_pages is None:
        check(set(rb) == want_robots, f"{name}: robots.txt fetched from {few(rb)}, want {few(want_robots)}")
    else:
        check(set(rb) <= want_robots and {q["origin"] for q in pages} <= set(rb),
              f"{name}: robots.txt fetched from {few(rb)}, pages from {few({q['origin'] for q in pages})}")
    first_robots, first_other = {}, {}  # origin -> index of its first robots.txt / other request
    for i, q in enumerate(reqs):
        (first_robots if q["target"] == "/robots.txt" else first_other).setdefault(q["origin"], i)
    for o in rb:
        check(first_robots[o] < first_other.get(o, len(reqs)), f"{name}: {o}: a page was requested before robots.txt")

    # summary.json
    if summary:
        check(summary.get("pages") == len(records), f"{name}: summary pages {summary.get('pages')} != {len(records)} records")
        st = collections.Counter(str(r.get("status")) for r in records)
        check({k: v for k, v in summary.get("status", {}).items() if v} == dict(st),
              f"{name}: summary status {summary.get('status')} != records {dict(st)}")
        causes = collections.Counter(c for r in records for c in r.get("retried", []))
        check(summary.get("retries") == dict(causes),
              f"{name}: summary retries {summary.get('retries')} != the records' {dict(causes)}")
        check(summary.get("links") == len(edge_list), f"{name}: summary links {summary.get('links')} != {len(edge_list)} lines")
        n_robots = len(robots)
        n_extra = len({origin_of(u) for u in extra_pages})
        # A resumed crawl counts what its checkpoint knew of run 1: never more than requested.
        check((n_robots if resumed is None else 0) <= summary.get("robots_fetches", -1) <= n_robots + n_extra,
              f"{name}: summary robots_fetches {summary.get('robots_fetches')}, access log {n_robots}")
        check(summary.get("interrupted") is False, f"{name}: summary interrupted {summary.get('interrupted')}")
        check(summary.get("runs") == (1 if resumed is None else 2), f"{name}: summary runs {summary.get('runs')}")
        ranks = summary.get("ranks", [])
        check(len(ranks) == args.ranks and sorted(x.get("rank") for x in ranks) == list(range(args.ranks)),
              f"{name}: summary ranks {[x.get('rank') for x in ranks]}, want {args.ranks} entries")
        before = summary.get("pages_previous_runs", 0)
        check(sum(x.get("pages", 0) for x in ranks) + before == len(records),
              f"{name}: ranks' pages {[x.get('pages') for x in ranks]} + {before} of earlier runs "
              f"do not add up to {len(records)}")
    return reqs


def politeness(name, reqs, delay, slow_origins, slow_delay, tol=0.020):
    """Consecutive requests to one origin (robots.txt included) at least `delay` apart,
    `slow_delay` for the origins whose robots.txt asks for a Crawl-delay."""
    by_origin = collections.defaultdict(list)
    for q in reqs:
        by_origin[q["origin"]].append(q)
    for o, qs in sorted(by_origin.items()):
        qs.sort(key=lambda q: q["time"])
        need = slow_delay if o in slow_origins else delay
        gaps = [(b["time"] - a["time"], a["target"], b["target"]) for a, b in zip(qs, qs[1:])]
        close = [g for g in gaps if g[0] < need - tol]
        check(not close, f"{name}: {o}: {len(close)} of {len(gaps)} gaps below {need} s: "
                         f"{few([(round(g, 3), a, b) for g, a, b in close], 3)}")
        if gaps and need > 0:
            print(f"  {o}: {len(qs)} requests, smallest gap {min(g[0] for g in gaps):.3f} s (need {need} s)")


# ---------------------------------------------------------------------------------------
# Scenarios.

def crawl(name, web_args, seeds_mode, max_depth, crawl_args, timeout=60.0, extra_seeds=(), post=None, live=None,
          env=None, **kw):
    """Starts a web, crawls it under mpirun, checks everything, then post(truth, reqs).
    live(web, out): called after a successful crawl while the web still serves; its requests
    must carry the User-Agent CHECK_UA, which the checks of the crawl's requests leave out.
    The work directory (web, truth, access log, outputs) is kept when a check failed."""
    if remaining() < 5:
        check(False, f"{name}: not run, the scenario's time budget is spent")
        return
    workdir = tempfile.mkdtemp(prefix=f"crawl-{args.scenario}-{args.ranks}r-")
    out = os.path.join(workdir, "out")
    ok_before = len(failures)
    seeds = None
    if seeds_mode == "all":
        hosts = int(web_args[web_args.index("--hosts") + 1]) if "--hosts" in web_args else 4
        seeds = [f"http://{a}:PORT/" for a in host_addresses(hosts)] + ["http://127.0.0.2:PORT1/"]
    web = TestWeb(workdir, web_args, seeds=seeds, max_depth=max_depth)
    try:
        crawl_seeds = list(web.truth["seeds"]) + list(extra_seeds)
        rc, so, se, secs = mpirun(["--out-dir", out, "--quiet", "--max-depth", str(max_depth)] + NO_RETRIES + crawl_args +
                                  crawl_seeds,
                                  timeout=min(timeout, remaining()), env=env)
        if live and rc == 0:
            live(web, out)
    finally:
        web.stop()
    if live and "reqs" not in kw:
        kw["reqs"] = [q for q in read_access_log(web.log) if q["user_agent"] != CHECK_UA]
    print(f"{name}: {len(web.truth['fetched'])} truth pages, exit {rc}, {secs:.1f} s", flush=True)
    if rc is None:
        check(False, f"{name}: hung: killed after {secs:.0f} s; stderr: {se[-2000:]}")
        return
    if rc != 0 and se:
        print(se[-3000:])
    reqs = verify(name, web.truth, rc, out, web.log, **kw)
    if post:
        post(web.truth, reqs)
    if len(failures) == ok_before and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"  (work directory kept: {workdir})")


def scenario_full(seeds_mode):
    # The default web: 4 hosts + 1 extra origin, every special page linked from home pages.
    # --crawl-delay 0.2 is the default, spelled out because the spacing is checked below.
    for depth in (3, 4):
        name = f"{seeds_mode} seed(s), depth {depth}"
        # --delay 0, but host index 3's robots.txt asks for Crawl-delay: 0.2, which wins.
        crawl(name, ["--crawl-delay", "0.2"], seeds_mode, depth, ["--delay", "0"],
              post=lambda truth, reqs: politeness(name, reqs, 0.0, {truth["origins"][3]}, 0.2))


def scenario_politeness():
    delay, crawl_delay = 0.3, 0.5

    def post(truth, reqs):
        slow = {truth["origins"][3]}  # host index 3's robots.txt says Crawl-delay
        politeness("politeness", reqs, delay, slow, crawl_delay)
        check(any(q["origin"] in slow and q["target"] != "/robots.txt" for q in reqs),
              "politeness: the Crawl-delay host was crawled")

    crawl("politeness", ["--pages", "15", "--crawl-delay", str(crawl_delay)], "all", 3,
          ["--delay", str(delay)], timeout=90.0, post=post)


def scenario_max_pages():
    crawl("max-pages 25", [], "all", 3, ["--delay", "0", "--max-pages", "25"], partial_pages=25)


def scenario_unreachable():
    crawl("unreachable seed", [], "first", 3, ["--delay", "0"], extra_seeds=[UNREACHABLE],
          extra_pages={UNREACHABLE: (0, 0, "connect")})


# ---------------------------------------------------------------------------------------
# WARC: the crawl's archive read by an independent reader (webrecorder's warcio for Node).

CHECK_UA = "rankpool-warc-check"
WARC_NAME = re.compile(r"^rankpool-(\d{14})-(\d+)-(\d{5})\.warc\.gz$")
RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def fetch_direct(url):
    """(status, decoded body) straight from the web, no proxy whatever the environment says."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())
    req = urllib.request.Request(url, headers={"User-Agent": CHECK_UA})
    try:
        with opener.open(req, timeout=20) as r:
            status, body, enc = r.status, r.read(), r.headers.get("Content-Encoding", "")
    except urllib.error.HTTPError as e:
        status, body, enc = e.code, e.read(), e.headers.get("Content-Encoding", "")
    if enc.lower() == "gzip":
        body = gzip.decompress(body)
    return status, body


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 3xx is the answer to compare, not a hop to follow."""

    def redirect_request(self, *a, **k):
        return None


def scenario_warc():
    state = {}

    def live(web, out):
        # The web's own answers for every URL the truth fetches, and every robots.txt.
        urls = [x["url"] for x in web.truth["fetched"]] + [o + "/robots.txt" for o in {origin_of(u) for u in web.truth["robots"]}]
        state["direct"] = {u: fetch_direct(u) for u in urls}
        state["out"] = out

    def post(truth, reqs):
        out = state["out"]
        warc_dir = os.path.join(out, "warc")
        names = sorted(os.listdir(warc_dir)) if os.path.isdir(warc_dir) else []
        warcs = [n for n in names if n.endswith(".warc.gz")]
        check(warcs, "warc: no .warc.gz files in OUT/warc")
        ranks = set()
        for n in warcs:
            m = WARC_NAME.match(n)
            if check(m, f"warc: file name {n!r} is not rankpool-TIMESTAMP-RANK-SERIAL.warc.gz"):
                ranks.add(int(m.group(2)))
        crawling = {0} if args.ranks == 1 else set(range(1, args.ranks))
        check(ranks <= crawling, f"warc: files from ranks {sorted(ranks)}, crawling ranks {sorted(crawling)}")
        check(len(warcs) > len(ranks), f"warc: {len(warcs)} files for {len(ranks)} ranks: --warc-max-size did not rotate")
        r = subprocess.run([args.node, os.path.join(os.path.dirname(os.path.abspath(__file__)), "read_warc.cjs"),
                            args.warcio] + [os.path.join(warc_dir, n) for n in warcs],
                           capture_output=True, text=True, timeout=max(5, remaining()))
        if not check(r.returncode == 0, f"warc: warcio could not read the files: {r.stderr[-2000:]}"):
            return
        recs = [json.loads(line) for line in r.stdout.splitlines()]
        by_file = collections.defaultdict(list)
        for x in recs:
            by_file[x["file"]].append(x)
        for n in warcs:
            first = by_file[n][0] if by_file[n] else {}
            check(first.get("type") == "warcinfo" and first.get("filename") == n,
                  f"warc: {n} does not start with its warcinfo record: {first.get('type')}")
        check(all(x["version"] == "WARC/1.1" for x in recs), "warc: a record is not WARC/1.1")
        bad_block = [(x["type"], x["uri"]) for x in recs if x["type"] != "warcinfo" and x["block_digest"] != x["block_sha1"]]
        check(not bad_block, f"warc: WARC-Block-Digest differs from the block's SHA-1: {few(bad_block)}")
        responses = [x for x in recs if x["type"] == "response"]
        requests = {x["id"]: x for x in recs if x["type"] == "request"}
        bad_payload = [x["uri"] for x in responses if x["payload_digest"] != x["payload_sha1"]]
        check(not bad_payload, f"warc: WARC-Payload-Digest differs from the payload's SHA-1: {few(bad_payload)}")
        # One response (and one request naming it) per request the web saw, robots.txt included.
        want = collections.Counter(q["url"] for q in reqs)
        got = collections.Counter(x["uri"] for x in responses)
        check(got == want, f"warc: response records != requests in the access log: missing {few(want - got)}, "
                           f"extra {few(got - want)}")
        concurrent = collections.Counter(x["concurrent_to"] for x in requests.values())
        lonely = [x["uri"] for x in responses if concurrent[x["id"]] != 1]
        check(not lonely, f"warc: responses without exactly one request record: {few(lonely)}")
        mismatched = [x["uri"] for x in requests.values()
                      if not any(y["id"] == x["concurrent_to"] and y["uri"] == x["uri"] for y in responses)]
        check(not mismatched, f"warc: request records not concurrent to their URI's response: {few(mismatched)}")
        ua_missing = [x["uri"] for x in requests.values()
                      if not (x["block_text"] or "").startswith("GET ") or "\r\nUser-Agent: rankpool-crawl/" not in x["block_text"]]
        check(not ua_missing, f"warc: request records without the request line and User-Agent: {few(ua_missing)}")
        bad_ip = [x["uri"] for x in responses if x["ip"] != urllib_host(x["uri"])]
        check(not bad_ip, f"warc: WARC-IP-Address is not the origin's address: {few(bad_ip)}")
        bad_date = [x["uri"] for x in recs if not RFC3339_MS.match(x["date"] or "")]
        check(not bad_date, f"warc: WARC-Date not RFC 3339 with ms: {few(bad_date)}")
        # Statuses and payloads against the web itself (warcio undoes Content-Encoding).
        direct = state["direct"]
        bad_status, bad_content = [], []
        for x in responses:
            if x["uri"] not in direct:
                continue
            status, body = direct[x["uri"]]
            if x["status"] != status:
                bad_status.append((x["uri"], x["status"], status))
            if not x.get("truncated") and x["content_sha1_hex"] != hashlib.sha1(body).hexdigest():
                bad_content.append((x["uri"], x["content_length"], len(body)))
        check(not bad_status, f"warc: statuses differ from the web's (url, warc, web): {few(bad_status)}")
        check(not bad_content, f"warc: payloads differ from the web's (url, bytes, want): {few(bad_content)}")
        gz = [x["uri"] for x in responses if (x.get("content_encoding") or "").lower() == "gzip"]
        check(len(gz) >= 10 and all(x["payload_length"] != x["content_length"] for x in responses if x["uri"] in gz),
              f"warc: want gzip payloads stored as transferred, {len(gz)} gzip responses")
        nonhtml = [x for x in responses if (x.get("http_content_type") or "").startswith(("image/", "text/plain"))]
        check(nonhtml and all(x["payload_length"] > 0 for x in nonhtml), "warc: non-HTML bodies not archived")
        # pages.jsonl's audit fields agree with the archive.
        records, _, _ = read_outputs(out)
        digest_of = {x["uri"]: x["payload_digest"] for x in responses}
        ip_of = {x["uri"]: x["ip"] for x in responses}
        bad = [r["url"] for r in records if r.get("status", 0) != 0 and
               (r.get("payload_sha1") != digest_of.get(r["url"]) or r.get("ip") != ip_of.get(r["url"]) or
                not RFC3339_MS.match(r.get("fetched_at", "")))]
        check(not bad, f"warc: pages.jsonl payload_sha1/ip/fetched_at disagree with the WARC: {few(bad)}")
        # --validators: every 200 carries Last-Modified and ETag (the body's FNV-1a), as the log must.
        etag_of = {x["uri"]: x.get("etag") for x in responses}
        bad_validators = [r["url"] for r in records if r.get("status") == 200 and
                          (r.get("last_modified") != "Wed, 21 Oct 2015 07:28:00 GMT" or
                           not r.get("etag") or r.get("etag") != etag_of.get(r["url"]))]
        check(not bad_validators, f"warc: last_modified/etag missing or not as sent: {few(bad_validators)}")
        check(not any("etag" in r or "last_modified" in r for r in records if r.get("status") != 200),
              "warc: last_modified/etag on a record whose response sent none")
        edges = {tuple(e) for e in truth["edges"]}
        targets = set(truth["redirects"].values())
        bad_ref = [(r["url"], r.get("referrer")) for r in records
                   if not (r.get("referrer") == "seed" and r["url"] in truth["seeds"] or
                           r.get("referrer") == "redirect" and r["url"] in targets or
                           (r.get("referrer"), r["url"]) in edges)]
        check(not bad_ref, f"warc: referrers that are not a seed, a redirect or a linking page: {few(bad_ref)}")
        # CDXJ: sorted, one line per response record, each pointing at its gzip member.
        cdx_lines = 0
        for n in warcs:
            cdxj = os.path.join(warc_dir, n[:-len(".warc.gz")] + ".cdxj")
            if not check(os.path.exists(cdxj), f"warc: no CDXJ beside {n}"):
                continue
            with open(cdxj) as f:
                lines = f.read().splitlines()
            with open(os.path.join(warc_dir, n), "rb") as f:
                data = f.read()
            check(lines == sorted(lines), f"warc: {cdxj} is not sorted")
            check(len(lines) == sum(1 for x in by_file[n] if x["type"] == "response"),
                  f"warc: {cdxj} has {len(lines)} lines for {sum(1 for x in by_file[n] if x['type'] == 'response')} responses")
            for line in lines:
                cdx_lines += 1
                key, stamp, js = line.split(" ", 2)
                j = json.loads(js)
                off, length = int(j["offset"]), int(j["length"])
                try:
                    text = zlib.decompressobj(16 + 15).decompress(data[off:off + length])
                except zlib.error as e:
                    check(False, f"warc: {n} offset {off}: not a gzip member ({e})")
                    continue
                ok = (text.startswith(b"WARC/1.1\r\n") and b"\r\nWARC-Type: response\r\n" in text and
                      f"\r\nWARC-Target-URI: {j['url']}\r\n".encode() in text and j["filename"] == n and
                      j["digest"] == digest_of.get(j["url"]) and len(stamp) == 14 and ")" in key)
                check(ok, f"warc: CDXJ line does not point at its response record: {line[:200]}")
        check(cdx_lines == len(responses), f"warc: {cdx_lines} CDXJ lines for {len(responses)} responses")
        print(f"  warc: {len(warcs)} files, {len(recs)} records ({len(responses)} responses, {len(gz)} gzip), "
              f"{cdx_lines} CDXJ lines; read by warcio")

    crawl("warc", ["--gzip", "--validators", "--big-bytes", "200000"], "all", 3,
          ["--delay", "0", "--warc", "--warc-cdx", "--warc-max-size", "100000"], live=live, post=post)


def urllib_host(url):
    return re.match(r"^https?://([^/:]+)", url).group(1)


# ---------------------------------------------------------------------------------------
# Checkpoint and resume. One web serves every crawl of a scenario; each crawl's requests are
# the access log lines it added. The web is slowed down (--delay 0.05 on the crawler,
# Crawl-delay 0.05) so that a crawl lasts a few seconds and can be stopped in the middle.

RESUME_WEB = ["--crawl-delay", "0.05"]
RESUME_DEPTH = 3


def resume_args(out):
    return ["--out-dir", out, "--quiet", "--max-depth", str(RESUME_DEPTH), "--delay", "0.05"] + NO_RETRIES + [
            "--checkpoint-interval", "0.2"]


def log_lines(web):
    try:
        with open(web.log) as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


def start_mpirun(app_args, stderr_path):
    cmd = rt.mpirun_command(args.mpiexec, args.ranks, args.app, CRAWL_FLAGS + app_args,
                            flags=rt.split_flags(args.mpiexec_flags), numproc_flag=args.numproc_flag)
    with open(stderr_path, "w") as err:
        return rt.start(cmd, stdout=subprocess.DEVNULL, stderr=err)


def kill9_everything(proc):
    """SIGKILL to mpirun and every rank at once (the process group, and each descendant by
    PID: Open MPI puts ranks in groups of their own), then waits until all are gone."""
    pids = rt.signal_tree(proc, signal.SIGKILL)
    proc.wait()
    rt.forget(proc)
    rt.wait_gone(pids, 10)
    check(not any(rt.alive(p) for p in pids), f"processes survived SIGKILL: {[p for p in pids if rt.alive(p)]}")
    return pids


def record_files(out):
    """pages.jsonl, and with --output-shards the crawling ranks' shards not merged yet."""
    return [os.path.join(out, "pages.jsonl")] + sorted(glob.glob(os.path.join(out, "shards", "pages.*.jsonl")))


def wait_for_records(proc, out, n, timeout):
    """Until the records (pages.jsonl and any shards) hold n lines (or the crawl ended, or the
    timeout: a hang guard)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        lines = 0
        for path in record_files(out):
            try:
                with open(path, "rb") as f:
                    lines += f.read().count(b"\n")
            except OSError:
                pass
        if lines >= n:
            return
        time.sleep(0.005)


def read_recorded(out):
    """URLs recorded as a resume reads them (pages.jsonl and the shards it merges first): a
    torn last line does not count."""
    urls = set()
    for path in record_files(out):
        try:
            with open(path) as f:
                for line in f:
                    if line.endswith("\n"):
                        urls.add(json.loads(line)["url"])
        except OSError:
            pass
    return urls


def read_checkpoint(out):
    try:
        with open(os.path.join(out, "checkpoint.json")) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        check(False, f"checkpoint.json after the stop: {e}")
        return {}


@contextlib.contextmanager
def resume_scenario(tag):
    """A work directory and the web every crawl of a resume scenario uses, after an
    uninterrupted reference crawl of it. Yields (workdir, web, seeds, reference seconds,
    reference links.tsv lines); stops the web after, and removes the directory unless
    something failed (or --keep)."""
    workdir = tempfile.mkdtemp(prefix=f"crawl-resume-{tag}-{args.ranks}r-")
    ok_before = len(failures)
    web = TestWeb(workdir, RESUME_WEB, seeds=[f"http://127.0.0.{2 + i}:PORT/" for i in range(4)] +
                  ["http://127.0.0.2:PORT1/"], max_depth=RESUME_DEPTH)
    seeds = list(web.truth["seeds"])
    try:
        secs, ref_links = reference_crawl(web, workdir, seeds)
        yield workdir, web, seeds, secs, ref_links
    finally:
        web.stop()
    if len(failures) == ok_before and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"  (work directory kept: {workdir})")


def reference_crawl(web, workdir, seeds):
    """An uninterrupted crawl of the same web: its duration places the kills, its links.tsv
    is what every resumed crawl must reproduce."""
    out = os.path.join(workdir, "reference")
    n0 = log_lines(web)
    rc, so, se, secs = mpirun(resume_args(out) + seeds, timeout=min(60.0, remaining()))
    check(rc == 0, f"reference crawl: exit {rc}: {se[-2000:]}")
    reqs = read_access_log(web.log)[n0:]
    verify("reference crawl", web.truth, rc, out, web.log, reqs=reqs)
    with open(os.path.join(out, "links.tsv")) as f:
        links = sorted(f)
    print(f"reference crawl: {len(web.truth['fetched'])} pages in {secs:.1f} s", flush=True)
    return secs, links


def stop_and_resume(name, web, workdir, seeds, ref_links, stop, env=None):
    """Run 1, stopped by stop(proc) (which returns whether the crawl must count as
    interrupted), then --resume (with `env`: extra environment variables); checks the union
    of both runs."""
    out = os.path.join(workdir, name.replace(" ", "-"))
    n0 = log_lines(web)
    proc = start_mpirun(resume_args(out) + seeds, os.path.join(workdir, "run1.err"))
    stop(proc, out)
    time.sleep(0.3)  # the web logs a request as it answers it
    n1 = log_lines(web)
    recorded1 = read_recorded(out)
    ckpt = read_checkpoint(out)
    # A "pending" robots.txt (it answered 500) is fetched again by the resume, by design.
    robots1 = {h["origin"] for h in ckpt.get("hosts", []) if h.get("robots") != "pending"}
    check(ckpt.get("runs") == 1 and ckpt.get("complete") is False,
          f"{name}: checkpoint after run 1: runs {ckpt.get('runs')}, complete {ckpt.get('complete')}")
    torn = False
    for path in record_files(out):
        with open(path, "rb") as f:
            torn |= f.read()[-1:] not in (b"", b"\n")
    print(f"{name}: run 1 stopped with {len(recorded1)} pages recorded{' (torn last line)' if torn else ''}, "
          f"robots.txt of {len(robots1)} origins in the checkpoint", flush=True)
    rc, so, se, secs = mpirun(["--resume"] + resume_args(out) + seeds, timeout=min(60.0, remaining()), env=env)
    if not check(rc is not None, f"{name}: resume hung, killed after {secs:.0f} s; stderr: {se[-2000:]}"):
        return out
    if rc != 0:
        print(se[-3000:])
    reqs = read_access_log(web.log)
    verify(name, web.truth, rc, out, web.log, reqs=reqs[n0:],
           resumed={"run1": reqs[n0:n1], "recorded1": recorded1, "robots1": robots1})
    with open(os.path.join(out, "links.tsv")) as f:
        check(sorted(f) == ref_links, f"{name}: links.tsv differs from the uninterrupted crawl's")
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    check(summary.get("pages_previous_runs") == len(recorded1),
          f"{name}: summary pages_previous_runs {summary.get('pages_previous_runs')}, run 1 recorded {len(recorded1)}")
    print(f"{name}: resumed in {secs:.1f} s", flush=True)
    return out


def scenario_resume_kill():
    with resume_scenario("kill") as (workdir, web, seeds, secs, ref_links):
        # Early, middle, late: when pages.jsonl holds a fraction of the truth's pages drawn at
        # random within each band (progress, not time: the same on a loaded machine), plus a
        # random 0-50 ms so that the kill may also hit the master mid-write.
        total = len(web.truth["fetched"])
        for band, (lo, hi) in (("early", (0.05, 0.2)), ("middle", (0.4, 0.6)), ("late", (0.75, 0.92))):
            if remaining() < secs * 2 + 15:
                check(False, f"kill {band}: not run, the scenario's time budget is spent")
                break
            at = max(1, int(random.uniform(lo, hi) * total))

            def stop(proc, out, at=at, band=band):
                wait_for_records(proc, out, at, timeout=min(60.0, remaining()))
                time.sleep(random.uniform(0, 0.05))
                check(proc.poll() is None, f"kill {band}: the crawl ended before the kill at {at} records")
                kill9_everything(proc)

            print(f"kill {band}: SIGKILL at {at} of {total} records", flush=True)
            stop_and_resume(f"kill {band}", web, workdir, seeds, ref_links, stop)


def scenario_resume_slices():
    """A resume whose state goes to each worker in dozens of Restore slices (a tiny
    RANKPOOL_CRAWL_SLICE_BYTES): the same crawl as an uninterrupted one, every slice within
    the limit; a bad limit is refused."""
    limit = 256
    with resume_scenario("slices") as (workdir, web, seeds, secs, ref_links):
        total = len(web.truth["fetched"])
        at = int(random.uniform(0.5, 0.7) * total)

        def stop(proc, out):
            wait_for_records(proc, out, at, timeout=min(60.0, remaining()))
            check(proc.poll() is None, f"slices: the crawl ended before the kill at {at} records")
            kill9_everything(proc)

        print(f"slices: SIGKILL at {at} of {total} records, resume with {limit}-byte slices", flush=True)
        out = stop_and_resume("slices", web, workdir, seeds, ref_links, stop,
                              env={"RANKPOOL_CRAWL_SLICE_BYTES": str(limit)})
        _, _, summary = read_outputs(out)
        restore = summary.get("restore", {})
        workers = max(1, args.ranks - 1)
        print(f"slices: {restore.get('slices')} Restore slices to {workers} workers, the largest "
              f"{restore.get('largest_slice_bytes')} bytes", flush=True)
        check(restore.get("slice_bytes") == limit, f"slices: summary restore {restore}")
        check((restore.get("slices") or 0) >= 24 * workers, f"slices: want dozens of slices per worker, got {restore}")
        # The web's robots.txt bodies and its longest URLs fit: no slice goes past the limit.
        check(0 < (restore.get("largest_slice_bytes") or 0) <= limit, f"slices: largest slice past {limit}: {restore}")

        # A bad limit: refused before any output is written or any request made.
        n = log_lines(web)
        for bad in ("12", "lots"):
            bad_out = os.path.join(workdir, f"bad-{bad}")
            rc, so, se, _ = mpirun(resume_args(bad_out) + seeds, timeout=min(30.0, remaining()),
                                   env={"RANKPOOL_CRAWL_SLICE_BYTES": bad})
            se = "\n".join(l for l in se.splitlines() if "warning: no --contact" not in l)  # resume_args has none
            one_line(f"RANKPOOL_CRAWL_SLICE_BYTES={bad}", rc, se, 2, "RANKPOOL_CRAWL_SLICE_BYTES")
            check(not os.path.exists(os.path.join(bad_out, "pages.jsonl")),
                  f"RANKPOOL_CRAWL_SLICE_BYTES={bad}: pages.jsonl written")
        check(log_lines(web) == n, "a bad RANKPOOL_CRAWL_SLICE_BYTES: requests were made")


def one_line(name, rc, se, want_rc, needle):
    lines = [l for l in se.splitlines() if l.strip()]
    check(rc == want_rc, f"{name}: exit {rc}, want {want_rc} ({lines})")
    check(len(lines) == 1 and lines[0].startswith("rankpool-crawl:") and needle in lines[0],
          f"{name}: want one line 'rankpool-crawl: ...' with {needle!r}, got {lines}")


def scenario_start_stop():
    """The crawler's start and stop over MPI (docs/scale.md, "Start-up and shutdown"). A rank
    that claims another protocol version (the test hook RANKPOOL_CRAWL_TEST_PROTOCOL=RANK:VERSION)
    fails the handshake: one line on rank 0, exit 2, nothing written, no request. A crawl's end
    goes down the stop tree and each worker's per-origin rows and depth fixes come to rank 0 in
    FinalPart slices: with 256-byte slices, many, none past the limit, and the crawl exact."""
    workers = max(1, args.ranks - 1)
    web_dir = tempfile.mkdtemp(prefix=f"crawl-start-stop-{args.ranks}r-")
    web = TestWeb(web_dir, [])
    try:
        seed = web.truth["seeds"][0]
        cases = [("RANKPOOL_CRAWL_TEST_PROTOCOL", "two:6")]
        if args.ranks > 1:
            cases.insert(0, (f"rank {args.ranks - 1}: crawl protocol 99, the master speaks ", f"{args.ranks - 1}:99"))
        for needle, hook in cases:
            out = os.path.join(web_dir, "out-" + hook.replace(":", "-"))
            rc, so, se, secs = mpirun(["--out-dir", out, "--quiet", "--contact", "ops@example.org", seed],
                                      timeout=min(30.0, remaining()),
                                      env={"RANKPOOL_CRAWL_TEST_PROTOCOL": hook})
            if not check(rc is not None, f"handshake {hook}: hung, killed after {secs:.0f} s"):
                continue
            print(f"handshake {hook}: exit {rc}, {secs:.1f} s: {se.strip()[:200]}", flush=True)
            one_line(f"handshake {hook}", rc, se, 2, needle)
            check(not os.path.exists(os.path.join(out, "pages.jsonl")), f"handshake {hook}: pages.jsonl written")
        check(log_lines(web) == 0, f"handshake: {log_lines(web)} requests made by runs that failed to start")
    finally:
        web.stop()
        shutil.rmtree(web_dir, ignore_errors=True)

    def final_report(limit):
        def live(web, out):
            _, _, summary = read_outputs(out)
            fr = summary.get("final_report", {})
            hosts = summary.get("hosts", [])
            ranks = [r for r in summary.get("ranks", []) if r.get("role") != "master"]
            print(f"final report, {limit or 'default'} slice bytes: {fr}, {len(hosts)} origin rows", flush=True)
            ss = summary.get("start_stop", {})
            print(f"  start_stop: {ss}", flush=True)
            check(ss.get("stop") == ("gathered" if args.ranks > 1 else "point to point")
                  and ss.get("stop_ms", -1) >= 0 and ss.get("handshake_ms", -1) >= 0, f"start_stop: {ss}")
            check(len(ranks) == workers and summary.get("missing_rank_reports") == 0,
                  f"final report: {len(ranks)} worker rows, want {workers}")
            origins = {json.loads(l)["url"].split("/", 3)[2] for l in open(os.path.join(out, "pages.jsonl"))}
            check(len(hosts) >= len(origins) and sum(r.get("hosts_owned", 0) for r in ranks) == len(hosts),
                  f"final report: {len(hosts)} origin rows for {len(origins)} origins crawled, rows by rank "
                  f"{[r.get('hosts_owned') for r in ranks]}")
            slices, largest = fr.get("slices", 0), fr.get("largest_slice_bytes", 0)
            if limit:
                check(slices >= len(hosts) // 3 and 0 < largest <= limit,
                      f"final report: want a slice per two or three rows, none past {limit} bytes: {fr}")
            else:
                check(workers <= slices <= 2 * workers, f"final report: want one or two slices a worker: {fr}")
        return live

    for limit in (256, None):
        # 16 hosts and one more origin: 17 per-origin rows, dozens of bytes each.
        crawl(f"final report, slice bytes {limit or 'default'}", ["--hosts", "16", "--pages", "8"], "all", 3,
              ["--delay", "0"],
              env={"RANKPOOL_CRAWL_SLICE_BYTES": str(limit)} if limit else None, live=final_report(limit))


def scenario_resume_sigterm():
    with resume_scenario("term") as (workdir, web, seeds, secs, ref_links):
        total = len(web.truth["fetched"])
        at = int(random.uniform(0.4, 0.6) * total)

        def stop(proc, out):
            wait_for_records(proc, out, at, timeout=min(60.0, remaining()))
            check(proc.poll() is None, f"SIGTERM: the crawl ended before the signal at {at} records")
            proc.send_signal(signal.SIGTERM)  # mpirun only: it forwards the signal to the ranks
            try:
                rc = proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                rc = None
                rt.kill_tree(proc)
            rt.forget(proc)
            # The ranks exit 128 + 15; Open MPI's mpirun, signalled itself, reports 1 for the job.
            check(rc is not None and rc != 0, f"SIGTERM: run 1 exit {rc}, want non-zero (interrupted)")
            # The outputs were flushed and say so, and the checkpoint was written at the signal.
            _, _, summary = read_outputs(out)
            check(summary.get("interrupted") is True, f"SIGTERM: summary interrupted {summary.get('interrupted')}")
            ckpt = read_checkpoint(out)
            check(ckpt.get("interrupted") is True and ckpt.get("pages") == len(read_recorded(out)),
                  f"SIGTERM: checkpoint interrupted {ckpt.get('interrupted')}, pages {ckpt.get('pages')}")

        print(f"SIGTERM at {at} of {total} records", flush=True)
        out = stop_and_resume("sigterm", web, workdir, seeds, ref_links, stop)
        ckpt = read_checkpoint(out)
        # The web's robots.txt answering 500 leaves its origin "pending": not complete.
        pending = {h["origin"] for h in ckpt.get("hosts", []) if h.get("robots") == "pending"}
        check(ckpt.get("runs") == 2 and ckpt.get("complete") is (not pending),
              f"sigterm: checkpoint after the resume: runs {ckpt.get('runs')}, complete {ckpt.get('complete')}, "
              f"pending robots.txt {few(pending)}")

        # A resume of the complete crawl does nothing and says so (scenario retries checks
        # that too); with pending robots.txt left, it asks only those again.
        with open(os.path.join(out, "pages.jsonl")) as f:
            pages_before = f.read()
        n = log_lines(web)
        rc, so, se, _ = mpirun(["--resume"] + resume_args(out) + seeds, timeout=min(30.0, remaining()))
        with open(os.path.join(out, "pages.jsonl")) as f:
            check(f.read() == pages_before, "resume of a finished crawl: pages.jsonl changed")
        if not pending:
            one_line("resume of a complete crawl", rc, se, 0, "complete")
            check(log_lines(web) == n, "resume of a complete crawl: requests were made")
        else:
            check(rc == 0, f"resume with pending robots.txt: exit {rc}: {se[-2000:]}")
            asked = [(q["origin"], q["target"]) for q in read_access_log(web.log)[n:]]
            check(sorted(asked) == sorted((o, "/robots.txt") for o in pending),
                  f"resume with pending robots.txt: requests {few(asked)}, want only the robots.txt of {few(pending)}")
        n = log_lines(web)

        # Other seeds or another scope: refused, one line, nothing touched.
        for what, argv, needle in (("other seeds", resume_args(out) + seeds[:2], "other seeds"),
                                   ("other scope", resume_args(out) + ["--scope", "any"] + seeds, "--scope"),
                                   ("other depth", resume_args(out) + ["--max-depth", "2"] + seeds, "--max-depth")):
            rc, so, se, _ = mpirun(["--resume"] + argv, timeout=min(30.0, remaining()))
            one_line(f"resume with {what}", rc, se, 2, needle)
        with open(os.path.join(out, "pages.jsonl")) as f:
            check(f.read() == pages_before, "refused resumes: pages.jsonl changed")
        check(log_lines(web) == n, "refused resumes: requests were made")


def scenario_bad_input():
    workdir = tempfile.mkdtemp(prefix=f"crawl-bad-{args.ranks}r-")
    try:
        blocker = os.path.join(workdir, "a-file")
        with open(blocker, "w") as f:
            f.write("a regular file, not a directory\n")
        out = os.path.join(workdir, "out")
        seed = "http://127.0.0.2:1/"  # well-formed and resolvable; never crawled by these runs
        unwritable = os.path.join(blocker, "out")
        cases = [  # (what the one line must name, arguments)
            ("ftp://x/", ["--out-dir", out, "ftp://x/"]),
            ("not-a-url", ["--out-dir", out, "not-a-url"]),
            (unwritable, ["--out-dir", unwritable, seed]),
            ("per-host-connections", ["--out-dir", out, "--per-host-connections", "0", seed]),
            ("delay", ["--out-dir", out, "--delay", "-1", seed]),
            ("scope", ["--out-dir", out, "--scope", "bogus", seed]),
            ("no-such-host.invalid", ["--out-dir", out, "http://no-such-host.invalid/"]),
            ("seed", ["--out-dir", out]),
            ("no checkpoint", ["--out-dir", out, "--resume", seed]),
            ("checkpoint-interval", ["--out-dir", out, "--checkpoint-interval", "-1", seed]),
            # -o would be a file in the other apps: the crawler has no -o.
            ("'-o'", ["-o", out, seed]),
            ("older spelling of --out-dir", ["--out-dir", out, "--out", unwritable, seed]),
            ("--contact", ["--out-dir", out, "--contact", "me (really)", seed]),
            ("--contact", ["--out-dir", out, "--contact", "", seed]),
            ("exclude each other", ["--out-dir", out, "--contact", "x@example.org", "--user-agent", "bot/1", seed]),
            ("--sitemaps cannot be resumed", ["--out-dir", out, "--resume", "--sitemaps", seed]),
            ("--retry-codes", ["--out-dir", out, "--retry-codes", "503,abc", seed]),
            ("--retries", ["--out-dir", out, "--retries", "-1", seed]),
            # unsigned sizes and counts: Boost would wrap "-1" to 2^64-1 ("no limit")
            ("--frontier-memory must be >= 0", ["--out-dir", out, "--frontier-memory=-1", seed]),
            ("--max-pages must be >= 0", ["--out-dir", out, "--max-pages", "-5", seed]),
            ("--max-retry-backoff", ["--out-dir", out, "--retry-backoff", "5", "--max-retry-backoff", "1", seed]),
        ]
        for needle, argv in cases:
            if remaining() < 3:
                check(False, f"bad input {argv}: not run, the time budget is spent")
                continue
            rc, so, se, secs = mpirun(["--quiet"] + argv, timeout=min(30.0, remaining()))
            if not check(rc is not None, f"bad input {argv}: hung, killed after {secs:.0f} s"):
                continue
            lines = [l for l in se.splitlines() if l.strip()]
            check(rc == 2, f"bad input {argv}: exit {rc}, want 2 ({lines})")
            check(len(lines) == 1 and lines[0].startswith("rankpool-crawl:") and needle in lines[0],
                  f"bad input {argv}: want one line 'rankpool-crawl: ...' naming {needle!r}, got {lines}")
            print(f"bad input {argv[-1]!r}: exit {rc}, {secs:.1f} s: {lines[:1]}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def scenario_user_agent():
    """The User-Agent carries the project's version and, with --contact, the contact; without
    --contact (and --user-agent) rank 0 warns once. The older --out spelling still works."""
    product = f"rankpool-crawl/{args.project_version}"
    contact = "mailto:crawl-ops@example.org"
    for name, extra, want_ua, want_warning in (
            ("with --contact", ["--contact", contact], f"{product} (+{contact})", False),
            ("without --contact", [], product, True),
            ("--user-agent", ["--user-agent", "otherbot/2.1 (+https://example.org/bot)"],
             "otherbot/2.1 (+https://example.org/bot)", False),
            ("older --out spelling", ["--contact", contact], f"{product} (+{contact})", False)):
        if remaining() < 10:
            check(False, f"{name}: not run, the time budget is spent")
            continue
        workdir = tempfile.mkdtemp(prefix=f"crawl-ua-{args.ranks}r-")
        out = os.path.join(workdir, "out")
        out_flag = "--out" if "--out" in name else "--out-dir"
        ok_before = len(failures)
        web = TestWeb(workdir, ["--hosts", "2", "--pages", "8"], max_depth=2)
        try:
            rc, so, se, secs = mpirun([out_flag, out, "--quiet", "--max-depth", "2", "--delay", "0"] + NO_RETRIES + extra +
                                      list(web.truth["seeds"]), timeout=min(60.0, remaining()))
        finally:
            web.stop()
        print(f"{name}: exit {rc}, {secs:.1f} s", flush=True)
        if not check(rc == 0, f"{name}: exit {rc}; stderr: {se[-2000:]}"):
            continue
        reqs = verify(name, web.truth, rc, out, web.log)
        agents = collections.Counter(q["user_agent"] for q in reqs)
        check(set(agents) == {want_ua}, f"{name}: User-Agents {dict(agents)}, want only {want_ua!r}")
        lines = [l for l in se.splitlines() if l.strip()]
        if want_warning:
            check(len(lines) == 1 and lines[0].startswith("rankpool-crawl: warning:") and "--contact" in lines[0]
                  and f"'{product}'" in lines[0],
                  f"{name}: want one warning line naming --contact and {product!r} (rank 0 only), got {lines}")
        else:
            check(lines == [], f"{name}: want nothing on stderr, got {lines}")
        if len(failures) == ok_before and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"  (work directory kept: {workdir})")


# ---------------------------------------------------------------------------------------
# Retries and back-off: the default web with retries on, plus the fault paths of the web
# (rankpool-testweb: /fault/status/CODE/K, /fault/reset/K, /fault/slow/K, --robots-failures),
# an origin that never answers (--silent), and a robots.txt pending across a resume.

RETRY_CODES = {429, 500, 502, 503, 504}
RETRY_BASE, RETRY_CAP, RETRIES = 0.2, 1.0, 2
RETRY_ARGS = ["--retries", str(RETRIES), "--retry-backoff", str(RETRY_BASE), "--max-retry-backoff", str(RETRY_CAP),
              "--max-retry-after", "5", "--timeout", "1", "--connect-timeout", "1"]


def backoff_spacing(name, reqs, failed, retry_after, timeout_first=(), tol=0.010):
    """Per origin, after a failed request at t (failed(q)), the next request to that origin
    comes no earlier than t + the smallest back-off for the n-th failure in a row
    (RETRY_BASE * 2^(n-1), capped, times 1/2 for the jitter), or t + retry_after(q) when the
    answer carried a Retry-After; after a request in timeout_first, the timeout comes first.
    This is "no request to an origin during its back-off", read from the access log."""
    by_origin = collections.defaultdict(list)
    for q in reqs:
        by_origin[q["origin"]].append(q)
    checked = 0
    for o, qs in sorted(by_origin.items()):
        qs.sort(key=lambda q: q["time"])
        run = 0
        for a, b in zip(qs, qs[1:]):
            if not failed(a):
                run = 0
                continue
            run += 1
            need = 0.5 * min(RETRY_CAP, RETRY_BASE * 2 ** (run - 1))
            need = max(need, retry_after(a))
            slack = tol
            if a["url"] in timeout_first:
                need += 1.0  # --timeout 1: the failure is known only then, from the request's start
                slack = 0.05  # which the web logs a connection set-up later
            gap = b["time"] - a["time"]
            checked += 1
            check(gap >= need - slack, f"{name}: {o}: {b['target']} {gap:.3f} s after the failed {a['target']} "
                                     f"(failure {run} in a row), want >= {need:.3f} s")
    return checked


def scenario_retries():
    workdir = tempfile.mkdtemp(prefix=f"crawl-retries-{args.ranks}r-")
    ok_before = len(failures)
    try:
        retry_faults(workdir)
        retry_max_pages(workdir)
        retry_give_up(workdir)
        retry_robots_resume(workdir)
    finally:
        if len(failures) == ok_before and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"  (work directory kept: {workdir})")


def retry_faults(workdir):
    name = "retries"
    depth = 2
    seeds = [f"http://127.0.0.{2 + i}:PORT/" for i in range(3)] + ["http://127.0.0.2:PORT1/"]
    os.makedirs(os.path.join(workdir, "faults"))
    web = TestWeb(os.path.join(workdir, "faults"),
                  ["--hosts", "3", "--pages", "12", "--robots-failures", "2", "--slow-ms", "100",
                   "--fault-delay-ms", "3000"], seeds=seeds, max_depth=depth)
    truth = web.truth
    o = truth["origins"]  # 0, 1: normal robots.txt; 2: robots.txt 500 (closed); 3: allow-all
    faults = {  # url: (requests, final status, retried causes, Retry-After wait after a failure)
        o[0] + "/fault/status/503/2?ra=1": (3, 200, ["503", "503"], 1.0),
        o[0] + "/fault/status/503/9": (3, 503, ["503", "503"], 0.0),
        o[1] + "/fault/status/429/1?ra-date=2": (2, 200, ["429"], 1.0),
        o[1] + "/fault/slow/1": (2, 200, ["timeout"], 0.0),
        o[3] + "/fault/reset/1": (2, 200, ["reset"], 0.0),
    }
    out = os.path.join(workdir, "faults", "out")
    try:
        rc, so, se, secs = mpirun(["--out-dir", out, "--quiet", "--max-depth", str(depth), "--delay", "0"] + RETRY_ARGS +
                                  list(truth["seeds"]) + list(faults), timeout=min(90.0, remaining()))
    finally:
        web.stop()
    print(f"{name}: {len(truth['fetched'])} truth pages + {len(faults)} fault URLs, exit {rc}, {secs:.1f} s", flush=True)
    if not check(rc is not None, f"{name}: hung, killed after {secs:.0f} s; stderr: {se[-2000:]}"):
        return
    # The web's own retry codes: /error (500) everywhere it is crawled; robots.txt: two 503s
    # (--robots-failures 2) then its answer, three requests on every origin.
    attempts = {x["url"]: RETRIES + 1 for x in truth["fetched"] if x["status"] in RETRY_CODES}
    attempts.update({u: f[0] for u, f in faults.items()})
    robots_attempts = {origin_of(u): 3 for u in truth["robots"]}
    extra = {u: (0, f[1], None) for u, f in faults.items()}
    verify(name, truth, rc, out, web.log, extra_pages=extra, attempts=attempts, robots_attempts=robots_attempts)
    records, _, summary = read_outputs(out)
    by_url = {r["url"]: r for r in records}
    for u, (n, status, causes, _) in faults.items():
        r = by_url.get(u, {})
        check(r.get("attempts") == n and r.get("retried") == causes and r.get("status") == status,
              f"{name}: {u}: record {r}, want attempts {n}, retried {causes}, status {status}")
    hosts = {h["origin"]: h for h in summary.get("hosts", [])}
    check(hosts.get(o[2], {}).get("robots") == "pending",
          f"{name}: {o[2]} (robots.txt 500 after two 503s): robots {hosts.get(o[2], {}).get('robots')}, want pending")
    check(all(hosts.get(x, {}).get("robots") == "parsed" for x in (o[0], o[3])),
          f"{name}: robots.txt that answered on the third request: {[hosts.get(x, {}).get('robots') for x in o]}")
    reqs = read_access_log(web.log)
    first_of = collections.defaultdict(int)
    fault_fail = set()
    for i, q in enumerate(reqs):  # the requests the web answered with a fault
        key = (q["origin"], q["target"])
        first_of[key] += 1
        if q["url"] in faults and first_of[key] < faults[q["url"]][0] and faults[q["url"]][1] == 200:
            fault_fail.add(i)
    slow = {u for u in faults if "/fault/slow/" in u}

    def failed(q):
        return q["status"] in RETRY_CODES or q["status"] == 0 or q["index"] in fault_fail

    def retry_after(q):
        return faults[q["url"]][3] if q["url"] in faults and q["status"] in RETRY_CODES else 0.0

    for i, q in enumerate(reqs):
        q["index"] = i
    n = backoff_spacing(name, reqs, failed, retry_after, timeout_first=slow)
    print(f"  back-off spacing checked after {n} failed requests; summary retries {summary.get('retries')}")


def retry_max_pages(workdir):
    """--max-pages counts URLs, not attempts: exactly N records, N distinct URLs requested,
    each as often as its record's attempts say, on a web where many requests are retried."""
    name = "retries with --max-pages"
    n_pages = 30
    os.makedirs(os.path.join(workdir, "budget"))
    seeds = [f"http://127.0.0.{2 + i}:PORT/" for i in range(3)] + ["http://127.0.0.2:PORT1/"]
    web = TestWeb(os.path.join(workdir, "budget"), ["--hosts", "3", "--pages", "12", "--robots-failures", "1",
                                                     "--slow-ms", "100"], seeds=seeds, max_depth=2)
    o = web.truth["origins"]
    faults = [o[0] + "/fault/status/503/2", o[1] + "/fault/status/502/1", o[3] + "/fault/status/500/9"]
    out = os.path.join(workdir, "budget", "out")
    try:
        rc, so, se, secs = mpirun(["--out-dir", out, "--quiet", "--max-depth", "2", "--delay", "0",
                                   "--max-pages", str(n_pages)] + RETRY_ARGS + faults + list(web.truth["seeds"]),
                                  timeout=min(60.0, remaining()))
    finally:
        web.stop()
    print(f"{name}: exit {rc}, {secs:.1f} s", flush=True)
    if not check(rc == 0, f"{name}: exit {rc}; stderr: {se[-2000:]}"):
        return
    records, _, _ = read_outputs(out)
    pages = collections.Counter(q["url"] for q in read_access_log(web.log) if q["target"] != "/robots.txt")
    check(len(records) == n_pages, f"{name}: {len(records)} records, want exactly {n_pages}")
    check(set(pages) == {r["url"] for r in records},
          f"{name}: URLs requested != recorded: {few(set(pages) ^ {r['url'] for r in records})}")
    wrong = [(r["url"], r.get("attempts"), pages[r["url"]]) for r in records if r.get("attempts") != pages[r["url"]]]
    check(not wrong, f"{name}: attempts != requests (url, attempts, requests): {few(wrong)}")
    retried = sum(1 for r in records if r.get("attempts", 1) > 1)
    check(retried >= len(faults), f"{name}: only {retried} records were retried")
    print(f"  {len(records)} records from {sum(pages.values())} page requests, {retried} URLs retried")


def retry_give_up(workdir):
    """An origin that never answers (--silent): robots.txt times out --origin-give-up 3 times
    in a row, with back-off, then the origin is given up and its seeds recorded so; the crawl
    ends instead of waiting for it."""
    name = "give-up"
    os.makedirs(os.path.join(workdir, "silent"))
    web = TestWeb(os.path.join(workdir, "silent"), ["--hosts", "1", "--pages", "4", "--silent"], max_depth=1)
    seeds = [web.truth["seeds"][0], web.truth["seeds"][0] + "p/1"]
    out = os.path.join(workdir, "silent", "out")
    try:
        rc, so, se, secs = mpirun(["--out-dir", out, "--quiet", "--max-depth", "1", "--delay", "0", "--retries", "9",
                                   "--origin-give-up", "3", "--retry-backoff", str(RETRY_BASE), "--max-retry-backoff",
                                   str(RETRY_CAP), "--timeout", "0.5", "--connect-timeout", "0.5"] + seeds,
                                  timeout=min(40.0, remaining()))
    finally:
        web.stop()
    print(f"{name}: exit {rc}, {secs:.1f} s", flush=True)
    if not check(rc == 0, f"{name}: exit {rc}; stderr: {se[-2000:]}"):
        return
    records, _, summary = read_outputs(out)
    got = {r["url"]: r for r in records}
    check(set(got) == set(seeds), f"{name}: records for {sorted(got)}, want {seeds}")
    for u, r in got.items():
        check(r.get("error_kind") == "origin_gave_up" and r.get("status") == 0 and r.get("attempts") == 0,
              f"{name}: {u}: {r}")
    check(summary.get("errors", {}).get("origin_gave_up") == 2, f"{name}: summary errors {summary.get('errors')}")
    reqs = read_access_log(web.log)
    check([q["target"] for q in reqs] == ["/robots.txt"] * 3, f"{name}: requests {[q['target'] for q in reqs]}, "
                                                              f"want robots.txt three times")
    for i, (a, b) in enumerate(zip(reqs, reqs[1:]), 1):
        need = 0.5 + 0.5 * RETRY_BASE * 2 ** (i - 1)  # the timeout, then the back-off
        check(b["time"] - a["time"] >= need - 0.05, f"{name}: robots.txt requests {b['time'] - a['time']:.3f} s "
                                                    f"apart after failure {i}, want >= {need:.3f} s")


def retry_robots_resume(workdir):
    """robots.txt answers 503 once on every origin; with --retries 0 the first run closes the
    site and keeps it "pending" in the checkpoint; the resume asks again and crawls it."""
    name = "robots pending, resumed"
    os.makedirs(os.path.join(workdir, "pending"))
    seeds = ["http://127.0.0.2:PORT/", "http://127.0.0.2:PORT1/"]
    web = TestWeb(os.path.join(workdir, "pending"), ["--hosts", "1", "--pages", "8", "--robots-failures", "1"],
                  seeds=seeds, max_depth=2)
    out = os.path.join(workdir, "pending", "out")
    argv = ["--out-dir", out, "--quiet", "--max-depth", "2", "--delay", "0", "--retries", "0"] + list(web.truth["seeds"])
    try:
        rc1, _, se1, _ = mpirun(argv, timeout=min(30.0, remaining()))
        n1 = log_lines(web)
        ckpt = read_checkpoint(out)
        rc2, _, se2, secs = mpirun(["--resume"] + argv, timeout=min(30.0, remaining()))
        n2 = log_lines(web)
        # Now nothing is pending: complete, and a further resume does nothing and says so.
        rc3, _, se3, _ = mpirun(["--resume"] + argv, timeout=min(30.0, remaining()))
        one_line(f"{name}: resume of the complete crawl", rc3, se3, 0, "complete")
        check(log_lines(web) == n2, f"{name}: resume of the complete crawl made requests")
    finally:
        web.stop()
    print(f"{name}: exits {rc1}, {rc2}", flush=True)
    check(rc1 == 0, f"{name}: run 1 exit {rc1}: {se1[-2000:]}")
    states = {h["origin"]: h.get("robots") for h in ckpt.get("hosts", [])}
    want = {origin_of(u) for u in web.truth["robots"]}
    check(states == {x: "pending" for x in want}, f"{name}: checkpoint robots after run 1 {states}, want pending")
    check(ckpt.get("pages") == 0, f"{name}: run 1 recorded {ckpt.get('pages')} pages, want none (all disallowed)")
    reqs = read_access_log(web.log)
    check(all(q["target"] == "/robots.txt" for q in reqs[:n1]), f"{name}: run 1 requested pages")
    verify(name, web.truth, rc2, out, web.log, reqs=reqs[:n2],
           resumed={"run1": reqs[:n1], "recorded1": set(), "robots1": set()})


# ---------------------------------------------------------------------------------------
# The network: proxies, https, content types. One web serves several crawls; each crawl's
# requests are the access log lines it added (log_lines before and after).

def make_tls(workdir, ips, tag="server"):
    """A CA made now (openssl CLI) and a certificate it signs for the IP addresses `ips`:
    returns (ca.pem, cert.pem, key.pem) paths. Nothing is trusted but for this test."""
    ca_key, ca = os.path.join(workdir, "ca.key"), os.path.join(workdir, "ca.pem")
    key, csr, cert = (os.path.join(workdir, f"{tag}.{x}") for x in ("key", "csr", "pem"))
    ext = os.path.join(workdir, f"{tag}.ext")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(cmd):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {r.stderr}")

    if not os.path.exists(ca):
        run(["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
             "-subj", "/CN=rankpool test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    with open(ext, "w") as f:
        f.write("subjectAltName=" + ",".join(f"IP:{ip}" for ip in ips) + "\n"
                "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run(["openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", f"/CN=rankpool testweb {tag}"])
    run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
         "-days", "2", "-extfile", ext])
    return ca, cert, key


NET_HOSTS, NET_TLS_HOSTS, NET_DEPTH = 3, 2, 3


def net_web(workdir, cert=None, key=None, extra_web_args=(), seed_paths=("/",)):
    """A web of 3 hosts, the first two https when cert/key are given, plus the extra origin
    (http, on the first host's address); seeds: every origin's seed_paths."""
    web_args = ["--hosts", str(NET_HOSTS), "--pages", "20", *extra_web_args]
    tls = cert is not None
    if tls:
        web_args += ["--tls-hosts", str(NET_TLS_HOSTS), "--tls-cert", cert, "--tls-key", key]
    seeds = [f"{'https' if tls and i < NET_TLS_HOSTS else 'http'}://127.0.0.{2 + i}:PORT{p}"
             for i in range(NET_HOSTS) for p in seed_paths] + [f"http://127.0.0.2:PORT1{p}" for p in seed_paths]
    return TestWeb(workdir, web_args, seeds=seeds, max_depth=NET_DEPTH)


def net_crawl(name, web, workdir, crawl_args, env=None, exact=True):
    """A crawl of `web` into a fresh directory: (returncode, stderr, records by URL, its access
    log lines); with exact, verify() holds it to the web's truth."""
    out = os.path.join(workdir, name.replace(" ", "-").replace("/", "-"))
    n0 = log_lines(web)
    rc, so, se, secs = mpirun(["--out-dir", out, "--max-depth", str(NET_DEPTH), "--delay", "0", "--quiet",
                               "--contact", "mailto:crawl-tests@example.org"] + NO_RETRIES +
                              crawl_args + list(web.truth["seeds"]), timeout=min(60.0, remaining()), env=env)
    time.sleep(0.2)  # the web logs a request as it answers it
    reqs = read_access_log(web.log)[n0:]
    print(f"{name}: exit {rc}, {secs:.1f} s, {len(reqs)} requests", flush=True)
    check(rc is not None, f"{name}: hung, killed after {secs:.0f} s; stderr: {se[-2000:]}")
    if rc != 0 and se:
        print(se[-3000:])
    if exact:
        verify(name, web.truth, rc, out, web.log, reqs=reqs)
    records, _, _ = read_outputs(out)
    return rc, se, {r.get("url"): r for r in records}, reqs


class Proxy:
    """tests/support/forward_proxy.py on 127.0.0.1, logging to workdir/proxy.log."""

    def __init__(self, workdir):
        self.log = os.path.join(workdir, "proxy.log")
        self.proc = rt.start([sys.executable, args.proxy_script, "--log", self.log])
        line = self.proc.stdout.readline()
        if not line.startswith("proxy: "):
            raise RuntimeError(f"forward_proxy.py did not start: {line!r}")
        self.url = line.split()[1]

    def lines(self):
        try:
            with open(self.log) as f:
                return [l.rstrip("\n") for l in f]
        except OSError:
            return []

    def stop(self):
        rt.kill_tree(self.proc, grace=2.0)
        rt.forget(self.proc)


def through_proxy(name, proxy, n0, reqs):
    """Every request of the crawl passed the proxy: each http one as an absolute-form GET
    (the same multiset of URLs), each https origin through CONNECT tunnels to it, nothing else."""
    seen = proxy.lines()[n0:]
    gets = collections.Counter(l.split(" ", 1)[1] for l in seen if l.startswith("GET "))
    connects = collections.Counter(l.split(" ", 1)[1] for l in seen if l.startswith("CONNECT "))
    other = [l for l in seen if not l.startswith(("GET ", "CONNECT "))]
    http_reqs = collections.Counter(q["url"] for q in reqs if q["origin"].startswith("http://"))
    https_origins = {q["origin"][len("https://"):] for q in reqs if q["origin"].startswith("https://")}
    check(not other, f"{name}: proxy saw other requests: {few(other)}")
    check(gets == http_reqs and gets, f"{name}: proxy GETs != the web's http requests: "
                                      f"{few(set(gets.items()) ^ set(http_reqs.items()))}")
    check(set(connects) == https_origins and https_origins,
          f"{name}: CONNECT targets {few(connects)}, the web's https origins {few(https_origins)}")
    print(f"  {name}: the proxy forwarded {sum(gets.values())} GETs and {sum(connects.values())} CONNECTs "
          f"({len(reqs)} requests at the web)", flush=True)


def scenario_proxy():
    workdir = tempfile.mkdtemp(prefix=f"crawl-proxy-{args.ranks}r-")
    ok_before = len(failures)
    ca, cert, key = make_tls(workdir, [f"127.0.0.{2 + i}" for i in range(NET_TLS_HOSTS)])
    web = net_web(workdir, cert, key)
    proxy = Proxy(workdir)
    try:
        loopback_hosts = ",".join(f"127.0.0.{2 + i}" for i in range(NET_HOSTS))
        for name, crawl_args, env, via in (
                ("--proxy", ["--proxy", proxy.url, "--ca-cert", ca], None, ["for http and https (--proxy)"]),
                ("http_proxy and https_proxy", ["--ca-cert", ca], {"http_proxy": proxy.url, "https_proxy": proxy.url},
                 ["(http_proxy)", "(https_proxy)"]),
                ("ALL_PROXY", [], {"ALL_PROXY": proxy.url, "CURL_CA_BUNDLE": ca}, ["for http and https (ALL_PROXY)"]),
                ("no_proxy matching", ["--ca-cert", ca], {"http_proxy": proxy.url, "https_proxy": proxy.url,
                                                          "no_proxy": loopback_hosts}, None),
                ("--no-proxy", ["--no-proxy", "--ca-cert", ca], {"http_proxy": proxy.url, "https_proxy": proxy.url,
                                                                  "ALL_PROXY": proxy.url}, None)):
            if remaining() < 15:
                check(False, f"{name}: not run, the time budget is spent")
                continue
            n0 = len(proxy.lines())
            # Not --quiet-sensitive: the proxy line is printed whatever -q says.
            rc, se, _, reqs = net_crawl(name, web, workdir, crawl_args, env=env)
            lines = [l for l in se.splitlines() if l.strip()]
            if name == "--no-proxy":
                check(proxy.lines()[n0:] == [] and reqs, f"{name}: the proxy saw {few(proxy.lines()[n0:])}")
                check(lines == [], f"{name}: want nothing on stderr, got {lines}")
                continue
            if name == "no_proxy matching":
                check(proxy.lines()[n0:] == [] and reqs, f"{name}: the proxy saw {few(proxy.lines()[n0:])}")
                via = [f"direct for no_proxy '{loopback_hosts}' (no_proxy)"]
            else:
                through_proxy(name, proxy, n0, reqs)
            check(len(lines) == 1 and lines[0].startswith("rankpool-crawl: proxy") and proxy.url in lines[0]
                  and all(v in lines[0] for v in via),
                  f"{name}: want one line 'rankpool-crawl: proxy {proxy.url} ... {via}', got {lines}")
        # A proxy URL that is not one: one line, exit 2, before anything is requested.
        rc, so, se, _ = mpirun(["--out-dir", os.path.join(workdir, "bad"), "--proxy", "ftp://127.0.0.1:1",
                                web.truth["seeds"][0]], timeout=min(30.0, remaining()))
        one_line("--proxy ftp://", rc, se, 2, "--proxy 'ftp://127.0.0.1:1'")
        rc, so, se, _ = mpirun(["--out-dir", os.path.join(workdir, "bad"), "--proxy", "", web.truth["seeds"][0]],
                               timeout=min(30.0, remaining()))
        one_line("--proxy ''", rc, se, 2, "--proxy must name a proxy URL")
        rc, so, se, _ = mpirun(["--out-dir", os.path.join(workdir, "bad"), web.truth["seeds"][0]],
                               timeout=min(30.0, remaining()), env={"https_proxy": "socks9://x:1"})
        one_line("https_proxy socks9://", rc, se, 2, "https_proxy 'socks9://x:1'")
    finally:
        proxy.stop()
        web.stop()
    if len(failures) == ok_before and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"  (work directory kept: {workdir})")


def scenario_overwrite():
    """The reported case: a finished crawl rerun into the same --out-dir with another --max-depth
    is refused (one line naming the directory, --resume and --overwrite; exit 2; no request;
    its files byte for byte as they were); --overwrite replaces it (exact against the new truth,
    summary "runs": 1) and leaves OUT/warc/ alone; --resume with --overwrite is refused."""
    workdir = tempfile.mkdtemp(prefix=f"crawl-overwrite-{args.ranks}r-")
    ok_before = len(failures)
    out = os.path.join(workdir, "out")
    web_args = ["--hosts", "3", "--pages", "60"]
    web = TestWeb(workdir, web_args, max_depth=3)
    try:
        seeds = list(web.truth["seeds"])
        rc, so, se, secs = mpirun(["--out-dir", out, "--quiet", "--max-depth", "3", "--delay", "0"] + NO_RETRIES + seeds,
                                  timeout=min(60.0, remaining()))
        check(rc == 0, f"first crawl: exit {rc}: {se[-2000:]}")
        verify("first crawl", web.truth, rc, out, web.log)
        first = {n: open(os.path.join(out, n), "rb").read()
                 for n in ("pages.jsonl", "links.tsv", "checkpoint.json", "summary.json")}
        print(f"first crawl: {len(web.truth['fetched'])} pages at depth 3, {secs:.1f} s", flush=True)
        warc = os.path.join(out, "warc", "rankpool-earlier-1-00000.warc.gz")
        os.makedirs(os.path.dirname(warc))
        with open(warc, "wb") as f:
            f.write(b"an earlier run's archive\n")
        n = log_lines(web)
        for what, extra, needle in (("rerun at depth 1", [], "--overwrite"),
                                    ("--resume with --overwrite", ["--resume", "--overwrite"], "exclude each other")):
            rc, so, se, _ = mpirun(["--out-dir", out, "--quiet", "--max-depth", "1", "--delay", "0"] + extra + seeds,
                                   timeout=min(30.0, remaining()))
            one_line(what, rc, se, 2, needle)
            if not extra:
                line = se.strip()
                check(out in line and "--resume" in line and "pages.jsonl" in line,
                      f"refusal: want the directory, its files, --resume and --overwrite named, got {line!r}")
                print(f"refused: {line}", flush=True)
        check(log_lines(web) == n, "refused reruns: requests were made")
        for name, data in first.items():
            check(open(os.path.join(out, name), "rb").read() == data, f"refused reruns: {name} changed")
    finally:
        web.stop()
    # --overwrite, on a new web (its truth at depth 1, its own access log): the crawl is exactly the new one.
    web2dir = os.path.join(workdir, "web2")
    os.makedirs(web2dir)
    web = TestWeb(web2dir, web_args, max_depth=1)
    try:
        rc, so, se, secs = mpirun(["--out-dir", out, "--overwrite", "--quiet", "--max-depth", "1", "--delay", "0"] +
                                  NO_RETRIES + list(web.truth["seeds"]), timeout=min(60.0, remaining()))
    finally:
        web.stop()
    print(f"--overwrite at depth 1: {len(web.truth['fetched'])} truth pages, exit {rc}, {secs:.1f} s", flush=True)
    verify("--overwrite", web.truth, rc, out, web.log)
    with open(warc, "rb") as f:
        check(f.read() == b"an earlier run's archive\n", "--overwrite: a file under OUT/warc/ changed")
    ckpt = read_checkpoint(out)
    check(ckpt.get("runs") == 1 and ckpt.get("complete") is True,
          f"--overwrite: checkpoint runs {ckpt.get('runs')}, complete {ckpt.get('complete')} (a new crawl)")
    if len(failures) == ok_before and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"  (work directory kept: {workdir})")


def scenario_https():
    workdir = tempfile.mkdtemp(prefix=f"crawl-https-{args.ranks}r-")
    ok_before = len(failures)
    tls_ips = [f"127.0.0.{2 + i}" for i in range(NET_TLS_HOSTS)]
    ca, cert, key = make_tls(workdir, tls_ips)
    web = net_web(workdir, cert, key)
    try:
        https_origins = {o for o in web.truth["origins"] if o.startswith("https://")}
        # Mixed schemes in the truth: links and redirects between http and https origins,
        # http://127.0.0.2:P+1 -> https://127.0.0.2:P among them (two origins on one server).
        edges = {(origin_of(a).split(":")[0], origin_of(b).split(":")[0]) for a, b in web.truth["edges"]}
        check({("http", "https"), ("https", "http")} <= edges, f"https web: cross-scheme links {edges}")
        extra, first = web.truth["origins"][-1], web.truth["origins"][0]
        hops = {(origin_of(a), origin_of(b)) for a, b in web.truth["redirects"].items()}
        check((extra, first) in hops, f"https web: no http -> https redirect {extra} -> {first} in {few(hops)}")

        for name, crawl_args, env in (("--ca-cert", ["--ca-cert", ca], None),
                                      ("CURL_CA_BUNDLE", [], {"CURL_CA_BUNDLE": ca}),
                                      ("SSL_CERT_FILE", [], {"SSL_CERT_FILE": ca})):
            _, _, _, reqs = net_crawl(name, web, workdir, crawl_args, env=env)
            check({q["origin"] for q in reqs} >= https_origins, f"{name}: https origins requested: "
                                                               f"{few({q['origin'] for q in reqs})}")

        # Without the CA: each https origin refused (error_kind tls) with no request reaching
        # it; the http origins crawled as usual.
        other = os.path.join(workdir, "other")
        os.makedirs(other)
        other_ca = make_tls(other, tls_ips)[0]
        for name, crawl_args in (("no CA", []), ("--ca-cert of another CA", ["--ca-cert", other_ca])):
            rc, _, by_url, reqs = net_crawl(name, web, workdir, crawl_args, exact=False)
            check(rc == 0, f"{name}: exit {rc}")
            https_recs = {u: r for u, r in by_url.items() if u.startswith("https://")}
            bad = {u: (r.get("status"), r.get("error_kind")) for u, r in https_recs.items()
                   if r.get("status") != 0 or r.get("error_kind") != "tls" or "certificate" not in r.get("error", "")}
            check(https_recs and not bad, f"{name}: https records not refused as tls: {few(bad.items())}")
            for o in https_origins:
                check(o + "/" in https_recs, f"{name}: no record for the https seed {o}/")
            check(not any(q["origin"].startswith("https://") for q in reqs),
                  f"{name}: requests reached an https origin")
            check(any(r.get("status") == 200 for u, r in by_url.items() if u.startswith("http://")),
                  f"{name}: the http origins were not crawled")
            print(f"  {name}: {len(https_recs)} https records, e.g. {next(iter(https_recs.values()), {}).get('error')}")
    finally:
        web.stop()

    # A certificate for the first host only, served by both https hosts: the second one's name
    # (127.0.0.3) does not match. Its URLs are refused with tls; the first host is crawled.
    if remaining() > 20:
        mdir = os.path.join(workdir, "mismatch")
        os.makedirs(mdir)
        _, cert1, key1 = make_tls(workdir, tls_ips[:1], tag="first-only")
        web = net_web(mdir, cert1, key1)
        try:
            rc, _, by_url, reqs = net_crawl("name mismatch", web, mdir, ["--ca-cert", ca], exact=False)
            second = web.truth["origins"][1]
            wrong = {u: r for u, r in by_url.items() if u.startswith(second + "/")}
            bad = {u: r.get("error") for u, r in wrong.items()
                   if r.get("error_kind") != "tls" or tls_ips[1] not in r.get("error", "")}
            check(wrong and not bad, f"name mismatch: {second} records not refused as tls naming {tls_ips[1]}: "
                                     f"{few(bad.items())}")
            check(not any(q["origin"] == second for q in reqs), "name mismatch: a request reached the wrong name")
            first = web.truth["origins"][0]
            check(any(u.startswith(first + "/") and r.get("status") == 200 for u, r in by_url.items()) and
                  not any(r.get("error_kind") == "tls" for u, r in by_url.items() if not u.startswith(second + "/")),
                  f"name mismatch: the matching https origin {first} was not crawled cleanly")
            print(f"  name mismatch: {len(wrong)} records, e.g. {next(iter(wrong.values()), {}).get('error')}")
        finally:
            web.stop()
    else:
        check(False, "name mismatch: not run, the time budget is spent")

    # Bad --ca-cert: one line, exit 2.
    rc, so, se, _ = mpirun(["--out-dir", os.path.join(workdir, "bad"), "--ca-cert", os.path.join(workdir, "nope.pem"),
                            "http://127.0.0.2:1/"], timeout=min(30.0, remaining()))
    one_line("--ca-cert missing", rc, se, 2, "--ca-cert")
    rc, so, se, _ = mpirun(["--out-dir", os.path.join(workdir, "bad"), "http://127.0.0.2:1/"],
                           timeout=min(30.0, remaining()), env={"CURL_CA_BUNDLE": key})
    one_line("CURL_CA_BUNDLE without a certificate", rc, se, 2, "CURL_CA_BUNDLE")
    if len(failures) == ok_before and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"  (work directory kept: {workdir})")


PDF_BYTES = 4 << 20


def scenario_accept_types():
    workdir = tempfile.mkdtemp(prefix=f"crawl-types-{args.ranks}r-")
    ok_before = len(failures)
    # Every origin's "/" and its /large.pdf (4 MiB, linked from nowhere) are seeds.
    web = net_web(workdir, seed_paths=("/", "/large.pdf"))
    try:
        truth_status = {x["url"]: x["status"] for x in web.truth["fetched"]}
        pdfs = [u for u in truth_status if u.endswith("/large.pdf")]
        # (host index 2's robots.txt answers 500: its seeds are blocked)
        check(len(pdfs) == NET_HOSTS, f"accept-types web: fetched PDFs {pdfs}")
        _, _, all_types, _ = net_crawl("every type", web, workdir, [])
        check(all(all_types.get(u, {}).get("bytes") == PDF_BYTES for u in pdfs),
              f"every type: /large.pdf bytes {[all_types.get(u, {}).get('bytes') for u in pdfs]}, want {PDF_BYTES}")
        for name, types in (("--accept-types text/html", "text/html"),
                            ("--accept-types text/*,application/xhtml+xml", "TEXT/*, application/xhtml+xml")):
            # exact: the same URLs, statuses, depths, links and requests as a crawl of every type
            _, _, by_url, reqs = net_crawl(name, web, workdir, ["--accept-types", types])
            html_only = types == "text/html"
            stopped = {u for u, r in by_url.items() if r.get("error_kind") == "type_not_accepted"}
            want = {u for u, r in all_types.items() if r.get("status") == 200 and
                    not r.get("content_type", "").startswith("text/html") and
                    (html_only or not r.get("content_type", "").startswith("text/"))}
            check(stopped == want and set(pdfs) <= stopped,
                  f"{name}: type_not_accepted for {few(stopped)}, want {few(want)}")
            bad = {u: (by_url[u].get("bytes"), by_url[u].get("content_type"), by_url[u].get("error"))
                   for u in stopped if by_url[u].get("bytes") != 0 or by_url[u].get("status") != 200
                   or by_url[u].get("content_type") != all_types[u].get("content_type")
                   or by_url[u].get("content_type", "?") not in by_url[u].get("error", "")}
            check(not bad, f"{name}: stopped records (bytes, type, error): {few(bad.items())}")
            # Body bytes, too_large pages left out (where curl stops them varies from run to run):
            # the same as a crawl of every type, but for the stopped responses.
            def body_bytes(recs):
                return sum(r.get("bytes", 0) for r in recs.values() if r.get("error_kind") != "too_large")

            total, before = body_bytes(by_url), body_bytes(all_types)
            saved = sum(all_types[u].get("bytes", 0) for u in stopped)
            check(total == before - saved and saved >= len(pdfs) * PDF_BYTES,
                  f"{name}: {total} body bytes received, {before} for every type, {saved} in the stopped types")
            print(f"  {name}: {len(stopped)} responses stopped after the headers; body bytes {total} "
                  f"(every type: {before})", flush=True)
        rc, so, se, _ = mpirun(["--out-dir", os.path.join(workdir, "bad"), "--accept-types", "html",
                                web.truth["seeds"][0]], timeout=min(30.0, remaining()))
        one_line("--accept-types html", rc, se, 2, "--accept-types")
    finally:
        web.stop()
    if len(failures) == ok_before and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"  (work directory kept: {workdir})")


def scenario_sitemaps():
    """The web serves sitemaps (robots.txt-named index, a gzipped one, a malformed one, a
    missing one, /sitemap.xml on an origin without robots.txt) and orphan pages only they list.
    With --sitemaps the crawl is exact against the truth that reads them (sitemap requests
    checked too); without, exact against the truth without them: nothing changes. At depths 0
    (sitemap URLs are seeds of depth 0 whatever --max-depth says) and 2, first seed and all."""
    for seeds_mode, depth in (("first", 2), ("all", 2), ("all", 0)):
        name = f"--sitemaps, {seeds_mode} seed(s), depth {depth}"

        def post(truth, reqs, name=name):
            orphans = [x["url"] for x in truth["fetched"] if "/orphan/" in x["url"]]
            check(orphans, f"{name}: the truth fetches no orphan page: the web's sitemaps are not exercised")
            check(any("broken.xml" in x["url"] for x in truth["sitemaps"]) and
                  not any(x["url"].endswith("/orphan/7") for x in truth["fetched"]),
                  f"{name}: the malformed sitemap was not requested, or its URL counted")
            check(any(x["url"].endswith(".xml.gz") and x["status"] == 200 for x in truth["sitemaps"]) and
                  any(x["url"].endswith("/orphan/5") and x["depth"] == 0 for x in truth["fetched"]),
                  f"{name}: the gzipped sitemap's URLs are not seeds of depth 0")
            print(f"  {len(truth['sitemaps'])} sitemap requests, {len(orphans)} orphan pages", flush=True)

        crawl(name, ["--sitemaps", "--crawl-sitemaps"], seeds_mode, depth, ["--delay", "0", "--sitemaps"], post=post)
    name = "no --sitemaps, all seeds, depth 2"

    def post_plain(truth, reqs):
        check(not truth["sitemaps"], f"{name}: the truth lists sitemap requests")
        odd = [q["target"] for q in reqs if "sitemap" in q["target"] or "/orphan/" in q["target"]]
        check(not odd, f"{name}: sitemaps or orphans requested without --sitemaps: {few(odd)}")

    crawl(name, ["--sitemaps"], "all", 2, ["--delay", "0"], post=post_plain)


def scenario_frontier_memory():
    # --frontier-memory 1: every host queue beyond its front goes to the spill file in chunks of
    # a few entries, and the crawl is the exact crawl all the same (depths, once each, politely).
    for seeds_mode in ("first", "all"):
        name = f"{seeds_mode} seed(s), --frontier-memory 1"
        crawl(name, ["--crawl-delay", "0.2"], seeds_mode, 4, ["--delay", "0", "--frontier-memory", "1"],
              post=lambda truth, reqs: politeness(name, reqs, 0.0, {truth["origins"][3]}, 0.2))


def du(path):
    """Bytes of the regular files under path."""
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def vm_hwm_kb(pid):
    """Peak RSS (VmHWM) of a live process in KiB, 0 when unreadable."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("VmHWM:")), 0)
    except OSError:
        return 0


class RssTrace:
    """Samples, once a second while a crawl runs, each rank's peak RSS so far (VmHWM) and the
    records rank 0 has written to pages.jsonl: the crawling ranks' memory against the crawl's
    progress, read from /proc (independent of the crawler's own figures). The rank processes are
    those whose command line holds `marker` (the crawl's --out-dir); their rank, from Open
    MPI's OMPI_COMM_WORLD_RANK."""

    def __init__(self, marker, pages_path):
        self.marker, self.pages_path = marker.encode(), pages_path
        self.samples = []  # (pages written, {rank: VmHWM KiB})
        self._ranks = {}  # pid -> rank
        self._lines, self._offsets = 0, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()

    def _count_pages(self):
        # With --output-shards the records are in the crawling ranks' shards until the end.
        for path in record_files(os.path.dirname(self.pages_path)):
            try:
                with open(path, "rb") as f:
                    f.seek(self._offsets.get(path, 0))
                    data = f.read()
            except OSError:
                continue
            self._offsets[path] = self._offsets.get(path, 0) + len(data)
            self._lines += data.count(b"\n")
        return self._lines

    def _find_ranks(self):
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) in self._ranks:
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if self.marker not in f.read():
                        continue
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
            except OSError:
                continue
            if b"OMPI_COMM_WORLD_RANK" in env:
                self._ranks[int(pid)] = int(env[b"OMPI_COMM_WORLD_RANK"])

    def _run(self):
        while not self._stop.wait(1.0):
            if len(self._ranks) < args.ranks:
                self._find_ranks()
            hwm = {rank: vm_hwm_kb(pid) for pid, rank in self._ranks.items()}
            hwm = {rank: kb for rank, kb in hwm.items() if kb > 0}
            if hwm:
                self.samples.append((self._count_pages(), hwm))

    def by_tenth(self, total):
        """For each crawling rank, its peak RSS (MiB) when the crawl had written 1/10, 2/10, ...
        of `total` pages (the last: the last sample), and its growth from the first tenth on."""
        out = {}
        for rank in range(1, args.ranks):
            series = [(pages, hwm[rank]) for pages, hwm in self.samples if rank in hwm]
            if not series:
                continue
            row = []
            for k in range(1, 11):
                at = next((kb for pages, kb in series if pages >= total * k / 10), series[-1][1])
                row.append(round(at / 1024, 1))
            row[-1] = round(series[-1][1] / 1024, 1)
            out[rank] = row
        return out


def decile_rates(out):
    """pages/s in each tenth of the crawl: pages.jsonl's records in fetched_at order, cut into ten
    equal runs, each run's pages over the time from its first fetch to the next run's first."""
    times = []
    with open(os.path.join(out, "pages.jsonl")) as f:
        for line in f:
            ts = json.loads(line).get("fetched_at")
            if ts:
                times.append(datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp())
    times.sort()
    n = len(times)
    if n < 20:
        return []
    cuts = [n * i // 10 for i in range(11)]
    rates = []
    for i in range(10):
        start, end = times[cuts[i]], times[min(cuts[i + 1], n - 1)]
        rates.append((cuts[i + 1] - cuts[i]) / max(end - start, 1e-3))
    return rates


def scenario_scale():
    """A crawl of (hosts + 1) x pages-per-host pages at --delay 0, every origin's "/" a seed: exact
    against the truth and the access log, with its figures (pages/s, per-rank peak RSS and CPU,
    rank 0's CPU per 1,000 pages, disk use, pages/s per tenth of the crawl)."""
    hosts, per_host = args.hosts, args.pages_per_host
    name = f"scale: {hosts + 1} origins x {per_host} pages"
    workdir = tempfile.mkdtemp(prefix=f"crawl-scale-{args.ranks}r-")
    out = os.path.join(workdir, "out")
    max_depth = per_host  # page k of an origin is at most k links from its "/"
    seeds = [f"http://{a}:PORT/" for a in host_addresses(hosts)] + ["http://127.0.0.2:PORT1/"]
    t0 = time.monotonic()
    # --crawl-delay 0: host index 3's robots.txt would otherwise hold its pages 0.2 s apart, and
    # that one origin would be the crawl's tail.
    web = TestWeb(workdir, ["--hosts", str(hosts), "--pages", str(per_host), "--no-specials", "--crawl-delay", "0"],
                  seeds=seeds, max_depth=max_depth, timeout=max(20.0, remaining() / 3))
    web_start = time.monotonic() - t0
    truth = web.truth
    total = len(truth["fetched"])
    print(f"{name}: the web serves and its truth is read after {web_start:.1f} s: {total} pages, "
          f"{len(truth['edges'])} edges", flush=True)
    # Every page of every origin, but those robots.txt forbids: all of host index 2's (its robots.txt
    # answers 500) and host index 3's /p/1* ("Disallow: /p/1").
    want = (hosts + 1) * per_host - per_host - sum(1 for k in range(1, per_host) if str(k).startswith("1"))
    check(total == want, f"{name}: the truth fetches {total} pages, want {want}")
    seeds_file = os.path.join(workdir, "seeds.txt")
    with open(seeds_file, "w") as f:
        f.write("\n".join(truth["seeds"]) + "\n")
    trace = RssTrace(out, os.path.join(out, "pages.jsonl"))
    try:
        rc, _, se, secs = mpirun(["--out-dir", out, "--quiet", "--max-depth", str(max_depth), "--delay", "0",
                                  # 8 MiB of frontier per rank: the rest spills to disk, so a
                                  # crawling rank's memory is the seen-set's and the hosts'
                                  "--frontier-memory", str(8 << 20),
                                  "--seeds", seeds_file] + NO_RETRIES, timeout=remaining() - 10)
        web_rss = vm_hwm_kb(web.proc.pid)
    finally:
        trace.stop()
        web.stop()
    print(f"{name}: exit {rc}, {secs:.1f} s", flush=True)
    if rc is None:
        check(False, f"{name}: hung: killed after {secs:.0f} s; stderr: {se[-2000:]}")
        return
    if rc != 0 and se:
        print(se[-3000:])
    t1 = time.monotonic()
    verify(name, truth, rc, out, web.log)
    print(f"{name}: checked against the truth and the access log in {time.monotonic() - t1:.1f} s", flush=True)
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    ranks = sorted(summary.get("ranks", []), key=lambda r: r.get("rank", 0))
    rates = decile_rates(out)
    figures = {"origins": hosts + 1, "pages": summary.get("pages"), "crawl_s": round(summary.get("seconds", 0), 2),
               "pages_per_s": round(summary.get("pages_per_s", 0)),
               "peak_rss_mib": [round(r.get("peak_rss_kb", 0) / 1024, 1) for r in ranks],
               "cpu_s": [round(r.get("cpu_s", 0), 2) for r in ranks],
               "seen_urls": [r.get("seen_urls", 0) for r in ranks[1:]],
               "seen_mib": [round(r.get("seen_bytes", 0) / 2**20, 1) for r in ranks[1:]],
               "frontier_spilled": [r.get("frontier_spilled", 0) for r in ranks[1:]],
               "frontier_peak_mib": [round(r.get("frontier_peak_bytes", 0) / 2**20, 2) for r in ranks[1:]],
               "master_cpu_s_per_1000_pages": round(summary.get("master_cpu_s_per_1000_pages", 0), 4),
               "out_dir_mib": round(du(out) / 2**20, 1), "testweb_start_s": round(web_start, 1),
               "testweb_peak_rss_mib": round(web_rss / 1024, 1),
               "decile_pages_per_s": [round(r) for r in rates]}
    # Each crawling rank's peak RSS at each tenth of the pages written (/proc, once a second).
    tenths = trace.by_tenth(total)
    figures["peak_rss_mib_by_tenth"] = {str(rank): row for rank, row in tenths.items()}
    figures["peak_rss_growth_mib"] = {str(rank): round(row[-1] - row[0], 1) for rank, row in tenths.items()}
    print("figures: " + json.dumps(figures), flush=True)
    check(all("cpu_s" in r and r["cpu_s"] > 0 for r in ranks), f"{name}: a rank row without its cpu_s: {ranks}")
    check(summary.get("master_cpu_s_per_1000_pages", 0) > 0, f"{name}: no master_cpu_s_per_1000_pages")
    check(all(r.get("frontier_peak_bytes", 0) >= max(1, r.get("frontier_bytes", 0)) for r in ranks[1:]),
          f"{name}: a crawling rank's frontier_peak_bytes is missing or below its frontier_bytes: {ranks[1:]}")
    check(len(rates) == 10, f"{name}: {len(rates)} deciles of fetched_at")
    if args.max_decile_ratio > 0 and len(rates) == 10:
        # Generous: a shared 2-core machine. A step linear in the crawl's size per page would
        # make the last tenth several times slower than the first.
        check(rates[-1] * args.max_decile_ratio >= rates[0],
              f"{name}: the last tenth of the crawl ran at {rates[-1]:.0f} pages/s, the first at {rates[0]:.0f}: "
              f"more than {args.max_decile_ratio}x slower")
    if args.max_crawler_rss_mib > 0:
        # Crawling ranks only: rank 0 holds no seen-set or frontier.
        peaks = [r.get("peak_rss_kb", 0) / 1024 for r in ranks[1:]]
        check(peaks and all(0 < p <= args.max_crawler_rss_mib for p in peaks),
              f"{name}: crawling ranks' peak RSS {[round(p, 1) for p in peaks]} MiB, the bound is "
              f"{args.max_crawler_rss_mib} MiB")
    if args.max_rss_growth_mib > 0:
        # Flat: what a crawling rank holds once the crawl is under way does not grow with it
        # (beyond the seen-set's and page index's ~35 bytes per URL, docs/scale.md).
        check(len(tenths) == args.ranks - 1 and len(trace.samples) >= 10,
              f"{name}: RSS traced for ranks {sorted(tenths)} in {len(trace.samples)} samples")
        for rank, row in tenths.items():
            check(row[-1] - row[0] <= args.max_rss_growth_mib,
                  f"{name}: rank {rank}'s peak RSS grew {row[-1] - row[0]:.1f} MiB from the first tenth of the "
                  f"crawl to its end ({row}), the bound is {args.max_rss_growth_mib} MiB")
    if not failures and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"  (work directory kept: {workdir})")


try:
    {"one_seed": lambda: scenario_full("first"), "all_seeds": lambda: scenario_full("all"),
     "politeness": scenario_politeness, "bad_input": scenario_bad_input,
     "max_pages": scenario_max_pages, "unreachable": scenario_unreachable, "user_agent": scenario_user_agent,
     "resume_kill": scenario_resume_kill, "resume_sigterm": scenario_resume_sigterm,
     "resume_slices": scenario_resume_slices,
     "proxy": scenario_proxy, "https": scenario_https, "accept_types": scenario_accept_types,
     "overwrite": scenario_overwrite, "sitemaps": scenario_sitemaps,
     "retries": scenario_retries, "warc": scenario_warc,
     "frontier_memory": scenario_frontier_memory, "scale": scenario_scale,
     "start_stop": scenario_start_stop}[args.scenario]()
except Exception as e:  # a broken checker or web must fail the test, not pass it
    import traceback
    traceback.print_exc()
    check(False, f"checker error: {e!r}")
finally:
    rt.cleanup()

print(f"{'ok' if not failures else 'FAILED'}: {args.scenario} at {args.ranks} ranks, {len(failures)} failures, "
      f"{time.monotonic() - START:.1f} s")
sys.exit(1 if failures else 0)
