// Message encoding and option parsing.
#include <gtest/gtest.h>

#include "rankpool/farm/codec.hpp"
#include "rankpool/farm/options.hpp"
#include "rankpool/farm/protocol.hpp"

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
  BatchHeader h{9, 2, 100, BatchHeader::kTimeEach};
  std::string out;
  encode_batch_header(out, h);
  Reader in(out);
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
