#!/usr/bin/env bash
# Benchmark of rankpool-crawl at 2 and 3 ranks against a Scrapy baseline on the synthetic web
# (8 hosts + 1 extra origin x 2500 pages), with and without 50 ms of emulated latency:
# pages/s, links/s, peak RSS per rank, and recall, duplicate and out-of-scope/disallowed
# requests as the test web's access log witnesses them.
#   scripts/bench-crawl.sh [--pages-per-host N] [--hosts N] [--latency-ms "0 50"] [--ranks "2 3"]
#                          [--skip-scrapy] [--skip-rankpool] [--keep DIR]     (--help for all)
# The defaults take about 14 minutes on 2 cores (Scrapy's two crawls are 9 of them);
# --pages-per-host 500 about 3. Scrapy: apt-get install -y python3-scrapy.
# The driver (scripts/crawl_bench.py) stops every process it started when it exits.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
exec python3 "$RANKPOOL_ROOT/scripts/crawl_bench.py" "$@"
