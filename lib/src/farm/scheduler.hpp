#pragma once
// The farm's scheduling policy, free of MPI and of task types: which worker gets which
// tasks, in batches of which size, and what happens to a task that failed.
//
// Tasks are (group, index) pairs; a group is one map() or the submit() stream of one
// type. The master asks next() for batches until it returns nothing, sends them, and
// reports every returned batch with complete() and every failed task with retry().

#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include "rankpool/farm/detail/task_set.hpp"
#include "rankpool/farm/options.hpp"

namespace rankpool::farm {

struct Dispatch {
  std::uint64_t batch_id = 0;
  int worker = 0;
  std::uint32_t group = 0;
  std::uint32_t type = 0;
  TaskSet indices;
  int avoid_rank = -1;  // a relay's local worker the batch must keep off (BatchHeader::avoid_rank)
};

class Scheduler {
 public:
  /// serves[w][t]: worker w serves task type t. capacity[w]: batches worker w runs at once
  /// (its FarmOptions::slots; empty = 1 each): prefetch depth and batch sizes scale with it.
  /// fanout[w]: workers behind worker w (a relay, farm/relay.hpp; empty = 1 each): its batches
  /// are that many times larger, each slot standing for one slot of every local worker.
  Scheduler(const FarmOptions& options, std::vector<std::vector<bool>> serves, std::vector<int> capacity = {},
            std::vector<int> fanout = {});

  /// Adds tasks [first, first + count) to `group` of `type` (creating the group). Ranges
  /// may leave holes (a resumed run adds only what its journal lacks); dynamic scheduling
  /// hands them out in the order added.
  void add_tasks(std::uint32_t group, std::uint32_t type, std::uint32_t first, std::uint32_t count);
  /// Forgets a group whose tasks have all finished.
  void remove_group(std::uint32_t group);
  bool has_worker_for(std::uint32_t type) const;
  int workers_for(std::uint32_t type) const;

  /// The next batch to send, or nullopt when no worker with a free slot has work.
  std::optional<Dispatch> next();
  /// Marks a batch as returned; `busy_seconds` (its measured work) refines batch sizing.
  Dispatch complete(std::uint64_t batch_id, double busy_seconds);
  /// A task failed on `worker` (on its local worker `rank` when it is a relay; -1: not known).
  /// Returns the number of attempts so far and whether it was queued again (on another worker
  /// when one serves its type, else on `worker` with the batch's avoid_rank = `rank`).
  struct RetryDecision {
    bool retried = false;
    int attempts = 0;
  };
  RetryDecision retry(std::uint32_t group, std::uint32_t index, int worker, int rank = -1);
  /// Queues a task again without counting an attempt: it never ran (its batch was
  /// abandoned when another task of it timed out). Dynamic scheduling batches requeued
  /// neighbours together again, ahead of fresh tasks.
  void requeue(std::uint32_t group, std::uint32_t index);
  /// Adds one task to `group` ahead of fresh tasks, for a worker other than `avoid_worker`
  /// when another one serves its type (the caller's own retry of a task: it failed there).
  /// `avoid_rank`: when `avoid_worker` is a relay, its local worker the task failed on; should
  /// the task go to that relay after all, its batch carries it (Dispatch::avoid_rank).
  void add_task_avoiding(std::uint32_t group, std::uint32_t type, std::uint32_t index, int avoid_worker,
                         int avoid_rank = -1);

  std::size_t in_flight_batches() const { return in_flight_.size(); }
  int in_flight(int worker) const { return slots_.at(worker); }
  /// Slots of the workers serving `type`, summed.
  int slots_for(std::uint32_t type) const;
  /// Batch size the automatic policy would pick now for `type` with `remaining` tasks.
  std::size_t batch_size_for(std::uint32_t type, std::size_t remaining) const;
  /// Mean measured seconds per task of `type`, or nullopt before the first result.
  std::optional<double> mean_task_seconds(std::uint32_t type) const;

 private:
  struct Retry {
    std::uint32_t index;
    int avoid_worker;
    int avoid_rank = -1;  // within avoid_worker, a relay: its local worker's rank
  };
  struct Group {
    std::uint32_t id = 0;
    std::uint32_t type = 0;
    std::deque<std::pair<std::uint32_t, std::uint32_t>> ranges;               // dynamic: fresh ranges [cur, end)
    std::uint64_t fresh = 0;                                                  // dynamic: tasks in `ranges`
    std::vector<std::deque<std::pair<std::uint32_t, std::uint32_t>>> blocks;  // static: per worker,
                                                                              // ranges [cur, end)
    std::deque<Retry> retries;
    std::uint64_t static_next = 0;  // static: rotates the first block so single adds spread out
  };
  std::optional<Dispatch> take(Group& g, int worker);
  /// The next batch for `worker`, or nullopt when it has no free slot or no work.
  std::optional<Dispatch> try_worker(int worker);
  /// Notes that `worker`'s slots changed: next() looks at it again.
  void touch(int worker);
  Group* find(std::uint32_t group);

  FarmOptions options_;
  std::vector<std::vector<bool>> serves_;
  std::vector<int> workers_for_type_;
  std::vector<int> slots_for_type_;
  std::vector<int> capacity_;  // per worker: batches it runs at once
  std::vector<int> fanout_;    // per worker: workers its batches are cut for (1, or a relay's)
  bool has_room(int worker, std::uint32_t type, std::size_t remaining) const;
  double batch_cost(const Dispatch& d) const;

  std::vector<int> slots_;      // batches in flight per worker
  std::vector<double> queued_;  // estimated seconds of work in flight per worker
  std::vector<Group> groups_;   // in submission order
  std::unordered_map<std::uint64_t, Dispatch> in_flight_;
  std::unordered_map<std::uint64_t, int> attempts_;  // failed tasks only
  std::vector<double> mean_seconds_;                 // per type, < 0 when unknown
  std::uint64_t next_batch_id_ = 1;
  int round_robin_ = 0;
  bool rescan_ = true;         // next() scans every worker (tasks added, a retry, a new task time)
  std::deque<int> touched_;    // ... else only these, whose slots changed since its last scan
  std::vector<char> changed_;  // per worker: in touched_
};

}  // namespace rankpool::farm
