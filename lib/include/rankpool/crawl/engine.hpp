#pragma once
// One crawling rank's engine: the hosts it owns, their queues, robots.txt and politeness,
// the seen-set with shortest depths, and its fetcher. No MPI: the distributed crawler
// (crawler.hpp) moves URLs between engines and records to the master; unit tests drive an
// engine directly with a FakeFetcher.
//
// Depth is the shortest link distance from a seed, whatever order URLs arrive in. An
// engine fetches a URL once, the first time it is offered within max_depth; when the same
// URL is offered again at a smaller depth after it was fetched, the engine re-offers the
// page's stored out-links (and redirect target) at the improved depth, so every URL whose
// shortest distance is <= max_depth is reached — a Bellman-Ford relaxation over the
// crawled graph, which converges because depths only decrease. Per-host queues pop the
// smallest depth first, so improvements are rare in practice (depth_improvements counts
// them, and depth_fixes() lists records that went out with a stale depth).
//
// --sitemaps: once an origin's robots.txt is settled, its sitemaps (those robots.txt names
// on the same origin, else /sitemap.xml; the sitemaps of a sitemap index on the same origin)
// are fetched before its pages, like robots.txt not as pages, and their URLs that may be
// followed are offered at depth 0, as seeds are.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rankpool/crawl/fetcher.hpp"
#include "rankpool/crawl/frontier.hpp"
#include "rankpool/crawl/options.hpp"
#include "rankpool/crawl/records.hpp"
#include "rankpool/crawl/robots.hpp"
#include "rankpool/crawl/seen_set.hpp"
#include "rankpool/crawl/url.hpp"
#include "rankpool/fnv1a.hpp"

namespace rankpool::crawl {

/// "http://host:port" of a canonical URL (as normalize() writes it): everything before
/// the path. Cheaper than parsing when the URL is known to be canonical.
std::string_view canonical_origin(std::string_view canonical_url);

/// Scope, include/exclude patterns and trap guards: may the crawl follow this URL?
class UrlFilter {
 public:
  enum class Verdict { follow, out_of_scope, excluded, trap };
  /// `seeds` are canonical; they define the scope.
  UrlFilter(const CrawlOptions& options, const std::vector<NormalizedUrl>& seeds);
  Verdict check(const NormalizedUrl& url) const;
  /// Only the scope part (robots.txt redirects are checked against it).
  bool in_scope(const NormalizedUrl& url) const;

 private:
  CrawlOptions options_;
  std::vector<std::string> origins_, hosts_, domains_;
  std::vector<std::regex> include_, exclude_;
};

struct HostStats {
  std::string origin;
  int rank = 0;
  std::uint64_t pages = 0, bytes = 0, errors = 0, blocked = 0;
  std::string robots;  // "parsed", "unavailable", "unreachable", "ignored", "pending" (not fetched yet,
                       // or failed with 5xx/429/no response after its retries: disallowed for now)
  double delay = 0;    // effective seconds between requests
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    describe_serialize(ar, *this);
  }
};
BOOST_DESCRIBE_STRUCT(HostStats, (), (origin, rank, pages, bytes, errors, blocked, robots, delay))

/// A URL fetched by an earlier run (a line of pages.jsonl), handed to its owner when a
/// crawl resumes: it is not fetched again, and its followable out-links and redirect are
/// kept for relaxation, exactly as if this engine had fetched it.
struct FetchedUrl {
  std::string url;
  int depth = 0;                      // shortest depth over what the logs hold
  int recorded_depth = 0;             // the depth its pages.jsonl line carries (fixed at the end if larger)
  std::vector<std::string> children;  // followable out-links (post-filter)
  std::string redirect;               // followable redirect target
  std::uint64_t bytes = 0;
  bool failed = false;  // counted as an error of its host
  bool operator==(const FetchedUrl&) const = default;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    describe_serialize(ar, *this);
  }
};
BOOST_DESCRIBE_STRUCT(FetchedUrl, (), (url, depth, recorded_depth, children, redirect, bytes, failed))

