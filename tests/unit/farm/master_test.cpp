// The master end to end in one process: LocalTransport runs the workers in-process.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <type_traits>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>
#include <set>
#include <thread>

#include "farm/local_transport.hpp"
#include "rankpool/farm/master.hpp"

using namespace rankpool::farm;

namespace {

Registry make_registry() {
  Registry r;
  r.add<int, long>("square", [](int x) { return static_cast<long>(x) * x; });
  r.add<std::string, std::string>("upper", [](const std::string& s) {
    std::string u = s;
    for (auto& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return u;
  });
  r.add<int, int>("fails_on_7", [](int x) {
    if (x % 10 == 7) throw std::runtime_error("seven is unlucky: " + std::to_string(x));
    return x;
  });
  return r;
}

std::vector<std::vector<bool>> all(int w, const Registry& r) {
  return std::vector<std::vector<bool>>(w, std::vector<bool>(r.size(), true));
}

}  // namespace

TEST(Master, MapReturnsSequentialAnswerInInputOrder) {
  Registry reg = make_registry();
  LocalTransport t(reg, 3);
  Master m(reg, t, FarmOptions{}, all(3, reg));
  std::vector<int> xs(5000);
  std::iota(xs.begin(), xs.end(), -2500);
  auto res = m.map<long>("square", xs);
  ASSERT_TRUE(res.ok());
  ASSERT_EQ(res.values.size(), xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) EXPECT_EQ(res.values[i], static_cast<long>(xs[i]) * xs[i]);
  // Work reached every worker, and batching kept the number of messages small.
  std::set<int> ranks;
  for (std::size_t i = 0; i < xs.size(); ++i) ranks.insert(res.rank_of(i));
  EXPECT_EQ(ranks, (std::set<int>{1, 2, 3}));
  EXPECT_LT(t.log().size(), 100u);
  EXPECT_EQ(m.stats().tasks_completed, 5000u);
}

TEST(Master, NonTrivialTypesTravelThroughSerialization) {
  Registry reg = make_registry();
  LocalTransport t(reg, 2);
  Master m(reg, t, FarmOptions{}, all(2, reg));
  std::vector<std::string> in = {"", "abc", std::string(10000, 'x'), "MiXeD 123"};
  auto res = m.map<std::string>("upper", in);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res.values, (std::vector<std::string>{"", "ABC", std::string(10000, 'X'), "MIXED 123"}));
}

TEST(Master, OrderedCallbacksComeInInputOrder) {
  Registry reg = make_registry();
  LocalTransport t(reg, 4);
  FarmOptions o;
  o.batch_size = 3;
  Master m(reg, t, o, all(4, reg));
  std::vector<int> xs(100);
  std::iota(xs.begin(), xs.end(), 0);
  std::vector<std::size_t> order;
  MapOptions<long> mo;
  mo.order = Order::input;
  mo.keep_values = false;
  mo.on_result = [&](Outcome<long>& r) {
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r.value, static_cast<long>(r.index) * static_cast<long>(r.index));
    order.push_back(r.index);
  };
  auto res = m.map<long>("square", xs, mo);
  EXPECT_TRUE(res.values.empty());
  std::vector<std::size_t> expect(100);
  std::iota(expect.begin(), expect.end(), 0);
  EXPECT_EQ(order, expect);
}

TEST(Master, CompletionOrderDeliversEveryResultOnce) {
  Registry reg = make_registry();
  LocalTransport t(reg, 3);
  FarmOptions o;
  o.batch_size = 4;
  Master m(reg, t, o, all(3, reg));
  std::vector<int> xs(50, 3);
  std::multiset<std::size_t> got;
  MapOptions<long> mo;
  mo.order = Order::completion;
  mo.on_result = [&](Outcome<long>& r) { got.insert(r.index); };
  m.map<long>("square", xs, mo);
  EXPECT_EQ(got.size(), 50u);
  EXPECT_EQ(std::set<std::size_t>(got.begin(), got.end()).size(), 50u);
}

