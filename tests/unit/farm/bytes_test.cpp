// The byte codec (runtime/bytes.hpp): bounds, trailing bytes, described structs, and the
// farm messages built on it rejecting truncated and trailing input.
#include <gtest/gtest.h>

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "rankpool/farm/detail/protocol.hpp"
#include "rankpool/runtime/bytes.hpp"

namespace bytes_test {

enum class Colour : std::uint8_t { red = 1, green = 2 };
BOOST_DESCRIBE_ENUM(Colour, red, green)

struct Inner {
  std::string name;
  std::int32_t n = 0;
  bool operator==(const Inner&) const = default;
};
BOOST_DESCRIBE_STRUCT(Inner, (), (name, n))

struct Outer {
  std::uint64_t id = 0;
  bool flag = false;
  Colour colour = Colour::red;
  std::vector<Inner> items;
  double x = 0;
  bool operator==(const Outer&) const = default;
};
BOOST_DESCRIBE_STRUCT(Outer, (), (id, flag, colour, items, x))

}  // namespace bytes_test

namespace rankpool::runtime {
namespace {

using bytes_test::Colour;
using bytes_test::Inner;
using bytes_test::Outer;

TEST(Bytes, DescribedStructRoundTripAndLayout) {
  const Outer o{42, true, Colour::green, {{"a", 1}, {"", -2}}, 2.5};
  const std::string b = encode(o);
  // u64 + bool + u8 enum + (u32 count + 2 x (u32 len + bytes + i32)) + double
  EXPECT_EQ(b.size(), 8u + 1 + 1 + 4 + (4 + 1 + 4) + (4 + 0 + 4) + 8);
  EXPECT_EQ(decode<Outer>(b, "outer"), o);
}

TEST(Bytes, TruncatedAndTrailingInputIsRejected) {
  const std::string b = encode(Outer{7, false, Colour::red, {{"xyz", 3}}, 1.0});
  for (std::size_t cut = 0; cut < b.size(); ++cut) {
    EXPECT_THROW(decode<Outer>(std::string_view(b).substr(0, cut), "outer"), DecodeError) << cut;
  }
  try {
    (void)decode<Outer>(b + "!", "outer");
    ADD_FAILURE() << "trailing byte accepted";
  } catch (const DecodeError& e) {
    EXPECT_STREQ(e.what(), "1 trailing bytes after a outer");
  }
}

TEST(Bytes, OutOfRangeValuesAreRejected) {
  std::string b = encode(Outer{1, true, Colour::green, {}, 0});
  std::string bad_bool = b;
  bad_bool[8] = 2;
  EXPECT_THROW(decode<Outer>(bad_bool, "outer"), DecodeError);
  std::string bad_enum = b;
  bad_enum[9] = 3;  // no Colour 3
  EXPECT_THROW(decode<Outer>(bad_enum, "outer"), DecodeError);
  std::string huge_count = b;
  huge_count[10] = '\xff';  // a count far beyond the bytes left
  EXPECT_THROW(decode<Outer>(huge_count, "outer"), DecodeError);
}

TEST(Bytes, ReaderMessagesNameTheMessage) {
  ByteReader in(std::string_view("\x01\x00", 2), "farm thing");
  try {
    (void)in.get<std::uint32_t>();
    ADD_FAILURE();
  } catch (const DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated farm thing"), std::string::npos) << e.what();
  }
}

TEST(Bytes, WriterPatch) {
  std::string out;
  ByteWriter w(out);
  w.put(std::uint32_t{0});
  w.put_string("hi");
  w.patch(0, std::uint32_t{9});
  ByteReader in(out);
  EXPECT_EQ(in.get<std::uint32_t>(), 9u);
  EXPECT_EQ(in.get_string(), "hi");
  in.finish();
  EXPECT_THROW(w.patch(out.size() - 1, std::uint32_t{1}), std::logic_error);
}

}  // namespace
}  // namespace rankpool::runtime

namespace rankpool::farm {
namespace {

TEST(FarmMessages, TrailingBytesAreRejected) {
  ResultMessage r;
  r.batch_id = 1;
  r.count = 2;
  r.failures = {{1, "boom", FailureKind::timeout}};
  r.seconds = {0.5f, 1.5f};
  r.payload = "out";
  const std::string bytes = encode_result(r);
  EXPECT_EQ(decode_result(bytes), r);
  EXPECT_THROW(decode_result(bytes + '\0'), ProtocolError);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_THROW(decode_result(std::string_view(bytes).substr(0, cut)), ProtocolError) << cut;
  }

  const StopMessage stop{"bad input", 15};
  const std::string s = encode_stop(stop);
  EXPECT_EQ(decode_stop(s), stop);
  EXPECT_THROW(decode_stop(s + "x"), ProtocolError);
  for (std::size_t cut = 0; cut < s.size(); ++cut) {
    EXPECT_THROW(decode_stop(std::string_view(s).substr(0, cut)), ProtocolError) << cut;
  }
}

TEST(FarmMessages, WireLayoutIsUnchanged) {
  // Stop: u32 length, the reason, i32 signal — as protocol version 3 has always sent it.
  const std::string s = encode_stop({"ab", 2});
  EXPECT_EQ(s, std::string("\x02\x00\x00\x00"
                           "ab"
                           "\x02\x00\x00\x00",
                           10));
  std::string h;
  encode_batch_header(h, {1, 2, 3, BatchHeader::kTimeEach});
  // Batch header (protocol version 6): id, type, count, flags, then the rank to avoid (-1: none).
  EXPECT_EQ(h, std::string("\x01\0\0\0\0\0\0\0"
                           "\x02\0\0\0"
                           "\x03\0\0\0"
                           "\x01\0\0\0"
                           "\xff\xff\xff\xff",
                           24));
}

}  // namespace
}  // namespace rankpool::farm
