#include "rankpool/crawl/url.hpp"

#include "ascii.hpp"

#include <libpsl.h>

#include <idn2.h>

#include <algorithm>
#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>
#include <optional>
#include <vector>

#include "rankpool/status.hpp"

namespace rankpool::crawl {
namespace {

using namespace ascii;

void append_escape(std::string& out, unsigned char c) {
  out += '%';
  out += kHex[c >> 4];
  out += kHex[c & 0xF];
}

// Browser-style cleanup of an href before it is split (see the header). Done on every
// input, base included, so that "resolve" and "normalize" agree. Hosts are percent-decoded
// again by canonical_host(), so escaping their non-ASCII bytes here loses nothing.
std::string clean_input(std::string_view in) {
  while (!in.empty() && static_cast<unsigned char>(in.front()) <= 0x20) in.remove_prefix(1);
  while (!in.empty() && static_cast<unsigned char>(in.back()) <= 0x20) in.remove_suffix(1);
  std::string out;
  out.reserve(in.size() + 16);
  bool before_query = true;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c == '\t' || c == '\n' || c == '\r') continue;  // wrapped attribute values
    if (c == '?' || c == '#') before_query = false;
    if (c == '\\' && before_query) {
      out += '/';
    } else if (c == '%') {
      if (i + 2 < in.size() && hex_value(in[i + 1]) >= 0 && hex_value(in[i + 2]) >= 0) {
        out += '%';
      } else {
        out += "%25";  // a stray '%' means a literal percent sign
      }
    } else if (c <= 0x20 || c >= 0x7F || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' || c == '`' ||
               c == '{' || c == '|' || c == '}') {
      append_escape(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// RFC 3986 §6.2.2.1/§6.2.2.2: upper-case escapes, decode those of unreserved characters.
// The input is well-formed (clean_input fixed stray '%'). Used for paths and queries, which
// also get '[' and ']' escaped: RFC 3986 allows them only around an IPv6 host.
std::string normalize_escapes(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex_value(in[i + 1]) >= 0 && hex_value(in[i + 2]) >= 0) {
      const auto c = static_cast<unsigned char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2]));
      if (is_unreserved(c)) {
        out += static_cast<char>(c);
      } else {
        append_escape(out, c);
      }
      i += 2;
    } else if (in[i] == '[' || in[i] == ']') {
      append_escape(out, static_cast<unsigned char>(in[i]));
    } else {
      out += in[i];
    }
  }
  return out;
}

// RFC 3986 §5.2.4.
std::string remove_dot_segments(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  auto pop_segment = [&out] {
    const auto slash = out.rfind('/');
    out.erase(slash == std::string::npos ? 0 : slash);
  };
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.remove_prefix(3);
    } else if (in.starts_with("./")) {
      in.remove_prefix(2);
    } else if (in.starts_with("/./")) {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../")) {
      in.remove_prefix(3);
      pop_segment();
    } else if (in == "/..") {
      in = "/";
      pop_segment();
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      const auto next = in.find('/', in.front() == '/' ? 1 : 0);
      const auto n = next == std::string_view::npos ? in.size() : next;
      out.append(in.substr(0, n));
      in.remove_prefix(n);
    }
  }
  return out;
}

// --- Hosts, as the WHATWG URL standard's host parser reads them (special schemes) ----------

// WHATWG "IPv4 number parser": decimal, 0x/0X hex, or octal with a leading 0; "" is not a
// number, "0x" is 0. Values beyond 2^32 are clamped (they fail the range check anyway).
std::optional<std::uint64_t> ipv4_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  unsigned radix = 10;
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    radix = 16;
    s.remove_prefix(2);
  } else if (s.size() >= 2 && s[0] == '0') {
    radix = 8;
    s.remove_prefix(1);
  }
  std::uint64_t value = 0;
  for (const char c : s) {
    const int digit = hex_value(c);
    if (digit < 0 || static_cast<unsigned>(digit) >= radix) return std::nullopt;
    value = std::min<std::uint64_t>(value * radix + static_cast<unsigned>(digit), std::uint64_t{1} << 40);
  }
  return value;
}

// The labels of a host, without one trailing empty label ("127.1." is "127.1").
std::vector<std::string_view> host_labels(std::string_view host) {
  std::vector<std::string_view> labels;
  std::size_t from = 0;
  while (true) {
    const auto dot = host.find('.', from);
    labels.push_back(host.substr(from, dot == std::string_view::npos ? std::string_view::npos : dot - from));
    if (dot == std::string_view::npos) break;
    from = dot + 1;
  }
  if (labels.size() > 1 && labels.back().empty()) labels.pop_back();
  return labels;
}

// WHATWG "ends in a number": such a host must be an IPv4 address, in any of its forms.
bool ends_in_a_number(std::string_view host) {
  if (host.size() > 1 && host.back() == '.') host.remove_suffix(1);
  const auto dot = host.rfind('.');
  const std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  if (last.empty()) return false;
  if (std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; })) return true;
  return ipv4_number(last).has_value();
}

// WHATWG "IPv4 parser": "127.1", "0x7f.0.0.1", "2130706433", "0177.0.0.1" -> "127.0.0.1".
Result<std::string> canonical_ipv4(const std::vector<std::string_view>& labels) {
  if (labels.size() > 4) return Status::error("more than four parts");
  std::uint64_t address = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto n = ipv4_number(labels[i]);
    if (!n) return Status::error("'" + std::string(labels[i]) + "' is not a number");
    const bool last = i + 1 == labels.size();
    const std::uint64_t limit = last ? std::uint64_t{1} << (8 * (5 - labels.size())) : 256;
    if (*n >= limit) return Status::error("part out of range");
    address = last ? address + *n : address + (*n << (8 * (3 - i)));
  }
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) {
    if (!out.empty()) out += '.';
    out += std::to_string((address >> shift) & 0xFF);
  }
  return out;
}

// WHATWG "IPv6 serializer" (the compression of RFC 5952 §4.2: the longest run of two or
// more zero pieces, the first of equals, becomes "::"; lower-case hex without leading zeros).
std::string serialize_ipv6(const boost::urls::ipv6_address::bytes_type& bytes) {
  std::uint16_t pieces[8];
  for (int i = 0; i < 8; ++i) pieces[i] = static_cast<std::uint16_t>(bytes[2 * i] << 8 | bytes[2 * i + 1]);
  int best = -1;
  int best_len = 1;
  for (int i = 0; i < 8;) {
    int j = i;
    while (j < 8 && pieces[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j == i ? i + 1 : j;
  }
  static constexpr char kLowerHex[] = "0123456789abcdef";
  std::string out = "[";
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += i == 0 ? "::" : ":";
      i += best_len - 1;
      continue;
    }
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const int digit = (pieces[i] >> shift) & 0xF;
      if (digit != 0 || started || shift == 0) {
        out += kLowerHex[digit];
        started = true;
      }
    }
    if (i != 7) out += ':';
  }
  out += ']';
  return out;
}

// RFC 3986 reg-name characters (unreserved and sub-delims) that may remain in a canonical
// host. WHATWG also lets '"', '`', '{' and '}' through; no DNS name holds them, and an URL
// carrying them raw would not be an RFC 3986 URI, so they are refused.
bool is_host_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' || c == '!' ||
         c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' || c == '+' || c == ',' || c == ';' ||
         c == '=';
}

// International names: UTS 46 mapping (non-transitional: "faß" stays "faß"), then IDNA2008
// validity as libidn2 checks it, then Punycode. `name` is the percent-decoded UTF-8 host.
Result<std::string> idna_to_ascii(const std::string& name) {
  char* ascii = nullptr;
  const int rc = idn2_to_ascii_8z(name.c_str(), &ascii, IDN2_NONTRANSITIONAL);
  if (rc != IDN2_OK) {
    idn2_free(ascii);
    return Status::error(idn2_strerror(rc));
  }
  std::string out(ascii);
  idn2_free(ascii);
  return out;
}

// Shows a rejected host in a reason: non-ASCII and control bytes escaped, at most 80 bytes.
std::string quoted_host(std::string_view raw) {
  std::string out = "'";
  for (std::size_t i = 0; i < raw.size() && i < 80; ++i) {
    const auto c = static_cast<unsigned char>(raw[i]);
    if (c < 0x20 || c >= 0x7F) {
      append_escape(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (raw.size() > 80) out += "...";
  return out + "'";
}

// The canonical form of an authority's host (percent-escaped as clean_input left it), or
// why it is not a valid host. Domains: percent-decoded, IDNA-mapped to lower-case ASCII;
// IPv4 addresses in any WHATWG form: dotted decimal; IPv6 literals: compressed, in brackets.
Result<std::string> canonical_host(std::string_view raw) {
  if (raw.front() == '[') {
    if (raw.size() < 2 || raw.back() != ']') return Status::error("invalid IPv6 address " + quoted_host(raw));
    const auto v6 = boost::urls::parse_ipv6_address(raw.substr(1, raw.size() - 2));
    if (!v6) return Status::error("invalid IPv6 address " + quoted_host(raw));
    return serialize_ipv6(v6->to_bytes());
  }
  std::string name;
  name.reserve(raw.size());
  bool ascii = true;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    auto c = static_cast<unsigned char>(raw[i]);
    if (c == '%' && i + 2 < raw.size() && hex_value(raw[i + 1]) >= 0 && hex_value(raw[i + 2]) >= 0) {
      c = static_cast<unsigned char>(hex_value(raw[i + 1]) * 16 + hex_value(raw[i + 2]));
      i += 2;
    }
    if (c < 0x80) {
      // ASCII maps to itself (upper case to lower case) under UTS 46, so a character that is
      // no host character now is none after the mapping either; this also keeps NULs away
      // from libidn2's C strings.
      c = static_cast<unsigned char>(to_lower(static_cast<char>(c)));
      if (!is_host_char(c)) {
        return Status::error("invalid host " + quoted_host(raw) + ": forbidden character " +
                             quoted_host({reinterpret_cast<const char*>(&c), 1}));
      }
    } else {
      ascii = false;
    }
    name += static_cast<char>(c);
  }
  // WHATWG's shortcut: an ASCII name without an "xn--" label only needs lower-casing. A
  // Punycode label is decoded and checked like any other international name.
  const bool punycode = name.starts_with("xn--") || name.find(".xn--") != std::string::npos;
  if (!ascii || punycode) {
    auto mapped = idna_to_ascii(name);
    if (!mapped)
      return Status::error("invalid international domain name " + quoted_host(raw) + ": " + mapped.status().message());
    name = std::move(*mapped);
    for (const char c : name) {
      if (!is_host_char(static_cast<unsigned char>(c))) {
        return Status::error("invalid host " + quoted_host(raw) + ": forbidden character after IDNA mapping");
      }
    }
  }
  if (name.empty()) return Status::error("empty host");
  if (!ends_in_a_number(name)) return name;
  auto v4 = canonical_ipv4(host_labels(name));
  if (!v4) return Status::error("invalid IPv4 address " + quoted_host(raw) + ": " + v4.status().message());
  return v4;
}

// A reference split into components: host canonical, path and query escapes normalized.
struct Parts {
  std::optional<std::string> scheme;  // lower-case
  bool has_authority = false;
  std::string host;  // canonical_host()
  std::string port;  // digits as written (possibly empty)
  bool has_port = false;
  std::string path;
  std::optional<std::string> query;
  // "http:g": an http(s) scheme not followed by "//". Against a base of the same scheme it
  // is a relative reference (WHATWG "special relative or authority state"), else the start
  // of an authority ("http:g" alone is http://g/).
  bool bare_special = false;
};

// After the scheme of an http(s) URL, or in a reference that starts with "//": any number
// of slashes (backslashes already became slashes), then the authority up to '/', '?' or '#'
// (WHATWG "special authority ignore slashes state"). Leaves the path, query and fragment.
Status split_authority(std::string_view& rest, Parts& parts) {
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  rest.remove_prefix(authority.size());
  // The last '@' ends the userinfo, which is dropped (see the header).
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close != std::string_view::npos) {
      host = authority.substr(0, close + 1);
      const std::string_view after = authority.substr(close + 1);
      if (!after.empty() && after.front() != ':') return Status::error("unparsable URL: malformed authority");
      if (!after.empty()) {
        has_port = true;
        port = after.substr(1);
      }
    }
  } else if (const auto colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    has_port = true;
    port = authority.substr(colon + 1);
  }
  for (const char c : port) {
    if (c < '0' || c > '9') return Status::error("invalid port '" + std::string(port.substr(0, 20)) + "'");
  }
  if (host.empty()) return Status::error("empty host");
  auto canonical = canonical_host(host);
  if (!canonical) return canonical.status();
  parts.has_authority = true;
  parts.host = std::move(*canonical);
  parts.has_port = has_port;
  parts.port = std::string(port);
  return {};
}

// The scheme of `text` ("" for none): letters, digits, '+', '-', '.' from a letter to ':'.
std::string_view scheme_of(std::string_view text) {
  if (text.empty() || !((text[0] >= 'a' && text[0] <= 'z') || (text[0] >= 'A' && text[0] <= 'Z'))) return {};
  for (std::size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ':') return text.substr(0, i);
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
          c == '.')) {
      return {};
    }
  }
  return {};
}

