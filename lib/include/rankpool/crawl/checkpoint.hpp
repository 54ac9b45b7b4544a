#pragma once
// Checkpoint and resume of a crawl (rankpool-crawl --resume).
//
// The crawl's flushed outputs are its write-ahead log, as Heritrix's recovery journal is:
//   pages.jsonl  the seen-and-fetched set: one line per URL whose record reached the master;
//   links.tsv    every out-link of those pages (written and flushed before their records,
//                so a record in pages.jsonl means its links are on disk);
// and from them a resume rebuilds the frontier (seeds + followable links of fetched pages
// not fetched yet, redirect targets included) with exact shortest depths (0-1 BFS: a
// link costs 1, a redirect 0). What the logs do not hold goes into OUT/checkpoint.json,
// small and written atomically (temp file, fsync, rename): each origin's robots.txt
// outcome (so it is not fetched again), counters, the run count, whether the crawl
// completed, and a fingerprint of the seeds and of the options that decide which URLs are
// crawled — a resume with other ones would mix two crawls and is refused.
//
// With --output-shards the crawling ranks write their own shards of the two logs
// (OUT/shards/, the same formats and order); a resume appends what a killed run left there to
// pages.jsonl and links.tsv before it reads them.
//
// URLs fetched but not recorded when the run died (in flight, or in a batch that had not
// reached the master) are simply fetched again; pages.jsonl still holds each URL once.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "rankpool/crawl/engine.hpp"
#include "rankpool/crawl/options.hpp"
#include "rankpool/crawl/records.hpp"
#include "rankpool/status.hpp"

namespace rankpool::crawl {

/// What checkpoint.json holds besides the fingerprint (which write_checkpoint derives
/// from the options and seeds).
struct Checkpoint {
  int runs = 0;                      // runs that started on this output directory
  bool complete = false;             // the last run ended by itself: nothing is left to crawl
  bool interrupted = false;          // the last run was stopped by a signal
  std::uint64_t pages = 0;           // records in pages.jsonl when written (informational)
  std::uint64_t robots_fetches = 0;  // over all runs, as far as known at the write
  std::vector<HostCheckpoint> hosts;
};

/// Writes OUT/checkpoint.json atomically (a crash leaves the old file or the new one,
/// never a torn one).
[[nodiscard]] Status write_checkpoint(const std::string& out_dir, const CrawlOptions& options,
                                      const std::vector<std::string>& seeds, const Checkpoint& checkpoint);

/// fsync(2) of the file at `path`: its data survives a crash of the machine, not only of
/// the process.
[[nodiscard]] Status sync_file(const std::string& path);

/// Puts the finished file `tmp` in place of `path` so that a crash of the machine leaves
/// one or the other: fsync of `tmp`, rename, fsync of the directory.
[[nodiscard]] Status replace_file(const std::string& tmp, const std::string& path);

/// Everything a resumed crawl starts from.
struct ResumeState {
  Checkpoint checkpoint;
  std::vector<FetchedUrl> fetched;                // every URL in pages.jsonl, once
  std::vector<UrlAtDepth> frontier;               // reached, within max_depth, not fetched yet
  std::uint64_t pages = 0, links = 0, bytes = 0;  // what the logs hold
  std::map<std::string, std::uint64_t> by_status, by_error;
  std::map<std::string, std::uint64_t> retries;  // the records' retried attempts by cause
  bool torn_pages_line = false;                  // pages.jsonl ended in a partial line (cut off)
  std::uint64_t dropped_link_lines = 0;          // links.tsv lines of unrecorded pages, or torn (removed)
};

/// Reads OUT/checkpoint.json, pages.jsonl and links.tsv and rebuilds the crawl's state
/// for `options` and `seeds` (canonical). Repairs what a kill leaves behind: a torn last
/// line of pages.jsonl is cut off; links.tsv lines whose page has no record (or torn) are
/// removed (the page is fetched again and writes them again). Fails with a one-line
/// reason: no checkpoint, a corrupt file, other seeds or options.
[[nodiscard]] Result<ResumeState> load_resume(const std::string& out_dir, const CrawlOptions& options,
                                              const std::vector<std::string>& seeds);

}  // namespace rankpool::crawl
