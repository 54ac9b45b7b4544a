// The crawl master's termination detection, driven message by message: the orders that
// matter written out, then a model crawl under many random delivery orders that must end
// exactly when all work is done and nothing is in transit.
#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <vector>

#include "rankpool/crawl/termination.hpp"

namespace rankpool::crawl {
namespace {

Counters idle(std::uint64_t sent, std::uint64_t received) {
  Counters c;
  c.idle = true;
  c.sent = sent;
  c.received = received;
  return c;
}

Counters reply(std::uint64_t probe, bool is_idle, std::uint64_t sent, std::uint64_t received) {
  Counters c = idle(sent, received);
  c.probe = probe;
  c.idle = is_idle;
  return c;
}

/// Two workers, one seed message each, both idle having received it: the probe that
/// starts then.
std::optional<std::uint64_t> seeded_and_idle(Termination& t) {
  t.master_sent();
  t.master_sent();
  t.on_idle(0, idle(0, 1));
  return t.on_idle(1, idle(0, 1));
}

TEST(Termination, TwoEqualWavesEndTheRun) {
  Termination t(2);
  t.master_sent();
  t.master_sent();
  EXPECT_FALSE(t.on_idle(0, idle(0, 1)));  // worker 1 has not reported yet
  const auto probe = t.on_idle(1, idle(0, 1));
  ASSERT_TRUE(probe);
  EXPECT_FALSE(t.on_reply(0, reply(*probe, true, 0, 1)).over);
  EXPECT_TRUE(t.on_reply(1, reply(*probe, true, 0, 1)).over);
}

TEST(Termination, NoProbeWhileAMessageIsInTransit) {
  Termination t(2);
  t.master_sent();
  t.master_sent();
  EXPECT_FALSE(t.on_idle(0, idle(1, 1)));  // worker 0 sent worker 1 a message...
  EXPECT_FALSE(t.on_idle(1, idle(0, 1)));  // ...that worker 1 has not received yet
  EXPECT_TRUE(t.on_idle(1, idle(0, 2)));   // now it has
}

TEST(Termination, ChangedCountsInTheRepliesMeanAnotherWave) {
  Termination t(2);
  const auto p1 = seeded_and_idle(t);
  ASSERT_TRUE(p1);
  // Between the Idle and the probe, worker 0 sent a message and worker 1 took it: both
  // idle, the totals balance, but the counts moved, so this wave proves nothing.
  EXPECT_FALSE(t.on_reply(0, reply(*p1, true, 1, 1)).over);
  const auto v = t.on_reply(1, reply(*p1, true, 0, 2));
  EXPECT_FALSE(v.over);
  ASSERT_TRUE(v.probe);
  EXPECT_NE(*v.probe, *p1);
  EXPECT_FALSE(t.on_reply(0, reply(*v.probe, true, 1, 1)).over);
  EXPECT_TRUE(t.on_reply(1, reply(*v.probe, true, 0, 2)).over);
}

// The order that hung a resumed crawl in CI: worker 0 is busy when the probe reaches it,
// then goes idle and says so once, and that Idle arrives before worker 1's reply. Its
// reply is older than its Idle; taking it as the newest state left the master waiting
// for an Idle that never came.
TEST(Termination, AnIdleAfterABusyReplyIsNotLost) {
  Termination t(2);
  const auto p1 = seeded_and_idle(t);
  ASSERT_TRUE(p1);
  EXPECT_FALSE(t.on_reply(0, reply(*p1, false, 0, 1)).over);  // busy
  EXPECT_FALSE(t.on_idle(0, idle(0, 1)));                     // idle again (a probe is out)
  const auto v = t.on_reply(1, reply(*p1, true, 0, 1));
  EXPECT_FALSE(v.over);  // worker 0 answered busy
  ASSERT_TRUE(v.probe) << "every worker is idle and nothing is in transit: a new probe must go out";
  EXPECT_FALSE(t.on_reply(0, reply(*v.probe, true, 0, 1)).over);
  EXPECT_TRUE(t.on_reply(1, reply(*v.probe, true, 0, 1)).over);
}

TEST(Termination, StaleAndRepeatedRepliesAreIgnored) {
  Termination t(2);
  t.on_idle(0, idle(0, 0));
  const auto p1 = t.on_idle(1, idle(0, 0));
  ASSERT_TRUE(p1);
  EXPECT_FALSE(t.on_reply(0, reply(*p1 + 7, true, 0, 0)).over);  // not this probe
  EXPECT_FALSE(t.on_reply(0, reply(*p1, true, 0, 0)).over);
  EXPECT_FALSE(t.on_reply(0, reply(*p1, true, 0, 0)).over);  // twice from one worker
  EXPECT_TRUE(t.probing());
  EXPECT_TRUE(t.on_reply(1, reply(*p1, true, 0, 0)).over);
}

TEST(Termination, StoppedMeansNoMoreProbes) {
  Termination t(1);
  t.stop();
  EXPECT_FALSE(t.on_idle(0, idle(0, 0)));
  EXPECT_EQ(t.probes(), 0u);
}

// A model crawl: workers hold work items; doing one may send Urls messages (each carrying
// work) to any worker. Every channel is FIFO, as MPI's are between two ranks; which channel
// delivers next, and which worker steps, is random. Workers follow Worker::tick()'s rules:
// report Idle when idle and the counts moved since the last report; answer every probe
// with their state now. The master must decide "over" exactly once, only when no work is
// left anywhere, and must decide it (no hang) in every order.
struct Model {
  struct Msg {
    enum Kind { Urls, Idle, Reply, Probe } kind;
    int from = 0;
    Counters c;
    int work = 0;
  };
  struct W {
    int work = 0;
    std::uint64_t sent = 0, received = 0, rep_sent = 0, rep_received = 0;
    bool reported = false;
    int budget = 0;  // how many more Urls messages this worker may send
  };
  int n;
  std::mt19937_64 rng;
  std::vector<W> w;
  // chan[from][to]; index n is the master.
  std::vector<std::vector<std::deque<Msg>>> chan;
  Termination t;
  bool over = false;

