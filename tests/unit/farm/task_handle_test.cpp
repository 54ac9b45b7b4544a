// Typed task handles: Registry::add deduces Task<In, Out> from the callable, and the master's
// map()/submit() accept a handle with no repeated types — and reject, at compile time, inputs
// and callbacks of the wrong type.
#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "farm/local_transport.hpp"
#include "rankpool/farm/master.hpp"

using namespace rankpool::farm;

namespace {

long cube(int x) { return static_cast<long>(x) * x * x; }

std::vector<std::vector<bool>> all(int w, const Registry& r) {
  return std::vector<std::vector<bool>>(w, std::vector<bool>(r.size(), true));
}

// Compile-time checks, as concepts: what map() and submit() accept for a given handle.
template <class T, class V>
concept can_map = requires(Master& m, const T& task, const V& inputs) {
  m.map(task, inputs);
};
template <class T, class V, class F>
concept can_submit = requires(Master& m, const T& task, V input, F f) {
  m.submit(task, input, f);
};
template <class F>
concept can_register = requires(Registry& r, F f) {
  r.add("x", f);
};

using Square = Task<int, long>;
static_assert(can_map<Square, std::vector<int>>);
static_assert(!can_map<Square, std::vector<std::string>>, "inputs of another type are a compile error");
static_assert(can_submit<Square, int, void (*)(Outcome<long>&)>);
static_assert(!can_submit<Square, std::string, void (*)(Outcome<long>&)>);
static_assert(!can_submit<Square, int, void (*)(Outcome<std::string>&)>, "callback of the wrong type");
auto generic = [](auto x) { return x; };
static_assert(!can_register<decltype(generic)>, "a generic lambda needs add<In, Out>(...)");
static_assert(!can_register<int>);

}  // namespace

TEST(TaskHandle, AddDeducesTypesFromLambdasAndFunctions) {
  Registry reg;
  const auto square = reg.add("square", [](int x) { return static_cast<long>(x) * x; });
  const auto upper = reg.add("upper", [](const std::string& s) {
    std::string u = s;
    for (auto& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return u;
  });
  const auto cubes = reg.add("cube", &cube);
  static_assert(std::is_same_v<std::remove_cvref_t<decltype(square)>, Task<int, long>>);
  static_assert(std::is_same_v<std::remove_cvref_t<decltype(upper)>, Task<std::string, std::string>>);
  static_assert(std::is_same_v<std::remove_cvref_t<decltype(cubes)>, Task<int, long>>);
  EXPECT_EQ(square.name(), "square");
  EXPECT_EQ(square.index(), 0);
  EXPECT_EQ(upper.index(), 1);
  EXPECT_EQ(cubes.index(), 2);

  LocalTransport t(reg, 2);
  Master m(reg, t, FarmOptions{}, all(2, reg));
  std::vector<int> xs(1000);
  std::iota(xs.begin(), xs.end(), -500);
  const MapResult<long> sq = m.map(square, xs);
  ASSERT_TRUE(sq.ok());
  for (std::size_t i = 0; i < xs.size(); ++i) EXPECT_EQ(sq.values[i], static_cast<long>(xs[i]) * xs[i]);
  const MapResult<long> cu = m.map(cubes, std::span<const int>(xs).first(10));
  ASSERT_EQ(cu.values.size(), 10u);
  EXPECT_EQ(cu.values[0], -125000000L);
  const auto up = m.map(upper, std::vector<std::string>{"abc", ""});
  EXPECT_EQ(up.values, (std::vector<std::string>{"ABC", ""}));
}

TEST(TaskHandle, SubmitWithHandleDeliversTypedOutcomes) {
  Registry reg;
  const auto square = reg.add("square", [](int x) { return static_cast<long>(x) * x; });
  LocalTransport t(reg, 3);
  Master m(reg, t, FarmOptions{}, all(3, reg));
  long sum = 0;
  for (int i = 1; i <= 100; ++i) m.submit(square, i, [&](Outcome<long>& o) { sum += *o.value; });
  const WaitSummary s = m.wait_all();
  EXPECT_EQ(s.completed, 100u);
  EXPECT_EQ(sum, 338350L);
}

TEST(TaskHandle, ExplicitTypesStillWorkAndNamesStillResolve) {
  Registry reg;
  const Task<std::string, std::size_t> length =
      reg.add<std::string, std::size_t>("length", [](const std::string& s) { return s.size(); });
  LocalTransport t(reg, 1);
  Master m(reg, t, FarmOptions{}, all(1, reg));
  EXPECT_EQ(m.map(length, std::vector<std::string>{"four"}).values.front(), 4u);
  // The name is what travels: the by-name call reaches the same type.
  EXPECT_EQ(m.map<std::size_t>("length", std::vector<std::string>{"seven!!"}).values.front(), 7u);
}

TEST(TaskHandle, HandlesFromAnotherRegistryOrUnregisteredAreRefused) {
  Registry reg, other;
  reg.add("square", [](int x) { return static_cast<long>(x) * x; });
  const auto foreign = other.add("cube", &cube);
  LocalTransport t(reg, 1);
  Master m(reg, t, FarmOptions{}, all(1, reg));
  const std::vector<int> xs{1, 2};
  try {
    m.map(foreign, xs);
    FAIL() << "a handle of another registry was accepted";
  } catch (const FarmError& e) {
    EXPECT_NE(std::string(e.what()).find("another registry"), std::string::npos) << e.what();
  }
  const Task<int, long> unset;
  EXPECT_FALSE(unset.registered());
  EXPECT_THROW(m.map(unset, xs), FarmError);
}
