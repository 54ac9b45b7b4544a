// One crawling rank's engine: host queues, robots.txt, politeness, dedup and depth.
#include "rankpool/crawl/engine.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <list>
#include <ostream>
#include <queue>
#include <unordered_set>

#include "rankpool/crawl/links.hpp"
#include "rankpool/crawl/sitemap.hpp"

namespace rankpool::crawl {

std::string_view canonical_origin(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return url;
  const auto slash = url.find('/', scheme_end + 3);
  return slash == std::string_view::npos ? url : url.substr(0, slash);
}

std::ostream& operator<<(std::ostream& os, const PageRecord& r) {
  os << "PageRecord{" << r.url << " status=" << r.status << " depth=" << r.depth << " links=" << r.links
     << " rank=" << r.rank;
  if (!r.error.empty()) os << " error=" << r.error_kind << ":" << r.error;
  if (!r.redirect.empty()) os << " redirect=" << r.redirect;
  return os << "}";
}

// ---------------------------------------------------------------------------------------
// UrlFilter

UrlFilter::UrlFilter(const CrawlOptions& options, const std::vector<NormalizedUrl>& seeds) : options_(options) {
  for (const auto& s : seeds) {
    origins_.push_back(origin_of(s));
    hosts_.push_back(s.host);
    domains_.push_back(registered_domain(s.host));
  }
  for (auto* v : {&origins_, &hosts_, &domains_}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  for (const auto& p : options.include) include_.emplace_back(p, std::regex::ECMAScript | std::regex::optimize);
  for (const auto& p : options.exclude) exclude_.emplace_back(p, std::regex::ECMAScript | std::regex::optimize);
}

bool UrlFilter::in_scope(const NormalizedUrl& url) const {
  auto has = [](const std::vector<std::string>& v, const std::string& x) {
    return std::binary_search(v.begin(), v.end(), x);
  };
  switch (options_.scope) {
    case Scope::seeds:
      return has(origins_, origin_of(url));
    case Scope::host:
      return has(hosts_, url.host);
    case Scope::domain:
      return has(domains_, registered_domain(url.host));
    case Scope::any:
      return true;
  }
  return false;
}

UrlFilter::Verdict UrlFilter::check(const NormalizedUrl& url) const {
  if (!in_scope(url)) return Verdict::out_of_scope;
  if (url.url.size() > options_.max_url_length) return Verdict::trap;
  // Path segments: depth and the most repeated one.
  std::string_view path(url.path_and_query);
  path = path.substr(0, path.find('?'));
  std::vector<std::string_view> segments;
  for (std::size_t i = 1; i <= path.size();) {
    const auto j = std::min(path.find('/', i), path.size());
    if (j > i) segments.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  if (static_cast<int>(segments.size()) > options_.max_path_depth) return Verdict::trap;
  if (segments.size() > static_cast<std::size_t>(options_.max_repeated_segment)) {
    std::sort(segments.begin(), segments.end());
    int run = 1;
    for (std::size_t i = 1; i < segments.size(); ++i) {
      run = segments[i] == segments[i - 1] ? run + 1 : 1;
      if (run > options_.max_repeated_segment) return Verdict::trap;
    }
  }
  const auto matches = [&](const std::regex& re) { return std::regex_search(url.url, re); };
  if (!include_.empty() && std::none_of(include_.begin(), include_.end(), matches)) return Verdict::excluded;
  if (std::any_of(exclude_.begin(), exclude_.end(), matches)) return Verdict::excluded;
  return Verdict::follow;
}

// ---------------------------------------------------------------------------------------
// Engine state

// What every seen URL keeps (seen_, 4 bytes beside its fingerprint): its shortest depth and
// its stage. A record's depth is kept by fetched pages only (pages_, improved_).
enum class Stage : std::uint32_t { queued, in_flight, fetched, blocked, skipped };
constexpr int kMaxDepth = (1 << 29) - 1;  // 29 bits of depth, 3 of stage
constexpr std::uint32_t pack(int depth, Stage stage) {
  return (static_cast<std::uint32_t>(std::min(depth, kMaxDepth)) << 3) | static_cast<std::uint32_t>(stage);
}
constexpr int depth_of(std::uint32_t v) { return static_cast<int>(v >> 3); }
constexpr Stage stage_of(std::uint32_t v) { return static_cast<Stage>(v & 7); }

// What a URL requested at least once keeps until its record goes out (its referrer travels
// with its frontier entry and its flight).
struct Engine::Pending {
  std::uint32_t attempts = 0;        // requests made for it (retries included)
  std::vector<std::string> retried;  // causes of the failed attempts before the next
};

struct Engine::Host {
  using Entry = FrontierEntry;
  explicit Host(FrontierStore& store) : queue(store) {}
  enum class Robots { unknown, fetching, ready } robots = Robots::unknown;
  std::string origin;
  std::string robots_url;  // next robots.txt URL to fetch (changes along redirects)
  int robots_redirects = 0;
  RobotsPolicy policy;
  std::string robots_label = "pending";
  double delay = 0;
  int in_flight = 0;
  std::uint64_t started = 0;  // page requests started (for max_pages_per_host)
  Clock::time_point next_start{};
  HostQueue queue;     // smallest depth first, FIFO within a depth (frontier.hpp)
  bool ready = false;  // in ready_
  std::uint64_t pages = 0, bytes = 0, errors = 0, blocked = 0;
  std::string unreachable_error, unreachable_kind;  // robots.txt got no HTTP response
  // --sitemaps: sitemap URLs to fetch, and every one queued (true: listed by an index).
  std::list<std::string> sitemaps;  // a list: an empty deque costs 576 bytes per host
  std::unordered_map<std::string, bool> sitemaps_seen;
  int failures = 0;         // transient failures in a row (the back-off's exponent)
  int down = 0;             // failures in a row without any HTTP response (give-up)
  int robots_attempts = 0;  // robots.txt requests made (retries included)
  std::string gave_up;      // why the origin was given up ("" while it is not)
};

namespace {

/// A record's referrer, taken out of the URL's state (which no longer needs it): the page
/// that first linked it, "redirect", or "seed" for a depth-0 URL offered without one.
std::string referrer_of(std::string referrer, int depth) {
  if (!referrer.empty()) return referrer;
  return depth == 0 ? "seed" : "";
}

}  // namespace

struct Engine::Flight {
  Host* host = nullptr;
  bool robots = false;
  std::string url;
  bool sitemap = false;
  std::string referrer;  // a page's, from its frontier entry
};

Engine::Engine(const CrawlOptions& options, UrlFilter filter, Fetcher& fetcher, int rank, int self, int workers,
               OwnerFn owner, std::string bodies_dir)
    : options_(options),
      filter_(std::move(filter)),
      fetcher_(fetcher),
      rank_(rank),
      self_(self),
      workers_(workers),
      owner_(std::move(owner)),
      bodies_dir_(std::move(bodies_dir)),
      frontier_(options.frontier_memory),
      outbox_(static_cast<std::size_t>(workers)) {
  robots_options_.user_agent_token = robots_token(options.user_agent);
  robots_options_.max_crawl_delay = options.max_crawl_delay;
}

Engine::~Engine() = default;

Engine::Host& Engine::host_for(std::string_view origin) {
  auto it = hosts_.find(std::string(origin));
  if (it != hosts_.end()) return *it->second;
  auto h = std::make_unique<Host>(frontier_);
  h->origin = std::string(origin);
  h->robots_url = h->origin + "/robots.txt";
  h->delay = options_.delay;
  if (options_.ignore_robots) {
    h->robots = Host::Robots::ready;
    h->policy = RobotsPolicy{RobotsRules::allow_all(), RobotsSource::Unavailable};
    h->robots_label = "ignored";
  }
  Host& host = *hosts_.emplace(h->origin, std::move(h)).first->second;
  if (options_.ignore_robots && options_.sitemaps) queue_sitemaps(host);
  return host;
}

void Engine::offer(std::string_view url, int depth, std::string_view referrer) {
  ++stats_.offered;
  const std::uint64_t fp = fingerprint_(url);
  auto [v, fresh] = seen_.insert(fp, pack(depth, exhausted_ ? Stage::skipped : Stage::queued));
  if (!fresh) {
    if (depth_of(*v) <= depth) {
      ++stats_.duplicates;
      return;
    }
    const Stage stage = stage_of(*v);
    *v = pack(depth, stage);
    switch (stage) {
      case Stage::queued:
        break;  // re-queued below at the better depth
      case Stage::in_flight:
        return;  // the result will carry the new depth
      case Stage::fetched:
        ++stats_.depth_improvements;
        relax(fp, depth);
        return;
      case Stage::blocked:
      case Stage::skipped:
        return;
    }
  } else {
    if (exhausted_) {
      ++stats_.over_max_pages;
      return;
    }
    ++queued_;
  }
  Host& h = host_for(canonical_origin(url));
  h.queue.push({depth, std::string(url), std::string(referrer)});
  schedule(h);
}

void Engine::schedule(Host& h) {
  if (h.ready || h.robots == Host::Robots::fetching || h.in_flight >= options_.per_host_connections) return;
  if (h.queue.empty() && h.sitemaps.empty() && h.robots != Host::Robots::unknown) return;
  h.ready = true;
  ready_.push({h.next_start, next_seq_++, &h});
}

void Engine::dispatch(std::string url, int depth, std::string referrer) {
  const int owner = workers_ == 1 ? 0 : owner_(canonical_origin(url));
  if (owner == self_)
    offer(url, depth, referrer);
  else
    outbox_[static_cast<std::size_t>(owner)].push_back({std::move(url), depth, std::move(referrer)});
}

void Engine::keep_page(std::uint64_t fp, int depth, const std::string& url, std::string redirect,
                       std::vector<std::string> children) {
  if (depth == 0) return;  // depth 0 never improves
  // A disk error keeps the page in memory (exact, unbounded): nothing to do here.
  (void)pages_.append(fp, SpilledPage{depth, url, std::move(redirect), std::move(children)});
}

void Engine::relax(std::uint64_t fp, int depth) {
  Result<SpilledPage> page = pages_.read(fp);
  if (!page) return;  // cannot happen: every fetched page at depth > 0 is kept
  improved_.try_emplace(fp, page->url, page->recorded_depth);
  if (!page->redirect.empty()) dispatch(page->redirect, depth, "redirect");
  if (options_.max_depth >= 0 && depth + 1 > options_.max_depth) return;
  for (const auto& child : page->children) dispatch(child, depth + 1, page->url);
}

bool Engine::may_follow(const NormalizedUrl& url) {
  switch (filter_.check(url)) {
    case UrlFilter::Verdict::follow:
      return true;
    case UrlFilter::Verdict::out_of_scope:
      ++stats_.out_of_scope;
      return false;
    case UrlFilter::Verdict::excluded:
      ++stats_.excluded;
      return false;
    case UrlFilter::Verdict::trap:
      ++stats_.trap;
      return false;
  }
  return false;
}

bool Engine::wants_permits() const {
  return options_.max_pages > 0 && !exhausted_ && !stopped_ && queued_ > retry_queued_ && permits_ == 0;
}

void Engine::exhaust() {
  exhausted_ = true;
  for (auto& [origin, h] : hosts_) {
    std::vector<FrontierEntry> retries;  // their permit is spent: they stay
    while (!h->queue.empty()) {
      const std::uint64_t fp = fingerprint_(h->queue.top().url);
      std::uint32_t* v = seen_.find(fp);
      if (v && stage_of(*v) == Stage::queued) {
        auto p = pending_.find(fp);
        if (p != pending_.end() && p->second.attempts > 0) {
          if (depth_of(*v) == h->queue.top().depth) retries.push_back(h->queue.top());
        } else {
          *v = pack(depth_of(*v), Stage::skipped);
          if (p != pending_.end()) pending_.erase(p);
          ++stats_.over_max_pages;
        }
      }
      h->queue.pop();
    }
    for (auto& e : retries) h->queue.push(std::move(e));
  }
  queued_ = retry_queued_;
  for (auto& [origin, h] : hosts_) h->sitemaps.clear();  // their URLs could not be fetched
  sitemaps_queued_ = 0;
}

bool Engine::idle() const {
  if (!in_flight_.empty()) return false;
  return stopped_ || (queued_ == 0 && sitemaps_queued_ == 0);
}

std::size_t Engine::active_hosts() const {
  std::size_t n = 0;
  for (const auto& [origin, h] : hosts_) n += (!h->queue.empty() || h->in_flight > 0) ? 1 : 0;
  return n;
}

std::optional<Engine::Clock::time_point> Engine::next_wakeup() const {
  if (ready_.empty()) return std::nullopt;
  return ready_.top().time;  // may be early (an entry whose host moved later): harmless
}

// ---------------------------------------------------------------------------------------
// Fetching

void Engine::start_robots(Host& h, std::string url) {
  const std::uint64_t id = next_id_++;
  in_flight_[id] = Flight{&h, true, url, false, {}};
  fetcher_.submit(FetchRequest{id, std::move(url), true});
  ++h.in_flight;
  ++h.robots_attempts;
  h.robots = Host::Robots::fetching;
  h.next_start = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(h.delay));
  ++stats_.robots_fetches;
}

void Engine::start_requests() {
  if (stopped_) return;
  const auto now = Clock::now();
  // Hosts wait in ready_ ordered by the time politeness lets them start: each call looks
  // only at hosts that may start now, however many hosts this rank owns.
  while (!ready_.empty() && in_flight_.size() < options_.max_in_flight) {
    const Ready top = ready_.top();
    if (top.time > now) break;
    ready_.pop();
    Host& h = *top.host;
    h.ready = false;
    if (h.next_start > top.time) {  // its clock moved on since it was queued
      schedule(h);
      continue;
    }
    bool out_of_permits = false;
    while (in_flight_.size() < options_.max_in_flight && h.in_flight < options_.per_host_connections &&
           now >= h.next_start) {
      if (h.robots == Host::Robots::unknown) {
        start_robots(h, h.robots_url);
        break;
      }
      if (h.robots == Host::Robots::fetching) break;
      if (!h.sitemaps.empty()) {  // --sitemaps: an origin's sitemaps before its pages
        start_sitemap(h, now);
        continue;
      }
      if (h.queue.empty()) break;
      const Host::Entry& e = h.queue.top();
      const std::uint64_t fp = fingerprint_(e.url);
      std::uint32_t* v = seen_.find(fp);
      if (!v || stage_of(*v) != Stage::queued || depth_of(*v) != e.depth) {
        h.queue.pop();  // a stale entry: the URL was re-queued at a better depth
        continue;
      }
      const auto tried = pending_.find(fp);
      const std::string_view path = std::string_view(e.url).substr(h.origin.size());
      if (!h.unreachable_error.empty() || !h.gave_up.empty()) {
        // The host did not answer for robots.txt, or stopped answering: record its URLs as
        // failed (an unreachable seed shows up in pages.jsonl) without knocking again.
        FrontierEntry was = e;
        h.queue.pop();
        if (h.gave_up.empty())
          record_unfetched(h, fp, was, "robots.txt unreachable: " + h.unreachable_error, h.unreachable_kind);
        else
          record_unfetched(h, fp, was, h.gave_up, "origin_gave_up");
        continue;
      }
      if (!h.policy.allowed(path)) {
        *v = pack(e.depth, Stage::blocked);
        pending_.erase(fp);
        ++h.blocked;
        ++stats_.blocked;
        --queued_;
        h.queue.pop();
        continue;
      }
      const bool retry = tried != pending_.end() && tried->second.attempts > 0;  // permit and host page spent
      if (!retry && options_.max_pages_per_host > 0 && h.started >= options_.max_pages_per_host) {
        *v = pack(e.depth, Stage::skipped);
        pending_.erase(fp);
        ++stats_.over_host_limit;
        --queued_;
        h.queue.pop();
        continue;
      }
      if (!retry && options_.max_pages > 0) {
        if (permits_ == 0) {  // wants_permits() asks the master; nobody can start now
          out_of_permits = true;
          break;
        }
        --permits_;
      }
      const std::uint64_t id = next_id_++;
      in_flight_[id] = Flight{&h, false, e.url, false, e.referrer};
      fetcher_.submit(FetchRequest{id, e.url, false});
      *v = pack(e.depth, Stage::in_flight);
      ++pending_[fp].attempts;
      --queued_;
      if (retry)
        --retry_queued_;
      else
        ++h.started;
      h.queue.pop();
      ++h.in_flight;
      h.next_start = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(h.delay));
    }
    if (out_of_permits) {
      // Back in line at the same time, and stop: the next grant restarts the round.
      h.ready = true;
      ready_.push({top.time, top.seq, &h});
      break;
    }
    schedule(h);
  }
}

std::size_t Engine::pump(std::chrono::milliseconds max_wait) {
  start_requests();
  note_memory();
  if (in_flight_.empty()) return 0;
  const auto t0 = Clock::now();
  auto results = fetcher_.poll(max_wait);
  stats_.fetch_wait_s += std::chrono::duration<double>(Clock::now() - t0).count();
  for (auto& r : results) handle(std::move(r));
  start_requests();  // refill the freed slots at once
  note_memory();
  return results.size();
}

void Engine::note_memory() {
  stats_.seen_urls = seen_.size();
  stats_.seen_bytes = seen_.memory_bytes() + pages_.memory_bytes();
  stats_.frontier_bytes = frontier_.memory_bytes();
  stats_.frontier_peak_bytes = frontier_.peak_bytes();
  stats_.frontier_spilled = frontier_.spilled();
  // Queue entries, records and links come and go by the hundred thousand in blocks of every
  // size; glibc keeps the freed ones resident. Handing whole free pages back once a second keeps
  // the rank's RSS near what it holds (a millisecond or two per call).
  if (const auto now = Clock::now(); now - last_trim_ >= std::chrono::seconds(1)) {
    release_freed_memory();
    last_trim_ = now;
  }
}

void Engine::release(Host& h) {
  --h.in_flight;
  // The delay runs from the end of a response too: with one connection per host the
  // server sees the requests at least `delay` apart, however long each one took.
  const auto after = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(h.delay));
  h.next_start = std::max(h.next_start, after);
  schedule(h);
}

