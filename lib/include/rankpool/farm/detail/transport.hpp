#pragma once
// Internal: not part of the API (rankpool/farm/detail/ may change in any release).
// How the master reaches its workers. The MPI implementation lives in the farm's
// sources; LocalTransport (local_transport.hpp) runs workers in-process, for single-rank
// runs and for unit tests of the master without MPI.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "rankpool/farm/detail/protocol.hpp"
#include "rankpool/runtime/mesh.hpp"

namespace rankpool::farm {

struct Incoming {
  int worker = 0;  // worker index, 0 .. workers()-1
  Tag tag = Tag::Result;
  std::string bytes;
};

using TransportCounters = runtime::MessageCounters;

class Transport {
 public:
  virtual ~Transport() = default;
  /// Number of workers; worker w is rank worker_rank(w) of the farm's communicator.
  virtual int workers() const = 0;
  virtual int worker_rank(int worker) const = 0;
  /// Queues `bytes` for `worker` without waiting for delivery; the transport owns the buffer.
  virtual void send(int worker, Tag tag, std::string bytes) = 0;
  /// The next message from any worker, waiting at most `max_wait` (sleeping, not spinning,
  /// once the wait is longer than a few microseconds). nullopt when nothing arrived.
  virtual std::optional<Incoming> receive(std::chrono::microseconds max_wait) = 0;
  virtual const TransportCounters& counters() const = 0;
};

}  // namespace rankpool::farm
