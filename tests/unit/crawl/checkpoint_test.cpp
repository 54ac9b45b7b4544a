// Loading a crawl to resume: checkpoint.json + pages.jsonl + links.tsv -> fetched set,
// frontier and depths; torn lines; refused fingerprints; a complete crawl.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "rankpool/crawl/checkpoint.hpp"

namespace rankpool::crawl {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spill(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

/// An output directory as a killed run leaves it. The crawl from http://a.test/:
///   /      depth 0, links /1, /r, /nf (a), /style.css (link), http://b.test/ (out of scope)
///   /1     recorded at depth 3 (found late), links /2
///   /r     301 -> /3
///   /nf    meta nofollow, links /hidden
/// so the frontier is /2 (depth 2) and /3 (depth 1, a redirect costs nothing).
struct Dir {
  std::string path;
  CrawlOptions options;
  std::vector<std::string> seeds{"http://a.test/"};

  Dir() {
    static int n = 0;
    path = (fs::temp_directory_path() /
            ("rankpool-checkpoint-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++)))
               .string();
    fs::remove_all(path);
    fs::create_directories(path);
    options.max_depth = 3;
  }
  ~Dir() { fs::remove_all(path); }

  static std::string rec(const std::string& url, int depth, int status = 200, const std::string& extra = {}) {
    return R"({"url":")" + url + R"(","status":)" + std::to_string(status) + R"(,"depth":)" + std::to_string(depth) +
           R"(,"content_type":"text/html","bytes":10,"links":0,"seconds":0.001,"rank":1)" + extra + "}\n";
  }
  void write_default(const Checkpoint& c = {}) {
    Checkpoint ck = c;
    if (ck.runs == 0) ck.runs = 1;
    ASSERT_EQ(write_checkpoint(path, options, seeds, ck), Status());
    spill(path + "/pages.jsonl", rec("http://a.test/", 0) + rec("http://a.test/1", 3) +
                                     rec("http://a.test/r", 1, 301, R"(,"redirect":"http://a.test/3")") +
                                     rec("http://a.test/nf", 1, 200, R"(,"nofollow":true)"));
    spill(path + "/links.tsv",
          "http://a.test/\thttp://a.test/1\ta\n"
          "http://a.test/\thttp://a.test/r\ta\n"
          "http://a.test/\thttp://a.test/nf\ta\n"
          "http://a.test/\thttp://a.test/style.css\tlink\n"
          "http://a.test/\thttp://b.test/\ta\n"
          "http://a.test/1\thttp://a.test/2\ta\n"
          "http://a.test/nf\thttp://a.test/hidden\ta\n");
  }
  /// "" and the state, or the failure's message.
  std::string load(ResumeState& st) {
    Result<ResumeState> r = load_resume(path, options, seeds);
    if (!r) return r.status().message();
    st = std::move(*r);
    return "";
  }
};

std::map<std::string, int> frontier_of(const ResumeState& st) {
  std::map<std::string, int> m;
  for (const auto& u : st.frontier) m[u.url] = u.depth;
  return m;
}

TEST(CrawlResume, RebuildsTheFrontierWithShortestDepthsFromTheLogs) {
  Dir d;
  d.write_default();
  ResumeState st;
  ASSERT_EQ(d.load(st), "");
  EXPECT_EQ(st.pages, 4u);
  EXPECT_EQ(st.links, 7u);
  EXPECT_EQ(st.bytes, 40u);
  EXPECT_EQ(st.by_status, (std::map<std::string, std::uint64_t>{{"200", 3}, {"301", 1}}));
  // Not the <link>, not the nofollow page's link, not the out-of-scope host.
  EXPECT_EQ(frontier_of(st), (std::map<std::string, int>{{"http://a.test/2", 2}, {"http://a.test/3", 1}}));
  std::map<std::string, FetchedUrl> fetched;
  for (const auto& f : st.fetched) fetched[f.url] = f;
  ASSERT_EQ(fetched.size(), 4u);
  EXPECT_EQ(fetched["http://a.test/1"].depth, 1);           // recomputed
  EXPECT_EQ(fetched["http://a.test/1"].recorded_depth, 3);  // fixed in pages.jsonl at the end
  EXPECT_EQ(fetched["http://a.test/1"].children, std::vector<std::string>{"http://a.test/2"});
  EXPECT_EQ(fetched["http://a.test/r"].redirect, "http://a.test/3");
  EXPECT_TRUE(fetched["http://a.test/nf"].children.empty());
  EXPECT_FALSE(st.torn_pages_line);
  EXPECT_EQ(st.dropped_link_lines, 0u);
}

TEST(CrawlResume, ShardsAKilledRunLeftAreMergedFirstTheirTornLinesDropped) {
  // --output-shards: rank 0's files hold the seed's record; the crawling ranks' shards the rest.
  Dir d;
  d.write_default();
  std::istringstream pages(slurp(d.path + "/pages.jsonl")), links(slurp(d.path + "/links.tsv"));
  std::vector<std::string> p, l;
  for (std::string line; std::getline(pages, line);) p.push_back(line + "\n");
  for (std::string line; std::getline(links, line);) l.push_back(line + "\n");
  spill(d.path + "/pages.jsonl", p[0]);
  spill(d.path + "/links.tsv", l[0] + l[1] + l[2] + l[3] + l[4]);
  fs::create_directories(d.path + "/shards");
  spill(d.path + "/shards/pages.1.jsonl", p[1] + p[2] + R"({"url":"http://a.test/torn)");
  spill(d.path + "/shards/links.1.tsv", l[5] + "http://a.test/torn\thttp://a.t");
  spill(d.path + "/shards/pages.2.jsonl", p[3]);
  spill(d.path + "/shards/links.2.tsv", l[6]);
  // A refused resume touches nothing.
  const auto seeds = d.seeds;
  d.seeds = {"http://other.test/"};
  ResumeState st;
  EXPECT_NE(d.load(st).find("other seeds"), std::string::npos);
  EXPECT_TRUE(fs::exists(d.path + "/shards/pages.1.jsonl"));
  d.seeds = seeds;
  ASSERT_EQ(d.load(st), "");
  EXPECT_FALSE(fs::exists(d.path + "/shards"));
  EXPECT_EQ(st.pages, 4u);
  EXPECT_EQ(st.links, 7u);
  EXPECT_EQ(st.dropped_link_lines, 0u) << "the torn lines went with the merge";
  EXPECT_EQ(frontier_of(st), (std::map<std::string, int>{{"http://a.test/2", 2}, {"http://a.test/3", 1}}));
  EXPECT_EQ(slurp(d.path + "/pages.jsonl"), p[0] + p[1] + p[2] + p[3]);
}

TEST(CrawlResume, RetriesByCauseAndPendingRobotsComeBackFromTheFiles) {
  Dir d;
  Checkpoint c;
  c.runs = 1;
  c.hosts = {{"http://a.test", "pending", "", "", ""}};
  ASSERT_EQ(write_checkpoint(d.path, d.options, d.seeds, c), Status());
  spill(d.path + "/pages.jsonl", Dir::rec("http://a.test/", 0, 200, R"(,"attempts":3,"retried":["503","timeout"])") +
                                     Dir::rec("http://a.test/1", 1, 503, R"(,"attempts":2,"retried":["503"])") +
                                     Dir::rec("http://a.test/2", 1));
  spill(d.path + "/links.tsv", "");
  ResumeState st;
  ASSERT_EQ(d.load(st), "");
  EXPECT_EQ(st.retries, (std::map<std::string, std::uint64_t>{{"503", 2}, {"timeout", 1}}));
  ASSERT_EQ(st.checkpoint.hosts.size(), 1u);
  EXPECT_EQ(st.checkpoint.hosts[0].robots, "pending");  // the engine fetches it again (engine_test)
}

TEST(CrawlResume, RunKilledBeforeItsFirstRecordStartsAgainFromTheSeeds) {
  Dir d;
  d.seeds.push_back("http://b.test/");
  Checkpoint c;
  c.runs = 1;
  ASSERT_EQ(write_checkpoint(d.path, d.options, d.seeds, c), Status());
  spill(d.path + "/pages.jsonl", "");
  spill(d.path + "/links.tsv", "");
  ResumeState st;
  ASSERT_EQ(d.load(st), "");
  EXPECT_EQ(st.pages, 0u);
  EXPECT_EQ(frontier_of(st), (std::map<std::string, int>{{"http://a.test/", 0}, {"http://b.test/", 0}}));
}

TEST(CrawlResume, DepthLimitAndFollowAllShapeTheFrontier) {
  Dir d;
  d.options.max_depth = 1;
  d.write_default();
  ResumeState st;
  ASSERT_EQ(d.load(st), "");
  EXPECT_EQ(frontier_of(st), (std::map<std::string, int>{{"http://a.test/3", 1}}));  // /2 would be depth 2

  Dir all;
  all.options.follow_all = true;
  all.write_default();
  ASSERT_EQ(all.load(st), "");
  EXPECT_EQ(frontier_of(st), (std::map<std::string, int>{
                                 {"http://a.test/2", 2}, {"http://a.test/3", 1}, {"http://a.test/style.css", 1}}));
}

TEST(CrawlResume, TornLastLinesAreCutAndTheirPageFetchedAgain) {
  Dir d;
  d.write_default();
  // Killed while the master wrote a batch: /2's links made it, its record only in part.
  const std::string pages = slurp(d.path + "/pages.jsonl");
  spill(d.path + "/pages.jsonl", pages + R"({"url":"http://a.test/2","sta)");
  const std::string links = slurp(d.path + "/links.tsv");
  spill(d.path + "/links.tsv", links + "http://a.test/2\thttp://a.test/4\ta\nhttp://a.test/2\thttp://a.te");
  ResumeState st;
  ASSERT_EQ(d.load(st), "");
  EXPECT_TRUE(st.torn_pages_line);
  EXPECT_EQ(st.pages, 4u);
  EXPECT_EQ(slurp(d.path + "/pages.jsonl"), pages);  // cut back to whole records
  EXPECT_EQ(st.dropped_link_lines, 2u);
  EXPECT_EQ(slurp(d.path + "/links.tsv"), links);  // /2's lines go: it is fetched again
  EXPECT_EQ(frontier_of(st).count("http://a.test/2"), 1u);
  EXPECT_EQ(frontier_of(st).count("http://a.test/4"), 0u);
  // Loading again finds nothing to repair.
  ASSERT_EQ(d.load(st), "");
  EXPECT_FALSE(st.torn_pages_line);
  EXPECT_EQ(st.dropped_link_lines, 0u);
}

TEST(CrawlResume, CorruptRecordInTheMiddleIsAnError) {
  Dir d;
  d.write_default();
  spill(d.path + "/pages.jsonl", Dir::rec("http://a.test/", 0) + "garbage\n" + Dir::rec("http://a.test/1", 1));
  ResumeState st;
  const std::string e = d.load(st);
  EXPECT_NE(e.find("pages.jsonl line 2"), std::string::npos) << e;
}

TEST(CrawlResume, OtherSeedsScopeOrDepthAreRefusedPolitenessMayChange) {
  Dir d;
  d.write_default();
  ResumeState st;
  auto seeds = d.seeds;
  d.seeds.push_back("http://c.test/");
  std::string e = d.load(st);
  EXPECT_NE(e.find("other seeds"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << "one line";
  d.seeds = seeds;
  d.options.scope = Scope::domain;
  e = d.load(st);
  EXPECT_NE(e.find("--scope \"seeds\", this run has \"domain\""), std::string::npos) << e;
  d.options.scope = Scope::seeds;
  d.options.max_depth = 4;
  e = d.load(st);
  EXPECT_NE(e.find("--max-depth 3, this run has 4"), std::string::npos) << e;
  d.options.max_depth = 3;
  d.options.exclude = {"/x"};
  EXPECT_NE(d.load(st).find("--exclude"), std::string::npos);
  d.options.exclude.clear();
  d.options.delay = 2;  // politeness, budgets and parallelism may change
  d.options.max_pages = 5;
  d.options.max_in_flight = 4;
  EXPECT_EQ(d.load(st), "");
}

TEST(CrawlResume, ASitemapsCrawlIsNotResumedWithoutSitemaps) {
  // Its frontier holds what the sitemaps listed: a resume without --sitemaps would lose it.
  Dir d;
  d.options.sitemaps = true;
  d.write_default();
  d.options.sitemaps = false;
  ResumeState st;
  const std::string e = d.load(st);
  EXPECT_NE(e.find("--sitemaps true, this run has false"), std::string::npos) << e;
  // A checkpoint written before --sitemaps existed has no such field: off, as it was.
  Dir old;
  old.write_default();
  std::string text = slurp(old.path + "/checkpoint.json");
  const auto at = text.find("\"sitemaps\":false,");
  ASSERT_NE(at, std::string::npos) << text;
  text.erase(at, std::string("\"sitemaps\":false,").size());
  spill(old.path + "/checkpoint.json", text);
  EXPECT_EQ(old.load(st), "");
}

TEST(CrawlResume, CheckpointRoundTripsHostsAndSaysWhenTheCrawlIsComplete) {
  Dir d;
  Checkpoint c;
  c.runs = 2;
  c.complete = true;
  c.robots_fetches = 7;
  c.hosts = {{"http://a.test", "parsed", "User-agent: *\nDisallow: /p\n", "", ""},
             {"http://b.test", "unreachable", "", "Connection refused", "connect"},
             {"http://c.test", "unavailable", "", "", ""}};
  d.write_default(c);
  ResumeState st;
  ASSERT_EQ(d.load(st), "");
  EXPECT_TRUE(st.checkpoint.complete);
  EXPECT_EQ(st.checkpoint.runs, 2);
  EXPECT_EQ(st.checkpoint.robots_fetches, 7u);
  EXPECT_EQ(st.checkpoint.hosts, c.hosts);
  EXPECT_FALSE(fs::exists(d.path + "/checkpoint.json.tmp"));
}

TEST(CrawlResume, MissingOrCorruptCheckpointIsAClearError) {
  Dir d;
  ResumeState st;
  std::string e = d.load(st);
  EXPECT_NE(e.find("no checkpoint in " + d.path), std::string::npos) << e;
  d.write_default();
  spill(d.path + "/checkpoint.json", "{\"format\":");
  e = d.load(st);
  EXPECT_NE(e.find("checkpoint.json is corrupt"), std::string::npos) << e;
  d.write_default();
  fs::remove(d.path + "/pages.jsonl");
  e = d.load(st);
  EXPECT_NE(e.find("pages.jsonl is missing"), std::string::npos) << e;
}

}  // namespace
}  // namespace rankpool::crawl
