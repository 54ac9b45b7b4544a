// The distributed crawler: the master's and the workers' roles over a farm::Mesh.
#include "rankpool/crawl/crawler.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include "rankpool/crawl/engine.hpp"
#include "rankpool/crawl/protocol.hpp"
#include "rankpool/crawl/termination.hpp"
#include "rankpool/farm/detail/protocol.hpp"
#include "farm/terminal.hpp"

namespace rankpool::crawl {
namespace {

using Clock = std::chrono::steady_clock;
using farm::Mesh;
using farm::MeshMessage;
namespace json = boost::json;

// Batching: a URL batch leaves when it is this big or this old, so the owner starts on
// it soon without one message per link; records leave at most every 100 ms.
constexpr std::size_t kUrlBatch = 256;
constexpr auto kUrlBatchAge = std::chrono::milliseconds(2);
constexpr std::size_t kRecordBatch = 512;
constexpr std::size_t kSeedSlice = 65536;  // URLs per Urls message from the master (seeds, a resumed frontier)
constexpr auto kRecordAge = std::chrono::milliseconds(100);
// After an interrupt, ranks wait this long for each other before leaving anyway: a run
// that was asked to stop must not hang on a rank that is already gone.
constexpr auto kInterruptGrace = std::chrono::seconds(3);

int worker_count(int size) { return size == 1 ? 1 : size - 1; }
int worker_rank(int w, int size) { return size == 1 ? 0 : w + 1; }
int worker_index(int rank, int size) { return size == 1 ? 0 : rank - 1; }

bool for_master(CrawlTag t) {
  return t == CrawlTag::Records || t == CrawlTag::PermitRequest || t == CrawlTag::Idle ||
         t == CrawlTag::ProbeReply || t == CrawlTag::Interrupt || t == CrawlTag::Final;
}

long peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;  // KiB on Linux
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// ---------------------------------------------------------------------------------------
// Worker

class Worker {
 public:
  Worker(Mesh& mesh, const FetcherFactory& make_fetcher, const std::atomic<int>* interrupt)
      : mesh_(mesh), make_fetcher_(make_fetcher), interrupt_(interrupt), t0_(Clock::now()) {}

  bool done() const { return done_; }
  int exit_code() const { return exit_code_; }
  const std::string& error() const { return error_; }

  void on_message(MeshMessage& m) {
    const auto tag = static_cast<CrawlTag>(m.tag);
    if (!engine_ && tag != CrawlTag::Start) {
      early_.push_back(std::move(m));  // a peer already crawls; our Start is on its way
      return;
    }
    switch (tag) {
      case CrawlTag::Start: start(decode_start(m.bytes)); break;
      case CrawlTag::Urls: {
        ++msgs_received_;
        auto urls = decode_urls(m.bytes);
        urls_received_ += urls.size();
        for (const auto& u : urls) engine_->offer(u.url, u.depth);
        break;
      }
      case CrawlTag::Permits: {
        permit_requested_ = false;
        const auto n = decode_u64(m.bytes);
        if (n == 0) engine_->exhaust();  // the master has no permits left anywhere
        else engine_->grant(n);
        break;
      }
      case CrawlTag::Probe: {
        flush_urls(true);
        flush_records(true);
        Counters c;
        c.probe = decode_u64(m.bytes);
        c.idle = quiescent();
        c.sent = msgs_sent_;
        c.received = msgs_received_;
        mesh_.send(0, static_cast<int>(CrawlTag::ProbeReply), encode_counters(c));
        break;
      }
      case CrawlTag::Finish: finish(static_cast<int>(decode_u64(m.bytes))); break;
      default:
        throw farm::ProtocolError(std::string("crawl worker got unexpected ") + to_string(tag));
    }
  }

