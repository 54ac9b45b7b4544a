#include "rankpool/fib/fib.hpp"

#include <ostream>
#include <stdexcept>

#include "mpz.hpp"
#include "rankpool/fib/decimal.hpp"
#include "rankpool/fib/inputs.hpp"

namespace rankpool::fib {

void fib_mpz(mpz_ptr out, std::uint64_t n) {
  static_assert(sizeof(unsigned long) >= sizeof(std::uint64_t), "mpz_fib_ui takes unsigned long");
  // GMP's own algorithm (a table for small n, then fast doubling on Lucas numbers) is
  // faster than a hand-written doubling loop and is what both apps must share.
  mpz_fib_ui(out, static_cast<unsigned long>(n));
}

FibRecord compute(std::uint64_t n, const FibOptions& options) {
  if (options.mod) {
    if (Status s = check_modulus(*options.mod); !s)
      throw std::invalid_argument("rankpool::fib::compute: " + s.message());
  }
  detail::Mpz x;
  fib_mpz(x, n);

  FibRecord record;
  record.n = n;
  const std::size_t k = options.edge_digits;
  if (options.full) {
    // The caller pays for the full conversion anyway; the edges are then substrings.
    std::string text = detail::to_decimal(x);
    record.digits = text.size();
    record.head = text.substr(0, k);
    record.tail = text.size() <= k ? text : text.substr(text.size() - k);
    record.value = std::move(text);
  } else {
    record.digits = decimal_digits(x);
    record.head = leading_digits(x, record.digits, k);
    record.tail = trailing_digits(x, record.digits, k);
  }
  if (options.mod) {
    detail::Mpz m;
    mpz_set_str(m, options.mod->c_str(), 10);  // validated above: digits only, >= 1
    mpz_mod(x, x, m);
    record.mod = detail::to_decimal(x);
  }
  return record;
}

std::ostream& operator<<(std::ostream& os, const FibRecord& r) {
  os << "FibRecord{n=" << r.n << ", digits=" << r.digits << ", head=" << r.head << ", tail=" << r.tail;
  if (r.value) {
    // Whole values can be millions of digits; a failing test needs only a hint.
    if (r.value->size() <= 60) {
      os << ", value=" << *r.value;
    } else {
      os << ", value=" << r.value->substr(0, 20) << "...(" << r.value->size() << " chars)";
    }
  }
  if (r.mod) os << ", mod=" << *r.mod;
  return os << ", rank=" << r.rank << ", seconds=" << r.seconds << "}";
}

}  // namespace rankpool::fib
