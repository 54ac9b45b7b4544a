#include "rankpool/farm/master.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <map>

#include "farm/scheduler.hpp"
#include "rankpool/runtime/progress.hpp"
#include "rankpool/farm/detail/transport.hpp"

namespace rankpool::farm {

struct Master::Core {
  Core(const Registry& registry, Transport& transport, const FarmOptions& options,
       std::vector<std::vector<bool>> serves, std::vector<int> slots, std::vector<int> fanout,
       std::vector<int> parent_of)
      : registry_(registry),
        transport_(transport),
        options_(options),
        scheduler_(options, serves, slots, fanout),
        serves_(std::move(serves)),
        slots_(slots.empty() ? std::vector<int>(serves_.size(), 1) : std::move(slots)),
        parent_of_(std::move(parent_of)),
        progress_(std::make_unique<runtime::ProgressLine>(options.progress && !options.quiet,
                                                          std::chrono::milliseconds(100))) {
    // A relay's slots stand for one slot of each of its workers.
    for (std::size_t w = 0; w < fanout.size() && w < slots_.size(); ++w) slots_[w] *= std::max(1, fanout[w]);
  }

  int worker_of_rank(int rank) const;
  /// The relay `rank` takes batches from, or -1 when it is one of rank 0's own workers.
  int relay_of(int rank) const;
  std::uint64_t pending() const;
  void drive(const std::function<bool()>& done);
  /// After an interrupt: no more dispatching; keeps the results that return within the grace
  /// period, then throws Interrupted.
  [[noreturn]] void stop_for_interrupt(int signal);
  void handle(Incoming& msg);
  void send_batch(const Dispatch& d);
  /// done/total, rate, ETA on the runtime's progress line (when one is due).
  void show_progress();