// How split() reads "http:g" (an http(s) scheme without "//").
enum class BareSpecial {
  kAbsolute,  // no base, or one of another scheme: "http:g" is http://g/
  kRelative,  // a base of the same scheme: "http:g" is the relative reference "g"
  kDefer,     // the base is not parsed yet: stop after the scheme, set Parts::bare_special
};

// Splits `text` into parts, or says why it is not a URL.
Status split(std::string_view text, const UrlOptions& options, Parts& parts,
             BareSpecial bare = BareSpecial::kAbsolute) {
  const std::string cleaned = clean_input(text);
  if (cleaned.size() > options.max_length) {
    return Status::error("URL longer than " + std::to_string(options.max_length) + " characters");
  }
  std::string_view rest = cleaned;
  bool authority = false;
  if (const std::string_view raw_scheme = scheme_of(rest); !raw_scheme.empty()) {
    std::string scheme(raw_scheme);
    for (char& c : scheme) c = to_lower(c);
    rest.remove_prefix(raw_scheme.size() + 1);
    if (scheme != "http" && scheme != "https") {
      parts.scheme = std::move(scheme);  // finish() refuses it with the scheme's name
      return {};
    }
    const bool bare_special = !rest.starts_with("//");
    if (bare_special && bare == BareSpecial::kDefer) {
      parts.scheme = std::move(scheme);
      parts.bare_special = true;
      return {};
    }
    if (!bare_special || bare == BareSpecial::kAbsolute) {
      parts.scheme = std::move(scheme);
      authority = true;
    }  // else relative to the base: "http:g" is "g", "http:/g" is "/g", "http:?y" is "?y"
  } else {
    authority = rest.starts_with("//");
  }
  if (authority) {
    if (Status st = split_authority(rest, parts); !st) return st;
  }
  const auto end_of_path = rest.find_first_of("?#");
  parts.path = normalize_escapes(rest.substr(0, end_of_path));
  if (end_of_path != std::string_view::npos && rest[end_of_path] == '?') {
    const std::string_view query = rest.substr(end_of_path + 1);
    parts.query = normalize_escapes(query.substr(0, query.find('#')));
  }
  return {};
}

