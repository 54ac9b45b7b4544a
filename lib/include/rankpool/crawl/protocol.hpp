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
//   master -> worker Restore      a resumed crawl only: the worker's share of the restored state
//                                 (robots.txt outcomes, fetched URLs) in slices of at most
//                                 slice_bytes, then one marked done, before any URL
//   master -> owner  Urls         seeds, at depth 0
//   worker -> owner  Urls         discovered URLs owned by another worker, batched
//   worker -> master Records      pages.jsonl records, links.tsv lines, queue status (with
//                                 --output-shards the worker writes its records and lines to
//                                 its own shard files and sends only their tally)
//   worker -> master PermitRequest / master -> worker Permits   (only with --max-pages)
//   worker -> master Idle         nothing left to do: counts of Urls messages sent/received
//   master -> all    Probe        termination check; every worker answers ProbeReply
//   worker -> master Interrupt    this rank got SIGINT/SIGTERM
//   master -> all    Finish       stop (runtime::StopMessage); every worker answers with its
//                                 FinalPart slices, then Final
//   worker -> master FinalPart    the worker's per-origin rows and depth fixes, in slices of at
//                                 most slice_bytes (any number, none when it has neither)
//   worker -> master Final        runtime::RankReport carrying a CrawlReport (fixed-size figures)
//
// Start and stop over MPI (docs/scale.md, "Start-up and shutdown"): before Start every rank
// takes part in the runtime's handshake (runtime/agree.hpp: kCrawlProtocolVersion and a
// digest of the crawl options' layout, gathered to rank 0). A normal end goes down the
// runtime's broadcast tree and the Final reports come up its gather tree
// (runtime::CollectiveStop) instead of Finish and Final; after a signal the stop stays point
// to point (Finish and Final above), announced on the tree. The FinalPart slices go point to
// point either way, and a report counts the worker's messages to the master so that rank 0
// knows when it has them all.

#include <boost/describe/class.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rankpool/crawl/engine.hpp"
#include "rankpool/crawl/options.hpp"
#include "rankpool/runtime/bytes.hpp"
#include "rankpool/runtime/stop.hpp"
#include "rankpool/status.hpp"

namespace rankpool::crawl {

// 8: EngineStats' frontier_peak_bytes (in the Final report).
// 7: RecordsMessage's tally (--output-shards: the records stay in the worker's shard).
// 6: the Final report's rows and depth fixes in FinalPart slices; CrawlReport counts the
// worker's messages to the master (the gathered stop). 5: Start carries no per-URL state; a
// resume's state follows in Restore slices. After 4's
// PageRecord audit fields (fetched_at ... etag) and UrlAtDepth's referrer, 3's attempts and retried.
inline constexpr std::uint32_t kCrawlProtocolVersion = 8;

/// The one slicing rule for whatever grows with the crawl (a resume's restored state, its
/// frontier, record batches): a message holds whole items and closes before an item would
/// take it past this many bytes. 16 MiB: far below MPI's 2 GiB count limit and small next to
/// a rank's memory, yet large enough that 10^7 restored URLs take only a few hundred
/// messages. RANKPOOL_CRAWL_SLICE_BYTES (read on rank 0) sets it, for tests that need many
/// slices from a small crawl.
inline constexpr std::size_t kDefaultSliceBytes = std::size_t{16} << 20;
/// The limits RANKPOOL_CRAWL_SLICE_BYTES accepts: below 256 a slice would be mostly framing;
/// above 1 GiB it would approach MPI's limit (and a u32 count of tiny items).
inline constexpr std::size_t kMinSliceBytes = 256, kMaxSliceBytes = std::size_t{1} << 30;

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
  Restore,
  FinalPart,
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
  // A resumed crawl (checkpoint.hpp): Restore slices follow, the last one marked done, and
  // the worker offers no URL before it (peers' Urls wait). Start itself is the same for all.
  bool restoring = false;
  std::uint64_t slice_bytes = kDefaultSliceBytes;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar& protocol_version& error& options& seeds& assigned_origins& assigned_workers& out_dir& restoring& slice_bytes;
  }
};
[[nodiscard]] std::string encode_start(const StartMessage& m);
StartMessage decode_start(std::string_view bytes);

/// A slice of a resumed crawl's state for one worker: what its origins already have.
/// Slices carry either kind; a FetchedUrl whose links do not fit in one slice comes as
/// several consecutive items with the same url (the later ones carry only more children),
/// which the worker joins. `done` ends the restore (that slice carries no items).
struct RestoreSlice {
  std::vector<HostCheckpoint> hosts;  // robots.txt outcomes
  std::vector<FetchedUrl> fetched;    // URLs recorded by earlier runs
  bool done = false;
  bool operator==(const RestoreSlice&) const = default;
};
BOOST_DESCRIBE_STRUCT(RestoreSlice, (), (hosts, fetched, done))
[[nodiscard]] std::string encode_restore(const RestoreSlice& m);
RestoreSlice decode_restore(std::string_view bytes);
/// A slice as the worker takes it: truncated or trailing bytes, or more than one item past
/// `limit` bytes (the slicing rule broken), are an error naming the problem.
[[nodiscard]] Result<RestoreSlice> read_restore(std::string_view bytes, std::size_t limit);

