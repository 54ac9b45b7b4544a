// The engine's frontier: per-host queues, smallest depth first and FIFO within a depth, spilled
// to a file beyond a memory budget without changing the order.
#include "rankpool/crawl/frontier.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <random>
#include <vector>

namespace rankpool::crawl {
namespace {

FrontierEntry entry(int depth, int i) {
  return {depth, "http://a.test/page-" + std::to_string(i) + "-with-a-path-long-enough-for-the-heap",
          i % 3 ? "http://a.test/ref-" + std::to_string(i) : std::string()};
}

// A random mix of pushes (depths 0-4) and pops, checked against the obvious model.
std::vector<FrontierEntry> drive(HostQueue& q, std::uint64_t seed) {
  std::vector<std::vector<FrontierEntry>> model(5);
  std::vector<FrontierEntry> popped;
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 3000; ++i) {
    if (rng() % 3 != 0) {
      const FrontierEntry e = entry(static_cast<int>(rng() % 5), i);
      model[static_cast<std::size_t>(e.depth)].push_back(e);
      q.push(e);
    } else if (!q.empty()) {
      auto& fifo = *std::find_if(model.begin(), model.end(), [](const auto& f) { return !f.empty(); });
      EXPECT_EQ(q.top(), fifo.front()) << i;
      popped.push_back(q.top());
      fifo.erase(fifo.begin());
      q.pop();
    }
  }
  while (!q.empty()) {
    auto& fifo = *std::find_if(model.begin(), model.end(), [](const auto& f) { return !f.empty(); });
    EXPECT_EQ(q.top(), fifo.front());
    popped.push_back(q.top());
    fifo.erase(fifo.begin());
    q.pop();
  }
  return popped;
}

TEST(Frontier, SmallestDepthFirstFifoWithinADepthInMemory) {
  FrontierStore store(0);  // no limit
  HostQueue q(store);
  EXPECT_EQ(drive(q, 1).size(), 1950u);  // about 2/3 of the steps push, all come out
  EXPECT_EQ(store.spilled(), 0u);
  EXPECT_EQ(store.disk_bytes(), 0u);
  EXPECT_EQ(store.memory_bytes(), 0u);
}

TEST(Frontier, ATinyBudgetSpillsAndKeepsTheOrder) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / "frontier_tiny";
  std::filesystem::create_directories(dir);
  FrontierStore unlimited(0);
  HostQueue a(unlimited);
  FrontierStore tiny(4096, dir.string());
  HostQueue b(tiny), c(tiny);  // two hosts share the budget and the file
  const auto expected = drive(a, 2);
  EXPECT_EQ(drive(b, 2), expected);
  EXPECT_GT(tiny.spilled(), 500u);
  EXPECT_GT(tiny.disk_bytes(), 20000u);
  EXPECT_EQ(tiny.memory_bytes(), 0u);  // everything popped: nothing accounted is left
  EXPECT_EQ(drive(c, 3).size(), drive(a, 3).size());
  EXPECT_TRUE(std::filesystem::is_empty(dir));  // the file is unlinked at once
  EXPECT_EQ(tiny.error(), "");
}

TEST(Frontier, MemoryStaysNearTheBudgetWhileTheQueueGrows) {
  const std::uint64_t budget = 16 * 1024;
  FrontierStore store(budget);
  HostQueue q(store);
  for (int i = 0; i < 20000; ++i) {
    q.push(entry(i % 3, i));
    // The budget; or, once the on-disk segments' bookkeeping alone nears it (a 16 KiB budget
    // for 4 MB of queue), that bookkeeping and a quarter of the budget, or of itself when more,
    // before the next eviction.
    ASSERT_LE(store.memory_bytes(),
              std::max(budget, store.index_bytes() + std::max(budget, store.index_bytes()) / 4) + 1024)
        << i;
  }
  EXPECT_EQ(q.size(), 20000u);
  EXPECT_GT(store.spilled(), 19000u);
  EXPECT_GT(store.index_bytes(), 0u);
  // Popping brings the spilled chunks back one by one, in order.
  for (int d = 0; d < 3; ++d)
    for (int i = d; i < 20000; i += 3) {
      ASSERT_EQ(q.top(), entry(d, i));
      q.pop();
    }
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(store.memory_bytes(), 0u);
  EXPECT_EQ(store.index_bytes(), 0u);
}

