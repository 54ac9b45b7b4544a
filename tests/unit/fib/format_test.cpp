#include "rankpool/fib/format.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace fib = rankpool::fib;

namespace {

// Records as a run would produce them: computed, with rank and time filled in.
std::vector<fib::FibRecord> sample_records(const fib::FibOptions& options) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> mantissa(0.0, 10.0);
  std::uniform_int_distribution<int> exponent(-9, 2);
  std::vector<fib::FibRecord> records;
  for (const std::uint64_t n : {0ULL, 1ULL, 2ULL, 20ULL, 93ULL, 100ULL, 1000ULL, 4321ULL, 100000ULL}) {
    fib::FibRecord r = fib::compute(n, options);
    r.rank = static_cast<int>(n % 5);
    r.seconds = mantissa(rng) * std::pow(10.0, exponent(rng));
    records.push_back(r);
  }
  records.back().seconds = 0;
  return records;
}

std::vector<fib::FibOptions> all_option_sets() {
  std::vector<fib::FibOptions> sets(4);
  sets[1].full = true;
  sets[2].mod = "1000000007";
  sets[3].full = true;
  sets[3].mod = "98765432109876543210";
  return sets;
}

}  // namespace

TEST(Jsonl, ExactLayoutFromTheSpec) {
  fib::FibRecord r = fib::compute(1000);
  r.rank = 2;
  r.seconds = 0.00001;
  std::ostringstream os;
  fib::write_jsonl(os, r);
  EXPECT_EQ(os.str(),
            "{\"n\": 1000, \"digits\": 209, \"head\": \"43466557686937456435\", "
            "\"tail\": \"76137795166849228875\", \"rank\": 2, \"seconds\": 0.00001}\n");
  r.value = "123";
  r.mod = "45";
  std::ostringstream with_extras;
  fib::write_jsonl(with_extras, r);
  EXPECT_NE(with_extras.str().find("\"seconds\": 0.00001, \"value\": \"123\", \"mod\": \"45\"}\n"), std::string::npos);
}

TEST(Jsonl, RoundTripsEveryOptionSet) {
  for (const fib::FibOptions& options : all_option_sets()) {
    for (const fib::FibRecord& r : sample_records(options)) {
      std::ostringstream os;
      fib::write_jsonl(os, r);
      const std::string line = os.str();
      ASSERT_EQ(line.find('\n'), line.size() - 1);  // exactly one line
      const fib::RecordParse back = fib::parse_jsonl_line(line);
      ASSERT_TRUE(back.ok()) << back.error << " in " << line;
      EXPECT_EQ(back.record, r) << line;
    }
  }
}

TEST(Jsonl, SecondsRoundTripBitForBit) {
  // Boost.JSON 1.81 reads ~1 double in 10 one ulp off; the parser must not.
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> any(0.0, 1000.0);
  fib::FibRecord r = fib::compute(5);
  for (int i = 0; i < 2000; ++i) {
    r.seconds = any(rng) / static_cast<double>(1 << (i % 30));
    std::ostringstream os;
    fib::write_jsonl(os, r);
    const fib::RecordParse back = fib::parse_jsonl_line(os.str());
    ASSERT_TRUE(back.ok()) << back.error;
    ASSERT_EQ(back.record.seconds, r.seconds) << os.str();
  }
}

