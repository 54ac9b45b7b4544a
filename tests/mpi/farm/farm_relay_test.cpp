// The farm with node relays (FarmOptions::hierarchy) over real MPI, against the flat farm in
// the same test: the same outputs, failures, retries, timeouts, notes and statistics rows.
// Nodes are emulated (FarmOptions::node_size): 5 ranks are one node of 4 behind rank 0,
// 7 ranks two nodes of 3, 17 ranks four nodes of 4.
#include <gtest/gtest.h>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <thread>

#include "rankpool/farm/context.hpp"
#include "rankpool/farm/farm.hpp"
#include "rankpool/farm/journal.hpp"

using namespace rankpool::farm;
namespace mpi = boost::mpi;

namespace {

constexpr int kSleepy = 13;  // the input of "sleepy" that outlives the task timeout
std::atomic<bool> g_wake{false};

Registry registry() {
  Registry r;
  r.add<int, long>("square", [](int x) { return static_cast<long>(x) * x; });
  r.add<std::string, std::string>("shout", [](const std::string& s) { return s + "!"; });
  r.add<int, int>("fails_on_7", [](int x) {
    if (x % 10 == 7) throw std::runtime_error("unlucky " + std::to_string(x));
    return -x;
  });
  r.add<int, int>("sleepy", [](int x) {
    if (x == kSleepy) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (std::chrono::steady_clock::now() < until && !g_wake.load())
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return 2 * x;
  });
  r.add<int, int>("talk", [](int x) {
    this_task().note("a" + std::to_string(x));
    this_task().note("b" + std::to_string(x));
    return x;
  });
  return r;
}

int node_size(int world) {
  const int workers = world - 1;
  return workers % 4 == 0 ? 4 : workers % 3 == 0 ? 3 : 2;
}

FarmOptions options(bool relays) {
  FarmOptions o;
  o.quiet = true;
  o.hierarchy = relays ? Hierarchy::on : Hierarchy::off;
  o.node_size = node_size(mpi::communicator().size());
  return o;
}

bool is_relay(const RankStats& s) { return s.role.rfind("relay", 0) == 0; }

}  // namespace

