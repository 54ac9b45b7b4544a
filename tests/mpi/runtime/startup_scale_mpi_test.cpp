// Start-up and shutdown at many ranks (registered at 16 and 64, oversubscribed): the
// handshake that gathers to rank 0 and the stop over the trees, end to end.
#include <gtest/gtest.h>

#include <boost/mpi/communicator.hpp>
#include <chrono>
#include <thread>

#include "rankpool/runtime/agree.hpp"
#include "rankpool/runtime/host.hpp"
#include "rankpool/runtime/stop_collective.hpp"

using namespace rankpool;
namespace mpi = boost::mpi;

TEST(StartupScale, HandshakeToRankZeroThenStopAndGather) {
  mpi::communicator world;
  const runtime::Protocol p{"test", 3, 0xabc, "task types"};
  const auto a =
      runtime::handshake(world, p, Status{}, "slots=" + std::to_string(world.rank() % 4 + 1), runtime::Share::rank0);
  EXPECT_TRUE(a.status.ok()) << a.status;
  if (world.rank() == 0) {
    ASSERT_EQ(a.payloads.size(), static_cast<std::size_t>(world.size()));
    for (int r = 0; r < world.size(); ++r)
      EXPECT_EQ(a.payloads[static_cast<std::size_t>(r)], "slots=" + std::to_string(r % 4 + 1));
  } else {
    EXPECT_TRUE(a.payloads.empty());
    EXPECT_TRUE(a.hosts.empty());
  }

  runtime::CollectiveStop trees(world);
  if (world.rank() == 0) {
    const auto reports = trees.stop_and_gather(runtime::StopMessage{"", 0});
    trees.close();
    ASSERT_EQ(reports.size(), static_cast<std::size_t>(world.size() - 1));
    for (int w = 0; w + 1 < world.size(); ++w) {
      EXPECT_EQ(reports[static_cast<std::size_t>(w)].rank, w + 1);
      EXPECT_EQ(reports[static_cast<std::size_t>(w)].payload, std::to_string((w + 1) * (w + 1)));
    }
  } else {
    for (;;) {
      if (auto stop = trees.poll()) {
        EXPECT_TRUE(stop->gathered);
        trees.report(runtime::RankReport{world.rank(), runtime::host_name(), "worker", 0,
                                         std::to_string(world.rank() * world.rank())});
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
}