TEST(Jsonl, RejectsMalformedLines) {
  const std::string good = R"({"n": 5, "digits": 1, "head": "5", "tail": "5", "rank": 0, "seconds": 0.5})";
  ASSERT_TRUE(fib::parse_jsonl_line(good).ok());
  EXPECT_NE(fib::parse_jsonl_line("{\"n\": 5,").error.find("not JSON"), std::string::npos);
  EXPECT_EQ(fib::parse_jsonl_line("[1, 2]").error, "not a JSON object");
  EXPECT_EQ(fib::parse_jsonl_line(R"({"n": 5, "digits": 1, "head": "5", "tail": "5", "rank": 0})").error,
            "missing field 'seconds'");
  EXPECT_EQ(
      fib::parse_jsonl_line(R"({"n": -5, "digits": 1, "head": "5", "tail": "5", "rank": 0, "seconds": 0.5})").error,
      "field 'n' has the wrong type");
  EXPECT_EQ(fib::parse_jsonl_line(R"({"n": 5, "digits": 1, "head": 5, "tail": "5", "rank": 0, "seconds": 0.5})").error,
            "field 'head' has the wrong type");
  EXPECT_EQ(
      fib::parse_jsonl_line(R"({"n": 5, "digits": 1, "head": "5", "tail": "5", "rank": 0, "seconds": 0.5, "x": 1})")
          .error,
      "unknown field 'x'");
  // A string that looks like the seconds key must not confuse the exact re-read.
  const fib::RecordParse tricky = fib::parse_jsonl_line(
      R"({"mod": "\"seconds\": 9", "n": 5, "digits": 1, "head": "5", "tail": "5", "rank": 0, "seconds": 0.25})");
  ASSERT_TRUE(tricky.ok()) << tricky.error;
  EXPECT_EQ(tricky.record.seconds, 0.25);
  EXPECT_EQ(tricky.record.mod, "\"seconds\": 9");
}

TEST(Csv, HeaderNamesOptionalColumns) {
  for (const fib::FibOptions& options : all_option_sets()) {
    const fib::Columns columns = fib::columns_for(options);
    std::ostringstream os;
    fib::write_csv_header(os, columns);
    std::string expected = "n,digits,head,tail,rank,seconds";
    if (options.full) expected += ",value";
    if (options.mod) expected += ",mod";
    EXPECT_EQ(os.str(), expected + ",error\n");
    const fib::ColumnsParse back = fib::parse_csv_header(os.str());
    ASSERT_TRUE(back.ok()) << back.error;
    EXPECT_EQ(back.columns.value, columns.value);
    EXPECT_EQ(back.columns.mod, columns.mod);
  }
  EXPECT_FALSE(fib::parse_csv_header("n,digits,head").ok());
}

TEST(Csv, RoundTripsEveryOptionSet) {
  for (const fib::FibOptions& options : all_option_sets()) {
    const fib::Columns columns = fib::columns_for(options);
    std::ostringstream os;
    fib::write_csv_header(os, columns);
    const auto records = sample_records(options);
    for (const fib::FibRecord& r : records) fib::write_csv_row(os, r, columns);
    std::istringstream in(os.str());
    std::string line;
    ASSERT_TRUE(std::getline(in, line));
    const fib::ColumnsParse header = fib::parse_csv_header(line);
    ASSERT_TRUE(header.ok());
    std::size_t i = 0;
    while (std::getline(in, line)) {
      ASSERT_LT(i, records.size());
      const fib::RecordParse back = fib::parse_csv_line(line, header.columns);
      ASSERT_TRUE(back.ok()) << back.error << " in " << line;
      EXPECT_EQ(back.record, records[i]) << line;
      ++i;
    }
    EXPECT_EQ(i, records.size());
  }
}

TEST(Csv, QuotesFieldsThatNeedIt) {
  fib::FibRecord r = fib::compute(3);
  r.head = "a,b";
  r.tail = "say \"hi\"";
  r.mod = "";
  const fib::Columns columns{false, true};
  std::ostringstream os;
  fib::write_csv_row(os, r, columns);
  EXPECT_EQ(os.str(), "3,1,\"a,b\",\"say \"\"hi\"\"\",0,0,,\n");
  const fib::RecordParse back = fib::parse_csv_line(os.str(), columns);
  ASSERT_TRUE(back.ok()) << back.error;
  EXPECT_EQ(back.record, r);
  EXPECT_FALSE(fib::parse_csv_line("3,1,\"open,1,1,0,0", columns).ok());
  EXPECT_EQ(fib::parse_csv_line("3,1,2,2,0", columns).error, "expected 8 fields, got 5");
  EXPECT_EQ(fib::parse_csv_line("x,1,2,2,0,0,1,", columns).error, "field 'n' is not valid: 'x'");
}

