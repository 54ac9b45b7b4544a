// LocalMesh: the in-process mesh the crawler's unit tests run on, held to the Mesh contract.
#include <gtest/gtest.h>

#include <thread>

#include "rankpool/runtime/host.hpp"
#include "rankpool/runtime/mesh.hpp"

using namespace rankpool::runtime;

TEST(LocalMesh, DeliversInOrderPerSenderAndCounts) {
  LocalMesh mesh(3);
  Mesh& a = mesh.endpoint(0);
  Mesh& b = mesh.endpoint(1);
  EXPECT_EQ(a.rank(), 0);
  EXPECT_EQ(b.size(), 3);
  for (int i = 0; i < 5; ++i) a.send(1, 40 + i, std::string(static_cast<std::size_t>(i), 'x'));
  for (int i = 0; i < 5; ++i) {
    auto m = b.receive(std::chrono::microseconds(0));
    ASSERT_TRUE(m);
    EXPECT_EQ(m->source, 0);
    EXPECT_EQ(m->tag, 40 + i) << "one sender's messages keep their order, whatever their tags";
    EXPECT_EQ(m->bytes.size(), static_cast<std::size_t>(i));
  }
  EXPECT_FALSE(b.receive(std::chrono::microseconds(0)));
  EXPECT_EQ(a.counters().msgs_sent, 5u);
  EXPECT_EQ(a.counters().bytes_sent, 10u);
  EXPECT_EQ(b.counters().msgs_recv, 5u);
  EXPECT_EQ(b.counters().bytes_recv, 10u);
}

TEST(LocalMesh, AMessageToOneselfIsDeliveredAndAWaitingReceiveWakesUp) {
  LocalMesh mesh(2);
  mesh.endpoint(0).send(0, 7, "self");
  auto m = mesh.endpoint(0).receive(std::chrono::microseconds(0));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->bytes, "self");
  std::thread sender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    mesh.endpoint(1).send(0, 8, "late");
  });
  auto late = mesh.endpoint(0).receive(std::chrono::seconds(10));
  sender.join();
  ASSERT_TRUE(late);
  EXPECT_EQ(late->source, 1);
}

TEST(LocalMesh, RefusesBadRanksAndNamesTheHost) {
  EXPECT_THROW(LocalMesh(0), std::invalid_argument);
  LocalMesh mesh(1);
  EXPECT_THROW(mesh.endpoint(0).send(1, 1, {}), std::out_of_range);
  EXPECT_EQ(mesh.endpoint(0).host(), host_name());
  EXPECT_FALSE(host_name().empty());
}
