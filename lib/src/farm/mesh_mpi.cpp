// The mesh over MPI: nonblocking byte sends, iprobe-driven receives with backoff.
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/nonblocking.hpp>
#include <stdexcept>

#include "mpi_detail.hpp"
#include "rankpool/farm/farm.hpp"
#include "rankpool/farm/mesh.hpp"

namespace rankpool::farm {
namespace {

class MpiMesh final : public Mesh {
 public:
  explicit MpiMesh(const mpi::communicator& comm)
      : comm_(comm, mpi::comm_duplicate),
        // Spin only briefly: a crawler rank mostly waits for sockets, not for messages.
        backoff_(std::chrono::microseconds(20), std::chrono::microseconds(500)),
        host_(host_name()) {}
  ~MpiMesh() override { flush(); }

  int rank() const override { return comm_.rank(); }
  int size() const override { return comm_.size(); }
  void send(int dest, int tag, std::string bytes) override {
    if (dest < 0 || dest >= size()) throw std::out_of_range("mesh: no rank " + std::to_string(dest));
    ++counters_.msgs_sent;
    counters_.bytes_sent += bytes.size();
    auto req = comm_.isend(dest, tag, bytes.data(), static_cast<int>(bytes.size()));
    pending_.add(std::move(req), std::move(bytes));
  }
  std::optional<MeshMessage> receive(std::chrono::microseconds max_wait) override {
    const auto deadline = std::chrono::steady_clock::now() + max_wait;
    for (;;) {
      if (auto m = try_receive(comm_, mpi::any_source)) {
        backoff_.reset();
        ++counters_.msgs_recv;
        counters_.bytes_recv += m->bytes.size();
        return MeshMessage{m->source, m->tag, std::move(m->bytes)};
      }
      pending_.reap();
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      // A send in flight needs this rank's progress: yield, do not sleep, meanwhile.
      if (pending_.empty()) backoff_.wait();
      else std::this_thread::yield();
    }
  }
  void flush() override { pending_.wait_all(); }
  std::string host() const override { return host_; }

 private:
  mpi::communicator comm_;
  Backoff backoff_;
  PendingSends pending_;
  std::string host_;
};

}  // namespace

std::unique_ptr<Mesh> make_mpi_mesh(const mpi::communicator& comm) { return std::make_unique<MpiMesh>(comm); }

}  // namespace rankpool::farm
