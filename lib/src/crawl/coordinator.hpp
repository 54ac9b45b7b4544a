#pragma once
// Private to the distributed crawler: rank 0's role. It deals the seeds' origins to the
// workers, writes their records to the outputs as they come, hands out page permits
// (--max-pages), detects termination (termination.hpp), checkpoints, and at the end stops
// every worker, gathers their reports and writes summary.json.
// Driven by the event loop (event_loop.cpp): begin() once, on_message() for each message,
// tick() between, until done().

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "crawl/outputs.hpp"
#include "crawl/roles.hpp"
#include "rankpool/crawl/checkpoint.hpp"
#include "rankpool/crawl/crawler.hpp"
#include "rankpool/crawl/protocol.hpp"
#include "rankpool/crawl/termination.hpp"
#include "rankpool/runtime/interrupts.hpp"
#include "rankpool/runtime/mesh.hpp"
#include "rankpool/runtime/progress.hpp"
#include "rankpool/runtime/stats.hpp"
#include "rankpool/runtime/stop.hpp"
#include "rankpool/runtime/stop_collective.hpp"

namespace rankpool::crawl {

using runtime::Mesh;
using runtime::MeshMessage;

class Coordinator {
 public:
  /// `trees`: the runtime's stop trees (over MPI with several ranks), else null: the stop
  /// then goes point to point (Finish and Final).
  Coordinator(Mesh& mesh, const CrawlJob& job, std::string setup_error, const std::atomic<int>* interrupt,
              runtime::CollectiveStop* trees = nullptr)
      : mesh_(mesh),
        job_(job),
        error_(std::move(setup_error)),
        interrupt_(interrupt, kInterruptGrace),
        workers_(worker_count(mesh.size())),
        termination_(workers_),
        status_(static_cast<std::size_t>(workers_)),
        granted_(static_cast<std::size_t>(workers_)),
        used_(static_cast<std::size_t>(workers_)),
        returned_(static_cast<std::size_t>(workers_)),
        stop_(workers_),
        trees_(trees),
        from_(static_cast<std::size_t>(workers_)),
        final_hosts_(static_cast<std::size_t>(workers_)),
        progress_(!job.options.quiet, std::chrono::milliseconds(200)) {}

  bool done() const { return done_; }
  /// Rank 0's time in the start's collectives (the handshake), for summary.json.
  void set_handshake_ms(double ms) { handshake_ms_ = ms; }
  void begin();

  void on_message(MeshMessage& m);
  bool tick();

  CrawlOutcome outcome() const;

 private:
  void count(const RecordTally& t, std::size_t worker);  // pages, permits used and summary counts
  int owner_of(std::string_view origin) const;
  std::string write_checkpoint_now();

  /// A resumed crawl's state, each worker's share in Restore slices.
  void send_restore(const ResumeState& resume);
  /// Items 0..n-1 dealt to their owners (owner(i)), as positions.
  std::vector<std::vector<std::uint32_t>> shares(std::size_t n, const std::function<int(std::size_t)>& owner) const;

  void serve_permits();
  void send_probe(std::optional<std::uint64_t> probe);

  void finish();
  /// A normal end over the trees: the stop down, the reports up, every worker's messages in.
  void stop_on_trees();
  void draw_progress(bool final);

  /// Outputs final, checkpoint, summary.json and the summary line: the end of the run.
  void finalize();
  /// The "ranks" rows of summary.json (this run), and the sums over the reports.
  std::vector<runtime::RankRow> rank_rows(EngineStats& total, std::map<std::string, int>& fixes,
                                          boost::json::array& hosts, int& missing) const;
  bool finishing() const { return stop_.started() || gathered_stop_; }
  Mesh& mesh_;
  const CrawlJob& job_;
  std::string error_;
  runtime::InterruptWatch interrupt_;
  int workers_;
  std::map<std::string, int> owner_;
  Outputs outputs_;
  Termination termination_;
  std::vector<WorkerStatus> status_;
  std::vector<std::uint64_t> granted_, used_, returned_;
  runtime::StopGather stop_;  // Finish to every worker, their Final reports back
  runtime::CollectiveStop* trees_;
  bool gathered_stop_ = false;                               // the normal end over trees_
  std::vector<std::optional<runtime::RankReport>> reports_;  // by worker, from either stop
  std::vector<std::uint64_t> from_;                          // messages received from each worker
  // The workers' FinalPart slices: their per-origin rows, the depth fixes, the slicing figures.
  std::vector<std::vector<HostStats>> final_hosts_;
  std::map<std::string, int> depth_fixes_;
  std::uint64_t final_slices_ = 0;
  std::size_t largest_final_ = 0;
  // summary.json "start_stop": the handshake, and the stop from the first message or broadcast
  // to the last report in hand. RANKPOOL_CRAWL_DIRECT_STOP=1 (rank 0; for measurements) makes
  // a normal end go point to point too.
  double handshake_ms_ = 0, stop_ms_ = 0;
  Clock::time_point stop_t0_{};
  bool direct_stop_ = false;
  std::set<int> waiting_;
  std::uint64_t remaining_permits_ = 0, pages_ = 0;
  // Checkpoint: robots.txt outcomes by origin (earlier runs' and this one's), counters.
  Checkpoint checkpoint_;
  std::map<std::string, HostCheckpoint> host_states_;
  std::uint64_t previous_pages_ = 0, robots_learned_ = 0, robots_before_ = 0;
  bool checkpoint_dirty_ = false;
  Clock::time_point last_checkpoint_{};
  std::map<std::string, std::uint64_t> by_status_, by_error_;
  std::map<std::string, std::uint64_t> retries_;  // retried attempts by cause ("503", "timeout", ...)
  // The slicing rule (protocol.hpp), and what a resume's hand-off took (summary.json "restore").
  std::size_t slice_bytes_ = kDefaultSliceBytes, largest_slice_ = 0;
  std::uint64_t restore_slices_ = 0;
  int signal_ = 0;
  bool done_ = false;
  runtime::ProgressLine progress_;
  Clock::time_point t0_;
  double seconds_ = 0;
  double cpu_s_ = 0;  // rank 0's CPU seconds at finalize(): its summary row and its CPU per 1,000 pages
};

}  // namespace rankpool::crawl