  bool tick() {
    if (done_ || !engine_) return false;
    bool did = false;
    const auto now = Clock::now();
    if (interrupt_ && interrupt_->load() != 0 && !interrupt_sent_) {
      engine_->stop_starting();
      mesh_.send(0, static_cast<int>(CrawlTag::Interrupt), encode_u64(static_cast<std::uint64_t>(interrupt_->load())));
      interrupt_sent_ = true;
      interrupted_at_ = now;
      did = true;
    }
    if (interrupt_sent_ && now - interrupted_at_ > kInterruptGrace) {
      // The master did not answer: leave with what we have rather than hang.
      exit_code_ = 128 + interrupt_->load();
      done_ = true;
      return true;
    }
    if (engine_->wants_permits() && !permit_requested_) {
      mesh_.send(0, static_cast<int>(CrawlTag::PermitRequest), {});
      permit_requested_ = true;
    }
    const auto wait = engine_->in_flight() ? std::chrono::milliseconds(2) : std::chrono::milliseconds(0);
    did |= engine_->pump(wait) > 0;
    flush_urls(false);
    flush_records(false);
    if (engine_->idle()) {
      flush_urls(true);
      flush_records(true);
      // Report again when the counts moved: URLs that arrive as duplicates leave the
      // engine idle throughout, but the master must see that they were received.
      if (!idle_reported_ || reported_sent_ != msgs_sent_ || reported_received_ != msgs_received_) {
        reported_sent_ = msgs_sent_;
        reported_received_ = msgs_received_;
        Counters c;
        c.idle = true;
        c.sent = msgs_sent_;
        c.received = msgs_received_;
        c.returned_permits = engine_->take_permits();
        mesh_.send(0, static_cast<int>(CrawlTag::Idle), encode_counters(c));
        idle_reported_ = true;
        did = true;
      }
    } else {
      idle_reported_ = false;
    }
    return did;
  }

  /// How long the driver may sleep waiting for messages.
  std::chrono::microseconds wait_hint() const {
    constexpr std::chrono::microseconds idle_wait(5000);
    if (!engine_ || done_) return idle_wait;
    if (engine_->in_flight()) return std::chrono::microseconds(0);
    if (auto t = engine_->next_wakeup()) {
      const auto d = std::chrono::duration_cast<std::chrono::microseconds>(*t - Clock::now());
      return std::clamp(d, std::chrono::microseconds(0), idle_wait);
    }
    return idle_wait;
  }

 private:
  void start(StartMessage s) {
    if (!s.error.empty()) {
      error_ = s.error;
      exit_code_ = 2;
      done_ = true;
      return;
    }
    const int workers = worker_count(mesh_.size());
    self_ = worker_index(mesh_.rank(), mesh_.size());
    for (std::size_t i = 0; i < s.assigned_origins.size(); ++i) assigned_[s.assigned_origins[i]] = s.assigned_workers[i];
    std::vector<NormalizedUrl> seeds;
    for (const auto& u : s.seeds) seeds.push_back(normalize(u));
    std::string bodies;
    if (s.options.save_bodies) {
      bodies = s.out_dir + "/bodies";
      std::error_code ec;
      std::filesystem::create_directories(bodies, ec);
    }
    fetcher_ = make_fetcher_(s.options);
    auto owner = [this, workers](std::string_view origin) {
      auto it = assigned_.find(std::string(origin));
      if (it != assigned_.end()) return it->second;
      return static_cast<int>(fnv1a(origin) % static_cast<std::uint64_t>(workers));
    };
    engine_ = std::make_unique<Engine>(s.options, UrlFilter(s.options, seeds), *fetcher_, mesh_.rank(), self_,
                                       workers, owner, bodies);
    // A resumed crawl: what earlier runs did for our origins, before any URL is offered
    // (Start comes first from the master, and peers' URLs wait in early_ until now).
    for (const auto& h : s.hosts) engine_->restore_host(h);
    for (const auto& f : s.fetched) engine_->preload(f);
    for (auto& m : std::exchange(early_, {})) on_message(m);
  }

  /// Idle with nothing left to send: what Idle and ProbeReply report.
  bool quiescent() const {
    if (!engine_->idle() || engine_->has_output()) return false;
    for (const auto& v : engine_->outbox())
      if (!v.empty()) return false;
    return true;
  }

  void flush_urls(bool force) {
    auto& out = engine_->outbox();
    bool any = false;
    for (const auto& v : out) any |= !v.empty();
    if (!any) {
      oldest_url_.reset();
      return;
    }
    const auto now = Clock::now();
    if (!oldest_url_) oldest_url_ = now;
    const bool old = now - *oldest_url_ >= kUrlBatchAge;
    for (std::size_t w = 0; w < out.size(); ++w) {
      if (out[w].empty() || !(force || old || out[w].size() >= kUrlBatch)) continue;
      urls_sent_ += out[w].size();
      ++msgs_sent_;
      mesh_.send(worker_rank(static_cast<int>(w), mesh_.size()), static_cast<int>(CrawlTag::Urls), encode_urls(out[w]));
      out[w].clear();
    }
    any = false;
    for (const auto& v : out) any |= !v.empty();
    if (!any) oldest_url_.reset();
  }

