#pragma once
// rankpool-bench --emulate: the farm's master facing thousands of workers on a few cores.
//
// Rank 0 runs the farm's own Master (scheduler, task groups, codec, MPI channel) over a
// transport that presents K logical workers per worker rank. A worker rank keeps one queue
// per logical worker: a batch of n tasks received at time r on logical worker k completes at
// max(r, the end of k's previous batch) + n × task duration, computed from timestamps (a timer,
// not CPU), and its result carries the task function's real outputs. Two cores can so present
// the master with 8,192 workers while only the master burns CPU.

#include <boost/mpi/communicator.hpp>
#include <cstdint>

#include "rankpool/farm/options.hpp"
#include "rankpool/farm/registry.hpp"
#include "rankpool/farm/task.hpp"

namespace rankpool::bench {

/// The master's CPU cost (docs/scale.md "The farm's master"): busy CPU seconds =
/// per_batch × batches + per_task × tasks + per_worker_batch × workers × batches.
/// Defaults: a least-squares fit to 15 emulated runs (64-8,192 workers, batches of 1, 16 and
/// 256) on this project's 2-core machine; docs/scale.md has the runs.
struct CostModel {
  double per_batch_s = 3.0e-6;         // pick, encode and send a batch; receive, decode, complete its result
  double per_task_s = 17e-9;           // an int task's input encoded and its output delivered in place
  double per_worker_batch_s = 0.1e-9;  // per worker, per batch: what is left of the scheduler's
                                       // look for a free slot (17e-9 while it scanned every worker)
  double cost_s(double workers, double tasks, double batches) const {
    return per_batch_s * batches + per_task_s * tasks + per_worker_batch_s * workers * batches;
  }
};

/// Batches the farm's automatic policy cuts `tasks` tasks of `task_s` seconds into for
/// `workers` single-slot workers: single-task probes until the first result (prefetch per
/// worker), then guided self-scheduling between min_batch_time and target_batch_time of
/// work, at most max_batch. With batch_size > 0, batches of exactly that size. With `node` > 1
/// the workers sit behind relays of `node` workers each (FarmOptions::hierarchy): rank 0 sends
/// each relay batches `node` times as large.
std::uint64_t planned_batches(const farm::FarmOptions& options, std::uint64_t tasks, int workers, double task_s,
                              int node = 1);

struct EmulateOptions {
  int per_rank = 1;        // logical workers per worker rank
  double task_s = 100e-6;  // emulated duration of one task
  std::size_t batch = 0;   // the farm's batch_size (0: automatic)
  long tasks = 1000000;
  int node = 1;       // > 1: the logical workers sit behind relays of this many (rank 0 faces workers / node
                      // relays, each completing a batch of n tasks in ceil(n / node) task durations, its
                      // result naming who ran what as a relay's does: one rank run per worker)
  bool each = false;  // map() with an on_result callback (Order::completion), as rankpool-run's: rank 0
                      // also hands each outcome, with the rank that ran it, to the caller
};

struct EmulateReport {
  int workers = 0;
  int relays = 0;  // what rank 0 faced with node > 1 (0: the workers themselves)
  std::uint64_t tasks = 0, batches = 0;
  double wall_s = 0;             // the map() on rank 0
  double cpu_s = 0;              // the master thread's CPU time during it
  double idle_cpu_s = 0;         // ... of which polling that found no message
  double wait_s = 0;             // wall time the master waited for a result (polling or asleep)
  double runqueue_s = 0;         // wall time it was ready to run but had no core (machine load)
  bool correct = false;          // every output is the task function's
  std::uint64_t output_sum = 0;  // of the outputs, for an outside check
};

/// Collective over `comm` (at least 2 ranks). `task` must compute 3x + 1 (the check of the
/// outputs). The report is meaningful on rank 0.
EmulateReport run_emulation(const boost::mpi::communicator& comm, const farm::Registry& registry,
                            const farm::Task<int, int>& task, const EmulateOptions& options);

}  // namespace rankpool::bench
