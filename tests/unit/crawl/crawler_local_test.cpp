// The distributed crawler in one process: LocalMesh endpoints driven by threads stand in
// for ranks, FakeFetchers for the web. Checks termination, ownership, dedup across
// workers, exact --max-pages, setup errors and interrupts — the MPI runs are in tests/apps.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "rankpool/crawl/crawler.hpp"
#include "rankpool/crawl/protocol.hpp"

namespace rankpool::crawl {
namespace {

namespace fs = std::filesystem;

/// A web of `hosts` origins with `pages` pages each; page k links to k+1, k+2 and to the
/// same page number on the next origin, so every worker sends URLs to every other.
/// robots.txt disallows /p/13 everywhere; the +2 links route around it.
struct FakeWeb {
  int hosts = 3, pages = 40;
  std::string origin(int h) const { return "http://h" + std::to_string(h) + ".test"; }
  std::string url(int h, int k) const { return origin(h) + (k == 0 ? "/" : "/p/" + std::to_string(k)); }
  void fill(FakeFetcher& f) const {
    for (int h = 0; h < hosts; ++h) {
      f.add_page(origin(h) + "/robots.txt", "User-agent: *\nDisallow: /p/13\n", "text/plain");
      for (int k = 0; k < pages; ++k) {
        std::string html = "<a href=\"" + url(h, (k + 1) % pages) + "\">n</a><a href=\"" + url(h, (k + 2) % pages) +
                           "\">m</a><a href=\"" + url((h + 1) % hosts, k) + "\">x</a>";
        f.add_page(url(h, k), html);
      }
    }
  }
};

/// Wraps a fetcher and logs every request into a log shared by all "ranks".
class LoggingFetcher : public Fetcher {
 public:
  LoggingFetcher(std::unique_ptr<Fetcher> inner, std::mutex& m, std::vector<std::string>& log)
      : inner_(std::move(inner)), m_(m), log_(log) {}
  void submit(FetchRequest r) override {
    {
      std::lock_guard lock(m_);
      log_.push_back(r.url);
    }
    inner_->submit(std::move(r));
  }
  std::vector<FetchResult> poll(std::chrono::milliseconds w) override { return inner_->poll(w); }
  std::size_t in_flight() const override { return inner_->in_flight(); }

 private:
  std::unique_ptr<Fetcher> inner_;
  std::mutex& m_;
  std::vector<std::string>& log_;
};

struct CrawlRun {
  std::vector<CrawlOutcome> outcomes;
  std::vector<std::string> requests;
  std::vector<boost::json::object> pages;
  boost::json::object summary;
};

CrawlRun crawl(int ranks, CrawlJob job, const FakeWeb& web, const std::string& setup_error = {},
               std::atomic<int>* interrupt = nullptr) {
  CrawlRun run;
  std::mutex m;
  FetcherFactory factory = [&](const CrawlOptions&) -> std::unique_ptr<Fetcher> {
    auto f = std::make_unique<FakeFetcher>();
    web.fill(*f);
    return std::make_unique<LoggingFetcher>(std::move(f), m, run.requests);
  };
  runtime::LocalMesh mesh(ranks);
  run.outcomes.resize(static_cast<std::size_t>(ranks));
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      run.outcomes[static_cast<std::size_t>(r)] = run_crawl(mesh.endpoint(r), job, setup_error, factory, interrupt);
    });
  for (auto& t : threads) t.join();
  if (setup_error.empty()) {
    std::ifstream in(job.out_dir + "/pages.jsonl");
    for (std::string line; std::getline(in, line);) run.pages.push_back(boost::json::parse(line).as_object());
    std::ifstream s(job.out_dir + "/summary.json");
    std::string text((std::istreambuf_iterator<char>(s)), {});
    run.summary = boost::json::parse(text).as_object();
  }
  return run;
}

/// Raises `interrupt` once pages.jsonl holds `n` records (or after a generous hang guard):
/// mid-crawl whatever the machine's speed, where a fixed sleep may come before the first
/// record on a loaded machine.
void interrupt_after_records(const std::string& out_dir, std::size_t n, std::atomic<int>& interrupt) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(out_dir + "/pages.jsonl");
    std::size_t lines = 0;
    for (std::string line; std::getline(in, line);) ++lines;
    if (lines >= n) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  interrupt = 15;
}