void Engine::handle(FetchResult result) {
  auto it = in_flight_.find(result.id);
  if (it == in_flight_.end()) return;  // not ours: cannot happen with a correct Fetcher
  Flight flight = std::move(it->second);
  in_flight_.erase(it);
  Host& h = *flight.host;
  if (flight.robots) {
    handle_robots(h, result, h.robots_redirects);
    release(h);  // after: a Crawl-delay just read spaces the next request already
  } else if (flight.sitemap) {
    release(h);
    handle_sitemap(h, flight.url, result);
  } else {
    release(h);
    handle_page(h, flight.url, std::move(flight.referrer), result);
  }
}

void Engine::handle_robots(Host& h, FetchResult& r, int redirects) {
  // 5xx, 429 or no answer: "disallow everything for now" (RFC 9309 2.3.1.4), so fetch it
  // again after a back-off while the host's URLs wait; after the retries it stays closed
  // for this run and the checkpoint says "pending", so that a resume asks again.
  std::string cause = retry_cause(r);
  if (cause.empty() && r.http_status >= 500 && r.http_status < 600) cause = std::to_string(r.http_status);
  note_outcome(h, r, cause);
  if (!cause.empty() && h.robots_attempts <= options_.retries && h.gave_up.empty()) {
    h.robots = Host::Robots::unknown;  // start_requests() fetches it again after the back-off
    return;
  }
  const bool unreachable = r.http_status == 0;
  if (unreachable) {
    h.unreachable_error = r.error.empty() ? "no response" : r.error;
    h.unreachable_kind = r.error_kind.empty() ? "other" : r.error_kind;
  }
  RobotsFetchStep step = robots_fetch_step(static_cast<int>(r.http_status), r.body, unreachable, r.redirect_to,
                                           redirects, robots_options_);
  if (!step.done()) {
    const NormalizedUrl next = normalize(step.next_url);
    if (next.ok() && filter_.in_scope(next)) {
      h.robots = Host::Robots::unknown;  // start_requests() fetches it, politely
      h.robots_url = next.url;
      h.robots_redirects = redirects + 1;
      return;
    }
    // Nothing is requested outside the scope, robots.txt included: a redirect there
    // counts as "no file" (RFC 9309 2.3.1.3: everything allowed).
    step.policy = RobotsPolicy{RobotsRules::allow_all(), RobotsSource::Unavailable};
  }
  HostCheckpoint saved{h.origin, {}, {}, h.unreachable_error, h.unreachable_kind};
  if (step.policy->source == RobotsSource::Parsed) saved.robots_body = r.body.substr(0, robots_options_.max_bytes);
  set_policy(h, std::move(*step.policy));
  // An answer (5xx, 429) after the retries: the site is closed for this run only. (A host
  // that never answered has its URLs recorded as failed instead: nothing is left pending.)
  if (h.policy.source == RobotsSource::Unreachable && !unreachable) h.robots_label = "pending";
  saved.robots = h.robots_label;
  robots_done_.push_back(std::move(saved));
  if (options_.sitemaps) queue_sitemaps(h);
}

