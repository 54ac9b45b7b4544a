// A crawling rank: its engine, its URL and record batches, its part in termination and stop.
#include "crawl/worker.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "rankpool/crawl/warc.hpp"

#include "rankpool/farm/detail/protocol.hpp"

namespace rankpool::crawl {

void Worker::on_message(MeshMessage& m) {
  const auto tag = static_cast<CrawlTag>(m.tag);
  if ((!engine_ || restoring_) && tag != CrawlTag::Start && tag != CrawlTag::Restore) {
    early_.push_back(std::move(m));  // a peer already crawls; our Start (or restore) is on its way
    return;
  }
  switch (tag) {
    case CrawlTag::Start:
      start(decode_start(m.bytes));
      break;
    case CrawlTag::Restore:
      if (!restoring_) throw farm::ProtocolError("crawl worker got a Restore slice after its restore ended");
      {
        Result<RestoreSlice> slice = read_restore(m.bytes, slice_bytes_);
        if (!slice) throw farm::ProtocolError(slice.status().message());
        restore(std::move(*slice));
        break;
      }
    case CrawlTag::Urls: {
      ++msgs_received_;
      auto urls = decode_urls(m.bytes);
      urls_received_ += urls.size();
      for (const auto& u : urls) engine_->offer(u.url, u.depth, u.referrer);
      break;
    }
    case CrawlTag::Permits: {
      permit_requested_ = false;
      const auto n = decode_u64(m.bytes);
      if (n == 0)
        engine_->exhaust();  // the master has no permits left anywhere
      else
        engine_->grant(n);
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
      to_master(CrawlTag::ProbeReply, encode_counters(c));
      break;
    }
    case CrawlTag::Finish:
      finish(runtime::decode_stop(m.bytes).signal);
      break;
    default:
      throw farm::ProtocolError(std::string("crawl worker got unexpected ") + to_string(tag));
  }
}

bool Worker::tick() {
  if (done_ || !engine_ || restoring_) return false;
  bool did = false;
  if (trees_ && !direct_stop_) {
    // A normal end comes down the runtime's tree; after a signal the tree only announces
    // that the stop comes point to point (Finish).
    if (const auto stop = trees_->poll()) {
      if (stop->gathered) {
        finish(stop->message.signal, true);
        return true;
      }
      direct_stop_ = true;
    }
  }
  const auto now = Clock::now();
  if (interrupt_.poll() != 0 && !interrupt_sent_) {
    engine_->stop_starting();
    to_master(CrawlTag::Interrupt, encode_u64(static_cast<std::uint64_t>(interrupt_.signal())));
    interrupt_sent_ = true;
    did = true;
  }
  if (interrupt_sent_ && interrupt_.grace_over(now)) {
    // The master did not answer: leave with what we have rather than hang.
    exit_code_ = 128 + interrupt_.signal();
    done_ = true;
    return true;
  }
  if (engine_->wants_permits() && !permit_requested_) {
    to_master(CrawlTag::PermitRequest, {});
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
      to_master(CrawlTag::Idle, encode_counters(c));
      idle_reported_ = true;
      did = true;
    }
  } else {
    idle_reported_ = false;
  }
  return did;
}

std::chrono::microseconds Worker::wait_hint() const {
  constexpr std::chrono::microseconds idle_wait(5000);
  if (!engine_ || done_) return idle_wait;
  if (engine_->in_flight()) return std::chrono::microseconds(0);
  if (auto t = engine_->next_wakeup()) {
    const auto d = std::chrono::duration_cast<std::chrono::microseconds>(*t - Clock::now());
    return std::clamp(d, std::chrono::microseconds(0), idle_wait);
  }
  return idle_wait;
}

