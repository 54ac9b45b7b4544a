#pragma once
// A deterministic synthetic web and the ground truth of crawling it.
//
// The web is a set of origins on loopback: hosts 127.0.0.2, 127.0.0.3, ... (one per
// WebSpec::hosts) plus one extra origin on the first host's second port. Every origin
// serves the same path layout; which pages link where is drawn from a seeded RNG, so the
// same WebSpec gives the same web (URLs differ only by the ports actually bound).
//
// Path layout of every origin (N = pages_per_host):
//   /                 page 0 (home). Links to /p/1, to random pages, and (link_specials) to
//                     every special path below plus an out-of-scope origin and mailto:,
//                     javascript: and ftp: links (which a crawler must ignore).
//   /p/1 .. /p/N-1    HTML pages; page k links to page k+1 (N-1 links to /), then to
//                     random pages of this and other origins. Hrefs come in every style:
//                     absolute, "HTTP://" upper-case scheme, protocol-relative, root-
//                     relative, relative, with dot segments, with #fragments; pages with
//                     k % 5 == 2 carry <base href="/p/sub/"> and their relative hrefs are
//                     written against that base.
//   /private/1..3     HTML chain 1→2→3; disallowed by robots.txt where the origin says so.
//   /redirect/same    301, Location relative, to a page of the same origin.
//   /redirect/cross   302, absolute Location, to a page of the next origin.
//   /redirect/loop/1  302 → /redirect/loop/2 → 302 → /redirect/loop/1 (a loop).
//   /redirect/out     301 to http://127.0.0.1:9/elsewhere (never in scope).
//   /missing          404 (so is every unknown path); /error: 500. Error bodies link to /.
//   /slow             200 HTML without links, answered after WebSpec::slow_delay.
//   /file.txt         text/plain mentioning URLs (not HTML: must not be parsed).
//   /image.png        image/png.
//   /big              200 HTML, big_body_bytes long, with Content-Length; no links.
//   /big-chunked      the same, chunked (no Content-Length).
//   /big.gz           the same, gzip-encoded whatever Accept-Encoding says (a small bomb:
//                     a few KiB on the wire, big_body_bytes decoded).
//   /large.pdf        200 application/pdf, pdf_bytes long (not linked from anywhere: a seed
//                     for tests of a crawl that accepts only some types).
//   /malformed        tag soup: unquoted and upper-case attributes, unclosed tags; its
//                     http links count, its mailto:/javascript: links do not.
//   /trap/n           an endless chain: /trap/n links to /trap/n+1 (cut by max depth).
//   /robots.txt       per origin, see RobotsKind.
// With WebSpec::sitemaps (crawlers' --sitemaps; without it these paths are 404):
//   /orphan/1..20     HTML pages no page links to (only sitemaps list them): orphan k links
//                     to /p/(k mod N) and to /orphan/k+10 (for k <= 10).
//   origin 0          robots.txt names /sitemaps/index.xml and a foreign sitemap (ignored);
//                     the index lists pages.xml, more.xml.gz (gzip, application/x-gzip, no
//                     Content-Encoding), broken.xml (malformed: never closed, so none of its
//                     URLs count), missing.xml (404), another origin's sitemap (ignored: a
//                     crawler reads an origin's sitemaps from that origin only) and itself.
//                     pages.xml lists orphans (one with &amp; in its query, one in CDATA), the
//                     last page, a robots-disallowed page, an out-of-scope URL and an orphan
//                     of origin 1.
//   origin 1          (no robots.txt) /sitemap.xml with namespace-prefixed elements.
//   other origins     no sitemap: /sitemap.xml is 404 (origin 2's robots.txt blocks it).
//
// Fault paths (the server's, not the model's: they depend on how often they were asked; no
// page links to them, a test names them as seeds). The n-th request of a path, per origin:
//   /fault/status/CODE/K   n <= K: CODE (e.g. 503, 429), with "Retry-After: N" for ?ra=N or
//                          an HTTP date N seconds ahead for ?ra-date=N; then 200 HTML.
//   /fault/reset/K         n <= K: the connection is reset (RST) without an answer; then 200.
//                          Only on a fresh connection: a reused one is closed quietly first
//                          (not counted, not logged), which clients retry by themselves.
//   /fault/slow/K          n <= K: answered after WebSpec::fault_wait; then at once. 200 HTML.
// Each answer after the faults is "<p>recovered</p>" without links. WebSpec::robots_failures
// makes every origin's robots.txt answer 503 that many times before its normal answer, and
// WebSpec::silent makes every origin read requests and never answer (nor close).
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rankpool::testweb {

struct WebSpec {
  int hosts = 4;                               // 127.0.0.2 ... ; the first four get the four robots variants
  int pages_per_host = 50;                     // pages /, /p/1 .. /p/N-1 on every origin (at least 2)
  int out_degree = 6;                          // links per /p/k page (the chain link included)
  std::uint64_t seed = 1;                      // the link graph is a function of this and the sizes
  int base_port = 0;                           // every host listens here, the extra origin on base_port+1;
                                               // 0 binds ephemeral ports (tests run in parallel safely)
  std::string first_address = "127.0.0.2";     // host i is the i-th loopback address from here on, skipping
                                               // last octets 0 and 255 (127.0.0.254, then 127.0.1.1)
  std::chrono::milliseconds latency{0};        // added to every response, emulating a WAN
  std::chrono::milliseconds slow_delay{2000};  // extra delay of /slow
  std::size_t big_body_bytes = 9 << 20;        // /big*: above the fetcher's default 8 MiB cap
  std::size_t pdf_bytes = 4 << 20;             // /large.pdf: below that cap
  double crawl_delay_seconds = 0.2;            // Crawl-delay: written in host 3's robots.txt
  bool link_specials = true;                   // whether home pages link to the special paths
  bool validators = false;                     // Last-Modified and ETag on 200 responses (the crawl log's fields)
  bool gzip_pages = false;                     // gzip 200 responses for clients sending Accept-Encoding: gzip
  int threads = 2;                             // server threads
  bool sitemaps = false;                       // serve the sitemaps and orphan pages described above
  int robots_failures = 0;                     // every robots.txt answers 503 this many times first
  std::chrono::milliseconds fault_wait{5000};  // of /fault/slow/K
  bool silent = false;                         // read requests, log them (status 0), never answer
  std::string access_log_file;                 // also append the access log here when not empty, one line per
                                // request: "2026-11-25T21:10:30.123456Z 127.0.0.2:8080 GET /p/3 200 \"UA\""
                                // (the origin written "https://127.0.0.2:8443" for an https one)
  // https: hosts 0 .. tls_hosts-1 serve TLS with this certificate chain and key (PEM files,
  // e.g. a CA made by the test). The extra origin stays http, so http://127.0.0.2:P+1 and
  // https://127.0.0.2:P are two origins on one server, and its /redirect/cross goes http → https.
  int tls_hosts = 0;
  std::string tls_cert_file, tls_key_file;
};

/// What each origin's /robots.txt does. Host i (0-based) gets variant i for i < 4, the
/// extra origin gets AllowAllButBadBot, further hosts get DisallowPrivate.
enum class RobotsKind {
  DisallowPrivate,    // 200: "User-agent: *" / "Disallow: /private/"
  Missing,            // 404: everything allowed (RFC 9309 2.3.1.3)
  ServerError,        // 500: everything disallowed (RFC 9309 2.3.1.4) — only robots.txt fetched
  CrawlDelay,         // 200: Crawl-delay, "Disallow: /private/" and "Disallow: /p/1" (a prefix:
                      // it also blocks /p/10../p/19, /p/100...)
  AllowAllButBadBot,  // 200: a "User-agent: badbot" group disallowing /, and "User-agent: *"
                      // with an empty Disallow (everything allowed for anyone else)
};

struct Origin {
  std::string address;  // IPv4 literal
  int port = 0;
  bool tls = false;  // https
  /// "http://127.0.0.2:8080" or "https://...": canonical, the port is always explicit
  /// since it is never 80 or 443.
  std::string str() const;
};

/// One response of the web, as the server sends it.
struct Response {
  int status = 200;
  std::string content_type;
  std::string content_encoding;  // "gzip" for /big.gz
  std::string location;          // Location header of a 3xx, as written (may be relative)
  std::string retry_after;       // Retry-After header (fault paths only)
  std::string body;
  bool chunked = false;                // send without Content-Length
  std::chrono::milliseconds delay{0};  // extra delay of this path (WebSpec::latency is added)
  // Canonical absolute targets of the page's http(s) <a href> links, in document order,
  // duplicates kept; filled for 200 HTML only. A crawler parses only 200 HTML responses.
  std::vector<std::string> links;
  std::string redirect_target;  // canonical absolute form of `location`
  // A well-formed sitemap (WebSpec::sitemaps): its kind and its <loc>s as canonical absolute
  // URLs, decoded. A malformed one is served with sitemap == none.
  enum class Sitemap { none, urlset, index } sitemap = Sitemap::none;
  std::vector<std::string> sitemap_locs;
};

/// The web as a function: (origin, path) → Response. Immutable and thread-safe.
class WebModel {
 public:
  /// origins: the hosts then the extra origin (spec.hosts + 1 entries), as bound.
  WebModel(WebSpec spec, std::vector<Origin> origins);
  /// The origins a spec with a fixed base_port binds.
  static std::vector<Origin> planned_origins(const WebSpec& spec, int base_port);

  const WebSpec& spec() const { return spec_; }
  const std::vector<Origin>& origins() const { return origins_; }
  RobotsKind robots_kind(std::size_t origin) const;
  /// True when the origin's robots.txt lets a crawler (any user agent but "badbot") fetch
  /// `path`: plain prefix matching, which is exact for the rules this web writes.
  bool robots_allows(std::size_t origin, std::string_view path) const;

  /// The sitemap URLs the origin's robots.txt names (canonical absolute, any origin).
  std::vector<std::string> robots_sitemaps(std::size_t origin) const;

  /// The response for a request target (path, optionally with ?query) on an origin.
  Response respond(std::size_t origin, std::string_view target) const;
  /// The same for a canonical absolute URL of this web; nullopt for a foreign origin.
  std::optional<Response> respond(std::string_view url) const;
  /// Index of "http://a.b.c.d:port" in origins(), if it is one of them.
  std::optional<std::size_t> origin_index(std::string_view origin) const;
  /// origins()[origin].str() + path
  std::string url(std::size_t origin, std::string_view path) const;

 private:
  Response page(std::size_t origin, int k) const;
  std::optional<Response> sitemap_file(std::size_t origin, std::string_view path) const;
  std::string robots_txt(std::size_t origin) const;

  WebSpec spec_;
  std::vector<Origin> origins_;
  std::shared_ptr<const std::string> gzip_bomb_;
  std::unordered_map<std::string, std::size_t> index_;  // origins_[i].str() -> i: origin_index() at 10^4 origins
};

/// gzip (RFC 1952) of `data`, as Content-Encoding: gzip carries it.
std::string gzip_compress(const std::string& data);

/// Splits a canonical absolute http URL into ("http://host:port", "/path?query").
std::pair<std::string, std::string> split_url(std::string_view url);

/// What a correct crawl fetches. A correct crawler:
///  - starts from the seeds at depth 0; a link found on a page at depth d has depth d+1,
///    a redirect target has the redirect's depth (a hop costs nothing); a URL is requested
///    at most once, at its smallest depth, and only when that depth <= max_depth;
///  - requests only URLs whose origin is in scope (default: the seeds' origins) and that
///    the origin's robots.txt allows; it fetches an origin's /robots.txt once, before the
///    first URL of that origin discovered within max_depth (listed in `robots`, not in
///    `fetched`) — so with the default scope every scope origin's robots.txt is fetched;
///  - strips #fragments and resolves hrefs against the page URL or its <base href>;
///  - parses links only from 200 responses whose type is HTML; 3xx targets are followed
///    as new URLs (loops end by dedup); 404/500, text/plain, images and too-large bodies
///    are fetched but yield no links; the trap is cut by max_depth; mailto:, javascript:
///    and ftp: hrefs are ignored;
///  - with `sitemaps` (the crawler's --sitemaps): for every origin whose robots.txt it
///    fetches, requests the sitemaps that robots.txt names on that origin (else
///    /sitemap.xml) and those a sitemap index there lists on that origin (not an index in an
///    index), each once and only where robots.txt allows; no redirect is followed and a
///    malformed file gives nothing; every <loc> of a urlset is a seed of depth 0 (scope and
///    robots.txt apply). The sitemap requests are listed in `sitemaps`, not in `fetched`.
struct GroundTruth {
  std::map<std::string, int> fetched;            // URL → depth: every page request (robots.txt excluded)
  std::map<std::string, int> status;             // URL → HTTP status the server answers
  std::set<std::string> robots;                  // robots.txt URLs fetched (one per origin in scope)
  std::set<std::string> blocked;                 // discovered within depth and scope, robots-disallowed
  std::set<std::string> out_of_scope;            // discovered within depth, origin not in scope
  std::map<std::string, std::string> redirects;  // fetched 3xx URL → canonical target
  // Links of every fetched 200 HTML page: (page, canonical target), deduplicated, targets in
  // or out of scope, fetched or not (a page at max_depth is parsed; its links are not
  // followed). Together with `fetched` it is the crawled web graph.
  std::set<std::pair<std::string, std::string>> edges;
  std::map<std::string, int> sitemaps;  // sitemap URL requested → HTTP status (with `sitemaps`)
};

GroundTruth truth(const WebModel& web, const std::vector<std::string>& seeds, int max_depth,
                  std::vector<std::string> scope = {}, bool sitemaps = false);

/// The truth as JSON text (for rankpool-testweb --truth and the demo).
std::string to_json(const GroundTruth& truth, const WebModel& web, const std::vector<std::string>& seeds,
                    int max_depth);

}  // namespace rankpool::testweb