void Engine::set_policy(Host& h, RobotsPolicy policy) {
  h.policy = std::move(policy);
  h.robots = Host::Robots::ready;
  switch (h.policy.source) {
    case RobotsSource::Parsed:
      h.robots_label = "parsed";
      break;
    case RobotsSource::Unavailable:
      h.robots_label = "unavailable";
      break;
    case RobotsSource::Unreachable:
      h.robots_label = "unreachable";
      break;
  }
  if (auto cd = h.policy.rules.crawl_delay()) h.delay = std::max(options_.delay, *cd);
}

void Engine::restore_host(const HostCheckpoint& saved) {
  if (options_.ignore_robots || saved.robots == "pending") return;  // pending: fetched again
  Host& h = host_for(saved.origin);
  h.unreachable_error = saved.unreachable_error;
  h.unreachable_kind = saved.unreachable_kind;
  if (saved.robots == "parsed")
    set_policy(h, RobotsPolicy{RobotsRules::parse(saved.robots_body, robots_options_), RobotsSource::Parsed});
  else if (saved.robots == "unavailable")
    set_policy(h, RobotsPolicy{RobotsRules::allow_all(), RobotsSource::Unavailable});
  else if (saved.robots == "unreachable")
    set_policy(h, RobotsPolicy{RobotsRules::disallow_all(), RobotsSource::Unreachable});
  // Anything else (an older or foreign label): fetch robots.txt again, the safe side.
}

