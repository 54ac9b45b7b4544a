// The stop over the runtime's trees (stop_collective.hpp): the stop reaches every worker, every
// report reaches rank 0, twice on the same object (one per run); and the point-to-point
// fallback a deadline needs: a worker that never answers costs only its own report.
#include <gtest/gtest.h>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <chrono>
#include <thread>

#include "rankpool/runtime/communicator.hpp"
#include "rankpool/runtime/stop.hpp"
#include "rankpool/runtime/stop_collective.hpp"
#include "runtime/mpi_channel.hpp"

using namespace rankpool;
namespace mpi = boost::mpi;
using runtime::CollectiveStop;
using runtime::RankReport;
using runtime::StopMessage;

namespace {

RankReport report_of(int rank, int run) {
  // Sizes differ by rank: the gather's offsets must be right, not just its count.
  return RankReport{rank, "host" + std::to_string(rank), "worker", 0.5 * rank,
                    "run " + std::to_string(run) + " " + std::string(static_cast<std::size_t>(rank * 7), 'x')};
}

/// A worker's side: polls until the stop arrives, then reports.
StopMessage serve(CollectiveStop& trees, int rank, int run) {
  for (;;) {
    if (auto stop = trees.poll()) {
      EXPECT_TRUE(stop->gathered);
      trees.report(report_of(rank, run));
      return stop->message;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

}  // namespace

TEST(CollectiveStop, TheStopReachesEveryWorkerAndEveryReportComesBackTwice) {
  mpi::communicator world;
  CollectiveStop trees(world);
  for (int run = 0; run < 2; ++run) {
    // An abort reason of some length on the first run, none on the second (one broadcast).
    const StopMessage sent{run == 0 ? "the body threw: " + std::string(300, 'e') : "", run == 0 ? 0 : 15};
    if (world.rank() == 0) {
      const auto reports = trees.stop_and_gather(sent);
      trees.close();
      EXPECT_EQ(reports.size(), static_cast<std::size_t>(world.size() - 1));
      for (std::size_t w = 0; w < reports.size(); ++w) EXPECT_EQ(reports[w], report_of(static_cast<int>(w) + 1, run));
    } else {
      EXPECT_EQ(serve(trees, world.rank(), run), sent) << "rank " << world.rank() << " run " << run;
    }
  }
  // Nothing left pending on either side: a plain collective on the caller's communicator.
  world.barrier();
}

TEST(CollectiveStop, ASilentWorkerCostsOnlyItsOwnReportOnThePointToPointPath) {
  mpi::communicator world;
  if (world.size() < 2) GTEST_SKIP() << "needs a worker";
  CollectiveStop trees(world);
  const mpi::communicator channel_comm = runtime::private_communicator(world);
  runtime::MessageCounters counters;
  runtime::MpiChannel channel(channel_comm,
                              runtime::Backoff(std::chrono::milliseconds(1), std::chrono::microseconds(200)), counters);
  const int silent = world.size() - 1;  // the last rank never answers (stuck inside a task)
  const StopMessage sent{"interrupted", 2};
  if (world.rank() == 0) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    trees.announce_direct(sent, deadline);
    runtime::StopGather gather(world.size() - 1);
    gather.start(
        sent, [&](int w, const std::string& bytes) { channel.send(w + 1, runtime::kStopTag, bytes); }, deadline);
    gather.collect([&](std::chrono::microseconds wait) -> std::optional<runtime::StopGather::Report> {
      auto m = channel.receive(wait);
      if (!m || m->tag != runtime::kReportTag) return std::nullopt;
      return runtime::StopGather::Report{m->source - 1, std::move(m->bytes)};
    });
    EXPECT_EQ(gather.missing(), 1);
    for (int w = 0; w + 1 < world.size(); ++w) {
      const auto& r = gather.reports()[static_cast<std::size_t>(w)];
      if (w + 1 == silent) {
        EXPECT_FALSE(r.has_value());
      } else {
        EXPECT_EQ(r.value_or(RankReport{}), report_of(w + 1, 0)) << "worker " << w;
      }
    }
  } else {
    // The tree says "the stop comes point to point"; then the stop itself arrives on the channel.
    bool announced = false;
    std::optional<runtime::Raw> stop;
    while (!stop || !announced) {
      if (!announced) {
        if (auto a = trees.poll()) {
          EXPECT_FALSE(a->gathered);
          EXPECT_EQ(a->message.signal, 2);
          announced = true;
        }
      }
      if (!stop) stop = channel.receive(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(stop->tag, runtime::kStopTag);
    EXPECT_EQ(runtime::decode_stop(stop->bytes), sent);
    if (world.rank() != silent)
      channel.send(0, runtime::kReportTag, runtime::encode_report(report_of(world.rank(), 0)));
    channel.wait_all();
  }
  // The silent rank's stop was received; every rank meets again (the job goes on as today).
  world.barrier();
}
