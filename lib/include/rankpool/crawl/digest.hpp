#pragma once
// SHA-1 and base32, for the digests WARC files and the crawl log carry ("sha1:BASE32", as
// WARC-Payload-Digest / WARC-Block-Digest are written by wget, Heritrix and warcio).
//
// SHA-1 here is an identifier of content, as in every WARC tool, not a security measure. It is
// OpenSSL's libcrypto (EVP): every payload of a crawl is hashed as its bytes arrive, and
// libcrypto's SHA-1 (SHA extensions / AVX2) is more than ten times faster than a portable one.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace rankpool::crawl {

/// Incremental SHA-1 (FIPS 180-4).
class Sha1 {
 public:
  Sha1();
  ~Sha1();
  Sha1(Sha1&&) noexcept;
  Sha1& operator=(Sha1&&) noexcept;
  void update(std::string_view bytes);
  /// The 20-byte digest; the object starts again afterwards.
  std::array<std::uint8_t, 20> finish();
  void reset();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

/// RFC 4648 base32 (upper case, '=' padding): 20 bytes give 32 characters, no padding.
std::string base32(const std::uint8_t* data, std::size_t n);
/// Lower-case hex.
std::string hex(const std::uint8_t* data, std::size_t n);
/// "sha1:" + base32(SHA-1(bytes)): the WARC digest form.
std::string sha1_label(std::string_view bytes);
/// The same for a finished Sha1.
std::string sha1_label(Sha1& hash);

}  // namespace rankpool::crawl
