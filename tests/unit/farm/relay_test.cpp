// Node relays without MPI: each Relay feeds its local workers through a LocalTransport, and a
// Master talks to the relays through a transport that hands them its batches.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <numeric>
#include <set>

#include "farm/local_transport.hpp"
#include "farm/relay.hpp"
#include "rankpool/farm/context.hpp"
#include "rankpool/farm/master.hpp"

using namespace rankpool::farm;

namespace {

Registry make_registry() {
  Registry r;
  r.add<int, long>("square", [](int x) { return static_cast<long>(x) * x; });
  r.add<std::string, std::string>("twice", [](const std::string& s) { return s + s; });
  r.add<int, int>("fails_on_7", [](int x) {
    if (x % 10 == 7) throw std::runtime_error("unlucky " + std::to_string(x));
    return x;
  });
  r.add<int, int>(
      "timed", [](int x) { return x + 1; }, TaskTypeOptions{"", true});
  return r;
}

// Rank 0's view: worker w is relay w, which has `node` local workers of its own. With
// `farm_ranks`, ranks as a farm of emulated nodes numbers them: relay w is rank 1 + w × (node + 1),
// its local workers the ranks after it (parent_of() maps them); else relay w is rank w + 1 and
// every relay's local workers are ranks 1 to node.
class RelayedTransport final : public Transport {
 public:
  RelayedTransport(const Registry& reg, int relays, int node, bool farm_ranks = false)
      : node_(node), farm_ranks_(farm_ranks) {
    for (int r = 0; r < relays; ++r) {
      std::vector<int> ranks;
      for (int w = 0; farm_ranks && w < node; ++w) ranks.push_back(relay_rank(r) + 1 + w);
      locals_.push_back(std::make_unique<LocalTransport>(reg, node, ranks));
      relays_.push_back(std::make_unique<Relay>(reg, *locals_.back()));
    }
  }
  int relay_rank(int relay) const { return farm_ranks_ ? 1 + relay * (node_ + 1) : relay + 1; }
  /// Per rank: the relay it takes batches from (0 for the relays).
  std::vector<int> parent_of() const {
    std::vector<int> parent(static_cast<std::size_t>(relay_rank(workers())), 0);
    for (int r = 0; farm_ranks_ && r < workers(); ++r)
      for (int w = 0; w < node_; ++w) parent[static_cast<std::size_t>(relay_rank(r) + 1 + w)] = relay_rank(r);
    return parent;
  }
  LocalTransport& local_workers(int relay) { return *locals_.at(static_cast<std::size_t>(relay)); }
  int workers() const override { return static_cast<int>(relays_.size()); }
  int worker_rank(int worker) const override { return relay_rank(worker); }
  void send(int worker, Tag tag, std::string bytes) override {
    EXPECT_EQ(tag, Tag::Batch);
    ++batches_;
    relays_.at(static_cast<std::size_t>(worker))->accept(bytes);
  }
  std::optional<Incoming> receive(std::chrono::microseconds) override {
    for (int w = 0; ready_.empty() && w < workers(); ++w)
      for (auto& [tag, bytes] : relays_[static_cast<std::size_t>(w)]->poll(std::chrono::microseconds(0)))
        ready_.push_back(Incoming{w, tag, std::move(bytes)});
    if (ready_.empty()) return std::nullopt;
    Incoming m = std::move(ready_.front());
    ready_.pop_front();
    return m;
  }
  const TransportCounters& counters() const override { return counters_; }
  const LocalTransport& local(int relay) const { return *locals_.at(static_cast<std::size_t>(relay)); }
  const Relay& relay(int r) const { return *relays_.at(static_cast<std::size_t>(r)); }
  std::size_t batches() const { return batches_; }

 private:
  int node_ = 0;
  bool farm_ranks_ = false;
  std::vector<std::unique_ptr<LocalTransport>> locals_;
  std::vector<std::unique_ptr<Relay>> relays_;
  std::deque<Incoming> ready_;
  TransportCounters counters_;
  std::size_t batches_ = 0;
};

std::vector<std::vector<bool>> all(int w, const Registry& r) {
  return std::vector<std::vector<bool>>(static_cast<std::size_t>(w), std::vector<bool>(r.size(), true));
}

std::string batch_of(std::uint32_t type, std::uint64_t id, const std::vector<int>& xs, std::uint32_t flags = 0,
                     int avoid_rank = -1) {
  std::string wire;
  encode_batch_header(wire, BatchHeader{id, type, static_cast<std::uint32_t>(xs.size()), flags, avoid_rank});
  codec::encode_range(wire, xs.data(), xs.size());
  return wire;
}

}  // namespace