CrawlJob job_for(const FakeWeb& web, const std::string& name) {
  CrawlJob job;
  job.options.delay = 0;
  job.options.max_depth = -1;
  job.options.quiet = true;
  for (int h = 0; h < web.hosts; ++h) job.seeds.push_back(web.url(h, 0));
  job.out_dir =
      (fs::temp_directory_path() / ("rankpool-crawler-test-" + name + "-" + std::to_string(::getpid()))).string();
  fs::remove_all(job.out_dir);
  fs::create_directories(job.out_dir);
  return job;
}

class CrawlerLocal : public ::testing::TestWithParam<int> {};

TEST_P(CrawlerLocal, CrawlsEveryAllowedPageExactlyOnceAndTerminates) {
  const int ranks = GetParam();
  FakeWeb web;
  const CrawlJob job = job_for(web, "full" + std::to_string(ranks));
  const CrawlRun run = crawl(ranks, job, web);
  for (const auto& o : run.outcomes) EXPECT_EQ(o.exit_code, 0) << o.error;
  // Everything but /p/13 on each host (robots), each once; robots.txt once per origin.
  std::multiset<std::string> req(run.requests.begin(), run.requests.end());
  for (int h = 0; h < web.hosts; ++h) {
    EXPECT_EQ(req.count(web.origin(h) + "/robots.txt"), 1u);
    for (int k = 0; k < web.pages; ++k) EXPECT_EQ(req.count(web.url(h, k)), k == 13 ? 0u : 1u) << web.url(h, k);
  }
  const std::size_t expected = static_cast<std::size_t>(web.hosts * (web.pages - 1));
  EXPECT_EQ(run.pages.size(), expected);
  EXPECT_EQ(run.summary.at("pages").as_int64(), static_cast<std::int64_t>(expected));
  EXPECT_FALSE(run.summary.at("interrupted").as_bool());
  // Depth is the shortest distance, whichever worker found which link first: page k is
  // ceil(k/2) hops from its host's seed (+2 steps), cross-host links keep k.
  for (const auto& p : run.pages) {
    const std::string url(p.at("url").as_string());
    const int k = url.ends_with("/") ? 0 : std::stoi(url.substr(url.rfind('/') + 1));
    EXPECT_EQ(p.at("depth").as_int64(), (k + 1) / 2) << url;
  }
  // Ranks: master + workers (or one master+worker).
  EXPECT_EQ(run.summary.at("ranks").as_array().size(), static_cast<std::size_t>(ranks));
  fs::remove_all(job.out_dir);
}

INSTANTIATE_TEST_SUITE_P(Ranks, CrawlerLocal, ::testing::Values(1, 2, 3, 5));

TEST(CrawlerLocalLimits, MaxPagesIsExactAcrossWorkers) {
  FakeWeb web;
  CrawlJob job = job_for(web, "maxpages");
  job.options.max_pages = 25;
  const CrawlRun run = crawl(4, job, web);
  for (const auto& o : run.outcomes) EXPECT_EQ(o.exit_code, 0) << o.error;
  EXPECT_EQ(run.pages.size(), 25u);
  std::size_t page_requests = 0;
  for (const auto& r : run.requests) page_requests += r.ends_with("/robots.txt") ? 0 : 1;
  EXPECT_EQ(page_requests, 25u);
  // The budget ended the run with URLs left: not complete, a resume continues it.
  Result<ResumeState> loaded = load_resume(job.out_dir, job.options, job.seeds);
  ASSERT_TRUE(loaded) << loaded.status().message();
  EXPECT_FALSE(loaded->checkpoint.complete);
  EXPECT_FALSE(loaded->frontier.empty());
  fs::remove_all(job.out_dir);
}

std::vector<std::string> sorted_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> v;
  for (std::string line; std::getline(in, line);) v.push_back(line);
  std::sort(v.begin(), v.end());
  return v;
}