TEST(Master, ThrowingTaskIsRetriedThenReportedWhileOthersComplete) {
  Registry reg = make_registry();
  LocalTransport t(reg, 2);
  FarmOptions o;
  o.max_retries = 2;
  Master m(reg, t, o, all(2, reg));
  std::vector<int> xs(30);
  std::iota(xs.begin(), xs.end(), 0);
  auto res = m.map<int>("fails_on_7", xs);
  ASSERT_EQ(res.failures.size(), 3u);  // 7, 17, 27
  for (const auto& f : res.failures) {
    EXPECT_EQ(xs[f.index] % 10, 7);
    EXPECT_EQ(f.attempts, 3);
    EXPECT_NE(f.message.find("seven is unlucky"), std::string::npos);
  }
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (xs[i] % 10 != 7) {
      EXPECT_EQ(res.values[i], xs[i]);
    }
  EXPECT_EQ(m.stats().tasks_failed, 3u);
  EXPECT_EQ(m.stats().retries, 6u);
  EXPECT_EQ(m.stats().tasks_completed, 27u);
}

TEST(Master, TaskFailingOnOneWorkerSucceedsOnAnother) {
  Registry reg = make_registry();
  LocalTransport t(reg, 3);
  t.fail_worker(0, "disk full on worker 0");
  FarmOptions o;
  o.max_retries = 1;
  o.batch_size = 5;
  Master m(reg, t, o, all(3, reg));
  std::vector<int> xs(200, 2);
  auto res = m.map<long>("square", xs);
  EXPECT_TRUE(res.ok()) << res.failures.size() << " failures";
  EXPECT_GT(m.stats().retries, 0u);
  for (std::size_t i = 0; i < xs.size(); ++i) EXPECT_NE(res.rank_of(i), 1) << "worker 0 (rank 1) fails everything";
}

TEST(Master, QueuesRouteTypesToTheirWorkers) {
  Registry reg = make_registry();
  LocalTransport t(reg, 3);
  // worker 0 serves "square"; workers 1, 2 serve "upper".
  std::vector<std::vector<bool>> serves = {{true, false, false}, {false, true, false}, {false, true, false}};
  Master m(reg, t, FarmOptions{}, serves);
  std::vector<int> xs(100, 4);
  auto a = m.map<long>("square", xs);
  std::vector<std::string> ss(100, "q");
  auto b = m.map<std::string>("upper", ss);
  for (std::size_t i = 0; i < xs.size(); ++i) EXPECT_EQ(a.rank_of(i), 1);
  for (std::size_t i = 0; i < ss.size(); ++i) EXPECT_TRUE(b.rank_of(i) == 2 || b.rank_of(i) == 3);
  for (const auto& s : t.log()) EXPECT_EQ(s.header.type == 0, s.worker == 0);
  // "fails_on_7" has no worker: a clear error at submit time, not a hang.
  try {
    m.map<int>("fails_on_7", xs);
    FAIL() << "expected FarmError";
  } catch (const FarmError& e) {
    EXPECT_NE(std::string(e.what()).find("no worker serves queue 'fails_on_7'"), std::string::npos) << e.what();
  }
}

TEST(Master, UnknownTypeAndWrongSignatureAreClearErrors) {
  Registry reg = make_registry();
  LocalTransport t(reg, 1);
  Master m(reg, t, FarmOptions{}, all(1, reg));
  std::vector<int> xs{1};
  EXPECT_THROW(m.map<long>("nope", xs), FarmError);
  try {
    m.map<int>("square", xs);  // registered as int -> long
    FAIL();
  } catch (const FarmError& e) {
    EXPECT_NE(std::string(e.what()).find("other input/output types"), std::string::npos);
  }
}

TEST(Master, EmptyInputAndMoreWorkersThanTasks) {
  Registry reg = make_registry();
  LocalTransport t(reg, 5);
  Master m(reg, t, FarmOptions{}, all(5, reg));
  std::vector<int> none;
  auto r0 = m.map<long>("square", none);
  EXPECT_TRUE(r0.values.empty());
  EXPECT_TRUE(r0.ok());
  EXPECT_TRUE(t.log().empty());
  std::vector<int> two{3, 4};
  auto r2 = m.map<long>("square", two);
  EXPECT_EQ(r2.values, (std::vector<long>{9, 16}));
}

