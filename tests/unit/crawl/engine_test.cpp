// The crawl engine with a FakeFetcher: depth, dedup, robots.txt, politeness, scope, traps,
// permits — one engine, no MPI.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "rankpool/crawl/engine.hpp"

namespace rankpool::crawl {
namespace {

using namespace std::chrono_literals;

std::string page(std::initializer_list<std::string> hrefs, std::string extra = {}) {
  std::string html = "<html><head>" + extra + "</head><body>";
  for (const auto& h : hrefs) html += "<a href=\"" + h + "\">x</a>";
  return html + "</body></html>";
}

struct Rig {
  CrawlOptions options;
  FakeFetcher fetcher;
  std::vector<std::string> seeds{"http://a.test/"};
  std::unique_ptr<Engine> engine;

  Rig() {
    options.delay = 0;
    // Back-off in milliseconds: the rules are the same, the tests fast.
    options.retry_backoff = 0.001;
    options.max_retry_backoff = 0.004;
    fetcher.add_page("http://a.test/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain");
  }
  Engine& make(int workers = 1, int self = 0, Engine::OwnerFn owner = {}) {
    std::vector<NormalizedUrl> ns;
    for (const auto& s : seeds) ns.push_back(normalize(s));
    if (!owner) owner = [](std::string_view) { return 0; };
    engine = std::make_unique<Engine>(options, UrlFilter(options, ns), fetcher, 0, self, workers, owner);
    return *engine;
  }
  /// Runs until idle; returns the records.
  std::vector<PageRecord> run() {
    std::vector<PageRecord> all;
    for (int i = 0; i < 100000 && !engine->idle(); ++i) {
      engine->pump(1ms);
      for (auto& r : engine->take_records()) all.push_back(std::move(r));
      if (auto t = engine->next_wakeup(); t && engine->in_flight() == 0) std::this_thread::sleep_until(*t);
    }
    for (auto& r : engine->take_records()) all.push_back(std::move(r));
    return all;
  }
  std::vector<std::string> requested() const {
    std::vector<std::string> v;
    for (const auto& r : fetcher.requests()) v.push_back(r.url);
    return v;
  }
};

std::map<std::string, int> depths(const std::vector<PageRecord>& recs) {
  std::map<std::string, int> m;
  for (const auto& r : recs) m[r.url] = r.depth;
  return m;
}

TEST(Engine, CrawlsWithinDepthOnceEachRobotsFirst) {
  Rig rig;
  rig.options.max_depth = 2;
  rig.fetcher.add_page("http://a.test/", page({"/b", "/c", "/b#frag", "mailto:x@y", "/private/p"}));
  rig.fetcher.add_page("http://a.test/b", page({"/c", "/d"}));
  rig.fetcher.add_page("http://a.test/c", page({"/"}));
  rig.fetcher.add_page("http://a.test/d", page({"/e"}));  // depth 2: its link (depth 3) is not followed
  rig.make().offer("http://a.test/", 0);
  const auto recs = rig.run();
  EXPECT_EQ(depths(recs),
            (std::map<std::string, int>{
                {"http://a.test/", 0}, {"http://a.test/b", 1}, {"http://a.test/c", 1}, {"http://a.test/d", 2}}));
  const auto req = rig.requested();
  ASSERT_FALSE(req.empty());
  EXPECT_EQ(req.front(), "http://a.test/robots.txt");
  EXPECT_EQ(std::count(req.begin(), req.end(), "http://a.test/robots.txt"), 1);
  EXPECT_EQ(std::set<std::string>(req.begin(), req.end()).size(), req.size()) << "a URL was fetched twice";
  EXPECT_EQ(rig.engine->stats().blocked, 1u);
  EXPECT_TRUE(std::find(req.begin(), req.end(), "http://a.test/private/p") == req.end());
  const std::string edges = rig.engine->take_edges();
  EXPECT_NE(edges.find("http://a.test/d\thttp://a.test/e\ta\n"), std::string::npos) << edges;
}

TEST(Engine, ShorterPathFoundLaterRelaxesDepthAndReachesMore) {
  // /far is first offered at depth 2 (fetched there); then the seed's direct link is
  // offered at depth 1 — /far's child /x (depth 2 via the short path) must be fetched.
  Rig rig;
  rig.options.max_depth = 2;
  rig.fetcher.add_page("http://a.test/far", page({"/x"}));
  rig.fetcher.add_page("http://a.test/x", page({}));
  Engine& e = rig.make();
  e.offer("http://a.test/far", 2);
  auto first = rig.run();
  EXPECT_EQ(depths(first), (std::map<std::string, int>{{"http://a.test/far", 2}}));
  e.offer("http://a.test/far", 1);
  auto second = rig.run();
  EXPECT_EQ(depths(second), (std::map<std::string, int>{{"http://a.test/x", 2}}));
  EXPECT_EQ(e.stats().depth_improvements, 1u);
  EXPECT_EQ(e.depth_fixes(), (std::vector<std::pair<std::string, int>>{{"http://a.test/far", 1}}));
}

// --frontier-memory: with a budget of a few hundred bytes the host queues spill to disk almost
// at once, and the crawl is the same crawl: the same requests in the same order, the same
// records (depths, referrers), the same depth fixes.
struct FrontierRun {
  std::vector<std::string> requested;
  std::vector<std::tuple<std::string, int, std::string>> records;
  std::vector<std::pair<std::string, int>> fixes;
  EngineStats stats;
};

FrontierRun crawl_web(std::uint64_t frontier_memory) {
  Rig rig;
  rig.options.frontier_memory = frontier_memory;
  rig.options.max_depth = 6;
  rig.options.max_in_flight = 3;  // a queue, not a burst
  rig.seeds = {"http://a.test/", "http://b.test/"};
  rig.fetcher.add_page("http://b.test/robots.txt", "", "text/plain");
  const int n = 300;
  auto url = [](int i) { return std::string(i % 2 ? "http://b.test" : "http://a.test") + "/p" + std::to_string(i); };
  rig.fetcher.add_page("http://a.test/", page({url(1), url(2), url(3)}));
  for (int i = 1; i < n; ++i) {
    std::initializer_list<std::string> links = {url((i * 7 + 1) % n), url((i * 13 + 5) % n), url((i + 1) % n),
                                                url((i * 3) % n), "/private/" + std::to_string(i)};
    rig.fetcher.add_page(url(i), page(links));
  }
  rig.fetcher.add_redirect(url(0), "http://a.test/p" + std::to_string(n - 1));
  Engine& e = rig.make();
  FrontierRun run;
  e.offer(url(n - 2), 5);  // fetched at 5 first, improved later: depth fixes and relaxations
  for (const auto& r : rig.run()) run.records.emplace_back(r.url, r.depth, r.referrer);
  e.offer("http://a.test/", 0);
  for (const auto& r : rig.run()) run.records.emplace_back(r.url, r.depth, r.referrer);
  run.requested = rig.requested();
  run.fixes = e.depth_fixes();
  run.stats = e.stats();
  EXPECT_EQ(e.frontier().error(), "");
  return run;
}

TEST(EngineFrontier, ATinyFrontierMemorySpillsAndCrawlsTheSame) {
  const FrontierRun memory = crawl_web(0);  // no limit
  const FrontierRun spilled = crawl_web(300);
  EXPECT_EQ(memory.stats.frontier_spilled, 0u);
  EXPECT_GT(spilled.stats.frontier_spilled, 100u);
  EXPECT_GT(memory.records.size(), 250u);
  EXPECT_EQ(spilled.requested, memory.requested);
  EXPECT_EQ(spilled.records, memory.records);
  EXPECT_EQ(spilled.fixes, memory.fixes);
  EXPECT_FALSE(memory.fixes.empty());
  EXPECT_GT(memory.stats.depth_improvements, 0u);
  EXPECT_EQ(spilled.stats.depth_improvements, memory.stats.depth_improvements);
  EXPECT_EQ(spilled.stats.seen_urls, memory.stats.seen_urls);
  // The seen-set's own accounting: a few bytes per URL, not hundreds.
  EXPECT_GT(memory.stats.seen_bytes, 0u);
}

// The seen-set keys fingerprints: two URLs with one fingerprint are one URL to the engine. The
// second is taken as seen (a duplicate): neither fetched nor recorded, its links never read.
TEST(Engine, AFingerprintCollisionMakesTheSecondUrlSeen) {
  Rig rig;
  rig.fetcher.add_page("http://a.test/", page({"/b", "/c", "/d"}));
  rig.fetcher.add_page("http://a.test/b", page({}));
  rig.fetcher.add_page("http://a.test/c", page({"/only-from-c"}));
  rig.fetcher.add_page("http://a.test/d", page({}));
  rig.fetcher.add_page("http://a.test/only-from-c", page({}));
  Engine& e = rig.make();
  e.fingerprint_for_testing([](std::string_view url) {
    return url == "http://a.test/c" ? url_fingerprint("http://a.test/b") : url_fingerprint(url);
  });
  e.offer("http://a.test/", 0);
  const auto recs = rig.run();
  EXPECT_EQ(depths(recs),
            (std::map<std::string, int>{{"http://a.test/", 0}, {"http://a.test/b", 1}, {"http://a.test/d", 1}}));
  const auto req = rig.requested();
  EXPECT_EQ(std::count(req.begin(), req.end(), "http://a.test/c"), 0);
  EXPECT_EQ(e.stats().duplicates, 1u);
  EXPECT_EQ(e.stats().seen_urls, 3u);
}

TEST(Engine, RedirectsGoThroughTheFrontierAtTheSameDepthAndLoopsEnd) {
  Rig rig;
  rig.options.max_depth = 0;  // only depth 0: a redirect hop costs nothing
  rig.fetcher.add_redirect("http://a.test/", "http://a.test/r1");
  rig.fetcher.add_redirect("http://a.test/r1", "http://a.test/r2", 302);
  rig.fetcher.add_redirect("http://a.test/r2", "http://a.test/r1", 302);
  rig.make().offer("http://a.test/", 0);
  const auto recs = rig.run();
  EXPECT_EQ(depths(recs),
            (std::map<std::string, int>{{"http://a.test/", 0}, {"http://a.test/r1", 0}, {"http://a.test/r2", 0}}));
  for (const auto& r : recs) EXPECT_FALSE(r.redirect.empty()) << r;
}

TEST(Engine, RobotsServerErrorDisallowsEverythingAndCrawlDelayIsApplied) {
  Rig rig;
  FetchResult err;
  err.http_status = 503;
  rig.fetcher.set_result("http://a.test/robots.txt", err);
  rig.make().offer("http://a.test/", 0);
  EXPECT_TRUE(rig.run().empty());
  // Asked again --retries (2) times, then closed for this run: "pending" for a resume.
  EXPECT_EQ(rig.requested(), std::vector<std::string>(3, "http://a.test/robots.txt"));
  EXPECT_EQ(rig.engine->host_stats().at(0).robots, "pending");

  Rig slow;
  slow.fetcher.add_page("http://a.test/robots.txt", "User-agent: *\nCrawl-delay: 0.05\n", "text/plain");
  slow.fetcher.add_page("http://a.test/", page({"/1", "/2", "/3"}));
  slow.make().offer("http://a.test/", 0);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(slow.run().size(), 4u);
  // robots, /, /1, /2, /3: four gaps of at least 50 ms (robots.txt to / included).
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms);
  EXPECT_EQ(slow.engine->host_stats().at(0).delay, 0.05);
}

TEST(Engine, UnreachableHostRecordsItsUrlsAsFailedWithoutKnockingAgain) {
  Rig rig;
  rig.fetcher.fail_every_nth(1);  // every request fails to connect, robots.txt first
  rig.make().offer("http://a.test/", 0);
  const auto recs = rig.run();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].url, "http://a.test/");
  EXPECT_EQ(recs[0].status, 0);
  EXPECT_EQ(recs[0].error_kind, "connect");
  EXPECT_EQ(recs[0].attempts, 0u);  // never requested itself
  // robots.txt is tried 1 + --retries times; the page never.
  EXPECT_EQ(rig.requested(), std::vector<std::string>(3, "http://a.test/robots.txt"));
}