TEST(FarmRelay, SameOutputsAsFlatAndFewerBatchesAtRankZero) {
  mpi::communicator world;
  if (world.size() < 4) GTEST_SKIP() << "needs a node of two workers or more";
  Registry reg = registry();
  std::vector<int> xs(30000);
  std::iota(xs.begin(), xs.end(), -9000);
  std::vector<std::string> words(3000);
  for (std::size_t i = 0; i < words.size(); ++i) words[i] = std::string(i % 17, 'x') + std::to_string(i);
  for (Schedule sched : {Schedule::dynamic, Schedule::static_}) {
    SCOPED_TRACE(to_string(sched));
    std::vector<long> squares[2];
    std::vector<std::string> shouts[2];
    std::uint64_t rank0_batches[2] = {0, 0};
    for (int relays = 0; relays < 2; ++relays) {
      FarmOptions o = options(relays == 1);
      o.schedule = sched;
      o.batch_size = 20;  // fixed: a relay's batches are 20 × its workers
      Farm farm(world, reg, o);
      auto status = farm.run([&](Master& m) {
        auto a = m.map<long>("square", xs);
        ASSERT_TRUE(a.ok());
        squares[relays] = a.values;
        auto b = m.map<std::string>("shout", words);
        ASSERT_TRUE(b.ok());
        shouts[relays] = b.values;
      });
      EXPECT_TRUE(status.ok()) << status.error;
      if (!farm.is_master()) continue;
      const auto& st = farm.stats();
      ASSERT_EQ(st.ranks.size(), static_cast<std::size_t>(world.size()));
      std::uint64_t executed = 0;
      int relay_rows = 0;
      for (int r = 0; r < world.size(); ++r) {
        const RankStats& row = st.ranks[static_cast<std::size_t>(r)];
        EXPECT_EQ(row.rank, r);
        executed += row.role == "master" ? 0 : row.tasks;
        if (is_relay(row)) {
          ++relay_rows;
          EXPECT_EQ(row.tasks, 0u) << "a relay runs no task itself";
          EXPECT_GT(row.batches, 0u) << row.role;
        } else if (r > 0) {
          EXPECT_EQ(row.role, "worker");
          EXPECT_GT(row.tasks, 0u) << "rank " << r << " got work";
        }
      }
      EXPECT_EQ(relay_rows, relays ? (world.size() - 1) / node_size(world.size()) : 0);
      EXPECT_EQ(executed, xs.size() + words.size()) << "each task executed exactly once";
      rank0_batches[relays] = st.ranks[0].batches;
    }
    if (world.rank() != 0) continue;
    EXPECT_EQ(squares[1], squares[0]);
    EXPECT_EQ(shouts[1], shouts[0]);
    for (std::size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(squares[1][i], static_cast<long>(xs[i]) * xs[i]);
    // Each relay stands for node_size - 1 workers: its batches are that many times larger
    // (static: one block per relay instead of one per worker, cut at max_batch × workers).
    const int fanout = node_size(world.size()) - 1;
    if (sched == Schedule::dynamic)
      EXPECT_LE(rank0_batches[1] * fanout, rank0_batches[0] + rank0_batches[0] / 10)
          << "flat " << rank0_batches[0] << ", relays " << rank0_batches[1];
    else
      EXPECT_LT(rank0_batches[1], rank0_batches[0]);
  }
}

TEST(FarmRelay, FailuresRetriesAndTheRunStatusAsFlat) {
  mpi::communicator world;
  if (world.size() < 4) GTEST_SKIP() << "needs a node of two workers or more";
  Registry reg = registry();
  std::vector<int> xs(500);
  std::iota(xs.begin(), xs.end(), 0);
  Farm farm(world, reg, options(true));
  auto status = farm.run([&](Master& m) {
    auto res = m.map<int>("fails_on_7", xs);
    ASSERT_EQ(res.failures.size(), 50u);
    for (const auto& f : res.failures) {
      EXPECT_EQ(f.index % 10, 7u);
      EXPECT_EQ(f.message, "unlucky " + std::to_string(f.index));
      EXPECT_EQ(f.attempts, 3);
    }
    for (std::size_t i = 0; i < xs.size(); ++i)
      if (i % 10 != 7) {
        EXPECT_EQ(res.values[i], -xs[i]) << i;
      }
  });
  EXPECT_EQ(status.failed_tasks, 50u);
  EXPECT_EQ(status.exit_code(), 1);
  if (farm.is_master()) {
    EXPECT_EQ(farm.stats().retries, 100u);
    EXPECT_EQ(farm.stats().tasks_completed, 450u);
  }
}

TEST(FarmRelay, TaskTimeoutFailsTheStuckTaskAndTheRestComplete) {
  mpi::communicator world;
  if (world.size() < 4) GTEST_SKIP() << "needs a node of two workers or more";
  Registry reg = registry();
  g_wake = false;
  FarmOptions o = options(true);
  o.task_timeout = std::chrono::milliseconds(300);
  o.max_retries = 1;
  o.batch_size = 4;  // the sleeper shares its piece with others, which come back unrun
  Farm farm(world, reg, o);
  std::vector<int> xs(200);
  std::iota(xs.begin(), xs.end(), 0);
  auto status = farm.run([&](Master& m) {
    auto res = m.map<int>("sleepy", xs);
    ASSERT_EQ(res.failures.size(), 1u);
    EXPECT_EQ(res.failures[0].index, static_cast<std::size_t>(kSleepy));
    EXPECT_EQ(res.failures[0].message, "timed out after 0.3 s (task timeout)");
    EXPECT_EQ(res.failures[0].attempts, 2);
    for (std::size_t i = 0; i < xs.size(); ++i)
      if (i != static_cast<std::size_t>(kSleepy)) {
        EXPECT_EQ(res.values[i], 2 * xs[i]) << i;
      }
  });
  EXPECT_EQ(status.failed_tasks, 1u);
  if (farm.is_master()) {
    const auto& st = farm.stats();
    EXPECT_EQ(st.timeouts, 2u);
    EXPECT_EQ(st.retries, 1u);
    EXPECT_EQ(st.tasks_completed, 199u);
  }
  g_wake = true;
  world.barrier();
}

TEST(FarmRelay, NotesReachTheMasterBeforeTheirResult) {
  mpi::communicator world;
  if (world.size() < 4) GTEST_SKIP() << "needs a node of two workers or more";
  Registry reg = registry();
  FarmOptions o = options(true);
  std::vector<std::string> seen;
  o.on_note = [&](int, std::string_view b) { seen.emplace_back(b); };
  Farm farm(world, reg, o);
  auto status = farm.run([&](Master& m) {
    for (int i = 0; i < 60; ++i)
      m.submit<int>("talk", i, [&](Outcome<int>& oc) { seen.push_back("r" + std::to_string(*oc.value)); });
    m.wait_all();
  });
  EXPECT_TRUE(status.ok()) << status.error;
  if (world.rank() == 0) {
    ASSERT_EQ(seen.size(), 180u);
    auto at = [&](const std::string& e) { return std::find(seen.begin(), seen.end(), e) - seen.begin(); };
    for (int i = 0; i < 60; ++i) {
      const auto s = std::to_string(i);
      EXPECT_LT(at("a" + s), at("b" + s));
      EXPECT_LT(at("b" + s), at("r" + s)) << "task " << i;
    }
  }
}

// A relayed task's rank is the local worker that ran it, wherever a rank is reported:
// Outcome::rank, rank_of(), failure reports, journal records and notes. Never a relay, never
// rank 0; every worker appears, and each worker's count of tasks is its statistics row's.
TEST(FarmRelay, EveryTaskNamesTheWorkerThatRanIt) {
  mpi::communicator world;
  if (world.size() < 4) GTEST_SKIP() << "needs a node of two workers or more";
  Registry reg = registry();
  int pid = ::getpid();
  mpi::broadcast(world, pid, 0);
  const std::string path =
      (std::filesystem::temp_directory_path() / ("rankpool-farm-relay-ranks-" + std::to_string(pid))).string();
  if (world.rank() == 0) std::filesystem::remove(path);
  std::vector<int> xs(6000);
  std::iota(xs.begin(), xs.end(), 0);
  std::vector<int> bad(500);
  std::iota(bad.begin(), bad.end(), 0);
  const JournalKey key = journal_key("fails_on_7", std::span<const int>(bad));
  std::vector<int> square_rank(xs.size(), -1), bad_rank(bad.size(), -1), talk_rank(60, -1);
  std::map<std::string, int> note_rank;
  FarmOptions o = options(true);
  o.batch_size = 8;  // many batches: every worker gets some
  o.on_note = [&](int rank, std::string_view b) { note_rank[std::string(b)] = rank; };
  Farm farm(world, reg, o);
  auto status = farm.run([&](Master& m) {
    MapOptions<long> so;
    so.on_result = [&](Outcome<long>& r) { square_rank[r.index] = r.rank; };
    auto sq = m.map<long>("square", xs, so);
    ASSERT_TRUE(sq.ok());
    for (std::size_t i = 0; i < xs.size(); ++i) EXPECT_EQ(sq.rank_of(i), square_rank[i]) << i;
    JournalOptions jo;
    jo.path = path;
    Journal journal(jo, key);
    MapOptions<int> bo;
    bo.journal = &journal;
    bo.on_result = [&](Outcome<int>& r) { bad_rank[r.index] = r.rank; };
    auto res = m.map<int>("fails_on_7", bad, bo);
    ASSERT_EQ(res.failures.size(), 50u);
    for (const auto& f : res.failures) EXPECT_EQ(f.rank, bad_rank[f.index]) << f.index;
    for (std::size_t i = 0; i < bad.size(); ++i) EXPECT_EQ(res.rank_of(i), bad_rank[i]) << i;
    for (int i = 0; i < 60; ++i) m.submit<int>("talk", i, [&, i](Outcome<int>& oc) { talk_rank[i] = oc.rank; });
    m.wait_all();
  });
  EXPECT_EQ(status.failed_tasks, 50u);
  if (!farm.is_master()) return;
  const auto& st = farm.stats();
  ASSERT_EQ(st.ranks.size(), static_cast<std::size_t>(world.size()));
  std::set<int> workers;
  for (const auto& row : st.ranks)
    if (row.role == "worker") workers.insert(row.rank);
  ASSERT_EQ(workers.size(), static_cast<std::size_t>(world.size() - 1 - (world.size() - 1) / node_size(world.size())));
  auto is_worker = [&](int r) { return workers.count(r) == 1; };
  std::map<int, std::uint64_t> per_rank;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    ASSERT_TRUE(is_worker(square_rank[i])) << "square #" << i << " names rank " << square_rank[i];
    ++per_rank[square_rank[i]];
  }
  for (std::size_t i = 0; i < bad.size(); ++i)
    EXPECT_TRUE(is_worker(bad_rank[i])) << "fails_on_7 #" << i << " names rank " << bad_rank[i];
  for (int i = 0; i < 60; ++i) {
    EXPECT_TRUE(is_worker(talk_rank[i])) << "talk #" << i << " names rank " << talk_rank[i];
    EXPECT_EQ(note_rank["a" + std::to_string(i)], talk_rank[i]) << "a note names the rank that ran its task";
    EXPECT_EQ(note_rank["b" + std::to_string(i)], talk_rank[i]);
  }
  // Every worker ran squares, and the outcomes count on each what its own row counts (the rows
  // also hold the other maps' tasks, which square's count must not exceed).
  for (int w : workers) {
    EXPECT_GT(per_rank[w], 0u) << "worker rank " << w << " named by no outcome";
    EXPECT_LE(per_rank[w], st.ranks[static_cast<std::size_t>(w)].tasks) << w;
  }
  JournalOptions again;
  again.path = path;
  again.resume = true;
  Journal back(again, key);
  ASSERT_EQ(back.loaded().size(), bad.size());
  for (const auto& rec : back.loaded()) EXPECT_EQ(rec.rank, bad_rank[rec.index]) << "journal record " << rec.index;
  std::filesystem::remove(path);
}