TEST(Master, SubmitMixesTypesAndWaitAllDrivesThemAll) {
  Registry reg = make_registry();
  LocalTransport t(reg, 2);
  Master m(reg, t, FarmOptions{}, all(2, reg));
  long sum = 0;
  std::vector<std::string> uppers;
  int failures = 0;
  for (int i = 0; i < 100; ++i) {
    m.submit<long>("square", i, [&](Outcome<long>& o) { sum += *o.value; });
    if (i % 10 == 0) {
      m.submit<std::string>("upper", std::string(1, 's').append(std::to_string(i)),
                            [&](Outcome<std::string>& o) { uppers.push_back(*o.value); });
    }
  }
  m.submit<int>("fails_on_7", 7, [&](Outcome<int>& o) {
    EXPECT_FALSE(o.ok());
    ++failures;
  });
  auto s = m.wait_all();
  EXPECT_EQ(sum, 328350);  // sum of squares 0..99
  EXPECT_EQ(uppers.size(), 10u);
  EXPECT_EQ(failures, 1);
  EXPECT_EQ(s.completed, 110u);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_FALSE(s.ok());
}

TEST(Master, StaticScheduleMatchesDynamicResults) {
  Registry reg = make_registry();
  std::vector<int> xs(1001);
  std::iota(xs.begin(), xs.end(), 0);
  FarmOptions st;
  st.schedule = Schedule::static_;
  LocalTransport t1(reg, 3), t2(reg, 3);
  Master dyn(reg, t1, FarmOptions{}, all(3, reg));
  Master sta(reg, t2, st, all(3, reg));
  EXPECT_EQ(dyn.map<long>("square", xs).values, sta.map<long>("square", xs).values);
  // A scatter: one block per worker (max_batch is larger than each block).
  EXPECT_EQ(t2.log().size(), 3u);
}

// ---- Journal: resume after a "kill" (the journal file cut after k records) ----

namespace {

namespace fs = std::filesystem;

std::atomic<int> g_runs{0};         // task invocations of the counted types
std::atomic<bool> g_healed{false};  // "flaky_7" stops failing once healed

Registry counted_registry() {
  Registry r;
  r.add<int, long>("square_counted", [](int x) {
    ++g_runs;
    return static_cast<long>(x) * x;
  });
  r.add<int, std::string>("flaky_7", [](int x) {
    ++g_runs;
    if (x % 10 == 7 && !g_healed.load()) throw std::runtime_error("seven is unlucky: " + std::to_string(x));
    return std::string("v").append(std::to_string(x));  // not "v" + ...: GCC 12 -Wrestrict false positive
  });
  return r;
}

std::string journal_path(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("rankpool-master-journal-" + name + "-" + std::to_string(::getpid()));
  fs::remove(p);
  return p.string();
}

JournalOptions jopts(const std::string& path, bool resume, bool retry_failed = false) {
  JournalOptions o;
  o.path = path;
  o.resume = resume;
  o.retry_failed = retry_failed;
  return o;
}

// The task indices of a journal's records in file order, and the byte offset after each.
struct JournalLayout {
  std::vector<std::uint32_t> indices;
  std::vector<std::size_t> end_of;
};
JournalLayout layout(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), {}};
  JournalLayout l;
  std::size_t off = 19;  // the magic line
  bool key = true;
  while (off + 12 <= bytes.size()) {
    std::uint32_t len, index;
    std::memcpy(&len, bytes.data() + off, 4);
    if (!key) {
      std::memcpy(&index, bytes.data() + off + 13, 4);  // after length, CRC, header CRC, kind
      l.indices.push_back(index);
    }
    off += 12 + len;
    if (!key) l.end_of.push_back(off);
    key = false;
  }
  EXPECT_EQ(off, bytes.size());
  return l;
}

