#pragma once
// The master's API, in the spirit of concurrent.futures and Parallel Python:
//   map()      — run a task over a container; results in input order or as they complete
//   submit()   — queue single tasks with a completion callback
//   wait_all() — drive the farm until everything submitted has finished
//   wait_any() — drive it until one more submitted task has finished
// Only rank 0 has a Master; Farm::run() hands it to the caller's body. Tasks are named by
// the Task<In, Out> handles Registry::add() returns, so types are checked at compile time.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rankpool/farm/detail/groups.hpp"
#include "rankpool/farm/options.hpp"
#include "rankpool/farm/registry.hpp"
#include "rankpool/farm/results.hpp"
#include "rankpool/farm/stats.hpp"
#include "rankpool/farm/task.hpp"

namespace rankpool::farm {

class Transport;

class Master {
 public:
  /// Made by Farm::run() (or, in tests, over a fake transport). `serves[w][t]`: worker w
  /// serves type t (resolved from the queue assignment); `slots[w]`: batches worker w runs
  /// at once (empty: 1 each); `fanout[w]`: workers behind worker w when it is a node's relay
  /// (empty: 1 each; its batches are that many times larger); `parent_of[r]`: the rank that
  /// rank r takes batches from, a relay's for its local workers, else 0 (empty: all 0). With
  /// it, a retry avoids the relay's local worker it failed on (SubmitOptions::avoid_rank too).
  Master(const Registry& registry, Transport& transport, const FarmOptions& options,
         std::vector<std::vector<bool>> serves, std::vector<int> slots = {}, std::vector<int> fanout = {},
         std::vector<int> parent_of = {});
  ~Master();
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  /// Runs `task` over `inputs`; returns when every input has a result (or has failed after
  /// its retries: MapResult::failures). Throws FarmError for an unregistered handle or a
  /// queue no worker serves, Interrupted when FarmOptions::interrupt fires.
  template <class In, class Out>
  MapResult<Out> map(const Task<In, Out>& task, std::span<const std::type_identity_t<In>> inputs,
                     std::type_identity_t<MapOptions<Out>> options = {}) {
    return map_impl<Out, In>(resolve(task), inputs, std::move(options));
  }
  template <class In, class Out>
  MapResult<Out> map(const Task<In, Out>& task, const std::vector<std::type_identity_t<In>>& inputs,
                     std::type_identity_t<MapOptions<Out>> options = {}) {
    return map_impl<Out, In>(resolve(task), std::span<const In>(inputs), std::move(options));
  }

  /// Queues one task; `done` is called from wait_all(), wait_any() or a later map() when it
  /// finishes. Returns its sequence number within its task type.
  template <class In, class Out>
  std::size_t submit(const Task<In, Out>& task, std::type_identity_t<In> input,
                     std::type_identity_t<std::function<void(Outcome<Out>&)>> done = {},
                     SubmitOptions submit_options = {}) {
    return submit_impl<Out, In>(resolve(task), std::move(input), std::move(done), submit_options);
  }

  /// By name, for task types chosen at run time (the name of Registry::add); the types are
  /// then checked when the call runs (FarmError on a mismatch): m.map<long>("square", xs).
  template <class Out, class In>
  MapResult<Out> map(std::string_view type, std::span<const In> inputs, MapOptions<Out> options = {}) {
    return map_impl<Out, In>(resolve(type, signature_of<In, Out>()), inputs, std::move(options));
  }
  template <class Out, class In>
  MapResult<Out> map(std::string_view type, const std::vector<In>& inputs, MapOptions<Out> options = {}) {
    return map<Out, In>(type, std::span<const In>(inputs), std::move(options));
  }
  template <class Out, class In>
  std::size_t submit(std::string_view type, In input, std::function<void(Outcome<Out>&)> done = {},
                     SubmitOptions submit_options = {}) {
    return submit_impl<Out, In>(resolve(type, signature_of<In, Out>()), std::move(input), std::move(done),
                                submit_options);
  }

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
  const FarmOptions& options() const;
  /// Counters of this run so far (tasks, retries, failures); per-rank figures come from Farm.
  const FarmStats& stats() const;
  /// Master-side counters for the statistics table.
  RankStats master_counters() const;

 private:
  struct Core;  // scheduler, transport, groups: lib/src/farm/master.cpp

  template <class Out, class In>
  MapResult<Out> map_impl(std::uint32_t type, std::span<const In> inputs, MapOptions<Out> options);
  template <class Out, class In>
  std::size_t submit_impl(std::uint32_t type, In input, std::function<void(Outcome<Out>&)> done,
                          SubmitOptions submit_options);

