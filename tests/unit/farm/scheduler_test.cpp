// Scheduling policy in isolation: batch sizes, prefetch bound, static blocks, routing, retries.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "farm/scheduler.hpp"

using namespace rankpool::farm;

namespace {

std::vector<std::vector<bool>> all_serve(int workers, int types = 1) {
  return std::vector<std::vector<bool>>(workers, std::vector<bool>(types, true));
}

// Drains a scheduler as workers would: complete batches in dispatch order, each task taking
// `task_seconds`. Returns the batch sizes in dispatch order.
std::vector<std::size_t> drain(Scheduler& s, double task_seconds, std::set<std::uint32_t>* seen = nullptr) {
  std::vector<std::size_t> sizes;
  std::deque<Dispatch> flying;
  for (;;) {
    while (auto d = s.next()) {
      sizes.push_back(d->indices.size());
      if (seen) {
        for (auto i : d->indices.to_vector())
          EXPECT_TRUE(seen->insert(i).second) << "task " << i << " dispatched twice";
      }
      flying.push_back(*d);
    }
    if (flying.empty()) break;
    auto d = flying.front();
    flying.pop_front();
    s.complete(d.batch_id, task_seconds * static_cast<double>(d.indices.size()));
  }
  return sizes;
}

}  // namespace

TEST(Scheduler, EveryTaskDispatchedExactlyOnce) {
  FarmOptions o;
  Scheduler s(o, all_serve(3));
  s.add_tasks(0, 0, 0, 100000);
  std::set<std::uint32_t> seen;
  auto sizes = drain(s, 1e-8, &seen);
  EXPECT_EQ(seen.size(), 100000u);
  EXPECT_EQ(*seen.rbegin(), 99999u);
  // Tiny tasks are batched: far fewer batches than tasks.
  EXPECT_LT(sizes.size(), 200u);
}

TEST(Scheduler, GuidedBatchesShrinkTowardsTheEnd) {
  FarmOptions o;
  o.max_batch = 1 << 30;
  o.min_batch_time = std::chrono::microseconds(0);
  Scheduler s(o, all_serve(2));
  s.add_tasks(0, 0, 0, 10000);
  auto sizes = drain(s, 1e-9);
  ASSERT_GT(sizes.size(), 6u);
  // First batches probe with one task (nothing measured yet), then the biggest batch
  // comes early and the last ones are small.
  EXPECT_EQ(sizes[0], 1u);
  const auto biggest = std::max_element(sizes.begin(), sizes.end()) - sizes.begin();
  EXPECT_LT(biggest, 6);
  EXPECT_GE(sizes[static_cast<std::size_t>(biggest)], 10000u / 4 - 2);
  EXPECT_LE(sizes.back(), 2u);
  EXPECT_EQ(std::accumulate(sizes.begin(), sizes.end(), std::size_t{0}), 10000u);
}

TEST(Scheduler, BatchesCarryAtLeastMinBatchTimeOfWork) {
  FarmOptions o;
  o.max_batch = 1 << 30;
  o.min_batch_time = std::chrono::microseconds(100);
  Scheduler s(o, all_serve(2));
  s.add_tasks(0, 0, 0, 10000);
  auto sizes = drain(s, 1e-7);                      // 0.1 µs per task: a batch carries at least 1000
  for (std::size_t i = 4; i < sizes.size(); ++i) {  // after the probes (2 workers × prefetch 2)
    EXPECT_TRUE(sizes[i] >= 1000 || i + 1 == sizes.size()) << "batch " << i << ": " << sizes[i];
  }
  EXPECT_LT(sizes.size(), 14u);
}

TEST(Scheduler, HeavyTasksGoOneByOne) {
  FarmOptions o;  // target_batch_time 10 ms
  Scheduler s(o, all_serve(2));
  s.add_tasks(0, 0, 0, 500);
  auto sizes = drain(s, 0.05);  // 50 ms per task
  EXPECT_EQ(sizes.size(), 500u);
  EXPECT_TRUE(std::all_of(sizes.begin(), sizes.end(), [](auto k) { return k == 1; }));
}

TEST(Scheduler, FixedBatchSizeAndNoBatching) {
  FarmOptions o;
  o.batch_size = 7;
  Scheduler s(o, all_serve(2));
  s.add_tasks(0, 0, 0, 50);
  auto sizes = drain(s, 1e-9);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{7, 7, 7, 7, 7, 7, 7, 1}));
  o.batch_size = 1;
  Scheduler one(o, all_serve(2));
  one.add_tasks(0, 0, 0, 20);
  EXPECT_EQ(drain(one, 1e-9).size(), 20u);
}