// What on_result saw.
template <class Out>
struct Seen {
  std::vector<std::size_t> order;
  std::map<std::size_t, bool> from_journal;
  std::map<std::size_t, int> attempts;
  std::map<std::size_t, std::string> errors;
  std::map<std::size_t, Out> values;
  MapOptions<Out> options(Journal* j, Order delivery = Order::input, bool keep = true) {
    MapOptions<Out> mo;
    mo.journal = j;
    mo.order = delivery;
    mo.keep_values = keep;
    mo.on_result = [this](Outcome<Out>& o) {
      order.push_back(o.index);
      EXPECT_TRUE(from_journal.emplace(o.index, o.from_journal).second) << "index " << o.index << " delivered twice";
      attempts[o.index] = o.attempts;
      if (o.ok())
        values[o.index] = *o.value;
      else
        errors[o.index] = o.error;
    };
    return mo;
  }
};

template <class Out>
MapOptions<Out> journaled(Journal* j) {
  MapOptions<Out> mo;
  mo.journal = j;
  return mo;
}

std::vector<std::size_t> iota_n(std::size_t n) {
  std::vector<std::size_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

}  // namespace

TEST(MasterJournal, ResumeRunsOnlyWhatTheCutJournalLacks) {
  Registry reg = counted_registry();
  std::vector<int> xs(1000);
  std::iota(xs.begin(), xs.end(), -300);
  const std::string path = journal_path("cut");
  const JournalKey key = journal_key("square_counted", std::span<const int>(xs));

  // The reference: no journal.
  LocalTransport t0(reg, 3);
  Master m0(reg, t0, FarmOptions{}, all(3, reg));
  const auto reference = m0.map<long>("square_counted", xs).values;

  // First run, journaled in full.
  g_runs = 0;
  {
    Journal j(jopts(path, false), key);
    LocalTransport t(reg, 3);
    Master m(reg, t, FarmOptions{}, all(3, reg));
    Seen<long> seen;
    auto res = m.map<long>("square_counted", xs, seen.options(&j));
    EXPECT_EQ(res.values, reference);
    EXPECT_EQ(g_runs.load(), 1000);
    EXPECT_EQ(j.appended(), 1000u);
    for (const auto& [i, fj] : seen.from_journal) EXPECT_FALSE(fj) << i;
  }
  const JournalLayout full = layout(path);
  ASSERT_EQ(full.indices.size(), 1000u);
  EXPECT_EQ(std::set<std::uint32_t>(full.indices.begin(), full.indices.end()).size(), 1000u);

  // "Killed" after k records, the next one half written.
  for (std::size_t k : {std::size_t{0}, std::size_t{1}, std::size_t{337}, std::size_t{999}}) {
    SCOPED_TRACE("journal cut after " + std::to_string(k) + " records");
    fs::copy_file(path, path + ".cut", fs::copy_options::overwrite_existing);
    fs::resize_file(path + ".cut", full.end_of[k] - 5);  // inside record k (0-based)
    const std::set<std::uint32_t> kept(full.indices.begin(), full.indices.begin() + static_cast<long>(k));

    g_runs = 0;
    Journal j(jopts(path + ".cut", true), key);
    EXPECT_GT(j.torn_bytes(), 0u);
    EXPECT_EQ(j.loaded().size(), k);
    LocalTransport t(reg, 3);
    Master m(reg, t, FarmOptions{}, all(3, reg));
    Seen<long> seen;
    auto res = m.map<long>("square_counted", xs, seen.options(&j));
    EXPECT_EQ(g_runs.load(), static_cast<int>(1000 - k)) << "only the missing tasks ran";
    EXPECT_EQ(res.values, reference);
    EXPECT_TRUE(res.ok());
    EXPECT_EQ(seen.order, iota_n(1000)) << "Order::input holds across restored and fresh results";
    for (std::size_t i = 0; i < xs.size(); ++i) EXPECT_EQ(seen.from_journal.at(i), kept.count(i) == 1) << i;
    std::uint64_t dispatched = 0;
    for (const auto& s : t.log()) dispatched += s.header.count;
    EXPECT_EQ(dispatched, 1000 - k);
    EXPECT_EQ(m.stats().tasks_resumed, k);
    EXPECT_EQ(m.stats().tasks_completed, 1000u);
    EXPECT_EQ(j.appended(), 1000 - k);
  }

  // A journal that holds everything: nothing runs at all.
  g_runs = 0;
  Journal j(jopts(path, true), key);
  LocalTransport t(reg, 2);
  Master m(reg, t, FarmOptions{}, all(2, reg));
  EXPECT_EQ(m.map<long>("square_counted", xs, journaled<long>(&j)).values, reference);
  EXPECT_EQ(g_runs.load(), 0);
  EXPECT_TRUE(t.log().empty());
  fs::remove(path);
  fs::remove(path + ".cut");
}

