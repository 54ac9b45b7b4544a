// The farm over real MPI. Every test is collective: all ranks run it; the master's
// assertions run on rank 0, and RunStatus must agree on every rank.
#include <gtest/gtest.h>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <numeric>
#include <set>

#include "rankpool/farm/farm.hpp"

using namespace rankpool::farm;
namespace mpi = boost::mpi;

namespace {

Registry registry() {
  Registry r;
  r.add<int, long>("square", [](int x) { return static_cast<long>(x) * x; });
  r.add<std::string, std::size_t>("length", [](const std::string& s) { return s.size(); });
  r.add<int, int>("fails_on_7", [](int x) {
    if (x % 10 == 7) throw std::runtime_error(std::string("unlucky ").append(std::to_string(x)));
    return -x;
  });
  return r;
}

FarmOptions quiet() {
  FarmOptions o;
  o.quiet = true;
  return o;
}

// Every rank must agree on the run's status.
void expect_same_on_all_ranks(const RunStatus& s) {
  mpi::communicator world;
  std::vector<std::string> errors;
  mpi::all_gather(world, s.error, errors);
  for (const auto& e : errors) EXPECT_EQ(e, s.error);
  std::vector<int> codes;
  mpi::all_gather(world, s.exit_code(), codes);
  for (int c : codes) EXPECT_EQ(c, s.exit_code());
}

}  // namespace