TEST(Engine, UserAgentTokenSelectsRobotsGroup) {
  Rig rig;
  rig.options.user_agent = "BadBot/2.0 (+x)";
  rig.fetcher.add_page("http://a.test/robots.txt", "User-agent: badbot\nDisallow: /\n\nUser-agent: *\nDisallow:\n",
                       "text/plain");
  rig.make().offer("http://a.test/", 0);
  EXPECT_TRUE(rig.run().empty());
  Rig ignore;
  ignore.options.ignore_robots = true;
  ignore.fetcher.add_page("http://a.test/", page({}));
  ignore.make().offer("http://a.test/", 0);
  EXPECT_EQ(ignore.run().size(), 1u);
  EXPECT_EQ(ignore.requested(), std::vector<std::string>{"http://a.test/"});
}

// The crawl log's referrer: "seed" for a seed, the first page that linked a URL, "redirect"
// for a redirect's target; the fetch's audit fields are copied into the record.
TEST(Engine, RecordsCarryReferrerAndAuditFields) {
  Rig rig;
  rig.fetcher.add_page("http://a.test/", page({"/b", "/r"}));
  rig.fetcher.add_page("http://a.test/b", page({"/c", "/"}));
  rig.fetcher.add_page("http://a.test/c", page({}));
  rig.fetcher.add_redirect("http://a.test/r", "http://a.test/t");
  FetchResult t;
  t.http_status = 200;
  t.content_type = "text/html";
  t.body = page({"/b"});
  t.started = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764895084123));
  t.ip = "192.0.2.7";
  t.payload_sha1 = "sha1:ABC";
  t.last_modified = "Wed, 21 Oct 2015 07:28:00 GMT";
  t.etag = "\"x1\"";
  rig.fetcher.set_result("http://a.test/t", t);
  rig.make().offer("http://a.test/", 0);
  std::map<std::string, PageRecord> by_url;
  for (auto& r : rig.run()) by_url[r.url] = r;
  EXPECT_EQ(by_url.at("http://a.test/").referrer, "seed");
  EXPECT_EQ(by_url.at("http://a.test/b").referrer, "http://a.test/");
  EXPECT_EQ(by_url.at("http://a.test/c").referrer, "http://a.test/b");
  EXPECT_EQ(by_url.at("http://a.test/r").referrer, "http://a.test/");
  const PageRecord& target = by_url.at("http://a.test/t");
  EXPECT_EQ(target.referrer, "redirect");
  EXPECT_EQ(target.fetched_at, "2025-12-05T00:38:04.123Z");
  EXPECT_EQ(target.ip, "192.0.2.7");
  EXPECT_EQ(target.payload_sha1, "sha1:ABC");
  EXPECT_EQ(target.last_modified, "Wed, 21 Oct 2015 07:28:00 GMT");
  EXPECT_EQ(target.etag, "\"x1\"");
  EXPECT_EQ(by_url.at("http://a.test/b").fetched_at, "");  // the fake never started a transfer
}

