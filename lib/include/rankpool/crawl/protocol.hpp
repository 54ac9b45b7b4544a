#pragma once
// The distributed crawler's messages: every tag and message that crosses a rank boundary
// in rankpool-crawl. Hot messages (Urls, Records, Idle, ProbeReply, ...) are flat buffers
// written with the byte codec (runtime/bytes.hpp) from the records' descriptions; cold ones
// (Start, the Final report's payload) use Boost.Serialization. Every decoder rejects truncated
// and trailing input (runtime::DecodeError). The crawler's own tags start at 32 so they never
// meet the farm's (farm/protocol.hpp), although each runs on its own communicator; Finish and
// Final are the runtime's stop protocol (runtime/stop.hpp), the same wire format in every app.
//
// The conversation (W = crawling workers: ranks 1..N-1, or rank 0 itself when N = 1):
//   master -> all    Start        the job (or the setup error that ends the run)
//   master -> owner  Urls         seeds, at depth 0
//   worker -> owner  Urls         discovered URLs owned by another worker, batched
//   worker -> master Records      pages.jsonl records, links.tsv lines, queue status
//   worker -> master PermitRequest / master -> worker Permits   (only with --max-pages)
//   worker -> master Idle         nothing left to do: counts of Urls messages sent/received
//   master -> all    Probe        termination check; every worker answers ProbeReply
//   worker -> master Interrupt    this rank got SIGINT/SIGTERM
//   master -> all    Finish       stop (runtime::StopMessage); every worker answers Final
//                                 (runtime::RankReport carrying a CrawlReport: statistics, depth fixes)

#include <boost/describe/class.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rankpool/crawl/engine.hpp"
#include "rankpool/crawl/options.hpp"
#include "rankpool/runtime/stop.hpp"

namespace rankpool::crawl {

// 4: PageRecord's audit fields (fetched_at ... etag) and UrlAtDepth's referrer, after 3's
// attempts and retried.
inline constexpr std::uint32_t kCrawlProtocolVersion = 4;

enum class CrawlTag : int {
  Start = 32,
  Urls,
  Records,
  PermitRequest,
  Permits,
  Idle,
  Probe,
  ProbeReply,
  Interrupt,
  Finish = runtime::kStopTag,   // a runtime::StopMessage (the signal, if any)
  Final = runtime::kReportTag,  // a runtime::RankReport whose payload is a CrawlReport
};
const char* to_string(CrawlTag tag);

struct StartMessage {
  std::uint32_t protocol_version = kCrawlProtocolVersion;
  std::string error;  // non-empty: the run ends before it starts
  CrawlOptions options;
  std::vector<std::string> seeds;  // canonical
  // The host assignment: these origins go to these worker indexes (the seeds' origins,
  // dealt round-robin so that workers get equal shares); other origins by hash.
  std::vector<std::string> assigned_origins;
  std::vector<int> assigned_workers;
  std::string out_dir;  // bodies go to out_dir/bodies on each rank's host
  // A resumed crawl (checkpoint.hpp): what this worker's origins already have, loaded
  // before any URL is offered — so Start differs per worker then.
  std::vector<HostCheckpoint> hosts;  // robots.txt outcomes
  std::vector<FetchedUrl> fetched;    // URLs recorded by earlier runs
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar& protocol_version& error& options& seeds& assigned_origins& assigned_workers& out_dir& hosts& fetched;
  }
};
[[nodiscard]] std::string encode_start(const StartMessage& m);
StartMessage decode_start(std::string_view bytes);

[[nodiscard]] std::string encode_urls(const std::vector<UrlAtDepth>& urls);
std::vector<UrlAtDepth> decode_urls(std::string_view bytes);

/// A worker's queue state, for the master's progress line.
struct WorkerStatus {
  std::uint64_t queued = 0;
  std::uint32_t in_flight = 0;
  std::uint32_t active_hosts = 0;
  bool operator==(const WorkerStatus&) const = default;
};
BOOST_DESCRIBE_STRUCT(WorkerStatus, (), (queued, in_flight, active_hosts))
struct RecordsMessage {
  WorkerStatus status;
  std::vector<PageRecord> records;
  std::string edges;                  // links.tsv lines
  std::vector<HostCheckpoint> hosts;  // robots.txt outcomes that became final (for the checkpoint)
  bool operator==(const RecordsMessage&) const = default;
};
BOOST_DESCRIBE_STRUCT(RecordsMessage, (), (status, records, edges, hosts))
[[nodiscard]] std::string encode_records(const RecordsMessage& m);
RecordsMessage decode_records(std::string_view bytes);

/// Idle and ProbeReply: how many Urls messages this worker has sent and received so far.
struct Counters {
  std::uint64_t probe = 0;  // ProbeReply: the probe answered
  bool idle = false;        // ProbeReply: idle right now
  std::uint64_t sent = 0, received = 0;
  std::uint64_t returned_permits = 0;  // Idle: unspent permits handed back
  bool operator==(const Counters&) const = default;
};
BOOST_DESCRIBE_STRUCT(Counters, (), (probe, idle, sent, received, returned_permits))
[[nodiscard]] std::string encode_counters(const Counters& c);
Counters decode_counters(std::string_view bytes);

[[nodiscard]] std::string encode_u64(std::uint64_t v);  // Probe, Permits, Interrupt (signal number)
std::uint64_t decode_u64(std::string_view bytes);

/// Final's payload (the runtime's RankReport says who and how long): one worker's figures
/// at the end of the run.
struct CrawlReport {
  EngineStats engine;
  std::vector<HostStats> hosts;
  std::vector<std::pair<std::string, int>> depth_fixes;
  std::uint64_t urls_msgs_sent = 0, urls_msgs_received = 0, urls_sent = 0, urls_received = 0;
  std::uint64_t bytes_sent = 0, bytes_received = 0;
  long peak_rss_kb = 0;
  double cpu_s = 0;  // user + system CPU seconds of the rank's process
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    describe_serialize(ar, *this);
  }
};
BOOST_DESCRIBE_STRUCT(CrawlReport, (),
                      (engine, hosts, depth_fixes, urls_msgs_sent, urls_msgs_received, urls_sent, urls_received,
                       bytes_sent, bytes_received, peak_rss_kb, cpu_s))
[[nodiscard]] std::string encode_crawl_report(const CrawlReport& r);
CrawlReport decode_crawl_report(std::string_view bytes);

}  // namespace rankpool::crawl
