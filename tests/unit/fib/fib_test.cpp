// Exactness of fib::compute and the decimal helpers, checked against full decimal
// conversion (mpz_get_str) and, for small n, against plain 128-bit iteration.
#include "rankpool/fib/fib.hpp"

#include <gtest/gtest.h>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/archive/text_iarchive.hpp>
#include <boost/archive/text_oarchive.hpp>
#include <cstring>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "rankpool/fib/decimal.hpp"

namespace fib = rankpool::fib;

namespace {

__extension__ typedef unsigned __int128 u128;  // GCC/Clang extension; -Wpedantic knows

class Z {
 public:
  Z() { mpz_init(v_); }
  Z(const Z&) = delete;
  Z& operator=(const Z&) = delete;
  ~Z() { mpz_clear(v_); }
  mpz_ptr get() { return v_; }

 private:
  mpz_t v_;
};

// The reference: every digit, straight from GMP.
std::string full_decimal(mpz_srcptr x) {
  char* text = mpz_get_str(nullptr, 10, x);
  std::string s(text);
  void (*free_fn)(void*, std::size_t);
  mp_get_memory_functions(nullptr, nullptr, &free_fn);
  free_fn(text, s.size() + 1);
  return s;
}

std::string fib_decimal(std::uint64_t n) {
  Z x;
  fib::fib_mpz(x.get(), n);
  return full_decimal(x.get());
}

std::string u128_to_string(u128 v) {
  if (v == 0) return "0";
  std::string s;
  while (v > 0) {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return s;
}

// What compute() must return, derived from the full decimal string.
void expect_matches_reference(std::uint64_t n, std::size_t k = 20) {
  const std::string full = fib_decimal(n);
  fib::FibOptions options;
  options.edge_digits = k;
  const fib::FibRecord r = fib::compute(n, options);
  ASSERT_EQ(r.n, n);
  EXPECT_EQ(r.digits, full.size()) << "n=" << n;
  EXPECT_EQ(r.head, full.substr(0, k)) << "n=" << n;
  EXPECT_EQ(r.tail, full.size() <= k ? full : full.substr(full.size() - k)) << "n=" << n;
  EXPECT_FALSE(r.value.has_value());
  EXPECT_FALSE(r.mod.has_value());
}

// n where F(n) has one more digit than F(n-1), found from full conversions.
std::vector<std::uint64_t> digit_increments(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> out;
  std::size_t previous = fib_decimal(from == 0 ? 0 : from - 1).size();
  for (std::uint64_t n = from; n <= to; ++n) {
    const std::size_t d = fib_decimal(n).size();
    if (d > previous) out.push_back(n);
    previous = d;
  }
  return out;
}

}  // namespace

TEST(FibKnownValues, SmallOnes) {
  EXPECT_EQ(fib_decimal(0), "0");
  EXPECT_EQ(fib_decimal(1), "1");
  EXPECT_EQ(fib_decimal(2), "1");
  EXPECT_EQ(fib_decimal(93), "12200160415121876738");
  EXPECT_EQ(fib_decimal(100), "354224848179261915075");
  const fib::FibRecord r100 = fib::compute(100);
  EXPECT_EQ(r100.digits, 21u);
  EXPECT_EQ(r100.head, "35422484817926191507");
  EXPECT_EQ(r100.tail, "54224848179261915075");
}

TEST(FibKnownValues, AgreesWith128BitIterationUpTo186) {
  u128 a = 0;  // F(n)
  u128 b = 1;  // F(n+1)
  for (std::uint64_t n = 0; n <= 186; ++n) {
    const std::string expected = u128_to_string(a);
    EXPECT_EQ(fib_decimal(n), expected) << "n=" << n;
    const fib::FibRecord r = fib::compute(n);
    EXPECT_EQ(r.digits, expected.size()) << "n=" << n;
    if (n < 186) {  // F(187) would overflow 128 bits
      const u128 next = a + b;
      a = b;
      b = next;
    }
  }
}

TEST(FibKnownValues, DigitCountOfF1e6) {
  const fib::FibRecord r = fib::compute(1'000'000);
  EXPECT_EQ(r.digits, 208988u);
}

TEST(FibEdges, EveryNUpTo300) {
  for (std::uint64_t n = 0; n <= 300; ++n) expect_matches_reference(n);
}

TEST(FibEdges, EveryDigitIncrementUpTo6000AndNeighbours) {
  const auto increments = digit_increments(1, 6000);
  ASSERT_GT(increments.size(), 1200u);  // ~ 6000 * log10(phi)
  for (const std::uint64_t n : increments) {
    expect_matches_reference(n - 1);
    expect_matches_reference(n);
    expect_matches_reference(n + 1);
  }
}

TEST(FibEdges, DigitIncrementsInHigherBands) {
  for (const auto& [from, to] :
       std::vector<std::pair<std::uint64_t, std::uint64_t>>{{20'000, 20'300}, {99'900, 100'100}}) {
    const auto increments = digit_increments(from, to);
    ASSERT_FALSE(increments.empty());
    for (const std::uint64_t n : increments) {
      expect_matches_reference(n - 1);
      expect_matches_reference(n);
    }
  }
}

TEST(FibEdges, NearPowersOfTenAndLarge) {
  for (const std::uint64_t base : {10ULL, 100ULL, 1'000ULL, 10'000ULL, 100'000ULL, 1'000'000ULL}) {
    for (std::uint64_t n = base - 2; n <= base + 3; ++n) expect_matches_reference(n);
  }
  expect_matches_reference(1'000'000 + 17);
}

TEST(FibEdges, RandomNUpTo300k) {
  std::mt19937_64 rng(20261125);
  std::uniform_int_distribution<std::uint64_t> pick(300, 300'000);
  for (int i = 0; i < 150; ++i) expect_matches_reference(pick(rng));
}

TEST(FibEdges, OtherEdgeWidths) {
  // 27 is the widest tail that uses the one-limb CRT path; 28 and up divide by 10^k.
  for (const std::size_t k : {0u, 1u, 5u, 27u, 28u, 37u, 200u}) {
    for (const std::uint64_t n : {0ULL, 7ULL, 96ULL, 300ULL, 1001ULL, 54321ULL}) expect_matches_reference(n, k);
  }
}

// mpz_sizeinbase(x, 10) may be one too large: show our inputs include such cases, so the
// tests above really exercise the correction.
TEST(FibEdges, SizeinbaseOvershootIsCovered) {
  int overshoots = 0;
  Z x;
  for (std::uint64_t n = 1; n <= 6000; ++n) {
    fib::fib_mpz(x.get(), n);
    const std::size_t exact = full_decimal(x.get()).size();
    if (mpz_sizeinbase(x.get(), 10) != exact) {
      ++overshoots;
      EXPECT_EQ(fib::compute(n).digits, exact);
    }
  }
  EXPECT_GT(overshoots, 0);
}

TEST(Decimal, PowersOfTenAndNeighbours) {
  Z x;
  fib::DecimalStats stats;
  for (unsigned long k = 1; k <= 400; ++k) {
    for (const int delta : {-1, 0, 1}) {
      mpz_ui_pow_ui(x.get(), 10, k);
      if (delta < 0) mpz_sub_ui(x.get(), x.get(), 1);
      if (delta > 0) mpz_add_ui(x.get(), x.get(), 1);
      for (const int sign : {1, -1}) {
        if (sign < 0) mpz_neg(x.get(), x.get());
        Z a;
        mpz_abs(a.get(), x.get());
        const std::string full = full_decimal(a.get());
        const std::uint64_t d = fib::decimal_digits(x.get(), {}, &stats);
        ASSERT_EQ(d, full.size()) << "10^" << k << (delta < 0 ? "-1" : delta > 0 ? "+1" : "");
        EXPECT_EQ(fib::leading_digits(x.get(), d, 20, {}, &stats), full.substr(0, 20));
        EXPECT_EQ(fib::trailing_digits(x.get(), d, 20), full.size() <= 20 ? full : full.substr(full.size() - 20));
        if (sign < 0) mpz_neg(x.get(), x.get());
      }
    }
  }
  // 10^k itself sits exactly on the boundary the bounds cannot split: the exact
  // fallback must have run, and given the right answer above.
  EXPECT_GT(stats.fallback, 0u);
  EXPECT_GT(stats.fast, 0u);
}

TEST(Decimal, ZeroGuardBitsForcesFallbackAndStaysExact) {
  fib::DecimalOptions weak;
  weak.guard_bits = 0;
  fib::DecimalStats stats;
  Z x;
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::uint64_t> pick(50, 60'000);
  for (int i = 0; i < 400; ++i) {
    const std::uint64_t n = pick(rng);
    fib::fib_mpz(x.get(), n);
    const std::string full = full_decimal(x.get());
    const std::uint64_t d = fib::decimal_digits(x.get(), weak, &stats);
    ASSERT_EQ(d, full.size()) << "n=" << n;
    EXPECT_EQ(fib::leading_digits(x.get(), d, 20, weak, &stats), full.substr(0, 20)) << "n=" << n;
  }
  EXPECT_GT(stats.fallback, 0u);
  EXPECT_GT(stats.fast, 0u);
}

TEST(Decimal, DefaultGuardNeverFallsBackOnFibonacciNumbers) {
  // The fast path must actually settle ordinary inputs; a bracket that is too loose
  // would still be correct but would silently pay for exact division every time.
  fib::DecimalStats stats;
  Z x;
  for (std::uint64_t n = 100; n <= 40'000; n += 397) {
    fib::fib_mpz(x.get(), n);
    const std::uint64_t d = fib::decimal_digits(x.get(), {}, &stats);
    fib::leading_digits(x.get(), d, 20, {}, &stats);
  }
  EXPECT_EQ(stats.fallback, 0u);
  EXPECT_GT(stats.fast, 0u);
}

TEST(FibFull, ValueIsEveryDigitAndEdgesAgree) {
  for (const std::uint64_t n : {0ULL, 1ULL, 50ULL, 93ULL, 94ULL, 1000ULL, 12345ULL}) {
    fib::FibOptions options;
    options.full = true;
    const fib::FibRecord full = fib::compute(n, options);
    ASSERT_TRUE(full.value.has_value());
    EXPECT_EQ(*full.value, fib_decimal(n));
    const fib::FibRecord fast = fib::compute(n);
    EXPECT_EQ(full.digits, fast.digits);
    EXPECT_EQ(full.head, fast.head);
    EXPECT_EQ(full.tail, fast.tail);
  }
}

TEST(FibMod, AgreesWithModularIteration) {
  for (const std::uint64_t m : {2ULL, 7ULL, 1'000'000'007ULL, 4'611'686'018'427'387'847ULL}) {
    fib::FibOptions options;
    options.mod = std::to_string(m);
    std::uint64_t a = 0;
    std::uint64_t b = 1 % m;
    for (std::uint64_t n = 0; n <= 2000; ++n) {
      if (n % 37 == 0 || n < 20) {
        const fib::FibRecord r = fib::compute(n, options);
        ASSERT_TRUE(r.mod.has_value());
        EXPECT_EQ(*r.mod, std::to_string(a)) << "n=" << n << " m=" << m;
      }
      const std::uint64_t next = static_cast<std::uint64_t>((static_cast<u128>(a) + b) % m);
      a = b;
      b = next;
    }
  }
}

TEST(FibMod, EdgeModuli) {
  fib::FibOptions options;
  options.mod = "1";
  EXPECT_EQ(fib::compute(1000, options).mod, "0");
  options.mod = "0010";  // leading zeros are still ten
  EXPECT_EQ(fib::compute(1000, options).mod, "5");
  // A modulus above F(n) leaves the value itself.
  options.mod = "1" + std::string(300, '0');
  EXPECT_EQ(fib::compute(1000, options).mod, fib_decimal(1000));
  // Mod 10^20 is the tail without its leading zeros (checks the two paths agree).
  options.mod = "1" + std::string(20, '0');
  for (std::uint64_t n = 100; n < 3000; n += 7) {
    const fib::FibRecord r = fib::compute(n, options);
    const std::size_t first = r.tail.find_first_not_of('0');
    EXPECT_EQ(*r.mod, first == std::string::npos ? "0" : r.tail.substr(first)) << "n=" << n;
  }
}

TEST(FibMod, MalformedModulusIsABrokenInvariant) {
  for (const char* bad : {"", "0", "-3", "abc", "1e9", "12 "}) {
    fib::FibOptions options;
    options.mod = bad;
    EXPECT_THROW(fib::compute(5, options), std::invalid_argument) << "'" << bad << "'";
  }
}

namespace {

template <class OArchive, class IArchive>
fib::FibRecord round_trip(const fib::FibRecord& in) {
  std::stringstream buffer;
  {
    OArchive out(buffer);
    out << in;
  }
  fib::FibRecord back;
  IArchive input(buffer);
  input >> back;
  return back;
}

}  // namespace

TEST(FibRecordSerialization, RoundTripsThroughBoostArchives) {
  fib::FibOptions options;
  options.full = true;
  options.mod = "97";
  fib::FibRecord with_all = fib::compute(777, options);
  with_all.rank = 3;
  with_all.seconds = 0.000123456789;
  fib::FibRecord plain = fib::compute(10);
  plain.rank = 1;
  plain.seconds = 2.5;
  for (const fib::FibRecord& r : {with_all, plain}) {
    EXPECT_EQ((round_trip<boost::archive::binary_oarchive, boost::archive::binary_iarchive>(r)), r);
    EXPECT_EQ((round_trip<boost::archive::text_oarchive, boost::archive::text_iarchive>(r)), r);
  }
  fib::FibRecord other = plain;
  other.mod = "1";
  EXPECT_NE(other, plain);
}

TEST(FibRecordPrinting, NamesTheFieldsAndAbbreviatesLongValues) {
  fib::FibOptions options;
  options.full = true;
  std::ostringstream os;
  os << fib::compute(1000, options);
  const std::string text = os.str();
  EXPECT_NE(text.find("n=1000"), std::string::npos);
  EXPECT_NE(text.find("digits=209"), std::string::npos);
  EXPECT_NE(text.find("(209 chars)"), std::string::npos);
  EXPECT_LT(text.size(), 200u);
}
