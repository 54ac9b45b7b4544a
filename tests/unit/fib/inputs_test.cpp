#include "rankpool/fib/inputs.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fib = rankpool::fib;
using Values = std::vector<std::uint64_t>;

namespace {

fib::InputList parse(std::vector<std::string> tokens, std::uint64_t max_n = fib::kDefaultMaxN) {
  return fib::parse_inputs(tokens, max_n);
}

// A file under the test's temporary directory, removed at scope exit.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char name[] = "/tmp/rankpool_fib_inputs_XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    close(fd);
    path_ = name;
    std::ofstream(path_) << text;
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

TEST(Inputs, NumbersAndRangesExpandInOrder) {
  const fib::InputList list = parse({"7", "1:4", "10:20:5", "3:3", "0"});
  ASSERT_TRUE(list.ok()) << list.error;
  EXPECT_EQ(list.values, (Values{7, 1, 2, 3, 4, 10, 15, 20, 3, 0}));
}

TEST(Inputs, StepStopsAtOrBeforeTheEndLikeSeq) {
  EXPECT_EQ(parse({"1:10:4"}).values, (Values{1, 5, 9}));
  EXPECT_EQ(parse({"0:2:100"}).values, (Values{0}));
  EXPECT_EQ(parse({"5:5:3"}).values, (Values{5}));
}

TEST(Inputs, DuplicatesAreKeptButComputedOnce) {
  const fib::InputList list = parse({"5", "1:6:2", "5", "2", "3"});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list.values, (Values{5, 1, 3, 5, 5, 2, 3}));
  EXPECT_EQ(fib::unique_inputs(list.values), (Values{5, 1, 3, 2}));
  EXPECT_TRUE(fib::unique_inputs({}).empty());
}

TEST(Inputs, LimitIsInclusiveAndChecksTheLastRangeValue) {
  EXPECT_TRUE(parse({"100"}, 100).ok());
  EXPECT_EQ(parse({"90:105:10"}, 100).values, (Values{90, 100}));  // 110 is never produced
  EXPECT_EQ(parse({"101"}, 100).error, "invalid input '101': n = 101 is above the limit max-n = 100");
  EXPECT_EQ(parse({"90:110:10"}, 100).error, "invalid input '90:110:10': n = 110 is above the limit max-n = 100");
  const std::string over = std::to_string(fib::kDefaultMaxN + 1);
  EXPECT_EQ(parse({over}).error, "invalid input '" + over + "': n = " + over +
                                     " is above the limit max-n = " + std::to_string(fib::kDefaultMaxN));
}

TEST(Inputs, BadTokensNameTheInput) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"-5", "invalid input '-5': negative number; n must be a non-negative integer"},
      {"abc", "invalid input 'abc': not a non-negative integer or a range a:b[:step]"},
      {"", "invalid input '': not a non-negative integer or a range a:b[:step]"},
      {"1.5", "invalid input '1.5': not a non-negative integer or a range a:b[:step]"},
      {"+3", "invalid input '+3': not a non-negative integer or a range a:b[:step]"},
      {"1e3", "invalid input '1e3': not a non-negative integer or a range a:b[:step]"},
      {"5:2", "invalid input '5:2': range end is below its start"},
      {"1:10:0", "invalid input '1:10:0': range step must be positive"},
      {"1:10:-2", "invalid input '1:10:-2': range step must be positive"},
      {"-1:4", "invalid input '-1:4': range start is negative"},
      {"1:x", "invalid input '1:x': range end 'x' is not a non-negative integer"},
      {"1:", "invalid input '1:': range end '' is not a non-negative integer"},
      {"1:2:3:4", "invalid input '1:2:3:4': expected n, a:b or a:b:step"},
      {"99999999999999999999999",
       "invalid input '99999999999999999999999': number is too large; the limit is max-n = "
       "200000000"},
  };
  for (const auto& [token, message] : cases) {
    const fib::InputList one = fib::parse_input_token(token);
    EXPECT_FALSE(one.ok()) << token;
    EXPECT_TRUE(one.values.empty()) << token;
    EXPECT_EQ(one.error, message);
    // Inside a list, the first bad token stops parsing with the same message.
    const fib::InputList many = parse({"1", token, "2"});
    EXPECT_EQ(many.error, message);
    EXPECT_TRUE(many.values.empty());
  }
}