TEST(Frontier, AQueueSpreadOverHostsAndDepthsStaysWithinTheBudget) {
  // A crawl's shape: 200 hosts x 4 depths, 150 URLs each (about 25 MB in memory), pushed in
  // turn. Spilling only tails that filled a chunk (1/1024 of the budget), the fronts stayed
  // and the budget held about 3 times itself; evicting whole FIFOs, largest first, holds it.
  const auto dir = std::filesystem::path(::testing::TempDir()) / "frontier_spread";
  std::filesystem::create_directories(dir);
  const std::uint64_t budget = 4 << 20;
  FrontierStore store(budget, dir.string());
  std::vector<std::unique_ptr<HostQueue>> hosts(200);
  for (auto& h : hosts) h = std::make_unique<HostQueue>(store);
  std::uint64_t most = 0;  // the most memory_bytes() read after a push
  for (int i = 0; i < 150; ++i)
    for (int d = 0; d < 4; ++d)
      for (auto& h : hosts) {
        h->push(entry(d, i));
        ASSERT_LE(store.memory_bytes(), budget) << i << " " << d;
        most = std::max(most, store.memory_bytes());
        ASSERT_EQ(store.peak_bytes(), most);
      }
  EXPECT_GT(most, budget - budget / 4);
  EXPECT_GT(store.spilled(), 200u * 4 * 150 / 2);
  EXPECT_LT(store.index_bytes(), budget / 8);  // few on-disk segments: large runs went first
  EXPECT_LT(store.evictions(), 100u);          // a scan per quarter of the budget, not per push
  for (auto& h : hosts) {
    for (int d = 0; d < 4; ++d)
      for (int i = 0; i < 150; ++i) {
        ASSERT_EQ(h->top(), entry(d, i));
        most = std::max(most, store.memory_bytes());  // a read back from disk adds
        h->pop();
      }
    EXPECT_TRUE(h->empty());
  }
  EXPECT_EQ(store.memory_bytes(), 0u);
  EXPECT_EQ(store.index_bytes(), 0u);
  EXPECT_EQ(store.error(), "");
  EXPECT_EQ(store.peak_bytes(), most);  // the most it held, after the end too
}

TEST(Frontier, AFrontBeingConsumedSpillsAndComesBackInOrder) {
  const std::uint64_t budget = 16 * 1024;
  FrontierStore store(budget);
  HostQueue a(store), b(store);
  for (int i = 0; i < 40; ++i) a.push(entry(0, i));
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(a.top(), entry(0, i));
    a.pop();
  }
  EXPECT_EQ(store.spilled(), 0u);
  // The entry a.top() returned stays put while b grows: its segment is pinned.
  const FrontierEntry& next = a.top();
  for (int i = 0; i < 300; ++i) b.push(entry(1, i));
  EXPECT_GT(store.spilled(), 0u);
  EXPECT_EQ(next, entry(0, 10));
  // Once b is being read, a's front (30 entries left) goes to disk like any other run.
  const auto before = store.spilled();
  EXPECT_EQ(b.top(), entry(1, 0));
  for (int i = 300; i < 600; ++i) b.push(entry(1, i));
  EXPECT_GE(store.spilled(), before + 30);
  const auto memory = store.memory_bytes();
  EXPECT_EQ(a.top(), entry(0, 10));
  EXPECT_GT(store.memory_bytes(), memory);  // read back from disk
  for (int i = 10; i < 40; ++i) {
    ASSERT_EQ(a.top(), entry(0, i));
    a.pop();
  }
  for (int i = 0; i < 600; ++i) {
    ASSERT_EQ(b.top(), entry(1, i));
    b.pop();
  }
  EXPECT_EQ(store.memory_bytes(), 0u);
}

TEST(Frontier, AFrontReadBackStaysWhileOtherRunsCanGo) {
  // Writing out a front read back from disk only to read it back at its host's next turn is
  // thrash: the eviction takes everything else first.
  const std::uint64_t budget = 256 * 1024;
  FrontierStore store(budget);
  HostQueue a(store), b(store);
  for (int i = 0; i < 2000; ++i) a.push(entry(0, i));
  ASSERT_GT(store.spilled(), 1000u);
  auto memory = store.memory_bytes();
  EXPECT_EQ(a.top(), entry(0, 0));
  ASSERT_GT(store.memory_bytes(), memory);  // read back
  b.push(entry(0, 0));
  EXPECT_EQ(b.top(), entry(0, 0));  // b's front is the pinned one now
  const auto spilled = store.spilled(), evictions = store.evictions();
  for (int i = 1; i < 2000; ++i) b.push(entry(1 + i % 50, i));  // small runs, smaller than a's front
  EXPECT_GT(store.evictions(), evictions);
  EXPECT_GT(store.spilled(), spilled + 1000);
  memory = store.memory_bytes();
  EXPECT_EQ(a.top(), entry(0, 0));
  EXPECT_EQ(store.memory_bytes(), memory);  // still in memory: not read back again
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(a.top(), entry(0, i));
    a.pop();
  }
  EXPECT_EQ(b.top(), entry(0, 0));
  b.pop();
  for (int d = 1; d <= 50; ++d)
    for (int i = d == 1 ? 50 : d - 1; i < 2000; i += 50) {
      ASSERT_EQ(b.top(), entry(d, i));
      b.pop();
    }
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(store.memory_bytes(), 0u);
}