void Engine::preload(const FetchedUrl& f) {
  const std::uint64_t fp = fingerprint_(f.url);
  if (!seen_.insert(fp, pack(f.depth, Stage::fetched)).second) return;  // the loader gives each URL once
  if (f.depth > 0)  // a disk error keeps the page in memory (exact, unbounded)
    (void)pages_.append(fp, SpilledPage{f.recorded_depth, f.url, f.redirect, f.children});
  if (f.recorded_depth > f.depth) improved_.try_emplace(fp, f.url, f.recorded_depth);
  Host& h = host_for(canonical_origin(f.url));
  ++h.started;  // max_pages_per_host counts every run's pages
  ++h.pages;
  h.bytes += f.bytes;
  if (f.failed) ++h.errors;
}

std::string Engine::save_body(const std::string& url, const std::string& body) {
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.html", static_cast<unsigned long long>(fnv1a(url)));
  std::ofstream out(bodies_dir_ + "/" + name, std::ios::binary);
  out.write(body.data(), static_cast<std::streamsize>(body.size()));
  if (!out) return {};
  return std::string("bodies/") + name;
}

std::string Engine::retry_cause(const FetchResult& r) const {
  if (r.http_status == 0) return is_transient_error_kind(r.error_kind) ? r.error_kind : std::string();
  if (!r.error.empty()) return {};  // an HTTP response that failed otherwise (too large, ...)
  const auto& codes = options_.retry_codes;
  if (std::find(codes.begin(), codes.end(), static_cast<int>(r.http_status)) == codes.end()) return {};
  return std::to_string(r.http_status);
}