struct EngineStats {
  std::uint64_t pages = 0, bytes = 0, robots_fetches = 0, links = 0;
  std::uint64_t offered = 0;                               // URLs offered to this engine (seeds, own, peers)
  std::uint64_t duplicates = 0;                            // offers of a URL already known at <= depth
  std::uint64_t out_of_scope = 0, excluded = 0, trap = 0;  // links not followed (filter)
  std::uint64_t blocked = 0;                               // disallowed by robots.txt
  std::uint64_t over_host_limit = 0;                       // not fetched: max_pages_per_host
  std::uint64_t over_max_pages = 0;                        // not fetched: max_pages reached
  std::uint64_t depth_improvements = 0;                    // fetched URLs later reached by a shorter path
  double fetch_wait_s = 0;                                 // time spent inside Fetcher::poll
  // Memory (issue #16), as of the last pump(): the seen-set and the fetched pages' index,
  // the frontier's memory (now, and the most so far: its queued entries, which --frontier-memory
  // bounds, and the bookkeeping of its segments on disk, which it does not), and how many
  // queued URLs went to its spill file.
  std::uint64_t seen_urls = 0, seen_bytes = 0, frontier_bytes = 0, frontier_peak_bytes = 0, frontier_spilled = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    describe_serialize(ar, *this);
  }
};
// One name per field (the wire, the sums over ranks and summary.json follow the list): a new
// counter is one member above and one name here.
BOOST_DESCRIBE_STRUCT(EngineStats, (),
                      (pages, bytes, robots_fetches, links, offered, duplicates, out_of_scope, excluded, trap, blocked,
                       over_host_limit, over_max_pages, depth_improvements, fetch_wait_s, seen_urls, seen_bytes,
                       frontier_bytes, frontier_peak_bytes, frontier_spilled))

class Engine {
 public:
  using Clock = std::chrono::steady_clock;
  /// Maps an origin ("http://host:port") to the index of the worker that owns it.
  using OwnerFn = std::function<int(std::string_view origin)>;

