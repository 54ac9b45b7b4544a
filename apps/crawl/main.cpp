// rankpool-crawl: a polite distributed web crawler. Rank 0 reads the command line and
// coordinates; the other ranks crawl the origins they own. See rankpool/crawl/crawler.hpp.
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "rankpool/crawl/cli.hpp"
#include "rankpool/crawl/crawler.hpp"
#include "rankpool/farm/cli.hpp"
#include "rankpool/runtime/interrupts.hpp"
#include "rankpool/runtime/mesh.hpp"
#include "app_version_mpi.hpp"

int main(int argc, char** argv) {
  boost::mpi::environment env(argc, argv);
  boost::mpi::communicator world;
  // SIGINT/SIGTERM (Ctrl-C, mpirun forwarding, Slurm's time limit) ask for a clean stop:
  // the crawl loop polls the flag, writes what it has and exits 128+signal on every rank.
  const std::atomic<int>* interrupt = rankpool::runtime::catch_interrupts();

  rankpool::crawl::CrawlCli cli;
  int early_exit = 0;  // 1: --help; 2: --resume of a complete crawl; 3: --version
  if (world.rank() == 0) {
    cli = rankpool::crawl::parse_crawl_cli(argc, argv);
    early_exit = cli.help ? 1 : cli.nothing_to_do ? 2 : cli.version ? 3 : 0;
  }
  // Not a broadcast: rank 0 may spend seconds loading a checkpoint (--resume), and a
  // blocking collective busy-polls, taking the cores rank 0 needs (3 ranks on 2 cores made
  // a 200,000-page resume 2.5x slower). The others poll gently instead.
  constexpr int kEarlyExitTag = 1;  // on world; the crawl itself runs on a duplicate
  if (world.rank() == 0) {
    for (int r = 1; r < world.size(); ++r) world.send(r, kEarlyExitTag, early_exit);
  } else {
    while (!world.iprobe(0, kEarlyExitTag)) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    world.recv(0, kEarlyExitTag, early_exit);
  }
  if (early_exit) {
    if (world.rank() == 0 && early_exit == 1) std::cout << cli.help_text;
    if (world.rank() == 0 && early_exit == 2) std::fprintf(stderr, "rankpool-crawl: %s\n", cli.notice.c_str());
    if (world.rank() == 0 && early_exit == 3) std::cout << rankpool::apps::mpi_version_text("rankpool-crawl");
    return 0;
  }
  // The crawl goes ahead: rank 0 warns once about a User-Agent that gives no contact.
  if (world.rank() == 0 && cli.error.empty() && !cli.warning.empty()) {
    std::fprintf(stderr, "rankpool-crawl: warning: %s\n", cli.warning.c_str());
  }
  // Which proxy the requests go through, when one does (from --proxy or the environment).
  if (world.rank() == 0 && cli.error.empty() && !cli.proxy_notice.empty()) {
    std::fprintf(stderr, "rankpool-crawl: %s\n", cli.proxy_notice.c_str());
  }
  try {
    auto mesh = rankpool::runtime::make_mpi_mesh(world);
    const auto outcome =
        rankpool::crawl::run_crawl(*mesh, cli.job, cli.error, rankpool::crawl::curl_fetcher_factory(), interrupt);
    if (world.rank() == 0 && !outcome.error.empty())
      std::fprintf(stderr, "rankpool-crawl: %s\n", outcome.error.c_str());
    return outcome.exit_code;
  } catch (const std::exception& e) {
    // A broken invariant (an undecodable message): abort the job rather than leave
    // the other ranks waiting.
    std::fprintf(stderr, "rankpool-crawl: rank %d: %s\n", world.rank(), e.what());
    world.abort(3);
  }
  return 3;
}