void Engine::note_outcome(Host& h, const FetchResult& r, const std::string& cause) {
  const auto now = Clock::now();
  double wait = 0;
  if (cause.empty()) {
    if (r.http_status != 0) h.failures = h.down = 0;  // it answers
  } else {
    ++h.failures;
    h.down = r.http_status == 0 ? h.down + 1 : 0;
    // Exponential back-off per origin, with jitter in [half, whole].
    const double b =
        std::min(options_.max_retry_backoff, options_.retry_backoff * std::ldexp(1.0, std::min(h.failures - 1, 60)));
    wait = b * std::uniform_real_distribution<double>(0.5, 1.0)(jitter_);
  }
  if (!r.retry_after.empty())
    if (auto asked = parse_retry_after(r.retry_after, std::chrono::system_clock::now()))
      wait = std::max(wait, std::min(*asked, options_.max_retry_after));
  if (wait > 0) {
    const auto until = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait));
    h.next_start = std::max(h.next_start, until);
  }
  if (options_.origin_give_up > 0 && h.down >= options_.origin_give_up && h.gave_up.empty()) give_up(h, r);
}

void Engine::give_up(Host& h, const FetchResult& r) {
  h.gave_up = "origin given up after " + std::to_string(h.down) +
              " failures in a row without a response (last: " + (r.error.empty() ? r.error_kind : r.error) + ")";
  // Nothing is requested any more: what waits is recorded now, not after the back-off.
  while (!h.queue.empty()) {
    const FrontierEntry e = h.queue.top();
    h.queue.pop();
    const std::uint64_t fp = fingerprint_(e.url);
    const std::uint32_t* v = seen_.find(fp);
    if (!v || stage_of(*v) != Stage::queued || depth_of(*v) != e.depth) continue;
    record_unfetched(h, fp, e, h.gave_up, "origin_gave_up");
  }
  h.next_start = Clock::now();
}

