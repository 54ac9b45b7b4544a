#pragma once
// A node's sub-master (docs/scale.md "The farm's master"): to rank 0 it is one worker that
// runs a node's worth of tasks per batch; it cuts each batch into one piece per local worker,
// sends the pieces on, and answers rank 0 with ONE result per batch: outputs in batch order,
// failure positions mapped back, per-task seconds and busy time summed, and one rank run per
// piece (which worker ran which positions). The local workers' notes go up as they come,
// before their batch's result, each as a Tag::RankNote naming its worker. Free of MPI: the local workers sit
// behind a Transport (MPI in farm.cpp, LocalTransport in the unit tests).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rankpool/farm/registry.hpp"
#include "rankpool/farm/stats.hpp"
#include "rankpool/farm/detail/transport.hpp"

namespace rankpool::farm {

class Relay {
 public:
  /// `local`: this node's workers (local worker w is transport worker w).
  Relay(const Registry& registry, Transport& local);

  /// A Tag::Batch message from rank 0: cut into pieces (one per local worker, at most one per
  /// task), each sent to the local worker with the fewest tasks outstanding, never to the one
  /// its BatchHeader::avoid_rank names unless it is the only one. Throws
  /// ProtocolError for a batch it cannot decode or cut.
  void accept(std::string_view batch);
  /// What the local workers sent within `max_wait`, turned into messages for rank 0 in order:
  /// a Tag::RankNote as it comes, a batch's Tag::Result once all its pieces are back.
  std::vector<std::pair<Tag, std::string>> poll(std::chrono::microseconds max_wait);
  /// No batch of rank 0's is waiting for a piece.
  bool idle() const { return batches_.empty(); }
  /// Batches relayed (rank 0's), pieces sent; tasks stay 0: the local workers count those.
  const RankStats& stats() const { return stats_; }

 private:
  struct Piece {
    std::uint32_t offset = 0, count = 0;
    int rank = 0;  // the local worker's: named in the result's rank runs
    bool done = false;
    ResultMessage result;
  };
  struct Pending {
    BatchHeader header;
    std::vector<Piece> pieces;
    std::size_t left = 0;
  };
  std::string finish(Pending& p);

  const Registry& registry_;
  Transport& local_;
  std::unordered_map<std::uint64_t, Pending> batches_;  // by rank 0's batch id
  struct Origin {
    std::uint64_t batch = 0;
    std::uint32_t piece = 0;
    int worker = 0;
  };
  std::unordered_map<std::uint64_t, Origin> pieces_;  // by the piece's own batch id
  std::vector<std::uint64_t> outstanding_;            // tasks sent to each local worker, not back yet
  std::uint64_t next_id_ = 1;
  RankStats stats_;
};

}  // namespace rankpool::farm