TEST(Engine, ForeignOriginsGoToTheirOwnerAndOutOfScopeIsDropped) {
  Rig rig;
  rig.seeds = {"http://a.test/", "http://b.test:8080/"};
  rig.fetcher.add_page("http://a.test/", page({"http://b.test:8080/x", "http://b.test/y", "http://c.test/"}));
  rig.make(2, 0, [](std::string_view origin) { return origin == "http://b.test:8080" ? 1 : 0; })
      .offer("http://a.test/", 0);
  rig.run();
  ASSERT_EQ(rig.engine->outbox().size(), 2u);
  EXPECT_EQ(rig.engine->outbox()[1], (std::vector<UrlAtDepth>{{"http://b.test:8080/x", 1, "http://a.test/"}}));
  EXPECT_EQ(rig.engine->stats().out_of_scope, 2u);  // b.test:80 is another origin; c.test too
}

TEST(Engine, ScopeHostAndDomain) {
  CrawlOptions o;
  auto verdict = [&](Scope s, const char* url) {
    o.scope = s;
    UrlFilter f(o, {normalize("http://www.example.co.uk:8080/")});
    return f.check(normalize(url));
  };
  using V = UrlFilter::Verdict;
  EXPECT_EQ(verdict(Scope::seeds, "http://www.example.co.uk/"), V::out_of_scope);
  EXPECT_EQ(verdict(Scope::host, "https://www.example.co.uk/"), V::follow);
  EXPECT_EQ(verdict(Scope::host, "http://shop.example.co.uk:8080/"), V::out_of_scope);
  EXPECT_EQ(verdict(Scope::domain, "http://shop.example.co.uk/"), V::follow);
  EXPECT_EQ(verdict(Scope::domain, "http://other.co.uk/"), V::out_of_scope);
  EXPECT_EQ(verdict(Scope::any, "http://anything.test/"), V::follow);
}

