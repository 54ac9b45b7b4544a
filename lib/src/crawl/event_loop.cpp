// run_crawl(): one rank's event loop. Each rank drives its roles — the coordinator on rank 0,
// a worker on every other rank (both on a single rank) — from one thread: messages first (up
// to a burst), then each role's tick(), then a wait bounded by the worker's next deadline.
// Over MPI (several ranks) the run opens with the runtime's handshake and a normal end goes
// over its stop trees (runtime/agree.hpp, runtime/stop_collective.hpp).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

#include "crawl/coordinator.hpp"
#include "crawl/worker.hpp"
#include "rankpool/crawl/crawler.hpp"
#include "rankpool/farm/detail/protocol.hpp"
#include "rankpool/runtime/agree.hpp"
#include "rankpool/runtime/stop_collective.hpp"

namespace rankpool::crawl {

namespace {

/// The crawl's protocol as this rank speaks it. RANKPOOL_CRAWL_TEST_PROTOCOL=RANK:VERSION (a
/// test hook) makes rank RANK claim another version, as a rank of another build would.
runtime::Protocol crawl_protocol(int rank, Status& problem) {
  // The options travel in Start (Boost.Serialization): their layout and defaults must be the
  // same on every rank, which a digest of a default Start covers.
  runtime::Protocol p{"crawl", kCrawlProtocolVersion, fnv1a(encode_start(StartMessage{})),
                      "crawl options (layout and defaults)"};
  if (const char* env = std::getenv("RANKPOOL_CRAWL_TEST_PROTOCOL"); env && *env) {
    int r = -1;
    unsigned version = 0;
    char tail = 0;
    if (std::sscanf(env, "%d:%u%c", &r, &version, &tail) != 2)
      problem = Status::error(std::string("RANKPOOL_CRAWL_TEST_PROTOCOL: want RANK:VERSION, not '") + env + "'");
    else if (r == rank)
      p.version = version;
  }
  return p;
}

}  // namespace

CrawlOutcome run_crawl(Mesh& mesh, const CrawlJob& job, const std::string& setup_error,
                       const FetcherFactory& make_fetcher, const std::atomic<int>* interrupt) {
  // Over MPI: every rank checks that it speaks the master's protocol before any message (a
  // gather to rank 0, O(ranks) bytes), then sets up the stop trees.
  std::unique_ptr<runtime::CollectiveStop> trees;
  const auto t0 = std::chrono::steady_clock::now();
  if (const auto* comm = mesh.communicator()) {
    Status problem;
    const runtime::Protocol protocol = crawl_protocol(mesh.rank(), problem);
    const runtime::Agreement agreed =
        runtime::handshake(*comm, protocol, problem, mesh.rank() == 0 ? "master" : "worker", runtime::Share::rank0);
    if (!agreed.status) {
      CrawlOutcome o;
      o.exit_code = 2;
      o.error = agreed.status.message();
      return o;
    }
    if (mesh.size() > 1) trees = std::make_unique<runtime::CollectiveStop>(*comm);
  }
  std::optional<Coordinator> master;
  std::optional<Worker> worker;
  if (mesh.rank() == 0) {
    master.emplace(mesh, job, setup_error, interrupt, trees.get());
    master->set_handshake_ms(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  if (mesh.rank() != 0 || mesh.size() == 1) worker.emplace(mesh, make_fetcher, interrupt, trees.get());
  if (master) master->begin();

  auto dispatch = [&](MeshMessage& m) {
    const bool to_master = for_master(static_cast<CrawlTag>(m.tag));
    if (to_master && master)
      master->on_message(m);
    else if (!to_master && worker)
      worker->on_message(m);
    else
      throw farm::ProtocolError("rank " + std::to_string(mesh.rank()) + " got a message for another role, tag " +
                                std::to_string(m.tag));
  };
  auto running = [&] { return (master && !master->done()) || (worker && !worker->done()); };
  while (running()) {
    bool busy = false;
    for (int i = 0; i < 256; ++i) {
      auto m = mesh.receive(std::chrono::microseconds(0));
      if (!m) break;
      dispatch(*m);
      busy = true;
    }
    if (worker && !worker->done()) busy |= worker->tick();
    if (master && !master->done()) busy |= master->tick();
    if (!busy && running()) {
      auto wait = worker && !worker->done() ? worker->wait_hint() : std::chrono::microseconds(5000);
      if (auto m = mesh.receive(wait)) dispatch(*m);
    }
  }
  mesh.flush();
  if (master) return master->outcome();
  CrawlOutcome o;
  o.exit_code = worker->exit_code();
  o.error = worker->error();
  o.interrupted = o.exit_code >= 128;
  return o;
}

}  // namespace rankpool::crawl