void Worker::start(StartMessage s) {
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
  if (s.options.warc) {
    WarcOptions w;
    w.dir = s.out_dir + "/warc";
    w.rank = mesh_.rank();
    w.max_file_bytes = s.options.warc_max_size;
    w.cdx = s.options.warc_cdx;
    w.software = std::string("rankpool-crawl/") + RANKPOOL_VERSION_STRING;
    w.info = {{"robots", s.options.ignore_robots ? "ignore" : "obey"},
              {"http-header-user-agent", s.options.user_agent},
              {"hostname", mesh_.host()}};
    const int rank = mesh_.rank();
    fetcher_ = make_archiving_fetcher(
        std::move(fetcher_), std::make_unique<WarcWriter>(std::move(w)),
        [rank](const std::string& e) { std::fprintf(stderr, "rankpool-crawl: rank %d: %s\n", rank, e.c_str()); });
  }
  if (s.options.output_shards) {
    shard_.emplace();
    if (Status st = shard_->open(s.out_dir, mesh_.rank()); !st) {
      std::fprintf(stderr, "rankpool-crawl: rank %d: %s; its records go to rank 0\n", mesh_.rank(),
                   st.message().c_str());
      shard_.reset();
    }
    shard_sync_s_ = s.options.checkpoint_interval;
    last_shard_sync_ = Clock::now();
  }
  auto owner = [this, workers](std::string_view origin) {
    auto it = assigned_.find(std::string(origin));
    if (it != assigned_.end()) return it->second;
    return static_cast<int>(fnv1a(origin) % static_cast<std::uint64_t>(workers));
  };
  engine_ = std::make_unique<Engine>(s.options, UrlFilter(s.options, seeds), *fetcher_, mesh_.rank(), self_, workers,
                                     owner, bodies);
  // A resumed crawl: what earlier runs did for our origins comes in Restore slices, before
  // any URL is offered (the master sends them next; peers' URLs wait in early_ until then).
  restoring_ = s.restoring;
  slice_bytes_ = static_cast<std::size_t>(s.slice_bytes);
  if (!restoring_)
    for (auto& m : std::exchange(early_, {})) on_message(m);
}

void Worker::restore(RestoreSlice slice) {
  for (const auto& h : slice.hosts) engine_->restore_host(h);
  // A URL with more links than one slice holds comes as consecutive items: joined here.
  for (auto& f : slice.fetched) {
    if (restoring_url_ && restoring_url_->url == f.url) {
      auto& children = restoring_url_->children;
      children.insert(children.end(), std::make_move_iterator(f.children.begin()),
                      std::make_move_iterator(f.children.end()));
      continue;
    }
    if (restoring_url_) engine_->preload(*restoring_url_);
    restoring_url_ = std::move(f);
  }
  if (!slice.done) return;
  if (restoring_url_) engine_->preload(*restoring_url_);
  restoring_url_.reset();
  restoring_ = false;
  for (auto& m : std::exchange(early_, {})) on_message(m);
}

bool Worker::quiescent() const {
  if (!engine_->idle() || engine_->has_output()) return false;
  for (const auto& v : engine_->outbox())
    if (!v.empty()) return false;
  return true;
}

void Worker::flush_urls(bool force) {
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
    // One pump can add many pages' links at once: the slicing rule keeps each message bounded.
    const int dest = worker_rank(static_cast<int>(w), mesh_.size());
    Slicer slicer(slice_bytes_, {}, {}, [&](std::string bytes) {
      ++msgs_sent_;
      mesh_.send(dest, static_cast<int>(CrawlTag::Urls), std::move(bytes));
    });
    for (const auto& u : out[w]) slicer.add(u);
    slicer.finish();
    out[w].clear();
  }
  any = false;
  for (const auto& v : out) any |= !v.empty();
  if (!any) oldest_url_.reset();
}

void Worker::flush_records(bool force) {
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
  write_shard(m, now);
  // One message, or a few when the batch's links would take it past the slicing rule.
  slice_records(m, slice_bytes_, [&](std::string bytes) { to_master(CrawlTag::Records, std::move(bytes)); });
  last_records_ = now;
  last_status_ = status;
}