TEST(MasterJournal, HolesAreFilledInInputOrderAndJournaledValuesAreUsedAsTheyAre) {
  Registry reg = counted_registry();
  std::vector<int> xs(200);
  std::iota(xs.begin(), xs.end(), 0);
  const JournalKey key = journal_key("square_counted", std::span<const int>(xs));
  for (bool keep : {true, false}) {
    for (Order order : {Order::input, Order::completion}) {
      for (Schedule sched : {Schedule::dynamic, Schedule::static_}) {
        SCOPED_TRACE(std::string("keep_values=") + (keep ? "1" : "0") +
                     (order == Order::input ? " input order " : " completion order ") + to_string(sched));
        const std::string path = journal_path("holes");
        // Every third index journaled, each with a value a task would never produce: only
        // the journal can be their source. The last index (199) is not journaled: a trailing hole.
        std::set<std::size_t> journaled;
        {
          Journal j(jopts(path, false), key);
          std::string buf;
          std::uint64_t n = 0;
          for (std::uint32_t i = 0; i < xs.size(); i += 3) {
            std::string value;
            const long v = -1000 - static_cast<long>(i);
            codec::encode_range(value, &v, 1);
            Journal::encode(buf, i, true, 2, 4, 0.5f, value);
            journaled.insert(i);
            ++n;
          }
          j.commit(buf, n);
        }
        g_runs = 0;
        Journal j(jopts(path, true), key);
        FarmOptions o;
        o.schedule = sched;
        o.batch_size = 4;  // several batches per hole-free range
        LocalTransport t(reg, 3);
        Master m(reg, t, o, all(3, reg));
        Seen<long> seen;
        auto res = m.map<long>("square_counted", xs, seen.options(&j, order, keep));
        EXPECT_EQ(g_runs.load(), static_cast<int>(xs.size() - journaled.size()));
        for (const auto& s : t.log()) {
          EXPECT_LE(s.header.count, 2u) << "a batch never spans a journaled index";
        }
        if (order == Order::input) {
          EXPECT_EQ(seen.order, iota_n(xs.size()));
        } else {
          EXPECT_EQ(seen.order.size(), xs.size());
        }
        for (std::size_t i = 0; i < xs.size(); ++i) {
          const bool from = journaled.count(i) == 1;
          const long want = from ? -1000 - static_cast<long>(i) : static_cast<long>(i) * static_cast<long>(i);
          EXPECT_EQ(seen.values.at(i), want) << i;
          EXPECT_EQ(seen.from_journal.at(i), from) << i;
          EXPECT_EQ(seen.attempts.at(i), from ? 2 : 1) << i;
          if (keep) {
            EXPECT_EQ(res.values.at(i), want) << i;
          }
          EXPECT_EQ(res.rank_of(i) == 4, from) << i << ": the journaled rank is reported";
        }
        if (!keep) {
          EXPECT_TRUE(res.values.empty());
        }
        fs::remove(path);
      }
    }
  }
}

