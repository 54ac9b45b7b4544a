// The in-process mesh (for tests and single-process runs of mesh algorithms).
#include <stdexcept>

#include "rankpool/runtime/host.hpp"
#include "rankpool/runtime/mesh.hpp"

namespace rankpool::runtime {

Mesh::~Mesh() = default;

class LocalMesh::Endpoint final : public Mesh {
 public:
  Endpoint(LocalMesh& mesh, int rank) : mesh_(mesh), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return mesh_.size(); }
  void send(int dest, int tag, std::string bytes) override {
    if (dest < 0 || dest >= size()) throw std::out_of_range("LocalMesh: no rank " + std::to_string(dest));
    ++counters_.msgs_sent;
    counters_.bytes_sent += bytes.size();
    Mailbox& box = *mesh_.boxes_[static_cast<std::size_t>(dest)];
    {
      std::lock_guard lock(box.mutex);
      box.queue.push_back(MeshMessage{rank_, tag, std::move(bytes)});
    }
    box.cv.notify_one();
  }
  std::optional<MeshMessage> receive(std::chrono::microseconds max_wait) override {
    Mailbox& box = *mesh_.boxes_[static_cast<std::size_t>(rank_)];
    std::unique_lock lock(box.mutex);
    if (box.queue.empty() && max_wait.count() > 0) box.cv.wait_for(lock, max_wait, [&] { return !box.queue.empty(); });
    if (box.queue.empty()) return std::nullopt;
    MeshMessage m = std::move(box.queue.front());
    box.queue.pop_front();
    ++counters_.msgs_recv;
    counters_.bytes_recv += m.bytes.size();
    return m;
  }
  void flush() override {}
  std::string host() const override { return host_name(); }

 private:
  LocalMesh& mesh_;
  int rank_;
};

LocalMesh::LocalMesh(int size) {
  if (size < 1) throw std::invalid_argument("LocalMesh needs at least one rank");
  for (int r = 0; r < size; ++r) boxes_.push_back(std::make_unique<Mailbox>());
  for (int r = 0; r < size; ++r) endpoints_.push_back(std::make_unique<Endpoint>(*this, r));
}

LocalMesh::~LocalMesh() = default;

Mesh& LocalMesh::endpoint(int rank) { return *endpoints_.at(static_cast<std::size_t>(rank)); }

}  // namespace rankpool::runtime