// RFC 3986 §5.2.3.
std::string merge_paths(const Parts& base, std::string_view ref_path) {
  // (append, not operator+: GCC 12 -O3 warns falsely about operator+ on strings, PR 105329)
  if (base.has_authority && base.path.empty()) return std::string("/").append(ref_path);
  const auto slash = base.path.rfind('/');
  if (slash == std::string::npos) return std::string(ref_path);
  return base.path.substr(0, slash + 1).append(ref_path);
}

NormalizedUrl fail(std::string reason) {
  NormalizedUrl result;
  result.error = std::move(reason);
  return result;
}

// Applies the crawler policy to an absolute, resolved reference and builds the result.
NormalizedUrl finish(Parts t, const UrlOptions& options) {
  if (!t.scheme) return fail("not an absolute URL");
  if (*t.scheme != "http" && *t.scheme != "https") {
    return fail("unsupported scheme '" + *t.scheme + "'");
  }
  if (!t.has_authority || t.host.empty()) return fail("empty host");

  const std::uint16_t default_port = *t.scheme == "http" ? 80 : 443;
  std::uint16_t port = default_port;
  if (t.has_port && !t.port.empty()) {
    // The grammar guarantees digits only; leading zeros are allowed ("080" is 80).
    unsigned long value = 0;
    for (char c : t.port) {
      value = value * 10 + static_cast<unsigned long>(c - '0');
      if (value > 65535) return fail("port out of range");
    }
    if (value == 0) return fail("port out of range");
    port = static_cast<std::uint16_t>(value);
  }

  NormalizedUrl result;
  result.scheme = std::move(*t.scheme);
  result.host = std::move(t.host);
  result.port = port;
  result.path_and_query = remove_dot_segments(t.path);
  if (result.path_and_query.empty()) result.path_and_query.push_back('/');
  if (t.query) {
    result.path_and_query += '?';
    result.path_and_query += *t.query;
  }
  result.url = origin_of(result) + result.path_and_query;
  if (result.url.size() > options.max_length) {
    return fail("URL longer than " + std::to_string(options.max_length) + " characters");
  }
  return result;
}

}  // namespace

