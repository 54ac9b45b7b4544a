// The coordinator's files: pages.jsonl records, links.tsv written before them, depth fixes,
// append on resume, summary.json; an output directory that holds a crawl (refused,
// overwritten without its warc/, resumed).
#include <gtest/gtest.h>

#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "crawl/outputs.hpp"
#include "rankpool/crawl/crawler.hpp"

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
  ASSERT_TRUE(out.open(dir, false));
  out.write(two_pages());
  EXPECT_EQ(read(dir + "/links.tsv"), "http://a.test/\thttp://a.test/x\ta\n") << "links are on disk at once";
  EXPECT_TRUE(out.sync());
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
    ASSERT_TRUE(out.open(dir, false));
    out.write(two_pages());
    ASSERT_TRUE(out.apply_depth_fixes({{"http://a.test/x", 1}}));
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
    ASSERT_TRUE(again.open(dir, true));
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
  const Status s = out.open("/nonexistent-rankpool-dir", false);
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("/nonexistent-rankpool-dir"), std::string::npos) << s;
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST(CrawlOutputDir, ADirectoryHoldingAnyFileOfACrawlIsRefusedUntouched) {
  for (const std::string name : {"pages.jsonl", "links.tsv", "checkpoint.json", "summary.json"}) {
    const std::string dir = fresh_dir("refuse");
    write_file(fs::path(dir) / name, "the earlier crawl\n");
    EXPECT_EQ(crawl_files_in(dir), std::vector<std::string>{name});
    const Status s = prepare_output_dir(dir);
    ASSERT_FALSE(s) << name;
    for (const std::string& needle : {dir, name, std::string("--resume"), std::string("--overwrite")})
      EXPECT_NE(s.message().find(needle), std::string::npos) << s << " lacks " << needle;
    EXPECT_EQ(s.message().find('\n'), std::string::npos) << "one line";
    EXPECT_EQ(read(dir + "/" + name), "the earlier crawl\n") << "nothing touched";
    EXPECT_FALSE(fs::exists(dir + "/.rankpool-write-test"));
    fs::remove_all(dir);
  }
}

TEST(CrawlOutputDir, AnEmptyOrWarcOnlyDirectoryIsNoCrawl) {
  const std::string dir = fresh_dir("warc-only");
  EXPECT_TRUE(prepare_output_dir(dir));
  write_file(fs::path(dir) / "warc" / "a.warc.gz", "w");
  EXPECT_TRUE(crawl_files_in(dir).empty());
  EXPECT_TRUE(prepare_output_dir(dir));
  EXPECT_TRUE(prepare_output_dir(dir + "/new/sub")) << "created";
  EXPECT_TRUE(fs::is_directory(dir + "/new/sub"));
  EXPECT_FALSE(prepare_output_dir(""));
  fs::remove_all(dir);
}

TEST(CrawlOutputDir, OverwriteRemovesTheCrawlsFilesAndKeepsWarc) {
  const std::string dir = fresh_dir("overwrite");
  for (const std::string name :
       {"pages.jsonl", "links.tsv", "checkpoint.json", "summary.json", "pages.jsonl.tmp", "checkpoint.json.tmp"})
    write_file(fs::path(dir) / name, "old\n");
  write_file(fs::path(dir) / "warc" / "rankpool-1-1-0.warc.gz", "archived\n");
  write_file(fs::path(dir) / "notes.txt", "mine\n");
  ASSERT_TRUE(prepare_output_dir(dir, ExistingCrawl::overwrite));
  EXPECT_TRUE(crawl_files_in(dir).empty());
  EXPECT_FALSE(fs::exists(dir + "/pages.jsonl.tmp"));
  EXPECT_FALSE(fs::exists(dir + "/checkpoint.json.tmp"));
  EXPECT_EQ(read(dir + "/warc/rankpool-1-1-0.warc.gz"), "archived\n") << "WARC files are never touched";
  EXPECT_EQ(read(dir + "/notes.txt"), "mine\n") << "only the crawl's own files go";
  fs::remove_all(dir);
}