void Engine::record_unfetched(Host& h, std::uint64_t fp, const FrontierEntry& entry, const std::string& error,
                              const std::string& kind) {
  const std::string& url = entry.url;
  std::uint32_t* v = seen_.find(fp);
  const int depth = depth_of(*v);
  *v = pack(depth, Stage::fetched);
  Pending s;
  if (auto node = pending_.extract(fp)) s = std::move(node.mapped());
  PageRecord rec;
  rec.url = url;
  rec.depth = depth;
  rec.rank = rank_;
  rec.error = error;
  rec.error_kind = kind;
  rec.attempts = s.attempts;
  rec.retried = std::move(s.retried);
  rec.referrer = referrer_of(entry.referrer, depth);
  if (s.attempts > 0) --retry_queued_;
  keep_page(fp, depth, url, {}, {});
  ++h.errors;
  ++stats_.pages;
  records_.push_back(std::move(rec));
  --queued_;
}

void Engine::handle_page(Host& h, const std::string& url, std::string referrer, FetchResult& r) {
  const std::uint64_t fp = fingerprint_(url);
  std::uint32_t* v = seen_.find(fp);
  const int depth = depth_of(*v);  // its own links cannot improve it: fixed while it is handled
  const std::string cause = retry_cause(r);
  note_outcome(h, r, cause);
  if (!cause.empty() && pending_[fp].attempts <= static_cast<std::uint32_t>(options_.retries) && h.gave_up.empty()) {
    // Again later, behind the host's back-off. Not recorded yet: one record per URL, with
    // its last outcome. (Stopped meanwhile, it is never recorded and a resume fetches it.)
    pending_[fp].retried.push_back(cause);
    *v = pack(depth, Stage::queued);
    ++queued_;
    ++retry_queued_;
    h.queue.push({depth, url, std::move(referrer)});
    schedule(h);
    return;
  }
  *v = pack(depth, Stage::fetched);
  Pending s;
  if (auto node = pending_.extract(fp)) s = std::move(node.mapped());
  std::string redirect;               // followable, kept for relaxation
  std::vector<std::string> children;  // followable out-links, kept for relaxation
  ++h.pages;
  h.bytes += r.bytes;
  ++stats_.pages;
  stats_.bytes += r.bytes;
  PageRecord rec;
  rec.url = url;
  rec.status = static_cast<int>(r.http_status);
  rec.depth = depth;
  rec.content_type = std::move(r.content_type);
  rec.bytes = r.bytes;
  rec.seconds = r.seconds;
  rec.rank = rank_;
  rec.error = std::move(r.error);
  rec.error_kind = std::move(r.error_kind);
  rec.fetched_at = rfc3339_ms(r.started);
  rec.ip = std::move(r.ip);
  rec.payload_sha1 = std::move(r.payload_sha1);
  rec.referrer = referrer_of(std::move(referrer), depth);
  rec.last_modified = std::move(r.last_modified);
  rec.etag = std::move(r.etag);
  rec.attempts = s.attempts;
  rec.retried = std::move(s.retried);
  if (!rec.error.empty() || rec.status >= 400 || rec.status == 0) ++h.errors;

  const bool within = options_.max_depth < 0 || depth + 1 <= options_.max_depth;
  if (rec.error.empty() && rec.status >= 300 && rec.status < 400 && !r.redirect_to.empty()) {
    const NormalizedUrl target = normalize(r.redirect_to, UrlOptions{options_.max_url_length});
    if (target.ok()) {
      rec.redirect = target.url;
      if (may_follow(target)) {
        redirect = target.url;
        dispatch(target.url, depth, "redirect");  // a hop costs no depth
      }
    }
  } else if (rec.error.empty() && rec.status >= 200 && rec.status < 300 && is_html_content_type(rec.content_type) &&
             !r.body.empty()) {
    const PageLinks page_links = extract_links(r.body);
    rec.nofollow = page_links.meta_nofollow;
    const NormalizedUrl page = normalize(url, UrlOptions{options_.max_url_length});
    NormalizedUrl base = page;
    if (page_links.base_href) {
      NormalizedUrl b = resolve(*page_links.base_href, page, UrlOptions{options_.max_url_length});
      if (b.ok()) base = std::move(b);
    }
    std::unordered_set<std::string> seen;
    for (const RawLink& link : page_links.links) {
      NormalizedUrl target = resolve(link.href, base, UrlOptions{options_.max_url_length});
      if (!target.ok()) continue;  // mailto:, javascript:, malformed: not a link to crawl
      const std::string_view kind = to_string(link.kind);
      if (!seen.insert(target.url + '\t' + std::string(kind)).second) continue;
      edges_.append(url).append(1, '\t').append(target.url).append(1, '\t').append(kind).append(1, '\n');
      ++rec.links;
      if (page_links.meta_nofollow || !(options_.follow_all || followed_by_default(link.kind))) continue;
      if (!may_follow(target)) continue;
      if (depth > 0) children.push_back(target.url);  // depth 0 never improves
      if (within) dispatch(std::move(target.url), depth + 1, url);
    }
    stats_.links += rec.links;
    if (!bodies_dir_.empty()) rec.body_file = save_body(url, r.body);
  }
  keep_page(fp, depth, url, std::move(redirect), std::move(children));
  records_.push_back(std::move(rec));
}

