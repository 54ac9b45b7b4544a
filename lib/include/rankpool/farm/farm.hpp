#pragma once
// The farm over MPI. Collective: every rank of the communicator constructs a Farm with
// the same registry and options and calls run(); rank 0 becomes the master and runs the
// caller's body, the others serve tasks until the master sends Stop.

#include <boost/mpi/communicator.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rankpool/farm/master.hpp"
#include "rankpool/farm/options.hpp"
#include "rankpool/farm/registry.hpp"
#include "rankpool/farm/stats.hpp"

namespace rankpool::runtime {
class CollectiveStop;
}

namespace rankpool::farm {

/// The outcome of a run, identical on every rank.
struct RunStatus {
  std::string error;               // set when the run could not complete (bad usage, body threw,
                                   // interrupted)
  std::uint64_t failed_tasks = 0;  // tasks that failed after all retries
  int signal = 0;                  // the signal that interrupted the run (FarmOptions::interrupt)
  bool ok() const { return error.empty() && failed_tasks == 0; }
  /// 0 all good, 1 some tasks failed, 2 the run itself failed, 128+signal interrupted (the
  /// shell's convention, so a script can tell a Ctrl-C or a time limit from a failure).
  int exit_code() const { return signal ? 128 + signal : !error.empty() ? 2 : failed_tasks ? 1 : 0; }
};

class Farm {
 public:
  /// Collective. Duplicates `comm`, so the farm's tags never meet the caller's messages,
  /// and checks that all ranks agree (protocol version, task types, queue assignment):
  /// register every task type before constructing the farm. The check runs once per Farm;
  /// a disagreement is reported by every run() on every rank.
  Farm(const boost::mpi::communicator& comm, const Registry& registry, FarmOptions options = {});

  /// Collective. Rank 0 runs `body(master)`, then stops every worker and gathers statistics.
  /// If body throws, the workers are still stopped and the message is returned in
  /// RunStatus::error on every rank: no rank is left waiting.
  RunStatus run(const std::function<void(Master&)>& body);

  int rank() const { return comm_.rank(); }
  int size() const { return comm_.size(); }
  bool is_master() const { return comm_.rank() == 0; }
  /// The ranks that relay batches for their node's other ranks and run no task themselves
  /// (FarmOptions::hierarchy), in rank order; empty when the farm is flat. Every rank's.
  std::vector<int> relay_ranks() const;
  /// Per-rank and per-host figures of the last run; complete on rank 0.
  const FarmStats& stats() const { return stats_; }

 private:
  RunStatus run_master(const std::function<void(Master&)>& body, const std::string& handshake_error);
  RunStatus run_worker(const std::string& handshake_error);
  RunStatus run_relay(const std::string& handshake_error);
  /// Collective (runtime::handshake plus the queue assignment); run once, by the constructor,
  /// with this rank's set-up `error` so far. Fills serves_, hosts_, slots_, worker_ranks_, fanout_.
  std::string handshake(std::string error);
  /// Collective, before the handshake: which ranks relay for which (FarmOptions::hierarchy).
  /// Fills parent_ and children_ on every rank; returns rank 0's error (a bad node size).
  std::string plan_relays();

  boost::mpi::communicator comm_;
  const Registry& registry_;
  FarmOptions options_;
  std::vector<std::vector<bool>> serves_;  // per entry of worker_ranks_, per type
  std::vector<std::string> hosts_;         // per rank (rank 0 only), from the handshake
  std::vector<int> slots_;                 // per entry of worker_ranks_: FarmOptions::slots of that rank
                                           // (a relay's: the largest of its local workers')
  std::string handshake_error_;            // empty when all ranks agree
  std::vector<int> parent_of_;             // per rank: the rank it takes batches from (0, or its node's relay)
  std::vector<int> children_;              // this rank's local workers when it is a relay
  std::vector<int> worker_ranks_;          // rank 0: the ranks it sends batches to, workers and relays
  std::vector<int> fanout_;                // ... and the workers behind each (1, or a relay's local workers)
  FarmStats stats_;
  // The stop's broadcast and gather trees (runs of more than one rank).
  std::shared_ptr<runtime::CollectiveStop> stop_;
};

}  // namespace rankpool::farm
