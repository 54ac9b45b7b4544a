#pragma once
// Options of a farm run. Every field has a default that works on a laptop and a reason.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace rankpool::farm {

enum class Schedule {
  dynamic,  // self-scheduling: a worker gets more work when it has room; balances uneven tasks
  static_,  // block decomposition fixed up front (a scatter): the baseline dynamic is measured against
};
const char* to_string(Schedule s);

/// Node-level sub-masters (relays, docs/scale.md "The farm's master"): one rank per node takes
/// node-sized batches from rank 0 and feeds the node's other ranks.
enum class Hierarchy {
  automatic,  // relays from FarmOptions::hierarchy_threshold worker ranks on, flat below
  off,        // every worker talks to rank 0 (flat)
  on,         // relays whenever a node has two ranks or more besides rank 0
};
const char* to_string(Hierarchy h);
/// Parses off | on | automatic; throws std::invalid_argument with a one-line message.
Hierarchy parse_hierarchy(std::string_view s);
/// Parses an emulated node size (a positive rank count; 0: the real nodes), as given to
/// --node-size or in RANKPOOL_FARM_NODE_SIZE; throws std::invalid_argument naming `what`.
int parse_node_size(std::string_view s, std::string_view what);

/// Which worker ranks serve a queue (Celery's routing). A worker named in no assignment
/// serves every queue.
struct QueueAssignment {
  std::string queue;
  std::vector<int> ranks;
  bool operator==(const QueueAssignment&) const = default;
};

/// Parses "NAME=RANKS" where RANKS is a comma list of ranks and ranges ("1-2,5", "3-"
/// meaning 3 to the last rank). `world_size` resolves open ranges. Throws
/// std::invalid_argument with a one-line message naming the bad spec.
QueueAssignment parse_queue_assignment(std::string_view spec, int world_size);

struct FarmOptions {
  Schedule schedule = Schedule::dynamic;  // dynamic keeps every worker busy on uneven tasks
  std::size_t batch_size = 0;             // 0: automatic (guided self-scheduling, capped by
                                          // target_batch_time); N: exactly N tasks per batch; 1: no batching
  std::size_t max_batch = 8192;           // bounds a message's size and the work a slow worker holds at the end
  double gss_factor = 2.0;                // batch = remaining / (gss_factor × workers): big early, small at the end
  std::chrono::microseconds target_batch_time{10'000};  // a batch carries ~10 ms of measured work:
                                                        // long enough to amortise a round trip, short enough to balance
  std::chrono::microseconds min_batch_time{100};        // ... and at least this much measured work,
                                                        // or all that remains: a message costs ~10 µs
  int slots = 1;           // batches a worker rank runs at once, each on its own thread (this rank's
                           // value; ranks may differ, the handshake tells the master). 1: tasks are
                           // CPU work and the rank is one core. >1: tasks wait on something else
                           // (child processes, I/O) or a rank stands for a whole node
  int prefetch = 2;        // batches in flight per worker slot: one running and one waiting, so a
                           // worker never sits idle for a round trip
  int max_prefetch = 256;  // ... and more, up to this many per slot, while the worker's queued work is
                           // under prefetch_time: small batches need a deep pipeline to cover
                           // the master's sleeps between polls
  std::chrono::microseconds prefetch_time{2'000};  // queued work per worker worth keeping
  std::chrono::microseconds heavy_task{20'000};    // tasks measured this long are prefetched only
                                                 // while more than prefetch × workers remain, so the last ones balance
  int max_retries = 2;                        // a task that throws (or times out) runs at most 1 + max_retries times,
                                              // then is reported
  std::chrono::microseconds task_timeout{0};  // 0: none. Otherwise a task running longer fails
                                              // ("timed out") and is retried per max_retries; the worker abandons the
                                              // thread running it and goes on with a fresh one (see farm.hpp)
  const std::atomic<int>* interrupt =
      nullptr;  // a signal number set by the caller's SIGINT/SIGTERM
                // handler: the master stops dispatching, keeps the results of batches
                // returning within interrupt_grace, stops the workers and run() reports it
  std::chrono::milliseconds interrupt_grace{
      500};                                 // long enough to save the small batches in
                                            // flight, short enough to finish before mpirun, which SIGKILLs its ranks
                                            // about 1 s after forwarding a SIGINT/SIGTERM (the journal has the rest)
  std::vector<QueueAssignment> queues;      // empty: every worker serves every queue
  std::chrono::microseconds spin_time{50};  // an idle rank polls without sleeping this long:
                                            // a reply within a few microseconds costs no sleep
  std::chrono::microseconds max_idle_sleep{200};  // then polls with growing sleeps up to this, so
                                                  // a waiting rank does not steal a core from busy ones
  std::function<void(int rank, std::string_view bytes)>
      on_note;                                 // the master's receiver of the
                                               // notes running tasks send (TaskContext::note), e.g. lines of output as
                                               // they are written. Set it on every rank: workers then run tasks on a
                                               // slot thread, so that notes leave while the task runs
  Hierarchy hierarchy = Hierarchy::automatic;  // flat below hierarchy_threshold worker ranks, where one
                                               // master keeps up (docs/scale.md); relays from it on, where
                                               // the model has it saturate. Results, journal and ranks
                                               // named are those of a flat run either way
  int hierarchy_threshold = 1024;              // worker ranks from which `automatic` relays: there one master spends
                                               // ~1/3 of its time on per-batch costs (3 µs per 10 ms batch per worker,
                                               // docs/scale.md), and saturates at ~3,000
  int node_size = 0;                           // 0: a node is the ranks that share memory (MPI_COMM_TYPE_SHARED), or
                      // RANKPOOL_FARM_NODE_SIZE when set. K: emulated nodes of K consecutive ranks from rank 1
                      // (tests and one-host runs); rank 0's own node (real nodes) has no relay
  bool progress = true;  // live progress line on stderr, only when stderr is a terminal
  bool quiet = false;    // no progress and no statistics table
};

}  // namespace rankpool::farm