TEST(Scheduler, MaxBatchCapsBatches) {
  FarmOptions o;
  o.max_batch = 100;
  Scheduler s(o, all_serve(1));
  s.add_tasks(0, 0, 0, 100000);
  auto sizes = drain(s, 1e-9);
  EXPECT_LE(*std::max_element(sizes.begin(), sizes.end()), 100u);
}

TEST(Scheduler, PrefetchBoundsBatchesInFlightPerWorker) {
  FarmOptions o;
  o.prefetch = 3;
  o.batch_size = 1;
  Scheduler s(o, all_serve(4));
  s.add_tasks(0, 0, 0, 1000);
  int dispatched = 0;
  std::map<int, int> per_worker;
  while (auto d = s.next()) {
    ++dispatched;
    ++per_worker[d->worker];
  }
  EXPECT_EQ(dispatched, 12);
  for (auto& [w, n] : per_worker) EXPECT_EQ(n, 3) << "worker " << w;
  EXPECT_EQ(s.in_flight(0), 3);
}

TEST(Scheduler, StaticGivesEachWorkerOneContiguousBlock) {
  FarmOptions o;
  o.schedule = Schedule::static_;
  o.prefetch = 1000;
  Scheduler s(o, all_serve(3));
  s.add_tasks(0, 0, 0, 10);
  std::map<int, std::vector<std::uint32_t>> got;
  while (auto d = s.next())
    for (auto i : d->indices.to_vector()) got[d->worker].push_back(i);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], (std::vector<std::uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(got[1], (std::vector<std::uint32_t>{4, 5, 6}));
  EXPECT_EQ(got[2], (std::vector<std::uint32_t>{7, 8, 9}));
}

TEST(Scheduler, StaticDoesNotRebalance) {
  FarmOptions o;
  o.schedule = Schedule::static_;
  o.prefetch = 1;
  o.max_prefetch = 1;
  o.max_batch = 1;
  Scheduler s(o, all_serve(2));
  s.add_tasks(0, 0, 0, 4);
  auto a = s.next();
  auto b = s.next();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(s.next());
  // Worker 0 finishes; it only ever gets its own block (0,1), never worker 1's (2,3).
  s.complete(a->batch_id, 0);
  auto c = s.next();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->worker, a->worker);
  EXPECT_EQ(c->indices.to_vector(), std::vector<std::uint32_t>{1});
  s.complete(c->batch_id, 0);
  EXPECT_FALSE(s.next());
}

TEST(Scheduler, RoutesTypesOnlyToTheirWorkers) {
  FarmOptions o;
  // worker 0 serves type 0 only, workers 1 and 2 type 1 only.
  Scheduler s(o, {{true, false}, {false, true}, {false, true}});
  s.add_tasks(0, 0, 0, 300);
  s.add_tasks(1, 1, 0, 300);
  auto check = [&](const Dispatch& d) { EXPECT_EQ(d.type == 0, d.worker == 0) << "type " << d.type; };
  std::deque<Dispatch> flying;
  std::size_t done = 0;
  for (;;) {
    while (auto d = s.next()) {
      check(*d);
      flying.push_back(*d);
    }
    if (flying.empty()) break;
    done += flying.front().indices.size();
    s.complete(flying.front().batch_id, 1e-6);
    flying.pop_front();
  }
  EXPECT_EQ(done, 600u);
  EXPECT_EQ(s.workers_for(0), 1);
  EXPECT_EQ(s.workers_for(1), 2);
}

TEST(Scheduler, TypeWithoutWorkerIsRefused) {
  FarmOptions o;
  Scheduler s(o, {{true, false}});
  EXPECT_FALSE(s.has_worker_for(1));
  EXPECT_THROW(s.add_tasks(0, 1, 0, 5), std::invalid_argument);
}

TEST(Scheduler, RetriesUpToTheLimitOnAnotherWorker) {
  FarmOptions o;
  o.max_retries = 2;
  o.batch_size = 1;
  o.prefetch = 1;
  Scheduler s(o, all_serve(2));
  s.add_tasks(0, 0, 0, 1);
  auto d = s.next();
  ASSERT_TRUE(d);
  s.complete(d->batch_id, 0);
  auto r1 = s.retry(0, 0, d->worker);
  EXPECT_TRUE(r1.retried);
  EXPECT_EQ(r1.attempts, 1);
  auto d2 = s.next();
  ASSERT_TRUE(d2);
  EXPECT_NE(d2->worker, d->worker) << "a retry prefers another worker";
  s.complete(d2->batch_id, 0);
  EXPECT_TRUE(s.retry(0, 0, d2->worker).retried);
  auto d3 = s.next();
  ASSERT_TRUE(d3);
  s.complete(d3->batch_id, 0);
  auto last = s.retry(0, 0, d3->worker);
  EXPECT_FALSE(last.retried);
  EXPECT_EQ(last.attempts, 3);
  EXPECT_FALSE(s.next());
}

