// Fuzz target: URL resolution and normalization (crawl/url.hpp).
//
// Input: a reference, optionally followed by a NUL byte and a base URL. The reference is
// normalized on its own, resolved against a fixed canonical base, and against the given
// base when there is one. Properties checked on every result:
//   * a failure has a reason and no URL; a success has no error;
//   * an accepted URL is canonical: printable ASCII, no space, no fragment, none of the
//     characters clean_input() escapes, "http://" or "https://" + host + path_and_query,
//     a non-empty host of RFC 3986 reg-name characters (lower case) or a bracketed IPv6
//     literal, no '[' or ']' after the host, a non-zero port, at most max_length characters;
//   * normalize() is idempotent on it, component by component;
//   * origin_of(), robots_url() and registered_domain() agree with it;
//   * resolving against a parsed base (NormalizedUrl) and against its canonical string
//     gives the same result;
//   * an absolute reference ignores a base of another scheme ("http:g" is relative only
//     against an http base, so each reference is resolved against an http and an https one);
//   * a smaller max_length only ever rejects more, never changes an accepted URL.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "rankpool/crawl/robots.hpp"
#include "rankpool/crawl/url.hpp"

namespace {

using rankpool::crawl::NormalizedUrl;
using rankpool::crawl::UrlOptions;

constexpr std::string_view kBase = "http://h.example/d1/d2/page?q";
constexpr std::string_view kSecureBase = "https://s.example:8443/d1/page";

bool is_canonical_char(unsigned char c) {
  if (c <= 0x20 || c >= 0x7F) return false;
  switch (c) {
    case '"':
    case '<':
    case '>':
    case '\\':
    case '^':
    case '`':
    case '{':
    case '|':
    case '}':
    case '#':
      return false;
    default:
      return true;
  }
}

void check_result(const NormalizedUrl& u, const UrlOptions& options, std::string_view input) {
  if (!u.ok()) {
    FUZZ_CHECK(u.url.empty(), {"input", input}, {"url", u.url});
    FUZZ_CHECK(!u.error.empty(), {"input", input});
    FUZZ_CHECK(rankpool::crawl::origin_of(u).empty(), {"input", input});
    return;
  }
  FUZZ_CHECK(!u.url.empty(), {"input", input});
  FUZZ_CHECK(u.url.size() <= options.max_length, {"input", input}, {"url", u.url});
  for (const char c : u.url) {
    FUZZ_CHECK(is_canonical_char(static_cast<unsigned char>(c)), {"input", input}, {"url", u.url});
  }
  FUZZ_CHECK(u.scheme == "http" || u.scheme == "https", {"input", input}, {"scheme", u.scheme});
  FUZZ_CHECK(u.url.starts_with(u.scheme + "://"), {"input", input}, {"url", u.url});
  FUZZ_CHECK(!u.host.empty(), {"input", input}, {"url", u.url});
  FUZZ_CHECK(u.port != 0, {"input", input}, {"url", u.url});
  FUZZ_CHECK(u.path_and_query.starts_with("/"), {"input", input}, {"url", u.url});
  FUZZ_CHECK(u.path_and_query.find_first_of("[]") == std::string::npos, {"input", input}, {"url", u.url});
  if (u.host.front() == '[') {
    FUZZ_CHECK(u.host.back() == ']' && u.host.find_first_not_of("[]:0123456789abcdef") == std::string::npos,
               {"input", input}, {"host", u.host});
  } else {
    FUZZ_CHECK(u.host.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=") == std::string::npos,
               {"input", input}, {"host", u.host});
  }
  const std::string origin = rankpool::crawl::origin_of(u);
  FUZZ_CHECK(u.url == origin + u.path_and_query, {"input", input}, {"url", u.url}, {"origin", origin},
             {"path_and_query", u.path_and_query});

  // Idempotence: the canonical form is a fixed point, component by component.
  const NormalizedUrl again = rankpool::crawl::normalize(u.url, options);
  FUZZ_CHECK(again.ok(), {"input", input}, {"url", u.url}, {"error", again.error});
  FUZZ_CHECK(again.url == u.url, {"input", input}, {"url", u.url}, {"again", again.url});
  FUZZ_CHECK(again.scheme == u.scheme && again.host == u.host && again.port == u.port &&
                 again.path_and_query == u.path_and_query,
             {"input", input}, {"url", u.url}, {"again", again.url});

  // robots.txt lives at the same origin, and is itself a canonical URL.
  const std::string robots = rankpool::crawl::robots_url(u);
  FUZZ_CHECK(robots == origin + "/robots.txt", {"input", input}, {"robots", robots});
  const NormalizedUrl robots_parsed = rankpool::crawl::normalize(robots, options);
  if (robots.size() <= options.max_length) {
    FUZZ_CHECK(robots_parsed.ok() && robots_parsed.url == robots && rankpool::crawl::origin_of(robots_parsed) == origin,
               {"input", input}, {"robots", robots}, {"parsed", robots_parsed.url});
  }

  // The registrable domain is a non-empty suffix of the host, ASCII-lowercased (escapes
  // included: it is a comparison key, not a host name); a label boundary is not checked, IP
  // literals and public suffixes come back whole.
  const std::string domain = rankpool::crawl::registered_domain(u.host);
  std::string lower_host = u.host;
  for (char& c : lower_host) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  FUZZ_CHECK(!domain.empty() && lower_host.ends_with(domain), {"host", u.host}, {"domain", domain});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  const std::string_view reference = input.substr(0, nul);
  const std::string_view base_text = nul == std::string_view::npos ? std::string_view{} : input.substr(nul + 1);

  const UrlOptions options;
  UrlOptions tight;
  tight.max_length = 64;

  const NormalizedUrl normalized = rankpool::crawl::normalize(reference, options);
  check_result(normalized, options, reference);
  const NormalizedUrl normalized_tight = rankpool::crawl::normalize(reference, tight);
  check_result(normalized_tight, tight, reference);
  if (normalized_tight.ok()) {
    FUZZ_CHECK(normalized.ok() && normalized.url == normalized_tight.url, {"input", reference},
               {"default", normalized.url}, {"tight", normalized_tight.url});
  }

  // Against the fixed canonical base: by string, by parsed base, and with the tight cap.
  static const NormalizedUrl kParsedBase = rankpool::crawl::normalize(kBase);
  const NormalizedUrl by_string = rankpool::crawl::resolve(reference, kBase, options);
  check_result(by_string, options, reference);
  const NormalizedUrl by_parsed = rankpool::crawl::resolve(reference, kParsedBase, options);
  FUZZ_CHECK(by_parsed.ok() == by_string.ok() && by_parsed.url == by_string.url, {"reference", reference},
             {"by string", by_string.url}, {"by parsed", by_parsed.url}, {"string error", by_string.error},
             {"parsed error", by_parsed.error});
  const NormalizedUrl by_parsed_tight = rankpool::crawl::resolve(reference, kParsedBase, tight);
  check_result(by_parsed_tight, tight, reference);
  if (by_parsed_tight.ok()) {
    FUZZ_CHECK(by_parsed.ok() && by_parsed.url == by_parsed_tight.url, {"reference", reference},
               {"default", by_parsed.url}, {"tight", by_parsed_tight.url});
  }
  // Against an https base, by string and parsed.
  static const NormalizedUrl kParsedSecureBase = rankpool::crawl::normalize(kSecureBase);
  const NormalizedUrl by_secure = rankpool::crawl::resolve(reference, kSecureBase, options);
  check_result(by_secure, options, reference);
  const NormalizedUrl by_secure_parsed = rankpool::crawl::resolve(reference, kParsedSecureBase, options);
  FUZZ_CHECK(by_secure_parsed.ok() == by_secure.ok() && by_secure_parsed.url == by_secure.url, {"reference", reference},
             {"by string", by_secure.url}, {"by parsed", by_secure_parsed.url});
  // An absolute reference ignores a base of another scheme.
  if (normalized.ok()) {
    const NormalizedUrl& other = normalized.scheme == "http" ? by_secure : by_string;
    FUZZ_CHECK(other.ok() && other.url == normalized.url, {"reference", reference}, {"normalized", normalized.url},
               {"resolved", other.url});
  }

  // Against the input's own base, once canonicalized (the crawler resolves page links
  // against the page's canonical URL or its resolved <base href>).
  if (nul != std::string_view::npos) {
    const NormalizedUrl base = rankpool::crawl::normalize(base_text, options);
    check_result(base, options, base_text);
    const NormalizedUrl base_resolved = rankpool::crawl::resolve(reference, base, options);
    check_result(base_resolved, options, reference);
    // The raw base as given (it need not be canonical): whatever comes out is canonical.
    check_result(rankpool::crawl::resolve(reference, base_text, options), options, reference);
    if (base.ok()) {
      const NormalizedUrl base_by_string = rankpool::crawl::resolve(reference, base.url, options);
      FUZZ_CHECK(base_by_string.ok() == base_resolved.ok() && base_by_string.url == base_resolved.url,
                 {"reference", reference}, {"base", base.url}, {"by string", base_by_string.url},
                 {"by parsed", base_resolved.url}, {"string error", base_by_string.error},
                 {"parsed error", base_resolved.error});
    } else if (!normalized.ok()) {
      FUZZ_CHECK(!base_resolved.ok(), {"reference", reference}, {"base", base_text}, {"resolved", base_resolved.url});
    }
  }
  return 0;
}
