// Scheduling policy in isolation: batch sizes, prefetch bound, static blocks, routing, retries.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "rankpool/farm/scheduler.hpp"

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
        for (auto i : d->indices.to_vector()) EXPECT_TRUE(seen->insert(i).second) << "task " << i << " dispatched twice";
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
  auto sizes = drain(s, 1e-7);  // 0.1 µs per task: a batch carries at least 1000
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
