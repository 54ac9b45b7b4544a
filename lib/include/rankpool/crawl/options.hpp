#pragma once
// What a crawl does: its options (every default with its reason) and the job that a run
// of rankpool-crawl hands to its ranks.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "rankpool/status.hpp"
#include "rankpool/version.hpp"

namespace rankpool::crawl {

/// Which origins a crawl may request anything from (robots.txt included).
enum class Scope {
  seeds,   // exactly the seeds' origins (scheme + host + port)
  host,    // the seeds' host names, any scheme or port
  domain,  // the seeds' registered domains (www.a.example.co.uk -> a.example.co.uk)
  any,     // anywhere (bound the crawl with max_depth / max_pages)
};
std::string_view to_string(Scope scope);
/// "seeds", "host", "domain" or "any"; false for anything else.
bool parse_scope(std::string_view text, Scope& scope);

struct CrawlOptions {
  // Shortest link distance from a seed (seeds 0, a link +1, a redirect hop +0); the
  // default is wget -r's. -1: unlimited (the trap guards below still bound a crawl).
  int max_depth = 5;
  // Seconds between two requests to one origin. Not 0 by default: a crawler that
  // hammers a site gets blocked. robots.txt's Crawl-delay wins when larger.
  double delay = 0.5;
  // Requests in flight per origin at once; politeness as RFC 9309 crawlers practise it.
  int per_host_connections = 1;
  // Crawl-delay values above this are clamped: a site asking for more would stall its
  // queue for minutes per page.
  double max_crawl_delay = 30;
  Scope scope = Scope::seeds;
  // Pages (fetched URLs, redirects and errors included; robots.txt not) across all
  // ranks; 0 = no limit. Exact: ranks draw permits from the master.
  std::uint64_t max_pages = 0;
  std::uint64_t max_pages_per_host = 0;  // per origin; 0 = no limit
  // ECMAScript regular expressions searched in the canonical URL: a URL is followed when
  // it matches some include (or there is none) and no exclude. Seeds are exempt.
  std::vector<std::string> include, exclude;
  // Trap guards: calendars and session-id loops grow URLs without bound.
  std::size_t max_url_length = 2048;
  int max_path_depth = 32;       // path segments
  int max_repeated_segment = 3;  // occurrences of one segment in a path (/a/b/a/b/a/b/a)
  // Sent on every request; its product token ("rankpool-crawl") selects robots.txt groups.
  // The version is the project's; rankpool-crawl adds " (+CONTACT)" from --contact, which a
  // crawl of other people's sites should give (their operators need a way to reach the user).
  std::string user_agent = default_user_agent();