TEST(Engine, TrapGuardsAndPatterns) {
  CrawlOptions o;
  o.max_repeated_segment = 2;
  o.max_path_depth = 4;
  o.exclude = {"\\?sessionid="};
  UrlFilter f(o, {normalize("http://a.test/")});
  using V = UrlFilter::Verdict;
  EXPECT_EQ(f.check(normalize("http://a.test/a/b/a/b")), V::follow);
  EXPECT_EQ(f.check(normalize("http://a.test/a/b/a/c/a")), V::trap);  // 'a' three times
  EXPECT_EQ(f.check(normalize("http://a.test/1/2/3/4/5")), V::trap);
  EXPECT_EQ(f.check(normalize("http://a.test/x?sessionid=1")), V::excluded);
  o.include = {"^http://a\\.test/docs/"};
  UrlFilter g(o, {normalize("http://a.test/")});
  EXPECT_EQ(g.check(normalize("http://a.test/docs/1")), V::follow);
  EXPECT_EQ(g.check(normalize("http://a.test/blog/1")), V::excluded);
}

TEST(Engine, PermitsBoundPagesAndExhaustDropsTheRest) {
  Rig rig;
  rig.options.max_pages = 3;
  rig.fetcher.add_page("http://a.test/", page({"/1", "/2", "/3", "/4"}));
  Engine& e = rig.make();
  e.offer("http://a.test/", 0);
  EXPECT_TRUE(e.wants_permits());
  e.pump(1ms);
  EXPECT_EQ(rig.requested(), std::vector<std::string>{"http://a.test/robots.txt"});  // robots needs none
  e.grant(2);
  auto recs = rig.run();  // stops, not idle: wants more
  EXPECT_FALSE(e.idle());
  EXPECT_TRUE(e.wants_permits());
  EXPECT_EQ(recs.size(), 2u);
  e.exhaust();
  EXPECT_TRUE(e.idle());
  EXPECT_EQ(e.stats().over_max_pages, 3u);
}

TEST(Engine, NofollowPagesAreRecordedButNotFollowed) {
  Rig rig;
  rig.fetcher.add_page("http://a.test/", page({"/1"}, "<meta name=robots content=nofollow>"));
  rig.make().offer("http://a.test/", 0);
  const auto recs = rig.run();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].links, 1u);
  EXPECT_EQ(rig.engine->take_edges(), "http://a.test/\thttp://a.test/1\ta\n");
}

TEST(Engine, SaveBodiesWritesHtmlWhereItWasFetched) {
  Rig rig;
  const std::string dir = ::testing::TempDir() + "/rankpool-bodies-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir + "/bodies");
  const std::string html = page({"/1"});
  rig.fetcher.add_page("http://a.test/", html);
  std::vector<NormalizedUrl> seeds{normalize("http://a.test/")};
  rig.options.max_depth = 0;
  rig.engine = std::make_unique<Engine>(
      rig.options, UrlFilter(rig.options, seeds), rig.fetcher, 0, 0, 1, [](std::string_view) { return 0; },
      dir + "/bodies");
  rig.engine->offer("http://a.test/", 0);
  const auto recs = rig.run();
  ASSERT_EQ(recs.size(), 1u);
  ASSERT_FALSE(recs[0].body_file.empty());
  std::ifstream in(dir + "/" + recs[0].body_file);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), html);
  std::filesystem::remove_all(dir);
}

TEST(Engine, FailuresAreRecordsNotErrors) {
  Rig rig;
  rig.fetcher.add_page("http://a.test/", page({"/1", "/2"}));
  rig.fetcher.fail_every_nth(3);  // robots (1), / (2), /1 fails (3)
  rig.options.retries = 0;        // final at once
  rig.make().offer("http://a.test/", 0);
  const auto recs = rig.run();
  ASSERT_EQ(recs.size(), 3u);
  const auto failed = std::find_if(recs.begin(), recs.end(), [](const PageRecord& r) { return !r.error.empty(); });
  ASSERT_NE(failed, recs.end());
  EXPECT_EQ(failed->status, 0);
  EXPECT_EQ(failed->error_kind, "connect");
}

// Retries and back-off (docs/crawl.md, "Transient failures").

FetchResult status_result(long status, std::string retry_after = {}) {
  FetchResult r;
  r.http_status = status;
  r.content_type = "text/html";
  r.retry_after = std::move(retry_after);
  return r;
}

FetchResult failure(std::string kind) {
  FetchResult r;
  r.error = kind + " (injected)";
  r.error_kind = std::move(kind);
  return r;
}

FetchResult html_result(std::string html) {
  FetchResult r;
  r.http_status = 200;
  r.content_type = "text/html";
  r.bytes = html.size();
  r.body = std::move(html);
  return r;
}

const PageRecord& record_of(const std::vector<PageRecord>& recs, const std::string& url) {
  static const PageRecord none;
  for (const auto& r : recs)
    if (r.url == url) return r;
  ADD_FAILURE() << "no record for " << url;
  return none;
}

/// Pumps until `n` requests were made (or a bound): what the engine asked so far.
void pump_until_requests(Rig& rig, std::size_t n) {
  const auto give_up = Engine::Clock::now() + 20s;  // a hang guard, not a timing
  while (rig.fetcher.requests().size() < n && Engine::Clock::now() < give_up) {
    rig.engine->pump(1ms);
    if (auto t = rig.engine->next_wakeup(); t && rig.engine->in_flight() == 0)
      std::this_thread::sleep_until(std::min(*t, Engine::Clock::now() + 10ms));
  }
  rig.engine->pump(0ms);  // handles the last result and reschedules the host
}

double seconds_until_wakeup(const Engine& e) {
  const auto t = e.next_wakeup();
  if (!t) return -1;
  return std::chrono::duration<double>(*t - Engine::Clock::now()).count();
}

