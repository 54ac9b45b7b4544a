// Per-rank statistics: the JSON and the table every app writes, per-host sums, the file.
#include <gtest/gtest.h>

#include <boost/describe/class.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rankpool/runtime/stats.hpp"

using namespace rankpool::runtime;
namespace json = boost::json;

namespace {
std::vector<RankRow> rows() {
  return {RankRow{0, "a", "master", json::object{{"tasks", std::uint64_t{0}}, {"busy_s", 0.5}}},
          RankRow{1, "a", "worker", json::object{{"tasks", std::uint64_t{7}}, {"busy_s", 1.25}}},
          RankRow{2, "b", "worker", json::object{{"tasks", std::uint64_t{3}}, {"busy_s", 2.0}}}};
}
}  // namespace

TEST(Stats, RanksJsonPutsWhoFirstThenTheAppsFieldsInOrder) {
  const json::array a = ranks_json(rows());
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(json::serialize(a[1]), R"({"rank":1,"host":"a","role":"worker","tasks":7,"busy_s":1.25E0})");
}

TEST(Stats, SumByHostKeepsFirstAppearanceOrderAndNumberKinds) {
  const auto hosts = sum_by_host(rows(), {"tasks", "busy_s"});
  ASSERT_EQ(hosts.size(), 2u);
  EXPECT_EQ(hosts[0].host, "a");
  EXPECT_EQ(hosts[0].ranks, 2);
  EXPECT_TRUE(hosts[0].sums.at("tasks").is_uint64());
  EXPECT_EQ(hosts[0].sums.at("tasks").as_uint64(), 7u);
  EXPECT_DOUBLE_EQ(hosts[0].sums.at("busy_s").as_double(), 1.75);
  EXPECT_EQ(json::serialize(hosts_json(hosts)[1]), R"({"host":"b","ranks":1,"tasks":3,"busy_s":2E0})");
}

TEST(Stats, TableHasOneHeaderAndOneAlignedLinePerRank) {
  std::ostringstream os;
  write_rank_table(os, rows(), {{"tasks", 6}, {"busy_s", 8}, {"both", 6, {"tasks", "busy_s"}}, {"none", 5}});
  EXPECT_EQ(os.str(),
            "rank  host           role           tasks   busy_s   both  none\n"
            "0     a              master             0    0.500  0.500     -\n"
            "1     a              worker             7    1.250  8.250     -\n"
            "2     b              worker             3    2.000  5.000     -\n");
}

TEST(Stats, WriteJsonFileWritesOneLineOrSaysItCannot) {
  const std::string path = (std::filesystem::temp_directory_path() / "rankpool_stats_test.json").string();
  ASSERT_TRUE(write_json_file(path, json::object{{"x", 1}}));
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "{\"x\":1}\n");
  std::filesystem::remove(path);
  EXPECT_FALSE(write_json_file("/nonexistent-dir/x.json", json::object{}));
}

namespace {
// A record of figures as an app declares it: the description is its only field list.
struct Figures {
  std::uint64_t pages = 0;
  double seconds = 0;
  long peak_kb = 0;
};
BOOST_DESCRIBE_STRUCT(Figures, (), (pages, seconds, peak_kb))
}  // namespace

TEST(DescribedFigures, JsonFieldsFollowTheDescriptionInOrder) {
  const json::object o = fields_json(Figures{3, 1.5, -1});
  std::vector<std::string> keys;
  for (const auto& kv : o) keys.emplace_back(kv.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"pages", "seconds", "peak_kb"}));
  EXPECT_EQ(json::serialize(o), R"({"pages":3,"seconds":1.5E0,"peak_kb":-1})");
  EXPECT_TRUE(o.at("pages").is_uint64()) << "integers stay integers of their type";
  EXPECT_TRUE(o.at("peak_kb").is_int64());
}

TEST(DescribedFigures, AddFieldsSumsEveryMember) {
  Figures total;
  add_fields(total, Figures{3, 1.5, 10});
  add_fields(total, Figures{4, 0.25, 5});
  EXPECT_EQ(total.pages, 7u);
  EXPECT_EQ(total.seconds, 1.75);
  EXPECT_EQ(total.peak_kb, 15);
}