  /// "rankpool-crawl/VERSION (+CONTACT)", or "rankpool-crawl/VERSION" with no contact.
  static std::string default_user_agent(std::string_view contact = {}) {
    std::string ua = std::string("rankpool-crawl/") + RANKPOOL_VERSION_STRING;
    if (!contact.empty()) ua += std::string(" (+") + std::string(contact) + ")";
    return ua;
  }
  bool ignore_robots = false;  // for sites you own; never the default
  // Also follow <link rel=...>, frames, iframes and meta refresh (always recorded in
  // links.tsv); by default only <a href> and <area href> are followed, as browsers' users do.
  bool follow_all = false;
  bool save_bodies = false;  // write HTML bodies under OUT/bodies/ on the fetching rank's host
  // Transfers in flight per crawling rank (over all its hosts): throughput comes from
  // breadth, and libcurl's multi interface drives them all on one thread.
  std::size_t max_in_flight = 128;
  double connect_timeout = 2;            // seconds; a dead host must not hold a transfer slot
  double timeout = 10;                   // seconds per transfer; bounds tarpits and endless bodies
  std::size_t max_page_bytes = 8 << 20;  // decoded; bigger pages are recorded as too_large
  bool quiet = false;                    // no progress line and no final summary on stderr
  // Seconds between checkpoint writes (OUT/checkpoint.json; also at the start, at a signal
  // and at the end), written only when it changed. The results themselves are in the
  // flushed logs; a stale checkpoint costs only the robots.txt fetches of origins first
  // reached since the last write, so a write every 10 s is plenty and costs nothing
  // measurable. 0: only at the start and the end.
  double checkpoint_interval = 10;
  // WARC/1.1 files of every fetch under OUT/warc/ (warc.hpp), written by each crawling rank on
  // its own host. Off by default: a crawl log and link graph is what most runs want, and an
  // archive costs disk (every body, not only HTML) and some speed.
  bool warc = false;
  // Bytes after which a rank starts its next WARC file: the customary 1 GB.
  std::uint64_t warc_max_size = 1'000'000'000;
  bool warc_cdx = false;  // a sorted CDXJ index beside each WARC file (for replay tools)
  // The network: decided once, on rank 0, from the command line and rank 0's environment
  // (see choose_proxies, choose_ca_cert), so every rank goes the same way whatever its node's
  // environment says. Default: direct, libcurl's CA store, every type fetched.
  std::string http_proxy, https_proxy, no_proxy;  // FetchOptions' fields of the same names
  std::string ca_cert;                            // a PEM CA bundle path; must exist on every node
  // Media types fetched whole ("text/html", "text/*"); others stop after their headers.
  // Empty: everything, as a crawl that keeps non-HTML bodies (--save-bodies, WARC) wants.
  std::vector<std::string> accept_types;
  // Also read each in-scope origin's sitemaps (those its robots.txt names, else /sitemap.xml)
  // and crawl their URLs as seeds of depth 0. Off by default, as in wget and Heritrix: a
  // sitemap can list far more than a crawl from the seeds would reach.
  bool sitemaps = false;

  // Transient failures (a connect error, a reset, a timeout, or one of retry_codes) are
  // tried again. 2 more attempts, as Scrapy's RETRY_TIMES: enough for a restarting server or
  // a dropped connection, and a URL that fails three times running is usually not transient.
  int retries = 2;
  // HTTP statuses that mean "try again later" rather than "this page is broken": 429 Too
  // Many Requests and the 5xx answers of an overloaded or restarting server or gateway
  // (Scrapy's list, without its nonstandard 5xx). Other statuses are final.
  std::vector<int> retry_codes = {429, 500, 502, 503, 504};
  // Per-origin exponential back-off after a transient failure: base * 2^(n-1) for the n-th
  // failure in a row, capped, and drawn in [half, whole] (jitter, so ranks do not retry in
  // step). 1 s: a restarting server or a full accept queue needs seconds, not milliseconds,
  // and the first retry still comes before most humans notice.
  double retry_backoff = 1;
  // 120 s: after seven failures in a row an origin is retried every one to two minutes,
  // long enough to let a struggling server recover, short enough not to stall the crawl.
  double max_retry_backoff = 120;
  // A server's Retry-After (seconds or an HTTP date) is obeyed for its origin up to this.
  // 600 s: a server asking for longer is saying "not today"; waiting ten minutes is polite,
  // waiting hours would hold the crawl's end hostage.
  double max_retry_after = 600;
  // An origin whose requests fail this many times in a row with no HTTP response at all
  // (connect, timeout, reset) is given up: its queued URLs get an "origin_gave_up" record.
  // 20: well beyond a server restart at the default back-off (minutes of silence), and
  // few enough that a dead host does not keep the crawl alive. 0: never give up.
  int origin_give_up = 20;
  // Bytes of queued URLs a crawling rank keeps in memory; beyond, its host queues spill to a
  // file (frontier.hpp) and come back in the same order. 256 MiB: about a million queued URLs
  // in memory, a small share of a node's memory per rank even at one rank per core, while a
  // crawl of 10^7 URLs per rank stays bounded. 0: no limit.
  std::uint64_t frontier_memory = 256ull << 20;
  // Each crawling rank writes its own records and links (OUT/shards/pages.R.jsonl,
  // links.R.tsv) and sends rank 0 only their counts; rank 0 appends the shards to pages.jsonl
  // and links.tsv at the end (and a resume does, first, after a kill). Off by default: it
  // needs OUT on a filesystem that every rank's host shares, and rank 0 writing every record
  // itself is the ceiling only from some 10-50 crawling ranks at loopback rates (~1,000 at
  // real-web rates; docs/scale.md, "The crawler's rank 0").
  bool output_shards = false;

  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar& max_depth& delay& per_host_connections& max_crawl_delay& scope& max_pages& max_pages_per_host& include& exclude&
        max_url_length& max_path_depth& max_repeated_segment& user_agent& ignore_robots& follow_all& save_bodies&
            max_in_flight& connect_timeout& timeout& max_page_bytes& quiet& checkpoint_interval;
    ar& http_proxy& https_proxy& no_proxy& ca_cert& accept_types;
    ar& sitemaps;
    ar& retries& retry_codes& retry_backoff& max_retry_backoff& max_retry_after& origin_give_up;
    ar& warc& warc_max_size& warc_cdx;
    ar& frontier_memory;
    ar& output_shards;
  }
};

