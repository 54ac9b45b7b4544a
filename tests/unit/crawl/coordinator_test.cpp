// Rank 0 of the crawler, driven message by message: the test plays the only worker (rank 1 of
// a LocalMesh) — Start and seeds out, records in, termination by probe, Finish, the reports
// gathered, summary.json; and the stop after a signal, which waits only the grace.
#include <gtest/gtest.h>

#include <unistd.h>

#include <boost/json.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "crawl/coordinator.hpp"

namespace rankpool::crawl {
namespace {

namespace fs = std::filesystem;
using runtime::LocalMesh;

CrawlJob job(const std::string& name) {
  CrawlJob j;
  j.options.quiet = true;
  j.options.delay = 0;
  j.seeds = {"http://a.test/"};
  j.out_dir =
      (fs::temp_directory_path() / ("rankpool-coordinator-test-" + name + "-" + std::to_string(::getpid()))).string();
  fs::remove_all(j.out_dir);
  fs::create_directories(j.out_dir);
  return j;
}

/// The next message for the worker (rank 1), ticking the coordinator meanwhile.
MeshMessage next_for_worker(LocalMesh& mesh, Coordinator& c, CrawlTag tag) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    while (auto m = mesh.endpoint(0).receive(std::chrono::microseconds(0))) c.on_message(*m);
    c.tick();
    if (auto m = mesh.endpoint(1).receive(std::chrono::milliseconds(1))) {
      if (m->tag == static_cast<int>(tag)) return *m;
    }
  }
  ADD_FAILURE() << "no " << to_string(tag) << " for the worker";
  return {};
}