  void flush_records(bool force) {
    const auto now = Clock::now();
    const bool due = now - last_records_ >= kRecordAge;
    if (engine_->has_output()) {
      if (!force && !due && engine_->pending_records() < kRecordBatch) return;
    } else if (now - last_records_ < 2 * kRecordAge) {
      return;
    }
    // Counting active hosts walks this rank's hosts: only when a message may go out.
    const WorkerStatus status{engine_->queued(), static_cast<std::uint32_t>(engine_->in_flight()),
                              static_cast<std::uint32_t>(engine_->active_hosts())};
    if (!engine_->has_output() && status == last_status_) {
      last_records_ = now;  // nothing new; a changed queue is reported now and then for progress
      return;
    }
    RecordsMessage m;
    m.status = status;
    m.records = engine_->take_records();
    m.edges = engine_->take_edges();
    m.hosts = engine_->take_robots_states();
    mesh_.send(0, static_cast<int>(CrawlTag::Records), encode_records(m));
    last_records_ = now;
    last_status_ = status;
  }

  void finish(int signal) {
    if (engine_) {
      engine_->stop_starting();
      flush_urls(true);
      flush_records(true);
      RankReport r;
      r.rank = mesh_.rank();
      r.host = mesh_.host();
      r.role = mesh_.size() == 1 ? "master+worker" : "worker";
      r.engine = engine_->stats();
      r.hosts = engine_->host_stats();
      r.depth_fixes = engine_->depth_fixes();
      r.urls_msgs_sent = msgs_sent_;
      r.urls_msgs_received = msgs_received_;
      r.urls_sent = urls_sent_;
      r.urls_received = urls_received_;
      r.bytes_sent = mesh_.counters().bytes_sent;
      r.bytes_received = mesh_.counters().bytes_recv;
      r.peak_rss_kb = peak_rss_kb();
      r.wall_s = seconds_since(t0_);
      mesh_.send(0, static_cast<int>(CrawlTag::Final), encode_report(r));
    }
    exit_code_ = signal ? 128 + signal : 0;
    done_ = true;
  }

  Mesh& mesh_;
  const FetcherFactory& make_fetcher_;
  const std::atomic<int>* interrupt_;
  Clock::time_point t0_, interrupted_at_;
  std::vector<MeshMessage> early_;
  std::unique_ptr<Fetcher> fetcher_;
  std::unique_ptr<Engine> engine_;
  std::unordered_map<std::string, int> assigned_;
  int self_ = 0;
  std::uint64_t msgs_sent_ = 0, msgs_received_ = 0, urls_sent_ = 0, urls_received_ = 0;
  std::uint64_t reported_sent_ = 0, reported_received_ = 0;
  bool idle_reported_ = false, permit_requested_ = false, interrupt_sent_ = false, done_ = false;
  std::optional<Clock::time_point> oldest_url_;
  Clock::time_point last_records_{};
  WorkerStatus last_status_;
  int exit_code_ = 0;
  std::string error_;
};

// ---------------------------------------------------------------------------------------
// Master

/// pages.jsonl, links.tsv and summary.json in the output directory.
class Outputs {
 public:
  /// `append`: a resumed crawl adds to what earlier runs wrote (load_resume() already cut
  /// off what a kill left torn).
  std::string open(const std::string& dir, bool append) {
    dir_ = dir;
    const auto mode = append ? std::ios::app : std::ios::trunc;
    pages_.open(dir + "/pages.jsonl", mode);
    links_.open(dir + "/links.tsv", mode);
    if (!pages_ || !links_) return "cannot write into output directory " + dir;
    return {};
  }
  void write(const RecordsMessage& m) {
    // Links first, flushed, then the records: a record in pages.jsonl means its page's
    // links are on disk, which is what a resume rebuilds the frontier from.
    links_ << m.edges;
    links_.flush();
    for (const auto& r : m.records) {
      pages_ << to_json_line(r) << '\n';
    }
    // One flush per batch: a killed run keeps what it reported.
    pages_.flush();
  }
  /// The logs on disk, links first (the order a resume relies on): called before each
  /// checkpoint, so that the pages a checkpoint counts survive a crash of the machine too.
  std::string sync() {
    for (const char* name : {"/links.tsv", "/pages.jsonl"}) {
      if (Status s = sync_file(dir_ + name); !s) return s.message();
    }
    return {};
  }
  /// Rewrites the depth of records whose URL was later reached by a shorter path: a new
  /// file put in place by replace_file() (a crash leaves one or the other).
  std::string apply_depth_fixes(const std::map<std::string, int>& fixes) {
    pages_.close();
    if (fixes.empty()) return {};
    const std::string path = dir_ + "/pages.jsonl", tmp = path + ".tmp";
    std::ifstream in(path);
    std::ofstream out(tmp, std::ios::trunc);
    std::string line;
    while (std::getline(in, line)) {
      json::value v = json::parse(line);
      auto& o = v.as_object();
      auto it = fixes.find(std::string(o["url"].as_string()));
      if (it != fixes.end()) o["depth"] = it->second;
      out << json::serialize(v) << '\n';
    }
    out.close();
    if (!out) return "cannot write " + tmp + " (depths left as first recorded)";
    return replace_file(tmp, path).message();
  }
  void close_links() { links_.close(); }
  bool write_summary(const json::object& summary) {
    std::ofstream out(dir_ + "/summary.json", std::ios::trunc);
    out << json::serialize(summary) << '\n';
    return static_cast<bool>(out);
  }