// Many hosts, mixed depths, pushes and pops interleaved at random: a tiny budget against an
// unbounded store fed the same operations. With `fail_at`, writes fail from that step on.
void against_unbounded(std::uint64_t seed, int fail_at) {
  const std::uint64_t budget = 256 * 1024;
  FrontierStore tiny(budget, ::testing::TempDir()), unlimited(0);
  constexpr int kHosts = 40;
  std::vector<std::unique_ptr<HostQueue>> got(kHosts), want(kHosts);
  for (int h = 0; h < kHosts; ++h) {
    got[h] = std::make_unique<HostQueue>(tiny);
    want[h] = std::make_unique<HostQueue>(unlimited);
  }
  std::mt19937_64 rng(seed);
  std::size_t pops = 0, checked = 0;
  std::uint64_t spilled_before_failure = 0;
  for (int i = 0; i < 20000; ++i) {
    if (i == fail_at) {
      spilled_before_failure = tiny.spilled();
      tiny.fail_writes_for_testing(true);
    }
    const auto h = static_cast<std::size_t>(rng() % kHosts);
    if (rng() % 5 < 3) {
      const FrontierEntry e = entry(static_cast<int>(rng() % 6), i);
      got[h]->push(e);
      want[h]->push(e);
      // Within the budget while the on-disk segments' bookkeeping and the front top() last
      // read back fit in 3/4 of it.
      if (fail_at < 0 && tiny.index_bytes() < budget / 2) {
        ++checked;
        ASSERT_LE(tiny.memory_bytes(), budget + 1024) << i;
      }
    } else if (!want[h]->empty()) {
      ASSERT_EQ(got[h]->top(), want[h]->top()) << i;
      got[h]->pop();
      want[h]->pop();
      ++pops;
    }
  }
  for (int h = 0; h < kHosts; ++h)
    while (!want[h]->empty()) {
      ASSERT_FALSE(got[h]->empty());
      ASSERT_EQ(got[h]->top(), want[h]->top()) << h;
      got[h]->pop();
      want[h]->pop();
      ++pops;
    }
  for (auto& q : got) EXPECT_TRUE(q->empty());
  EXPECT_GT(pops, 10000u);
  EXPECT_EQ(tiny.memory_bytes(), 0u);
  if (fail_at < 0) {
    EXPECT_GT(tiny.evictions(), 10u);
    EXPECT_GT(checked, 10000u) << tiny.index_bytes();
    EXPECT_GT(tiny.spilled(), 5000u);
    EXPECT_EQ(tiny.error(), "");
  } else {
    EXPECT_GT(spilled_before_failure, 0u);
    EXPECT_EQ(tiny.spilled(), spilled_before_failure);
    EXPECT_NE(tiny.error().find("write failed"), std::string::npos) << tiny.error();
  }
}

TEST(Frontier, ManyHostsUnderATinyBudgetKeepTheOrderOfAnUnboundedOne) {
  against_unbounded(7, -1);
  against_unbounded(8, -1);
}

TEST(Frontier, AWriteFailureDuringEvictionKeepsTheOrder) { against_unbounded(9, 10000); }

TEST(Frontier, ADestroyedQueueGivesItsMemoryBack) {
  FrontierStore store(0);
  {
    HostQueue q(store);
    for (int i = 0; i < 10; ++i) q.push(entry(1, i));
    EXPECT_GT(store.memory_bytes(), 10 * sizeof(FrontierEntry));
  }
  EXPECT_EQ(store.memory_bytes(), 0u);
}

TEST(Frontier, DiskErrorsKeepEntriesInMemoryAndSaySo) {
  FrontierStore nowhere(256, "/nonexistent/rankpool-frontier");
  HostQueue q(nowhere);
  for (int i = 0; i < 200; ++i) q.push(entry(0, i));
  EXPECT_NE(nowhere.error().find("/nonexistent/rankpool-frontier"), std::string::npos) << nowhere.error();
  EXPECT_EQ(nowhere.spilled(), 0u);
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(q.top(), entry(0, i));
    q.pop();
  }

  FrontierStore full(256, ::testing::TempDir());
  HostQueue r(full);
  for (int i = 0; i < 100; ++i) r.push(entry(0, i));
  const auto spilled = full.spilled();
  EXPECT_GT(spilled, 0u);
  full.fail_writes_for_testing(true);
  for (int i = 100; i < 200; ++i) r.push(entry(0, i));
  EXPECT_NE(full.error().find("write failed"), std::string::npos) << full.error();
  EXPECT_EQ(full.spilled(), spilled);
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(r.top(), entry(0, i));
    r.pop();
  }
}

TEST(Frontier, TheBudgetCountsWhatMallocHolds) {
  // 1,000 entries whose URL and referrer are 41 characters each: glibc gives each string a
  // 64-byte block (42 bytes and an 8-byte header, in 16-byte steps), and each entry a 72-byte
  // slot in its segment's vector. Counting only the bytes asked for (41 + 1 per string) would
  // let a budget hold far more than it says.
  FrontierStore store(0);
  HostQueue q(store);
  const std::string url(41, 'u'), referrer(41, 'r');
  for (int i = 0; i < 1000; ++i) q.push({1, url, referrer});
  EXPECT_GE(store.memory_bytes(), 1000 * (sizeof(FrontierEntry) + 2 * 64));
  EXPECT_LE(store.memory_bytes(), 1000 * (2 * sizeof(FrontierEntry) + 2 * 64) + 1024);  // vector slack: 2x at most
  while (!q.empty()) q.pop();
  EXPECT_EQ(store.memory_bytes(), 0u);
}

}  // namespace
}  // namespace rankpool::crawl