// ---------------------------------------------------------------------------------------
// Sitemaps (--sitemaps)

void Engine::queue_sitemaps(Host& h) {
  if (!h.unreachable_error.empty()) return;  // the host does not answer
  // Those robots.txt names on this origin (the owner of an origin fetches only from it);
  // /sitemap.xml, the conventional place, only when it names none.
  const auto& named = h.policy.rules.sitemaps();
  for (const auto& raw : named) {
    const NormalizedUrl n = normalize(raw, UrlOptions{options_.max_url_length});
    if (n.ok() && canonical_origin(n.url) == h.origin) push_sitemap(h, n.url, false);
  }
  if (named.empty()) push_sitemap(h, h.origin + "/sitemap.xml", false);
}

void Engine::push_sitemap(Host& h, std::string url, bool from_index) {
  // An index lists at most 50,000 sitemaps: so many per origin, each fetched once.
  if (h.sitemaps_seen.size() >= SitemapLimits{}.max_urls || !h.sitemaps_seen.emplace(url, from_index).second) return;
  h.sitemaps.push_back(std::move(url));
  ++sitemaps_queued_;
  schedule(h);
}

void Engine::start_sitemap(Host& h, Clock::time_point now) {
  std::string url = std::move(h.sitemaps.front());
  h.sitemaps.pop_front();
  --sitemaps_queued_;
  // robots.txt rules apply to sitemaps too; they are not pages (no permit, no record). An
  // origin given up is asked nothing more.
  if (!h.unreachable_error.empty() || !h.gave_up.empty() ||
      !h.policy.allowed(std::string_view(url).substr(h.origin.size())))
    return;
  const std::uint64_t id = next_id_++;
  in_flight_[id] = Flight{&h, false, url, true, {}};
  fetcher_.submit(FetchRequest{id, std::move(url), true});
  ++h.in_flight;
  h.next_start = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(h.delay));
}

