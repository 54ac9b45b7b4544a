#pragma once
// Workers in the master's own process. Used for single-rank runs (the master runs every
// task itself) and as the fake transport of the unit tests: batches run synchronously,
// oldest first, and every dispatch is logged so tests can check routing and batch sizes.

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "farm/executor.hpp"
#include "rankpool/farm/registry.hpp"
#include "rankpool/farm/stats.hpp"
#include "rankpool/farm/detail/transport.hpp"

namespace rankpool::farm {

/// Runs the tasks of one encoded Tag::Batch message and returns the encoded Tag::Result.
/// Task exceptions become failures in the result; an undecodable batch throws ProtocolError.
/// With a `watch`, throws BatchAbandoned when the batch is abandoned at a timeout.
std::string execute_batch(const Registry& registry, std::string_view batch_message, RankStats& stats,
                          TaskWatch* watch = nullptr);

class LocalTransport final : public Transport {
 public:
  /// `ranks[w]` is the rank reported for worker w (default: w + 1). With a `task_timeout`,
  /// each worker runs its batches on an Executor, as an MPI worker does, so that a single-rank
  /// run times tasks out too. With `slots` > 1 each worker runs that many batches at once on
  /// an Executor and receive() returns results as they finish (no longer synchronous);
  /// `context` is what their tasks see as this_task(). `threaded`: the same with one slot (so
  /// that tasks' notes arrive while they run). `drain`: how long destroying the transport
  /// waits for cancelled tasks to return (Executor's drain).
  LocalTransport(const Registry& registry, int workers, std::vector<int> ranks = {},
                 std::chrono::microseconds task_timeout = {}, int slots = 1, TaskContext context = {},
                 bool threaded = false, std::chrono::milliseconds drain = {});

  int workers() const override { return static_cast<int>(workers_.size()); }
  int worker_rank(int worker) const override { return workers_.at(worker).stats.rank; }
  void send(int worker, Tag tag, std::string bytes) override;
  std::optional<Incoming> receive(std::chrono::microseconds max_wait) override;
  const TransportCounters& counters() const override { return counters_; }

  // Test hooks.
  /// From now on every task run by `worker` throws `message`.
  void fail_worker(int worker, std::string message) { workers_.at(worker).fail_with = std::move(message); }
  struct Sent {
    int worker;
    BatchHeader header;
  };
  const std::vector<Sent>& log() const { return log_; }
  const RankStats& worker_stats(int worker) const { return workers_.at(worker).stats; }
  bool stopped(int worker) const { return workers_.at(worker).stopped; }

 private:
  struct Worker {
    std::deque<std::string> inbox;
    std::string fail_with;
    RankStats stats;
    bool stopped = false;
    std::unique_ptr<Executor> executor;  // only with a task timeout or several slots
  };
  const Registry& registry_;
  std::vector<Worker> workers_;
  std::deque<int> order_;       // which worker's inbox holds the oldest batch
  bool async_ = false;          // slots > 1: batches run concurrently on the workers' executors
  std::deque<Incoming> ready_;  // notes (and the result they precede) not returned yet
  std::vector<Sent> log_;
  TransportCounters counters_;
};

}  // namespace rankpool::farm
