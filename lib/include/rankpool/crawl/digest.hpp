#pragma once
// SHA-1 and base32, for the digests WARC files and the crawl log carry ("sha1:BASE32", as
// WARC-Payload-Digest / WARC-Block-Digest are written by wget, Heritrix and warcio).
//
// SHA-1 here is an identifier of content, as in every WARC tool, not a security measure.
// A small implementation of FIPS 180-4 rather than a dependency on libcrypto: it is hashed
// as bytes arrive, so a body that is not kept is still digested.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace rankpool::crawl {

/// Incremental SHA-1 (FIPS 180-4).
class Sha1 {
 public:
  Sha1();
  void update(std::string_view bytes);
  /// The 20-byte digest; the object is spent afterwards (call reset() to reuse it).
  std::array<std::uint8_t, 20> finish();
  void reset();

 private:
  void block(const std::uint8_t* p);
  std::array<std::uint32_t, 5> h_{};
  std::array<std::uint8_t, 64> buf_{};
  std::size_t used_ = 0;
  std::uint64_t length_ = 0;  // bytes hashed
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