TEST(EngineRetry, TransientFailuresAreRetriedAndRecordedOnceWithAttempts) {
  Rig rig;
  rig.fetcher.set_results("http://a.test/",
                          {status_result(503), failure("timeout"), failure("reset"), html_result(page({"/1"}))});
  rig.options.retries = 3;
  rig.make().offer("http://a.test/", 0);
  const auto recs = rig.run();
  ASSERT_EQ(recs.size(), 2u);
  const PageRecord& home = record_of(recs, "http://a.test/");
  EXPECT_EQ(home.status, 200);
  EXPECT_EQ(home.attempts, 4u);
  EXPECT_EQ(home.retried, (std::vector<std::string>{"503", "timeout", "reset"}));
  EXPECT_TRUE(home.error.empty());
  const PageRecord& one = record_of(recs, "http://a.test/1");
  EXPECT_EQ(one.status, 404);  // not a retry code: final at once
  EXPECT_EQ(one.attempts, 1u);
  EXPECT_TRUE(one.retried.empty());
  EXPECT_EQ(rig.requested(), (std::vector<std::string>{"http://a.test/robots.txt", "http://a.test/", "http://a.test/",
                                                       "http://a.test/", "http://a.test/", "http://a.test/1"}));
}

TEST(EngineRetry, AfterTheRetriesTheLastOutcomeIsTheRecord) {
  Rig rig;
  rig.options.retries = 1;
  rig.fetcher.set_result("http://a.test/", status_result(502));
  rig.fetcher.set_result("http://a.test/dns", failure("dns"));  // not transient: never retried
  Engine& e = rig.make();
  e.offer("http://a.test/", 0);
  e.offer("http://a.test/dns", 0);
  const auto recs = rig.run();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(record_of(recs, "http://a.test/").status, 502);
  EXPECT_EQ(record_of(recs, "http://a.test/").attempts, 2u);
  EXPECT_EQ(record_of(recs, "http://a.test/").retried, std::vector<std::string>{"502"});
  EXPECT_EQ(record_of(recs, "http://a.test/dns").error_kind, "dns");
  EXPECT_EQ(record_of(recs, "http://a.test/dns").attempts, 1u);
  const auto req = rig.requested();
  EXPECT_EQ(std::count(req.begin(), req.end(), "http://a.test/"), 2);
  EXPECT_EQ(std::count(req.begin(), req.end(), "http://a.test/dns"), 1);
}

TEST(EngineRetry, RetryCodesChooseTheStatusesRetried) {
  Rig none;
  none.options.retry_codes = {};
  none.fetcher.set_result("http://a.test/", status_result(503));
  none.make().offer("http://a.test/", 0);
  EXPECT_EQ(none.run().at(0).attempts, 1u);
  Rig only404;
  only404.options.retry_codes = {404};
  only404.options.retries = 1;
  only404.fetcher.set_result("http://a.test/", status_result(503));
  Engine& e = only404.make();
  e.offer("http://a.test/", 0);
  e.offer("http://a.test/gone", 0);  // the fake's 404
  const auto recs = only404.run();
  EXPECT_EQ(record_of(recs, "http://a.test/").attempts, 1u);
  EXPECT_EQ(record_of(recs, "http://a.test/gone").attempts, 2u);
  EXPECT_EQ(record_of(recs, "http://a.test/gone").retried, std::vector<std::string>{"404"});
}

TEST(EngineRetry, AnOriginBacksOffWithAllItsUrlsWhileOthersGoOn) {
  Rig rig;
  rig.seeds = {"http://a.test/", "http://b.test/"};
  rig.options.max_retry_after = 0.3;  // caps the 5 s asked below: the test waits 0.3 s
  rig.fetcher.set_results("http://a.test/", {status_result(503, "5"), html_result(page({}))});
  rig.fetcher.add_page("http://a.test/x", page({}));
  rig.fetcher.add_page("http://b.test/robots.txt", "", "text/plain");
  rig.fetcher.add_page("http://b.test/", page({"/1"}));
  rig.fetcher.add_page("http://b.test/1", page({"/2"}));
  rig.fetcher.add_page("http://b.test/2", page({}));
  Engine& e = rig.make();
  e.offer("http://a.test/", 0);
  e.offer("http://a.test/x", 0);
  e.offer("http://b.test/", 0);
  const auto t0 = Engine::Clock::now();
  const auto recs = rig.run();
  EXPECT_GE(Engine::Clock::now() - t0, 300ms);  // the Retry-After (capped) was waited out
  EXPECT_EQ(recs.size(), 5u);
  const auto req = rig.requested();
  auto at = [&](const std::string& url, int nth = 1) {
    int seen = 0;
    for (std::size_t i = 0; i < req.size(); ++i)
      if (req[i] == url && ++seen == nth) return static_cast<std::ptrdiff_t>(i);
    ADD_FAILURE() << url << " #" << nth << " not requested";
    return static_cast<std::ptrdiff_t>(-1);
  };
  // a.test's other URL waited out the back-off too; b.test went on meanwhile.
  EXPECT_GT(at("http://a.test/x"), at("http://b.test/2"));
  EXPECT_GT(at("http://a.test/", 2), at("http://b.test/2"));
  EXPECT_EQ(record_of(recs, "http://a.test/").attempts, 2u);
}