void Engine::handle_sitemap(Host& h, const std::string& url, FetchResult& r) {
  // Only a 2xx body counts: a redirect is not followed, an error or a malformed file
  // (parse_sitemap) gives no URL.
  if (!r.ok()) return;
  const Result<Sitemap> sitemap = parse_sitemap(r.body);
  if (!sitemap) return;
  if (sitemap->kind == SitemapKind::index) {
    if (h.sitemaps_seen[url]) return;  // an index listed by an index: the protocol has none
    for (const auto& loc : sitemap->locs) {
      const NormalizedUrl n = normalize(loc, UrlOptions{options_.max_url_length});
      if (n.ok() && canonical_origin(n.url) == h.origin) push_sitemap(h, n.url, true);
    }
    return;
  }
  for (const auto& loc : sitemap->locs) {
    NormalizedUrl n = normalize(loc, UrlOptions{options_.max_url_length});
    if (!n.ok() || !may_follow(n)) continue;
    dispatch(std::move(n.url), 0, "sitemap");  // a seed of its origin, wherever it is owned
  }
}

std::vector<std::pair<std::string, int>> Engine::depth_fixes() const {
  std::vector<std::pair<std::string, int>> fixes;
  for (const auto& [fp, page] : improved_)
    if (const std::uint32_t* v = seen_.find(fp); v && depth_of(*v) < page.second)
      fixes.emplace_back(page.first, depth_of(*v));
  std::sort(fixes.begin(), fixes.end());
  return fixes;
}

std::vector<HostStats> Engine::host_stats() const {
  std::vector<HostStats> out;
  for (const auto& [origin, h] : hosts_)
    out.push_back(HostStats{origin, rank_, h->pages, h->bytes, h->errors, h->blocked, h->robots_label, h->delay});
  std::sort(out.begin(), out.end(), [](const HostStats& a, const HostStats& b) { return a.origin < b.origin; });
  return out;
}

}  // namespace rankpool::crawl