TEST(MasterJournal, FailedTasksAreReportedFromTheJournalOrRetriedOnRequest) {
  Registry reg = counted_registry();
  std::vector<int> xs(40);
  std::iota(xs.begin(), xs.end(), 0);
  const JournalKey key = journal_key("flaky_7", std::span<const int>(xs));
  const std::string path = journal_path("failed");
  FarmOptions o;
  o.max_retries = 1;
  g_healed = false;

  // First run: 7, 17, 27, 37 fail twice each.
  g_runs = 0;
  {
    Journal j(jopts(path, false), key);
    LocalTransport t(reg, 2);
    Master m(reg, t, o, all(2, reg));
    auto res = m.map<std::string>("flaky_7", xs, journaled<std::string>(&j));
    EXPECT_EQ(res.failures.size(), 4u);
    EXPECT_EQ(g_runs.load(), 44);
  }

  // Resume: everything is in the journal; the failures come back from it, without running.
  for (Order order : {Order::input, Order::completion}) {
    g_runs = 0;
    Journal j(jopts(path, true), key);
    LocalTransport t(reg, 2);
    Master m(reg, t, o, all(2, reg));
    Seen<std::string> seen;
    auto res = m.map<std::string>("flaky_7", xs, seen.options(&j, order));
    EXPECT_EQ(g_runs.load(), 0);
    EXPECT_TRUE(t.log().empty());
    ASSERT_EQ(res.failures.size(), 4u);
    for (const auto& f : res.failures) {
      EXPECT_EQ(f.index % 10, 7u);
      EXPECT_EQ(f.message, "seven is unlucky: " + std::to_string(f.index));
      EXPECT_EQ(f.attempts, 2);
    }
    EXPECT_EQ(seen.errors.size(), 4u);
    for (const auto& [i, e] : seen.errors) EXPECT_EQ(e, "seven is unlucky: " + std::to_string(i));
    for (const auto& [i, fj] : seen.from_journal) EXPECT_TRUE(fj) << i;
    EXPECT_EQ(seen.attempts.at(17), 2);
    EXPECT_EQ(res.values.at(8), "v8");
    EXPECT_EQ(m.stats().tasks_failed, 4u);
    EXPECT_EQ(m.stats().tasks_completed, 36u);
    EXPECT_EQ(m.stats().tasks_resumed, 40u);
    EXPECT_EQ(j.appended(), 0u);
  }

  // --retry-failed: only the four failures run again, and now succeed.
  g_healed = true;
  g_runs = 0;
  {
    Journal j(jopts(path, true, true), key);
    LocalTransport t(reg, 2);
    Master m(reg, t, o, all(2, reg));
    Seen<std::string> seen;
    auto res = m.map<std::string>("flaky_7", xs, seen.options(&j));
    EXPECT_EQ(g_runs.load(), 4);
    EXPECT_TRUE(res.ok());
    EXPECT_EQ(seen.order, iota_n(40));
    for (std::size_t i = 0; i < xs.size(); ++i) {
      EXPECT_EQ(res.values[i], "v" + std::to_string(i));
      EXPECT_EQ(seen.from_journal.at(i), i % 10 != 7) << i;
    }
    EXPECT_EQ(j.appended(), 4u);
  }

  // The journal now holds a success after each failure: the success wins.
  g_healed = false;
  g_runs = 0;
  Journal j(jopts(path, true), key);
  LocalTransport t(reg, 2);
  Master m(reg, t, o, all(2, reg));
  auto res = m.map<std::string>("flaky_7", xs, journaled<std::string>(&j));
  EXPECT_TRUE(res.ok());
  EXPECT_EQ(res.values[27], "v27");
  EXPECT_EQ(g_runs.load(), 0);
  fs::remove(path);
}

