// run_crawl(): one rank's event loop. Each rank drives its roles — the coordinator on rank 0,
// a worker on every other rank (both on a single rank) — from one thread: messages first (up
// to a burst), then each role's tick(), then a wait bounded by the worker's next deadline.
#include <optional>

#include "crawl/coordinator.hpp"
#include "crawl/worker.hpp"
#include "rankpool/crawl/crawler.hpp"
#include "rankpool/farm/detail/protocol.hpp"

namespace rankpool::crawl {

CrawlOutcome run_crawl(Mesh& mesh, const CrawlJob& job, const std::string& setup_error,
                       const FetcherFactory& make_fetcher, const std::atomic<int>* interrupt) {
  std::optional<Coordinator> master;
  std::optional<Worker> worker;
  if (mesh.rank() == 0) master.emplace(mesh, job, setup_error, interrupt);
  if (mesh.rank() != 0 || mesh.size() == 1) worker.emplace(mesh, make_fetcher, interrupt);
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
