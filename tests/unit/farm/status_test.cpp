// rankpool::Status and Result<T> (status.hpp): the one convention for expected failures.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "rankpool/status.hpp"

namespace rankpool {
namespace {

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return Status::error(std::string("not a digit: ") + c);
  return c - '0';
}

TEST(Status, OkAndError) {
  const Status ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ(ok.message(), "");
  const Status bad = Status::error("disk full");
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(bad.message(), "disk full");
  EXPECT_EQ(bad, Status::error("disk full"));
  EXPECT_NE(bad, ok);
  EXPECT_EQ(bad.prefixed("--resume: ").message(), "--resume: disk full");
  EXPECT_TRUE(ok.prefixed("--resume: ").ok());
  std::ostringstream os;
  os << ok << '|' << bad;
  EXPECT_EQ(os.str(), "ok|disk full");
}

TEST(Result, ValueOrStatus) {
  Result<int> seven = parse_digit('7');
  ASSERT_TRUE(seven);
  EXPECT_EQ(*seven, 7);
  EXPECT_TRUE(seven.status().ok());
  Result<int> x = parse_digit('x');
  EXPECT_FALSE(x);
  EXPECT_EQ(x.status().message(), "not a digit: x");
  EXPECT_EQ(x.value_or(-1), -1);
  EXPECT_THROW((void)x.value(), std::bad_variant_access);  // a broken invariant, not a silent default

  Result<std::string> s = std::string("moved");
  std::string taken = *std::move(s);
  EXPECT_EQ(taken, "moved");
  EXPECT_EQ(Result<std::string>(std::string("abc"))->size(), 3u);
}

}  // namespace
}  // namespace rankpool
