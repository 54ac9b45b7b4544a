// The executor that makes task timeouts possible: a batch whose task outlives the limit is
// answered at once (timeout + not_run), its thread is abandoned and a fresh one goes on.
//
// The slow task does not sleep for a fixed time: it blocks until the test releases it, so
// the test decides when the abandoned thread returns and nothing depends on the machine's
// speed. Timing appears only as hang guards.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "farm/executor.hpp"

using namespace rankpool::farm;
using namespace std::chrono_literals;

namespace {

constexpr int kSlow = 13;  // the input that blocks

// Released by the test; the registry's slow task waits for it.
struct Gate {
  std::atomic<bool> open{false};
  std::atomic<int> entered{0};
  std::atomic<int> left{0};
};

Registry make_registry(Gate& gate) {
  Registry r;
  r.add<int, long>("triple", [&gate](int x) {
    if (x == kSlow) {
      ++gate.entered;
      while (!gate.open.load()) std::this_thread::sleep_for(1ms);
      ++gate.left;
    }
    if (x < 0) throw std::runtime_error("negative: " + std::to_string(x));
    return 3L * x;
  });
  r.add<std::string, std::string>("echo", [&gate](const std::string& s) {
    if (s == "slow") {
      ++gate.entered;
      while (!gate.open.load()) std::this_thread::sleep_for(1ms);
      ++gate.left;
    }
    return s + s;
  });
  return r;
}

template <class In>
std::string batch(std::uint64_t id, std::uint32_t type, const std::vector<In>& inputs) {
  BatchHeader h;
  h.batch_id = id;
  h.type = type;
  h.count = static_cast<std::uint32_t>(inputs.size());
  std::string msg;
  encode_batch_header(msg, h);
  codec::encode_range(msg, inputs.data(), inputs.size());
  return msg;
}

// Polls until a result is ready; the deadline only guards against a hang.
ResultMessage next_result(Executor& e) {
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < give_up) {
    if (auto wire = e.poll()) return decode_result(*wire);
    std::this_thread::sleep_for(200us);
  }
  ADD_FAILURE() << "no result within 60 s";
  return {};
}

template <class Pred>
bool eventually(Pred pred) {
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

template <class Out>
std::vector<Out> outputs(const ResultMessage& r, std::size_t n) {
  std::vector<Out> v;
  codec::decode<Out>(r.payload, n, v);
  return v;
}

// Opens the gate and waits until every abandoned thread has left the registry's code:
// the registry must outlive them.
void release(Gate& gate, Executor& e) {
  gate.open = true;
  EXPECT_TRUE(eventually([&] { return gate.left.load() == gate.entered.load() && e.stuck_threads() == 0; }));
}

}  // namespace

TEST(Executor, BatchWithoutSlowTasksCompletesWithOutputs) {
  Gate gate;
  Registry reg = make_registry(gate);
  Executor e(reg, 10s);
  EXPECT_TRUE(e.idle());
  e.submit(batch<int>(1, 0, {1, 2, -3, 4}));
  const ResultMessage r = next_result(e);
  EXPECT_EQ(r.batch_id, 1u);
  EXPECT_EQ(r.count, 4u);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_EQ(r.failures[0], (TaskFailure{2, "negative: -3", FailureKind::error}));
  EXPECT_EQ(outputs<long>(r, 3), (std::vector<long>{3, 6, 12}));
  EXPECT_TRUE(e.idle());
  EXPECT_EQ(e.stuck_threads(), 0);
  EXPECT_EQ(e.stats().tasks, 4u);
  EXPECT_EQ(e.stats().failed, 1u);
  EXPECT_EQ(e.stats().batches, 1u);
}

