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
  EXPECT_EQ(decode_u64(next_for_worker(mesh, c, CrawlTag::Finish).bytes), 0u) << "no signal";
  EXPECT_FALSE(c.done()) << "waits for the worker's report";

  RankReport report;
  report.rank = 1;
  report.host = "h1";
  report.role = "worker";
  report.engine.pages = 1;
  w.send(0, static_cast<int>(CrawlTag::Final), encode_report(report));
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
  EXPECT_EQ(decode_u64(next_for_worker(mesh, c, CrawlTag::Finish).bytes), static_cast<std::uint64_t>(SIGINT));
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