TEST(EngineRetry, RetryAfterInSecondsOrAsADateSetsTheOriginsNextRequest) {
  struct Case {
    std::string retry_after;
    double max_retry_after, low, high;
  };
  char date[64];
  const std::time_t in3 = std::time(nullptr) + 3;
  std::tm tm{};
  gmtime_r(&in3, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  for (const Case& c : {Case{"5", 600, 4.5, 5.01}, Case{date, 600, 1.0, 3.01}, Case{"100000", 2, 1.9, 2.01},
                        Case{"soon", 600, 0, 0.01}}) {
    Rig rig;
    rig.options.max_retry_after = c.max_retry_after;
    rig.fetcher.set_results("http://a.test/", {status_result(429, c.retry_after), html_result(page({}))});
    rig.make().offer("http://a.test/", 0);
    pump_until_requests(rig, 2);
    EXPECT_EQ(rig.requested(), (std::vector<std::string>{"http://a.test/robots.txt", "http://a.test/"}))
        << c.retry_after;
    const double wait = seconds_until_wakeup(*rig.engine);
    EXPECT_GE(wait, c.low) << c.retry_after;
    EXPECT_LE(wait, c.high) << c.retry_after;
    EXPECT_FALSE(rig.engine->idle());
  }
}

TEST(EngineRetry, BackoffDoublesPerFailureInARowUpToTheCapWithJitter) {
  Rig rig;
  rig.options.retries = 5;
  rig.options.retry_backoff = 0.1;
  rig.options.max_retry_backoff = 0.6;
  rig.fetcher.set_result("http://a.test/", status_result(500));
  rig.make().offer("http://a.test/", 0);
  // Failure n waits b = min(0.6, 0.1 * 2^(n-1)) s, drawn in [b/2, b]; read from the wake-up
  // time right after each failure (the lower bound allows 50 ms for a loaded machine).
  std::size_t n = 1;  // robots.txt
  for (const double b : {0.1, 0.2, 0.4, 0.6, 0.6}) {
    pump_until_requests(rig, ++n);  // the n-th request: "/" failing once more
    const double wait = seconds_until_wakeup(*rig.engine);
    EXPECT_LE(wait, b + 0.001) << "failure with back-off " << b;
    EXPECT_GE(wait, b / 2 - 0.05) << "failure with back-off " << b;
  }
}

TEST(EngineRetry, ARetrySpendsNoSecondPermitAndSurvivesExhaustion) {
  Rig rig;
  rig.options.max_pages = 1;
  rig.fetcher.set_results("http://a.test/", {status_result(503), html_result(page({"/1", "/2"}))});
  Engine& e = rig.make();
  e.offer("http://a.test/", 0);
  e.grant(1);
  pump_until_requests(rig, 2);  // robots.txt, then "/" answers 503: queued for a retry
  EXPECT_FALSE(e.wants_permits()) << "a retry needs no permit";
  e.exhaust();  // the master has no more: fresh URLs are dropped, the retry stays
  const auto recs = rig.run();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].url, "http://a.test/");
  EXPECT_EQ(recs[0].status, 200);
  EXPECT_EQ(recs[0].attempts, 2u);
  EXPECT_TRUE(e.idle());
  EXPECT_EQ(e.stats().over_max_pages, 2u);  // /1 and /2
  EXPECT_EQ(e.take_permits(), 0u);
}

TEST(EngineRetry, AnOriginThatStopsAnsweringIsGivenUpAndItsQueueRecorded) {
  Rig rig;
  rig.options.retries = 5;
  rig.options.origin_give_up = 3;
  rig.fetcher.add_page("http://a.test/", page({"/1", "/2", "/3", "/4"}));
  for (const char* p : {"/1", "/2", "/3", "/4", "/5"})
    rig.fetcher.set_result(std::string("http://a.test") + p, failure("connect"));
  Engine& e = rig.make();
  e.offer("http://a.test/", 0);
  auto recs = rig.run();
  // /1, /2, /3 fail to connect: three in a row, the origin is given up.
  EXPECT_EQ(rig.requested(), (std::vector<std::string>{"http://a.test/robots.txt", "http://a.test/", "http://a.test/1",
                                                       "http://a.test/2", "http://a.test/3"}));
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(record_of(recs, "http://a.test/3").error_kind, "connect");  // its own last outcome
  for (const char* p : {"/1", "/2", "/4"}) {
    const PageRecord& r = record_of(recs, std::string("http://a.test") + p);
    EXPECT_EQ(r.error_kind, "origin_gave_up") << r;
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.error.find("3 failures in a row"), std::string::npos) << r.error;
  }
  EXPECT_EQ(record_of(recs, "http://a.test/1").attempts, 1u);
  EXPECT_EQ(record_of(recs, "http://a.test/1").retried, std::vector<std::string>{"connect"});
  EXPECT_EQ(record_of(recs, "http://a.test/4").attempts, 0u);
  e.offer("http://a.test/5", 1);  // found later: recorded, not requested
  recs = rig.run();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].error_kind, "origin_gave_up");
  EXPECT_EQ(rig.requested().size(), 5u);
  EXPECT_TRUE(e.idle());
}

TEST(EngineRetry, AnswersResetTheGiveUpCount) {
  Rig rig;
  rig.options.retries = 0;
  rig.options.origin_give_up = 2;
  rig.fetcher.add_page("http://a.test/", page({"/1", "/2", "/3", "/4"}));
  rig.fetcher.set_result("http://a.test/1", failure("timeout"));
  rig.fetcher.set_result("http://a.test/3", failure("timeout"));
  rig.make().offer("http://a.test/", 0);
  const auto recs = rig.run();
  ASSERT_EQ(recs.size(), 5u);
  for (const auto& r : recs) EXPECT_NE(r.error_kind, "origin_gave_up") << r;
  EXPECT_EQ(rig.requested().size(), 6u);
}

TEST(EngineRetry, RobotsFailingTwiceThenAnsweringOpensTheSite) {
  Rig rig;
  FetchResult robots;
  robots.http_status = 200;
  robots.content_type = "text/plain";
  robots.body = "User-agent: *\nDisallow: /private/\n";
  rig.fetcher.set_results("http://a.test/robots.txt", {status_result(503), failure("connect"), robots});
  rig.fetcher.add_page("http://a.test/", page({"/private/x"}));
  rig.make().offer("http://a.test/", 0);
  const auto recs = rig.run();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].url, "http://a.test/");
  EXPECT_EQ(rig.requested(), (std::vector<std::string>{"http://a.test/robots.txt", "http://a.test/robots.txt",
                                                       "http://a.test/robots.txt", "http://a.test/"}));
  EXPECT_EQ(rig.engine->stats().robots_fetches, 3u);
  EXPECT_EQ(rig.engine->stats().blocked, 1u);  // the file's rules apply
  const auto states = rig.engine->take_robots_states();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].robots, "parsed");
}

