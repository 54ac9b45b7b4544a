#pragma once
// Private to the distributed crawler: a crawling rank. It owns an Engine for the origins it
// is assigned, sends discovered URLs to their owners in batches, reports records, idleness
// and probe answers to the coordinator, and its statistics when told to finish.
// Driven by the event loop (event_loop.cpp): on_message() for each message, tick() between.

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "crawl/outputs.hpp"
#include "crawl/roles.hpp"
#include "rankpool/crawl/crawler.hpp"
#include "rankpool/crawl/engine.hpp"
#include "rankpool/crawl/protocol.hpp"
#include "rankpool/runtime/interrupts.hpp"
#include "rankpool/runtime/mesh.hpp"
#include "rankpool/runtime/stop_collective.hpp"

namespace rankpool::crawl {

using runtime::Mesh;
using runtime::MeshMessage;

class Worker {
 public:
  /// `trees`: the runtime's stop trees (over MPI with several ranks), else null.
  Worker(Mesh& mesh, const FetcherFactory& make_fetcher, const std::atomic<int>* interrupt,
         runtime::CollectiveStop* trees = nullptr)
      : mesh_(mesh),
        make_fetcher_(make_fetcher),
        interrupt_(interrupt, kInterruptGrace),
        t0_(Clock::now()),
        trees_(trees) {}

  bool done() const { return done_; }
  int exit_code() const { return exit_code_; }
  const std::string& error() const { return error_; }
  void on_message(MeshMessage& m);

  bool tick();

  /// How long the driver may sleep waiting for messages.
  std::chrono::microseconds wait_hint() const;

 private:
  void start(StartMessage s);
  /// One Restore slice of a resumed crawl; the last (done) releases the URLs that waited.
  void restore(RestoreSlice slice);

  /// Idle with nothing left to send: what Idle and ProbeReply report.
  bool quiescent() const;
  void flush_urls(bool force);

  void flush_records(bool force);
  /// --output-shards: `m`'s records and links into this rank's shard, the message left with
  /// their tally.
  void write_shard(RecordsMessage& m, Clock::time_point now);
  /// Every message to the coordinator goes here: the report counts them (the gathered stop).
  void to_master(CrawlTag tag, std::string bytes);
  /// The end: this rank's FinalPart slices, then its report, up the gather tree when the stop
  /// came down it (`gathered`), else as a Final message.
  void finish(int signal, bool gathered = false);

  Mesh& mesh_;
  const FetcherFactory& make_fetcher_;
  runtime::InterruptWatch interrupt_;  // after a signal: how long to wait for the Finish
  Clock::time_point t0_;
  runtime::CollectiveStop* trees_;
  bool direct_stop_ = false;  // the tree announced a stop that comes point to point (Finish)
  std::uint64_t to_master_ = 0;
  std::vector<MeshMessage> early_;
  std::size_t slice_bytes_ = kDefaultSliceBytes;  // the master's slicing rule (Start)
  bool restoring_ = false;                        // between a resumed Start and its last Restore slice
  std::optional<FetchedUrl> restoring_url_;       // the last restored URL: more of its links may follow
  std::unique_ptr<Fetcher> fetcher_;
  std::unique_ptr<Engine> engine_;
  std::unordered_map<std::string, int> assigned_;
  int self_ = 0;
  std::uint64_t msgs_sent_ = 0, msgs_received_ = 0, urls_sent_ = 0, urls_received_ = 0;
  std::uint64_t reported_sent_ = 0, reported_received_ = 0;
  bool idle_reported_ = false, permit_requested_ = false, interrupt_sent_ = false, done_ = false;
  std::optional<Clock::time_point> oldest_url_;
  Clock::time_point last_records_{};
  WorkerStatus last_status_;
  // --output-shards: this rank's shard of the logs (unset without the option, or after a
  // failed write: the records then go to the master), its records and last fsync.
  std::optional<ShardWriter> shard_;
  std::uint64_t shard_pages_ = 0;
  double shard_sync_s_ = 0;  // the checkpoint interval (0: only at the end)
  Clock::time_point last_shard_sync_{};
  int exit_code_ = 0;
  std::string error_;
};

}  // namespace rankpool::crawl
