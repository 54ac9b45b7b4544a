#pragma once
// The master's API, in the spirit of concurrent.futures and Parallel Python:
//   map()    — run a task type over a container; results in input order or as they complete
//   submit() — queue single tasks of any registered type with a completion callback
//   wait_all() — drive the farm until everything submitted has finished
// Only rank 0 has a Master; Farm::run() hands it to the caller's body.

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "rankpool/farm/codec.hpp"
#include "rankpool/farm/journal.hpp"
#include "rankpool/farm/options.hpp"
#include "rankpool/farm/registry.hpp"
#include "rankpool/farm/scheduler.hpp"
#include "rankpool/farm/stats.hpp"
#include "rankpool/farm/transport.hpp"

namespace rankpool::farm {

/// A clear error in how the farm is used (unknown type, queue without workers, ...).
struct FarmError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The run was interrupted by a signal (FarmOptions::interrupt): thrown out of map() and
/// wait_all() after the results of batches returning within the grace period were kept.
struct Interrupted : FarmError {
  Interrupted(int signal, const std::string& what) : FarmError(what), signal(signal) {}
  int signal;
};

/// What one task produced. `value` points into the farm's storage; a callback may move from it.
template <class Out>
struct Outcome {
  std::size_t index = 0;   // position in the map's input, or the submit() sequence number
  Out* value = nullptr;    // null when the task failed after all retries
  std::string error;       // the last exception's message when it failed
  int attempts = 1;
  int rank = -1;           // rank that ran the (last) attempt
  double seconds = 0;      // the task's time (or its batch's mean, see TaskTypeOptions::time_each)
  bool from_journal = false;  // finished in an earlier run, read back from MapOptions::journal
  bool ok() const { return value != nullptr; }
};

struct FailureReport {
  std::size_t index = 0;
  std::string message;
  int attempts = 0;
  int rank = -1;
};

enum class Order {
  input,       // callbacks in input order (results that arrive early wait for their turn)
  completion,  // callbacks as results arrive
};

template <class Out>
struct MapOptions {
  Order order = Order::input;
  std::function<void(Outcome<Out>&)> on_result;  // called once per input
  bool keep_values = true;  // false: values are only passed to on_result (streaming)
  Journal* journal = nullptr;  // record each finished task there; on a resumed journal, tasks it
                               // holds are not run again but delivered from it (from_journal)
};

/// Which rank ran a run of consecutive inputs, and how long each took. Kept per batch,
/// not per task, so that a map over a million tiny inputs does not pay for bookkeeping
/// it never reads.
struct TaskSpan {
  std::uint32_t first = 0;
  std::uint32_t count = 0;
  int rank = -1;
  float seconds = 0;  // each task's time: the batch's mean unless measured per task
};

template <class Out>
struct MapResult {
  std::vector<Out> values;               // in input order (empty if !keep_values);
                                         // default-constructed where a task failed
  std::vector<FailureReport> failures;   // in input order
  std::vector<TaskSpan> spans;           // sorted by first; every input is in one
  std::vector<float> task_seconds;       // per input, for types registered with time_each
  bool ok() const { return failures.empty(); }
  /// The rank that ran input i (its last attempt), or -1.
  int rank_of(std::size_t i) const {
    const TaskSpan* s = span_of(i);
    return s ? s->rank : -1;
  }
  double seconds_of(std::size_t i) const {
    if (!task_seconds.empty()) return task_seconds[i];
    const TaskSpan* s = span_of(i);
    return s ? s->seconds : 0.0;
  }

