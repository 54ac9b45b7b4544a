// Message encoding and option parsing.
#include <gtest/gtest.h>

#include <unistd.h>

#include <boost/program_options.hpp>
#include <cmath>
#include <csignal>
#include <filesystem>

#include "rankpool/farm/cli.hpp"
#include "rankpool/farm/detail/codec.hpp"
#include "rankpool/farm/options.hpp"
#include "rankpool/farm/detail/protocol.hpp"
#include "rankpool/runtime/interrupts.hpp"

using namespace rankpool::farm;

TEST(Protocol, ResultRoundTrip) {
  ResultMessage r;
  r.batch_id = 42;
  r.count = 3;
  r.busy_ns = 123456789;
  r.failures = {{1, "boom"}, {2, std::string(1000, 'e')}};
  r.seconds = {0.5f, 0.25f, 1.0f};
  r.payload = std::string("\0\1\2payload", 10);
  EXPECT_EQ(decode_result(encode_result(r)), r);
  ResultMessage plain;
  plain.batch_id = 7;
  plain.count = 0;
  EXPECT_EQ(decode_result(encode_result(plain)), plain);
}

TEST(Protocol, RankRunsRoundTripAndCostAFlatResultFourBytes) {
  ResultMessage r;
  r.batch_id = 3;
  r.count = 10;
  r.payload = "abc";
  const std::size_t flat = encode_result(r).size();
  EXPECT_EQ(flat, kResultFixedBytes + 3 + 4 + 4 + 4) << "no failures, no seconds, no rank runs";
  r.ranks = {{0, 4, 5}, {4, 3, 6}, {7, 3, 7}};
  EXPECT_EQ(encode_result(r).size(), flat + 3 * 12);
  EXPECT_EQ(decode_result(encode_result(r)), r);
  EXPECT_EQ(rank_at(r.ranks, 0, 1), 5);
  EXPECT_EQ(rank_at(r.ranks, 6, 1), 6);
  EXPECT_EQ(rank_at(r.ranks, 9, 1), 7);
  EXPECT_EQ(rank_at({}, 9, 1), 1) << "a worker's own result: the sender ran it";
  ResultMessage bad = r;
  bad.ranks = {{8, 3, 5}};
  EXPECT_THROW(decode_result(encode_result(bad)), ProtocolError) << "run past the batch";
  bad.ranks = {{0, 1, -2}};
  EXPECT_THROW(decode_result(encode_result(bad)), ProtocolError) << "negative rank";
  bad.ranks = {{4, 3, 5}, {0, 4, 6}};
  EXPECT_THROW(decode_result(encode_result(bad)), ProtocolError) << "runs out of batch order";
  bad.ranks = {{0, 4, 5}, {3, 3, 6}};
  EXPECT_THROW(decode_result(encode_result(bad)), ProtocolError) << "overlapping runs";
}

