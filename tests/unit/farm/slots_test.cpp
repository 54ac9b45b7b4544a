// Several tasks at once on one worker (FarmOptions::slots): the executor's slot threads, the
// scheduler's per-slot depth, this_task(), submit() away from a rank, and wait_any().
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "rankpool/farm/context.hpp"
#include "farm/executor.hpp"
#include "farm/local_transport.hpp"
#include "rankpool/farm/master.hpp"
#include "farm/scheduler.hpp"

using namespace rankpool::farm;
using namespace std::chrono_literals;

namespace {

/// Tasks that wait until `n` of them are inside at once (or 5 s pass): they only all return
/// quickly when `n` run concurrently. Each returns its rank and slot.
struct Rendezvous {
  std::mutex m;
  std::condition_variable cv;
  int inside = 0, peak = 0;
  int n = 1;
  bool met = false;
  void reset(int need) {
    std::lock_guard lock(m);
    inside = peak = 0;
    n = need;
    met = false;
  }
  std::pair<int, int> arrive() {
    std::unique_lock lock(m);
    peak = std::max(peak, ++inside);
    if (inside >= n) met = true;
    cv.notify_all();
    cv.wait_for(lock, 5s, [&] { return met; });
    --inside;
    return {this_task().rank, this_task().slot};
  }
};

Rendezvous g_rv;

Registry registry() {
  Registry r;
  r.add<int, std::pair<int, int>>("meet", [](int) { return g_rv.arrive(); });
  r.add<int, int>("slot", [](int) { return this_task().slot; });
  r.add<int, int>("wait_cancel", [](int) {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (!this_task().cancelled() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
    return this_task().cancelled() ? 1 : 0;
  });
  r.add<int, int>("talk", [](int x) {
    for (int k = 0; k < 3; ++k) this_task().note(std::to_string(x) + "." + std::to_string(k));
    return x;
  });
  return r;
}

std::vector<std::vector<bool>> all(int w, const Registry& r) {
  return std::vector<std::vector<bool>>(w, std::vector<bool>(r.size(), true));
}

}  // namespace

TEST(Slots, SchedulerKeepsPrefetchBatchesPerSlotInFlight) {
  FarmOptions o;
  o.batch_size = 1;
  o.prefetch = 2;
  Scheduler s(o, {{true}, {true}}, {3, 1});
  s.add_tasks(0, 0, 0, 100);
  while (s.next()) {
  }
  EXPECT_EQ(s.in_flight(0), 6);  // 3 slots × prefetch 2
  EXPECT_EQ(s.in_flight(1), 2);
  EXPECT_EQ(s.slots_for(0), 4);
}

TEST(Slots, GuidedBatchSizesCountSlotsNotRanks) {
  FarmOptions o;
  Scheduler one(o, {{true}}, {1});
  Scheduler eight(o, {{true}}, {8});
  one.add_tasks(0, 0, 0, 1);
  eight.add_tasks(0, 0, 0, 1);
  // Measured: 1 µs per task, so only the guided share limits the batch.
  auto d1 = one.next();
  auto d8 = eight.next();
  one.complete(d1->batch_id, 1e-6);
  eight.complete(d8->batch_id, 1e-6);
  EXPECT_EQ(one.batch_size_for(0, 16000), 8000u);    // remaining / (2 × 1 slot)
  EXPECT_EQ(eight.batch_size_for(0, 16000), 1000u);  // remaining / (2 × 8 slots)
}

TEST(Slots, AvoidingRetryGoesToAnotherWorker) {
  FarmOptions o;
  o.batch_size = 1;
  Scheduler s(o, {{true}, {true}});
  s.add_task_avoiding(0, 0, 7, 0);
  auto d = s.next();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->worker, 1);
  EXPECT_EQ(d->indices[0], 7u);
}

TEST(Slots, ExecutorRunsAsManyBatchesAtOnceAsItHasSlots) {
  Registry reg = registry();
  g_rv.reset(3);
  TaskContext c;
  c.rank = 4;
  Executor ex(reg, 0us, 3, c);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    std::string msg;
    encode_batch_header(msg, BatchHeader{static_cast<std::uint64_t>(i + 1), 0, 1, 0});
    codec::encode<int>(msg, 1, [&](std::size_t) -> const int& { return i; });
    ex.submit(std::move(msg));
  }
  std::set<std::pair<int, int>> seen;
  while (seen.size() < 3) {
    ex.wait(100ms);
    while (auto r = ex.poll()) {
      const ResultMessage m = decode_result(*r);
      ASSERT_TRUE(m.failures.empty());
      std::vector<std::pair<int, int>> out;
      codec::decode<std::pair<int, int>>(m.payload, 1, out);
      seen.insert(out.front());
    }
  }
  // All three met inside at once (serially, each would wait its 5 s out).
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);
  EXPECT_EQ(g_rv.peak, 3);
  EXPECT_EQ(seen, (std::set<std::pair<int, int>>{{4, 0}, {4, 1}, {4, 2}}));
  EXPECT_TRUE(ex.idle());
}