// SubmitOptions::avoid_rank naming a relay's local worker (rankpool-run's retry of a command that
// failed there): the resubmitted task never runs on that rank, through two relays or more (it
// goes to another relay) and through a single relay (which keeps it off that worker).
TEST(FarmRelay, SubmitAvoidingALocalWorkerNeverRunsThere) {
  mpi::communicator world;
  if (world.size() < 4) GTEST_SKIP() << "needs a node of two workers or more";
  const int me = world.rank();
  Registry reg;
  // The input: -1 for a first attempt, which fails; else the rank it must not run on.
  reg.add<int, int>("fails_first", [me](int avoid) {
    if (avoid < 0) throw std::runtime_error("first attempt");
    if (avoid == me) throw std::runtime_error("ran on the avoided rank " + std::to_string(me));
    return me;
  });
  constexpr int kTasks = 40;
  for (const int node : {node_size(world.size()), world.size() - 1}) {
    SCOPED_TRACE("node size " + std::to_string(node));
    FarmOptions o = options(true);
    o.node_size = node;
    o.max_retries = 0;  // the caller retries
    o.batch_size = 1;
    std::vector<int> failed_on(kTasks, -1), ran_on(kTasks, -1);
    Farm farm(world, reg, o);
    auto status = farm.run([&](Master& m) {
      for (int i = 0; i < kTasks; ++i)
        m.submit<int>("fails_first", -1, [&, i](Outcome<int>& oc) {
          EXPECT_FALSE(oc.ok());
          failed_on[static_cast<std::size_t>(i)] = oc.rank;
        });
      EXPECT_EQ(m.wait_all().failed, static_cast<std::uint64_t>(kTasks));
      for (int i = 0; i < kTasks; ++i) {
        SubmitOptions so;
        so.avoid_rank = failed_on[static_cast<std::size_t>(i)];
        m.submit<int>(
            "fails_first", so.avoid_rank,
            [&, i](Outcome<int>& oc) {
              EXPECT_TRUE(oc.ok()) << "task " << i << ": " << oc.error;
              ran_on[static_cast<std::size_t>(i)] = oc.ok() ? *oc.value : -1;
            },
            so);
      }
      EXPECT_TRUE(m.wait_all().ok());
    });
    EXPECT_EQ(status.failed_tasks, static_cast<std::uint64_t>(kTasks)) << status.error;
    if (!farm.is_master()) continue;
    std::set<int> relays, failed_ranks;
    for (const auto& row : farm.stats().ranks)
      if (is_relay(row)) relays.insert(row.rank);
    EXPECT_EQ(relays.size(), static_cast<std::size_t>((world.size() - 1) / node));
    for (int i = 0; i < kTasks; ++i) {
      const int failed = failed_on[static_cast<std::size_t>(i)], ran = ran_on[static_cast<std::size_t>(i)];
      EXPECT_GT(failed, 0) << i;
      EXPECT_EQ(relays.count(failed), 0u) << "task " << i << " failed on a local worker, not a relay";
      EXPECT_GT(ran, 0) << i;
      EXPECT_NE(ran, failed) << "task " << i << " ran again on the rank it avoids";
      failed_ranks.insert(failed);
    }
    EXPECT_GT(failed_ranks.size(), 1u) << "first attempts spread over the workers";
  }
}

