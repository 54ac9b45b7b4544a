// The stop protocol: its wire format (pinned bytes), one stop per worker, one report back
// from each, a deadline.
#include <gtest/gtest.h>

#include <csignal>
#include <deque>

#include "rankpool/runtime/bytes.hpp"
#include "rankpool/runtime/stop.hpp"

using namespace rankpool::runtime;
using Clock = StopGather::Clock;

namespace {
std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}
std::string report(int rank, std::string payload = {}) {
  return encode_report(RankReport{rank, "h" + std::to_string(rank), "worker", 0.5, std::move(payload)});
}
}  // namespace

TEST(StopWire, TheTagsAndTheBytesOfTheStopAndTheReportArePinned) {
  // Every app speaks these: a change here is a protocol change (bump the apps' versions).
  EXPECT_EQ(kStopTag, 3);
  EXPECT_EQ(kReportTag, 4);
  // u32 length + reason, i32 signal (little-endian x86-64, as every rank of a run).
  EXPECT_EQ(hex(encode_stop(StopMessage{"ab", SIGTERM})),
            "02000000"
            "6162"
            "0f000000");
  EXPECT_EQ(hex(encode_stop(StopMessage{})),
            "00000000"
            "00000000");
  // i32 rank, host, role, f64 wall_s, payload (u32 length + the app's bytes).
  EXPECT_EQ(hex(encode_report(RankReport{2, "n", "w", 1.0, "xyz"})),
            "02000000"
            "01000000"
            "6e"
            "01000000"
            "77"
            "000000000000f03f"
            "03000000"
            "78797a");
}

TEST(StopWire, RoundTripsAndRefusesTruncatedAndTrailingBytes) {
  const StopMessage stop{"interrupted by SIGINT", SIGINT};
  EXPECT_EQ(decode_stop(encode_stop(stop)), stop);
  const RankReport r{7, "node-3", "master+worker", 12.25, std::string("\0\1payload", 9)};
  EXPECT_EQ(decode_report(encode_report(r)), r);
  std::string bytes = encode_report(r);
  EXPECT_THROW(decode_report(bytes.substr(0, bytes.size() - 1)), DecodeError);
  EXPECT_THROW(decode_report(bytes + "x"), DecodeError);
  EXPECT_THROW(decode_stop(encode_stop(stop) + "x"), DecodeError);
}

TEST(StopGather, SendsOneStopPerWorkerOnceAndFinishesWhenAllHaveAnswered) {
  StopGather g(3);
  std::vector<int> sent;
  std::vector<StopMessage> stops;
  auto send = [&](int w, const std::string& bytes) {
    sent.push_back(w);
    stops.push_back(decode_stop(bytes));
  };
  EXPECT_FALSE(g.started());
  g.start(StopMessage{"bye", 0}, send);
  g.start(StopMessage{"again", 0}, send);  // once
  EXPECT_EQ(sent, (std::vector<int>{0, 1, 2}));
  ASSERT_EQ(stops.size(), 3u);
  EXPECT_EQ(stops[2].abort_reason, "bye");
  EXPECT_TRUE(g.started());
  EXPECT_FALSE(g.finished());
  g.on_report(2, report(3, "c"));
  g.on_report(0, report(1, "a"));
  EXPECT_EQ(g.missing(), 1);
  g.on_report(0, report(1, "a2"));  // a repeat does not count twice
  EXPECT_FALSE(g.finished(Clock::now() + std::chrono::hours(24))) << "no deadline: wait for everyone";
  g.on_report(1, report(2, "b"));
  EXPECT_TRUE(g.finished());
  EXPECT_EQ(g.missing(), 0);
  EXPECT_EQ(g.reports()[1]->payload, "b");
  EXPECT_EQ(g.reports()[1]->host, "h2");
  EXPECT_EQ(g.reports()[0]->payload, "a2");
  EXPECT_THROW(g.on_report(3, report(4)), std::out_of_range);
  EXPECT_THROW(g.on_report(1, "not a report"), DecodeError);
}

TEST(StopGather, ADeadlineLeavesSilentWorkersMissing) {
  StopGather g(2);
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  g.start(
      StopMessage{"", SIGINT}, [](int, const std::string&) {}, deadline);
  g.on_report(1, report(2, "late but here"));
  EXPECT_FALSE(g.finished(deadline - std::chrono::milliseconds(1)));
  EXPECT_TRUE(g.finished(deadline));
  EXPECT_EQ(g.missing(), 1);
  EXPECT_FALSE(g.reports()[0]);
  EXPECT_TRUE(g.reports()[1]);
}

TEST(StopGather, CollectSkipsOtherMessagesAndStopsAtTheDeadline) {
  // Replies come through a fake receive: a non-report (nullopt), then the two reports.
  std::deque<std::optional<StopGather::Report>> inbox{std::nullopt, StopGather::Report{1, report(2, "one")},
                                                      StopGather::Report{0, report(1, "zero")}};
  StopGather g(2);
  g.start(StopMessage{}, [](int, const std::string&) {});
  g.collect([&](std::chrono::microseconds) {
    auto r = inbox.front();
    inbox.pop_front();
    return r;
  });
  EXPECT_TRUE(inbox.empty());
  EXPECT_EQ(g.reports()[0]->payload, "zero");
  EXPECT_EQ(g.reports()[0]->rank, 1);

  StopGather silent(1);
  silent.start(
      StopMessage{}, [](int, const std::string&) {}, Clock::now() + std::chrono::milliseconds(30));
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
  none.start(StopMessage{}, [](int, const std::string&) { FAIL(); });
  EXPECT_TRUE(none.finished()) << "no workers: nothing to wait for";
}
