#include "rankpool/crawl/robots.hpp"

#include "ascii.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace rankpool::crawl {
namespace {

using namespace ascii;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

void append_escape(std::string& out, unsigned char c) {
  out += '%';
  out += kHex[c >> 4];
  out += kHex[c & 0xF];
}

// The one normalization applied to both patterns and paths (RFC 9309 §2.2.2), so that they
// compare octet by octet. In a pattern '*' is the wildcard; in a path it is data and becomes
// "%2A", which is how a pattern names a literal star. '$' is always data here (the caller
// strips a pattern's anchoring '$' first).
std::string normalize_octets(std::string_view in, bool pattern) {
  std::string out;
  out.reserve(in.size() + 8);
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c == '%') {
      if (i + 2 < in.size() && hex_value(in[i + 1]) >= 0 && hex_value(in[i + 2]) >= 0) {
        const auto decoded = static_cast<unsigned char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2]));
        if (is_unreserved(decoded)) {
          out += static_cast<char>(decoded);
        } else {
          append_escape(out, decoded);
        }
        i += 2;
      } else {
        out += "%25";
      }
    } else if (c <= 0x20 || c >= 0x7F || c == '$' || (c == '*' && !pattern)) {
      append_escape(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// The leading product token of a user-agent value: "FooBot/2.1" -> "FooBot".
std::string_view product_token(std::string_view value) {
  std::size_t n = 0;
  while (n < value.size() && ((value[n] >= 'a' && value[n] <= 'z') || (value[n] >= 'A' && value[n] <= 'Z') ||
                              value[n] == '_' || value[n] == '-')) {
    ++n;
  }
  return value.substr(0, n);
}

bool is_global_agent(std::string_view value) {
  return !value.empty() && value.front() == '*' && (value.size() == 1 || is_space(value[1]));
}

struct RawRule {
  bool allow;
  std::string_view value;
};

struct Group {
  bool global = false;
  bool matches = false;  // one of its user-agent lines names our token
  std::vector<RawRule> rules;
  std::optional<double> crawl_delay;
};

std::optional<double> parse_delay(std::string_view value, double max_delay) {
  double seconds = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
  if (std::isnan(seconds) || seconds < 0) return std::nullopt;
  return std::min(seconds, max_delay);
}

// Drops a UTF-8 byte-order mark, also a truncated one (as Google's parser does).
std::string_view strip_bom(std::string_view body) {
  static constexpr std::string_view kBom = "\xEF\xBB\xBF";
  std::size_t n = 0;
  while (n < kBom.size() && n < body.size() && body[n] == kBom[n]) ++n;
  return body.substr(n);
}

}  // namespace

RobotsRules::Rule RobotsRules::make_rule(bool allow, std::string_view value) {
  Rule rule;
  rule.allow = allow;
  if (value.ends_with('$')) {
    rule.anchored = true;
    value.remove_suffix(1);
  }
  rule.pattern = normalize_octets(value, /*pattern=*/true);
  if (rule.pattern.empty() || (rule.pattern.front() != '/' && rule.pattern.front() != '*')) {
    rule.pattern.insert(rule.pattern.begin(), '/');
  }
  rule.specificity = rule.pattern.size() + (rule.anchored ? 1 : 0);
  // "a**b" means "a*b": an empty piece between two stars matches anywhere and is dropped,
  // so a line of stars costs neither memory nor time per star.
  std::size_t start = 0;
  while (true) {
    const auto star = rule.pattern.find('*', start);
    const std::size_t end = star == std::string::npos ? rule.pattern.size() : star;
    const bool first = start == 0;
    const bool last = star == std::string::npos;
    if (end > start || first || last) rule.pieces.push_back(Piece{start, end - start});
    if (last) break;
    start = star + 1;
  }
  for (std::size_t i = 0; i < rule.pieces.size(); ++i) {
    for (const char c : rule.piece(i)) {
      const auto octet = static_cast<unsigned char>(c);
      rule.octets[octet >> 6] |= std::uint64_t{1} << (octet & 63);
    }
    rule.literal_bytes += rule.pieces[i].size;
  }
  return rule;
}

namespace {

// The first occurrence of `needle` in `text` at or after `from`, or npos: Knuth-Morris-Pratt,
// so O(|text| + |needle|) whatever the two hold (std::string_view::find may compare up to
// |needle| octets at every position: rules x path x piece for a hostile file).
std::size_t find_linear(std::string_view text, std::string_view needle, std::size_t from,
                        std::vector<std::size_t>& fail) {
  if (needle.empty()) return from <= text.size() ? from : std::string_view::npos;
  if (from > text.size() || text.size() - from < needle.size()) return std::string_view::npos;
  if (needle.size() == 1) return text.find(needle.front(), from);
  // fail[i]: length of the longest proper border of needle[0..i].
  fail.assign(needle.size(), 0);
  for (std::size_t i = 1, k = 0; i < needle.size(); ++i) {
    while (k > 0 && needle[i] != needle[k]) k = fail[k - 1];
    if (needle[i] == needle[k]) ++k;
    fail[i] = k;
  }
  for (std::size_t i = from, k = 0; i < text.size(); ++i) {
    while (k > 0 && text[i] != needle[k]) k = fail[k - 1];
    if (text[i] == needle[k]) ++k;
    if (k == needle.size()) return i + 1 - needle.size();
  }
  return std::string_view::npos;
}

}  // namespace

// Wildcard matching without backtracking: pieces between stars are placed greedily at their
// leftmost occurrence. Leftmost placement leaves the most room for every later piece, so if
// any placement matches, this one does; each piece is found in one linear scan from where
// the previous one ended, so a rule costs O(path + pattern), never exponential.
bool RobotsRules::matches(const Rule& rule, std::string_view path, const std::uint64_t (&path_octets)[4],
                          std::vector<std::size_t>& scratch) {
  // Cheap necessary conditions first; on a hostile file they skip most rules in O(1).
  if (path.size() < rule.literal_bytes) return false;
  for (int w = 0; w < 4; ++w) {
    if ((rule.octets[w] & ~path_octets[w]) != 0) return false;
  }
  const std::string_view first = rule.piece(0);
  if (rule.pieces.size() == 1) return rule.anchored ? path == first : path.starts_with(first);
  if (!path.starts_with(first)) return false;
  std::size_t pos = first.size();
  for (std::size_t i = 1; i + 1 < rule.pieces.size(); ++i) {
    const std::string_view piece = rule.piece(i);
    const auto found = find_linear(path, piece, pos, scratch);
    if (found == std::string_view::npos) return false;
    pos = found + piece.size();
  }
  const std::string_view last = rule.piece(rule.pieces.size() - 1);
  if (rule.anchored) return path.size() >= pos + last.size() && path.ends_with(last);
  return find_linear(path, last, pos, scratch) != std::string_view::npos;
}

RobotsRules RobotsRules::parse(std::string_view body, const RobotsOptions& options) {
  if (body.size() > options.max_bytes) {
    const bool cut_at_line_end = body[options.max_bytes] == '\n' || body[options.max_bytes] == '\r';
    body = body.substr(0, options.max_bytes);
    if (!cut_at_line_end) {
      const auto last_eol = body.find_last_of("\r\n");
      body = body.substr(0, last_eol == std::string_view::npos ? 0 : last_eol);
    }
  }
  body = strip_bom(body);

  RobotsRules result;
  std::vector<Group> groups;
  bool in_agent_run = false;  // the previous significant line was a user-agent line
  while (!body.empty()) {
    const auto eol = body.find_first_of("\r\n");
    std::string_view line = body.substr(0, eol);
    body.remove_prefix(eol == std::string_view::npos ? body.size() : eol + 1);

    if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;

    std::size_t sep = line.find(':');
    std::size_t value_start = sep + 1;
    if (sep == std::string_view::npos) {
      // "disallow /x": accept the missing colon when a space separates key and value.
      sep = line.find_first_of(" \t");
      if (sep == std::string_view::npos) continue;
      value_start = sep + 1;
    }
    const std::string_view key = trim(line.substr(0, sep));
    const std::string_view value = trim(line.substr(value_start));

    if (iequals(key, "user-agent")) {
      if (!in_agent_run || groups.empty()) groups.emplace_back();
      in_agent_run = true;
      Group& group = groups.back();
      if (is_global_agent(value)) {
        group.global = true;
      } else {
        const auto token = product_token(value);
        if (!token.empty() && iequals(token, options.user_agent_token)) group.matches = true;
      }
    } else if (iequals(key, "allow") || iequals(key, "disallow")) {
      in_agent_run = false;
      if (groups.empty()) continue;  // rules before any user-agent belong to no group
      if (!value.empty()) groups.back().rules.push_back({iequals(key, "allow"), value});
    } else if (iequals(key, "crawl-delay")) {
      in_agent_run = false;
      if (groups.empty() || groups.back().crawl_delay) continue;
      groups.back().crawl_delay = parse_delay(value, options.max_crawl_delay);
    } else if (iequals(key, "sitemap") || iequals(key, "site-map")) {
      if (!value.empty()) result.sitemaps_.emplace_back(value);
    }
    // Anything else is an unknown record: ignored, and it does not affect grouping.
  }

  const bool any_specific = std::any_of(groups.begin(), groups.end(), [](const Group& g) { return g.matches; });
  for (const Group& group : groups) {
    if (any_specific ? !group.matches : !group.global) continue;
    for (const RawRule& raw : group.rules) result.rules_.push_back(make_rule(raw.allow, raw.value));
    if (!result.crawl_delay_ && group.crawl_delay) result.crawl_delay_ = group.crawl_delay;
  }
  std::stable_sort(result.rules_.begin(), result.rules_.end(), [](const Rule& a, const Rule& b) {
    if (a.specificity != b.specificity) return a.specificity > b.specificity;
    return a.allow && !b.allow;
  });
  return result;
}

RobotsRules RobotsRules::allow_all() { return RobotsRules{}; }

RobotsRules RobotsRules::disallow_all() {
  RobotsRules result;
  result.rules_.push_back(make_rule(false, "/"));
  return result;
}

bool RobotsRules::allowed(std::string_view path_and_query) const {
  if (rules_.empty()) return true;
  std::string path = normalize_octets(path_and_query, /*pattern=*/false);
  if (path.empty() || path.front() != '/') path.insert(path.begin(), '/');
  if (path == "/robots.txt") return true;  // RFC 9309 §2.2.2: implicitly allowed
  std::uint64_t octets[4] = {};
  for (const char c : path) {
    const auto octet = static_cast<unsigned char>(c);
    octets[octet >> 6] |= std::uint64_t{1} << (octet & 63);
  }
  std::vector<std::size_t> scratch;
  for (const Rule& rule : rules_) {
    // Sorted: the first match is the most specific.
    if (matches(rule, path, octets, scratch)) return rule.allow;
  }
  return true;
}

RobotsPolicy from_fetch(int http_status, std::string_view body, bool unreachable, const RobotsOptions& options) {
  if (unreachable) return {RobotsRules::disallow_all(), RobotsSource::Unreachable};
  if (http_status >= 200 && http_status < 300) {
    return {RobotsRules::parse(body, options), RobotsSource::Parsed};
  }
  if (http_status == 429) return {RobotsRules::disallow_all(), RobotsSource::Unreachable};
  if (http_status >= 300 && http_status < 500) {
    return {RobotsRules::allow_all(), RobotsSource::Unavailable};
  }
  return {RobotsRules::disallow_all(), RobotsSource::Unreachable};
}

RobotsFetchStep robots_fetch_step(int http_status, std::string_view body, bool unreachable,
                                  std::string_view redirect_to, int redirects_so_far, const RobotsOptions& options) {
  RobotsFetchStep step;
  const bool redirect = !unreachable && http_status >= 300 && http_status < 400 && !redirect_to.empty();
  if (!redirect) {
    step.policy = from_fetch(http_status, body, unreachable, options);
    return step;
  }
  const NormalizedUrl target = normalize(redirect_to);
  if (redirects_so_far >= kMaxRobotsRedirects || !target.ok()) {
    step.policy = RobotsPolicy{RobotsRules::allow_all(), RobotsSource::Unavailable};
    return step;
  }
  step.next_url = target.url;
  return step;
}

std::string robots_url(const NormalizedUrl& url) {
  const std::string origin = origin_of(url);
  return origin.empty() ? std::string{} : origin + "/robots.txt";
}

}  // namespace rankpool::crawl
