// Rank 0 of the distributed crawler: start, permits, termination, checkpoints, the end.
#include "crawl/coordinator.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "rankpool/farm/detail/protocol.hpp"

namespace rankpool::crawl {

namespace json = boost::json;

void Coordinator::begin() {
  t0_ = Clock::now();
  const ResumeState* resume = job_.resume.get();
  if (resume) {
    checkpoint_ = resume->checkpoint;
    robots_before_ = resume->checkpoint.robots_fetches;
    for (const auto& h : resume->checkpoint.hosts) host_states_[h.origin] = h;
    pages_ = previous_pages_ = resume->pages;
    by_status_ = resume->by_status;
    by_error_ = resume->by_error;
    retries_ = resume->retries;
  }
  ++checkpoint_.runs;
  checkpoint_.complete = checkpoint_.interrupted = false;
  if (const char* env = std::getenv("RANKPOOL_CRAWL_SLICE_BYTES"); env && *env && error_.empty()) {
    Result<std::size_t> limit = parse_slice_bytes(env);
    if (limit)
      slice_bytes_ = *limit;
    else
      error_ = limit.status().message();
  }
  if (const char* env = std::getenv("RANKPOOL_CRAWL_DIRECT_STOP"); env && std::string_view(env) == "1")
    direct_stop_ = true;
  if (error_.empty()) error_ = outputs_.open(job_.out_dir, resume != nullptr).message();
  // Written before anything is fetched: even a run killed at once can be resumed.
  if (error_.empty()) error_ = write_checkpoint_now();
  StartMessage start;
  start.error = error_;
  if (error_.empty()) {
    start.options = job_.options;
    start.seeds = job_.seeds;
    start.out_dir = job_.out_dir;
    start.restoring = resume != nullptr;
    start.slice_bytes = slice_bytes_;
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
  // The same Start for every worker: a resume's state follows in slices (send_restore).
  const std::string bytes = encode_start(start);
  for (int w = 0; w < workers_; ++w) mesh_.send(worker_rank(w, mesh_.size()), static_cast<int>(CrawlTag::Start), bytes);
  if (!error_.empty()) {
    done_ = true;
    return;
  }
  if (resume) send_restore(*resume);
  // A budget covers every run: earlier runs' pages are spent permits.
  remaining_permits_ = job_.options.max_pages - std::min(job_.options.max_pages, pages_);
  last_checkpoint_ = Clock::now();
  // A fresh crawl starts from the seeds; a resumed one from the frontier rebuilt from
  // the logs (the seeds not fetched yet are part of it). In slices: a resumed crawl's
  // frontier can be millions of URLs.
  std::vector<UrlAtDepth> fresh;
  if (!resume)
    for (const auto& s : job_.seeds) fresh.push_back({s, 0, {}});
  const std::vector<UrlAtDepth>& all = resume ? resume->frontier : fresh;
  const std::vector<std::vector<std::uint32_t>> share =
      shares(all.size(), [&](std::size_t i) { return owner_of(canonical_origin(all[i].url)); });
  for (int w = 0; w < workers_; ++w) {
    const int rank = worker_rank(w, mesh_.size());
    Slicer slicer(slice_bytes_, {}, {}, [&](std::string slice) {
      termination_.master_sent();
      mesh_.send(rank, static_cast<int>(CrawlTag::Urls), std::move(slice));
    });
    for (const auto i : share[static_cast<std::size_t>(w)]) slicer.add(all[i]);
    slicer.finish();
  }
}

std::vector<std::vector<std::uint32_t>> Coordinator::shares(std::size_t n,
                                                            const std::function<int(std::size_t)>& owner) const {
  // Positions (4 bytes an item), not copies: rank 0 holds the restored state once.
  std::vector<std::vector<std::uint32_t>> share(static_cast<std::size_t>(workers_));
  for (std::size_t i = 0; i < n; ++i)
    share[static_cast<std::size_t>(owner(i))].push_back(static_cast<std::uint32_t>(i));
  return share;
}

void Coordinator::send_restore(const ResumeState& resume) {
  // Each worker gets its origins' robots.txt outcomes and fetched URLs, in slices of at
  // most slice_bytes_, then a slice marked done: only then does it take URLs.
  std::vector<const HostCheckpoint*> hosts;
  for (const auto& [origin, h] : host_states_) hosts.push_back(&h);
  const auto host_share = shares(hosts.size(), [&](std::size_t i) { return owner_of(hosts[i]->origin); });
  const auto fetched_share =
      shares(resume.fetched.size(), [&](std::size_t i) { return owner_of(canonical_origin(resume.fetched[i].url)); });
  // A RestoreSlice is (hosts, fetched, done): a slice of one vector has the other empty.
  const std::string none = runtime::encode(std::uint32_t{0}), not_done = runtime::encode(false);
  const std::size_t item_limit = slice_bytes_ - none.size() - sizeof(std::uint32_t) - not_done.size();
  for (int w = 0; w < workers_; ++w) {
    const int rank = worker_rank(w, mesh_.size());
    auto emit = [&](std::string slice) { mesh_.send(rank, static_cast<int>(CrawlTag::Restore), std::move(slice)); };
    Slicer host_slices(slice_bytes_, {}, none + not_done, emit);
    for (const auto i : host_share[static_cast<std::size_t>(w)]) host_slices.add(*hosts[i]);
    host_slices.finish();
    Slicer url_slices(slice_bytes_, none, not_done, emit);
    for (const auto i : fetched_share[static_cast<std::size_t>(w)]) {
      const FetchedUrl& f = resume.fetched[i];
      if (f.children.size() > 1 && runtime::encode(f).size() > item_limit) {
        for (const auto& piece : split_fetched(f, item_limit)) url_slices.add(piece);
      } else {
        url_slices.add(f);
      }
    }
    url_slices.finish();
    restore_slices_ += host_slices.slices() + url_slices.slices();
    largest_slice_ = std::max({largest_slice_, host_slices.largest(), url_slices.largest()});
    mesh_.send(rank, static_cast<int>(CrawlTag::Restore), encode_restore(RestoreSlice{{}, {}, true}));
  }
}

void Coordinator::count(const RecordTally& t, std::size_t wi) {
  used_[wi] += t.pages;
  pages_ += t.pages;
  for (const auto& c : t.status) by_status_[c.key] += c.n;
  for (const auto& c : t.errors) by_error_[c.key] += c.n;
  for (const auto& c : t.retries) retries_[c.key] += c.n;
}

void Coordinator::on_message(MeshMessage& m) {
  const auto tag = static_cast<CrawlTag>(m.tag);
  const int w = worker_index(m.source, mesh_.size());
  const auto wi = static_cast<std::size_t>(w);
  ++from_[wi];
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
      // The records that came here and, with --output-shards, those in the worker's shard,
      // counted by the one definition (tally_of).
      count(tally_of(r.records), wi);
      count(r.tally, wi);
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
      if (!finishing()) send_probe(termination_.on_idle(w, c));
      break;
    }
    case CrawlTag::ProbeReply: {
      if (finishing()) break;
      const Termination::Verdict v = termination_.on_reply(w, decode_counters(m.bytes));
      if (v.over)
        finish();
      else
        send_probe(v.probe);
      break;
    }
    case CrawlTag::Interrupt:
      if (!signal_) signal_ = static_cast<int>(decode_u64(m.bytes));
      finish();
      break;
    case CrawlTag::FinalPart: {
      Result<FinalSlice> slice = read_final_slice(m.bytes, slice_bytes_);
      if (!slice) throw farm::ProtocolError(slice.status().message());
      ++final_slices_;
      largest_final_ = std::max(largest_final_, m.bytes.size());
      auto& hosts = final_hosts_[wi];
      hosts.insert(hosts.end(), std::make_move_iterator(slice->hosts.begin()),
                   std::make_move_iterator(slice->hosts.end()));
      for (auto& f : slice->depth_fixes) depth_fixes_[std::move(f.url)] = f.depth;
      break;
    }
    case CrawlTag::Final:
      stop_.on_report(w, m.bytes);
      break;
    default:
      throw farm::ProtocolError(std::string("crawl master got unexpected ") + to_string(tag));
  }
}