  template <class In, class Out>
  std::uint32_t resolve(const Task<In, Out>& task) const {
    return resolve_index(task.index(), task.name(), signature_of<In, Out>());
  }
  std::uint32_t resolve(std::string_view type, const std::string& signature) const;
  std::uint32_t resolve_index(int index, const std::string& name, const std::string& signature) const;
  const TaskType& type_at(std::uint32_t type) const;
  /// A new group of tasks of `type`; returns its id.
  std::uint32_t add_group(std::unique_ptr<detail::GroupBase> g);
  detail::GroupBase& group(std::uint32_t id);
  /// The submit() group of `type`, or none yet.
  detail::GroupBase* submit_group(std::uint32_t type);
  std::uint32_t submit_group_id(std::uint32_t type) const;
  void set_submit_group(std::uint32_t type, std::uint32_t id);
  std::uint64_t* submit_counter(bool failed);
  /// Makes tasks [first, first + count) of group `id` dispatchable.
  void queue_tasks(std::uint32_t id, std::uint32_t type, std::uint32_t first, std::uint32_t count);
  void queue_task_avoiding(std::uint32_t id, std::uint32_t type, std::uint32_t index, int avoid_rank);
  /// Runs the farm until `done` holds.
  void drive(const std::function<bool()>& done);
  void remove_group(std::uint32_t id);
  FarmStats& mutable_stats();

  std::unique_ptr<Core> core_;
};

template <class Out, class In>
MapResult<Out> Master::map_impl(std::uint32_t t, std::span<const In> inputs, MapOptions<Out> options) {
  auto g = std::make_unique<detail::MapGroup<In, Out>>();
  auto* group = g.get();
  group->type = t;
  group->time_each = type_at(t).time_each;
  group->inputs = inputs;
  group->options = std::move(options);
  group->total = inputs.size();
  if (inputs.size() > UINT32_MAX) throw FarmError("map: more than 2^32 inputs in one call");
  if (group->options.keep_values) group->values.resize(inputs.size());
  group->ordered = group->options.on_result && group->options.order == Order::input;
  if (group->ordered) group->state.assign(inputs.size(), 0);
  if (group->time_each) group->task_seconds.assign(inputs.size(), 0.0f);
  Journal* journal = group->options.journal;
  if (journal && (journal->key().tasks != inputs.size() || journal->key().task_type != type_at(t).name)) {
    throw FarmError("map: journal '" + journal->path() + "' was opened for another task list");
  }
  const std::uint32_t id = add_group(std::move(g));
  FarmStats& stats = mutable_stats();
  stats.tasks_submitted += inputs.size();
  if (journal) {
    // Group-less until restored: restore() may call back into on_result.
    const auto before = group->finished;
    const auto failed_before = group->failures.size();
    const auto todo = group->restore(*journal);
    const auto restored_failed = group->failures.size() - failed_before;
    stats.tasks_resumed += group->finished - before;
    stats.tasks_completed += group->finished - before - restored_failed;
    stats.tasks_failed += restored_failed;
    group->journal = journal;
    queue_tasks(id, t, 0, 0);
    for (const auto& [first, end] : todo) queue_tasks(id, t, first, end - first);
  } else {
    queue_tasks(id, t, 0, static_cast<std::uint32_t>(inputs.size()));
  }
  drive([group] { return group->done(); });
  if (journal) journal->sync();

  MapResult<Out> result;
  result.spans.reserve(group->spans.size());
  for (auto& [first, span] : group->spans) result.spans.push_back(span);
  result.task_seconds = std::move(group->task_seconds);
  for (auto& [i, f] : group->failures) result.failures.push_back(std::move(f));
  result.values = std::move(group->values);
  remove_group(id);
  return result;
}

template <class Out, class In>
std::size_t Master::submit_impl(std::uint32_t t, In input, std::function<void(Outcome<Out>&)> done,
                                SubmitOptions submit_options) {
  detail::SubmitGroup<In, Out>* group;
  std::uint32_t id;
  if (detail::GroupBase* existing = submit_group(t)) {
    id = submit_group_id(t);
    group = dynamic_cast<detail::SubmitGroup<In, Out>*>(existing);
    if (!group) throw FarmError("submit: task type '" + type_at(t).name + "' used with other types");
  } else {
    auto g = std::make_unique<detail::SubmitGroup<In, Out>>();
    group = g.get();
    group->type = t;
    group->time_each = type_at(t).time_each;
    group->completed = submit_counter(false);
    group->failed_count = submit_counter(true);
    id = add_group(std::move(g));
    set_submit_group(t, id);
  }
  const auto index = static_cast<std::uint32_t>(group->inputs.size());
  group->inputs.push_back(std::move(input));
  group->callbacks.push_back(std::move(done));
  group->attempts_.push_back(0);
  ++group->total;
  ++mutable_stats().tasks_submitted;
  if (submit_options.avoid_rank >= 0)
    queue_task_avoiding(id, t, index, submit_options.avoid_rank);
  else
    queue_tasks(id, t, index, 1);
  return index;
}

}  // namespace rankpool::farm