TEST(CrawlerLocalShards, ShardedOutputsAreRankZerosUpToOrderAndMaxPagesStaysExact) {
  FakeWeb web;
  for (int ranks : {1, 3}) {
    const CrawlJob plain = job_for(web, "plain" + std::to_string(ranks));
    CrawlJob sharded = job_for(web, "sharded" + std::to_string(ranks));
    sharded.options.output_shards = true;
    const CrawlRun a = crawl(ranks, plain, web), b = crawl(ranks, sharded, web);
    for (const auto& o : b.outcomes) EXPECT_EQ(o.exit_code, 0) << o.error;
    auto pages = [](const CrawlRun& r) {
      std::set<std::tuple<std::string, std::int64_t, std::int64_t>> s;
      for (const auto& p : r.pages)
        s.emplace(std::string(p.at("url").as_string()), p.at("status").as_int64(), p.at("depth").as_int64());
      return s;
    };
    EXPECT_EQ(b.pages.size(), a.pages.size()) << ranks << " ranks";
    EXPECT_EQ(pages(b), pages(a)) << "the same URLs, statuses and (fixed) depths";
    EXPECT_EQ(sorted_lines(sharded.out_dir + "/links.tsv"), sorted_lines(plain.out_dir + "/links.tsv"));
    for (const char* key : {"pages", "status", "links", "retries"})
      EXPECT_EQ(b.summary.at(key), a.summary.at(key)) << key;
    EXPECT_FALSE(fs::exists(sharded.out_dir + "/shards")) << "merged and removed";
    fs::remove_all(plain.out_dir);
    fs::remove_all(sharded.out_dir);
  }
  CrawlJob job = job_for(web, "sharded-maxpages");
  job.options.output_shards = true;
  job.options.max_pages = 25;
  const CrawlRun run = crawl(4, job, web);
  for (const auto& o : run.outcomes) EXPECT_EQ(o.exit_code, 0) << o.error;
  EXPECT_EQ(run.pages.size(), 25u);
  EXPECT_EQ(run.summary.at("pages").as_int64(), 25);
  std::size_t page_requests = 0;
  for (const auto& r : run.requests) page_requests += r.ends_with("/robots.txt") ? 0 : 1;
  EXPECT_EQ(page_requests, 25u);
  fs::remove_all(job.out_dir);
}

TEST(CrawlerLocalLimits, SetupErrorEndsEveryRankWithExitTwo) {
  FakeWeb web;
  const CrawlJob job = job_for(web, "error");
  const CrawlRun run = crawl(3, job, web, "seed 'ftp://x/' is not an http(s) URL");
  for (const auto& o : run.outcomes) EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(run.outcomes[0].error, "seed 'ftp://x/' is not an http(s) URL");
  EXPECT_TRUE(run.requests.empty());
  fs::remove_all(job.out_dir);
}

TEST(CrawlerLocalLimits, InterruptStopsEveryRankAndWritesTheSummary) {
  FakeWeb web;
  web.pages = 400;
  CrawlJob job = job_for(web, "interrupt");
  job.options.delay = 0.01;  // slow enough to be interrupted mid-crawl
  std::atomic<int> interrupt{0};
  std::thread stopper([&] { interrupt_after_records(job.out_dir, 30, interrupt); });
  const CrawlRun run = crawl(3, job, web, {}, &interrupt);
  stopper.join();
  for (const auto& o : run.outcomes) EXPECT_EQ(o.exit_code, 128 + 15);
  EXPECT_TRUE(run.summary.at("interrupted").as_bool());
  EXPECT_GT(run.pages.size(), 0u);
  EXPECT_LT(run.pages.size(), static_cast<std::size_t>(3 * 399));
  EXPECT_EQ(run.summary.at("pages").as_int64(), static_cast<std::int64_t>(run.pages.size()));
  fs::remove_all(job.out_dir);
}

// The resume's state goes to the workers in slices of RANKPOOL_CRAWL_SLICE_BYTES: the
// default (one slice each here) and 256 bytes (dozens each); the crawl is the same.
class CrawlerLocalResume : public ::testing::TestWithParam<std::size_t> {};