// A relay's local worker a task failed on: with another worker the task goes there (the relay
// is avoided whole, no hint); with the relay alone it goes back to it, naming the rank to avoid.
TEST(Scheduler, ARetryThroughTheOnlyRelayCarriesTheRankToAvoid) {
  FarmOptions o;
  o.batch_size = 1;
  Scheduler one(o, all_serve(1), {}, {3});
  one.add_task_avoiding(0, 0, 5, 0, 7);
  auto d = one.next();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->worker, 0);
  EXPECT_EQ(d->avoid_rank, 7);
  one.complete(d->batch_id, 0);
  EXPECT_TRUE(one.retry(0, 5, 0, 8).retried);
  d = one.next();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->avoid_rank, 8) << "the farm's own retry names the local worker it failed on";
  one.complete(d->batch_id, 0);
  one.add_tasks(0, 0, 6, 1);
  d = one.next();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->avoid_rank, -1) << "fresh tasks avoid nothing";

  Scheduler two(o, all_serve(2), {}, {3, 3});
  two.add_task_avoiding(0, 0, 5, 0, 7);
  d = two.next();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->worker, 1) << "another relay serves the type";
  EXPECT_EQ(d->avoid_rank, -1);
}

TEST(Scheduler, PipelineDeepensOnlyForMeasuredCheapTasks) {
  auto in_flight_after_probe = [](double task_seconds) {
    FarmOptions o;
    o.batch_size = 1;
    o.prefetch = 2;
    o.max_prefetch = 64;
    Scheduler s(o, all_serve(1));
    s.add_tasks(0, 0, 0, 100000);
    int n = 0;
    while (s.next()) ++n;
    EXPECT_EQ(n, 2) << "unmeasured tasks get exactly `prefetch` batches";
    auto d = s.next();
    EXPECT_FALSE(d);
    // Complete nothing yet; measure through one finished batch.
    Scheduler t(o, all_serve(1));
    t.add_tasks(0, 0, 0, 100000);
    auto first = t.next();
    t.complete(first->batch_id, task_seconds);
    int deep = 0;
    while (t.next()) ++deep;
    return deep;
  };
  EXPECT_EQ(in_flight_after_probe(1e-7), 64) << "cheap tasks: up to max_prefetch";
  EXPECT_EQ(in_flight_after_probe(0.005), 2) << "costly tasks: just prefetch";
  EXPECT_EQ(in_flight_after_probe(0.5), 2) << "heavy tasks: prefetched while plenty remain";
}

TEST(Scheduler, HeavyTasksGoOneAtATimeNearTheEnd) {
  FarmOptions o;
  o.prefetch = 2;
  Scheduler s(o, all_serve(2));
  s.add_tasks(0, 0, 0, 10);
  auto a = s.next();  // probes: nothing measured yet
  auto b = s.next();
  ASSERT_TRUE(a && b);
  s.complete(a->batch_id, 1.0);  // a heavy task: 1 s
  s.complete(b->batch_id, 1.0);
  // 8 remain: while more than prefetch × workers = 4 remain, each worker gets a second;
  // the last 4 wait for a worker with nothing in flight.
  std::map<int, int> per_worker;
  while (auto d = s.next()) {
    EXPECT_EQ(d->indices.size(), 1u);
    ++per_worker[d->worker];
  }
  EXPECT_EQ(per_worker[0], 2);
  EXPECT_EQ(per_worker[1], 2);
}

// ---- Holes (a resumed map adds only what its journal lacks) and requeue (timeouts) ----

namespace {

std::vector<std::uint32_t> range_of(std::uint32_t first, std::uint32_t end) {
  std::vector<std::uint32_t> v(end - first);
  std::iota(v.begin(), v.end(), first);
  return v;
}

}  // namespace