// Nodes that do not divide the workers: the last, smaller node has a relay too (or, alone,
// is a plain worker of rank 0).
TEST(FarmRelay, UnevenNodesAndByDefaultRelaysFromTheThreshold) {
  mpi::communicator world;
  if (world.size() < 4) GTEST_SKIP() << "needs a node of two workers or more";
  Registry reg = registry();
  FarmOptions o = options(false);
  o.hierarchy = FarmOptions{}.hierarchy;  // the default: automatic
  EXPECT_EQ(o.hierarchy, Hierarchy::automatic);
  o.hierarchy_threshold = world.size() - 1;  // reached: relays
  o.node_size = world.size() - 2;            // one node of all but the last rank, which is alone
  std::vector<int> xs(5000);
  std::iota(xs.begin(), xs.end(), 1);
  Farm farm(world, reg, o);
  auto status = farm.run([&](Master& m) {
    auto res = m.map<long>("square", xs);
    ASSERT_TRUE(res.ok());
    for (std::size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(res.values[i], static_cast<long>(xs[i]) * xs[i]);
  });
  EXPECT_TRUE(status.ok()) << status.error;
  if (farm.is_master()) {
    const auto& st = farm.stats();
    ASSERT_EQ(st.ranks.size(), static_cast<std::size_t>(world.size()));
    EXPECT_TRUE(is_relay(st.ranks[1])) << st.ranks[1].role;
    EXPECT_EQ(st.ranks.back().role, "worker");
    EXPECT_GT(st.ranks.back().tasks, 0u);
  }
  // One worker rank short of the threshold: flat.
  o.hierarchy_threshold = world.size();
  Farm flat(world, reg, o);
  status = flat.run([&](Master& m) { ASSERT_TRUE(m.map<long>("square", xs).ok()); });
  EXPECT_TRUE(status.ok()) << status.error;
  if (flat.is_master())
    for (const auto& row : flat.stats().ranks) {
      EXPECT_FALSE(is_relay(row)) << row.rank;
    }
}

TEST(FarmRelay, BadNodeSizeInTheEnvironmentIsAnErrorOnEveryRank) {
  mpi::communicator world;
  Registry reg = registry();
  FarmOptions o = options(true);
  o.node_size = 0;
  ::setenv("RANKPOOL_FARM_NODE_SIZE", "four", 1);
  Farm farm(world, reg, o);
  ::unsetenv("RANKPOOL_FARM_NODE_SIZE");
  auto status = farm.run([&](Master& m) { m.map<long>("square", std::vector<int>{1, 2}); });
  if (world.size() > 1) {
    EXPECT_EQ(status.error,
              "invalid RANKPOOL_FARM_NODE_SIZE 'four': expected a number of ranks per node (0: the real nodes)");
    EXPECT_EQ(status.exit_code(), 2);
  } else {
    EXPECT_TRUE(status.ok()) << "a single rank has no workers to relay to";
  }
}