TEST(Csv, FailureRowsHaveTheHeadersColumnsAndAQuotedError) {
  for (const fib::Columns columns : {fib::Columns{false, false}, fib::Columns{true, true}}) {
    std::ostringstream header, os;
    fib::write_csv_header(header, columns);
    fib::write_csv_failure(os, 7, "timed out, then \"gave up\"\nreally", columns);
    const std::string names = header.str();
    const auto commas = static_cast<std::size_t>(std::count(names.begin(), names.end(), ','));
    EXPECT_EQ(os.str(), "7" + std::string(commas, ',') + "\"timed out, then \"\"gave up\"\"\nreally\"\n");
  }
  const fib::Columns columns{false, false};
  std::ostringstream os;
  fib::write_csv_failure(os, 9, "timed out after 0.001 s (task timeout)", columns);
  EXPECT_EQ(os.str(), "9,,,,,,timed out after 0.001 s (task timeout)\n");
  const fib::RecordParse back = fib::parse_csv_line(os.str(), columns);
  ASSERT_TRUE(back.ok()) << back.error;
  EXPECT_EQ(back.record.n, 9u);
  EXPECT_EQ(back.failure, "timed out after 0.001 s (task timeout)");
}

TEST(Table, RowsAlignUnderTheHeader) {
  const fib::Columns columns{false, true};
  fib::FibOptions options;
  options.mod = "97";
  std::ostringstream os;
  fib::write_table_header(os, columns);
  const auto records = sample_records(options);
  for (const fib::FibRecord& r : records) fib::write_table_row(os, r, columns);
  std::istringstream in(os.str());
  std::string header;
  std::getline(in, header);
  EXPECT_NE(header.find("digits"), std::string::npos);
  EXPECT_NE(header.find("mod"), std::string::npos);
  const std::size_t tail_end = header.find("tail") + 4;
  std::string row;
  for (const fib::FibRecord& r : records) {
    ASSERT_TRUE(std::getline(in, row));
    // head and tail are right-aligned in 20-wide columns, ending where the header's do.
    EXPECT_EQ(row.substr(tail_end - r.tail.size(), r.tail.size()), r.tail) << row;
    EXPECT_NE(row.find(r.head), std::string::npos);
    EXPECT_EQ(row.substr(row.size() - r.mod->size()), *r.mod);
  }
}

TEST(Summary, CountsHighestAndPerRankTime) {
  std::vector<fib::FibRecord> records;
  for (const auto& [n, rank, seconds] :
       std::vector<std::tuple<std::uint64_t, int, double>>{{10, 1, 0.5}, {1000, 2, 1.0}, {5, 1, 0.25}, {999, 3, 2.0}}) {
    fib::FibRecord r = fib::compute(n);
    r.rank = rank;
    r.seconds = seconds;
    records.push_back(r);
  }
  const fib::Summary s = fib::summarize(records);
  EXPECT_EQ(s.count, 4u);
  EXPECT_EQ(s.max_n, 1000u);
  EXPECT_EQ(s.max_digits, 209u);
  EXPECT_DOUBLE_EQ(s.total_seconds, 3.75);
  ASSERT_EQ(s.per_rank.size(), 3u);
  EXPECT_EQ(s.per_rank.at(1).count, 2u);
  EXPECT_DOUBLE_EQ(s.per_rank.at(1).seconds, 0.75);
  EXPECT_EQ(s.per_rank.at(3).count, 1u);
  std::ostringstream os;
  fib::write_summary(os, s);
  const std::string text = os.str();
  EXPECT_NE(text.find("count: 4"), std::string::npos) << text;
  EXPECT_NE(text.find("F(1000) with 209 digits"), std::string::npos) << text;
  EXPECT_NE(text.find("rank 1: 2 computed, 0.750000 s"), std::string::npos) << text;
  EXPECT_NE(text.find("3.750000"), std::string::npos) << text;
  // F(0) is the highest of a run that only asked for F(0).
  const fib::Summary zero = fib::summarize({fib::compute(0)});
  EXPECT_EQ(zero.max_n, 0u);
  EXPECT_EQ(zero.max_digits, 1u);
}
