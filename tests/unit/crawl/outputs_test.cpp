// The coordinator's files: pages.jsonl records, links.tsv written before them, depth fixes,
// append on resume, summary.json.
#include <gtest/gtest.h>

#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "crawl/outputs.hpp"

namespace rankpool::crawl {
namespace {

namespace fs = std::filesystem;

std::string read(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string fresh_dir(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("rankpool-outputs-test-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

RecordsMessage two_pages() {
  RecordsMessage m;
  PageRecord ok;
  ok.url = "http://a.test/";
  ok.status = 200;
  ok.depth = 2;
  ok.content_type = "text/html";
  ok.bytes = 10;
  ok.links = 1;
  ok.rank = 1;
  PageRecord bad;
  bad.url = "http://a.test/x";
  bad.depth = 3;
  bad.error = "timed out";
  bad.error_kind = "timeout";
  bad.rank = 1;
  m.records = {ok, bad};
  m.edges = "http://a.test/\thttp://a.test/x\ta\n";
  return m;
}

TEST(CrawlOutputs, WritesLinksAndOneJsonRecordPerPage) {
  const std::string dir = fresh_dir("write");
  Outputs out;
  ASSERT_EQ(out.open(dir, false), "");
  out.write(two_pages());
  EXPECT_EQ(read(dir + "/links.tsv"), "http://a.test/\thttp://a.test/x\ta\n") << "links are on disk at once";
  EXPECT_EQ(out.sync(), "");
  const std::string pages = read(dir + "/pages.jsonl");
  const auto nl = pages.find('\n');
  ASSERT_NE(nl, std::string::npos);
  const auto first = boost::json::parse(pages.substr(0, nl)).as_object();
  EXPECT_EQ(first.at("url").as_string(), "http://a.test/");
  EXPECT_EQ(first.at("depth").as_int64(), 2);
  EXPECT_FALSE(first.contains("error")) << "no error fields on success";
  const auto second = boost::json::parse(pages.substr(nl + 1)).as_object();
  EXPECT_EQ(second.at("error_kind").as_string(), "timeout");
  fs::remove_all(dir);
}

TEST(CrawlOutputs, DepthFixesRewriteOnlyTheirRecordsAndAResumeAppends) {
  const std::string dir = fresh_dir("fixes");
  {
    Outputs out;
    ASSERT_EQ(out.open(dir, false), "");
    out.write(two_pages());
    ASSERT_EQ(out.apply_depth_fixes({{"http://a.test/x", 1}}), "");
    out.close_links();
  }
  std::ifstream in(dir + "/pages.jsonl");
  std::vector<boost::json::object> records;
  for (std::string line; std::getline(in, line);) records.push_back(boost::json::parse(line).as_object());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].at("depth").as_int64(), 2);
  EXPECT_EQ(records[1].at("depth").as_int64(), 1);
  EXPECT_FALSE(fs::exists(dir + "/pages.jsonl.tmp"));
  {
    Outputs again;
    ASSERT_EQ(again.open(dir, true), "");
    again.write(two_pages());
    EXPECT_TRUE(again.write_summary(boost::json::object{{"pages", 4}}));
  }
  std::ifstream all(dir + "/pages.jsonl");
  std::size_t lines = 0;
  for (std::string line; std::getline(all, line);) ++lines;
  EXPECT_EQ(lines, 4u);
  EXPECT_EQ(read(dir + "/summary.json"), "{\"pages\":4}\n");
  fs::remove_all(dir);
}

TEST(CrawlOutputs, AnUnwritableDirectoryIsReported) {
  Outputs out;
  EXPECT_NE(out.open("/nonexistent-rankpool-dir", false), "");
}

}  // namespace
}  // namespace rankpool::crawl