/// Reads an environment variable: a pointer to its value, or null when unset (std::getenv).
using EnvLookup = std::function<const char*(const char*)>;

/// The proxies a crawl uses, and where each came from (for the line rank 0 prints).
struct ProxyChoice {
  std::string http, https, no_proxy;                 // "" = direct / no exception
  std::string http_from, https_from, no_proxy_from;  // "--proxy", "http_proxy", "ALL_PROXY", ...
  bool any() const { return !http.empty() || !https.empty(); }
  /// One line: "proxy http://h:3128 for http (http_proxy) and https (https_proxy); direct for
  /// no_proxy '...' (no_proxy)", passwords shown as ***; "no proxy" when direct.
  std::string describe() const;
};

/// The proxies as curl reads them: `--proxy URL` (proxy_option non-empty) for both schemes;
/// else, unless ignore_environment (--no-proxy), http_proxy (lower case only, as curl: the
/// upper-case form is settable by CGI requests), https_proxy or HTTPS_PROXY, then all_proxy or
/// ALL_PROXY for either; no_proxy or NO_PROXY for the exceptions (also with --proxy, as curl
/// -x does), unless ignore_environment. Empty values count as unset. A URL without a scheme
/// is http://; http, https, socks4, socks4a, socks5 and socks5h proxies are accepted.
/// Error: one line naming the option or variable.
[[nodiscard]] Result<ProxyChoice> choose_proxies(const std::string& proxy_option, bool ignore_environment,
                                                 const EnvLookup& env);

/// The CA bundle: ca_cert_option, else CURL_CA_BUNDLE, else SSL_CERT_FILE (as the curl tool
/// reads them; empty values count as unset), else "" (libcurl's default store). The file must
/// be readable and hold a PEM certificate; its absolute path is returned. Error: one line
/// naming the option or variable.
[[nodiscard]] Result<std::string> choose_ca_cert(const std::string& ca_cert_option, const EnvLookup& env);

/// "text/html, application/xhtml+xml" → {"text/html", "application/xhtml+xml"}: comma-
/// separated media types, "type/subtype" or "type/*" or "*/*", lower-cased; error on an
/// empty list or a malformed entry.
[[nodiscard]] Result<std::vector<std::string>> parse_accept_types(std::string_view list);

/// Checks the options against each other: ok when they are usable, else a one-line reason.
[[nodiscard]] Status validate(const CrawlOptions& options);

/// The robots.txt product token of a User-Agent string: its leading [A-Za-z_-] run
/// ("rankpool-crawl/0.1 (...)" -> "rankpool-crawl"); "rankpool" when there is none.
std::string robots_token(std::string_view user_agent);

}  // namespace rankpool::crawl
