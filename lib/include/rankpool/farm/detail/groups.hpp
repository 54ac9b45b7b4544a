#pragma once
// Internal: not part of the API (include rankpool/farm/master.hpp). The master's
// bookkeeping for one map() or one type's submit() stream: encoding inputs into batches,
// placing returned outputs, journal records and per-input callbacks. Templates on the
// user's types, so they live in a header.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "rankpool/farm/detail/codec.hpp"
#include "rankpool/farm/detail/protocol.hpp"
#include "rankpool/farm/detail/task_set.hpp"
#include "rankpool/farm/journal.hpp"
#include "rankpool/farm/results.hpp"

namespace rankpool::farm {

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
  /// Outputs of a returned batch: `payload` holds one Out per position not in `failed`. `rank`
  /// sent it; a relay's `r.ranks` names the worker of each position.
  virtual void deliver(const TaskSet& indices, const ResultView& r, const std::vector<bool>& failed, int rank,
                       double mean_seconds) = 0;
  virtual void fail(std::uint32_t index, const std::string& message, int attempts, int rank) = 0;
  /// A task failed and will run again.
  virtual void note_retry(std::uint32_t index) = 0;
  bool done() const { return finished == total; }
};

template <class In, class Out>
struct MapGroup final : GroupBase {
  std::span<const In> inputs;
  MapOptions<Out> options;
  std::vector<Out> values;           // keep_values: results land here directly
  std::map<std::size_t, Out> early;  // !keep_values, ordered: results waiting for their turn
  bool ordered = false;              // on_result in input order: needs `state`
  std::vector<std::uint8_t> state;   // only when ordered: one of the k... below
  static constexpr std::uint8_t kPending = 0, kOk = 1, kFailed = 2, kRestoredOk = 3, kRestoredFailed = 4;
  std::map<std::uint32_t, TaskSpan> spans;  // by first index
  std::vector<float> task_seconds;          // only for time_each types
  std::map<std::uint32_t, int> retried;     // attempts so far of tasks that failed and ran again
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
      if (r.ranks.empty()) {
        spans[first] = TaskSpan{first, static_cast<std::uint32_t>(n), rank, mean};
      } else {
        for (const auto& run : r.ranks)
          if (run.count) spans[first + run.first] = TaskSpan{first + run.first, run.count, run.rank, mean};
      }
      if (!r.seconds.empty()) std::copy(r.seconds.begin(), r.seconds.end(), task_seconds.begin() + first);
      finished += n;
      if (journal) {
        RankCursor ran_by(r.ranks, rank);
        for (std::size_t p = 0; p < n; ++p) {
          const auto i = static_cast<std::uint32_t>(first + p);
          journal_ok(i, options.keep_values ? values[i] : decoded[p], ran_by(static_cast<std::uint32_t>(p)),
                     task_time(p));
        }
      }
      if (!options.on_result) return;
      if (ordered) {
        std::memset(state.data() + first, kOk, n);
        if (!options.keep_values)
          for (std::size_t p = 0; p < n; ++p) early.emplace(first + p, std::move(decoded[p]));
        emit_ready();
      } else {
        RankCursor ran_by(r.ranks, rank);
        for (std::size_t p = 0; p < n; ++p)
          emit(first + p, options.keep_values ? &values[first + p] : &decoded[p], ran_by(static_cast<std::uint32_t>(p)),
               task_time(p));
      }
      return;
    }
    std::size_t ok = n;
    if (!failed.empty()) ok -= static_cast<std::size_t>(std::count(failed.begin(), failed.end(), true));
    codec::decode<Out>(r.payload, ok, decoded);
    std::size_t k = 0;
    RankCursor ran_by(r.ranks, rank);
    for (std::size_t p = 0; p < n; ++p) {
      if (!failed.empty() && failed[p]) continue;
      const auto i = idx[p];
      Out& v = decoded[k++];
      const int by = ran_by(static_cast<std::uint32_t>(p));
      if (journal) journal_ok(i, v, by, task_time(p));
      spans[i] = TaskSpan{i, 1, by, task_time(p)};
      if (!task_seconds.empty()) task_seconds[i] = task_time(p);
      ++finished;
      if (options.keep_values) values[i] = std::move(v);
      if (!options.on_result) continue;
      if (ordered) {
        state[i] = kOk;
        if (!options.keep_values) early.emplace(i, std::move(v));
      } else {
        emit(i, options.keep_values ? &values[i] : &v, by, task_time(p));
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
  void deliver(const TaskSet& idx, const ResultView& r, const std::vector<bool>& failed, int rank,
               double mean_seconds) override {
    std::size_t ok = idx.size();
    if (!failed.empty()) ok -= static_cast<std::size_t>(std::count(failed.begin(), failed.end(), true));
    codec::decode<Out>(r.payload, ok, decoded);
    std::size_t k = 0;
    RankCursor ran_by(r.ranks, rank);
    for (std::size_t p = 0; p < idx.size(); ++p) {
      if (!failed.empty() && failed[p]) continue;
      Outcome<Out> o;
      o.index = idx[p];
      o.value = &decoded[k++];
      o.rank = ran_by(static_cast<std::uint32_t>(p));
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

}  // namespace rankpool::farm