// Runs of 1, 5, 0, 2, 130 and 1 positions with a gap (positions 8-9, which the sender ran):
// the rank of every position, by the binary search and by the cursor in order, backwards
// and in a scattered order.
TEST(Protocol, RankLookupFindsEveryPositionsRun) {
  const std::vector<RankRun> runs = {{0, 1, 10}, {1, 5, 11}, {6, 0, 12}, {6, 2, 13}, {10, 130, 14}, {140, 1, 15}};
  const std::uint32_t count = 141;
  const int sender = 3;
  std::vector<int> expected(count, sender);
  for (const auto& run : runs)
    for (std::uint32_t p = run.first; p < run.first + run.count; ++p) expected[p] = run.rank;
  ASSERT_EQ(expected[0], 10);
  ASSERT_EQ(expected[6], 13) << "the empty run at 6 names no position";
  ASSERT_EQ(expected[9], sender);
  ASSERT_EQ(expected[140], 15);
  ResultMessage r;
  r.count = count;
  r.ranks = runs;
  EXPECT_EQ(decode_result(encode_result(r)).ranks, runs) << "a valid run list, gaps and empty runs included";

  RankCursor forward(runs, sender);
  for (std::uint32_t p = 0; p < count; ++p) {
    EXPECT_EQ(rank_at(runs, p, sender), expected[p]) << p;
    EXPECT_EQ(forward(p), expected[p]) << p;
  }
  RankCursor skipping(runs, sender);  // a batch's failures: increasing, with holes
  for (std::uint32_t p : {0u, 5u, 7u, 9u, 139u, 140u}) EXPECT_EQ(skipping(p), expected[p]) << p;
  RankCursor backward(runs, sender);
  for (std::uint32_t p = count; p-- > 0;) EXPECT_EQ(backward(p), expected[p]) << p;
  RankCursor scattered(runs, sender);
  for (std::uint32_t p : {140u, 0u, 70u, 6u, 9u, 1u, 139u, 8u, 10u, 5u}) EXPECT_EQ(scattered(p), expected[p]) << p;
  EXPECT_EQ(rank_at(runs, count, sender), sender) << "past the last run";

  const std::vector<RankRun> none;  // a worker's own result: no runs
  RankCursor flat(none, sender);
  for (std::uint32_t p : {0u, 1u, 100u, 0u}) {
    EXPECT_EQ(flat(p), sender);
    EXPECT_EQ(rank_at({}, p, sender), sender);
  }
  const std::vector<RankRun> one = {{0, count, 7}};
  RankCursor whole(one, sender);
  EXPECT_EQ(whole(0), 7);
  EXPECT_EQ(whole(count - 1), 7);
  EXPECT_EQ(rank_at(one, count - 1, sender), 7);
}

TEST(Protocol, TruncatedOrInconsistentMessagesAreProtocolErrors) {
  ResultMessage r;
  r.count = 2;
  r.failures = {{0, "x"}};
  const std::string bytes = encode_result(r);
  for (std::size_t cut = 0; cut < 24; ++cut) {
    EXPECT_THROW(decode_result(std::string_view(bytes).substr(0, cut)), ProtocolError) << cut;
  }
  ResultMessage bad;
  bad.count = 1;
  bad.failures = {{5, "position out of range"}};
  EXPECT_THROW(decode_result(encode_result(bad)), ProtocolError);
}

TEST(Protocol, StopAndBatchHeaderRoundTrip) {
  EXPECT_EQ(decode_stop(encode_stop({"bad input"})).abort_reason, "bad input");
  BatchHeader h{9, 2, 100, BatchHeader::kTimeEach, 17};
  std::string out;
  encode_batch_header(out, h);
  ByteReader in(out);
  EXPECT_EQ(decode_batch_header(in), h);
}

TEST(Codec, BitwiseAndSerializedValues) {
  std::string out;
  std::vector<double> d = {1.5, -2.25, 1e300};
  codec::encode_range(out, d.data(), d.size());
  EXPECT_EQ(out.size(), 3 * sizeof(double));
  std::vector<double> back;
  codec::decode(out, 3, back);
  EXPECT_EQ(back, d);
  EXPECT_THROW(codec::decode(out, 4, back), ProtocolError);

  std::string s;
  std::vector<std::pair<std::string, int>> v = {{"a", 1}, {"", 2}, {std::string(300, 'z'), 3}};
  codec::encode_range(s, v.data(), v.size());
  std::vector<std::pair<std::string, int>> vb;
  codec::decode(s, 3, vb);
  EXPECT_EQ(vb, v);
  EXPECT_THROW(codec::decode(std::string_view(s).substr(0, 5), 3, vb), ProtocolError);
}