TEST(CrawlOutputDir, ResumeKeepsEverything) {
  const std::string dir = fresh_dir("resume");
  write_file(fs::path(dir) / "pages.jsonl", "old\n");
  write_file(fs::path(dir) / "checkpoint.json", "{}\n");
  ASSERT_TRUE(prepare_output_dir(dir, ExistingCrawl::resume));
  EXPECT_EQ(read(dir + "/pages.jsonl"), "old\n");
  EXPECT_EQ(crawl_files_in(dir), (std::vector<std::string>{"pages.jsonl", "checkpoint.json"}));
  fs::remove_all(dir);
}

// --output-shards: each crawling rank's shard, and rank 0's merge into pages.jsonl and links.tsv.

std::vector<PageRecord> pages_of(const std::string& prefix, int n, int rank) {
  std::vector<PageRecord> v;
  for (int i = 0; i < n; ++i) {
    PageRecord r;
    r.url = prefix + std::to_string(i);
    r.status = 200;
    r.rank = rank;
    v.push_back(r);
  }
  return v;
}

std::string lines_of(const std::vector<PageRecord>& records) {
  std::string s;
  for (const auto& r : records) s += to_json_line(r) + "\n";
  return s;
}

TEST(CrawlShards, AShardIsTheRanksLinksThenRecordsInTheCoordinatorsFormat) {
  const std::string dir = fresh_dir("shard");
  ShardWriter w;
  ASSERT_TRUE(w.open(dir, 3));
  const RecordsMessage m = two_pages();
  ASSERT_TRUE(w.write(m.records, m.edges));
  EXPECT_EQ(read(dir + "/shards/links.3.tsv"), m.edges) << "flushed at once";
  EXPECT_EQ(read(dir + "/shards/pages.3.jsonl"), lines_of(m.records));
  EXPECT_TRUE(w.sync());
  ShardWriter again;  // a later run's writer starts its shard afresh
  ASSERT_TRUE(again.open(dir, 3));
  EXPECT_EQ(read(dir + "/shards/pages.3.jsonl"), "");
  ShardWriter nowhere;
  EXPECT_FALSE(nowhere.open("/proc/rankpool-no-such-dir", 1));
  fs::remove_all(dir);
}

TEST(CrawlShards, MergeAppendsEveryShardInRankOrderAndRemovesThem) {
  const std::string dir = fresh_dir("merge");
  write_file(fs::path(dir) / "pages.jsonl", "{\"earlier\":1}\n");
  write_file(fs::path(dir) / "links.tsv", "e\tf\ta\n");
  const auto p1 = pages_of("http://a.test/", 3, 1), p2 = pages_of("http://b.test/", 2, 2);
  for (int rank : {10, 2, 1}) {  // ranks past 9: numeric order, not the names'
    ShardWriter w;
    ASSERT_TRUE(w.open(dir, rank));
    const auto& p = rank == 1 ? p1 : rank == 2 ? p2 : std::vector<PageRecord>{};
    ASSERT_TRUE(w.write(p, "r" + std::to_string(rank) + "\tx\ta\n"));
  }
  Result<MergedShards> m = merge_shards(dir, {1, 2});
  ASSERT_TRUE(m) << m.status();
  EXPECT_EQ(m->files, 6u);
  EXPECT_EQ(read(dir + "/pages.jsonl"), "{\"earlier\":1}\n" + lines_of(p1) + lines_of(p2));
  EXPECT_EQ(read(dir + "/links.tsv"), "e\tf\ta\nr1\tx\ta\nr2\tx\ta\nr10\tx\ta\n");
  EXPECT_FALSE(fs::exists(dir + "/shards"));
  EXPECT_FALSE(fs::exists(dir + "/shards.merged"));
  // Nothing left: merging again changes nothing.
  ASSERT_TRUE(merge_shards(dir));
  EXPECT_EQ(read(dir + "/pages.jsonl"), "{\"earlier\":1}\n" + lines_of(p1) + lines_of(p2));
  fs::remove_all(dir);
}