TEST(Relay, CutsABatchIntoOnePiecePerWorkerAndAnswersOnceInBatchOrder) {
  Registry reg = make_registry();
  LocalTransport local(reg, 3);
  Relay relay(reg, local);
  std::vector<int> xs(10);
  std::iota(xs.begin(), xs.end(), 0);
  relay.accept(batch_of(2, 41, xs));  // fails_on_7
  EXPECT_FALSE(relay.idle());
  auto up = relay.poll(std::chrono::microseconds(0));
  ASSERT_EQ(up.size(), 1u);
  EXPECT_TRUE(relay.idle());
  ASSERT_EQ(local.log().size(), 3u);
  std::multiset<std::uint32_t> sizes;
  for (const auto& s : local.log()) sizes.insert(s.header.count);
  EXPECT_EQ(sizes, (std::multiset<std::uint32_t>{3, 3, 4}));
  EXPECT_EQ(up[0].first, Tag::Result);
  const ResultMessage r = decode_result(up[0].second);
  EXPECT_EQ(r.batch_id, 41u);
  EXPECT_EQ(r.count, 10u);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_EQ(r.failures[0].position, 7u) << "the failure's position in rank 0's batch, not in its piece";
  EXPECT_EQ(r.failures[0].message, "unlucky 7");
  std::vector<int> outputs;
  codec::decode<int>(r.payload, 9, outputs);
  EXPECT_EQ(outputs, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 8, 9}));
  EXPECT_EQ(relay.stats().batches, 1u);
  // One rank run per piece, in batch order, covering the batch: the workers that ran them.
  ASSERT_EQ(r.ranks.size(), 3u);
  std::uint32_t next = 0;
  std::set<int> ranks;
  for (const auto& run : r.ranks) {
    EXPECT_EQ(run.first, next);
    next += run.count;
    ranks.insert(run.rank);
  }
  EXPECT_EQ(next, 10u);
  EXPECT_EQ(ranks, (std::set<int>{local.worker_rank(0), local.worker_rank(1), local.worker_rank(2)}));
}

TEST(Relay, NotesGoUpNamingTheirWorker) {
  Registry reg;
  reg.add<int, int>("talk", [](int x) {
    this_task().note("n" + std::to_string(x));
    return x;
  });
  // Threaded workers (as over MPI): only those send notes.
  LocalTransport local(reg, 2, {}, {}, 1, {}, true);
  Relay relay(reg, local);
  relay.accept(batch_of(0, 5, {1, 2}));
  std::map<std::string, int> from;
  for (int i = 0; i < 1000 && !relay.idle(); ++i) {
    for (auto& [tag, bytes] : relay.poll(std::chrono::milliseconds(10))) {
      if (tag != Tag::RankNote) continue;
      ByteReader in(bytes, "note");
      const int rank = in.get<std::int32_t>();
      from[std::string(in.get_bytes(in.remaining()))] = rank;
    }
  }
  EXPECT_TRUE(relay.idle());
  ASSERT_EQ(from.size(), 2u);
  EXPECT_NE(from["n1"], from["n2"]) << "one task on each worker";
  EXPECT_EQ((std::set<int>{from["n1"], from["n2"]}), (std::set<int>{local.worker_rank(0), local.worker_rank(1)}));
}