 private:
  const TaskSpan* span_of(std::size_t i) const {
    auto it = std::upper_bound(spans.begin(), spans.end(), i,
                               [](std::size_t v, const TaskSpan& s) { return v < s.first; });
    if (it == spans.begin()) return nullptr;
    --it;
    return i < static_cast<std::size_t>(it->first) + it->count ? &*it : nullptr;
  }
};

/// Options of one submit().
struct SubmitOptions {
  int avoid_rank = -1;  // run the task on another rank than this one when one serves its type:
                        // the caller's own retry of a task that failed there (a bad node)
};

struct WaitSummary {
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  bool ok() const { return failed == 0; }
};

namespace detail {

/// The master's view of a set of tasks of one type: how to encode their inputs and where
/// their outputs go.
struct GroupBase {
  virtual ~GroupBase() = default;
  std::uint32_t type = 0;
  bool time_each = false;
  std::uint64_t total = 0;
  std::uint64_t finished = 0;
  Journal* journal = nullptr;
  std::string journal_buf;  // records of the batch being delivered, committed with one write
  std::uint64_t journal_records = 0;
  virtual void encode(const TaskSet& indices, std::string& out) const = 0;
  /// Outputs of a returned batch: `payload` holds one Out per position not in `failed`.
  virtual void deliver(const TaskSet& indices, const ResultView& r,
                       const std::vector<bool>& failed, int rank, double mean_seconds) = 0;
  virtual void fail(std::uint32_t index, const std::string& message, int attempts, int rank) = 0;
  /// A task failed and will run again.
  virtual void note_retry(std::uint32_t index) = 0;
  bool done() const { return finished == total; }
};

template <class In, class Out>
struct MapGroup final : GroupBase {
  std::span<const In> inputs;
  MapOptions<Out> options;
  std::vector<Out> values;                 // keep_values: results land here directly
  std::map<std::size_t, Out> early;        // !keep_values, ordered: results waiting for their turn
  bool ordered = false;                    // on_result in input order: needs `state`
  std::vector<std::uint8_t> state;         // only when ordered: one of the k... below
  static constexpr std::uint8_t kPending = 0, kOk = 1, kFailed = 2, kRestoredOk = 3, kRestoredFailed = 4;
  std::map<std::uint32_t, TaskSpan> spans;  // by first index
  std::vector<float> task_seconds;         // only for time_each types
  std::map<std::uint32_t, int> retried;    // attempts so far of tasks that failed and ran again
  std::map<std::size_t, FailureReport> failures;
  std::size_t next_emit = 0;
  std::vector<Out> decoded;
  std::string scratch;
  bool restoring = false;  // delivering what the journal holds

