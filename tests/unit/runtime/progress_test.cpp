// The progress line: live on a terminal (rate-limited redraws, forced last figures), plain
// lines per interval in a batch log, nothing when disabled.
#include <gtest/gtest.h>

#include <thread>

#include "rankpool/runtime/progress.hpp"

using namespace rankpool::runtime;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ProgressLine, DisabledIsNeverDue) {
  ProgressLine p(false, milliseconds(0), seconds(0), true);
  EXPECT_FALSE(p.enabled());
  EXPECT_FALSE(p.due(true));
}

TEST(ProgressLine, LiveLineIsRateLimitedButTheLastFiguresAreForced) {
  ProgressLine p(true, milliseconds(10'000), seconds(60), true);
  ASSERT_TRUE(p.live());
  EXPECT_TRUE(p.due());  // the first draw
  testing::internal::CaptureStderr();
  p.draw("[x] 1/2");
  EXPECT_FALSE(p.due());
  EXPECT_TRUE(p.due(true));
  p.draw("[x] 2/2");
  p.finish();
  p.finish();  // once
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "\r[x] 1/2   \r[x] 2/2   \n");
}

TEST(ProgressLine, BatchLogGetsPlainLinesPerIntervalOnly) {
  ProgressLine none(true, milliseconds(0), seconds(0), false);
  EXPECT_FALSE(none.enabled()) << "no interval: nothing in a batch log";
  ProgressLine p(true, milliseconds(0), seconds(1), false);
  ASSERT_TRUE(p.enabled());
  EXPECT_FALSE(p.live());
  EXPECT_FALSE(p.due(true)) << "not before the first interval, forced or not";
  std::this_thread::sleep_for(milliseconds(1100));
  ASSERT_TRUE(p.due());
  testing::internal::CaptureStderr();
  p.draw("[x] 5 pages");
  p.finish();
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "[x] 5 pages\n");
  EXPECT_FALSE(p.due());
}
