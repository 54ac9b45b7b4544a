#pragma once
// Private to the runtime: blocking collectives over raw bytes (MPI_Bcast, MPI_Gatherv,
// MPI_Allgatherv with their sizes exchanged first), for the handshake and the set-up
// agreement. Include as "runtime/byte_collectives.hpp".

#include <mpi.h>

#include <string>
#include <vector>

namespace rankpool::runtime::detail {

/// Collective: rank `root`'s `bytes` on every rank (two MPI_Bcast: the size, then the bytes).
void broadcast_bytes(MPI_Comm comm, std::string& bytes, int root);

/// Collective: every rank's `mine`, by rank, on rank `root` only (elsewhere: empty).
/// MPI_Gather of the sizes, then MPI_Gatherv of the bytes.
std::vector<std::string> gather_bytes(MPI_Comm comm, const std::string& mine, int root);

/// Collective: every rank's `mine`, by rank, on every rank. MPI_Allgather of the sizes, then
/// MPI_Allgatherv of the bytes: what Boost.MPI's all_gather of a serialized type does, and
/// O(ranks^2) bytes in all.
std::vector<std::string> all_gather_bytes(MPI_Comm comm, const std::string& mine);

}  // namespace rankpool::runtime::detail
