// SHA-1 (OpenSSL's EVP) and base32 (RFC 4648 section 6).
#include "rankpool/crawl/digest.hpp"

#include <openssl/evp.h>

#include <new>
#include <stdexcept>

namespace rankpool::crawl {
namespace {

// Fetched once: EVP_sha1() in EVP_DigestInit_ex would look the provider's SHA-1 up per hash.
const EVP_MD* sha1_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  if (!md) throw std::runtime_error("OpenSSL has no SHA1");
  return md;
}

}  // namespace

struct Sha1::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha1::Sha1() : ctx_(std::make_unique<Ctx>()) {
  if (!ctx_->md) throw std::bad_alloc();
  reset();
}
Sha1::~Sha1() = default;
Sha1::Sha1(Sha1&&) noexcept = default;
Sha1& Sha1::operator=(Sha1&&) noexcept = default;

void Sha1::reset() {
  if (EVP_DigestInit_ex(ctx_->md, sha1_md(), nullptr) != 1) throw std::runtime_error("EVP_DigestInit_ex(sha1) failed");
}

void Sha1::update(std::string_view bytes) {
  if (!bytes.empty()) EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size());
}

std::array<std::uint8_t, 20> Sha1::finish() {
  std::array<std::uint8_t, 20> out{};
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_->md, out.data(), &n);
  reset();
  return out;
}

std::string base32(const std::uint8_t* data, std::size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  std::uint64_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | data[i];
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(acc >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (5 - bits)) & 31]);
  while (out.size() % 8 != 0) out.push_back('=');
  return out;
}

std::string hex(const std::uint8_t* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 15]);
  }
  return out;
}

std::string sha1_label(Sha1& hash) {
  const auto d = hash.finish();
  return "sha1:" + base32(d.data(), d.size());
}

std::string sha1_label(std::string_view bytes) {
  Sha1 h;
  h.update(bytes);
  return sha1_label(h);
}

}  // namespace rankpool::crawl