TEST_P(CrawlerLocalResume, InterruptedCrawlResumesWithoutLosingOrRepeatingAPage) {
  const std::size_t slice_bytes = GetParam();
  FakeWeb web;
  web.pages = 100;  // below 130: "Disallow: /p/13" also blocks /p/130..
  CrawlJob job = job_for(web, "resume-" + std::to_string(slice_bytes));
  job.options.delay = 0.01;  // ~1 s per host: interrupted mid-crawl
  job.options.checkpoint_interval = 0.05;
  std::atomic<int> interrupt{0};
  std::thread stopper([&] { interrupt_after_records(job.out_dir, 30, interrupt); });
  const CrawlRun first = crawl(3, job, web, {}, &interrupt);
  stopper.join();
  ASSERT_TRUE(first.summary.at("interrupted").as_bool());
  std::set<std::string> recorded;
  for (const auto& p : first.pages) recorded.insert(std::string(p.at("url").as_string()));
  const std::size_t expected = static_cast<std::size_t>(web.hosts * (web.pages - 1));
  ASSERT_GT(recorded.size(), 0u);
  ASSERT_LT(recorded.size(), expected);

  Result<ResumeState> loaded = load_resume(job.out_dir, job.options, job.seeds);
  ASSERT_TRUE(loaded) << loaded.status().message();
  auto state = std::make_shared<ResumeState>(std::move(*loaded));
  EXPECT_FALSE(state->checkpoint.complete);
  EXPECT_EQ(state->checkpoint.hosts.size(), static_cast<std::size_t>(web.hosts));  // written at the signal
  job.resume = state;
  // On more ranks than run 1: origins change owners, and so do their fetched URLs.
  if (slice_bytes != kDefaultSliceBytes) ::setenv("RANKPOOL_CRAWL_SLICE_BYTES", std::to_string(slice_bytes).c_str(), 1);
  const CrawlRun second = crawl(4, job, web);
  ::unsetenv("RANKPOOL_CRAWL_SLICE_BYTES");
  const auto& restore = second.summary.at("restore").as_object();
  EXPECT_EQ(restore.at("slice_bytes").as_int64(), static_cast<std::int64_t>(slice_bytes));
  EXPECT_LE(restore.at("largest_slice_bytes").as_int64(), static_cast<std::int64_t>(slice_bytes));
  // 3 workers: one slice of robots.txt outcomes and one of URLs each, or several each (run 1
  // recorded 30 or more pages).
  if (slice_bytes == kDefaultSliceBytes)
    EXPECT_EQ(restore.at("slices").as_int64(), 6);
  else
    EXPECT_GE(restore.at("slices").as_int64(), 3 * 5);
  for (const auto& o : second.outcomes) EXPECT_EQ(o.exit_code, 0) << o.error;
  for (const auto& url : second.requests) {
    EXPECT_FALSE(url.ends_with("/robots.txt")) << "robots.txt fetched again: " << url;
    EXPECT_EQ(recorded.count(url), 0u) << "recorded by run 1, fetched again: " << url;
  }
  std::multiset<std::string> urls;
  for (const auto& p : second.pages) urls.insert(std::string(p.at("url").as_string()));
  EXPECT_EQ(urls.size(), expected);
  EXPECT_EQ(std::set<std::string>(urls.begin(), urls.end()).size(), expected) << "a URL recorded twice";
  for (const auto& p : second.pages) {
    const std::string url(p.at("url").as_string());
    const int k = url.ends_with("/") ? 0 : std::stoi(url.substr(url.rfind('/') + 1));
    EXPECT_EQ(p.at("depth").as_int64(), (k + 1) / 2) << url;
  }
  EXPECT_EQ(second.summary.at("pages").as_int64(), static_cast<std::int64_t>(expected));
  EXPECT_EQ(second.summary.at("runs").as_int64(), 2);
  EXPECT_EQ(second.summary.at("ranks").as_array().size(), 4u);
  EXPECT_EQ(second.summary.at("pages_previous_runs").as_int64(), static_cast<std::int64_t>(recorded.size()));

  // Now complete: a further load says so.
  Result<ResumeState> reloaded = load_resume(job.out_dir, job.options, job.seeds);
  ASSERT_TRUE(reloaded) << reloaded.status().message();
  const ResumeState& done = *reloaded;
  EXPECT_TRUE(done.checkpoint.complete);
  // What no run records stays in the frontier: the robots.txt-blocked /p/13s (blocked again
  // without a request if resumed).
  EXPECT_EQ(done.frontier.size(), static_cast<std::size_t>(web.hosts));
  for (const auto& u : done.frontier) EXPECT_TRUE(u.url.ends_with("/p/13")) << u.url;
  EXPECT_EQ(done.pages, expected);
  fs::remove_all(job.out_dir);
}
INSTANTIATE_TEST_SUITE_P(SliceBytes, CrawlerLocalResume, ::testing::Values(kDefaultSliceBytes, 256));

}  // namespace
}  // namespace rankpool::crawl