TEST(Scheduler, TasksAddedWithHolesDispatchExactlyTheAddedIndices) {
  for (Schedule sched : {Schedule::dynamic, Schedule::static_}) {
    for (std::size_t batch : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
      SCOPED_TRACE(std::string(to_string(sched)) + " batch " + std::to_string(batch));
      FarmOptions o;
      o.schedule = sched;
      o.batch_size = batch;
      Scheduler s(o, all_serve(3));
      s.add_tasks(5, 0, 0, 0);     // creates the group, as map() does before the ranges
      s.add_tasks(5, 0, 2, 10);    // [2, 12)
      s.add_tasks(5, 0, 12, 3);    // adjacent: [12, 15)
      s.add_tasks(5, 0, 40, 1);    // [40]
      s.add_tasks(5, 0, 100, 50);  // [100, 150)
      std::vector<std::uint32_t> want = range_of(2, 15);
      want.push_back(40);
      for (auto i : range_of(100, 150)) want.push_back(i);
      // Every batch lies inside one added range, and is contiguous.
      std::set<std::uint32_t> seen;
      std::deque<Dispatch> flying;
      for (;;) {
        while (auto d = s.next()) {
          EXPECT_EQ(d->group, 5u);
          const auto idx = d->indices.to_vector();
          for (std::size_t k = 1; k < idx.size(); ++k) EXPECT_EQ(idx[k], idx[k - 1] + 1);
          const bool inside = (idx.front() >= 2 && idx.back() < 15) || (idx.front() == 40 && idx.size() == 1) ||
                              (idx.front() >= 100 && idx.back() < 150);
          EXPECT_TRUE(inside) << "batch [" << idx.front() << ", " << idx.back() << "] crosses a hole";
          for (auto i : idx) EXPECT_TRUE(seen.insert(i).second) << i << " dispatched twice";
          flying.push_back(*d);
        }
        if (flying.empty()) break;
        s.complete(flying.front().batch_id, 1e-6);
        flying.pop_front();
      }
      EXPECT_EQ(std::vector<std::uint32_t>(seen.begin(), seen.end()), want);
    }
  }
}

TEST(Scheduler, DynamicHandsOutRangesInTheOrderAdded) {
  FarmOptions o;
  o.batch_size = 100;
  Scheduler s(o, all_serve(1));
  s.add_tasks(0, 0, 50, 5);
  s.add_tasks(0, 0, 10, 5);  // added later, lower indices: still after [50, 55)
  auto a = s.next();
  auto b = s.next();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->indices.to_vector(), range_of(50, 55)) << "a batch is cut at the end of its range";
  EXPECT_EQ(b->indices.to_vector(), range_of(10, 15));
  EXPECT_FALSE(s.next());
}

TEST(Scheduler, RequeuedTasksComeBackWithoutCountingAnAttempt) {
  FarmOptions o;
  o.batch_size = 5;
  o.prefetch = 1;
  o.max_retries = 1;
  Scheduler s(o, all_serve(2));
  s.add_tasks(0, 0, 0, 20);
  auto a = s.next();  // [0, 5) on one worker
  auto b = s.next();  // [5, 10) on the other
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->indices.to_vector(), range_of(0, 5));
  // Batch a abandoned at a timeout of task 2: 2 used an attempt; the others never ran.
  s.complete(a->batch_id, 0.1);
  const auto r = s.retry(0, 2, a->worker);
  EXPECT_TRUE(r.retried);
  EXPECT_EQ(r.attempts, 1);
  for (std::uint32_t i : {0u, 1u, 3u, 4u}) s.requeue(0, i);
  // Abandoned again and again (only a's worker is free: b is still out).
  for (int round = 0; round < 3; ++round) {
    auto d = s.next();
    ASSERT_TRUE(d);
    EXPECT_EQ(d->worker, a->worker);
    const auto idx = d->indices.to_vector();
    EXPECT_EQ(std::count(idx.begin(), idx.end(), 2u), 0) << "the retry of 2 avoids the worker it failed on";
    s.complete(d->batch_id, 0.1);
    for (auto i : idx) s.requeue(0, i);
  }
  s.complete(b->batch_id, 0.1);
  std::set<std::uint32_t> rest;
  drain(s, 1e-3, &rest);
  std::set<std::uint32_t> want;
  for (std::uint32_t i = 0; i < 20; ++i)
    if (i < 5 || i >= 10) want.insert(i);
  EXPECT_EQ(rest, want) << "a's tasks (2 as a retry, the others requeued) and the fresh ones, once each";
  // Requeues cost nothing: 3 (requeued four times) still has its whole retry budget, while
  // 2's timeout counted.
  const auto three = s.retry(0, 3, a->worker);
  EXPECT_TRUE(three.retried);
  EXPECT_EQ(three.attempts, 1);
  EXPECT_EQ(s.retry(0, 3, b->worker).attempts, 2);
  const auto two = s.retry(0, 2, b->worker);
  EXPECT_FALSE(two.retried);
  EXPECT_EQ(two.attempts, 2);
}

