#pragma once
// The collectives every app's start needs, once: ranks agree that they speak the same
// protocol (the handshake), and that every rank could set itself up ("did any rank fail to
// set up? then everyone exits with the same message and code").

#include <cstdint>
#include <string>
#include <vector>

#include "rankpool/status.hpp"

namespace boost::mpi {
class communicator;
}

namespace rankpool::runtime {

/// Collective over `comm`: every rank passes its own set-up outcome and every rank gets the
/// same answer: ok when no rank failed, else the lowest failing rank's message, with
/// "rank R: " in front unless R is 0. An MPI_Allreduce of the lowest failing rank, then an
/// MPI_Bcast of its message: O(log ranks) steps and no per-rank data on any rank.
[[nodiscard]] Status agree_on_error(const boost::mpi::communicator& comm, const Status& mine);

/// What the ranks of a component must agree on before they work together.
struct Protocol {
  std::string name;           // "farm": names the protocol in messages
  std::uint32_t version = 0;  // the message layouts: bumped on any change
  std::uint64_t digest = 0;   // what else must be equal on every rank (the farm: its task types)
  std::string digest_of;      // what the digest covers, for the message ("task types")
};

struct Agreement {
  Status status;                      // the same on every rank (agree_on_error's message)
  std::vector<std::string> hosts;     // by rank (empty on ranks that were not told, see Share)
  std::vector<std::string> payloads;  // by rank: what each passed to handshake()
};

/// Which ranks learn every rank's host and payload.
enum class Share {
  all_ranks,  // an all-gather: every rank holds ranks x (host + payload), O(ranks^2) bytes in all
  rank0,      // a gather to rank 0 and a broadcast of the outcome: O(ranks) bytes in all
};

/// Collective over `comm`, once per component (the farm: per Farm). Rank 0's protocol is the
/// reference: a rank with another version or digest fails ("rank 2: farm protocol 3, the
/// master speaks 4"; "rank 1: different task types than the master"). Each rank's own
/// set-up problem (`mine`, checked after the protocol) and `payload` (the farm: its slots)
/// travel with it. With Share::all_ranks every rank learns every rank's host and payload; with
/// Share::rank0 only rank 0 does (the farm: only its master needs them), and the others get
/// empty lists. Either way: MPI_Bcast of the offer, then MPI_Gather(v) or MPI_Allgather(v)
/// of the sizes and bytes (real collectives, tree-shaped in Open MPI), and the status is the
/// same on every rank.
[[nodiscard]] Agreement handshake(const boost::mpi::communicator& comm, const Protocol& protocol, const Status& mine,
                                  std::string payload = {}, Share share = Share::all_ranks);

}  // namespace rankpool::runtime