TEST(Relay, PerTaskSecondsAndSmallAndEmptyBatches) {
  Registry reg = make_registry();
  LocalTransport local(reg, 4);
  Relay relay(reg, local);
  relay.accept(batch_of(3, 1, {5, 6, 7, 8, 9, 10}, BatchHeader::kTimeEach));
  relay.accept(batch_of(3, 2, {100}));  // one task: one piece, to the least loaded worker
  relay.accept(batch_of(3, 3, {}));
  std::map<std::uint64_t, ResultMessage> got;
  for (int i = 0; i < 3 && got.size() < 3; ++i)
    for (auto& [tag, bytes] : relay.poll(std::chrono::microseconds(0))) {
      const ResultMessage r = decode_result(bytes);
      got[r.batch_id] = r;
    }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1].seconds.size(), 6u) << "one time per task of rank 0's batch";
  std::vector<int> outputs;
  codec::decode<int>(got[1].payload, 6, outputs);
  EXPECT_EQ(outputs, (std::vector<int>{6, 7, 8, 9, 10, 11}));
  codec::decode<int>(got[2].payload, 1, outputs);
  EXPECT_EQ(outputs, (std::vector<int>{101}));
  EXPECT_EQ(got[3].count, 0u);
  EXPECT_TRUE(got[3].payload.empty());
  EXPECT_EQ(local.log().size(), 4u + 1u);
}