TEST(Scheduler, DynamicRequeueBatchesNeighboursTogetherAheadOfFreshTasks) {
  FarmOptions o;
  o.batch_size = 6;
  o.prefetch = 2;
  Scheduler s(o, all_serve(1));
  s.add_tasks(0, 0, 0, 30);
  auto a = s.next();  // [0, 6)
  auto b = s.next();  // [6, 12)
  ASSERT_TRUE(a && b);
  EXPECT_EQ(b->indices.to_vector(), range_of(6, 12));
  // a abandoned at task 1: 0 and 2..5 come back unrun, in batch order.
  s.complete(a->batch_id, 0.1);
  s.requeue(0, 0);
  for (std::uint32_t i = 2; i < 6; ++i) s.requeue(0, i);
  auto c = s.next();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->indices.to_vector(), range_of(2, 6)) << "neighbours requeued together form one batch, first";
  s.complete(b->batch_id, 0.1);
  auto d = s.next();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->indices.to_vector(), std::vector<std::uint32_t>{0});
  s.complete(c->batch_id, 0.1);
  auto e = s.next();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->indices.to_vector(), range_of(12, 18)) << "then the fresh tasks go on where they were";
}

TEST(Scheduler, StaticRequeueSendsEachTaskAgainOnce) {
  FarmOptions o;
  o.schedule = Schedule::static_;
  o.max_batch = 4;
  Scheduler s(o, all_serve(2));
  s.add_tasks(0, 0, 0, 8);
  auto a = s.next();
  ASSERT_TRUE(a);
  const auto idx = a->indices.to_vector();
  s.complete(a->batch_id, 0.1);
  for (auto i : idx) s.requeue(0, i);
  std::multiset<std::uint32_t> seen;
  std::deque<Dispatch> flying;
  for (;;) {
    while (auto d = s.next()) {
      for (auto i : d->indices.to_vector()) seen.insert(i);
      flying.push_back(*d);
    }
    if (flying.empty()) break;
    s.complete(flying.front().batch_id, 1e-3);
    flying.pop_front();
  }
  std::multiset<std::uint32_t> want;
  for (std::uint32_t i = 0; i < 8; ++i) want.insert(i);
  EXPECT_EQ(seen, want) << "each requeued task once more, the others once";
}

// next() looks only at workers whose slots changed since its last fruitless scan, unless
// something that concerns every worker changed: these are the changes of the second kind.
TEST(Scheduler, TheFirstMeasurementDeepensEveryWorkersPipeline) {
  FarmOptions o;
  o.batch_size = 1;
  o.prefetch = 2;
  o.max_prefetch = 8;
  Scheduler s(o, all_serve(2));
  s.add_tasks(0, 0, 0, 1000);
  std::vector<Dispatch> first;
  while (auto d = s.next()) first.push_back(*d);
  ASSERT_EQ(first.size(), 4u) << "unmeasured: prefetch batches per worker";
  ASSERT_FALSE(s.next());
  // Worker 0's probe returns cheap: both workers may now run ahead, not just worker 0.
  const auto on0 = std::find_if(first.begin(), first.end(), [](const Dispatch& d) { return d.worker == 0; });
  s.complete(on0->batch_id, 1e-7);
  std::map<int, int> more;
  while (auto d = s.next()) ++more[d->worker];
  EXPECT_EQ(more[0], 8 - 1);
  EXPECT_EQ(more[1], 8 - 2);
}

TEST(Scheduler, TasksAddedToAnIdleFarmReachEveryWorker) {
  FarmOptions o;
  o.batch_size = 1;
  o.prefetch = 1;
  Scheduler s(o, all_serve(4));
  s.add_tasks(0, 0, 0, 2);
  drain(s, 0.001);
  ASSERT_FALSE(s.next());
  s.add_tasks(0, 0, 2, 8);
  std::set<int> workers;
  while (auto d = s.next()) workers.insert(d->worker);
  EXPECT_EQ(workers, (std::set<int>{0, 1, 2, 3}));
}

TEST(Scheduler, AResultFreesASlotForItsOwnWorkerOnly) {
  FarmOptions o;
  o.batch_size = 1;
  o.prefetch = 1;
  o.max_prefetch = 1;  // one batch in flight per worker, measured or not
  Scheduler s(o, all_serve(5));
  s.add_tasks(0, 0, 0, 100);
  std::vector<Dispatch> out;
  while (auto d = s.next()) out.push_back(*d);
  ASSERT_EQ(out.size(), 5u);
  s.complete(out[3].batch_id, 0.001);
  auto d = s.next();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->worker, out[3].worker);
  EXPECT_FALSE(s.next());
}
