// Fuzz target: robots.txt parsing and matching (crawl/robots.hpp).
//
// Input: a robots.txt body. It is parsed for the default token and checked against probe
// paths: fixed ones and the value of every line (so rule patterns are probed as paths).
// Properties:
//   * "/robots.txt" is always allowed; "" and "/" are the same path;
//   * the product token matches case-insensitively (parse for "rankpool" == "RANKPOOL");
//   * a crawl delay, when present, is a number in [0, max_crawl_delay];
//   * sitemaps are non-empty single lines;
//   * the byte cap: parsing with max_bytes = k equals parsing the body cut at the last
//     line end at or before k (a line cut by the cap is dropped, RFC 9309 §2.5);
//   * wildcard matching agrees with a textbook dynamic-programming matcher, on the first two
//     lines taken as a pattern and a path (restricted to characters that normalization
//     leaves alone, so the reference needs no percent-encoding logic);
//   * robots_fetch_step: a redirect names a canonical http(s) URL to fetch next, the sixth
//     redirect or a bad target ends in "allow all", no response means "disallow all".
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "rankpool/crawl/robots.hpp"
#include "rankpool/crawl/url.hpp"
#include "robots_reference.hpp"

namespace {

using rankpool::crawl::RobotsOptions;
using rankpool::crawl::RobotsRules;

std::vector<std::string_view> lines_of(std::string_view body, std::size_t max_lines) {
  std::vector<std::string_view> lines;
  while (!body.empty() && lines.size() < max_lines) {
    const auto eol = body.find_first_of("\r\n");
    lines.push_back(body.substr(0, eol));
    if (eol == std::string_view::npos) break;
    body.remove_prefix(eol + 1);
  }
  return lines;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string> probe_paths(std::string_view body) {
  std::vector<std::string> paths = {"/",  "",   "/robots.txt", "/a",     "/a/b.html?x=1", "/%2A",
                                    "/*", "/$", "/%7Euser",    "/~user", "/\xC3\xA9"};
  for (const std::string_view line : lines_of(body, 32)) {
    const auto colon = line.find(':');
    std::string_view value = trim(colon == std::string_view::npos ? line : line.substr(colon + 1));
    if (const auto hash = value.find('#'); hash != std::string_view::npos) value = value.substr(0, hash);
    value = trim(value);
    paths.emplace_back(value);
    if (value.ends_with('$')) paths.emplace_back(value.substr(0, value.size() - 1));
    paths.emplace_back(std::string(value) + "x");
  }
  return paths;
}

/// Decisions, delay and counts of two rule sets agree on every probe.
void check_same_rules(const RobotsRules& a, const RobotsRules& b, const std::vector<std::string>& paths,
                      std::string_view what, std::string_view body) {
  FUZZ_CHECK(a.rule_count() == b.rule_count(), {"case", what}, {"body", body});
  FUZZ_CHECK(a.sitemaps() == b.sitemaps(), {"case", what}, {"body", body});
  const auto da = a.crawl_delay();
  const auto db = b.crawl_delay();
  FUZZ_CHECK(da.has_value() == db.has_value() && (!da || *da == *db), {"case", what}, {"body", body});
  for (const std::string& path : paths) {
    FUZZ_CHECK(a.allowed(path) == b.allowed(path), {"case", what}, {"body", body}, {"path", path});
  }
}

void check_rules(const RobotsRules& rules, const RobotsOptions& options, std::string_view body) {
  FUZZ_CHECK(rules.allowed("/robots.txt"), {"body", body});
  FUZZ_CHECK(rules.allowed("") == rules.allowed("/"), {"body", body});
  if (const auto delay = rules.crawl_delay()) {
    FUZZ_CHECK(!std::isnan(*delay) && *delay >= 0 && *delay <= options.max_crawl_delay, {"body", body},
               {"delay", std::to_string(*delay)});
  }
  for (const std::string& sitemap : rules.sitemaps()) {
    FUZZ_CHECK(!sitemap.empty() && sitemap.find_first_of("\r\n") == std::string::npos, {"body", body},
               {"sitemap", sitemap});
  }
}

using rankpool::testing::reference_match;  // the RFC's semantics, the slow obvious way

// Keeps the characters whose normalization is the identity, plus '*' and '$'.
std::string restricted(std::string_view s, std::size_t max_len) {
  std::string out;
  for (const char c : s) {
    if (out.size() == max_len) break;
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' || c == '.' || c == '-' || c == '_' || c == '~' ||
        c == '*' || c == '$') {
      out += c;
    }
  }
  return out;
}

void check_matcher(std::string_view body) {
  const auto lines = lines_of(body, 2);
  if (lines.size() < 2) return;
  const std::string value = restricted(lines[0], 64);
  const std::string raw_path = restricted(lines[1], 128);
  if (value.empty()) return;  // an empty disallow is ignored

  // The library's normalization, for this alphabet: a final '$' anchors, any other '$' is
  // data (%24); a pattern gets a leading '/' unless it starts with '/' or '*'. In the path
  // '*' and '$' are data (%2A, %24), and an empty or relative path gets a leading '/'.
  std::string_view pattern_text = value;
  const bool anchored = pattern_text.ends_with('$');
  if (anchored) pattern_text.remove_suffix(1);
  std::string pattern;
  for (const char c : pattern_text) pattern += c == '$' ? std::string("%24") : std::string(1, c);
  // (append, not insert or operator+: GCC 12 -O3 warns falsely about those, PR 105329)
  if (pattern.empty() || (pattern.front() != '/' && pattern.front() != '*')) {
    pattern = std::string("/").append(pattern);
  }
  std::string path;
  for (const char c : raw_path) {
    path += c == '$' ? std::string("%24") : c == '*' ? std::string("%2A") : std::string(1, c);
  }
  if (path.empty() || path.front() != '/') path = std::string("/").append(path);
  if (path == "/robots.txt") return;

  const RobotsRules rules = RobotsRules::parse("user-agent: *\ndisallow: " + value + "\n");
  const bool expected = !reference_match(pattern, anchored, path);
  FUZZ_CHECK(rules.allowed(raw_path) == expected, {"pattern", value}, {"path", raw_path},
             {"expected", expected ? "allowed" : "disallowed"});
}

void check_fetch_step(std::string_view body) {
  static constexpr int kStatuses[] = {200, 204, 301, 302, 303, 307, 308, 304, 399, 404, 410, 429, 500, 503, 0, -1, 999};
  const std::size_t pick = body.empty() ? 0 : static_cast<unsigned char>(body.back());
  const int status = kStatuses[pick % std::size(kStatuses)];
  const int redirects = static_cast<int>(pick / std::size(kStatuses) % 8);
  const bool unreachable = pick % 29 == 0;
  const auto lines = lines_of(body, 1);
  const std::string_view location = lines.empty() ? std::string_view{} : lines[0];

  const auto step = rankpool::crawl::robots_fetch_step(status, body, unreachable, location, redirects);
  const bool redirect = !unreachable && status >= 300 && status < 400 && !location.empty();
  if (step.done()) {
    FUZZ_CHECK(step.next_url.empty(), {"location", location});
    FUZZ_CHECK(step.policy->allowed("/robots.txt"), {"location", location});
    if (unreachable) {
      FUZZ_CHECK(step.policy->source == rankpool::crawl::RobotsSource::Unreachable && !step.policy->allowed("/"),
                 {"body", body});
    }
    if (redirect) {
      FUZZ_CHECK(step.policy->source == rankpool::crawl::RobotsSource::Unavailable && step.policy->allowed("/") &&
                     step.policy->allowed("/x"),
                 {"location", location});
      FUZZ_CHECK(redirects >= rankpool::crawl::kMaxRobotsRedirects || !rankpool::crawl::normalize(location).ok(),
                 {"location", location});
    }
    return;
  }
  FUZZ_CHECK(redirect && redirects < rankpool::crawl::kMaxRobotsRedirects, {"location", location});
  const auto target = rankpool::crawl::normalize(step.next_url);
  FUZZ_CHECK(!step.next_url.empty() && target.ok() && target.url == step.next_url, {"location", location},
             {"next", step.next_url});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const RobotsOptions options;
  const RobotsRules rules = RobotsRules::parse(body, options);
  check_rules(rules, options, body);
  const std::vector<std::string> paths = probe_paths(body);

  RobotsOptions upper = options;
  upper.user_agent_token = "RANKPOOL";
  check_same_rules(rules, RobotsRules::parse(body, upper), paths, "token case", body);

  // Another token and a small delay cap: still well-formed.
  RobotsOptions other;
  other.user_agent_token = "FooBot";
  other.max_crawl_delay = 1.5;
  check_rules(RobotsRules::parse(body, other), other, body);

  // The byte cap, at a cut point taken from the input.
  if (!body.empty() && body.size() <= options.max_bytes) {
    const std::size_t cut = (static_cast<unsigned char>(body.front()) * 131u + size) % size;
    RobotsOptions capped = options;
    capped.max_bytes = cut;
    std::string_view kept = body.substr(0, cut);
    if (body[cut] != '\n' && body[cut] != '\r') {
      const auto last_eol = kept.find_last_of("\r\n");
      kept = kept.substr(0, last_eol == std::string_view::npos ? 0 : last_eol);
    }
    check_same_rules(RobotsRules::parse(body, capped), RobotsRules::parse(kept, options), paths, "byte cap", body);
  }

  check_matcher(body);
  check_fetch_step(body);
  return 0;
}