TEST(CrawlShards, TornLastLinesAreDroppedAndTheFilesCreatedWhenMissing) {
  const std::string dir = fresh_dir("torn");
  const auto p = pages_of("http://a.test/", 2, 1);
  write_file(fs::path(dir) / "shards" / "pages.1.jsonl", lines_of(p) + "{\"url\":\"http://a.te");
  write_file(fs::path(dir) / "shards" / "links.1.tsv", "a\tb\ta\nc\td");
  write_file(fs::path(dir) / "shards" / "pages.2.jsonl", "{\"url\"");  // no whole line at all
  write_file(fs::path(dir) / "shards" / "notes.txt", "not a shard");
  Result<MergedShards> m = merge_shards(dir);
  ASSERT_TRUE(m) << m.status();
  EXPECT_EQ(read(dir + "/pages.jsonl"), lines_of(p));
  EXPECT_EQ(read(dir + "/links.tsv"), "a\tb\ta\n");
  fs::remove_all(dir);
}

TEST(CrawlShards, AMergeCutShortIsCompletedExactlyOnce) {
  const std::string dir = fresh_dir("again");
  write_file(fs::path(dir) / "pages.jsonl", "{\"earlier\":1}\n");
  write_file(fs::path(dir) / "links.tsv", "");
  const auto p = pages_of("http://a.test/", 4, 1);
  write_file(fs::path(dir) / "shards" / "pages.1.jsonl", lines_of(p));
  write_file(fs::path(dir) / "shards" / "links.1.tsv", "a\tb\ta\n");
  // As a crash leaves it: the sizes recorded, part of the shard appended already.
  write_file(fs::path(dir) / "shards" / "merging", "0 14\n");
  { std::ofstream(dir + "/pages.jsonl", std::ios::app) << to_json_line(p[0]) << "\n" << to_json_line(p[1]); }
  ASSERT_TRUE(merge_shards(dir));
  EXPECT_EQ(read(dir + "/pages.jsonl"), "{\"earlier\":1}\n" + lines_of(p));
  EXPECT_EQ(read(dir + "/links.tsv"), "a\tb\ta\n");
  // A crash after the rename: the renamed shards are only removed, never merged again.
  write_file(fs::path(dir) / "shards.merged" / "pages.1.jsonl", lines_of(p));
  ASSERT_TRUE(merge_shards(dir));
  EXPECT_EQ(read(dir + "/pages.jsonl"), "{\"earlier\":1}\n" + lines_of(p));
  EXPECT_FALSE(fs::exists(dir + "/shards.merged"));
  fs::remove_all(dir);
}

TEST(CrawlShards, AMissingShardMeansAnOutDirNotSharedAndSaysSo) {
  const std::string dir = fresh_dir("missing");
  ShardWriter w;
  ASSERT_TRUE(w.open(dir, 1));
  Result<MergedShards> m = merge_shards(dir, {1, 2});
  ASSERT_FALSE(m);
  for (const std::string needle : {"shards/pages.2.jsonl", "--output-shards", "shares"})
    EXPECT_NE(m.status().message().find(needle), std::string::npos) << m.status();
  EXPECT_TRUE(fs::exists(dir + "/shards/pages.1.jsonl")) << "left for a resume";
  fs::remove_all(dir + "/shards");
  EXPECT_FALSE(merge_shards(dir, {1}));
  fs::remove_all(dir);
}

TEST(CrawlShards, AFreshCrawlDropsAnEarlierCrawlsShards) {
  const std::string dir = fresh_dir("fresh");
  write_file(fs::path(dir) / "shards" / "pages.1.jsonl", "{\"url\":\"old\"}\n");
  {
    Outputs out;
    ASSERT_TRUE(out.open(dir, true));
    EXPECT_TRUE(fs::exists(dir + "/shards/pages.1.jsonl")) << "a resume keeps them";
  }
  Outputs out;
  ASSERT_TRUE(out.open(dir, false));
  EXPECT_FALSE(fs::exists(dir + "/shards"));
  ASSERT_TRUE(out.merge_shards({}));
  EXPECT_EQ(read(dir + "/pages.jsonl"), "");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rankpool::crawl
