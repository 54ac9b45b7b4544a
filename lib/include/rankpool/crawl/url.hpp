#pragma once
// URL resolution and normalization for the crawler: every link the crawler sees is reduced
// to ONE canonical string, so the frontier, the seen-set and the per-host queues can compare
// URLs with plain string equality.
//
// Canonical form (RFC 3986 §6.2.2 syntax-based normalization, hosts as the WHATWG URL
// standard reads them for http(s), plus crawler policy):
//   * only `http` and `https` survive; everything else is rejected with a reason;
//   * scheme lower-cased; percent-escapes upper-cased; escapes of unreserved characters
//     (ALPHA DIGIT - . _ ~) decoded, all others kept (`%2F` stays `%2F`);
//   * hosts: percent-decoded, then an international name is mapped to ASCII by IDNA (UTS 46
//     non-transitional mapping, IDNA2008 validity as libidn2 checks it, Punycode):
//     `bücher.example` and `b%C3%BCcher.example` are `xn--bcher-kva.example`; ASCII names are
//     lower-cased. A host that ends in a number is an IPv4 address in any WHATWG form
//     (`127.1`, `0x7f.0.0.1`, `2130706433`, `0177.0.0.1`) and becomes dotted decimal; IPv6
//     literals are compressed (RFC 5952: `[0:0::1]` is `[::1]`). Anything else that no
//     RFC 3986 host allows (space, `{`, a control character, ...) rejects the URL;
//   * the default port (80 for http, 443 for https) and an empty port are dropped; port 0
//     is refused;
//   * dot segments removed (after decoding, so `%2E%2E` counts as `..`), empty path -> `/`;
//   * the query is kept verbatim apart from escape normalization (an empty `?` is kept:
//     RFC 3986 does not make `/a?` equivalent to `/a`);
//   * the fragment is dropped (it never reaches the server);
//   * userinfo (up to the last `@` of the authority) is dropped: credentials in crawled
//     links are almost always accidents or phishing, and keeping them would split one page
//     into many canonical keys.
// Input is first read the way browsers read href attributes: leading/trailing C0 controls
// and spaces are trimmed, embedded tab/CR/LF removed, `\` becomes `/` before the query, any
// number of slashes may follow `http:` (`http:///x` is `http://x/`), and `http:g` is
// relative against an http base (absolute, `http://g/`, otherwise). Characters that may not
// appear in a URI (space, non-ASCII bytes, `"<>[]^`{|}` in paths and queries, a stray `%`)
// are percent-encoded. tests/unit/crawl/url_differential_test.cpp holds all this against
// node's `URL` and lists where rankpool differs from browsers, and why.
// Failures are values: `NormalizedUrl::error` holds the reason and `ok()` is false.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rankpool::crawl {

struct UrlOptions {
  // Longer URLs are rejected, both as given and after resolution: 2048 is the practical
  // limit of many servers and browsers, and crawler traps often grow URLs without bound.
  std::size_t max_length = 2048;
};

struct NormalizedUrl {
  std::string url;    // canonical absolute URL; empty on failure
  std::string error;  // empty on success, else the reason the reference was rejected
  bool ok() const { return error.empty(); }

  std::string scheme;          // "http" or "https"
  std::string host;            // canonical (ASCII, IDNA-mapped); IPv6 literals keep their brackets
  std::uint16_t port = 0;      // effective port (80/443 when the URL names none)
  std::string path_and_query;  // what goes on the HTTP request line, e.g. "/a/c?x"
};

/// Normalizes an absolute URL. A relative reference is rejected ("not an absolute URL").
NormalizedUrl normalize(std::string_view absolute_url, const UrlOptions& options = {});

/// Resolves `reference` against `base_absolute_url` (RFC 3986 §5.2; the caller passes the
/// document URL or its `<base href>` value) and normalizes the result. The base itself must
/// be an absolute http(s) URL; it need not be normalized.
NormalizedUrl resolve(std::string_view reference, std::string_view base_absolute_url, const UrlOptions& options = {});

/// The same, against a base that normalize()/resolve() already produced: the base is not
/// parsed again (about a third less time per link in rankpool-url-bench).
NormalizedUrl resolve(std::string_view reference, const NormalizedUrl& base, const UrlOptions& options = {});

/// "scheme://host[:port]" with the default port omitted; empty for a failed URL.
/// Two URLs share an origin iff these strings are equal (http://a:8080 != http://a).
std::string origin_of(const NormalizedUrl& url);

/// The registrable domain of a (normalized) host by the Public Suffix List, e.g.
/// "www.example.co.uk" -> "example.co.uk". IP literals, single-label hosts and hosts that
/// are themselves public suffixes are returned unchanged, so the key is never empty for a
/// non-empty host. Thread-safe (the built-in list is immutable).
std::string registered_domain(std::string_view host);

}  // namespace rankpool::crawl
