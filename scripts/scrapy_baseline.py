#!/usr/bin/env python3
"""Scrapy baseline for scripts/crawl_bench.py: the crawl rankpool-crawl does, done by Scrapy.

    python3 scripts/scrapy_baseline.py --summary FILE [--concurrency 64] [--links xpath] SEED_URL...

Crawls from the seeds with no depth limit, following only <a href> / <area href> links whose
origin (scheme://host:port) is one of the seeds' origins, obeying robots.txt, one request in
flight per origin and no delay -- the settings rankpool-crawl runs with in the benchmark.
Writes FILE as JSON: {"pages", "links", "seconds", "pages_per_s", "links_per_s",
"peak_rss_kb", "scrapy", "finish_reason", "stats"}. "pages" is Scrapy's own count; the
benchmark counts fetches from the server's access log instead, which is the witness.

Needs Scrapy (Debian: apt-get install python3-scrapy, which installs into /usr/bin/python3's
path, not into a pyenv or venv interpreter). Written against Scrapy 2.8.
"""
import argparse
import json
import resource
import sys
import time
from urllib.parse import urldefrag, urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.http import HtmlResponse
from scrapy.linkextractors import LinkExtractor

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url):
    """"http://127.0.0.2:8080" for any URL of that origin; None when it has no usable origin.

    Scope is decided on the full origin because the synthetic web's origins share host names
    and differ only by port (127.0.0.2:P and 127.0.0.2:P+1): Scrapy's allowed_domains and
    OffsiteMiddleware compare host names only and would let the wrong port through.
    """
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # a malformed port
        return None
    if not parts.hostname or port is None:
        return None
    return f"{parts.scheme}://{parts.hostname}:{port}"


class SyntheticWebSpider(scrapy.Spider):
    name = "rankpool-baseline"

    def __init__(self, seeds, links="extractor", **kwargs):
        super().__init__(**kwargs)
        self.seeds = list(seeds)
        self.use_extractor = links == "extractor"
        self.scope = {origin_of(u) for u in self.seeds}
        # The same links rankpool-crawl follows by default: <a href> and <area href> only.
        # deny_extensions=[]: Scrapy skips URLs ending in .png, .pdf, ... by default, which a
        # crawler that decides by Content-Type does fetch; the benchmark compares like with like.
        self.extractor = LinkExtractor(tags=("a", "area"), attrs=("href",), deny_extensions=[])
        self.pages_parsed = 0
        self.link_count = 0
        self.started = None
        self.finished = None

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._opened, signal=signals.spider_opened)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        return spider

    def _opened(self, spider):
        self.started = time.monotonic()

    def _closed(self, spider, reason):
        self.finished = time.monotonic()

    def _request(self, url):
        # Scrapy's per-domain limit keys its download slots on the host name, so the two
        # origins of 127.0.0.2 would share one slot. rankpool limits per origin; one slot per
        # origin gives Scrapy the same parallelism (CONCURRENT_REQUESTS_PER_DOMAIN per slot).
        return scrapy.Request(url, callback=self.parse, meta={"download_slot": origin_of(url)})

    def start_requests(self):
        for url in self.seeds:
            yield self._request(url)

    def parse(self, response):
        # Only HTML is parsed (HttpErrorMiddleware already dropped non-2xx responses).
        if not isinstance(response, HtmlResponse):
            return
        self.pages_parsed += 1
        # Distinct targets per page, fragments dropped: what links.tsv counts for rankpool.
        if self.use_extractor:
            targets = {urldefrag(link.url)[0] for link in self.extractor.extract_links(response)}
        else:
            # The same links without LinkExtractor's per-link canonicalization (about 25%
            # faster on this web); response.urljoin honours <base href> as well.
            hrefs = response.xpath("//a/@href | //area/@href").getall()
            targets = {urldefrag(response.urljoin(h.strip()))[0] for h in hrefs}
            targets = {t for t in targets if t.startswith(("http://", "https://"))}
        self.link_count += len(targets)
        for url in targets:
            if origin_of(url) in self.scope:
                yield self._request(url)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seeds", nargs="+", metavar="SEED_URL")
    parser.add_argument("--summary", required=True, help="write the JSON summary here")
    parser.add_argument("--concurrency", type=int, default=64, help="CONCURRENT_REQUESTS")
    parser.add_argument("--links", choices=("extractor", "xpath"), default="extractor",
                        help="link extraction: Scrapy's LinkExtractor (default) or a plain XPath")
    args = parser.parse_args()

    settings = {
        "CONCURRENT_REQUESTS": args.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,  # rankpool-crawl's default --per-host-connections
        "DOWNLOAD_DELAY": 0,                  # the benchmark runs rankpool with --delay 0
        "ROBOTSTXT_OBEY": True,
        "DEPTH_LIMIT": 0,                     # unlimited, as --max-depth -1
        "RETRY_ENABLED": False,               # rankpool does not retry either
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,       # no listening port of our own
        # Silences 2.7+'s deprecation warning; the fingerprint only matters for dedup,
        # and both implementations canonicalize URLs the same way for plain GETs.
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    }
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(SyntheticWebSpider)
    process.crawl(crawler, seeds=args.seeds, links=args.links)
    process.start()  # blocks until the crawl ends (or a signal stops it)

    spider = crawler.spider
    stats = crawler.stats.get_stats()
    robots = sum(v for k, v in stats.items() if k.startswith("robotstxt/response_count"))
    pages = stats.get("response_received_count", 0) - robots
    seconds = (spider.finished or time.monotonic()) - (spider.started or time.monotonic())
    summary = {
        "pages": pages,
        "links": spider.link_count,
        "pages_parsed": spider.pages_parsed,
        "seconds": seconds,
        "pages_per_s": pages / seconds if seconds > 0 else 0.0,
        "links_per_s": spider.link_count / seconds if seconds > 0 else 0.0,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,  # KiB on Linux
        "scrapy": scrapy.__version__,
        "link_extraction": args.links,
        "finish_reason": stats.get("finish_reason"),
        # JSON-safe subset of Scrapy's stats (it also holds datetimes).
        "stats": {k: v for k, v in sorted(stats.items()) if isinstance(v, (int, float, str))},
    }
    with open(args.summary, "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    return 0 if summary["finish_reason"] == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())
