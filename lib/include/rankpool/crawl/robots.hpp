#pragma once
// robots.txt per RFC 9309: parsing, group selection for one crawler, and path matching.
//
// Decisions where the RFC leaves room (each mirrors Google's reference parser unless noted):
//   * A group is a run of consecutive user-agent lines followed by its rule lines;
//     allow/disallow/crawl-delay end the run. Blank lines, sitemap and unknown lines neither
//     start nor end a group (RFC 9309 §2.2.4). Rules before the first user-agent are ignored.
//   * A user-agent value matches when its leading product token (the characters
//     [A-Za-z_-] before anything else, so "FooBot/2.1" and "FooBot Images" give "FooBot")
//     equals the crawler's token case-insensitively. All matching groups are merged; if none
//     match, all "*" groups are merged; with neither, everything is allowed.
//   * Keys are case-insensitive; a missing colon ("disallow /x") is accepted.
//   * Patterns and paths are compared after the same percent-encoding normalization:
//     non-ASCII and control octets are encoded, escapes are upper-cased, escapes of
//     unreserved characters decoded. Reserved characters are compared as written (`%2F` is
//     not `/`). In paths a literal `*` or `$` is compared as `%2A`/`%24`, so a pattern can
//     name them by escape (RFC 9309 §2.2.3). `$` anchors only at the end of a pattern.
//   * A pattern not starting with `/` or `*` gets a leading `/` ("disallow: private/"
//     means /private/). Empty allow/disallow values are ignored (empty disallow = allow all).
//   * The most specific (longest normalized pattern) match wins; allow wins ties.
//   * Crawl-delay: the first valid value in the selected groups, clamped to max_crawl_delay.
//   * Sitemap lines are collected from anywhere in the file.
//   * Input beyond max_bytes is ignored, and so is a line cut by that limit (a truncated
//     allow rule could otherwise allow more than the site meant).
//
// Cost bounds against a hostile file (the site controls both robots.txt and the links that
// lead to its paths). Parsing is one pass over at most max_bytes (512 KiB; RFC 9309 §2.5
// asks for at least 500 KiB, so no rule within it is dropped). The rules kept cost at most
// a small constant times the pattern bytes: runs of '*' collapse to one, and pieces are
// offsets into the pattern. allowed() on a normalized path of n octets costs at most
// O(R·n + P) for R rules of P pattern octets (P <= max_bytes): every piece is located with
// KMP (linear, no backtracking: leftmost placement is the only one tried, see matches()),
// and a rule is skipped in O(1) when the path is shorter than its literal octets or lacks
// one of its octets. 512 KiB hold some tens of thousands of rules, so with a 2 KiB URL (the
// crawler's --max-url-length) a call is bounded by ~10^8 simple steps; 13,000 rules that
// no cheap test skips measured ~30 ms (tests/unit/crawl/pathological_test.cpp), and files
// that real sites serve cost microseconds. Only the site serving such a file pays: its
// URLs are the ones checked against it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rankpool/crawl/url.hpp"

namespace rankpool::crawl {

/// The crawler follows at most this many redirects when fetching robots.txt (RFC 9309
/// §2.3.1.2); beyond that the file counts as unavailable.
constexpr int kMaxRobotsRedirects = 5;

struct RobotsOptions {
  // The product token matched against user-agent lines; RFC 9309 wants [A-Za-z_-] only.
  std::string user_agent_token = "rankpool";
  // RFC 9309 §2.5 requires parsing at least 500 KiB; the cap bounds memory per host.
  std::size_t max_bytes = 512 * 1024;
  // Seconds; a site asking for more would stall its queue for minutes per page.
  double max_crawl_delay = 30;
};

class RobotsRules {
 public:
  /// Parses `body` and keeps only what applies to `options.user_agent_token`.
  static RobotsRules parse(std::string_view body, const RobotsOptions& options = {});
  static RobotsRules allow_all();
  static RobotsRules disallow_all();

