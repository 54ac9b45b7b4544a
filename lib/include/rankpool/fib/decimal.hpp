#pragma once
// Exact decimal facts about a big integer without converting it all to decimal.
//
// mpz_get_str on a number of D digits costs O(M(D) log D) and a D-byte buffer; for
// F(2*10^8) that is 41.8 million digits. The farm only needs the digit count and the
// first and last few digits, which these functions give exactly in roughly the time of
// a few multiplications of ~100-word numbers (plus one pass over the number for the
// tail). Each result is exact: the fast path brackets the answer between rigorous lower
// and upper bounds, and falls back to exact big-integer arithmetic when the bounds
// disagree.
#include <gmp.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace rankpool::fib {

struct DecimalOptions {
  // Bits kept beyond what the requested digits need. The bounds are within ~2^-guard
  // of each other, so the exact fallback runs only when the number sits that close to
  // a digit boundary; tests lower this to force the fallback.
  std::size_t guard_bits = 128;
};

// Counts how often the exact fallback ran; tests use it to prove both paths are covered.
struct DecimalStats {
  std::size_t fast = 0;      // answers settled by the bounds alone
  std::size_t fallback = 0;  // answers that needed exact big-integer arithmetic
};

/// Number of decimal digits of |x|; 1 for zero. Exact, unlike mpz_sizeinbase(x, 10),
/// which may be one too large.
std::uint64_t decimal_digits(mpz_srcptr x, const DecimalOptions& options = {}, DecimalStats* stats = nullptr);

/// The first min(k, digits) decimal digits of |x|. `digits` must be decimal_digits(x).
std::string leading_digits(mpz_srcptr x, std::uint64_t digits, std::size_t k, const DecimalOptions& options = {},
                           DecimalStats* stats = nullptr);

/// The last min(k, digits) decimal digits of |x|, zero-padded (…00123 stays 00123).
/// `digits` must be decimal_digits(x).
std::string trailing_digits(mpz_srcptr x, std::uint64_t digits, std::size_t k);

}  // namespace rankpool::fib