  void encode(const TaskSet& idx, std::string& out) const override {
    if (idx.contiguous()) {
      codec::encode_range(out, inputs.data() + idx.first(), idx.size());
    } else {
      codec::encode<In>(out, idx.size(), [&](std::size_t i) -> const In& { return inputs[idx[i]]; });
    }
  }
  void deliver(const TaskSet& idx, const ResultView& r, const std::vector<bool>& failed, int rank,
               double mean_seconds) override {
    const std::size_t n = idx.size();
    const float mean = static_cast<float>(mean_seconds);
    auto task_time = [&](std::size_t p) { return r.seconds.empty() ? mean : r.seconds[p]; };
    if (n > 0 && failed.empty() && idx.contiguous()) {
      // The common case, kept to one pass over memory: the values straight into place.
      const std::uint32_t first = idx.first();
      if constexpr (codec::kBitwise<Out>) {
        if (options.keep_values) {
          if (r.payload.size() != n * sizeof(Out)) throw ProtocolError("result payload has the wrong size");
          std::memcpy(static_cast<void*>(values.data() + first), r.payload.data(), r.payload.size());
        } else {
          codec::decode<Out>(r.payload, n, decoded);
        }
      } else {
        codec::decode<Out>(r.payload, n, decoded);
        if (options.keep_values)
          for (std::size_t p = 0; p < n; ++p) values[first + p] = std::move(decoded[p]);
      }
      spans[first] = TaskSpan{first, static_cast<std::uint32_t>(n), rank, mean};
      if (!r.seconds.empty()) std::copy(r.seconds.begin(), r.seconds.end(), task_seconds.begin() + first);
      finished += n;
      if (journal) {
        for (std::size_t p = 0; p < n; ++p) {
          const auto i = static_cast<std::uint32_t>(first + p);
          journal_ok(i, options.keep_values ? values[i] : decoded[p], rank, task_time(p));
        }
      }
      if (!options.on_result) return;
      if (ordered) {
        std::memset(state.data() + first, kOk, n);
        if (!options.keep_values)
          for (std::size_t p = 0; p < n; ++p) early.emplace(first + p, std::move(decoded[p]));
        emit_ready();
      } else {
        for (std::size_t p = 0; p < n; ++p)
          emit(first + p, options.keep_values ? &values[first + p] : &decoded[p], rank, task_time(p));
      }
      return;
    }
    std::size_t ok = n;
    if (!failed.empty()) ok -= static_cast<std::size_t>(std::count(failed.begin(), failed.end(), true));
    codec::decode<Out>(r.payload, ok, decoded);
    std::size_t k = 0;
    for (std::size_t p = 0; p < n; ++p) {
      if (!failed.empty() && failed[p]) continue;
      const auto i = idx[p];
      Out& v = decoded[k++];
      if (journal) journal_ok(i, v, rank, task_time(p));
      spans[i] = TaskSpan{i, 1, rank, task_time(p)};
      if (!task_seconds.empty()) task_seconds[i] = task_time(p);
      ++finished;
      if (options.keep_values) values[i] = std::move(v);
      if (!options.on_result) continue;
      if (ordered) {
        state[i] = kOk;
        if (!options.keep_values) early.emplace(i, std::move(v));
      } else {
        emit(i, options.keep_values ? &values[i] : &v, rank, task_time(p));
      }
    }
    if (options.on_result && ordered) emit_ready();
  }
  void fail(std::uint32_t i, const std::string& message, int attempts, int rank) override {
    if (journal) {
      Journal::encode(journal_buf, i, false, attempts, rank, 0.0f, message);
      ++journal_records;
    }
    spans[i] = TaskSpan{i, 1, rank, 0.0f};
    retried[i] = attempts;
    failures[i] = FailureReport{i, message, attempts, rank};
    ++finished;
    if (!options.on_result) return;
    if (ordered) {
      state[i] = restoring ? kRestoredFailed : kFailed;
      emit_ready();
    } else {
      emit(i, nullptr, rank, 0.0f, restoring);
    }
  }
  void note_retry(std::uint32_t i) override { ++retried[i]; }
  void journal_ok(std::uint32_t i, const Out& v, int rank, float secs) {
    scratch.clear();
    codec::encode<Out>(scratch, 1, [&](std::size_t) -> const Out& { return v; });
    auto it = retried.find(i);
    const int attempts = (it == retried.end() ? 0 : it->second) + 1;
    Journal::encode(journal_buf, i, true, attempts, rank, secs, scratch);
    ++journal_records;
  }
  /// Delivers what an earlier run left in the journal: successes as results, failures as
  /// failures unless the journal asks for them to run again. Returns the indices to run.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> restore(Journal& j) {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> todo;  // ranges [first, end)
    std::uint32_t next = 0;
    std::vector<Out> one;
    restoring = true;
    for (const JournalRecord& rec : j.loaded()) {
      if (!rec.ok && j.retry_failed()) continue;
      if (rec.index > next) todo.emplace_back(next, rec.index);
      next = rec.index + 1;
      if (!rec.ok) {
        fail_restored(rec);
        continue;
      }
      codec::decode<Out>(rec.data, 1, one);
      Out& v = one.front();
      const std::uint32_t i = rec.index;
      spans[i] = TaskSpan{i, 1, rec.rank, rec.seconds};
      if (!task_seconds.empty()) task_seconds[i] = rec.seconds;
      if (rec.attempts > 1) retried[i] = rec.attempts - 1;
      ++finished;
      if (options.keep_values) values[i] = std::move(v);
      if (!options.on_result) continue;
      if (ordered) {
        state[i] = kRestoredOk;
        if (!options.keep_values) early.emplace(i, std::move(v));
        emit_ready();
      } else {
        emit(i, options.keep_values ? &values[i] : &v, rec.rank, rec.seconds, true);
      }
    }
    if (next < total) todo.emplace_back(next, static_cast<std::uint32_t>(total));
    restoring = false;
    j.release_loaded();
    return todo;
  }
  void fail_restored(const JournalRecord& rec) {
    Journal* keep = journal;
    journal = nullptr;  // already recorded
    fail(rec.index, rec.data, rec.attempts, rec.rank);
    journal = keep;
  }
  const TaskSpan& span_of(std::uint32_t i) const { return std::prev(spans.upper_bound(i))->second; }
  void emit_ready() {
    while (next_emit < state.size() && state[next_emit] != 0) {
      const auto i = static_cast<std::uint32_t>(next_emit++);
      const TaskSpan& s = span_of(i);
      const float secs = task_seconds.empty() ? s.seconds : task_seconds[i];
      const bool journaled = state[i] >= kRestoredOk;
      if (state[i] == kFailed || state[i] == kRestoredFailed) {
        emit(i, nullptr, s.rank, secs, journaled);
      } else if (options.keep_values) {
        emit(i, &values[i], s.rank, secs, journaled);
      } else {
        auto it = early.find(i);
        emit(i, &it->second, s.rank, secs, journaled);
        early.erase(it);
      }
    }
  }
  /// Calls on_result for task i: `value` is its output, or null when it failed.
  void emit(std::size_t i, Out* value, int rank, float secs, bool journaled = false) {
    Outcome<Out> o;
    o.index = i;
    o.rank = rank;
    o.seconds = secs;
    o.from_journal = journaled;
    auto it = retried.find(static_cast<std::uint32_t>(i));
    const int earlier = it == retried.end() ? 0 : it->second;
    o.value = value;
    if (value) {
      o.attempts = earlier + 1;
    } else {
      o.error = failures.at(i).message;
      o.attempts = earlier;
    }
    options.on_result(o);
  }
};

template <class In, class Out>
struct SubmitGroup final : GroupBase {
  std::vector<In> inputs;
  std::vector<std::function<void(Outcome<Out>&)>> callbacks;
  std::vector<std::int32_t> attempts_;
  std::vector<Out> decoded;
  std::uint64_t* completed = nullptr;
  std::uint64_t* failed_count = nullptr;

