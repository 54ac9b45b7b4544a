#pragma once
// Peer-to-peer messaging among all ranks, for parallel algorithms that are not
// master/worker: the distributed crawler's ranks send discovered URLs straight to the
// rank that owns their host. Callers see this interface only, so they are tested in one
// process with LocalMesh (one endpoint per simulated rank, each driven by its own
// thread) and run over MPI with make_mpi_mesh().
//
// Contract of every implementation:
//  * send() never blocks: the mesh owns the bytes until they are delivered;
//  * messages from one sender to one receiver arrive in the order they were sent
//    (MPI's non-overtaking rule), whatever their tags;
//  * a message to oneself is delivered like any other.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace boost::mpi {
class communicator;
}

namespace rankpool::runtime {

struct MeshMessage {
  int source = 0;
  int tag = 0;
  std::string bytes;
};

/// Messages and bytes one endpoint has sent and received (the farm's transports count the same).
struct MessageCounters {
  std::uint64_t msgs_sent = 0, msgs_recv = 0, bytes_sent = 0, bytes_recv = 0;
};
using MeshCounters = MessageCounters;

class Mesh {
 public:
  virtual ~Mesh();
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Queues `bytes` for `dest` (0 <= dest < size()); returns at once.
  virtual void send(int dest, int tag, std::string bytes) = 0;
  /// The next waiting message from any rank, waiting up to `max_wait` for one (zero:
  /// just look). Idle waits give the core away (ranks may outnumber cores).
  virtual std::optional<MeshMessage> receive(std::chrono::microseconds max_wait) = 0;
  /// Blocks until every send has been handed over (call before leaving a run).
  virtual void flush() = 0;
  /// The name of the host this endpoint runs on (for per-host statistics).
  virtual std::string host() const = 0;
  /// The communicator of this mesh's ranks, for the runtime's collectives (agree.hpp's
  /// handshake, stop_collective.hpp), or null when the ranks have none (LocalMesh: callers
  /// keep their point-to-point paths).
  virtual const boost::mpi::communicator* communicator() const { return nullptr; }
  const MeshCounters& counters() const { return counters_; }

 protected:
  MeshCounters counters_;
};

/// In-process mesh of `size` endpoints; endpoint(r) is rank r. Thread-safe: each endpoint
/// is meant to be driven by its own thread, as a rank would be.
class LocalMesh {
 public:
  explicit LocalMesh(int size);
  ~LocalMesh();
  Mesh& endpoint(int rank);
  int size() const { return static_cast<int>(endpoints_.size()); }

 private:
  class Endpoint;
  struct Mailbox {
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<MeshMessage> queue;
  };
  std::vector<std::unique_ptr<Mailbox>> boxes_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
};

/// Collective over `comm`: a mesh on a duplicate of it (its tags never meet the caller's).
/// Sends are MPI_Isend of bytes; receive polls with MPI_Iprobe and backs off with short
/// sleeps, never spinning in a blocking MPI call.
std::unique_ptr<Mesh> make_mpi_mesh(const boost::mpi::communicator& comm);

}  // namespace rankpool::runtime