TEST(Inputs, RangeCountIsCapped) {
  fib::InputLimits limits;
  limits.max_values = 1000;
  EXPECT_EQ(fib::parse_input_token("0:999", limits).values.size(), 1000u);
  EXPECT_EQ(fib::parse_input_token("0:1000", limits).error,
            "invalid input '0:1000': range has 1001 values, more than the limit of 1000");
  // The cap also applies to the whole list; the message names the token that crossed it.
  const fib::InputList many = fib::parse_inputs({"0:599", "0:399", "5"}, limits);
  EXPECT_EQ(many.error, "invalid input '5': inputs expand to more than the limit of 1000 values");
  // The default cap refuses an absurd range before allocating anything.
  EXPECT_NE(fib::parse_input_token("0:200000000").error.find("more than the limit of 10000000"), std::string::npos);
}

TEST(Inputs, EmptyListIsRejectedWhenGathered) {
  EXPECT_TRUE(parse({}).ok());  // files may still follow
  const fib::InputList none = fib::gather_inputs({}, {});
  EXPECT_FALSE(none.ok());
  EXPECT_EQ(none.error, "no inputs: give at least one n or range a:b[:step], or --inputs FILE");
  TempFile only_comments("# nothing\n\n");
  EXPECT_FALSE(fib::gather_inputs({}, {only_comments.path()}).ok());
}

TEST(InputFiles, CommentsBlankLinesAndWhitespace) {
  std::istringstream in(
      "# Fibonacci inputs\n"
      "\n"
      "10\n"
      "   3:5   # a trailing comment\n"
      "\t\r\n"
      "10\r\n"
      "0:4:2\n");
  const fib::InputList list = fib::read_input_stream(in, "list.txt");
  ASSERT_TRUE(list.ok()) << list.error;
  EXPECT_EQ(list.values, (Values{10, 3, 4, 5, 10, 0, 2, 4}));
}

TEST(InputFiles, ErrorsNameSourceAndLine) {
  std::istringstream bad("1\n# ok\n7:3\n");
  EXPECT_EQ(fib::read_input_stream(bad, "list.txt").error,
            "invalid input '7:3' (list.txt:3): range end is below its start");
  std::istringstream two("1 2\n");
  EXPECT_EQ(fib::read_input_stream(two, "in").error, "invalid input '1 2' (in:1): one input per line");
}

TEST(InputFiles, ReadsFilesAndReportsUnreadableOnes) {
  TempFile file("5\n1:3\n");
  const fib::InputList list = fib::gather_inputs({"8"}, {file.path(), file.path()});
  ASSERT_TRUE(list.ok()) << list.error;
  EXPECT_EQ(list.values, (Values{8, 5, 1, 2, 3, 5, 1, 2, 3}));

  const fib::InputList missing = fib::read_input_file("/nonexistent/rankpool/inputs.txt");
  EXPECT_EQ(missing.error, "cannot read inputs from '/nonexistent/rankpool/inputs.txt': No such file or directory");
  EXPECT_EQ(fib::gather_inputs({"1"}, {"/nonexistent/rankpool/inputs.txt"}).error, missing.error);
  // A directory opens on Linux but reads as nothing; it must not pass as an empty file.
  EXPECT_EQ(fib::read_input_file("/").error, "cannot read inputs from '/': Is a directory");
}

TEST(Modulus, Checks) {
  EXPECT_TRUE(fib::check_modulus("1000000007").ok());
  EXPECT_TRUE(fib::check_modulus("1").ok());
  EXPECT_EQ(fib::check_modulus("0").message(), "invalid modulus '0': must be at least 1");
  EXPECT_EQ(fib::check_modulus("000").message(), "invalid modulus '000': must be at least 1");
  EXPECT_EQ(fib::check_modulus("-7").message(), "invalid modulus '-7': expected a decimal integer >= 1");
  EXPECT_EQ(fib::check_modulus("").message(), "invalid modulus '': expected a decimal integer >= 1");
  EXPECT_EQ(fib::check_modulus("0x10").message(), "invalid modulus '0x10': expected a decimal integer >= 1");
}