 private:
  std::string dir_;
  std::ofstream pages_, links_;
};

class MasterRole {
 public:
  MasterRole(Mesh& mesh, const CrawlJob& job, std::string setup_error, const std::atomic<int>* interrupt)
      : mesh_(mesh),
        job_(job),
        error_(std::move(setup_error)),
        interrupt_(interrupt),
        workers_(worker_count(mesh.size())),
        termination_(workers_),
        status_(static_cast<std::size_t>(workers_)),
        granted_(static_cast<std::size_t>(workers_)),
        used_(static_cast<std::size_t>(workers_)),
        returned_(static_cast<std::size_t>(workers_)),
        reports_(static_cast<std::size_t>(workers_)),
        progress_(!job.options.quiet && farm::stderr_reaches_a_terminal()) {}

  bool done() const { return done_; }

  void begin() {
    t0_ = Clock::now();
    const ResumeState* resume = job_.resume.get();
    if (resume) {
      checkpoint_ = resume->checkpoint;
      robots_before_ = resume->checkpoint.robots_fetches;
      for (const auto& h : resume->checkpoint.hosts) host_states_[h.origin] = h;
      pages_ = previous_pages_ = resume->pages;
      by_status_ = resume->by_status;
      by_error_ = resume->by_error;
    }
    ++checkpoint_.runs;
    checkpoint_.complete = checkpoint_.interrupted = false;
    if (error_.empty()) error_ = outputs_.open(job_.out_dir, resume != nullptr);
    // Written before anything is fetched: even a run killed at once can be resumed.
    if (error_.empty()) error_ = write_checkpoint_now();
    StartMessage start;
    start.error = error_;
    if (error_.empty()) {
      start.options = job_.options;
      start.seeds = job_.seeds;
      start.out_dir = job_.out_dir;
      // The seeds' origins, dealt round-robin: equal shares of the known hosts.
      std::set<std::string> origins;
      for (const auto& s : job_.seeds) origins.insert(std::string(canonical_origin(s)));
      int w = 0;
      for (const auto& o : origins) {
        start.assigned_origins.push_back(o);
        start.assigned_workers.push_back(w);
        owner_[o] = w;
        w = (w + 1) % workers_;
      }
    }
    if (error_.empty() && resume) {
      // Each worker gets its origins' robots.txt outcomes and fetched URLs in its Start.
      std::vector<StartMessage> starts(static_cast<std::size_t>(workers_), start);
      for (const auto& [origin, h] : host_states_) starts[static_cast<std::size_t>(owner_of(origin))].hosts.push_back(h);
      for (const auto& f : resume->fetched)
        starts[static_cast<std::size_t>(owner_of(canonical_origin(f.url)))].fetched.push_back(f);
      for (int w = 0; w < workers_; ++w)
        mesh_.send(worker_rank(w, mesh_.size()), static_cast<int>(CrawlTag::Start), encode_start(starts[static_cast<std::size_t>(w)]));
    } else {
      const std::string bytes = encode_start(start);
      for (int w = 0; w < workers_; ++w) mesh_.send(worker_rank(w, mesh_.size()), static_cast<int>(CrawlTag::Start), bytes);
    }
    if (!error_.empty()) {
      done_ = true;
      return;
    }
    // A budget covers every run: earlier runs' pages are spent permits.
    remaining_permits_ = job_.options.max_pages - std::min(job_.options.max_pages, pages_);
    last_checkpoint_ = Clock::now();
    // A fresh crawl starts from the seeds; a resumed one from the frontier rebuilt from
    // the logs (the seeds not fetched yet are part of it).
    std::vector<std::vector<UrlAtDepth>> seeds(static_cast<std::size_t>(workers_));
    if (resume) {
      for (const auto& u : resume->frontier) seeds[static_cast<std::size_t>(owner_of(canonical_origin(u.url)))].push_back(u);
    } else {
      for (const auto& s : job_.seeds) seeds[static_cast<std::size_t>(owner_of(canonical_origin(s)))].push_back({s, 0});
    }
    for (int w = 0; w < workers_; ++w) {
      // In slices: a resumed crawl's frontier can be millions of URLs.
      const auto& all = seeds[static_cast<std::size_t>(w)];
      for (std::size_t i = 0; i < all.size(); i += kSeedSlice) {
        const std::vector<UrlAtDepth> slice(all.begin() + static_cast<std::ptrdiff_t>(i),
                                            all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), i + kSeedSlice)));
        termination_.master_sent();
        mesh_.send(worker_rank(w, mesh_.size()), static_cast<int>(CrawlTag::Urls), encode_urls(slice));
      }
    }
  }

  void on_message(MeshMessage& m) {
    const auto tag = static_cast<CrawlTag>(m.tag);
    const int w = worker_index(m.source, mesh_.size());
    const auto wi = static_cast<std::size_t>(w);
    switch (tag) {
      case CrawlTag::Records: {
        RecordsMessage r = decode_records(m.bytes);
        outputs_.write(r);
        for (auto& h : r.hosts) {
          host_states_[h.origin] = std::move(h);
          ++robots_learned_;
          checkpoint_dirty_ = true;
        }
        status_[wi] = r.status;
        used_[wi] += r.records.size();
        pages_ += r.records.size();
        for (const auto& rec : r.records) {
          ++by_status_[std::to_string(rec.status)];
          if (!rec.error_kind.empty()) ++by_error_[rec.error_kind];
        }
        serve_permits();
        break;
      }
      case CrawlTag::PermitRequest:
        waiting_.insert(w);
        serve_permits();
        break;
      case CrawlTag::Idle: {
        const Counters c = decode_counters(m.bytes);
        returned_[wi] += c.returned_permits;
        remaining_permits_ += c.returned_permits;
        serve_permits();
        if (!finishing_) send_probe(termination_.on_idle(w, c));
        break;
      }
      case CrawlTag::ProbeReply: {
        if (finishing_) break;
        const Termination::Verdict v = termination_.on_reply(w, decode_counters(m.bytes));
        if (v.over) finish();
        else send_probe(v.probe);
        break;
      }
      case CrawlTag::Interrupt:
        if (!signal_) signal_ = static_cast<int>(decode_u64(m.bytes));
        finish();
        break;
      case CrawlTag::Final:
        reports_[wi] = decode_report(m.bytes);
        ++finals_;
        break;
      default:
        throw farm::ProtocolError(std::string("crawl master got unexpected ") + to_string(tag));
    }
  }

  bool tick() {
    if (done_) return false;
    if (interrupt_ && interrupt_->load() != 0 && !finishing_) {
      signal_ = interrupt_->load();
      finish();
    }
    draw_progress(false);
    if (!finishing_ && checkpoint_dirty_ && job_.options.checkpoint_interval > 0 &&
        Clock::now() - last_checkpoint_ >= std::chrono::duration<double>(job_.options.checkpoint_interval)) {
      // A failed periodic write is not fatal: the logs hold the results, and the next
      // write (or the final one, which is reported) may succeed.
      write_checkpoint_now();
    }
    if (finishing_ && (finals_ == workers_ || Clock::now() > finish_deadline_)) {
      finalize();
      return true;
    }
    return false;
  }

  CrawlOutcome outcome() const {
    CrawlOutcome o;
    o.error = error_;
    o.interrupted = signal_ != 0;
    o.exit_code = !error_.empty() ? 2 : signal_ ? 128 + signal_ : 0;
    o.pages = pages_;
    o.seconds = seconds_;
    return o;
  }

 private:
  int owner_of(std::string_view origin) const {
    if (auto it = owner_.find(std::string(origin)); it != owner_.end()) return it->second;
    return static_cast<int>(fnv1a(origin) % static_cast<std::uint64_t>(workers_));
  }

  std::string write_checkpoint_now() {
    checkpoint_.pages = pages_;
    checkpoint_.robots_fetches = std::max(checkpoint_.robots_fetches, robots_before_ + robots_learned_);
    checkpoint_.hosts.clear();
    for (const auto& [origin, h] : host_states_) checkpoint_.hosts.push_back(h);
    last_checkpoint_ = Clock::now();
    checkpoint_dirty_ = false;
    if (std::string e = outputs_.sync(); !e.empty()) return e;
    return write_checkpoint(job_.out_dir, job_.options, job_.seeds, checkpoint_).message();
  }

  void serve_permits() {
    if (job_.options.max_pages == 0) return;
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      const int w = *it;
      std::uint64_t grant = 0;
      if (remaining_permits_ > 0) {
        // Guided chunks: big while plenty remain, single permits at the end, so that
        // the last pages go to whoever still has work.
        grant = std::clamp<std::uint64_t>(remaining_permits_ / (4 * static_cast<std::uint64_t>(workers_)), 1, 256);
        grant = std::min(grant, remaining_permits_);
        remaining_permits_ -= grant;
        granted_[static_cast<std::size_t>(w)] += grant;
      } else {
        // None left here. Permits held elsewhere may still come back unspent: answer
        // "exhausted" only when no other worker holds any.
        std::uint64_t held = 0;
        for (int v = 0; v < workers_; ++v)
          if (v != w) {
            const auto vi = static_cast<std::size_t>(v);
            held += granted_[vi] - std::min(granted_[vi], used_[vi] + returned_[vi]);
          }
        if (held > 0) {
          ++it;
          continue;
        }
      }
      mesh_.send(worker_rank(w, mesh_.size()), static_cast<int>(CrawlTag::Permits), encode_u64(grant));
      it = waiting_.erase(it);
    }
  }

  void send_probe(std::optional<std::uint64_t> probe) {
    if (!probe) return;
    for (int w = 0; w < workers_; ++w)
      mesh_.send(worker_rank(w, mesh_.size()), static_cast<int>(CrawlTag::Probe), encode_u64(*probe));
  }

  void finish() {
    if (finishing_) return;
    finishing_ = true;
    termination_.stop();
    finish_deadline_ = Clock::now() + (signal_ ? std::chrono::duration_cast<Clock::duration>(kInterruptGrace)
                                               : std::chrono::duration_cast<Clock::duration>(std::chrono::minutes(2)));
    for (int w = 0; w < workers_; ++w)
      mesh_.send(worker_rank(w, mesh_.size()), static_cast<int>(CrawlTag::Finish), encode_u64(static_cast<std::uint64_t>(signal_)));
  }

  void draw_progress(bool final) {
    if (!progress_) return;
    const auto now = Clock::now();
    if (!final && now - last_draw_ < std::chrono::milliseconds(200)) return;
    last_draw_ = now;
    std::uint64_t queued = 0, in_flight = 0, hosts = 0;
    for (const auto& s : status_) {
      queued += s.queued;
      in_flight += s.in_flight;
      hosts += s.active_hosts;
    }
    const double t = seconds_since(t0_);
    std::fprintf(stderr, "\r[rankpool-crawl] %llu pages  %.0f pages/s  queued %llu  in flight %llu  hosts active %llu   ",
                 static_cast<unsigned long long>(pages_), t > 0 ? static_cast<double>(pages_) / t : 0.0,
                 static_cast<unsigned long long>(queued), static_cast<unsigned long long>(in_flight),
                 static_cast<unsigned long long>(hosts));
    if (final) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

  void finalize() {
    seconds_ = seconds_since(t0_);
    draw_progress(true);
    std::map<std::string, int> fixes;
    EngineStats total;
    json::array ranks, hosts;
    json::object master_rank;
    if (mesh_.size() > 1) {
      master_rank["rank"] = 0;
      master_rank["host"] = mesh_.host();
      master_rank["role"] = "master";
      master_rank["pages"] = 0;
      master_rank["peak_rss_kb"] = peak_rss_kb();
      master_rank["bytes_received"] = mesh_.counters().bytes_recv;
      ranks.push_back(std::move(master_rank));
    }
    int missing = 0;
    for (std::size_t w = 0; w < reports_.size(); ++w) {
      const RankReport& r = reports_[w];
      if (r.role.empty()) {
        ++missing;
        continue;
      }
      for (const auto& [url, d] : r.depth_fixes) fixes[url] = d;
      const EngineStats& e = r.engine;
      total.pages += e.pages;
      total.bytes += e.bytes;
      total.robots_fetches += e.robots_fetches;
      total.links += e.links;
      total.duplicates += e.duplicates;
      total.out_of_scope += e.out_of_scope;
      total.excluded += e.excluded;
      total.trap += e.trap;
      total.blocked += e.blocked;
      total.over_host_limit += e.over_host_limit;
      total.over_max_pages += e.over_max_pages;
      total.depth_improvements += e.depth_improvements;
      ranks.push_back(json::object{{"rank", r.rank},
                                   {"host", r.host},
                                   {"role", r.role},
                                   {"pages", e.pages},
                                   {"bytes", e.bytes},
                                   {"robots_fetches", e.robots_fetches},
                                   {"links", e.links},
                                   {"hosts_owned", r.hosts.size()},
                                   {"urls_sent", r.urls_sent},
                                   {"urls_received", r.urls_received},
                                   {"url_messages_sent", r.urls_msgs_sent},
                                   {"url_messages_received", r.urls_msgs_received},
                                   {"duplicates", e.duplicates},
                                   {"fetch_wait_s", e.fetch_wait_s},
                                   {"peak_rss_kb", r.peak_rss_kb},
                                   {"wall_s", r.wall_s}});
      for (const auto& h : r.hosts)
        hosts.push_back(json::object{{"origin", h.origin},
                                     {"rank", h.rank},
                                     {"pages", h.pages},
                                     {"bytes", h.bytes},
                                     {"errors", h.errors},
                                     {"blocked", h.blocked},
                                     {"robots", h.robots},
                                     {"delay_s", h.delay}});
    }
    if (std::string e = outputs_.apply_depth_fixes(fixes); !e.empty() && error_.empty()) error_ = e;
    outputs_.close_links();
    // Last, after the outputs are final: "complete" means a resume has nothing to do.
    checkpoint_.complete = signal_ == 0 && missing == 0 && error_.empty();
    checkpoint_.interrupted = signal_ != 0;
    checkpoint_.robots_fetches = robots_before_ + total.robots_fetches;
    if (std::string e = write_checkpoint_now(); !e.empty() && error_.empty()) error_ = e;
    const ResumeState* resume = job_.resume.get();
    const std::uint64_t links_before = resume ? resume->links : 0, bytes_before = resume ? resume->bytes : 0;
    json::object status, errors;
    for (const auto& [k, v] : by_status_) status[k] = v;
    for (const auto& [k, v] : by_error_) errors[k] = v;
    const double secs = seconds_ > 0 ? seconds_ : 1e-9;
    // Totals cover every run on this output directory; "ranks" and rates this run.
    json::object summary{{"pages", pages_},
                         {"robots_fetches", robots_before_ + total.robots_fetches},
                         {"links", links_before + total.links},
                         {"bytes", bytes_before + total.bytes},
                         {"seconds", seconds_},
                         {"pages_per_s", static_cast<double>(pages_ - previous_pages_) / secs},
                         {"links_per_s", static_cast<double>(total.links) / secs},
                         {"status", std::move(status)},
                         {"errors", std::move(errors)},
                         {"not_followed",
                          json::object{{"out_of_scope", total.out_of_scope},
                                       {"excluded", total.excluded},
                                       {"trap", total.trap},
                                       {"robots_blocked", total.blocked},
                                       {"max_pages_per_host", total.over_host_limit},
                                       {"max_pages", total.over_max_pages}}},
                         {"duplicates_dropped", total.duplicates},
                         {"depth_improvements", total.depth_improvements},
                         {"interrupted", signal_ != 0},
                         {"runs", checkpoint_.runs},
                         {"pages_previous_runs", previous_pages_},
                         {"missing_rank_reports", missing},
                         {"seeds", json::value_from(job_.seeds)},
                         {"max_depth", job_.options.max_depth},
                         {"scope", std::string(to_string(job_.options.scope))},
                         {"ranks", std::move(ranks)},
                         {"hosts", std::move(hosts)}};
    if (!outputs_.write_summary(summary) && error_.empty()) error_ = "cannot write " + job_.out_dir + "/summary.json";
    if (!job_.options.quiet) {
      std::string counts;
      for (const auto& [k, v] : by_status_) counts += (counts.empty() ? "" : ", ") + (k == "0" ? std::string("no response") : k) + ": " + std::to_string(v);
      // Resumed: the totals cover every run, the time and rate this one.
      const std::string earlier = previous_pages_ || checkpoint_.runs > 1
                                      ? " (" + std::to_string(previous_pages_) + " from " +
                                            std::to_string(checkpoint_.runs - 1) + " earlier run(s))"
                                      : std::string();
      std::fprintf(stderr, "rankpool-crawl: %s%llu pages%s in %.2f s (%.0f pages/s), %llu links, %llu robots.txt; %s%s; %llu blocked by robots.txt; outputs in %s\n",
                   signal_ ? "INTERRUPTED after " : "", static_cast<unsigned long long>(pages_), earlier.c_str(), seconds_,
                   static_cast<double>(pages_ - previous_pages_) / secs, static_cast<unsigned long long>(links_before + total.links),
                   static_cast<unsigned long long>(robots_before_ + total.robots_fetches), counts.empty() ? "" : "status ", counts.c_str(),
                   static_cast<unsigned long long>(total.blocked), job_.out_dir.c_str());
      if (missing) std::fprintf(stderr, "rankpool-crawl: %d rank(s) did not report before the deadline\n", missing);
    }
    done_ = true;
  }

  Mesh& mesh_;
  const CrawlJob& job_;
  std::string error_;
  const std::atomic<int>* interrupt_;
  int workers_;
  std::map<std::string, int> owner_;
  Outputs outputs_;
  Termination termination_;
  std::vector<WorkerStatus> status_;
  std::vector<std::uint64_t> granted_, used_, returned_;
  std::vector<RankReport> reports_;
  std::set<int> waiting_;
  std::uint64_t remaining_permits_ = 0, pages_ = 0;
  // Checkpoint: robots.txt outcomes by origin (earlier runs' and this one's), counters.
  Checkpoint checkpoint_;
  std::map<std::string, HostCheckpoint> host_states_;
  std::uint64_t previous_pages_ = 0, robots_learned_ = 0, robots_before_ = 0;
  bool checkpoint_dirty_ = false;
  Clock::time_point last_checkpoint_{};
  std::map<std::string, std::uint64_t> by_status_, by_error_;
  int finals_ = 0, signal_ = 0;
  bool finishing_ = false, done_ = false;
  bool progress_;
  Clock::time_point t0_, finish_deadline_, last_draw_{};
  double seconds_ = 0;
};

}  // namespace

