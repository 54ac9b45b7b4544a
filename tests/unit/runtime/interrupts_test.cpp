// The interrupt flag and the grace that follows a signal.
#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "rankpool/runtime/interrupts.hpp"

using namespace rankpool::runtime;

TEST(Interrupts, CatchInterruptsStoresTheSignal) {
  const std::atomic<int>* flag = catch_interrupts();
  ASSERT_NE(flag, nullptr);
  std::raise(SIGTERM);
  EXPECT_EQ(flag->load(), SIGTERM);
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGINT, SIG_DFL);
}

TEST(InterruptWatch, WithoutAFlagNothingHappens) {
  InterruptWatch w(nullptr, std::chrono::milliseconds(0));
  EXPECT_EQ(w.poll(), 0);
  EXPECT_FALSE(w.grace_over(InterruptWatch::Clock::now() + std::chrono::hours(1)));
}

TEST(InterruptWatch, TheGraceStartsWhenTheSignalIsFirstSeenAndTheFirstSignalSticks) {
  std::atomic<int> flag{0};
  InterruptWatch w(&flag, std::chrono::milliseconds(50));
  EXPECT_EQ(w.poll(), 0);
  EXPECT_FALSE(w.grace_over());
  flag = SIGINT;
  const auto seen = InterruptWatch::Clock::now();
  EXPECT_EQ(w.poll(), SIGINT);
  flag = SIGTERM;
  EXPECT_EQ(w.poll(), SIGINT);
  EXPECT_EQ(w.signal(), SIGINT);
  EXPECT_FALSE(w.grace_over(seen));
  EXPECT_TRUE(w.grace_over(seen + std::chrono::milliseconds(200)));
  EXPECT_EQ(w.grace(), std::chrono::milliseconds(50));
}
