#pragma once
// The stop protocol (stop.hpp) as nonblocking collectives, for apps whose ranks can poll:
// the stop comes down a broadcast tree (MPI_Ibcast) and the reports go up a gather tree
// (MPI_Igather of their sizes, MPI_Igatherv of their bytes), on a private duplicate of the
// caller's communicator. Rank 0 sends to and receives from O(log ranks) peers instead of
// one message each way per worker; the payloads are the same StopMessage and RankReport.
//
// What a tree cannot do: lose one rank. A gather completes only when every rank has
// contributed, so a worker that cannot answer (inside a long task after an interrupt, or
// dead) would cost every report. A stop that must respect a deadline therefore stays point
// to point (StopGather over the app's own channel), and rank 0 announces it on the tree with
// announce_direct(), so that every worker's posted broadcast completes and workers know to
// expect the stop on their channel.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "rankpool/runtime/stop.hpp"

namespace boost::mpi {
class communicator;
}

namespace rankpool::runtime {

class CollectiveStop {
 public:
  /// Collective over `comm`: every rank constructs one, in the same order relative to other
  /// collectives on `comm` (it duplicates it). Rank 0 stops; every other rank is a worker.
  explicit CollectiveStop(const boost::mpi::communicator& comm);
  ~CollectiveStop();
  CollectiveStop(const CollectiveStop&) = delete;
  CollectiveStop& operator=(const CollectiveStop&) = delete;

  /// Called between polls while a call below waits (the farm: drain its channel, whose
  /// peers may be waiting for their sends to be received).
  using Meanwhile = std::function<void()>;

  // ---- a worker (rank != 0)

  struct Stop {
    StopMessage message;
    bool gathered = true;  // false: the stop itself comes point to point (StopGather); no report() here
  };
  /// Nonblocking: the stop once it has come down the tree, else nullopt. The first call after
  /// construction or after report() posts the receive; later calls drive the tree (a worker
  /// forwards to its subtree only inside MPI calls, so call it in the worker's loop).
  [[nodiscard]] std::optional<Stop> poll();

  /// After poll() returned a gathered stop: this rank's report up the gather tree, then the
  /// closing barrier; returns when rank 0 has every report and has called close().
  void report(const RankReport& report, const Meanwhile& meanwhile = {});

  // ---- rank 0

  /// Sends `stop` down the tree and gathers every worker's report: reports()[w] is rank w+1's.
  /// Waits as long as it takes (no deadline: see the header comment).
  [[nodiscard]] std::vector<RankReport> stop_and_gather(const StopMessage& stop, const Meanwhile& meanwhile = {});
  /// After stop_and_gather(): the closing barrier (workers keep calling their Meanwhile until
  /// it completes: call it once everything rank 0 sent to them has been delivered).
  void close(const Meanwhile& meanwhile = {});
  /// Completes every worker's posted receive with a stop that comes point to point. Waits at
  /// most until `deadline` for its own part (a stuck worker must not hang rank 0).
  void announce_direct(const StopMessage& stop, std::chrono::steady_clock::time_point deadline);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace rankpool::runtime