  Model(int workers, std::uint64_t seed)
      : n(workers),
        rng(seed),
        w(static_cast<std::size_t>(workers)),
        chan(static_cast<std::size_t>(workers + 1),
             std::vector<std::deque<Msg>>(static_cast<std::size_t>(workers + 1))),
        t(workers) {
    for (auto& x : w) x.budget = static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) {
      if (rng() % 3 == 0) continue;  // some workers get no seeds
      t.master_sent();
      chan[static_cast<std::size_t>(n)][static_cast<std::size_t>(i)].push_back(
          {Msg::Urls, n, {}, 1 + static_cast<int>(rng() % 3)});
    }
  }
  std::deque<Msg>& ch(int from, int to) { return chan[static_cast<std::size_t>(from)][static_cast<std::size_t>(to)]; }
  bool in_transit_urls() {
    for (auto& row : chan)
      for (auto& q : row)
        for (auto& m : q)
          if (m.kind == Msg::Urls) return true;
    return false;
  }
  bool all_work_done() {
    for (auto& x : w)
      if (x.work > 0) return false;
    return !in_transit_urls();
  }
  void master_gets(const Msg& m) {
    if (m.kind == Msg::Idle) {
      if (auto p = t.on_idle(m.from, m.c)) send_probe(*p);
    } else {
      const auto v = t.on_reply(m.from, m.c);
      if (v.over) {
        ASSERT_FALSE(over) << "decided twice";
        ASSERT_TRUE(all_work_done()) << "decided while work remained";
        over = true;
        t.stop();
      } else if (v.probe) {
        send_probe(*v.probe);
      }
    }
  }
  void send_probe(std::uint64_t p) {
    for (int i = 0; i < n; ++i) {
      Msg m{Msg::Probe, n, {}, 0};
      m.c.probe = p;
      ch(n, i).push_back(m);
    }
  }
  void worker_gets(int i, const Msg& m) {
    W& x = w[static_cast<std::size_t>(i)];
    if (m.kind == Msg::Urls) {
      ++x.received;
      x.work += m.work;
    } else {  // Probe
      ch(i, n).push_back({Msg::Reply, i, reply(m.c.probe, x.work == 0, x.sent, x.received), 0});
    }
  }
  void worker_steps(int i) {
    W& x = w[static_cast<std::size_t>(i)];
    if (x.work > 0) {
      --x.work;
      if (x.budget > 0 && rng() % 2 == 0) {
        --x.budget;
        const int to = static_cast<int>(rng() % static_cast<std::uint64_t>(n));
        ++x.sent;
        ch(i, to).push_back({Msg::Urls, i, {}, 1});
      }
      x.reported = false;
      return;
    }
    if (!x.reported || x.rep_sent != x.sent || x.rep_received != x.received) {
      x.reported = true;
      x.rep_sent = x.sent;
      x.rep_received = x.received;
      ch(i, n).push_back({Msg::Idle, i, idle(x.sent, x.received), 0});
    }
  }
  /// One random event; false when nothing can happen any more.
  bool step() {
    std::vector<std::pair<int, int>> ready;
    for (int f = 0; f <= n; ++f)
      for (int to = 0; to <= n; ++to)
        if (!ch(f, to).empty()) ready.emplace_back(f, to);
    std::vector<int> busy;
    for (int i = 0; i < n; ++i) {
      const W& x = w[static_cast<std::size_t>(i)];
      if (x.work > 0 || !x.reported || x.rep_sent != x.sent || x.rep_received != x.received) busy.push_back(i);
    }
    if (ready.empty() && busy.empty()) return false;
    const std::size_t k = static_cast<std::size_t>(rng() % (ready.size() + busy.size()));
    if (k < busy.size()) {
      worker_steps(busy[k]);
      return true;
    }
    auto [f, to] = ready[k - busy.size()];
    Msg m = ch(f, to).front();
    ch(f, to).pop_front();
    if (to == n)
      master_gets(m);
    else
      worker_gets(to, m);
    return true;
  }
};

TEST(Termination, ModelCrawlEndsExactlyOnceInEveryOrder) {
  int probes_max = 0;
  for (std::uint64_t seed = 1; seed <= 3000; ++seed) {
    const int workers = 1 + static_cast<int>(seed % 4);
    Model m(workers, seed);
    int steps = 0;
    while (m.step() && ++steps < 1000000) {
      if (::testing::Test::HasFatalFailure()) return;
    }
    ASSERT_LT(steps, 1000000) << "seed " << seed << ": did not settle";
    ASSERT_TRUE(m.over) << "seed " << seed << ", " << workers
                        << " workers: all work done and every message delivered, but the master never decided (a hang)";
    probes_max = std::max(probes_max, static_cast<int>(m.t.probes()));
  }
  RecordProperty("most_probes", probes_max);
}

}  // namespace
}  // namespace rankpool::crawl
