// The master end to end in one process: LocalTransport runs the workers in-process.
#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <set>

#include "rankpool/farm/local_transport.hpp"
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
