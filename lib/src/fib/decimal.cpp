#include "rankpool/fib/decimal.hpp"

#include <cstdlib>
#include <stdexcept>

#include "mpz.hpp"

// How the fast path stays exact.
//
// For a quotient Q = floor(|x| / 10^e) we never form 10^e or |x| in decimal. Instead:
//  * |x| is bracketed by its top P bits t:   t*2^s <= |x| <= (t+1)*2^s   (exact if s = 0);
//  * 5^e is bracketed by a P-bit mantissa m computed with truncating multiplications:
//    m*2^E <= 5^e <= m_hi*2^E, where m_hi adds a proven bound on the accumulated error;
//  * so 10^e = 5^e * 2^e is bracketed too, and Q lies in [q_lo, q_hi] computed from
//    P-bit numbers only. When q_lo == q_hi that is Q; otherwise |x|/10^e is within
//    ~2^-guard of an integer and we compute Q exactly with GMP.
// The same bracket decides the digit count: |x| has c+1 digits iff floor(|x|/10^c) >= 1.

namespace rankpool::fib {
namespace {

using detail::Mpz;

// log2(10) < 3.33; bits needed to hold k decimal digits, rounded up generously.
std::size_t bits_for_digits(std::size_t k) { return k * 10 / 3 + 2; }

// Truncating powers: 128 truncations at most (two per bit of a 64-bit e), each raising
// the running relative error to at most the power e on the way to 5^e. With e < 2^40
// the total relative error is below 128 * 2^40 * 2^(1-P) = 2^(48-P), so
// 5^e <= m * (1 + 2^(49-P)) <= m + (m >> (P-49)) + 1. kErrorBits leaves a margin.
constexpr std::size_t kErrorBits = 52;
constexpr std::uint64_t kMaxExponent = std::uint64_t{1} << 40;

struct Bracket {
  Mpz lo;  // lower bound mantissa
  Mpz hi;  // upper bound mantissa (equal to lo when exact)
  std::int64_t exp = 0;
};

void truncate_to(Mpz& m, std::int64_t& exp, bool& inexact, std::size_t bits) {
  const std::size_t len = mpz_sizeinbase(m, 2);
  if (len <= bits) return;
  const std::size_t drop = len - bits;
  if (mpz_scan1(m, 0) < drop) inexact = true;  // a set bit is about to be dropped
  mpz_tdiv_q_2exp(m, m, drop);
  exp += static_cast<std::int64_t>(drop);
}

// 5^e in [lo*2^exp, hi*2^exp], lo with at most `bits` bits.
void pow5_bracket(std::uint64_t e, std::size_t bits, Bracket& out) {
  if (e >= kMaxExponent) throw std::length_error("rankpool::fib: decimal exponent too large");
  mpz_set_ui(out.lo, 1);
  out.exp = 0;
  bool inexact = false;
  for (int bit = 63; bit >= 0; --bit) {
    mpz_mul(out.lo, out.lo, out.lo);
    out.exp *= 2;
    truncate_to(out.lo, out.exp, inexact, bits);
    if ((e >> bit) & 1U) {
      mpz_mul_ui(out.lo, out.lo, 5);
      truncate_to(out.lo, out.exp, inexact, bits);
    }
  }
  mpz_set(out.hi, out.lo);
  if (inexact) {
    Mpz slack;
    mpz_tdiv_q_2exp(slack, out.lo, bits - kErrorBits);
    mpz_add(out.hi, out.hi, slack);
    mpz_add_ui(out.hi, out.hi, 1);
  }
}

// |x| in [lo*2^exp, hi*2^exp] from its top `bits` bits. Shifts straight out of x so a
// 40-million-digit F(n) is never copied whole.
void top_bits_bracket(mpz_srcptr x, std::size_t bits, Bracket& out) {
  const std::size_t len = mpz_sizeinbase(x, 2);
  if (len <= bits) {
    mpz_abs(out.lo, x);
    out.exp = 0;
  } else {
    mpz_tdiv_q_2exp(out.lo, x, len - bits);  // truncates toward zero, so |.| is floor
    mpz_abs(out.lo, out.lo);
    out.exp = static_cast<std::int64_t>(len - bits);
  }
  mpz_set(out.hi, out.lo);
  if (out.exp > 0) mpz_add_ui(out.hi, out.hi, 1);  // some low bits were dropped
}

// out = floor(a * 2^shift / b) for a >= 0, b > 0, without building huge intermediates
// when the quotient is plainly zero.
void floor_scaled(mpz_ptr out, mpz_srcptr a, std::int64_t shift, mpz_srcptr b) {
  if (shift >= 0) {
    Mpz num;
    mpz_mul_2exp(num, a, static_cast<mp_bitcnt_t>(shift));
    mpz_fdiv_q(out, num, b);
    return;
  }
  // a * 2^shift < 1 <= b once -shift >= bits(a): quotient 0.
  if (static_cast<std::uint64_t>(-shift) >= mpz_sizeinbase(a, 2)) {
    mpz_set_ui(out, 0);
    return;
  }
  Mpz den;
  mpz_mul_2exp(den, b, static_cast<mp_bitcnt_t>(-shift));
  mpz_fdiv_q(out, a, den);
}

// Q = floor(|x| / 10^e) into `out`; fast when `quotient_digits` (an upper estimate of Q's
// length) plus the guard fit the bracket precision.
void quotient_by_pow10(mpz_ptr out, mpz_srcptr x, std::uint64_t e, std::size_t quotient_digits,
                       const DecimalOptions& options, DecimalStats* stats) {
  const std::size_t bits = bits_for_digits(quotient_digits) + options.guard_bits + kErrorBits + 2;
  Bracket xb;
  Bracket pb;
  top_bits_bracket(x, bits, xb);
  pow5_bracket(e, bits, pb);
  // 10^e = 5^e * 2^e, so |x| / 10^e in [xlo*2^(xe-pe-e) / phi, xhi*2^(xe-pe-e) / plo].
  const std::int64_t shift = xb.exp - pb.exp - static_cast<std::int64_t>(e);
  Mpz q_lo;
  Mpz q_hi;
  floor_scaled(q_lo, xb.lo, shift, pb.hi);
  floor_scaled(q_hi, xb.hi, shift, pb.lo);
  if (mpz_cmp(q_lo, q_hi) == 0) {
    mpz_set(out, q_lo);
    if (stats) ++stats->fast;
    return;
  }
  // Within ~2^-guard of an integer (e.g. |x| ends in e zeros): settle it exactly.
  Mpz p;
  mpz_ui_pow_ui(p, 10, e);
  mpz_abs(out, x);
  mpz_tdiv_q(out, out, p);
  if (stats) ++stats->fallback;
}

// 5^27 < 2^64 <= 5^28: up to 27 trailing digits, |x| mod 5^k is one limb.
constexpr std::size_t kMaxOneLimbPow5 = 27;

// out = |x| mod 10^k for k <= 27 by the Chinese remainder theorem: |x| mod 5^k from
// mpz_tdiv_ui (a remainder-only pass over |x|, no quotient written) and |x| mod 2^k
// from the low bits. Measured on F(5*10^7): 0.5 ms, against 63 ms for mpz_tdiv_r by 10^20.
void residue_mod_pow10(mpz_ptr out, mpz_srcptr x, std::size_t k) {
  static_assert(sizeof(unsigned long) == 8, "5^27 needs a 64-bit limb");
  unsigned long p5 = 1;
  for (std::size_t i = 0; i < k; ++i) p5 *= 5;
  const unsigned long r5 = mpz_tdiv_ui(x, p5);  // |x| mod 5^k
  Mpz r2;
  mpz_tdiv_r_2exp(r2, x, k);  // sign of x, magnitude |x| mod 2^k
  mpz_abs(r2, r2);
  // out = r5 + 5^k * t, with t = (r2 - r5) * (5^k)^-1 mod 2^k.
  Mpz m2;
  Mpz m5(p5);
  Mpz t;
  mpz_setbit(m2, k);  // 2^k
  mpz_invert(t, m5, m2);
  Mpz diff;
  mpz_sub_ui(diff, r2, r5);
  mpz_mul(t, t, diff);
  mpz_fdiv_r_2exp(t, t, k);  // non-negative residue
  mpz_mul_ui(out, t, p5);
  mpz_add_ui(out, out, r5);
}

}  // namespace

std::uint64_t decimal_digits(mpz_srcptr x, const DecimalOptions& options, DecimalStats* stats) {
  // mpz_sizeinbase(x, 10) is exact or one too large; the question is only whether
  // |x| >= 10^(d0-1).
  const std::uint64_t d0 = mpz_sizeinbase(x, 10);
  if (d0 <= 1) return 1;
  Mpz q;
  // floor(|x| / 10^(d0-1)) is 0 or a single digit.
  quotient_by_pow10(q, x, d0 - 1, 2, options, stats);
  return mpz_sgn(q.get()) == 0 ? d0 - 1 : d0;
}

std::string leading_digits(mpz_srcptr x, std::uint64_t digits, std::size_t k, const DecimalOptions& options,
                           DecimalStats* stats) {
  if (k == 0) return {};
  Mpz q;
  if (digits <= k) {
    mpz_abs(q, x);
  } else {
    quotient_by_pow10(q, x, digits - k, k, options, stats);
  }
  std::string result = detail::to_decimal(q);
  if (digits > k && result.size() != k) {
    throw std::logic_error("rankpool::fib::leading_digits: digits does not match x");
  }
  return result;
}

std::string trailing_digits(mpz_srcptr x, std::uint64_t digits, std::size_t k) {
  if (k == 0) return {};
  Mpz r;
  const bool whole = digits <= k;
  if (whole || k > kMaxOneLimbPow5) mpz_abs(r, x);
  if (!whole && k <= kMaxOneLimbPow5) {
    residue_mod_pow10(r, x, k);
  } else if (!whole) {
    Mpz p;
    mpz_ui_pow_ui(p, 10, k);
    mpz_tdiv_r(r, r, p);  // one linear pass over |x|, but it also writes the quotient
  }
  std::string digits_text = detail::to_decimal(r);
  if (whole) return digits_text;
  return std::string(k - digits_text.size(), '0') + digits_text;  // keep the zeros of …00123
}

}  // namespace rankpool::fib
