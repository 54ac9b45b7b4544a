#pragma once
// Internal: an owning mpz_t, so early returns and exceptions cannot leak GMP limbs.
#include <gmp.h>

#include <cstring>
#include <string>

namespace rankpool::fib::detail {

class Mpz {
 public:
  Mpz() { mpz_init(value_); }
  explicit Mpz(unsigned long v) { mpz_init_set_ui(value_, v); }
  Mpz(const Mpz&) = delete;
  Mpz& operator=(const Mpz&) = delete;
  ~Mpz() { mpz_clear(value_); }

  mpz_ptr get() { return value_; }
  mpz_srcptr get() const { return value_; }
  operator mpz_ptr() { return value_; }
  operator mpz_srcptr() const { return value_; }

 private:
  mpz_t value_;
};

/// All decimal digits of x (with a '-' if negative): the full conversion the fast
/// paths avoid, used for small numbers, --full, and as the reference in tests.
inline std::string to_decimal(mpz_srcptr x) {
  // mpz_sizeinbase may overestimate by one; +2 leaves room for the sign and the NUL.
  std::string text(mpz_sizeinbase(x, 10) + 2, '\0');
  mpz_get_str(text.data(), 10, x);
  text.resize(std::strlen(text.c_str()));
  return text;
}

}  // namespace rankpool::fib::detail