FetchOptions fetch_options_for(const CrawlOptions& o) {
  FetchOptions f;
  f.user_agent = o.user_agent;
  f.connect_timeout = std::chrono::milliseconds(static_cast<long>(o.connect_timeout * 1000));
  f.total_timeout = std::chrono::milliseconds(static_cast<long>(o.timeout * 1000));
  f.max_body_bytes = o.max_page_bytes;
  f.max_in_flight = o.max_in_flight;
  // Politeness is the engine's; curl's own per-host cap would only queue behind it.
  f.max_host_connections = 0;
  return f;
}

FetcherFactory curl_fetcher_factory() {
  return [](const CrawlOptions& o) { return make_curl_fetcher(fetch_options_for(o)); };
}

std::string prepare_output_dir(const std::string& dir) {
  if (dir.empty()) return "--out-dir must name a directory";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) return "cannot create output directory " + dir + (ec ? ": " + ec.message() : "");
  const std::string probe = dir + "/.rankpool-write-test";
  {
    std::ofstream out(probe);
    out << "x";
    if (!out) return "output directory " + dir + " is not writable";
  }
  std::filesystem::remove(probe, ec);
  return {};
}

CrawlOutcome run_crawl(Mesh& mesh, const CrawlJob& job, const std::string& setup_error,
                       const FetcherFactory& make_fetcher, const std::atomic<int>* interrupt) {
  std::optional<MasterRole> master;
  std::optional<Worker> worker;
  if (mesh.rank() == 0) master.emplace(mesh, job, setup_error, interrupt);
  if (mesh.rank() != 0 || mesh.size() == 1) worker.emplace(mesh, make_fetcher, interrupt);
  if (master) master->begin();

  auto dispatch = [&](MeshMessage& m) {
    const bool to_master = for_master(static_cast<CrawlTag>(m.tag));
    if (to_master && master) master->on_message(m);
    else if (!to_master && worker) worker->on_message(m);
    else throw farm::ProtocolError("rank " + std::to_string(mesh.rank()) + " got a message for another role, tag " + std::to_string(m.tag));
  };
  auto running = [&] { return (master && !master->done()) || (worker && !worker->done()); };
  while (running()) {
    bool busy = false;
    for (int i = 0; i < 256; ++i) {
      auto m = mesh.receive(std::chrono::microseconds(0));
      if (!m) break;
      dispatch(*m);
      busy = true;
    }
    if (worker && !worker->done()) busy |= worker->tick();
    if (master && !master->done()) busy |= master->tick();
    if (!busy && running()) {
      auto wait = worker && !worker->done() ? worker->wait_hint() : std::chrono::microseconds(5000);
      if (auto m = mesh.receive(wait)) dispatch(*m);
    }
  }
  mesh.flush();
  if (master) return master->outcome();
  CrawlOutcome o;
  o.exit_code = worker->exit_code();
  o.error = worker->error();
  o.interrupted = o.exit_code >= 128;
  return o;
}

}  // namespace rankpool::crawl