  void encode(const TaskSet& idx, std::string& out) const override {
    codec::encode<In>(out, idx.size(), [&](std::size_t i) -> const In& { return inputs[idx[i]]; });
  }
  void deliver(const TaskSet& idx, const ResultView& r,
               const std::vector<bool>& failed, int rank, double mean_seconds) override {
    std::size_t ok = idx.size();
    if (!failed.empty()) ok -= static_cast<std::size_t>(std::count(failed.begin(), failed.end(), true));
    codec::decode<Out>(r.payload, ok, decoded);
    std::size_t k = 0;
    for (std::size_t p = 0; p < idx.size(); ++p) {
      if (!failed.empty() && failed[p]) continue;
      Outcome<Out> o;
      o.index = idx[p];
      o.value = &decoded[k++];
      o.rank = rank;
      o.attempts = attempts_[idx[p]] + 1;
      o.seconds = r.seconds.empty() ? mean_seconds : r.seconds[p];
      ++finished;
      ++*completed;
      if (callbacks[idx[p]]) callbacks[idx[p]](o);
      callbacks[idx[p]] = nullptr;
      inputs[idx[p]] = In{};  // release memory held by the input
    }
  }
  void fail(std::uint32_t i, const std::string& message, int attempts, int rank) override {
    Outcome<Out> o;
    o.index = i;
    o.error = message;
    o.attempts = attempts;
    o.rank = rank;
    ++finished;
    ++*failed_count;
    if (callbacks[i]) callbacks[i](o);
    callbacks[i] = nullptr;
  }
  void note_retry(std::uint32_t i) override { ++attempts_[i]; }
};

}  // namespace detail

class Progress;

class Master {
 public:
  /// `serves[w][t]`: worker w serves type t (resolved from the queue assignment);
  /// `slots[w]`: batches worker w runs at once (empty: 1 each).
  Master(const Registry& registry, Transport& transport, const FarmOptions& options,
         std::vector<std::vector<bool>> serves, std::vector<int> slots = {});
  ~Master();
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  /// Runs task type `type` over `inputs`; returns when every input has a result.
  /// Throws FarmError for an unknown type, a type mismatch, or a queue no worker serves.
  template <class Out, class In>
  MapResult<Out> map(std::string_view type, std::span<const In> inputs, MapOptions<Out> options = {});
  template <class Out, class In>
  MapResult<Out> map(std::string_view type, const std::vector<In>& inputs, MapOptions<Out> options = {}) {
    return map<Out, In>(type, std::span<const In>(inputs), std::move(options));
  }

  /// Queues one task; `done` is called from wait_all() (or a later map()) when it finishes.
  /// Returns its sequence number within its type.
  template <class Out, class In>
  std::size_t submit(std::string_view type, In input, std::function<void(Outcome<Out>&)> done = {},
                     SubmitOptions submit_options = {});

  /// Drives the farm until every submitted task has finished.
  WaitSummary wait_all();
  /// Drives the farm until at least one submitted task finishes (its callback has run), or
  /// none is pending. Returns the number that finished during the call. For callers that
  /// submit a window of tasks and refill it as tasks end (bounded memory, decisions per task).
  std::uint64_t wait_any();
  /// Submitted tasks not finished yet.
  std::uint64_t pending() const;
  /// Total slots of the workers (the tasks that can run at once).
  int total_slots() const;

  int workers() const;
  const FarmOptions& options() const { return options_; }
  /// Counters of this run so far (tasks, retries, failures); per-rank figures come from Farm.
  const FarmStats& stats() const { return stats_; }
  /// Master-side counters for the statistics table.
  RankStats master_counters() const;

 private:
  std::uint32_t resolve(std::string_view type, const std::string& signature) const;
  std::uint32_t add_group(std::unique_ptr<detail::GroupBase> g);
  void drive(const std::function<bool()>& done);
  /// After an interrupt: no more dispatching; keeps the results that return within the grace
  /// period, then throws Interrupted.
  [[noreturn]] void stop_for_interrupt(int signal);
  void handle(Incoming& msg);
  void send_batch(const Dispatch& d);
  int worker_of_rank(int rank) const;