  /// `fetcher` is used from the calling thread only; `workers` is the number of crawling
  /// engines, `self` this one's index; `rank` goes into records. `bodies_dir`: where
  /// --save-bodies writes ("" = not saving).
  Engine(const CrawlOptions& options, UrlFilter filter, Fetcher& fetcher, int rank, int self, int workers,
         OwnerFn owner, std::string bodies_dir = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// A canonical URL that this engine owns, reached at `depth` (seed, own link, peer).
  /// Seeds go through offer() too: they bypass the filter's patterns but not robots.txt.
  /// `referrer`: the page that linked it, "redirect", or "" (a seed or a resumed frontier),
  /// kept for its record from the first offer at the depth it is fetched at (it travels with
  /// the queue entry: an offer at a smaller depth before the fetch queues it anew).
  void offer(std::string_view url, int depth, std::string_view referrer = {});

  /// Resume (before any offer): an origin's robots.txt outcome from the checkpoint, so it
  /// is not fetched again.
  void restore_host(const HostCheckpoint& host);
  /// Resume (before any offer): a URL an earlier run fetched and recorded.
  void preload(const FetchedUrl& url);

  /// Starts the requests politeness allows, waits up to `max_wait` for results and
  /// handles them. Returns the number of fetch results handled.
  std::size_t pump(std::chrono::milliseconds max_wait);

  /// Nothing queued that could still be fetched, nothing in flight.
  bool idle() const;
  /// Requests in flight (robots.txt included).
  std::size_t in_flight() const { return in_flight_.size(); }
  /// URLs waiting in host queues.
  std::size_t queued() const { return queued_; }
  /// Hosts with queued or in-flight work.
  std::size_t active_hosts() const;
  /// When a host waiting out its politeness delay may start its next request (nullopt
  /// when no host waits): the caller sleeps no longer than that.
  std::optional<Clock::time_point> next_wakeup() const;

  /// With max_pages, every page fetch spends a permit granted by the master (a retry of a
  /// URL spends none: a URL counts once).
  bool wants_permits() const;
  void grant(std::uint64_t permits) { permits_ += permits; }
  /// The master has none left: drop what is queued, and what comes later.
  void exhaust();
  /// Hands back the permits not spent (when idle).
  std::uint64_t take_permits() { return std::exchange(permits_, 0); }

  /// Stops starting requests (interrupted run); in-flight ones still complete or time out.
  void stop_starting() { stopped_ = true; }

  // Outputs, taken by the caller.
  std::size_t pending_records() const { return records_.size(); }
  bool has_output() const { return !records_.empty() || !edges_.empty() || !robots_done_.empty(); }
  std::vector<PageRecord> take_records() { return std::exchange(records_, {}); }
  /// links.tsv lines: "from\tto\tkind\n".
  std::string take_edges() { return std::exchange(edges_, {}); }
  /// Origins whose robots.txt outcome became final since the last call (for checkpoints).
  std::vector<HostCheckpoint> take_robots_states() { return std::exchange(robots_done_, {}); }
  /// URLs found here that other workers own, per worker index.
  std::vector<std::vector<UrlAtDepth>>& outbox() { return outbox_; }
  /// Records that went out with a depth that later improved: (url, final depth).
  std::vector<std::pair<std::string, int>> depth_fixes() const;

  std::vector<HostStats> host_stats() const;
  const EngineStats& stats() const { return stats_; }
  /// The frontier's spill file, for its error (frontier.hpp).
  const FrontierStore& frontier() const { return frontier_; }
  /// Test hook (before any offer or preload): the URL fingerprint, to force collisions.
  void fingerprint_for_testing(std::uint64_t (*fingerprint)(std::string_view)) { fingerprint_ = fingerprint; }

 private:
  struct Host;
  struct Pending;
  struct Flight;
  Host& host_for(std::string_view origin);
  void dispatch(std::string url, int depth, std::string referrer);
  void relax(std::uint64_t fp, int depth);
  void start_requests();
  void note_memory();  // EngineStats' memory fields
  void start_robots(Host& host, std::string url);
  void handle(FetchResult result);
  void handle_robots(Host& host, FetchResult& result, int redirects);
  void set_policy(Host& host, RobotsPolicy policy);
  void handle_page(Host& host, const std::string& url, std::string referrer, FetchResult& result);
  void queue_sitemaps(Host& host);
  void push_sitemap(Host& host, std::string url, bool from_index);
  void start_sitemap(Host& host, Clock::time_point now);
  void handle_sitemap(Host& host, const std::string& url, FetchResult& result);
  /// The cause a failed fetch may be retried for ("503", "timeout", ...), "" when final.
  std::string retry_cause(const FetchResult& result) const;
  /// Back-off, Retry-After and give-up accounting of the host after a response or failure.
  void note_outcome(Host& host, const FetchResult& result, const std::string& cause);
  void give_up(Host& host, const FetchResult& result);
  /// A record for a URL not (or no longer) requested: robots.txt unreachable, origin given up.
  void record_unfetched(Host& host, std::uint64_t fp, const FrontierEntry& entry, const std::string& error,
                        const std::string& kind);
  /// Keeps what relaxation and depth_fixes() need of a page fetched (or recorded) at `depth`.
  void keep_page(std::uint64_t fp, int depth, const std::string& url, std::string redirect,
                 std::vector<std::string> children);
  void release(Host& host);
  void schedule(Host& host);
  bool may_follow(const NormalizedUrl& url);
  std::string save_body(const std::string& url, const std::string& body);

  CrawlOptions options_;
  UrlFilter filter_;
  RobotsOptions robots_options_;
  Fetcher& fetcher_;
  int rank_, self_, workers_;
  OwnerFn owner_;
  std::string bodies_dir_;

  FrontierStore frontier_;  // before hosts_: their queues give their memory back to it
  std::unordered_map<std::string, std::unique_ptr<Host>> hosts_;  // by origin
  struct Ready {
    Clock::time_point time;  // when the host may start its next request
    std::uint64_t seq;
    Host* host;
    bool operator>(const Ready& o) const { return time != o.time ? time > o.time : seq > o.seq; }
  };
  // Hosts with work and a free connection, by start time (each host at most once).
  std::priority_queue<Ready, std::vector<Ready>, std::greater<Ready>> ready_;
  // Seen-set (seen_set.hpp): URL fingerprint -> depth and stage, packed in 12-byte slots.
  FingerprintTable<std::uint32_t> seen_;
  std::uint64_t (*fingerprint_)(std::string_view) = &url_fingerprint;
  std::unordered_map<std::uint64_t, Pending> pending_;  // queued or in flight: referrer, attempts
  PageSpill pages_;  // fetched pages at depth > 0 (URL, links, redirect), on disk until relaxed
  std::unordered_map<std::uint64_t, std::pair<std::string, int>> improved_;  // fetched, then improved:
                                                                             // URL, recorded depth
  std::unordered_map<std::uint64_t, Flight> in_flight_;
  std::uint64_t next_id_ = 1, next_seq_ = 0;
  std::size_t queued_ = 0;
  std::size_t sitemaps_queued_ = 0;  // --sitemaps: sitemap fetches waiting in host queues
  std::size_t retry_queued_ = 0;     // of queued_: URLs waiting for a retry (their permit is spent)
  std::uint64_t permits_ = 0;
  std::mt19937_64 jitter_{std::random_device{}()};
  bool exhausted_ = false, stopped_ = false;
  Clock::time_point last_trim_ = Clock::now();  // note_memory() hands freed heap back once a second

  std::vector<PageRecord> records_;
  std::string edges_;
  std::vector<HostCheckpoint> robots_done_;
  std::vector<std::vector<UrlAtDepth>> outbox_;
  EngineStats stats_;
};

}  // namespace rankpool::crawl