  /// `path_and_query` as on the request line ("/a/b?c"); an empty path means "/".
  /// "/robots.txt" is always allowed.
  bool allowed(std::string_view path_and_query) const;
  /// Seconds between requests asked for by the selected group(s), if any.
  std::optional<double> crawl_delay() const { return crawl_delay_; }
  /// Sitemap URLs as written in the file, in file order.
  const std::vector<std::string>& sitemaps() const { return sitemaps_; }
  /// Number of allow/disallow rules that apply to this crawler (for diagnostics).
  std::size_t rule_count() const { return rules_.size(); }

 private:
  struct Piece {
    std::size_t begin = 0;  // offset in Rule::pattern
    std::size_t size = 0;
  };
  struct Rule {
    bool allow = false;
    std::string pattern;          // normalized, without the trailing '$'
    bool anchored = false;        // pattern ended with '$'
    std::size_t specificity = 0;  // octets of the normalized pattern, '$' included
    // The pattern split at '*', empty pieces between two stars dropped (the first and last
    // piece stay, empty or not: they say whether the pattern is open at either end).
    std::vector<Piece> pieces;
    std::size_t literal_bytes = 0;  // octets outside '*': a shorter path cannot match
    std::uint64_t octets[4] = {};   // the set of octets in the pieces, one bit each
    std::string_view piece(std::size_t i) const {
      return std::string_view(pattern).substr(pieces[i].begin, pieces[i].size);
    }
  };
  static Rule make_rule(bool allow, std::string_view value);
  // `path_octets` is the octet set of `normalized_path`; `scratch` holds KMP tables.
  static bool matches(const Rule& rule, std::string_view normalized_path, const std::uint64_t (&path_octets)[4],
                      std::vector<std::size_t>& scratch);
  std::vector<Rule> rules_;  // sorted: most specific first, allow before disallow on ties
  std::optional<double> crawl_delay_;
  std::vector<std::string> sitemaps_;
};

/// How a robots.txt fetch ended, and so what the rules are based on.
enum class RobotsSource {
  Parsed,       // 2xx: the body's rules
  Unavailable,  // 4xx (or too many redirects): no file, everything allowed (§2.3.1.3)
  Unreachable,  // 5xx, 429, network failure: everything disallowed (§2.3.1.4)
};

struct RobotsPolicy {
  RobotsRules rules;
  RobotsSource source = RobotsSource::Parsed;
  bool allowed(std::string_view path_and_query) const { return rules.allowed(path_and_query); }
};

/// Maps a fetch outcome to a policy. `unreachable` is true when no HTTP response arrived
/// (DNS, connect, timeout). 3xx means the crawler gave up after kMaxRobotsRedirects hops.
/// 429 is treated like 5xx: the server asks us to back off, so fetching pages would be rude.
RobotsPolicy from_fetch(int http_status, std::string_view body, bool unreachable, const RobotsOptions& options = {});

/// One step of fetching an origin's robots.txt, redirects included (RFC 9309 §2.3.1.2:
/// follow at least five). Give it the outcome of fetching the current URL and the number
/// of redirects followed so far: it either names the next URL to fetch (a redirect target,
/// normalized) or gives the final policy. A sixth redirect, or a target that is not an
/// http(s) URL, means the file is unavailable: everything allowed.
struct RobotsFetchStep {
  std::optional<RobotsPolicy> policy;  // set when done
  std::string next_url;                // otherwise: fetch this next
  bool done() const { return policy.has_value(); }
};
RobotsFetchStep robots_fetch_step(int http_status, std::string_view body, bool unreachable,
                                  std::string_view redirect_to, int redirects_so_far,
                                  const RobotsOptions& options = {});

/// "scheme://host[:port]/robots.txt" for the origin of `url`; empty for a failed URL.
std::string robots_url(const NormalizedUrl& url);

}  // namespace rankpool::crawl