bool Coordinator::tick() {
  if (done_) return false;
  if (const int s = interrupt_.poll(); s != 0 && !finishing()) {
    signal_ = s;
    finish();
  }
  draw_progress(false);
  if (!finishing() && checkpoint_dirty_ && job_.options.checkpoint_interval > 0 &&
      Clock::now() - last_checkpoint_ >= std::chrono::duration<double>(job_.options.checkpoint_interval)) {
    // A failed periodic write is not fatal: the logs hold the results, and the next
    // write (or the final one, which is reported) may succeed.
    write_checkpoint_now();
  }
  if (gathered_stop_) {
    stop_on_trees();
    stop_ms_ = seconds_since(stop_t0_) * 1000;
    finalize();
    return true;
  }
  if (finishing() && stop_.finished()) {
    stop_ms_ = seconds_since(stop_t0_) * 1000;
    reports_ = stop_.reports();
    finalize();
    return true;
  }
  return false;
}

CrawlOutcome Coordinator::outcome() const {
  CrawlOutcome o;
  o.error = error_;
  o.interrupted = signal_ != 0;
  o.exit_code = !error_.empty() ? 2 : signal_ ? 128 + signal_ : 0;
  o.pages = pages_;
  o.seconds = seconds_;
  return o;
}

int Coordinator::owner_of(std::string_view origin) const {
  if (auto it = owner_.find(std::string(origin)); it != owner_.end()) return it->second;
  return static_cast<int>(fnv1a(origin) % static_cast<std::uint64_t>(workers_));
}