void Worker::write_shard(RecordsMessage& m, Clock::time_point now) {
  if (!shard_ || (m.records.empty() && m.edges.empty())) return;
  if (Status st = shard_->write(m.records, m.edges); !st) {
    // Rank 0 takes this batch and the later ones (a line the failed write tore is dropped by
    // the merge; a whole one may then be in pages.jsonl twice, which a resume tolerates).
    std::fprintf(stderr, "rankpool-crawl: rank %d: %s; its records go to rank 0 from now on\n", mesh_.rank(),
                 st.message().c_str());
    shard_.reset();
    return;
  }
  shard_pages_ += m.records.size();
  m.tally = tally_of(m.records);
  m.records.clear();
  m.edges.clear();
  // As rank 0 syncs its files before each checkpoint: what the shards hold survives a crash of
  // the machine, within about one checkpoint interval.
  if (shard_sync_s_ > 0 && now - last_shard_sync_ >= std::chrono::duration<double>(shard_sync_s_)) {
    last_shard_sync_ = now;
    if (Status st = shard_->sync(); !st)
      std::fprintf(stderr, "rankpool-crawl: rank %d: %s\n", mesh_.rank(), st.message().c_str());
  }
}

void Worker::to_master(CrawlTag tag, std::string bytes) {
  ++to_master_;
  mesh_.send(0, static_cast<int>(tag), std::move(bytes));
}

void Worker::finish(int signal, bool gathered) {
  if (engine_) {
    engine_->stop_starting();
    flush_urls(true);
    flush_records(true);
    CrawlReport r;
    r.engine = engine_->stats();
    // What grows with the crawl goes point to point in bounded slices; the report stays small.
    const std::vector<HostStats> hosts = engine_->host_stats();
    const auto fixes = engine_->depth_fixes();
    r.hosts = hosts.size();
    r.depth_fixes = fixes.size();
    r.final_slices = slice_final(hosts, fixes, slice_bytes_,
                                 [&](std::string bytes) { to_master(CrawlTag::FinalPart, std::move(bytes)); });
    if (shard_)
      if (Status st = shard_->sync(); !st)
        std::fprintf(stderr, "rankpool-crawl: rank %d: %s\n", mesh_.rank(), st.message().c_str());
    r.shard_pages = shard_pages_;
    r.msgs_to_master = to_master_;
    r.urls_msgs_sent = msgs_sent_;
    r.urls_msgs_received = msgs_received_;
    r.urls_sent = urls_sent_;
    r.urls_received = urls_received_;
    r.bytes_sent = mesh_.counters().bytes_sent;
    r.bytes_received = mesh_.counters().bytes_recv;
    r.peak_rss_kb = peak_rss_kb();
    r.cpu_s = cpu_seconds();
    const runtime::RankReport report{mesh_.rank(), mesh_.host(), mesh_.size() == 1 ? "master+worker" : "worker",
                                     seconds_since(t0_), encode_crawl_report(r)};
    if (gathered) {
      // Up the gather tree. Until the closing barrier, messages still coming (a Probe sent
      // before the stop) are received and dropped, so that their senders' sends complete.
      trees_->report(report, [&] {
        while (mesh_.receive(std::chrono::microseconds(0))) {
        }
      });
    } else {
      to_master(CrawlTag::Final, runtime::encode_report(report));
      // Rank 0 announced this stop on the tree before sending it: that broadcast must be
      // complete here before the rank leaves (a collective still pending at MPI_Finalize
      // crashes it; seen at 32 ranks), forwarded to the ranks below this one. Bounded: a
      // rank above that is already gone must not hold this one.
      if (trees_ && !direct_stop_) {
        const auto deadline = Clock::now() + kInterruptGrace;
        while (!trees_->poll() && Clock::now() < deadline)
          mesh_.receive(std::chrono::microseconds(200));  // late messages: dropped
      }
    }
  }
  exit_code_ = signal ? 128 + signal : 0;
  done_ = true;
}

}  // namespace rankpool::crawl