// Ctrl-C is not a usage error: a handler for FarmError (a bad queue, an unknown type) must
// let an interrupt through to the code that turns it into exit 128+signal.
TEST(Master, InterruptedIsNotCaughtAsAFarmError) {
  static_assert(!std::is_base_of_v<FarmError, Interrupted>);
  Registry reg = make_registry();
  LocalTransport t(reg, 2);
  std::atomic<int> signal{SIGINT};
  FarmOptions o;
  o.interrupt = &signal;
  Master m(reg, t, o, all(2, reg));
  std::vector<int> xs(100, 3);
  bool as_farm_error = false, as_interrupted = false;
  try {
    try {
      m.map<long>("square", xs);
    } catch (const FarmError&) {
      as_farm_error = true;
    }
  } catch (const Interrupted& e) {
    as_interrupted = true;
    EXPECT_EQ(e.signal, SIGINT);
    EXPECT_EQ(std::string(e.what()).rfind("interrupted by SIGINT", 0), 0u) << e.what();
  }
  EXPECT_FALSE(as_farm_error);
  EXPECT_TRUE(as_interrupted);
}

TEST(MasterJournal, JournalOfAnotherTaskListIsRefusedByMap) {
  Registry reg = counted_registry();
  std::vector<int> xs(10, 1), ys(11, 1);
  const std::string path = journal_path("other");
  Journal j(jopts(path, false), journal_key("square_counted", std::span<const int>(xs)));
  LocalTransport t(reg, 1);
  Master m(reg, t, FarmOptions{}, all(1, reg));
  try {
    m.map<long>("square_counted", ys, journaled<long>(&j));
    FAIL() << "expected FarmError";
  } catch (const FarmError& e) {
    EXPECT_EQ(std::string(e.what()), "map: journal '" + path + "' was opened for another task list");
  }
  fs::remove(path);
}

// ---- Task timeout through LocalTransport (the single-rank path) ----

namespace {

std::atomic<bool> g_gate_open{false};
std::atomic<int> g_gate_entered{0}, g_gate_left{0};

Registry stuck_registry() {
  Registry r;
  // Input 13 blocks until the test opens the gate, or for 30 s, a hang guard should no
  // timeout stop it (no capture: the registry may be gone by the time an abandoned thread
  // returns).
  r.add<int, int>("maybe_stuck", [](int x) {
    if (x == 13) {
      ++g_gate_entered;
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (!g_gate_open.load() && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      ++g_gate_left;
    }
    return x + 1;
  });
  return r;
}

}  // namespace

TEST(MasterTimeout, StuckTaskFailsAfterItsRetryAndItsBatchMatesRunAgain) {
  Registry reg = stuck_registry();
  g_gate_open = false;
  g_gate_entered = 0;
  g_gate_left = 0;
  {
    LocalTransport t(reg, 2, {}, std::chrono::milliseconds(50));
    FarmOptions o;
    o.batch_size = 8;
    o.max_retries = 1;
    Master m(reg, t, o, all(2, reg));
    std::vector<int> xs(40);
    std::iota(xs.begin(), xs.end(), 0);
    auto res = m.map<int>("maybe_stuck", xs);
    ASSERT_EQ(res.failures.size(), 1u);
    EXPECT_EQ(res.failures[0].index, 13u);
    EXPECT_EQ(res.failures[0].message, "timed out after 0.05 s (task timeout)");
    EXPECT_EQ(res.failures[0].attempts, 2);
    for (std::size_t i = 0; i < xs.size(); ++i) {
      if (i != 13) {
        EXPECT_EQ(res.values[i], xs[i] + 1) << i;
      }
    }
    const auto& st = m.stats();
    EXPECT_EQ(st.timeouts, 2u);
    EXPECT_EQ(st.requeued, 7u) << "8..15 but 13 came back unrun once";
    EXPECT_EQ(st.retries, 1u);
    EXPECT_EQ(st.tasks_failed, 1u);
    EXPECT_EQ(st.tasks_completed, 39u);
    EXPECT_EQ(g_gate_entered.load(), 2) << "one stuck thread per attempt";
    // The retry avoided the worker that timed out: each worker has one stuck attempt.
    EXPECT_EQ(t.worker_stats(0).failed, 1u);
    EXPECT_EQ(t.worker_stats(1).failed, 1u);
  }
  g_gate_open = true;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (g_gate_left.load() < g_gate_entered.load() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(g_gate_left.load(), 2);
}
