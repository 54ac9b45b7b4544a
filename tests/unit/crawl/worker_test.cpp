// One crawling rank, driven message by message: the test plays the coordinator on rank 0 of
// a LocalMesh and the worker is rank 1.
#include <gtest/gtest.h>

#include <csignal>
#include <set>
#include <thread>

#include "crawl/worker.hpp"

namespace rankpool::crawl {
namespace {

using runtime::LocalMesh;

struct Harness {
  LocalMesh mesh{2};
  FetcherFactory factory = [](const CrawlOptions&) -> std::unique_ptr<Fetcher> {
    auto f = std::make_unique<FakeFetcher>();
    f->add_page("http://a.test/robots.txt", "", "text/plain");
    f->add_page("http://a.test/", "<a href=\"/1\">1</a><a href=\"/2\">2</a>");
    f->add_page("http://a.test/1", "<a href=\"/\">home</a>");
    f->add_page("http://a.test/2", "no links");
    return f;
  };
  std::atomic<int> interrupt{0};
  Worker worker{mesh.endpoint(1), factory, &interrupt};
  Mesh& coordinator = mesh.endpoint(0);

  void start() {
    StartMessage s;
    s.options.delay = 0;
    s.options.max_depth = -1;
    s.options.quiet = true;
    s.seeds = {"http://a.test/"};
    s.assigned_origins = {"http://a.test"};
    s.assigned_workers = {0};
    coordinator.send(1, static_cast<int>(CrawlTag::Start), encode_start(s));
    coordinator.send(1, static_cast<int>(CrawlTag::Urls), encode_urls({{"http://a.test/", 0, ""}}));
  }
  /// Runs the worker until the coordinator's endpoint gets a message with `tag` (or times out);
  /// every message received on the way is appended to `seen`.
  std::optional<MeshMessage> until(CrawlTag tag, std::vector<MeshMessage>& seen,
                                   std::chrono::seconds limit = std::chrono::seconds(20)) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      while (auto m = mesh.endpoint(1).receive(std::chrono::microseconds(0))) worker.on_message(*m);
      if (!worker.done()) worker.tick();
      while (auto m = coordinator.receive(std::chrono::microseconds(0))) {
        seen.push_back(*m);
        if (m->tag == static_cast<int>(tag)) return m;
      }
      if (worker.done()) break;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return std::nullopt;
  }
};

TEST(CrawlWorker, CrawlsItsOriginReportsRecordsThenIdleAndFinalOnFinish) {
  Harness h;
  h.start();
  std::vector<MeshMessage> seen;
  ASSERT_TRUE(h.until(CrawlTag::Idle, seen));
  std::set<std::string> urls;
  for (const auto& m : seen)
    if (m.tag == static_cast<int>(CrawlTag::Records))
      for (const auto& r : decode_records(m.bytes).records) urls.insert(r.url);
  // Records can trail the first Idle by one batch: wait for the rest.
  while (urls.size() < 3) {
    std::vector<MeshMessage> more;
    auto m = h.until(CrawlTag::Records, more, std::chrono::seconds(5));
    ASSERT_TRUE(m) << "only " << urls.size() << " records";
    for (const auto& r : decode_records(m->bytes).records) urls.insert(r.url);
  }
  EXPECT_EQ(urls, (std::set<std::string>{"http://a.test/", "http://a.test/1", "http://a.test/2"}));

  // Probe: answered at once with this worker's counts.
  h.coordinator.send(1, static_cast<int>(CrawlTag::Probe), encode_u64(7));
  auto reply = h.until(CrawlTag::ProbeReply, seen);
  ASSERT_TRUE(reply);
  const Counters c = decode_counters(reply->bytes);
  EXPECT_EQ(c.probe, 7u);
  EXPECT_TRUE(c.idle);
  EXPECT_EQ(c.received, 1u) << "the seed message from the coordinator";
  EXPECT_EQ(c.sent, 0u) << "every link stayed on its own origin";

  h.coordinator.send(1, static_cast<int>(CrawlTag::Finish), runtime::encode_stop({}));
  auto final = h.until(CrawlTag::Final, seen);
  ASSERT_TRUE(final);
  const runtime::RankReport who = runtime::decode_report(final->bytes);
  EXPECT_EQ(who.rank, 1);
  EXPECT_EQ(who.role, "worker");
  EXPECT_GT(who.wall_s, 0);
  const CrawlReport r = decode_crawl_report(who.payload);
  EXPECT_EQ(r.engine.pages, 3u);
  EXPECT_TRUE(h.worker.done());
  EXPECT_EQ(h.worker.exit_code(), 0);
}

TEST(CrawlWorker, ASignalIsReportedAndWithoutAnAnswerTheWorkerLeavesAfterTheGrace) {
  Harness h;
  h.start();
  std::vector<MeshMessage> seen;
  ASSERT_TRUE(h.until(CrawlTag::Idle, seen));
  h.interrupt = SIGTERM;
  auto m = h.until(CrawlTag::Interrupt, seen);
  ASSERT_TRUE(m);
  EXPECT_EQ(decode_u64(m->bytes), static_cast<std::uint64_t>(SIGTERM));
  const auto t0 = Clock::now();
  h.until(CrawlTag::Final, seen, std::chrono::seconds(10));  // none comes: nobody says Finish
  EXPECT_TRUE(h.worker.done());
  EXPECT_EQ(h.worker.exit_code(), 128 + SIGTERM);
  EXPECT_GE(Clock::now() - t0, std::chrono::seconds(2)) << "it waited for the coordinator first";
}

TEST(CrawlWorker, ASetupErrorInStartEndsTheWorkerWithIt) {
  Harness h;
  StartMessage s;
  s.error = "no seeds";
  h.coordinator.send(1, static_cast<int>(CrawlTag::Start), encode_start(s));
  std::vector<MeshMessage> seen;
  h.until(CrawlTag::Final, seen, std::chrono::seconds(2));
  EXPECT_TRUE(h.worker.done());
  EXPECT_EQ(h.worker.exit_code(), 2);
  EXPECT_EQ(h.worker.error(), "no seeds");
}

}  // namespace
}  // namespace rankpool::crawl