  const Registry& registry_;
  Transport& transport_;
  FarmOptions options_;
  Scheduler scheduler_;
  std::vector<std::vector<bool>> serves_;
  std::vector<int> slots_;
  std::vector<int> parent_of_;  // per rank: the rank it takes batches from (0, or its relay's)
  std::map<std::uint32_t, std::unique_ptr<detail::GroupBase>> groups_;
  std::map<std::uint32_t, std::uint32_t> submit_group_of_type_;
  std::uint32_t next_group_ = 0;
  FarmStats stats_;
  std::uint64_t submit_completed_ = 0, submit_failed_ = 0;
  std::unique_ptr<runtime::ProgressLine> progress_;
  std::uint64_t batches_sent_ = 0;
};

Master::Master(const Registry& registry, Transport& transport, const FarmOptions& options,
               std::vector<std::vector<bool>> serves, std::vector<int> slots, std::vector<int> fanout,
               std::vector<int> parent_of)
    : core_(std::make_unique<Core>(registry, transport, options, std::move(serves), std::move(slots), std::move(fanout),
                                   std::move(parent_of))) {}

Master::~Master() = default;

int Master::workers() const { return core_->transport_.workers(); }
const FarmOptions& Master::options() const { return core_->options_; }
const FarmStats& Master::stats() const { return core_->stats_; }
FarmStats& Master::mutable_stats() { return core_->stats_; }
const TaskType& Master::type_at(std::uint32_t type) const { return core_->registry_.at(type); }

int Master::total_slots() const {
  int n = 0;
  for (int s : core_->slots_) n += s;
  return n;
}

int Master::Core::worker_of_rank(int rank) const {
  if (rank < 0) return -1;
  for (int w = 0; w < transport_.workers(); ++w)
    if (transport_.worker_rank(w) == rank) return w;
  return -1;
}

int Master::Core::relay_of(int rank) const {
  if (rank < 0 || static_cast<std::size_t>(rank) >= parent_of_.size()) return -1;
  const int parent = parent_of_[static_cast<std::size_t>(rank)];
  return parent > 0 ? parent : -1;
}

std::uint64_t Master::pending() const { return core_->pending(); }

std::uint64_t Master::Core::pending() const {
  std::uint64_t n = 0;
  for (const auto& [id, g] : groups_) n += g->total - g->finished;
  return n;
}

std::uint64_t Master::wait_any() {
  Core& c = *core_;
  const std::uint64_t before = c.submit_completed_ + c.submit_failed_;
  if (c.pending() == 0) return 0;
  c.drive([&] { return c.submit_completed_ + c.submit_failed_ > before || c.pending() == 0; });
  return c.submit_completed_ + c.submit_failed_ - before;
}

std::uint32_t Master::resolve(std::string_view type, const std::string& signature) const {
  const int t = core_->registry_.index_of(type);
  if (t < 0) throw FarmError("unknown task type '" + std::string(type) + "'");
  return resolve_index(t, std::string(type), signature);
}

std::uint32_t Master::resolve_index(int t, const std::string& name, const std::string& signature) const {
  const Registry& registry = core_->registry_;
  if (t < 0) throw FarmError("map/submit: the task handle was not returned by Registry::add");
  if (static_cast<std::size_t>(t) >= registry.size() || registry.at(static_cast<std::size_t>(t)).name != name) {
    throw FarmError("task '" + name + "' belongs to another registry than this farm's");
  }
  const TaskType& tt = registry.at(static_cast<std::size_t>(t));
  if (tt.signature != signature) {
    throw FarmError("task type '" + name + "' was registered with other input/output types");
  }
  if (!core_->scheduler_.has_worker_for(static_cast<std::uint32_t>(t))) {
    throw FarmError("no worker serves queue '" + tt.queue + "' (task type '" + tt.name +
                    "'): assign ranks to it, e.g. --queue " + tt.queue + "=1-");
  }
  return static_cast<std::uint32_t>(t);
}

std::uint32_t Master::add_group(std::unique_ptr<detail::GroupBase> g) {
  const std::uint32_t id = core_->next_group_++;
  core_->groups_.emplace(id, std::move(g));
  return id;
}

detail::GroupBase& Master::group(std::uint32_t id) { return *core_->groups_.at(id); }

detail::GroupBase* Master::submit_group(std::uint32_t type) {
  auto it = core_->submit_group_of_type_.find(type);
  return it == core_->submit_group_of_type_.end() ? nullptr : core_->groups_.at(it->second).get();
}

std::uint32_t Master::submit_group_id(std::uint32_t type) const { return core_->submit_group_of_type_.at(type); }

void Master::set_submit_group(std::uint32_t type, std::uint32_t id) { core_->submit_group_of_type_[type] = id; }

std::uint64_t* Master::submit_counter(bool failed) {
  return failed ? &core_->submit_failed_ : &core_->submit_completed_;
}

void Master::queue_tasks(std::uint32_t id, std::uint32_t type, std::uint32_t first, std::uint32_t count) {
  core_->scheduler_.add_tasks(id, type, first, count);
}

void Master::queue_task_avoiding(std::uint32_t id, std::uint32_t type, std::uint32_t index, int avoid_rank) {
  // A relay's local worker: avoid its relay, or (the only one serving the type) that worker within it.
  const int relay = core_->relay_of(avoid_rank);
  const int avoid = core_->worker_of_rank(relay >= 0 ? relay : avoid_rank);
  if (avoid >= 0)
    core_->scheduler_.add_task_avoiding(id, type, index, avoid, relay >= 0 ? avoid_rank : -1);
  else
    core_->scheduler_.add_tasks(id, type, index, 1);
}

void Master::remove_group(std::uint32_t id) {
  core_->scheduler_.remove_group(id);
  core_->groups_.erase(id);
}

void Master::drive(const std::function<bool()>& done) { core_->drive(done); }

void Master::Core::send_batch(const Dispatch& d) {
  const auto& g = *groups_.at(d.group);
  BatchHeader h;
  h.batch_id = d.batch_id;
  h.type = d.type;
  h.count = static_cast<std::uint32_t>(d.indices.size());
  h.flags = g.time_each ? BatchHeader::kTimeEach : 0;
  h.avoid_rank = d.avoid_rank;
  std::string msg;
  encode_batch_header(msg, h);
  g.encode(d.indices, msg);
  transport_.send(d.worker, Tag::Batch, std::move(msg));
  ++batches_sent_;
}

void Master::Core::handle(Incoming& msg) {
  if (msg.tag == Tag::Note) {
    if (options_.on_note) options_.on_note(transport_.worker_rank(msg.worker), msg.bytes);
    return;
  }
  if (msg.tag == Tag::RankNote) {
    // A relay's local worker's note: that worker's rank, then the note.
    ByteReader in(msg.bytes, "farm relayed note");
    const auto from = in.get<std::int32_t>();
    if (options_.on_note) options_.on_note(from, in.get_bytes(in.remaining()));
    return;
  }
  if (msg.tag != Tag::Result) {
    throw ProtocolError(std::string("master: unexpected ") + to_string(msg.tag) + " from worker " +
                        std::to_string(msg.worker));
  }
  const ResultView r = decode_result_view(msg.bytes);
  const double busy = static_cast<double>(r.busy_ns) * 1e-9;
  Dispatch d = scheduler_.complete(r.batch_id, busy);
  if (r.count != d.indices.size()) throw ProtocolError("result count does not match its batch");
  auto& g = *groups_.at(d.group);
  const int rank = transport_.worker_rank(d.worker);
  const double mean = d.indices.empty() ? 0.0 : busy / static_cast<double>(d.indices.size());
  std::vector<bool> failed;
  if (!r.failures.empty()) {
    failed.assign(d.indices.size(), false);
    for (const auto& f : r.failures) failed[f.position] = true;
  }
  // Outputs first (they are positional in the payload), then the failures.
  const std::uint64_t before = g.finished;
  g.deliver(d.indices, r, failed, rank, mean);
  stats_.tasks_completed += g.finished - before;
  RankCursor ran_by(r.ranks, rank);  // failures come in batch order from workers and relays
  for (const auto& f : r.failures) {
    const std::uint32_t index = d.indices[f.position];
    if (f.kind == FailureKind::not_run) {
      scheduler_.requeue(d.group, index);
      ++stats_.requeued;
      continue;
    }
    if (f.kind == FailureKind::timeout) ++stats_.timeouts;
    // Under a relay: the local worker it failed on, for the relay to avoid (the only relay left).
    const int ran_on = ran_by(f.position);
    const auto decision = scheduler_.retry(d.group, index, d.worker, ran_on != rank ? ran_on : -1);
    if (decision.retried) {
      g.note_retry(index);
      ++stats_.retries;
    } else {
      g.fail(index, f.message, decision.attempts, ran_on);
      ++stats_.tasks_failed;
    }
  }
  if (g.journal && g.journal_records) {
    g.journal->commit(g.journal_buf, g.journal_records);
    g.journal_records = 0;
  }
}

void Master::Core::stop_for_interrupt(int signal) {
  const auto deadline = std::chrono::steady_clock::now() + options_.interrupt_grace;
  const std::uint64_t in_flight = scheduler_.in_flight_batches();
  while (scheduler_.in_flight_batches() > 0 && std::chrono::steady_clock::now() < deadline) {
    if (auto msg = transport_.receive(std::chrono::milliseconds(20))) handle(*msg);
  }
  for (const auto& [id, g] : groups_)
    if (g->journal) g->journal->sync();
  progress_->finish();
  const char* name = signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : nullptr;
  std::string what = "interrupted by " + (name ? std::string(name) : "signal " + std::to_string(signal)) + " after " +
                     std::to_string(stats_.tasks_completed + stats_.tasks_failed) + " of " +
                     std::to_string(stats_.tasks_submitted) + " tasks";
  if (scheduler_.in_flight_batches() > 0) {
    what += " (" + std::to_string(scheduler_.in_flight_batches()) + " of " + std::to_string(in_flight) +
            " batches in flight abandoned)";
  }
  throw Interrupted(signal, what);
}

void Master::Core::drive(const std::function<bool()>& done) {
  while (!done()) {
    if (options_.interrupt) {
      if (const int sig = options_.interrupt->load()) stop_for_interrupt(sig);
    }
    while (auto d = scheduler_.next()) send_batch(*d);
    if (scheduler_.in_flight_batches() == 0) {
      // Nothing in flight and nothing dispatchable: waiting would hang forever.
      throw FarmError("farm stalled: tasks remain but no worker can take them");
    }
    if (auto msg = transport_.receive(std::chrono::milliseconds(100))) handle(*msg);
    show_progress();
  }
  show_progress();
}

void Master::Core::show_progress() {
  const std::uint64_t done = stats_.tasks_completed + stats_.tasks_failed, total = stats_.tasks_submitted;
  if (!progress_->due(done == total)) return;
  const double elapsed = progress_->elapsed_s();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0;
  char line[160];
  std::snprintf(line, sizeof line, "[rankpool] %llu/%llu tasks  %.0f/s  ETA %.0f s",
                static_cast<unsigned long long>(done), static_cast<unsigned long long>(total), rate, eta);
  progress_->draw(line);
}

WaitSummary Master::wait_all() {
  Core& c = *core_;
  c.drive([&c] {
    for (const auto& [id, g] : c.groups_)
      if (!g->done()) return false;
    return true;
  });
  c.progress_->finish();
  // Submitted tasks are done: forget their groups so a later submit starts afresh.
  for (auto& [t, id] : c.submit_group_of_type_) {
    c.scheduler_.remove_group(id);
    c.groups_.erase(id);
  }
  c.submit_group_of_type_.clear();
  WaitSummary s{c.submit_completed_, c.submit_failed_};
  c.submit_completed_ = c.submit_failed_ = 0;
  return s;
}

RankStats Master::master_counters() const {
  RankStats s;
  const auto& c = core_->transport_.counters();
  s.msgs_sent = c.msgs_sent;
  s.msgs_recv = c.msgs_recv;
  s.bytes_sent = c.bytes_sent;
  s.bytes_recv = c.bytes_recv;
  s.batches = core_->batches_sent_;
  return s;
}

}  // namespace rankpool::farm