TEST(Options, QueueAssignments) {
  EXPECT_EQ(parse_queue_assignment("fib=1-2", 5), (QueueAssignment{"fib", {1, 2}}));
  EXPECT_EQ(parse_queue_assignment("crawl=3-", 6), (QueueAssignment{"crawl", {3, 4, 5}}));
  EXPECT_EQ(parse_queue_assignment("x=1,4,2-3", 5), (QueueAssignment{"x", {1, 4, 2, 3}}));
  for (const char* bad : {"fib", "=1", "fib=", "fib=a", "fib=3-1", "fib=1,,2", "fib=-1"}) {
    try {
      parse_queue_assignment(bad, 4);
      ADD_FAILURE() << bad << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

TEST(Protocol, FailureKindAndStopSignalRoundTrip) {
  ResultMessage r;
  r.batch_id = 3;
  r.count = 3;
  r.failures = {
      {0, "threw", FailureKind::error}, {1, "timed out", FailureKind::timeout}, {2, "", FailureKind::not_run}};
  EXPECT_EQ(decode_result(encode_result(r)), r);
  std::string bad = encode_result(r);
  // The message ends the result with the kind byte of the last failure, its (empty)
  // message's length, the count of seconds and the count of rank runs. 3 is no FailureKind.
  const std::size_t kind_at = bad.size() - 4 - 4 - 4 - 1;
  ASSERT_EQ(static_cast<int>(bad[kind_at]), 2);
  bad[kind_at] = 3;
  EXPECT_THROW(decode_result(bad), ProtocolError);
  const StopMessage stop{"interrupted by SIGTERM after 1 of 2 tasks", SIGTERM};
  EXPECT_EQ(decode_stop(encode_stop(stop)), stop);
}

namespace {

FarmCli parse_cli(std::vector<std::string> args) {
  FarmCli cli;
  namespace po = boost::program_options;
  po::variables_map vm;
  args.insert(args.begin(), "prog");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  po::store(po::parse_command_line(static_cast<int>(argv.size()), argv.data(), farm_options_description(cli)), vm);
  po::notify(vm);
  return cli;
}

std::string invalid(const FarmCli& cli) {
  try {
    to_farm_options(cli, 3);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST(Options, JournalAndTimeoutFlags) {
  const FarmCli cli = parse_cli({"--journal", "j.bin", "--resume", "--task-timeout", "0.25"});
  EXPECT_EQ(cli.journal, "j.bin");
  EXPECT_TRUE(cli.resume);
  EXPECT_FALSE(cli.retry_failed);
  const FarmOptions o = to_farm_options(cli, 3);
  EXPECT_EQ(o.task_timeout, std::chrono::microseconds(250'000));
  EXPECT_EQ(to_farm_options(parse_cli({"--task-timeout", "1e-9"}), 3).task_timeout, std::chrono::microseconds(1))
      << "a tiny positive timeout is not 'none'";
  EXPECT_EQ(to_farm_options(parse_cli({}), 3).task_timeout, std::chrono::microseconds(0));

  FarmCli bad = parse_cli({"--task-timeout", "-1"});
  EXPECT_EQ(invalid(bad), "invalid --task-timeout -1.000000: expected seconds between 0 (none) and 1000000");
  bad.task_timeout = std::nan("");
  EXPECT_NE(invalid(bad).find("invalid --task-timeout"), std::string::npos);
  EXPECT_EQ(invalid(parse_cli({"--resume"})), "--resume needs --journal FILE");
  EXPECT_EQ(invalid(parse_cli({"--retry-failed"})), "--retry-failed needs --journal FILE");
}

TEST(Options, OpenJournal) {
  EXPECT_EQ(open_journal(parse_cli({}), JournalKey{}), nullptr);
  const std::string path =
      (std::filesystem::temp_directory_path() / ("rankpool-cli-journal-" + std::to_string(::getpid()))).string();
  std::filesystem::remove(path);
  JournalKey key;
  key.task_type = "fib";
  key.tasks = 3;
  { EXPECT_NE(open_journal(parse_cli({"--journal", path}), key), nullptr); }
  EXPECT_THROW(open_journal(parse_cli({"--journal", path}), key), JournalError) << "exists, no --resume";
  // --retry-failed implies --resume.
  auto j = open_journal(parse_cli({"--journal", path, "--retry-failed"}), key);
  ASSERT_NE(j, nullptr);
  EXPECT_TRUE(j->retry_failed());
  j.reset();
  std::filesystem::remove(path);
}

TEST(Options, CatchInterruptsStoresTheSignal) {
  const std::atomic<int>* flag = rankpool::runtime::catch_interrupts();
  ASSERT_NE(flag, nullptr);
  EXPECT_EQ(flag->load(), 0);
  std::raise(SIGTERM);
  EXPECT_EQ(flag->load(), SIGTERM);
  std::raise(SIGINT);
  EXPECT_EQ(flag->load(), SIGINT);
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGINT, SIG_DFL);
}
