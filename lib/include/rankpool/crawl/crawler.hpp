#pragma once
// The distributed crawler: engines on worker ranks, partitioned by origin, coordinated by
// the master over a runtime::Mesh (MPI in production, LocalMesh in tests).
//
//  * Partitioning: every origin has exactly one owning worker — the seeds' origins dealt
//    round-robin by the master (equal shares, as scattered in Start), any other origin by
//    a stable hash — so politeness, robots.txt, connection reuse and the seen-set stay
//    local to one rank. A worker keeps the links it owns and sends the rest to their
//    owners in batches, with nonblocking sends: fetching never waits on a send.
//  * Termination: a worker reports Idle with the number of URL messages it has sent and
//    received; when every worker is idle and the sums match, the master probes all of
//    them and ends the crawl only if every answer is still idle with unchanged counts
//    (Mattern's four-counter method: no URL can be in flight unnoticed).
//  * Output: records and link lines travel to the master in batches, which writes
//    pages.jsonl and links.tsv as they come and summary.json at the end; page bodies never
//    cross ranks (--save-bodies writes them where they were fetched).
//  * Stop: SIGINT/SIGTERM on any rank (mpirun forwards them) ends the run on every rank:
//    what was fetched is written, the checkpoint too, and the outcome says interrupted.
//  * Checkpoint and resume (checkpoint.hpp): the master writes OUT/checkpoint.json at the
//    start, every checkpoint_interval when it changed, at a signal and at the end; links
//    are flushed before the records of their pages, so the logs are a write-ahead log.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rankpool/crawl/checkpoint.hpp"
#include "rankpool/crawl/fetcher.hpp"
#include "rankpool/crawl/options.hpp"
#include "rankpool/runtime/mesh.hpp"

namespace rankpool::crawl {

struct CrawlJob {
  CrawlOptions options;
  std::vector<std::string> seeds;  // canonical (normalize()d) http(s) URLs, at least one
  std::string out_dir;             // exists and is writable on the master's host
  // --resume: the state load_resume() rebuilt from out_dir (checkpoint.hpp); the run
  // appends to the outputs and fetches only the frontier. Null: a fresh crawl, which
  // truncates the outputs.
  std::shared_ptr<const ResumeState> resume;
};

/// How a rank's part of the run ended; the same exit_code on every rank.
struct CrawlOutcome {
  int exit_code = 0;  // 0 done; 2 setup error; 128+signal when interrupted
  std::string error;  // setup error or failure, one line
  bool interrupted = false;
  std::uint64_t pages = 0;  // master: records written
  double seconds = 0;       // master: wall time of the crawl
};

using FetcherFactory = std::function<std::unique_ptr<Fetcher>(const CrawlOptions&)>;
/// The libcurl fetcher configured from the crawl options.
FetcherFactory curl_fetcher_factory();
FetchOptions fetch_options_for(const CrawlOptions& options);

/// Collective over the mesh: every rank calls it. Rank 0 passes the job, or a setup error
/// in `setup_error` (then the job is ignored and every rank returns exit code 2 with that
/// error); other ranks' `job` and `setup_error` are ignored. `interrupt`, when not null,
/// holds the number of a signal that asks this rank to stop (0 = none); it is polled.
CrawlOutcome run_crawl(runtime::Mesh& mesh, const CrawlJob& job, const std::string& setup_error,
                       const FetcherFactory& make_fetcher, const std::atomic<int>* interrupt = nullptr);

/// What prepare_output_dir() does when `dir` already holds a crawl (crawl_files_in()).
enum class ExistingCrawl {
  refuse,     // the default: a finished crawl is never lost without a word
  overwrite,  // --overwrite: the crawl's files are removed (OUT/warc/ and OUT/bodies/ are kept)
  resume,     // --resume: the crawl is continued, nothing is removed
};

/// The files of a crawl that `dir` holds (pages.jsonl, links.tsv, checkpoint.json,
/// summary.json), by name; empty when it holds none (or does not exist).
std::vector<std::string> crawl_files_in(const std::string& dir);

/// Checks or creates `dir` and that files can be written in it. A `dir` that holds a crawl
/// is refused (nothing touched), emptied of the crawl's files, or kept, as `existing` says.
[[nodiscard]] Status prepare_output_dir(const std::string& dir, ExistingCrawl existing = ExistingCrawl::refuse);

}  // namespace rankpool::crawl
