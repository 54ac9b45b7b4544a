#pragma once
// Runs a worker's batches on separate threads: one per slot (FarmOptions::slots), so that a
// rank runs several batches at once, and so that a task can be timed out
// (FarmOptions::task_timeout) without hanging the run.
//
// C++ cannot stop a thread. When a task runs past the limit the executor answers for its
// batch at once (that task failed with "timed out", the batch's other tasks handed back
// unrun, FailureKind::not_run, to be queued again without costing an attempt), leaves the
// thread running the task behind and goes on with a fresh thread. The abandoned thread's
// result is dropped when (if ever) the task returns; until then it holds a core, which is
// the price of not killing the process. Only used with a timeout or more than one slot:
// otherwise batches run on the worker's own thread, with no hand-off cost.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "rankpool/farm/context.hpp"
#include "rankpool/farm/registry.hpp"
#include "rankpool/farm/stats.hpp"
#include "rankpool/farm/detail/watch.hpp"

namespace rankpool::farm {

class Executor {
 public:
  /// `timeout` 0: none. `slots` batches run at once; each slot's thread runs its tasks with
  /// this_task() = `context` with its slot number.
  /// The context's `cancel` is the executor's own flag (see cancel()).
  Executor(const Registry& registry, std::chrono::microseconds timeout, int slots = 1, TaskContext context = {},
           std::chrono::milliseconds drain = {});
  /// Cancels what runs (cancel()), waits up to `drain` for running batches to return, then
  /// abandons the rest, not waiting for them.
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  /// Queues an encoded Tag::Batch message.
  void submit(std::string batch);
  /// The encoded Tag::Result of a finished or timed-out batch, if one is ready. Call it
  /// often: it is also where the timeout is enforced. Throws ProtocolError for a batch
  /// that could not be decoded.
  std::optional<std::string> poll();
  /// The next message for the master: a note a task sent (Tag::Note), else a result
  /// (Tag::Result, as poll()). A batch's notes always come before its result.
  std::optional<std::pair<Tag, std::string>> next_message();
  /// Sets the flag that running tasks see as this_task().cancelled().
  void cancel();
  /// Waits until a result is ready to poll() or `max_wait` passed.
  void wait(std::chrono::microseconds max_wait);
  /// No batch queued or running.
  bool idle();
  /// Batches queued or running.
  int busy();
  /// Threads left behind with a task that outlived the timeout and has not returned yet.
  int stuck_threads() const;
  /// Counters of the batches answered so far (a timed-out task counts as one failed task).
  const RankStats& stats() const { return stats_; }

 private:
  struct Shared;
  struct Runner {
    std::shared_ptr<TaskWatch> watch;
    std::thread thread;
  };
  void start_runner(int slot);
  static void run(std::shared_ptr<Shared> shared, std::shared_ptr<TaskWatch> watch, const Registry* registry, int slot,
                  TaskContext context);

  const Registry& registry_;
  std::chrono::microseconds timeout_;
  TaskContext context_;
  std::chrono::milliseconds drain_;
  std::shared_ptr<Shared> shared_;
  std::vector<Runner> runners_;  // one per slot
  std::vector<std::shared_ptr<TaskWatch>> abandoned_;
  RankStats stats_;
};

}  // namespace rankpool::farm