NormalizedUrl normalize(std::string_view absolute_url, const UrlOptions& options) {
  Parts parts;
  if (Status st = split(absolute_url, options, parts); !st) return fail(st.message());
  return finish(std::move(parts), options);
}

namespace {

// RFC 3986 §5.2.2 (strict) for a reference without a scheme; finish() removes the dot
// segments of whichever path results.
NormalizedUrl resolve_parts(Parts ref, const Parts& base, const UrlOptions& options) {
  Parts t;
  t.scheme = base.scheme;
  if (ref.has_authority) {
    t.has_authority = true;
    t.host = std::move(ref.host);
    t.has_port = ref.has_port;
    t.port = std::move(ref.port);
    t.path = std::move(ref.path);
    t.query = std::move(ref.query);
  } else {
    t.has_authority = base.has_authority;
    t.host = base.host;
    t.has_port = base.has_port;
    t.port = base.port;
    if (ref.path.empty()) {
      t.path = base.path;
      t.query = ref.query ? std::move(ref.query) : base.query;
    } else {
      t.path = ref.path.front() == '/' ? std::move(ref.path) : merge_paths(base, ref.path);
      t.query = std::move(ref.query);
    }
  }
  return finish(std::move(t), options);
}

}  // namespace

NormalizedUrl resolve(std::string_view reference, std::string_view base_absolute_url, const UrlOptions& options) {
  Parts ref;
  if (Status st = split(reference, options, ref, BareSpecial::kDefer); !st) return fail(st.message());
  if (ref.scheme && !ref.bare_special) return finish(std::move(ref), options);  // the base is irrelevant

  Parts base;
  const Status base_status = split(base_absolute_url, options, base);
  if (ref.bare_special) {
    // "http:g": relative against an http base, else (another scheme, or no usable base)
    // absolute, as normalize() reads it.
    const bool relative = base_status.ok() && base.scheme == ref.scheme;
    ref = Parts{};
    if (Status st = split(reference, options, ref, relative ? BareSpecial::kRelative : BareSpecial::kAbsolute); !st) {
      return fail(st.message());
    }
    if (!relative) return finish(std::move(ref), options);
  }
  if (!base_status) return fail("bad base URL: " + base_status.message());
  if (!base.scheme) return fail("bad base URL: not an absolute URL");
  return resolve_parts(std::move(ref), base, options);
}

