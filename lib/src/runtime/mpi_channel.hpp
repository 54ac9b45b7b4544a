#pragma once
// Private to the runtime and the transports built on it (runtime/mesh_mpi.cpp, the farm's
// farm.cpp): polling, pending sends, probe-then-receive and the channel built of them, shared
// by the master/worker farm and the peer-to-peer mesh. Include as "runtime/mpi_channel.hpp".

#include <boost/mpi/communicator.hpp>
#include <boost/mpi/request.hpp>
#include <boost/mpi/status.hpp>
#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <thread>

#include "rankpool/runtime/mesh.hpp"

namespace rankpool::runtime {
namespace mpi = boost::mpi;

/// Polling with growing sleeps: a rank with nothing to do gives its core away within
/// microseconds instead of spinning in a blocking receive (Open MPI's blocking calls
/// busy-poll), which matters when ranks outnumber cores.
class Backoff {
 public:
  Backoff(std::chrono::microseconds spin, std::chrono::microseconds max) : spin_(spin), max_(max) {}
  void reset() {
    idle_since_.reset();
    sleep_ = std::chrono::microseconds(0);
  }
  void wait() {
    const auto now = std::chrono::steady_clock::now();
    if (!idle_since_) idle_since_ = now;
    if (now - *idle_since_ < spin_) {
      // Yield while spinning: with more ranks than cores the message we wait for comes
      // from a rank that needs this core to send it.
      std::this_thread::yield();
      return;
    }
    sleep_ = std::min(max_, std::max(std::chrono::microseconds(5), sleep_ * 2));
    std::this_thread::sleep_for(sleep_);
  }

 private:
  std::chrono::microseconds spin_, max_;
  std::optional<std::chrono::steady_clock::time_point> idle_since_;
  std::chrono::microseconds sleep_{0};
};

/// Sends that may still be in flight, with the buffers they read from.
class PendingSends {
 public:
  void add(mpi::request req, std::string buf) {
    sends_.push_back({std::move(req), std::move(buf)});
    reap();
  }
  void reap() {
    while (!sends_.empty() && sends_.front().req.test()) sends_.pop_front();
  }
  void wait_all() {
    for (auto& s : sends_) s.req.wait();
    sends_.clear();
  }
  bool empty() const { return sends_.empty(); }

 private:
  struct Send {
    mpi::request req;
    std::string buf;
  };
  std::deque<Send> sends_;
};

struct Raw {
  int source = 0;
  int tag = 0;
  std::string bytes;
};

/// Receives one message if one is waiting from `source` (any_source allowed).
inline std::optional<Raw> try_receive(const mpi::communicator& comm, int source) {
  auto st = comm.iprobe(source, mpi::any_tag);
  if (!st) return std::nullopt;
  Raw m;
  m.source = st->source();
  m.tag = st->tag();
  const int n = st->count<char>().value_or(0);
  m.bytes.resize(static_cast<std::size_t>(n));
  comm.recv(m.source, m.tag, m.bytes.data(), n);
  return m;
}

/// Nonblocking sends and polled receives over one communicator, counted: the master's
/// transport and the mesh are both this, each with its own message type on top.
class MpiChannel {
 public:
  MpiChannel(const mpi::communicator& comm, Backoff backoff, MessageCounters& counters)
      : comm_(comm), backoff_(backoff), counters_(counters) {}

  /// Queues `bytes` for `dest`; the buffer lives until the send completes.
  void send(int dest, int tag, std::string bytes) {
    ++counters_.msgs_sent;
    counters_.bytes_sent += bytes.size();
    auto req = comm_.isend(dest, tag, bytes.data(), static_cast<int>(bytes.size()));
    pending_.add(std::move(req), std::move(bytes));
  }

  /// The next message from any rank, waiting at most `max_wait`.
  std::optional<Raw> receive(std::chrono::microseconds max_wait) {
    const auto deadline = std::chrono::steady_clock::now() + max_wait;
    for (;;) {
      if (auto m = try_receive(comm_, mpi::any_source)) {
        backoff_.reset();
        ++counters_.msgs_recv;
        counters_.bytes_recv += m->bytes.size();
        return m;
      }
      pending_.reap();
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      // Large messages move in fragments that need this rank's progress: poll, do not
      // sleep, while a send is in flight.
      if (pending_.empty())
        backoff_.wait();
      else
        std::this_thread::yield();
    }
  }

  void wait_all() { pending_.wait_all(); }
  void set_backoff(Backoff backoff) { backoff_ = backoff; }

 private:
  const mpi::communicator& comm_;
  Backoff backoff_;
  PendingSends pending_;
  MessageCounters& counters_;
};

}  // namespace rankpool::runtime
