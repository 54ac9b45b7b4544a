#include "runtime/byte_collectives.hpp"

#include <cstdint>
#include <limits>
#include <stdexcept>

namespace rankpool::runtime::detail {

namespace {

int int_size(std::size_t n, const char* what) {
  if (n > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw std::length_error(std::string(what) + ": more than 2 GiB in one collective");
  return static_cast<int>(n);
}

/// Offsets of the blocks of `sizes`, laid end to end; checks the total fits an int.
std::vector<int> offsets_of(const std::vector<int>& sizes, const char* what) {
  std::vector<int> offsets(sizes.size());
  std::size_t at = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    offsets[i] = int_size(at, what);
    at += static_cast<std::size_t>(sizes[i]);
  }
  int_size(at, what);
  return offsets;
}

std::vector<std::string> split(const std::string& all, const std::vector<int>& sizes, const std::vector<int>& offsets) {
  std::vector<std::string> out;
  out.reserve(sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i)
    out.emplace_back(all, static_cast<std::size_t>(offsets[i]), static_cast<std::size_t>(sizes[i]));
  return out;
}

}  // namespace

void broadcast_bytes(MPI_Comm comm, std::string& bytes, int root) {
  std::uint64_t n = bytes.size();
  MPI_Bcast(&n, 1, MPI_UINT64_T, root, comm);
  bytes.resize(static_cast<std::size_t>(n));
  MPI_Bcast(bytes.data(), int_size(bytes.size(), "broadcast"), MPI_BYTE, root, comm);
}

std::vector<std::string> gather_bytes(MPI_Comm comm, const std::string& mine, int root) {
  int rank = 0, size = 0;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const int n = int_size(mine.size(), "gather");
  std::vector<int> sizes(rank == root ? static_cast<std::size_t>(size) : 0);
  MPI_Gather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, root, comm);
  std::vector<int> offsets;
  std::string all;
  if (rank == root) {
    offsets = offsets_of(sizes, "gather");
    all.resize(static_cast<std::size_t>(offsets.empty() ? 0 : offsets.back() + sizes.back()));
  }
  MPI_Gatherv(mine.data(), n, MPI_BYTE, all.data(), sizes.data(), offsets.data(), MPI_BYTE, root, comm);
  if (rank != root) return {};
  return split(all, sizes, offsets);
}

std::vector<std::string> all_gather_bytes(MPI_Comm comm, const std::string& mine) {
  int size = 0;
  MPI_Comm_size(comm, &size);
  const int n = int_size(mine.size(), "all-gather");
  std::vector<int> sizes(static_cast<std::size_t>(size));
  MPI_Allgather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, comm);
  const std::vector<int> offsets = offsets_of(sizes, "all-gather");
  std::string all(static_cast<std::size_t>(offsets.empty() ? 0 : offsets.back() + sizes.back()), '\0');
  MPI_Allgatherv(mine.data(), n, MPI_BYTE, all.data(), sizes.data(), offsets.data(), MPI_BYTE, comm);
  return split(all, sizes, offsets);
}

}  // namespace rankpool::runtime::detail
