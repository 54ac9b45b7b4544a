// The stop as nonblocking collectives (stop_collective.hpp): MPI_Ibcast of a fixed header and
// then of the abort reason; MPI_Igather of the report sizes and MPI_Igatherv of their bytes;
// MPI_Ibarrier to close. Every wait polls MPI_Test with the runtime's backoff (ranks may
// outnumber cores, and nonblocking collectives progress only inside MPI calls).
#include "rankpool/runtime/stop_collective.hpp"

#include <mpi.h>

#include <boost/mpi/communicator.hpp>
#include <cstdint>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "rankpool/runtime/communicator.hpp"
#include "runtime/mpi_channel.hpp"

namespace rankpool::runtime {

namespace {

/// What comes down the tree first: a fixed size, so every rank can post its receive early.
struct Header {
  std::int32_t signal = 0;
  std::int32_t gathered = 1;
  std::uint32_t reason_bytes = 0;  // the abort reason follows in a second broadcast when > 0
};

Backoff wait_backoff() {
  // Every rank answers a stop at once: spin (yielding) briefly, then sleep short.
  return Backoff(std::chrono::milliseconds(2), std::chrono::microseconds(200));
}

bool test(MPI_Request& r) {
  if (r == MPI_REQUEST_NULL) return true;
  int done = 0;
  MPI_Test(&r, &done, MPI_STATUS_IGNORE);
  return done != 0;
}

/// Polls `reqs` until all are complete, calling `meanwhile` between polls.
void wait_all(std::vector<MPI_Request*> reqs, const CollectiveStop::Meanwhile& meanwhile,
              std::optional<std::chrono::steady_clock::time_point> deadline = {}) {
  Backoff backoff = wait_backoff();
  for (;;) {
    bool all = true;
    for (auto* r : reqs) all = test(*r) && all;
    if (all) return;
    if (deadline && std::chrono::steady_clock::now() >= *deadline) return;
    if (meanwhile) meanwhile();
    backoff.wait();
  }
}

int checked_int(std::size_t n) {
  if (n > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw std::length_error("stop: a report or reason over 2 GiB");
  return static_cast<int>(n);
}

}  // namespace

struct CollectiveStop::State {
  boost::mpi::communicator comm;
  // A worker's pending receive of the stop. Heap-held: a request still pending when this
  // object goes (a stop that came point to point before the broadcast did) keeps its buffer.
  struct Receive {
    Header header;
    std::string reason;
    MPI_Request header_req = MPI_REQUEST_NULL;
    MPI_Request reason_req = MPI_REQUEST_NULL;
    bool header_done = false;
  };
  Receive* receive = nullptr;

  ~State() {
    if (!receive) return;
    if (receive->header_req != MPI_REQUEST_NULL || receive->reason_req != MPI_REQUEST_NULL)
      return;  // leaked on purpose
    delete receive;
  }
};

CollectiveStop::CollectiveStop(const boost::mpi::communicator& comm) : s_(std::make_unique<State>()) {
  s_->comm = private_communicator(comm);
}

CollectiveStop::~CollectiveStop() = default;

std::optional<CollectiveStop::Stop> CollectiveStop::poll() {
  if (s_->comm.rank() == 0) throw std::logic_error("CollectiveStop::poll is for workers");
  MPI_Comm comm = s_->comm;
  auto*& r = s_->receive;
  if (!r) {
    r = new State::Receive;
    MPI_Ibcast(&r->header, sizeof(Header), MPI_BYTE, 0, comm, &r->header_req);
  }
  if (!r->header_done) {
    if (!test(r->header_req)) return std::nullopt;
    r->header_done = true;
    if (r->header.reason_bytes > 0) {
      r->reason.resize(r->header.reason_bytes);
      MPI_Ibcast(r->reason.data(), checked_int(r->reason.size()), MPI_BYTE, 0, comm, &r->reason_req);
    }
  }
  if (!test(r->reason_req)) return std::nullopt;
  Stop stop{StopMessage{std::move(r->reason), r->header.signal}, r->header.gathered != 0};
  delete r;
  r = nullptr;  // the next poll() (the next run) posts a new receive
  return stop;
}

void CollectiveStop::report(const RankReport& report, const Meanwhile& meanwhile) {
  MPI_Comm comm = s_->comm;
  const std::string bytes = encode_report(report);
  int size = checked_int(bytes.size());
  MPI_Request reqs[3] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  // Posted in order; each completes in its own time.
  MPI_Igather(&size, 1, MPI_INT, nullptr, 0, MPI_INT, 0, comm, &reqs[0]);
  MPI_Igatherv(bytes.data(), size, MPI_BYTE, nullptr, nullptr, nullptr, MPI_BYTE, 0, comm, &reqs[1]);
  MPI_Ibarrier(comm, &reqs[2]);
  wait_all({&reqs[0], &reqs[1], &reqs[2]}, meanwhile);
}

std::vector<RankReport> CollectiveStop::stop_and_gather(const StopMessage& stop, const Meanwhile& meanwhile) {
  MPI_Comm comm = s_->comm;
  const int n = s_->comm.size();
  Header h{stop.signal, 1, static_cast<std::uint32_t>(checked_int(stop.abort_reason.size()))};
  std::string reason = stop.abort_reason;
  MPI_Request bcast[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  MPI_Ibcast(&h, sizeof(Header), MPI_BYTE, 0, comm, &bcast[0]);
  if (h.reason_bytes > 0) MPI_Ibcast(reason.data(), checked_int(reason.size()), MPI_BYTE, 0, comm, &bcast[1]);

  int zero = 0;
  std::vector<int> sizes(static_cast<std::size_t>(n));
  MPI_Request sizes_req = MPI_REQUEST_NULL;
  MPI_Igather(&zero, 1, MPI_INT, sizes.data(), 1, MPI_INT, 0, comm, &sizes_req);
  wait_all({&bcast[0], &bcast[1], &sizes_req}, meanwhile);

  std::vector<int> offsets(static_cast<std::size_t>(n));
  std::size_t total = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    offsets[i] = checked_int(total);
    total += static_cast<std::size_t>(sizes[i]);
  }
  std::string all(static_cast<std::size_t>(checked_int(total)), '\0');
  MPI_Request bytes_req = MPI_REQUEST_NULL;
  MPI_Igatherv(nullptr, 0, MPI_BYTE, all.data(), sizes.data(), offsets.data(), MPI_BYTE, 0, comm, &bytes_req);
  wait_all({&bytes_req}, meanwhile);

  std::vector<RankReport> reports;
  reports.reserve(static_cast<std::size_t>(n > 0 ? n - 1 : 0));
  for (std::size_t r = 1; r < sizes.size(); ++r)
    reports.push_back(decode_report(
        std::string_view(all).substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(sizes[r]))));
  return reports;
}

void CollectiveStop::close(const Meanwhile& meanwhile) {
  MPI_Request req = MPI_REQUEST_NULL;
  MPI_Ibarrier(s_->comm, &req);
  wait_all({&req}, meanwhile);
}

void CollectiveStop::announce_direct(const StopMessage& stop, std::chrono::steady_clock::time_point deadline) {
  MPI_Comm comm = s_->comm;
  // Heap-held: rank 0 does not wait past the deadline for its part, and the buffers must
  // outlive the requests.
  auto* h = new Header{stop.signal, 0, 0};
  MPI_Request req = MPI_REQUEST_NULL;
  MPI_Ibcast(h, sizeof(Header), MPI_BYTE, 0, comm, &req);
  wait_all({&req}, {}, deadline);
  if (req == MPI_REQUEST_NULL) delete h;
}

}  // namespace rankpool::runtime