TEST(EngineRetry, RobotsStillFailingIsPendingAndAResumeAsksAgain) {
  Rig first;
  first.options.retries = 1;
  first.fetcher.set_result("http://a.test/robots.txt", status_result(503));
  first.fetcher.add_page("http://a.test/", page({}));
  first.make().offer("http://a.test/", 0);
  EXPECT_TRUE(first.run().empty());  // disallowed for now: nothing fetched, nothing recorded
  EXPECT_EQ(first.requested(), std::vector<std::string>(2, "http://a.test/robots.txt"));
  const auto states = first.engine->take_robots_states();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].robots, "pending");

  Rig resumed;  // the checkpoint's "pending": fetched again, and now it answers
  resumed.fetcher.add_page("http://a.test/", page({}));
  Engine& e = resumed.make();
  e.restore_host(states[0]);
  e.offer("http://a.test/", 0);
  const auto recs = resumed.run();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(resumed.requested(), (std::vector<std::string>{"http://a.test/robots.txt", "http://a.test/"}));
  EXPECT_EQ(e.host_stats().at(0).robots, "parsed");
}

// Resume: an engine preloaded with an earlier run's fetched URLs and robots.txt outcome.

TEST(EngineResume, PreloadedUrlsAndRestoredRobotsAreNotFetchedAgain) {
  Rig rig;
  rig.options.max_depth = 3;
  rig.fetcher.add_page("http://a.test/", page({"/a", "/b"}));
  rig.fetcher.add_page("http://a.test/a", page({"/"}));
  rig.fetcher.add_page("http://a.test/b", page({"/a", "/private/x"}));
  Engine& e = rig.make();
  // The checkpoint's robots.txt (a rule the fake's file does not have: it must be obeyed).
  e.restore_host({"http://a.test", "parsed", "User-agent: *\nDisallow: /private/\nDisallow: /a\n", "", ""});
  e.preload({"http://a.test/", 0, 0, {}, "", 100, false});
  e.offer("http://a.test/", 0);   // a seed offered again: already fetched
  e.offer("http://a.test/b", 1);  // the frontier
  const auto recs = rig.run();
  EXPECT_EQ(depths(recs), (std::map<std::string, int>{{"http://a.test/b", 1}}));
  EXPECT_EQ(rig.requested(), std::vector<std::string>{"http://a.test/b"});  // no robots.txt, no "/"
  EXPECT_EQ(e.stats().blocked, 2u);                                         // /a and /private/x, by the restored rules
  const auto hosts = e.host_stats();
  ASSERT_EQ(hosts.size(), 1u);
  EXPECT_EQ(hosts[0].robots, "parsed");
  EXPECT_EQ(hosts[0].pages, 2u);  // the preloaded one counts
  EXPECT_TRUE(e.take_robots_states().empty()) << "a restored outcome is not news for the checkpoint";
}

TEST(EngineResume, PreloadedPageRelaxesItsStoredLinksWhenReachedByAShorterPath) {
  // /deep was fetched at depth 3 = max_depth, so its link /c was not followed; the resumed
  // run reaches /deep at depth 1: /c (depth 2) must be fetched, and /deep's record fixed.
  Rig rig;
  rig.options.max_depth = 3;
  rig.options.ignore_robots = true;
  rig.fetcher.add_page("http://a.test/c", page({}));
  Engine& e = rig.make();
  e.preload({"http://a.test/deep", 3, 3, {"http://a.test/c"}, "", 10, false});
  e.offer("http://a.test/deep", 1);
  const auto recs = rig.run();
  EXPECT_EQ(depths(recs), (std::map<std::string, int>{{"http://a.test/c", 2}}));
  EXPECT_EQ(e.depth_fixes(), (std::vector<std::pair<std::string, int>>{{"http://a.test/deep", 1}}));
}

TEST(EngineResume, FinalRobotsOutcomeIsReportedOnceForTheCheckpoint) {
  Rig rig;
  rig.fetcher.add_page("http://a.test/", page({}));
  Engine& e = rig.make();
  e.offer("http://a.test/", 0);
  rig.run();
  const auto states = e.take_robots_states();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].origin, "http://a.test");
  EXPECT_EQ(states[0].robots, "parsed");
  EXPECT_EQ(states[0].robots_body, "User-agent: *\nDisallow: /private/\n");
  EXPECT_TRUE(e.take_robots_states().empty());
}

TEST(EngineResume, NofollowPagesSayItInTheirRecord) {
  Rig rig;
  rig.fetcher.add_page("http://a.test/", page({"/x"}, "<meta name=robots content=nofollow>"));
  rig.make().offer("http://a.test/", 0);
  const auto recs = rig.run();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_TRUE(recs[0].nofollow);
  EXPECT_EQ(recs[0].links, 1u);
}

// --sitemaps

std::string urlset(std::initializer_list<std::string> locs) {
  std::string x = "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">";
  for (const auto& l : locs) x += "<url><loc>" + l + "</loc></url>";
  return x + "</urlset>";
}

std::string sitemapindex(std::initializer_list<std::string> locs) {
  std::string x = "<sitemapindex>";
  for (const auto& l : locs) x += "<sitemap><loc>" + l + "</loc></sitemap>";
  return x + "</sitemapindex>";
}