std::string Coordinator::write_checkpoint_now() {
  checkpoint_.pages = pages_;
  checkpoint_.robots_fetches = std::max(checkpoint_.robots_fetches, robots_before_ + robots_learned_);
  checkpoint_.hosts.clear();
  for (const auto& [origin, h] : host_states_) checkpoint_.hosts.push_back(h);
  last_checkpoint_ = Clock::now();
  checkpoint_dirty_ = false;
  if (Status s = outputs_.sync(); !s) return s.message();
  return write_checkpoint(job_.out_dir, job_.options, job_.seeds, checkpoint_).message();
}

void Coordinator::serve_permits() {
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

void Coordinator::send_probe(std::optional<std::uint64_t> probe) {
  if (!probe) return;
  for (int w = 0; w < workers_; ++w)
    mesh_.send(worker_rank(w, mesh_.size()), static_cast<int>(CrawlTag::Probe), encode_u64(*probe));
}

void Coordinator::finish() {
  if (finishing()) return;
  termination_.stop();
  stop_t0_ = Clock::now();
  if (trees_ && !signal_ && !direct_stop_) {
    gathered_stop_ = true;  // tick() runs it: not from inside on_message()
    return;
  }
  // After a signal, the runtime's grace; otherwise workers finish their fetches in flight.
  const auto wait = signal_ ? std::chrono::duration_cast<Clock::duration>(interrupt_.grace())
                            : std::chrono::duration_cast<Clock::duration>(std::chrono::minutes(2));
  // Every worker polls the tree: tell them the stop comes point to point. A worker that
  // cannot answer (gone after its own grace) must not hold rank 0 past the deadline.
  if (trees_) trees_->announce_direct(runtime::StopMessage{"", signal_}, Clock::now() + wait);
  stop_.start(
      runtime::StopMessage{"", signal_},
      [&](int w, const std::string& bytes) {
        mesh_.send(worker_rank(w, mesh_.size()), static_cast<int>(CrawlTag::Finish), bytes);
      },
      Clock::now() + wait);
}

void Coordinator::stop_on_trees() {
  // Messages that come meanwhile (records flushed at the stop, FinalPart slices, late Idles)
  // are handled as ever.
  const auto drain = [&] {
    while (auto m = mesh_.receive(std::chrono::microseconds(0))) on_message(*m);
  };
  const std::vector<runtime::RankReport> gathered = trees_->stop_and_gather(runtime::StopMessage{}, drain);
  reports_.assign(gathered.begin(), gathered.end());
  // The reports came on another communicator than the workers' messages: wait for as many
  // as each worker says it sent (its records and FinalPart slices among them).
  for (int w = 0; w < workers_; ++w) {
    const auto wi = static_cast<std::size_t>(w);
    const std::uint64_t sent = decode_crawl_report(gathered[wi].payload).msgs_to_master;
    while (from_[wi] < sent)
      if (auto m = mesh_.receive(std::chrono::milliseconds(5))) on_message(*m);
  }
  // Workers drain their messages until the closing barrier: what rank 0 sent them (probes,
  // permits) is delivered before either side leaves.
  mesh_.flush();
  trees_->close(drain);
}

void Coordinator::draw_progress(bool final) {
  if (!progress_.due(final)) return;
  std::uint64_t queued = 0, in_flight = 0, hosts = 0;
  for (const auto& s : status_) {
    queued += s.queued;
    in_flight += s.in_flight;
    hosts += s.active_hosts;
  }
  const double t = seconds_since(t0_);
  char line[200];
  std::snprintf(line, sizeof line,
                "[rankpool-crawl] %llu pages  %.0f pages/s  queued %llu  in flight %llu  hosts active %llu",
                static_cast<unsigned long long>(pages_), t > 0 ? static_cast<double>(pages_) / t : 0.0,
                static_cast<unsigned long long>(queued), static_cast<unsigned long long>(in_flight),
                static_cast<unsigned long long>(hosts));
  progress_.draw(line);
  if (final) progress_.finish();
}

namespace {

// summary.json's rank rows, as described records (their fields in output order): the
// master's, and a crawling rank's (after rank, host and role, which the runtime writes).
struct MasterRow {
  int pages = 0;
  long peak_rss_kb = 0;
  double cpu_s = 0;  // user + system CPU seconds of rank 0's process
  std::uint64_t bytes_received = 0;
};
BOOST_DESCRIBE_STRUCT(MasterRow, (), (pages, peak_rss_kb, cpu_s, bytes_received))

struct WorkerRow {
  std::uint64_t pages = 0, bytes = 0, robots_fetches = 0, links = 0, hosts_owned = 0;
  std::uint64_t urls_sent = 0, urls_received = 0, url_messages_sent = 0, url_messages_received = 0;
  std::uint64_t duplicates = 0;
  double fetch_wait_s = 0;
  // The engine's memory (docs/scale.md, "Crawler memory"): URLs in its seen-set, the bytes of
  // that set and of the in-memory frontier, and the frontier entries spilled to disk.
  std::uint64_t seen_urls = 0, seen_bytes = 0, frontier_bytes = 0, frontier_peak_bytes = 0, frontier_spilled = 0;
  long peak_rss_kb = 0;
  double cpu_s = 0;
  double wall_s = 0;
};
BOOST_DESCRIBE_STRUCT(WorkerRow, (),
                      (pages, bytes, robots_fetches, links, hosts_owned, urls_sent, urls_received, url_messages_sent,
                       url_messages_received, duplicates, fetch_wait_s, seen_urls, seen_bytes, frontier_bytes,
                       frontier_peak_bytes, frontier_spilled, peak_rss_kb, cpu_s, wall_s))

WorkerRow worker_row(const runtime::RankReport& who, const CrawlReport& r, std::size_t hosts_owned) {
  const EngineStats& e = r.engine;
  WorkerRow row;
  row.pages = e.pages;
  row.bytes = e.bytes;
  row.robots_fetches = e.robots_fetches;
  row.links = e.links;
  row.hosts_owned = hosts_owned;
  row.urls_sent = r.urls_sent;
  row.urls_received = r.urls_received;
  row.url_messages_sent = r.urls_msgs_sent;
  row.url_messages_received = r.urls_msgs_received;
  row.duplicates = e.duplicates;
  row.fetch_wait_s = e.fetch_wait_s;
  row.seen_urls = e.seen_urls;
  row.seen_bytes = e.seen_bytes;
  row.frontier_bytes = e.frontier_bytes;
  row.frontier_peak_bytes = e.frontier_peak_bytes;
  row.frontier_spilled = e.frontier_spilled;
  row.peak_rss_kb = r.peak_rss_kb;
  row.cpu_s = r.cpu_s;
  row.wall_s = who.wall_s;
  return row;
}

}  // namespace

std::vector<runtime::RankRow> Coordinator::rank_rows(EngineStats& total, std::map<std::string, int>& fixes,
                                                     json::array& hosts, int& missing) const {
  std::vector<runtime::RankRow> rows;
  if (mesh_.size() > 1) {
    rows.push_back(
        runtime::RankRow{0, mesh_.host(), "master",
                         runtime::fields_json(MasterRow{0, peak_rss_kb(), cpu_s_, mesh_.counters().bytes_recv})});
  }
  missing = 0;
  fixes = depth_fixes_;
  for (std::size_t w = 0; w < reports_.size(); ++w) {
    const auto& report = reports_[w];
    if (!report) {
      ++missing;
      continue;
    }
    const CrawlReport r = decode_crawl_report(report->payload);
    runtime::add_fields(total, r.engine);
    rows.push_back(runtime::RankRow{report->rank, report->host, report->role,
                                    runtime::fields_json(worker_row(*report, r, final_hosts_[w].size()))});
    for (const auto& h : final_hosts_[w])
      hosts.push_back(json::object{{"origin", h.origin},
                                   {"rank", h.rank},
                                   {"pages", h.pages},
                                   {"bytes", h.bytes},
                                   {"errors", h.errors},
                                   {"blocked", h.blocked},
                                   {"robots", h.robots},
                                   {"delay_s", h.delay}});
  }
  return rows;
}

void Coordinator::finalize() {
  seconds_ = seconds_since(t0_);
  cpu_s_ = cpu_seconds();
  draw_progress(true);
  std::map<std::string, int> fixes;
  EngineStats total;
  json::array hosts;
  int missing = 0;
  json::array ranks = runtime::ranks_json(rank_rows(total, fixes, hosts, missing));
  // --output-shards: the workers' shards join pages.jsonl and links.tsv before the depth fixes.
  std::vector<int> sharded;
  for (const auto& report : reports_)
    if (report && decode_crawl_report(report->payload).shard_pages > 0) sharded.push_back(report->rank);
  if (Status s = outputs_.merge_shards(sharded); !s && error_.empty()) error_ = s.message();
  if (Status s = outputs_.apply_depth_fixes(fixes); !s && error_.empty()) error_ = s.message();
  outputs_.close_links();
  // Last, after the outputs are final: "complete" means a resume has nothing to do.
  // An origin whose robots.txt is "pending" (5xx/429 after its retries) still has URLs to
  // fetch: a resume asks it again.
  const bool pending =
      std::any_of(host_states_.begin(), host_states_.end(), [](const auto& h) { return h.second.robots == "pending"; });
  // So does a run that ended because --max-pages was spent with URLs left: a resume with a
  // larger budget continues it.
  checkpoint_.complete = signal_ == 0 && missing == 0 && error_.empty() && !pending && total.over_max_pages == 0;
  checkpoint_.interrupted = signal_ != 0;
  checkpoint_.robots_fetches = robots_before_ + total.robots_fetches;
  if (std::string e = write_checkpoint_now(); !e.empty() && error_.empty()) error_ = e;
  const ResumeState* resume = job_.resume.get();
  const std::uint64_t links_before = resume ? resume->links : 0, bytes_before = resume ? resume->bytes : 0;
  json::object status, errors, retries;
  for (const auto& [k, v] : retries_) retries[k] = v;
  for (const auto& [k, v] : by_status_) status[k] = v;
  for (const auto& [k, v] : by_error_) errors[k] = v;
  const double secs = seconds_ > 0 ? seconds_ : 1e-9;
  // Rank 0's share: its CPU seconds per 1,000 pages recorded this run (with one rank it also crawls).
  const std::uint64_t run_pages = pages_ - previous_pages_;
  const double master_cpu = run_pages ? cpu_s_ * 1000.0 / static_cast<double>(run_pages) : 0.0;
  // Totals cover every run on this output directory; "ranks" and rates this run.
  // The workers' FinalPart slices, and the start's and the stop's times (docs/scale.md).
  json::object final_report{{"slices", final_slices_}, {"largest_slice_bytes", largest_final_}};
  json::object start_stop{
      {"handshake_ms", handshake_ms_}, {"stop", gathered_stop_ ? "gathered" : "point to point"}, {"stop_ms", stop_ms_}};
  json::object summary{{"pages", pages_},
                       {"robots_fetches", robots_before_ + total.robots_fetches},
                       {"links", links_before + total.links},
                       {"bytes", bytes_before + total.bytes},
                       {"seconds", seconds_},
                       {"pages_per_s", static_cast<double>(pages_ - previous_pages_) / secs},
                       {"links_per_s", static_cast<double>(total.links) / secs},
                       {"master_cpu_s_per_1000_pages", master_cpu},
                       {"status", std::move(status)},
                       {"errors", std::move(errors)},
                       {"retries", std::move(retries)},
                       {"not_followed", json::object{{"out_of_scope", total.out_of_scope},
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
                       {"restore", json::object{{"slice_bytes", slice_bytes_},
                                                {"slices", restore_slices_},
                                                {"largest_slice_bytes", largest_slice_}}},
                       {"final_report", std::move(final_report)},
                       {"start_stop", std::move(start_stop)},
                       {"missing_rank_reports", missing},
                       {"seeds", json::value_from(job_.seeds)},
                       {"max_depth", job_.options.max_depth},
                       {"scope", std::string(to_string(job_.options.scope))},
                       {"ranks", std::move(ranks)},
                       {"hosts", std::move(hosts)}};
  if (!outputs_.write_summary(summary) && error_.empty()) error_ = "cannot write " + job_.out_dir + "/summary.json";
  if (!job_.options.quiet) {
    std::string counts;
    for (const auto& [k, v] : by_status_)
      counts += (counts.empty() ? "" : ", ") + (k == "0" ? std::string("no response") : k) + ": " + std::to_string(v);
    // Resumed: the totals cover every run, the time and rate this one.
    const std::string earlier = previous_pages_ || checkpoint_.runs > 1
                                    ? " (" + std::to_string(previous_pages_) + " from " +
                                          std::to_string(checkpoint_.runs - 1) + " earlier run(s))"
                                    : std::string();
    std::fprintf(stderr,
                 "rankpool-crawl: %s%llu pages%s in %.2f s (%.0f pages/s), %llu links, %llu robots.txt; %s%s; %llu "
                 "blocked by robots.txt; outputs in %s\n",
                 signal_ ? "INTERRUPTED after " : "", static_cast<unsigned long long>(pages_), earlier.c_str(),
                 seconds_, static_cast<double>(pages_ - previous_pages_) / secs,
                 static_cast<unsigned long long>(links_before + total.links),
                 static_cast<unsigned long long>(robots_before_ + total.robots_fetches),
                 counts.empty() ? "" : "status ", counts.c_str(), static_cast<unsigned long long>(total.blocked),
                 job_.out_dir.c_str());
    if (missing) std::fprintf(stderr, "rankpool-crawl: %d rank(s) did not report before the deadline\n", missing);
  }
  done_ = true;
}

}  // namespace rankpool::crawl
