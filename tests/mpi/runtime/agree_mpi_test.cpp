// The runtime's start-up collectives: every rank gets the same answer, naming the first rank
// that failed; the handshake refuses a rank with another protocol version or digest.
#include <gtest/gtest.h>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/serialization/string.hpp>

#include "rankpool/runtime/agree.hpp"
#include "rankpool/runtime/host.hpp"

using namespace rankpool;
namespace mpi = boost::mpi;

namespace {
void expect_same_on_all_ranks(const mpi::communicator& comm, const std::string& message) {
  std::string root = message;
  mpi::broadcast(comm, root, 0);
  EXPECT_EQ(message, root) << "rank " << comm.rank();
}
}  // namespace

TEST(AgreeOnError, NoFailureIsOkEverywhere) {
  mpi::communicator world;
  const Status s = runtime::agree_on_error(world, Status{});
  EXPECT_TRUE(s.ok()) << s;
}

TEST(AgreeOnError, TheLowestFailingRankIsNamedOnEveryRank) {
  mpi::communicator world;
  // The last rank and (with 3 ranks or more) rank 1 fail: rank 1, the lowest, is reported.
  const int last = world.size() - 1;
  Status mine;
  if (world.rank() == last) mine = Status::error("cannot open tasks.txt");
  if (world.size() >= 3 && world.rank() == 1) mine = Status::error("no cores left");
  const Status s = runtime::agree_on_error(world, mine);
  ASSERT_FALSE(s.ok());
  const std::string want = world.size() == 1   ? "cannot open tasks.txt"  // rank 0 is not named
                           : world.size() == 2 ? "rank 1: cannot open tasks.txt"
                                               : "rank 1: no cores left";
  EXPECT_EQ(s.message(), want);
  expect_same_on_all_ranks(world, s.message());
}

TEST(Handshake, AgreeingRanksShareTheirHostsAndPayloads) {
  mpi::communicator world;
  const runtime::Protocol p{"test", 7, 0xfeed, "options"};
  const auto a = runtime::handshake(world, p, Status{}, "slots=" + std::to_string(world.rank() + 1));
  EXPECT_TRUE(a.status.ok()) << a.status;
  ASSERT_EQ(a.hosts.size(), static_cast<std::size_t>(world.size()));
  ASSERT_EQ(a.payloads.size(), static_cast<std::size_t>(world.size()));
  EXPECT_EQ(a.hosts[static_cast<std::size_t>(world.rank())], runtime::host_name());
  for (int r = 0; r < world.size(); ++r)
    EXPECT_EQ(a.payloads[static_cast<std::size_t>(r)], "slots=" + std::to_string(r + 1));
}

TEST(Handshake, AnotherVersionOrDigestIsRefusedEverywhere) {
  mpi::communicator world;
  if (world.size() < 2) GTEST_SKIP() << "needs a rank to disagree with the master";
  runtime::Protocol p{"test", 7, 1, "task types"};
  if (world.rank() == 1) p.version = 6;
  auto a = runtime::handshake(world, p, Status{});
  EXPECT_EQ(a.status.message(), "rank 1: test protocol 6, the master speaks 7");
  expect_same_on_all_ranks(world, a.status.message());

  runtime::Protocol q{"test", 7, 1, "task types"};
  if (world.rank() == world.size() - 1) q.digest = 2;
  a = runtime::handshake(world, q, Status{});
  EXPECT_EQ(a.status.message(), "rank " + std::to_string(world.size() - 1) + ": different task types than the master");
  expect_same_on_all_ranks(world, a.status.message());

  // A rank's own set-up error travels the same way; rank 0's comes first.
  a = runtime::handshake(world, runtime::Protocol{"test", 7, 1, "x"},
                         world.rank() == 0 ? Status::error("bad queue") : Status::error("bad slots"));
  EXPECT_EQ(a.status.message(), "bad queue");
}

TEST(Handshake, SharedWithRankZeroOnlyTheOthersGetTheSameStatus) {
  mpi::communicator world;
  runtime::Protocol p{"test", 7, 1, "task types"};
  auto a = runtime::handshake(world, p, Status{}, "r" + std::to_string(world.rank()), runtime::Share::rank0);
  EXPECT_TRUE(a.status.ok()) << a.status;
  if (world.rank() == 0) {
    ASSERT_EQ(a.hosts.size(), static_cast<std::size_t>(world.size()));
    ASSERT_EQ(a.payloads.size(), static_cast<std::size_t>(world.size()));
    for (int r = 0; r < world.size(); ++r) EXPECT_EQ(a.payloads[static_cast<std::size_t>(r)], "r" + std::to_string(r));
    EXPECT_EQ(a.hosts.front(), runtime::host_name());
  } else {
    EXPECT_TRUE(a.hosts.empty());
    EXPECT_TRUE(a.payloads.empty());
  }

  if (world.size() < 2) return;
  if (world.rank() == world.size() - 1) p.version = 9;
  a = runtime::handshake(world, p, Status{}, {}, runtime::Share::rank0);
  EXPECT_EQ(a.status.message(), "rank " + std::to_string(world.size() - 1) + ": test protocol 9, the master speaks 7");
  expect_same_on_all_ranks(world, a.status.message());
}