struct SitemapRig : Rig {
  SitemapRig() {
    options.max_depth = 2;
    options.sitemaps = true;
    fetcher.add_page("http://a.test/robots.txt",
                     "User-agent: *\nDisallow: /private/\nSitemap: http://a.test/index.xml\n"
                     "Sitemap: http://b.test/elsewhere.xml\n",
                     "text/plain");
    fetcher.add_page("http://a.test/index.xml",
                     sitemapindex({"http://a.test/s1.xml", "http://a.test/broken.xml", "http://a.test/inner-index.xml",
                                   "http://b.test/foreign.xml", "http://a.test/index.xml"}),
                     "application/xml");
    fetcher.add_page("http://a.test/s1.xml",
                     urlset({"http://a.test/deep", "http://a.test/orphan?x=1&amp;y=2", "http://a.test/private/x",
                             "http://c.test/out", "HTTP://A.TEST/./upper"}),
                     "application/xml");
    fetcher.add_page("http://a.test/broken.xml", "<urlset><url><loc>http://a.test/never</loc></url>", "text/xml");
    fetcher.add_page("http://a.test/inner-index.xml", sitemapindex({"http://a.test/s3.xml"}), "application/xml");
    fetcher.add_page("http://a.test/s3.xml", urlset({"http://a.test/never-either"}), "application/xml");
    fetcher.add_page("http://a.test/", page({"/b"}));
    fetcher.add_page("http://a.test/b", page({"/c"}));
    fetcher.add_page("http://a.test/c", page({"/deep"}));
    fetcher.add_page("http://a.test/deep", page({"/deeper"}));
    fetcher.add_page("http://a.test/orphan?x=1&y=2", page({"/from-orphan"}));
  }
};

TEST(EngineSitemaps, ReadAfterRobotsBeforePagesTheirUrlsAreSeedsOfDepthZero) {
  SitemapRig rig;
  rig.make().offer("http://a.test/", 0);
  const auto recs = rig.run();
  // robots.txt, then the sitemaps (the index, then what it lists on this origin, once each;
  // not the inner index's sitemaps), then pages.
  const auto req = rig.requested();
  ASSERT_GE(req.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(req.begin(), req.begin() + 5),
            (std::vector<std::string>{"http://a.test/robots.txt", "http://a.test/index.xml", "http://a.test/s1.xml",
                                      "http://a.test/broken.xml", "http://a.test/inner-index.xml"}));
  for (const char* never :
       {"http://b.test/elsewhere.xml", "http://b.test/foreign.xml", "http://a.test/never", "http://a.test/s3.xml",
        "http://a.test/never-either", "http://a.test/private/x", "http://c.test/out"})
    EXPECT_EQ(std::count(req.begin(), req.end(), never), 0) << never;
  EXPECT_EQ(std::count(req.begin(), req.end(), "http://a.test/index.xml"), 1);
  // Sitemap URLs are seeds: depth 0 (so /deep, 3 links from /, is fetched and its link too).
  EXPECT_EQ(depths(recs), (std::map<std::string, int>{{"http://a.test/", 0},
                                                      {"http://a.test/b", 1},
                                                      {"http://a.test/c", 2},
                                                      {"http://a.test/deep", 0},
                                                      {"http://a.test/deeper", 1},
                                                      {"http://a.test/orphan?x=1&y=2", 0},
                                                      {"http://a.test/from-orphan", 1},
                                                      {"http://a.test/upper", 0}}))
      << "sitemaps are not pages: no records of their own";
  EXPECT_EQ(rig.engine->stats().out_of_scope, 1u) << "c.test";
  EXPECT_EQ(rig.engine->stats().blocked, 1u) << "/private/x";
}

TEST(EngineSitemaps, WithoutTheOptionNoSitemapIsRead) {
  SitemapRig rig;
  rig.options.sitemaps = false;
  rig.make().offer("http://a.test/", 0);
  const auto recs = rig.run();
  for (const auto& u : rig.requested()) EXPECT_EQ(u.find(".xml"), std::string::npos) << u;
  EXPECT_EQ(recs.size(), 3u) << "/, /b, /c: /deep, at depth 3, is not reached";
}

TEST(EngineSitemaps, SitemapXmlWhenRobotsNamesNoneAndRobotsRulesApply) {
  Rig rig;
  rig.options.sitemaps = true;
  rig.fetcher.add_page("http://a.test/", page({}));
  rig.fetcher.add_page("http://a.test/sitemap.xml", urlset({"http://a.test/listed"}), "text/xml");
  rig.make().offer("http://a.test/", 0);
  rig.run();
  EXPECT_EQ(rig.requested(), (std::vector<std::string>{"http://a.test/robots.txt", "http://a.test/sitemap.xml",
                                                       "http://a.test/", "http://a.test/listed"}));

  Rig blocked;
  blocked.options.sitemaps = true;
  blocked.fetcher.add_page("http://a.test/robots.txt", "User-agent: *\nDisallow: /sitemap\n", "text/plain");
  blocked.fetcher.add_page("http://a.test/", page({}));
  blocked.fetcher.add_page("http://a.test/sitemap.xml", urlset({"http://a.test/listed"}), "text/xml");
  blocked.make().offer("http://a.test/", 0);
  blocked.run();
  EXPECT_EQ(blocked.requested(), (std::vector<std::string>{"http://a.test/robots.txt", "http://a.test/"}));
}

TEST(EngineSitemaps, SitemapUrlsOfOtherOriginsGoToTheirOwners) {
  Rig rig;
  rig.options.sitemaps = true;
  rig.options.scope = Scope::any;
  rig.fetcher.add_page("http://a.test/", page({}));
  rig.fetcher.add_page("http://a.test/sitemap.xml", urlset({"http://b.test/x", "http://a.test/y"}), "text/xml");
  Engine& e = rig.make(2, 0, [](std::string_view origin) { return origin == "http://b.test" ? 1 : 0; });
  e.offer("http://a.test/", 0);
  rig.run();
  ASSERT_EQ(e.outbox()[1].size(), 1u);
  EXPECT_EQ(e.outbox()[1][0].url, "http://b.test/x");
  EXPECT_EQ(e.outbox()[1][0].depth, 0);
}

}  // namespace
}  // namespace rankpool::crawl