NormalizedUrl resolve(std::string_view reference, const NormalizedUrl& base, const UrlOptions& options) {
  Parts ref;
  if (Status st = split(reference, options, ref, BareSpecial::kDefer); !st) return fail(st.message());
  if (ref.bare_special) {  // "http:g" (rare): split again, knowing the base's scheme
    const bool relative = base.ok() && ref.scheme == base.scheme;
    ref = Parts{};
    if (Status st = split(reference, options, ref, relative ? BareSpecial::kRelative : BareSpecial::kAbsolute); !st) {
      return fail(st.message());
    }
  }
  if (ref.scheme) return finish(std::move(ref), options);
  if (!base.ok() || base.scheme.empty()) return fail("bad base URL: " + base.error);

  // The base is canonical already: rebuild its components instead of parsing it again.
  Parts parts;
  parts.scheme = base.scheme;
  parts.has_authority = true;
  parts.host = base.host;
  if (base.port != (base.scheme == "http" ? 80 : 443)) {
    parts.has_port = true;
    parts.port = std::to_string(base.port);
  }
  const auto question = base.path_and_query.find('?');
  parts.path = base.path_and_query.substr(0, question);
  if (question != std::string::npos) parts.query = base.path_and_query.substr(question + 1);
  return resolve_parts(std::move(ref), parts, options);
}

std::string origin_of(const NormalizedUrl& url) {
  if (!url.ok() || url.scheme.empty()) return {};
  std::string origin = url.scheme;
  origin.append("://").append(url.host);
  const std::uint16_t default_port = url.scheme == "http" ? 80 : 443;
  if (url.port != default_port) origin.append(":").append(std::to_string(url.port));
  return origin;
}

std::string registered_domain(std::string_view host) {
  if (host.empty()) return {};
  if (host.front() == '[') return std::string(host);  // IPv6 literal
  if (boost::urls::parse_ipv4_address(host)) return std::string(host);
  // libpsl wants a NUL-terminated, lower-case name; callers pass normalized hosts, but a
  // stray upper-case letter must not change the key.
  std::string name(host);
  for (char& c : name) c = to_lower(c);
  static const psl_ctx_t* const psl = psl_builtin();
  const char* domain = psl != nullptr ? psl_registrable_domain(psl, name.c_str()) : nullptr;
  // No registrable domain (a public suffix itself, "localhost", ...): the host is its own key.
  if (domain == nullptr) return name;
  return std::string(domain);
}

}  // namespace rankpool::crawl