TEST(Slots, DestroyingTheExecutorCancelsRunningTasksAndDrainsThem) {
  Registry reg = registry();
  std::atomic<int> returned{0};
  const auto t0 = std::chrono::steady_clock::now();
  {
    Executor ex(reg, 0us, 2, {}, 2000ms);
    for (int i = 0; i < 2; ++i) {
      std::string msg;
      encode_batch_header(msg, BatchHeader{static_cast<std::uint64_t>(i + 1), 2, 1, 0});
      codec::encode<int>(msg, 1, [&](std::size_t) -> const int& { return i; });
      ex.submit(std::move(msg));
    }
    while (ex.busy() < 2) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(20ms);
  }
  // Both tasks saw cancelled() and returned: the destructor did not wait out their 5 s.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST(Slots, SingleProcessMasterRunsSlotsConcurrentlyAndEverySlotIsUsed) {
  Registry reg = registry();
  g_rv.reset(4);
  FarmOptions o;
  o.batch_size = 1;
  o.progress = false;
  LocalTransport t(reg, 1, {0}, {}, 4);
  Master m(reg, t, o, all(1, reg), {4});
  EXPECT_EQ(m.total_slots(), 4);
  std::vector<int> xs(4, 0);
  auto res = m.map<std::pair<int, int>>("meet", xs);
  ASSERT_TRUE(res.ok());
  std::set<int> slots;
  for (auto& v : res.values) slots.insert(v.second);
  EXPECT_EQ(slots, (std::set<int>{0, 1, 2, 3}));
  EXPECT_EQ(g_rv.peak, 4);
}

TEST(Slots, WaitAnyReturnsAsTasksFinishAndSubmitAvoidsARank) {
  Registry reg = registry();
  FarmOptions o;
  o.batch_size = 1;
  o.progress = false;
  LocalTransport t(reg, 2);
  Master m(reg, t, o, all(2, reg));
  std::map<std::size_t, int> rank_of;
  for (int i = 0; i < 6; ++i) {
    SubmitOptions so;
    so.avoid_rank = 1;  // worker 0 reports rank 1
    m.submit<int>(
        "slot", i, [&](Outcome<int>& oc) { rank_of[oc.index] = oc.rank; }, so);
  }
  EXPECT_EQ(m.pending(), 6u);
  std::uint64_t finished = 0;
  while (m.pending() > 0) {
    const auto n = m.wait_any();
    EXPECT_GE(n, 1u);
    finished += n;
  }
  EXPECT_EQ(finished, 6u);
  EXPECT_EQ(m.wait_any(), 0u);  // nothing pending: returns at once
  ASSERT_EQ(rank_of.size(), 6u);
  for (auto& [i, r] : rank_of) EXPECT_EQ(r, 2) << "task " << i;
}

TEST(Notes, ArriveInOrderBeforeTheirTasksResultWithOrWithoutSlots) {
  for (int slots : {1, 3}) {
    Registry reg = registry();
    std::vector<std::string> events;
    FarmOptions o;
    o.progress = false;
    o.on_note = [&](int rank, std::string_view bytes) {
      events.push_back(std::to_string(rank) + ":" + std::string(bytes));
    };
    LocalTransport t(reg, 1, {0}, {}, slots, {}, true);
    Master m(reg, t, o, all(1, reg), {slots});
    for (int i = 0; i < 20; ++i) {
      m.submit<int>("talk", i, [&](Outcome<int>& oc) { events.push_back("done " + std::to_string(*oc.value)); });
    }
    m.wait_all();
    ASSERT_EQ(events.size(), 80u) << "slots " << slots;
    for (int i = 0; i < 20; ++i) {
      auto at = [&](const std::string& e) { return std::find(events.begin(), events.end(), e) - events.begin(); };
      const auto a = at("0:" + std::to_string(i) + ".0"), b = at("0:" + std::to_string(i) + ".1"),
                 c = at("0:" + std::to_string(i) + ".2"), d = at("done " + std::to_string(i));
      EXPECT_LT(a, b);
      EXPECT_LT(b, c);
      EXPECT_LT(c, d) << "task " << i << " with " << slots << " slots";
      EXPECT_LT(d, 80);
    }
  }
}
