#pragma once
// Exact Fibonacci numbers with GMP, reduced to a compact record that travels between
// ranks. Pure functions and plain types: no MPI here (the farm layer moves the records).
#include <gmp.h>

#include <boost/serialization/string.hpp>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace rankpool::fib {

// Largest n the apps accept by default. Measured on this machine with rankpool-fib-seq:
// F(2*10^8) (41.8 million digits) takes 1.8 s and 88 MB peak RSS, 13 s and 184 MB with
// --full; F(10^9) takes 10 s and 428 MB without --full, and its decimal conversion
// would need minutes and ~1 GB. 2*10^8 keeps a 4-rank job on a laptop under 1 GB even
// with --full, and each task short enough for the farm to balance.
inline constexpr std::uint64_t kDefaultMaxN = 200'000'000;

struct FibOptions {
  bool full = false;               // also return every decimal digit (costs a full conversion)
  std::optional<std::string> mod;  // decimal modulus M >= 1; adds F(n) mod M. Validate it
                                   // first with parse_modulus (inputs.hpp): compute throws
                                   // std::invalid_argument on a malformed one.
  std::size_t edge_digits = 20;    // digits in head and tail; the spec's table shows 20
};

/// One computed F(n). `rank` and `seconds` are filled in by whoever ran compute().
struct FibRecord {
  std::uint64_t n = 0;
  std::uint64_t digits = 0;          // exact number of decimal digits of F(n) (1 for F(0))
  std::string head;                  // first edge_digits digits; the whole value when shorter
  std::string tail;                  // last edge_digits digits, zero-padded; whole value when shorter
  std::optional<std::string> value;  // all digits, only with FibOptions::full
  std::optional<std::string> mod;    // F(n) mod M in decimal, only with FibOptions::mod
  int rank = 0;                      // rank that computed it
  double seconds = 0;                // wall time of compute() on that rank

  // clang-format would print Boost's `ar & x` idiom as `ar& x`.
  // clang-format off
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar & n & digits & head & tail;
    serialize_optional(ar, value);
    serialize_optional(ar, mod);
    ar & rank & seconds;
  }
  // clang-format on

  friend bool operator==(const FibRecord&, const FibRecord&) = default;

 private:
  // Boost 1.81's serialization/optional.hpp covers boost::optional only (std::optional
  // support arrived in 1.84), so the flag and the string travel explicitly.
  // clang-format off
  template <class Archive>
  static void serialize_optional(Archive& ar, std::optional<std::string>& field) {
    bool present = field.has_value();
    ar & present;
    if constexpr (Archive::is_loading::value) {
      field.reset();
      if (present) ar & field.emplace();
    } else if (present) {
      ar & *field;
    }
  }
  // clang-format on
};

/// Prints a one-line summary for test failure messages (a long value is abbreviated).
std::ostream& operator<<(std::ostream& os, const FibRecord& record);

/// out = F(n). The single GMP entry point used by both the MPI app and the sequential
/// baseline, so the benchmark compares the same arithmetic.
void fib_mpz(mpz_ptr out, std::uint64_t n);

/// F(n) reduced to a record (rank 0, seconds 0). Head, tail and digit count are exact
/// and do not convert the number to decimal unless options.full asks for it.
FibRecord compute(std::uint64_t n, const FibOptions& options = {});

}  // namespace rankpool::fib