TEST(Executor, TimedOutTaskFailsOthersComeBackNotRunAndAFreshThreadGoesOn) {
  Gate gate;
  Registry reg = make_registry(gate);
  Executor e(reg, 50ms);
  e.submit(batch<int>(7, 0, {1, 2, kSlow, 4, 5}));
  // Queued behind the stuck batch: the fresh thread must pick it up.
  e.submit(batch<int>(8, 0, {10, 20}));

  const ResultMessage r = next_result(e);
  EXPECT_EQ(gate.entered.load(), 1);
  EXPECT_EQ(r.batch_id, 7u);
  EXPECT_EQ(r.count, 5u);
  EXPECT_TRUE(r.payload.empty()) << "an abandoned batch returns no outputs";
  ASSERT_EQ(r.failures.size(), 5u);
  for (std::uint32_t p = 0; p < 5; ++p) {
    SCOPED_TRACE("position " + std::to_string(p));
    EXPECT_EQ(r.failures[p].position, p);
    if (p == 2) {
      EXPECT_EQ(r.failures[p].kind, FailureKind::timeout);
      EXPECT_EQ(r.failures[p].message, "timed out after 0.05 s (task timeout)");
    } else {
      EXPECT_EQ(r.failures[p].kind, FailureKind::not_run);
      EXPECT_EQ(r.failures[p].message, "not run: its batch was abandoned at a timeout");
    }
  }
  EXPECT_EQ(e.stuck_threads(), 1) << "the thread in the slow task is left behind";

  const ResultMessage next = next_result(e);
  EXPECT_EQ(next.batch_id, 8u);
  EXPECT_TRUE(next.failures.empty());
  EXPECT_EQ(outputs<long>(next, 2), (std::vector<long>{30, 60}));

  // And one submitted after the timeout, while the old thread is still stuck.
  e.submit(batch<std::string>(9, 1, {"a", "bc"}));
  const ResultMessage third = next_result(e);
  EXPECT_EQ(third.batch_id, 9u);
  EXPECT_EQ(outputs<std::string>(third, 2), (std::vector<std::string>{"aa", "bcbc"}));
  EXPECT_EQ(e.stuck_threads(), 1);
  EXPECT_TRUE(e.idle());

  // The stuck task finally returns: its result is dropped, nothing more is answered.
  release(gate, e);
  EXPECT_EQ(e.stuck_threads(), 0);
  EXPECT_FALSE(e.poll()) << "a late result of an abandoned batch must not be delivered";
  EXPECT_TRUE(e.idle());
  // Counters: batch 7 counts only its timed-out task, then 2 + 2 tasks.
  EXPECT_EQ(e.stats().batches, 3u);
  EXPECT_EQ(e.stats().tasks, 5u);
  EXPECT_EQ(e.stats().failed, 1u);
}

TEST(Executor, SeveralTimeoutsLeaveSeveralThreads) {
  Gate gate;
  Registry reg = make_registry(gate);
  Executor e(reg, 30ms);
  e.submit(batch<std::string>(1, 1, {"slow"}));
  e.submit(batch<std::string>(2, 1, {"x", "slow", "y"}));
  const ResultMessage a = next_result(e);
  const ResultMessage b = next_result(e);
  EXPECT_EQ(a.batch_id, 1u);
  ASSERT_EQ(a.failures.size(), 1u);
  EXPECT_EQ(a.failures[0].kind, FailureKind::timeout);
  EXPECT_EQ(b.batch_id, 2u);
  ASSERT_EQ(b.failures.size(), 3u);
  EXPECT_EQ(b.failures[0].kind, FailureKind::not_run) << "ran before the timeout, but its output is not sent";
  EXPECT_EQ(b.failures[1].kind, FailureKind::timeout);
  EXPECT_EQ(b.failures[2].kind, FailureKind::not_run);
  EXPECT_EQ(e.stuck_threads(), 2);
  release(gate, e);
  EXPECT_EQ(gate.left.load(), 2);
}

TEST(Executor, UndecodableBatchIsAProtocolError) {
  Gate gate;
  Registry reg = make_registry(gate);
  Executor e(reg, 1s);
  e.submit("xy");
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  bool thrown = false;
  while (!thrown && std::chrono::steady_clock::now() < give_up) {
    try {
      e.poll();
    } catch (const ProtocolError&) {
      thrown = true;
    }
    std::this_thread::sleep_for(200us);
  }
  EXPECT_TRUE(thrown);
  // The executor still works afterwards.
  e.submit(batch<int>(3, 0, {5}));
  EXPECT_EQ(outputs<long>(next_result(e), 1), (std::vector<long>{15}));
}

TEST(TaskWatch, ExactlyOneOfEndAndExpireWinsAndNothingBeginsAfterAbandon) {
  using Clock = TaskWatch::Clock;
  TaskWatch w;
  EXPECT_FALSE(w.expire(Clock::now() + 1h, 1s)) << "no task running: nothing to expire";
  ASSERT_TRUE(w.begin(3));
  EXPECT_TRUE(w.running());
  EXPECT_FALSE(w.expire(Clock::now(), 1h)) << "within the limit";
  EXPECT_TRUE(w.end()) << "the task returned first: its result counts";
  EXPECT_FALSE(w.running());
  ASSERT_TRUE(w.begin(4));
  // A `now` an hour ahead stands for a task that ran too long, without sleeping.
  EXPECT_EQ(w.expire(Clock::now() + 1h, 1s), std::optional<std::uint32_t>(4));
  EXPECT_TRUE(w.abandoned());
  EXPECT_FALSE(w.expire(Clock::now() + 2h, 1s)) << "a batch is abandoned once";
  EXPECT_FALSE(w.end()) << "expired first: the late result is dropped";
  EXPECT_FALSE(w.begin(5)) << "no task of an abandoned batch starts";

  TaskWatch v;  // abandoned between two tasks (the executor's destructor)
  ASSERT_TRUE(v.begin(0));
  EXPECT_TRUE(v.end());
  v.abandon();
  EXPECT_FALSE(v.begin(1));
  EXPECT_FALSE(v.running());
}