TEST(FarmMpi, EveryResultArrivesOnceAndEqualsTheSequentialAnswer) {
  mpi::communicator world;
  Registry reg = registry();
  for (Schedule sched : {Schedule::dynamic, Schedule::static_}) {
    FarmOptions o = quiet();
    o.schedule = sched;
    Farm farm(world, reg, o);
    std::vector<int> xs(20000);
    std::iota(xs.begin(), xs.end(), -7000);
    std::size_t callbacks = 0;
    auto status = farm.run([&](Master& m) {
      MapOptions<long> mo;
      mo.on_result = [&](Outcome<long>& r) {
        ++callbacks;
        EXPECT_EQ(*r.value, static_cast<long>(xs[r.index]) * xs[r.index]);
      };
      auto res = m.map<long>("square", xs, mo);
      ASSERT_EQ(res.values.size(), xs.size());
      for (std::size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(res.values[i], static_cast<long>(xs[i]) * xs[i]);
      std::set<int> ranks;
      for (std::size_t i = 0; i < xs.size(); ++i) ranks.insert(res.rank_of(i));
      if (world.size() == 1) {
        EXPECT_EQ(ranks, std::set<int>{0});
      } else {
        EXPECT_EQ(ranks.count(0), 0u) << "the master does not compute when it has workers";
      }
    });
    EXPECT_TRUE(status.ok()) << status.error;
    expect_same_on_all_ranks(status);
    if (farm.is_master()) {
      EXPECT_EQ(callbacks, xs.size());
      const auto& st = farm.stats();
      ASSERT_EQ(st.ranks.size(), static_cast<std::size_t>(world.size()));
      std::uint64_t executed = 0;
      for (const auto& r : st.ranks) executed += r.role == "master" ? 0 : r.tasks;
      EXPECT_EQ(executed, xs.size()) << "each task executed exactly once";
      EXPECT_EQ(st.tasks_completed, xs.size());
      EXPECT_FALSE(st.hosts().empty());
    }
  }
}

TEST(FarmMpi, SerializedTypesAndUnbatchedMode) {
  mpi::communicator world;
  Registry reg = registry();
  FarmOptions o = quiet();
  o.batch_size = 1;
  Farm farm(world, reg, o);
  auto status = farm.run([&](Master& m) {
    std::vector<std::string> words;
    for (int i = 0; i < 500; ++i) words.push_back(std::string(static_cast<std::size_t>(i % 37), 'w'));
    auto res = m.map<std::size_t>("length", words);
    for (std::size_t i = 0; i < words.size(); ++i) EXPECT_EQ(res.values[i], words[i].size());
  });
  EXPECT_TRUE(status.ok()) << status.error;
  if (farm.is_master()) {
    std::uint64_t batches = 0;
    for (const auto& r : farm.stats().ranks) batches += r.role == "master" ? 0 : r.batches;
    EXPECT_EQ(batches, 500u) << "batch_size 1 means one task per message";
  }
}

TEST(FarmMpi, ThrowingTaskIsRetriedThenReportedAndTheRunSaysSo) {
  mpi::communicator world;
  Registry reg = registry();
  FarmOptions o = quiet();
  o.max_retries = 1;
  Farm farm(world, reg, o);
  auto status = farm.run([&](Master& m) {
    std::vector<int> xs(100);
    std::iota(xs.begin(), xs.end(), 0);
    auto res = m.map<int>("fails_on_7", xs);
    ASSERT_EQ(res.failures.size(), 10u);
    for (const auto& f : res.failures) {
      EXPECT_EQ(f.index % 10, 7u);
      EXPECT_EQ(f.attempts, 2);
      EXPECT_EQ(f.message, std::string("unlucky ").append(std::to_string(f.index)));
    }
    for (std::size_t i = 0; i < xs.size(); ++i) {
      if (i % 10 != 7) {
        EXPECT_EQ(res.values[i], -xs[i]);
      }
    }
  });
  EXPECT_EQ(status.failed_tasks, 10u);
  EXPECT_EQ(status.exit_code(), 1);
  expect_same_on_all_ranks(status);
  if (farm.is_master()) {
    EXPECT_EQ(farm.stats().retries, 10u);
  }
}

TEST(FarmMpi, QueuesRouteTasksToTheirRanks) {
  mpi::communicator world;
  if (world.size() < 3) GTEST_SKIP() << "needs two workers";
  Registry reg = registry();
  FarmOptions o = quiet();
  o.queues = {parse_queue_assignment("square=1", world.size()),
              parse_queue_assignment("length=2-", world.size()),
              parse_queue_assignment("fails_on_7=2-", world.size())};
  Farm farm(world, reg, o);
  auto status = farm.run([&](Master& m) {
    std::vector<int> xs(3000, 5);
    auto a = m.map<long>("square", xs);
    for (std::size_t i = 0; i < xs.size(); ++i) EXPECT_EQ(a.rank_of(i), 1);
    std::vector<std::string> ws(3000, "abc");
    auto b = m.map<std::size_t>("length", ws);
    for (std::size_t i = 0; i < ws.size(); ++i) EXPECT_GE(b.rank_of(i), 2);
  });
  EXPECT_TRUE(status.ok()) << status.error;
}

TEST(FarmMpi, BadQueueAssignmentIsAnErrorOnEveryRank) {
  mpi::communicator world;
  if (world.size() < 2) GTEST_SKIP() << "a single rank serves every queue";
  Registry reg = registry();
  FarmOptions o = quiet();
  o.queues = {QueueAssignment{"square", {world.size()}}};
  Farm farm(world, reg, o);
  bool body_ran = false;
  auto status = farm.run([&](Master&) { body_ran = true; });
  EXPECT_FALSE(body_ran);
  EXPECT_NE(status.error.find("names rank " + std::to_string(world.size())), std::string::npos) << status.error;
  EXPECT_EQ(status.exit_code(), 2);
  expect_same_on_all_ranks(status);
}

TEST(FarmMpi, OrderedAndCompletionModes) {
  mpi::communicator world;
  Registry reg = registry();
  FarmOptions o = quiet();
  o.batch_size = 2;
  Farm farm(world, reg, o);
  auto status = farm.run([&](Master& m) {
    std::vector<int> xs(301);
    std::iota(xs.begin(), xs.end(), 0);
    std::vector<std::size_t> in_order, as_done;
    MapOptions<long> a;
    a.on_result = [&](Outcome<long>& r) { in_order.push_back(r.index); };
    m.map<long>("square", xs, a);
    MapOptions<long> b;
    b.order = Order::completion;
    b.on_result = [&](Outcome<long>& r) { as_done.push_back(r.index); };
    m.map<long>("square", xs, b);
    std::vector<std::size_t> expect(xs.size());
    std::iota(expect.begin(), expect.end(), 0);
    EXPECT_EQ(in_order, expect);
    std::sort(as_done.begin(), as_done.end());
    EXPECT_EQ(as_done, expect);
  });
  EXPECT_TRUE(status.ok()) << status.error;
}

TEST(FarmMpi, EmptyListAndMoreWorkersThanTasks) {
  mpi::communicator world;
  Registry reg = registry();
  Farm farm(world, reg, quiet());
  auto status = farm.run([&](Master& m) {
    EXPECT_TRUE(m.map<long>("square", std::vector<int>{}).values.empty());
    auto r = m.map<long>("square", std::vector<int>{2, 3});
    EXPECT_EQ(r.values, (std::vector<long>{4, 9}));
  });
  EXPECT_TRUE(status.ok()) << status.error;
}

TEST(FarmMpi, SubmitAndWaitAll) {
  mpi::communicator world;
  Registry reg = registry();
  Farm farm(world, reg, quiet());
  auto status = farm.run([&](Master& m) {
    long total = 0;
    for (int i = 1; i <= 1000; ++i) m.submit<long>("square", i, [&](Outcome<long>& o) { total += *o.value; });
    auto s = m.wait_all();
    EXPECT_EQ(s.completed, 1000u);
    EXPECT_EQ(total, 333833500L);
  });
  EXPECT_TRUE(status.ok()) << status.error;
}

TEST(FarmMpi, ErrorsInTheMasterBodyStopEveryRankCleanly) {
  mpi::communicator world;
  Registry reg = registry();
  Farm farm(world, reg, quiet());
  auto status = farm.run([&](Master& m) {
    std::vector<int> xs(1000, 1);
    m.map<long>("square", xs);
    m.map<long>("no_such_type", xs);
  });
  EXPECT_EQ(status.error, "unknown task type 'no_such_type'");
  EXPECT_EQ(status.exit_code(), 2);
  expect_same_on_all_ranks(status);
  // The farm is usable again afterwards.
  auto again = farm.run([&](Master& m) { m.map<long>("square", std::vector<int>{1, 2}); });
  EXPECT_TRUE(again.ok()) << again.error;
}

TEST(FarmMpi, RanksWithDifferentTaskTypesAreRefusedEverywhere) {
  mpi::communicator world;
  if (world.size() < 2) GTEST_SKIP() << "needs a worker to disagree with";
  Registry reg = registry();
  if (world.rank() == world.size() - 1) reg.add<int, int>("extra", [](int x) { return x; });
  Farm farm(world, reg, quiet());
  bool body_ran = false;
  auto status = farm.run([&](Master&) { body_ran = true; });
  EXPECT_FALSE(body_ran);
  EXPECT_NE(status.error.find("different task types"), std::string::npos) << status.error;
  expect_same_on_all_ranks(status);
}