  const Registry& registry_;
  Transport& transport_;
  FarmOptions options_;
  Scheduler scheduler_;
  std::vector<std::vector<bool>> serves_;
  std::vector<int> slots_;
  std::map<std::uint32_t, std::unique_ptr<detail::GroupBase>> groups_;
  std::map<std::uint32_t, std::uint32_t> submit_group_of_type_;
  std::uint32_t next_group_ = 0;
  FarmStats stats_;
  std::uint64_t submit_completed_ = 0, submit_failed_ = 0;
  std::unique_ptr<Progress> progress_;
  std::uint64_t batches_sent_ = 0;
};

template <class Out, class In>
MapResult<Out> Master::map(std::string_view type, std::span<const In> inputs, MapOptions<Out> options) {
  const std::uint32_t t = resolve(type, signature_of<In, Out>());
  auto g = std::make_unique<detail::MapGroup<In, Out>>();
  auto* group = g.get();
  group->type = t;
  group->time_each = registry_.at(t).time_each;
  group->inputs = inputs;
  group->options = std::move(options);
  group->total = inputs.size();
  if (group->options.keep_values) group->values.resize(inputs.size());
  group->ordered = group->options.on_result && group->options.order == Order::input;
  if (group->ordered) group->state.assign(inputs.size(), 0);
  if (group->time_each) group->task_seconds.assign(inputs.size(), 0.0f);
  if (inputs.size() > UINT32_MAX) throw FarmError("map: more than 2^32 inputs in one call");
  Journal* journal = group->options.journal;
  if (journal && (journal->key().tasks != inputs.size() || journal->key().task_type != type)) {
    throw FarmError("map: journal '" + journal->path() + "' was opened for another task list");
  }
  const std::uint32_t id = add_group(std::move(g));
  stats_.tasks_submitted += inputs.size();
  if (journal) {
    // Group-less until restored: restore() may call back into on_result.
    const auto before = group->finished;
    const auto failed_before = group->failures.size();
    const auto todo = group->restore(*journal);
    const auto restored_failed = group->failures.size() - failed_before;
    stats_.tasks_resumed += group->finished - before;
    stats_.tasks_completed += group->finished - before - restored_failed;
    stats_.tasks_failed += restored_failed;
    group->journal = journal;
    scheduler_.add_tasks(id, t, 0, 0);
    for (const auto& [first, end] : todo) scheduler_.add_tasks(id, t, first, end - first);
  } else {
    scheduler_.add_tasks(id, t, 0, static_cast<std::uint32_t>(inputs.size()));
  }
  drive([group] { return group->done(); });
  if (journal) journal->sync();

  MapResult<Out> result;
  result.spans.reserve(group->spans.size());
  for (auto& [first, span] : group->spans) result.spans.push_back(span);
  result.task_seconds = std::move(group->task_seconds);
  for (auto& [i, f] : group->failures) result.failures.push_back(std::move(f));
  result.values = std::move(group->values);
  scheduler_.remove_group(id);
  groups_.erase(id);
  return result;
}

template <class Out, class In>
std::size_t Master::submit(std::string_view type, In input, std::function<void(Outcome<Out>&)> done,
                           SubmitOptions submit_options) {
  const std::uint32_t t = resolve(type, signature_of<In, Out>());
  auto it = submit_group_of_type_.find(t);
  detail::SubmitGroup<In, Out>* group;
  std::uint32_t id;
  if (it == submit_group_of_type_.end()) {
    auto g = std::make_unique<detail::SubmitGroup<In, Out>>();
    group = g.get();
    group->type = t;
    group->time_each = registry_.at(t).time_each;
    group->completed = &submit_completed_;
    group->failed_count = &submit_failed_;
    id = add_group(std::move(g));
    submit_group_of_type_[t] = id;
  } else {
    id = it->second;
    group = dynamic_cast<detail::SubmitGroup<In, Out>*>(groups_.at(id).get());
    if (!group) throw FarmError("submit: task type '" + std::string(type) + "' used with other types");
  }
  const auto index = static_cast<std::uint32_t>(group->inputs.size());
  group->inputs.push_back(std::move(input));
  group->callbacks.push_back(std::move(done));
  group->attempts_.push_back(0);
  ++group->total;
  ++stats_.tasks_submitted;
  const int avoid = worker_of_rank(submit_options.avoid_rank);
  if (avoid >= 0) scheduler_.add_task_avoiding(id, t, index, avoid);
  else scheduler_.add_tasks(id, t, index, 1);
  return index;
}

}  // namespace rankpool::farm
