// The stop protocol's bookkeeping: one stop per worker, one report back from each, a deadline.
#include <gtest/gtest.h>

#include <deque>

#include "rankpool/runtime/stop.hpp"

using namespace rankpool::runtime;
using Clock = StopGather::Clock;

TEST(StopGather, SendsOneStopPerWorkerOnceAndFinishesWhenAllHaveAnswered) {
  StopGather g(3);
  std::vector<int> sent;
  EXPECT_FALSE(g.started());
  g.start([&](int w) { sent.push_back(w); });
  g.start([&](int w) { sent.push_back(w); });  // once
  EXPECT_EQ(sent, (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(g.started());
  EXPECT_FALSE(g.finished());
  g.on_report(2, "c");
  g.on_report(0, "a");
  EXPECT_EQ(g.missing(), 1);
  g.on_report(0, "a2");  // a repeat does not count twice
  EXPECT_FALSE(g.finished(Clock::now() + std::chrono::hours(24))) << "no deadline: wait for everyone";
  g.on_report(1, "b");
  EXPECT_TRUE(g.finished());
  EXPECT_EQ(g.missing(), 0);
  EXPECT_EQ(*g.reports()[1], "b");
  EXPECT_EQ(*g.reports()[0], "a2");
  EXPECT_THROW(g.on_report(3, "x"), std::out_of_range);
}

TEST(StopGather, ADeadlineLeavesSilentWorkersMissing) {
  StopGather g(2);
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  g.start([](int) {}, deadline);
  g.on_report(1, "late but here");
  EXPECT_FALSE(g.finished(deadline - std::chrono::milliseconds(1)));
  EXPECT_TRUE(g.finished(deadline));
  EXPECT_EQ(g.missing(), 1);
  EXPECT_FALSE(g.reports()[0]);
  EXPECT_TRUE(g.reports()[1]);
}

TEST(StopGather, CollectSkipsOtherMessagesAndStopsAtTheDeadline) {
  // Replies come through a fake receive: a non-report (nullopt), then the two reports.
  std::deque<std::optional<StopGather::Report>> inbox{std::nullopt, StopGather::Report{1, "one"},
                                                      StopGather::Report{0, "zero"}};
  StopGather g(2);
  g.start([](int) {});
  g.collect([&](std::chrono::microseconds) {
    auto r = inbox.front();
    inbox.pop_front();
    return r;
  });
  EXPECT_TRUE(inbox.empty());
  EXPECT_EQ(*g.reports()[0], "zero");

  StopGather silent(1);
  silent.start([](int) {}, Clock::now() + std::chrono::milliseconds(30));
  int polls = 0;
  silent.collect(
      [&](std::chrono::microseconds) -> std::optional<StopGather::Report> {
        ++polls;
        return std::nullopt;
      },
      std::chrono::milliseconds(1));
  EXPECT_GT(polls, 0);
  EXPECT_EQ(silent.missing(), 1);
  StopGather none(0);
  none.start([](int) { FAIL(); });
  EXPECT_TRUE(none.finished()) << "no workers: nothing to wait for";
}
