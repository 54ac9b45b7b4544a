// The farm over real MPI. Every test is collective: all ranks run it; the master's
// assertions run on rank 0, and RunStatus must agree on every rank.
#include <gtest/gtest.h>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <numeric>
#include <set>
#include <thread>

#include "rankpool/farm/context.hpp"
#include "rankpool/farm/farm.hpp"

using namespace rankpool::farm;
namespace mpi = boost::mpi;

namespace {

constexpr int kSleepy = 13;                // the input of "sleepy" that takes 20 s
std::atomic<bool> g_wake_sleepers{false};  // ends abandoned sleepers once a test is done
std::atomic<int> g_running{0}, g_peak{0};  // "where" tasks running in this process, and the most

Registry registry() {
  Registry r;
  r.add<int, long>("square", [](int x) { return static_cast<long>(x) * x; });
  r.add<std::string, std::size_t>("length", [](const std::string& s) { return s.size(); });
  r.add<int, int>("fails_on_7", [](int x) {
    if (x % 10 == 7) throw std::runtime_error(std::string("unlucky ").append(std::to_string(x)));
    return -x;
  });
  // 20 s for one input. Sleeps in steps so that the threads a timeout abandoned can be
  // ended after the test (they would otherwise outlive it); captures nothing, so returning
  // touches no memory of the registry, which is gone by then.
  r.add<int, int>("sleepy", [](int x) {
    if (x == kSleepy) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (std::chrono::steady_clock::now() < until && !g_wake_sleepers.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    return 2 * x;
  });
  // Reports where it ran and how many tasks this process was running at its start.
  r.add<int, std::array<int, 3>>("where", [](int) {
    const int now = ++g_running;
    int peak = g_peak.load();
    while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    --g_running;
    return std::array<int, 3>{this_task().rank, this_task().slot, now};
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
  o.queues = {parse_queue_assignment("square=1", world.size()), parse_queue_assignment("length=2-", world.size()),
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

// One Farm, several runs: the agreement check ran once, at construction, and each run's
// statistics cover that run's ranks once (no host counted again per run).
TEST(FarmMpi, RunningTwiceKeepsOneRowPerRankAndPerHost) {
  mpi::communicator world;
  Registry reg = registry();
  Farm farm(world, reg, quiet());
  std::vector<int> xs(500, 4);
  std::vector<HostStats> first_hosts;
  for (int run = 0; run < 2; ++run) {
    auto status = farm.run([&](Master& m) { ASSERT_TRUE(m.map<long>("square", xs).ok()); });
    EXPECT_TRUE(status.ok()) << status.error;
    expect_same_on_all_ranks(status);
    if (!farm.is_master()) continue;
    const auto& st = farm.stats();
    ASSERT_EQ(st.ranks.size(), static_cast<std::size_t>(world.size())) << "run " << run;
    for (int r = 0; r < world.size(); ++r) EXPECT_EQ(st.ranks[static_cast<std::size_t>(r)].rank, r);
    const auto hosts = st.hosts();
    int ranks = 0;
    std::uint64_t tasks = 0;
    std::set<std::string> names;
    for (const auto& h : hosts) {
      ranks += h.ranks;
      tasks += h.tasks;
      EXPECT_TRUE(names.insert(h.host).second) << "host " << h.host << " listed twice in run " << run;
    }
    EXPECT_EQ(ranks, world.size()) << "run " << run;
    EXPECT_EQ(tasks, xs.size()) << "run " << run << " counts only its own tasks";
    if (run == 0)
      first_hosts = hosts;
    else
      EXPECT_EQ(hosts.size(), first_hosts.size());
  }
}

// A disagreement found at construction is reported by every run, on every rank.
TEST(FarmMpi, HandshakeErrorIsReportedByEveryRun) {
  mpi::communicator world;
  if (world.size() < 2) GTEST_SKIP() << "a single rank serves every queue";
  Registry reg = registry();
  FarmOptions o = quiet();
  o.queues = {QueueAssignment{"square", {world.size()}}};
  Farm farm(world, reg, o);
  for (int run = 0; run < 2; ++run) {
    bool body_ran = false;
    auto status = farm.run([&](Master&) { body_ran = true; });
    EXPECT_FALSE(body_ran);
    EXPECT_EQ(status.exit_code(), 2);
    EXPECT_NE(status.error.find("names rank " + std::to_string(world.size())), std::string::npos) << status.error;
    expect_same_on_all_ranks(status);
  }
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

TEST(FarmMpi, WorkersWithSeveralSlotsRunThatManyTasksAtOnce) {
  mpi::communicator world;
  Registry reg = registry();
  FarmOptions o = quiet();
  o.slots = 3;
  o.batch_size = 1;
  g_peak = 0;
  Farm farm(world, reg, o);
  const int workers = std::max(1, world.size() - 1);
  const int n = 12 * workers;
  std::map<int, std::set<int>> slots_of_rank;
  std::vector<int> done(static_cast<std::size_t>(n), 0);
  auto status = farm.run([&](Master& m) {
    EXPECT_EQ(m.total_slots(), 3 * workers);
    for (int i = 0; i < n; ++i) {
      m.submit<std::array<int, 3>>("where", i, [&](Outcome<std::array<int, 3>>& oc) {
        ++done[oc.index];
        EXPECT_EQ((*oc.value)[0], oc.rank);
        slots_of_rank[oc.rank].insert((*oc.value)[1]);
      });
    }
    EXPECT_EQ(m.wait_all().completed, static_cast<std::uint64_t>(n));
  });
  EXPECT_TRUE(status.ok()) << status.error;
  // Each worker process ran three at once at some point (its peak), on slots 0, 1 and 2.
  std::vector<int> peaks;
  mpi::gather(world, g_peak.load(), peaks, 0);
  if (world.rank() == 0) {
    for (int d : done) EXPECT_EQ(d, 1);
    ASSERT_EQ(slots_of_rank.size(), static_cast<std::size_t>(workers));
    for (auto& [rank, slots] : slots_of_rank) EXPECT_EQ(slots, (std::set<int>{0, 1, 2})) << "rank " << rank;
    for (int r = world.size() == 1 ? 0 : 1; r < world.size(); ++r)
      EXPECT_EQ(peaks[static_cast<std::size_t>(r)], 3) << "rank " << r;
  }
}

TEST(FarmMpi, TaskNotesReachTheMasterBeforeTheirResult) {
  mpi::communicator world;
  Registry reg = registry();
  reg.add<int, int>("talk", [](int x) {
    this_task().note("a" + std::to_string(x));
    this_task().note("b" + std::to_string(x));
    return x;
  });
  for (int slots : {1, 2}) {
    FarmOptions o = quiet();
    o.slots = slots;
    std::vector<std::string> seen;
    o.on_note = [&](int, std::string_view b) { seen.emplace_back(b); };
    Farm farm(world, reg, o);
    auto status = farm.run([&](Master& m) {
      for (int i = 0; i < 50; ++i)
        m.submit<int>("talk", i, [&](Outcome<int>& oc) { seen.push_back("r" + std::to_string(*oc.value)); });
      m.wait_all();
    });
    EXPECT_TRUE(status.ok()) << status.error;
    if (world.rank() == 0) {
      ASSERT_EQ(seen.size(), 150u);
      for (int i = 0; i < 50; ++i) {
        auto at = [&](const std::string& e) { return std::find(seen.begin(), seen.end(), e) - seen.begin(); };
        const auto s = std::to_string(i);
        EXPECT_LT(at("a" + s), at("b" + s));
        EXPECT_LT(at("b" + s), at("r" + s)) << "task " << i;
      }
    }
  }
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

TEST(FarmMpi, TaskTimeoutFailsTheStuckTaskAndTheRestComplete) {
  mpi::communicator world;
  // With one rank the master runs the tasks itself, through LocalTransport's executor.
  Registry reg = registry();
  g_wake_sleepers = false;
  for (Schedule sched : {Schedule::dynamic, Schedule::static_}) {
    SCOPED_TRACE(to_string(sched));
    FarmOptions o = quiet();
    o.schedule = sched;
    o.task_timeout = std::chrono::milliseconds(300);
    o.max_retries = 1;
    o.batch_size = 4;  // the sleeper shares its batch with others, which come back unrun
    Farm farm(world, reg, o);
    std::vector<int> xs(200);
    std::iota(xs.begin(), xs.end(), 0);
    auto status = farm.run([&](Master& m) {
      auto res = m.map<int>("sleepy", xs);
      ASSERT_EQ(res.failures.size(), 1u);
      const FailureReport& f = res.failures[0];
      EXPECT_EQ(f.index, static_cast<std::size_t>(kSleepy));
      EXPECT_EQ(f.message, "timed out after 0.3 s (task timeout)");
      EXPECT_EQ(f.attempts, 2);
      if (world.size() == 1) {
        EXPECT_EQ(f.rank, 0);
      } else {
        EXPECT_GE(f.rank, 1);
      }
      for (std::size_t i = 0; i < xs.size(); ++i) {
        if (i != static_cast<std::size_t>(kSleepy)) {
          EXPECT_EQ(res.values[i], 2 * xs[i]) << i;
        }
      }
    });
    EXPECT_EQ(status.failed_tasks, 1u);
    EXPECT_EQ(status.exit_code(), 1);
    expect_same_on_all_ranks(status);
    if (farm.is_master()) {
      const auto& st = farm.stats();
      EXPECT_EQ(st.timeouts, 2u);
      EXPECT_EQ(st.retries, 1u);
      EXPECT_EQ(st.tasks_failed, 1u);
      EXPECT_EQ(st.tasks_completed, 199u);
      EXPECT_GT(st.requeued, 0u) << "the sleeper's batch mates came back unrun";
    }
  }
  // Ends the two abandoned sleepers on the workers.
  g_wake_sleepers = true;
  world.barrier();
}

TEST(FarmMpi, TaskTimeoutHandsTheRestOfTheBatchBackUnrun) {
  mpi::communicator world;
  Registry reg = registry();
  g_wake_sleepers = false;
  FarmOptions o = quiet();
  o.task_timeout = std::chrono::milliseconds(300);
  o.max_retries = 0;
  o.batch_size = 8;
  Farm farm(world, reg, o);
  // Index 9 lies in the batch [8, 16): 8 ran, 10..15 did not; all but 9 must come back.
  std::vector<int> xs(64);
  std::iota(xs.begin(), xs.end(), 4);
  auto status = farm.run([&](Master& m) {
    auto res = m.map<int>("sleepy", xs);
    ASSERT_EQ(res.failures.size(), 1u);
    EXPECT_EQ(res.failures[0].index, 9u);
    EXPECT_EQ(res.failures[0].attempts, 1);
    for (std::size_t i = 0; i < xs.size(); ++i) {
      if (i != 9) {
        EXPECT_EQ(res.values[i], 2 * xs[i]) << i;
      }
    }
  });
  EXPECT_EQ(status.exit_code(), 1);
  expect_same_on_all_ranks(status);
  if (farm.is_master()) {
    const auto& st = farm.stats();
    EXPECT_EQ(st.timeouts, 1u);
    EXPECT_EQ(st.retries, 0u);
    EXPECT_EQ(st.requeued, 7u) << "the sleeper's seven batch mates";
    EXPECT_EQ(st.tasks_completed, 63u);
  }
  g_wake_sleepers = true;
  world.barrier();
}

TEST(FarmMpi, InterruptStopsTheRunOnEveryRankAndTheJournalResumesIt) {
  mpi::communicator world;
  Registry reg = registry();
  std::atomic<int> interrupt{0};
  FarmOptions o = quiet();
  o.interrupt = &interrupt;
  o.batch_size = 10;
  // Cheap tasks otherwise get a pipeline deep enough to hold all 5000 at once, and an
  // interrupt would only wait for them to come back.
  o.max_prefetch = o.prefetch;
  std::vector<int> xs(5000);
  std::iota(xs.begin(), xs.end(), 0);
  const JournalKey key = journal_key("square", std::span<const int>(xs));
  // Rank 0's pid names the file, so that runs at several rank counts do not collide.
  int pid = ::getpid();
  mpi::broadcast(world, pid, 0);
  const std::string path =
      (std::filesystem::temp_directory_path() / ("rankpool-farm-interrupt-" + std::to_string(pid))).string();
  if (world.rank() == 0) std::filesystem::remove(path);

  std::size_t delivered = 0;
  Farm farm(world, reg, o);
  auto status = farm.run([&](Master& m) {
    JournalOptions jo;
    jo.path = path;
    Journal journal(jo, key);
    MapOptions<long> mo;
    mo.order = Order::completion;
    mo.journal = &journal;
    // The "signal" arrives on the master once 200 results are in.
    mo.on_result = [&](Outcome<long>& r) {
      EXPECT_EQ(*r.value, static_cast<long>(xs[r.index]) * xs[r.index]);
      if (++delivered == 200) interrupt = SIGTERM;
    };
    try {
      m.map<long>("square", xs, mo);
      ADD_FAILURE() << "map should have been interrupted";
    } catch (const Interrupted& e) {
      EXPECT_EQ(e.signal, SIGTERM);
      EXPECT_EQ(std::string(e.what()).rfind(
                    "interrupted by SIGTERM after " + std::to_string(delivered) + " of 5000 tasks", 0),
                0u)
          << e.what();
      EXPECT_EQ(journal.appended(), delivered) << "every delivered result is journaled";
      throw;
    }
  });
  EXPECT_EQ(status.signal, SIGTERM);
  EXPECT_EQ(status.exit_code(), 128 + SIGTERM);
  EXPECT_EQ(status.error.rfind("interrupted by SIGTERM", 0), 0u) << status.error;
  expect_same_on_all_ranks(status);
  std::vector<int> signals;
  mpi::all_gather(world, status.signal, signals);
  for (int s : signals) EXPECT_EQ(s, SIGTERM);
  if (farm.is_master()) {
    EXPECT_GE(delivered, 200u);
    EXPECT_LT(delivered, xs.size()) << "the run stopped early";
  }

  // The same farm runs again, and the journal resumes the map: nothing lost, nothing twice.
  interrupt = 0;
  std::size_t from_journal = 0, fresh = 0;
  auto again = farm.run([&](Master& m) {
    JournalOptions jo;
    jo.path = path;
    jo.resume = true;
    Journal journal(jo, key);
    EXPECT_EQ(journal.loaded().size(), delivered);
    EXPECT_EQ(journal.torn_bytes(), 0u);
    MapOptions<long> mo;
    mo.journal = &journal;
    mo.on_result = [&](Outcome<long>& r) { ++(r.from_journal ? from_journal : fresh); };
    auto res = m.map<long>("square", xs, mo);
    ASSERT_TRUE(res.ok());
    for (std::size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(res.values[i], static_cast<long>(xs[i]) * xs[i]);
    EXPECT_EQ(m.stats().tasks_resumed, delivered);
  });
  EXPECT_TRUE(again.ok()) << again.error;
  EXPECT_EQ(again.exit_code(), 0);
  expect_same_on_all_ranks(again);
  if (farm.is_master()) {
    EXPECT_EQ(from_journal, delivered);
    EXPECT_EQ(fresh, xs.size() - delivered);
    std::uint64_t executed = 0;
    for (const auto& r : farm.stats().ranks) executed += r.role == "master" ? 0 : r.tasks;
    EXPECT_EQ(executed, xs.size() - delivered) << "the resumed run executes only the missing tasks";
    std::filesystem::remove(path);
  }
}