TEST(Relay, MasterOverRelaysGivesTheFlatAnswersInFewerBatches) {
  Registry reg = make_registry();
  const int relays = 3, node = 4;
  std::vector<int> xs(20000);
  std::iota(xs.begin(), xs.end(), -5000);
  std::vector<std::string> words(500);
  for (std::size_t i = 0; i < words.size(); ++i) words[i] = std::string(i % 5, 'w') + std::to_string(i);
  FarmOptions o;
  o.batch_size = 10;
  RelayedTransport t(reg, relays, node);
  Master m(reg, t, o, all(relays, reg), {}, std::vector<int>(relays, node));
  EXPECT_EQ(m.total_slots(), relays * node);
  auto a = m.map<long>("square", xs);
  ASSERT_TRUE(a.ok());
  for (std::size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(a.values[i], static_cast<long>(xs[i]) * xs[i]);
  EXPECT_EQ(t.batches(), xs.size() / (10 * node)) << "batches of 10 tasks per local worker";
  auto b = m.map<std::string>("twice", words);
  ASSERT_TRUE(b.ok());
  for (std::size_t i = 0; i < words.size(); ++i) ASSERT_EQ(b.values[i], words[i] + words[i]);
  for (int r = 0; r < relays; ++r)
    for (int w = 0; w < node; ++w) EXPECT_GT(t.local(r).worker_stats(w).tasks, 0u) << "relay " << r << " worker " << w;
  std::vector<int> ys(100);
  std::iota(ys.begin(), ys.end(), 0);
  auto c = m.map<int>("fails_on_7", ys);
  ASSERT_EQ(c.failures.size(), 10u);
  for (const auto& f : c.failures) {
    EXPECT_EQ(f.index % 10, 7u) << f.index;
    EXPECT_EQ(f.message, "unlucky " + std::to_string(f.index));
    EXPECT_EQ(f.attempts, 1 + o.max_retries);
  }
}

TEST(Relay, BatchItCannotCutIsAProtocolError) {
  Registry reg = make_registry();
  LocalTransport local(reg, 2);
  Relay relay(reg, local);
  std::string wire;
  encode_batch_header(wire, BatchHeader{1, 0, 5, 0});
  wire += "abc";  // not five ints
  EXPECT_THROW(relay.accept(wire), ProtocolError);
  std::string unknown;
  encode_batch_header(unknown, BatchHeader{2, 99, 0, 0});
  EXPECT_THROW(relay.accept(unknown), ProtocolError);
}

TEST(Relay, KeepsABatchOffTheRankItAvoidsUnlessItIsTheOnlyWorker) {
  Registry reg = make_registry();
  LocalTransport local(reg, 3, {2, 3, 4});
  Relay relay(reg, local);
  relay.accept(batch_of(0, 1, {5}, 0, 2));  // all idle: worker 0 (rank 2) would take it
  relay.accept(batch_of(0, 2, {1, 2, 3, 4, 5}, 0, 3));
  std::map<std::uint64_t, ResultMessage> got;
  for (int i = 0; i < 3 && got.size() < 2; ++i)
    for (auto& [tag, bytes] : relay.poll(std::chrono::microseconds(0))) {
      const ResultMessage r = decode_result(bytes);
      got[r.batch_id] = r;
    }
  ASSERT_EQ(got.size(), 2u);
  ASSERT_EQ(local.log().size(), 1u + 2u) << "five tasks cut for the two workers left";
  EXPECT_NE(local.log()[0].worker, 0);
  EXPECT_NE(local.log()[1].worker, 1);
  EXPECT_NE(local.log()[2].worker, 1);
  for (const auto& sent : local.log()) EXPECT_EQ(sent.header.avoid_rank, -1) << "pieces avoid nothing further";
  ASSERT_EQ(got[1].ranks.size(), 1u);
  EXPECT_NE(got[1].ranks[0].rank, 2);
  for (const auto& run : got[2].ranks) EXPECT_NE(run.rank, 3);
  std::vector<long> outputs;
  codec::decode<long>(got[2].payload, 5, outputs);
  EXPECT_EQ(outputs, (std::vector<long>{1, 4, 9, 16, 25}));

  LocalTransport alone(reg, 1, {7});
  Relay one(reg, alone);
  one.accept(batch_of(0, 3, {6}, 0, 7));
  auto up = one.poll(std::chrono::microseconds(0));
  ASSERT_EQ(up.size(), 1u);
  const ResultMessage r = decode_result(up[0].second);
  EXPECT_TRUE(r.failures.empty()) << "its only worker runs it";
  codec::decode<long>(r.payload, 1, outputs);
  EXPECT_EQ(outputs, (std::vector<long>{36}));
}

// SubmitOptions::avoid_rank naming a relay's local worker: with the relay alone, the relay keeps
// the task off that worker; with another relay, the task goes there.
TEST(Relay, SubmitAvoidingALocalWorkerRunsElsewhere) {
  Registry reg = make_registry();
  for (int relays : {1, 2}) {
    SCOPED_TRACE(std::to_string(relays) + " relays");
    FarmOptions o;
    o.progress = false;
    o.batch_size = 1;
    RelayedTransport t(reg, relays, 3, true);
    Master m(reg, t, o, all(relays, reg), {}, std::vector<int>(static_cast<std::size_t>(relays), 3), t.parent_of());
    const int avoid = t.relay_rank(0) + 1;  // relay 0's first local worker, its least loaded when idle
    std::map<std::size_t, int> rank_of;
    for (int i = 0; i < 24; ++i) {
      SubmitOptions so;
      so.avoid_rank = avoid;
      m.submit<long>(
          "square", i, [&](Outcome<long>& oc) { rank_of[oc.index] = oc.rank; }, so);
    }
    EXPECT_TRUE(m.wait_all().ok());
    ASSERT_EQ(rank_of.size(), 24u);
    for (const auto& [i, rank] : rank_of) {
      EXPECT_NE(rank, avoid) << "task " << i;
      if (relays == 2) {
        EXPECT_GT(rank, t.relay_rank(1)) << "task " << i << " on the other relay's workers";
      }
    }
  }
}

// The farm's own retries under a single relay: the retry keeps off the local worker the task
// failed on, so a bad worker costs attempts, not tasks.
TEST(Relay, RetriesThroughTheOnlyRelayAvoidTheWorkerThatFailed) {
  Registry reg = make_registry();
  FarmOptions o;
  o.progress = false;
  o.batch_size = 1;
  o.max_retries = 1;
  RelayedTransport t(reg, 1, 3, true);
  t.local_workers(0).fail_worker(0, "bad worker");
  Master m(reg, t, o, all(1, reg), {}, {3}, t.parent_of());
  std::vector<int> xs(30);
  std::iota(xs.begin(), xs.end(), 0);
  std::vector<int> rank_of(xs.size(), -1);
  MapOptions<long> mo;
  mo.on_result = [&](Outcome<long>& oc) { rank_of[oc.index] = oc.rank; };
  auto res = m.map<long>("square", xs, mo);
  EXPECT_TRUE(res.ok()) << res.failures.size()
                        << " failed, the first: " << (res.failures.empty() ? "" : res.failures[0].message);
  EXPECT_GT(m.stats().retries, 0u) << "the bad worker got tasks";
  for (std::size_t i = 0; i < xs.size(); ++i) EXPECT_NE(rank_of[i], t.relay_rank(0) + 1) << i;
}
