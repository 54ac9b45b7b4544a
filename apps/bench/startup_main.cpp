// rankpool-bench-startup: the runtime's start-up and shutdown at one rank count, each the old
// way and the new way, in one launch.
//
//   mpirun -n 64 --oversubscribe rankpool-bench-startup [--repeat 20]
//
//   handshake all-gather  runtime::handshake with Share::all_ranks: every rank gets every
//                         rank's reply (MPI_Allgather + MPI_Allgatherv, what Boost.MPI's
//                         all_gather of a serialized type does; the farm's handshake until 0.2)
//   handshake gather      Share::rank0: MPI_Gather(v) to rank 0, then MPI_Bcast of the outcome
//   stop point-to-point   StopGather over an MPI channel: rank 0 sends one Stop to each worker
//                         and receives one report from each (the farm's stop until 0.2)
//   stop trees            CollectiveStop: MPI_Ibcast down, MPI_Igather(v) up, MPI_Ibarrier
// Workers wait for the stop as the farm's do: polling, with sleeps once idle. Each figure is
// the median over `repeat` rounds of the slowest rank's time (the stop: rank 0's, from the
// first stop sent to the last report in hand), in milliseconds.

#include <mpi.h>

#include <algorithm>
#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "rankpool/runtime/agree.hpp"
#include "rankpool/runtime/communicator.hpp"
#include "rankpool/runtime/host.hpp"
#include "rankpool/runtime/stop.hpp"
#include "rankpool/runtime/stop_collective.hpp"
#include "runtime/mpi_channel.hpp"

namespace mpi = boost::mpi;
using namespace rankpool;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

/// The slowest rank's `mine`, on rank 0.
double slowest(const mpi::communicator& comm, double mine) {
  double out = 0;
  MPI_Reduce(&mine, &out, 1, MPI_DOUBLE, MPI_MAX, 0, comm);
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// The farm worker's idle polling (FarmOptions' defaults: spin 1 ms, then sleeps up to 1 ms).
runtime::Backoff worker_backoff() {
  return runtime::Backoff(std::chrono::milliseconds(1), std::chrono::milliseconds(1));
}

runtime::RankReport report_of(int rank) {
  // About the farm's: the envelope and a few dozen bytes of counters.
  return runtime::RankReport{rank, runtime::host_name(), "worker", 1.25, std::string(96, 'c')};
}

double handshake_round(const mpi::communicator& comm, runtime::Share share) {
  const runtime::Protocol p{"bench", 1, 42, "task types"};
  comm.barrier();
  const auto t0 = Clock::now();
  const auto a = runtime::handshake(comm, p, Status{}, std::string(4, 's'), share);
  const double t = ms_since(t0);
  if (!a.status.ok()) {
    std::fprintf(stderr, "rankpool-bench-startup: handshake failed: %s\n", a.status.message().c_str());
    std::exit(1);
  }
  return slowest(comm, t);
}

double stop_p2p_round(const mpi::communicator& comm, const mpi::communicator& p2p, runtime::MpiChannel& channel) {
  comm.barrier();
  if (comm.rank() == 0) {
    const auto t0 = Clock::now();
    runtime::StopGather gather(comm.size() - 1);
    gather.start(runtime::StopMessage{},
                 [&](int w, const std::string& b) { channel.send(w + 1, runtime::kStopTag, b); });
    gather.collect([&](std::chrono::microseconds wait) -> std::optional<runtime::StopGather::Report> {
      auto m = channel.receive(wait);
      if (!m || m->tag != runtime::kReportTag) return std::nullopt;
      return runtime::StopGather::Report{m->source - 1, std::move(m->bytes)};
    });
    channel.wait_all();
    return ms_since(t0);
  }
  runtime::Backoff backoff = worker_backoff();
  for (;;) {
    if (auto m = runtime::try_receive(p2p, 0)) break;
    backoff.wait();
  }
  channel.send(0, runtime::kReportTag, runtime::encode_report(report_of(comm.rank())));
  channel.wait_all();
  return 0;
}

double stop_tree_round(const mpi::communicator& comm, runtime::CollectiveStop& trees) {
  comm.barrier();
  if (comm.rank() == 0) {
    const auto t0 = Clock::now();
    const auto reports = trees.stop_and_gather(runtime::StopMessage{});
    trees.close();
    if (reports.size() != static_cast<std::size_t>(comm.size() - 1)) std::exit(1);
    return ms_since(t0);
  }
  runtime::Backoff backoff = worker_backoff();
  for (;;) {
    if (auto stop = trees.poll()) {
      trees.report(report_of(comm.rank()));
      return 0;
    }
    backoff.wait();
  }
}

}  // namespace

int main(int argc, char** argv) {
  mpi::environment env(argc, argv);
  mpi::communicator world;
  int repeat = 20;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
      repeat = std::atoi(argv[++i]);
    } else {
      if (world.rank() == 0)
        std::fprintf(stderr, "rankpool-bench-startup: unknown argument '%s' (usage: [--repeat N])\n", argv[i]);
      return 2;
    }
  }
  if (repeat < 1) {
    if (world.rank() == 0) std::fprintf(stderr, "rankpool-bench-startup: --repeat must be at least 1\n");
    return 2;
  }
  const mpi::communicator p2p = runtime::private_communicator(world);
  runtime::MessageCounters counters;
  // Rank 0 polls as the farm's master does while it gathers the stop's replies.
  runtime::MpiChannel channel(p2p, runtime::Backoff(std::chrono::milliseconds(5), std::chrono::microseconds(50)),
                              counters);
  runtime::CollectiveStop trees(world);

  std::vector<double> hs_all, hs_root, stop_p2p, stop_tree;
  for (int i = 0; i < repeat; ++i) {
    // Interleaved, so that a slow moment of the machine hits every mode alike.
    hs_all.push_back(handshake_round(world, runtime::Share::all_ranks));
    hs_root.push_back(handshake_round(world, runtime::Share::rank0));
    stop_p2p.push_back(stop_p2p_round(world, p2p, channel));
    stop_tree.push_back(stop_tree_round(world, trees));
  }
  if (world.rank() == 0) {
    std::printf("ranks %d  repeat %d  (median ms)\n", world.size(), repeat);
    std::printf("  handshake all-gather  %8.3f\n", median(hs_all));
    std::printf("  handshake gather      %8.3f\n", median(hs_root));
    std::printf("  stop point-to-point   %8.3f\n", median(stop_p2p));
    std::printf("  stop trees            %8.3f\n", median(stop_tree));
  }
  return 0;
}
