#include "rankpool/crawl/url.hpp"

#include "ascii.hpp"

#include <libpsl.h>

#include <boost/url/ipv4_address.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <optional>

#include "rankpool/status.hpp"

namespace rankpool::crawl {
namespace {

using namespace ascii;

void append_escape(std::string& out, unsigned char c) {
  out += '%';
  out += kHex[c >> 4];
  out += kHex[c & 0xF];
}

// Browser-style cleanup of an href before RFC 3986 parsing (see the header). Done on every
// input, base included, so that "resolve" and "normalize" agree.
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
// The input is well-formed (clean_input fixed stray '%'); `lower` also lower-cases the
// result (used for hosts, which are case-insensitive).
std::string normalize_escapes(std::string_view in, bool lower = false) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex_value(in[i + 1]) >= 0 && hex_value(in[i + 2]) >= 0) {
      const auto c = static_cast<unsigned char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2]));
      if (is_unreserved(c)) {
        out += lower ? to_lower(static_cast<char>(c)) : static_cast<char>(c);
      } else {
        append_escape(out, c);
      }
      i += 2;
    } else {
      out += lower ? to_lower(in[i]) : in[i];
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

// A reference split into RFC 3986 components, escapes already normalized.
struct Parts {
  std::optional<std::string> scheme;  // lower-case
  bool has_authority = false;
  std::string host;  // lower-case, escapes normalized
  std::string port;  // digits as written (possibly empty)
  bool has_port = false;
  std::string path;
  std::optional<std::string> query;
};

// Splits `text` into parts, or says why it is not a URL.
Status split(std::string_view text, const UrlOptions& options, Parts& parts) {
  const std::string cleaned = clean_input(text);
  if (cleaned.size() > options.max_length) {
    return Status::error("URL longer than " + std::to_string(options.max_length) + " characters");
  }
  auto parsed = boost::urls::parse_uri_reference(cleaned);
  if (!parsed) return Status::error("unparsable URL: " + parsed.error().message());
  // RFC 3986 §3.2.2: a host is an IPv4 address only when the whole of it matches. Boost.URL
  // 1.81 takes an IPv4 prefix of a longer name ("1.2.3.4.example": boostorg/url#755, #770)
  // and hands the rest back as path. Such a host is a reg-name: parse again with a letter in
  // front of it, which makes it one, and take the letter off the host afterwards.
  std::string renamed;
  bool strip_letter = false;
  if (parsed->host_type() == boost::urls::host_type::ipv4) {
    const auto host = parsed->encoded_host();
    const auto end = static_cast<std::size_t>(host.data() - cleaned.data()) + host.size();
    if (end < cleaned.size() && std::string_view(":/?#").find(cleaned[end]) == std::string_view::npos) {
      renamed = cleaned;
      renamed.insert(static_cast<std::size_t>(host.data() - cleaned.data()), 1, 'x');
      parsed = boost::urls::parse_uri_reference(renamed);
      if (!parsed) return Status::error("unparsable URL: " + parsed.error().message());
      strip_letter = true;
    }
  }
  const boost::urls::url_view& u = *parsed;
  if (u.has_scheme()) {
    std::string scheme(u.scheme());
    for (char& c : scheme) c = to_lower(c);
    parts.scheme = std::move(scheme);
  }
  parts.has_authority = u.has_authority();
  // RFC 3986 §3.3: after an authority the path is empty or starts with '/'. Boost.URL 1.81
  // accepts "//a@b@c" or "//h:1:2/" and hands back the rest as a relative path; refuse them
  // rather than guess.
  if (parts.has_authority && !u.encoded_path().empty() && u.encoded_path().front() != '/') {
    return Status::error("unparsable URL: malformed authority");
  }
  if (parts.has_authority) {
    parts.host = normalize_escapes(u.encoded_host().substr(strip_letter ? 1 : 0), /*lower=*/true);
    parts.has_port = u.has_port();
    parts.port = std::string(u.port());
  }
  parts.path = normalize_escapes(u.encoded_path());
  if (u.has_query()) parts.query = normalize_escapes(u.encoded_query());
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
  if (Status st = split(reference, options, ref); !st) return fail(st.message());
  if (ref.scheme) return finish(std::move(ref), options);  // absolute: the base is irrelevant

  Parts base;
  if (Status st = split(base_absolute_url, options, base); !st) {
    return fail("bad base URL: " + st.message());
  }
  if (!base.scheme) return fail("bad base URL: not an absolute URL");
  return resolve_parts(std::move(ref), base, options);
}

NormalizedUrl resolve(std::string_view reference, const NormalizedUrl& base, const UrlOptions& options) {
  Parts ref;
  if (Status st = split(reference, options, ref); !st) return fail(st.message());
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