/// The slicing rule (kDefaultSliceBytes): add() items, each encoded once; a message is sent
/// (emit) when the next item would take it past `limit`, and by finish(). A slice is the
/// byte codec's vector of items between `prefix` and `suffix` (the other fields of the
/// message), so it decodes as the message it is part of. A single item larger than the
/// limit by itself goes alone (split_fetched keeps FetchedUrl items within it).
class Slicer {
 public:
  using Emit = std::function<void(std::string)>;
  Slicer(std::size_t limit, std::string prefix, std::string suffix, Emit emit);
  template <class T>
  void add(const T& item) {
    item_.clear();
    runtime::ByteWriter(item_).write(item);
    add_encoded(item_);
  }
  /// Sends the open slice, if it holds any item.
  void finish();
  std::uint64_t slices() const { return slices_; }
  std::size_t largest() const { return largest_; }

 private:
  void add_encoded(const std::string& item);
  std::size_t limit_;
  std::string prefix_, suffix_, open_, item_;
  std::uint32_t count_ = 0;
  std::uint64_t slices_ = 0;
  std::size_t largest_ = 0;
  Emit emit_;
};

/// RANKPOOL_CRAWL_SLICE_BYTES's value as a slice limit, or a one-line reason.
[[nodiscard]] Result<std::size_t> parse_slice_bytes(std::string_view text);

/// `f` as items that each encode to at most `limit` bytes when it has many links: the first
/// carries everything and the first children, the next ones the url and more children.
/// One item if it fits (or cannot be cut smaller: a single link is never split).
std::vector<FetchedUrl> split_fetched(const FetchedUrl& f, std::size_t limit);

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
/// A count by key: an HTTP status ("200", "0"), an error kind, a retry cause.
struct KeyCount {
  std::string key;
  std::uint64_t n = 0;
  bool operator==(const KeyCount&) const = default;
};
BOOST_DESCRIBE_STRUCT(KeyCount, (), (key, n))
/// With --output-shards: what the master keeps of records that the worker wrote to its own
/// shard (the page count, for progress and the --max-pages permits, and summary.json's counts).
struct RecordTally {
  std::uint64_t pages = 0;
  std::vector<KeyCount> status, errors, retries;
  bool operator==(const RecordTally&) const = default;
};
BOOST_DESCRIBE_STRUCT(RecordTally, (), (pages, status, errors, retries))
/// The tally of `records`: their number, and their counts by status, by error kind (failures)
/// and by retry cause (each earlier attempt), keys in ascending order.
RecordTally tally_of(const std::vector<PageRecord>& records);
struct RecordsMessage {
  WorkerStatus status;
  std::vector<PageRecord> records;
  std::string edges;                  // links.tsv lines
  std::vector<HostCheckpoint> hosts;  // robots.txt outcomes that became final (for the checkpoint)
  RecordTally tally;                  // records written to the worker's shard instead (--output-shards)
  bool operator==(const RecordsMessage&) const = default;
};
BOOST_DESCRIBE_STRUCT(RecordsMessage, (), (status, records, edges, hosts, tally))
[[nodiscard]] std::string encode_records(const RecordsMessage& m);
RecordsMessage decode_records(std::string_view bytes);
/// `m` as Records messages of at most `limit` bytes each (the slicing rule): one when it
/// fits; otherwise its tally (if any) alone, then its links.tsv lines (whole lines), then its
/// records, then its robots.txt outcomes, the order the master writes them in, each part with
/// the status. A single line, record or outcome past the limit goes alone.
void slice_records(const RecordsMessage& m, std::size_t limit, const std::function<void(std::string)>& emit);

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

/// A URL recorded deeper than a path found later (Engine::depth_fixes()).
struct DepthFix {
  std::string url;
  std::int32_t depth = 0;
  bool operator==(const DepthFix&) const = default;
};
BOOST_DESCRIBE_STRUCT(DepthFix, (), (url, depth))

/// What grows with a worker's share of the crawl at its end, in slices of at most slice_bytes
/// (the slicing rule, like Restore): its per-origin rows, then its depth fixes. A slice
/// carries one kind, the other vector empty.
struct FinalSlice {
  std::vector<HostStats> hosts;
  std::vector<DepthFix> depth_fixes;
  bool operator==(const FinalSlice&) const = default;
};
BOOST_DESCRIBE_STRUCT(FinalSlice, (), (hosts, depth_fixes))
[[nodiscard]] std::string encode_final_slice(const FinalSlice& m);
/// A slice as the master takes it: truncated or trailing bytes, or more than one item past
/// `limit` bytes, are an error naming the problem.
[[nodiscard]] Result<FinalSlice> read_final_slice(std::string_view bytes, std::size_t limit);
/// `hosts` and `fixes` as FinalPart slices of at most `limit` bytes (emit each); returns the
/// number of slices.
std::uint64_t slice_final(const std::vector<HostStats>& hosts, const std::vector<std::pair<std::string, int>>& fixes,
                          std::size_t limit, const std::function<void(std::string)>& emit);

/// Final's payload (the runtime's RankReport says who and how long): one worker's figures
/// at the end of the run. Its rows and depth fixes came before it, as FinalPart slices.
struct CrawlReport {
  EngineStats engine;
  std::uint64_t hosts = 0, depth_fixes = 0, final_slices = 0;  // what its FinalPart slices carried
  std::uint64_t msgs_to_master = 0;  // every message this worker sent to rank 0 before the report
  std::uint64_t shard_pages = 0;     // --output-shards: records this worker wrote to its shard
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
                      (engine, hosts, depth_fixes, final_slices, msgs_to_master, shard_pages, urls_msgs_sent,
                       urls_msgs_received, urls_sent, urls_received, bytes_sent, bytes_received, peak_rss_kb, cpu_s))
[[nodiscard]] std::string encode_crawl_report(const CrawlReport& r);
CrawlReport decode_crawl_report(std::string_view bytes);

}  // namespace rankpool::crawl