void run_until_done(LocalMesh& mesh, Coordinator& c, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!c.done() && Clock::now() < deadline) {
    while (auto m = mesh.endpoint(0).receive(std::chrono::microseconds(0))) c.on_message(*m);
    c.tick();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

boost::json::object summary(const CrawlJob& j) {
  std::ifstream in(j.out_dir + "/summary.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return boost::json::parse(text).as_object();
}

TEST(CrawlCoordinator, StartsTheWorkerEndsByProbeAndGathersItsReport) {
  LocalMesh mesh(2);
  const CrawlJob j = job("full");
  Coordinator c(mesh.endpoint(0), j, "", nullptr);
  c.begin();
  Mesh& w = mesh.endpoint(1);
  const StartMessage start = decode_start(next_for_worker(mesh, c, CrawlTag::Start).bytes);
  EXPECT_EQ(start.error, "");
  EXPECT_EQ(start.assigned_origins, std::vector<std::string>{"http://a.test"});
  const auto seeds = decode_urls(next_for_worker(mesh, c, CrawlTag::Urls).bytes);
  ASSERT_EQ(seeds.size(), 1u);
  EXPECT_EQ(seeds[0].url, "http://a.test/");

  RecordsMessage records;
  PageRecord page;
  page.url = "http://a.test/";
  page.status = 200;
  page.rank = 1;
  records.records = {page};
  w.send(0, static_cast<int>(CrawlTag::Records), encode_records(records));
  Counters idle;
  idle.idle = true;
  idle.received = 0;  // the seed came from the coordinator: its message counts on its side
  w.send(0, static_cast<int>(CrawlTag::Idle), encode_counters(idle));
  // The master sent one Urls message; the worker reports having received it.
  idle.received = 1;
  w.send(0, static_cast<int>(CrawlTag::Idle), encode_counters(idle));
  const std::uint64_t probe = decode_u64(next_for_worker(mesh, c, CrawlTag::Probe).bytes);
  Counters reply = idle;
  reply.probe = probe;
  w.send(0, static_cast<int>(CrawlTag::ProbeReply), encode_counters(reply));
  EXPECT_EQ(runtime::decode_stop(next_for_worker(mesh, c, CrawlTag::Finish).bytes), runtime::StopMessage{})
      << "no signal";
  EXPECT_FALSE(c.done()) << "waits for the worker's report";

  CrawlReport report;
  report.engine.pages = 1;
  report.engine.links = 4;
  report.engine.robots_fetches = 1;
  report.engine.out_of_scope = 2;
  report.urls_sent = 5;
  report.cpu_s = 0.75;
  report.engine.seen_urls = 7;
  report.engine.seen_bytes = 112;
  report.engine.frontier_spilled = 3;
  // The per-origin rows come before the report, as FinalPart slices.
  report.hosts = 1;
  report.final_slices =
      slice_final({HostStats{"http://127.0.0.1:1", 1, 1, 10, 0, 0, "parsed", 0}}, {}, 1 << 20,
                  [&](std::string bytes) { w.send(0, static_cast<int>(CrawlTag::FinalPart), bytes); });
  EXPECT_EQ(report.final_slices, 1u);
  w.send(0, static_cast<int>(CrawlTag::Final),
         runtime::encode_report(runtime::RankReport{1, "h1", "worker", 2.5, encode_crawl_report(report)}));
  run_until_done(mesh, c, std::chrono::seconds(10));
  ASSERT_TRUE(c.done());
  const CrawlOutcome o = c.outcome();
  EXPECT_EQ(o.exit_code, 0) << o.error;
  EXPECT_EQ(o.pages, 1u);
  const auto s = summary(j);
  EXPECT_EQ(s.at("pages").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(s.at("missing_rank_reports").as_int64(), 0);
  const auto& ranks = s.at("ranks").as_array();
  ASSERT_EQ(ranks.size(), 2u);
  EXPECT_EQ(ranks[0].at("role").as_string(), "master");
  EXPECT_EQ(ranks[1].at("host").as_string(), "h1");
  EXPECT_EQ(ranks[1].at("pages").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(ranks[1].at("links").to_number<std::uint64_t>(), 4u);
  EXPECT_EQ(ranks[1].at("hosts_owned").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(ranks[1].at("urls_sent").to_number<std::uint64_t>(), 5u);
  EXPECT_EQ(ranks[1].at("wall_s").as_double(), 2.5) << "from the runtime's report envelope";
  EXPECT_EQ(ranks[1].at("seen_urls").to_number<std::uint64_t>(), 7u) << "the engine's memory figures";
  EXPECT_EQ(ranks[1].at("seen_bytes").to_number<std::uint64_t>(), 112u);
  EXPECT_EQ(ranks[1].at("frontier_spilled").to_number<std::uint64_t>(), 3u);
  EXPECT_EQ(ranks[1].at("cpu_s").as_double(), 0.75) << "the worker's own figure";
  EXPECT_GT(ranks[0].at("cpu_s").as_double(), 0.0) << "rank 0's own getrusage";
  // Within a few ULPs: Boost.JSON 1.81's default number parsing is not always correctly rounded.
  EXPECT_DOUBLE_EQ(s.at("master_cpu_s_per_1000_pages").as_double(), ranks[0].at("cpu_s").as_double() * 1000.0)
      << "one page this run";
  // The row's fields in summary.json's order: who, then the described row.
  std::vector<std::string> keys;
  for (const auto& kv : ranks[1].as_object()) keys.emplace_back(kv.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"rank",
                                            "host",
                                            "role",
                                            "pages",
                                            "bytes",
                                            "robots_fetches",
                                            "links",
                                            "hosts_owned",
                                            "urls_sent",
                                            "urls_received",
                                            "url_messages_sent",
                                            "url_messages_received",
                                            "duplicates",
                                            "fetch_wait_s",
                                            "seen_urls",
                                            "seen_bytes",
                                            "frontier_bytes",
                                            "frontier_peak_bytes",
                                            "frontier_spilled",
                                            "peak_rss_kb",
                                            "cpu_s",
                                            "wall_s"}));
  keys.clear();
  for (const auto& kv : ranks[0].as_object()) keys.emplace_back(kv.key());
  EXPECT_EQ(keys,
            (std::vector<std::string>{"rank", "host", "role", "pages", "peak_rss_kb", "cpu_s", "bytes_received"}));
  // Totals: summed from the engines' statistics.
  EXPECT_EQ(s.at("links").to_number<std::uint64_t>(), 4u);
  EXPECT_EQ(s.at("robots_fetches").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(s.at("not_followed").at("out_of_scope").to_number<std::uint64_t>(), 2u);
  EXPECT_EQ(s.at("hosts").as_array().size(), 1u);
  fs::remove_all(j.out_dir);
}

TEST(CrawlCoordinator, ASignalStopsTheRunAndASilentWorkerIsWaitedForOnlyTheGrace) {
  LocalMesh mesh(2);
  const CrawlJob j = job("signal");
  std::atomic<int> interrupt{0};
  Coordinator c(mesh.endpoint(0), j, "", &interrupt);
  c.begin();
  next_for_worker(mesh, c, CrawlTag::Urls);
  interrupt = SIGINT;
  EXPECT_EQ(runtime::decode_stop(next_for_worker(mesh, c, CrawlTag::Finish).bytes).signal, SIGINT);
  const auto t0 = Clock::now();
  run_until_done(mesh, c, std::chrono::seconds(20));
  ASSERT_TRUE(c.done());
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(10)) << "the grace, not the two minutes of a normal end";
  EXPECT_EQ(c.outcome().exit_code, 128 + SIGINT);
  const auto s = summary(j);
  EXPECT_TRUE(s.at("interrupted").as_bool());
  EXPECT_EQ(s.at("missing_rank_reports").as_int64(), 1);
  fs::remove_all(j.out_dir);
}

TEST(CrawlCoordinator, ASetupErrorGoesToEveryWorkerInStart) {
  LocalMesh mesh(2);
  const CrawlJob j = job("error");
  Coordinator c(mesh.endpoint(0), j, "bad seeds", nullptr);
  c.begin();
  EXPECT_TRUE(c.done());
  EXPECT_EQ(decode_start(next_for_worker(mesh, c, CrawlTag::Start).bytes).error, "bad seeds");
  EXPECT_EQ(c.outcome().exit_code, 2);
  fs::remove_all(j.out_dir);
}

}  // namespace
}  // namespace rankpool::crawl
