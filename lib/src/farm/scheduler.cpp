#include "farm/scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace rankpool::farm {

Scheduler::Scheduler(const FarmOptions& options, std::vector<std::vector<bool>> serves, std::vector<int> capacity,
                     std::vector<int> fanout)
    : options_(options),
      serves_(std::move(serves)),
      capacity_(std::move(capacity)),
      fanout_(std::move(fanout)),
      slots_(serves_.size(), 0),
      queued_(serves_.size(), 0.0),
      changed_(serves_.size(), 0) {
  if (capacity_.empty()) capacity_.assign(serves_.size(), 1);
  if (capacity_.size() != serves_.size()) throw std::invalid_argument("one capacity per worker expected");
  for (int& c : capacity_) c = std::max(1, c);
  if (fanout_.empty()) fanout_.assign(serves_.size(), 1);
  if (fanout_.size() != serves_.size()) throw std::invalid_argument("one fanout per worker expected");
  for (int& f : fanout_) f = std::max(1, f);
  if (options_.prefetch < 1) throw std::invalid_argument("prefetch must be at least 1");
  if (options_.max_batch < 1) throw std::invalid_argument("max batch must be at least 1");
  std::size_t types = 0;
  for (const auto& s : serves_) types = std::max(types, s.size());
  workers_for_type_.assign(types, 0);
  slots_for_type_.assign(types, 0);
  mean_seconds_.assign(types, -1.0);
  for (std::size_t w = 0; w < serves_.size(); ++w)
    for (std::size_t t = 0; t < serves_[w].size(); ++t)
      if (serves_[w][t]) {
        ++workers_for_type_[t];
        slots_for_type_[t] += capacity_[w] * fanout_[w];
      }
}

int Scheduler::slots_for(std::uint32_t type) const { return type < slots_for_type_.size() ? slots_for_type_[type] : 0; }

bool Scheduler::has_worker_for(std::uint32_t type) const { return workers_for(type) > 0; }

int Scheduler::workers_for(std::uint32_t type) const {
  return type < workers_for_type_.size() ? workers_for_type_[type] : 0;
}

Scheduler::Group* Scheduler::find(std::uint32_t group) {
  for (auto& g : groups_)
    if (g.id == group) return &g;
  return nullptr;
}

void Scheduler::add_tasks(std::uint32_t group, std::uint32_t type, std::uint32_t first, std::uint32_t count) {
  if (!has_worker_for(type)) {
    throw std::invalid_argument("no worker serves task type #" + std::to_string(type));
  }
  Group* g = find(group);
  if (!g) {
    groups_.push_back(Group{});
    g = &groups_.back();
    g->id = group;
    g->type = type;
    g->blocks.resize(serves_.size());
  }
  rescan_ = true;
  if (count == 0) return;
  if (options_.schedule == Schedule::dynamic) {
    if (!g->ranges.empty() && g->ranges.back().second == first) {
      g->ranges.back().second = first + count;  // the common case: one range, extended
    } else {
      g->ranges.emplace_back(first, first + count);
    }
    g->fresh += count;
    return;
  }
  // Static: split into one contiguous block per serving worker, sizes differing by at most one
  // (a relay takes one block for each of its workers).
  std::vector<int> ws;
  for (int w = 0; w < static_cast<int>(serves_.size()); ++w)
    if (type < serves_[w].size() && serves_[w][type]) ws.insert(ws.end(), static_cast<std::size_t>(fanout_[w]), w);
  const std::uint32_t n = static_cast<std::uint32_t>(ws.size());
  std::uint32_t begin = first;
  const std::uint32_t offset = static_cast<std::uint32_t>(g->static_next % n);
  for (std::uint32_t k = 0; k < n; ++k) {
    std::uint32_t len = count / n + (k < count % n ? 1 : 0);
    auto& blocks = g->blocks[ws[(k + offset) % n]];
    if (len && !blocks.empty() && blocks.back().second == begin)
      blocks.back().second += len;  // a relay's blocks, one piece each
    else if (len)
      blocks.push_back({begin, begin + len});
    begin += len;
  }
  g->static_next += count;
}

void Scheduler::remove_group(std::uint32_t group) {
  groups_.erase(std::remove_if(groups_.begin(), groups_.end(), [group](const Group& g) { return g.id == group; }),
                groups_.end());
}

std::optional<double> Scheduler::mean_task_seconds(std::uint32_t type) const {
  if (type >= mean_seconds_.size() || mean_seconds_[type] < 0) return std::nullopt;
  return mean_seconds_[type];
}

std::size_t Scheduler::batch_size_for(std::uint32_t type, std::size_t remaining) const {
  if (remaining == 0) return 0;
  std::size_t k;
  if (options_.batch_size > 0) {
    k = options_.batch_size;
  } else {
    // Guided self-scheduling: a share of what is left, so batches shrink towards the end
    // and the last ones finish together.
    const double w = std::max(1, slots_for(type));
    k = static_cast<std::size_t>(std::ceil(static_cast<double>(remaining) / (options_.gss_factor * w)));
    // ... but never more measured work than target_batch_time, so heavy tasks go one by
    // one. Before the first measurement, probe with single tasks.
    const auto mean = mean_task_seconds(type);
    const double target = std::chrono::duration<double>(options_.target_batch_time).count();
    std::size_t by_time = 1;
    if (mean) by_time = *mean <= 0 ? k : static_cast<std::size_t>(std::max(1.0, target / *mean));
    k = std::min(k, by_time);
    // ... and never less than min_batch_time of work: below that a message costs more than
    // the balance it buys (the guided tail would otherwise end in batches of 1 no-op).
    if (mean && *mean > 0) {
      const double floor_s = std::chrono::duration<double>(options_.min_batch_time).count();
      k = std::max(k, static_cast<std::size_t>(floor_s / *mean));
    } else if (mean) {
      k = std::max<std::size_t>(k, remaining);
    }
  }
  return std::clamp<std::size_t>(std::min(k, options_.max_batch), 1, remaining);
}

std::optional<Dispatch> Scheduler::take(Group& g, int worker) {
  Dispatch d;
  d.worker = worker;
  d.group = g.id;
  d.type = g.type;
  // Retries first, one task per batch: a task that failed is not batched with healthy ones.
  for (auto it = g.retries.begin(); it != g.retries.end(); ++it) {
    if (it->avoid_worker == worker && workers_for(g.type) > 1) continue;
    d.indices = TaskSet::list({it->index});
    if (it->avoid_worker == worker) d.avoid_rank = it->avoid_rank;  // the only relay: it avoids its worker
    g.retries.erase(it);
    return d;
  }
  if (options_.schedule == Schedule::dynamic) {
    if (g.fresh == 0) return std::nullopt;
    auto& [cur, end] = g.ranges.front();
    // Sized by all that remains (guided self-scheduling), cut at the end of a range: a
    // batch is always contiguous.
    // A relay's batch holds a piece for each of its workers.
    const std::size_t k = std::min<std::size_t>(batch_size_for(g.type, g.fresh) * fanout_[worker], end - cur);
    d.indices = TaskSet::range(cur, static_cast<std::uint32_t>(k));
    cur += static_cast<std::uint32_t>(k);
    g.fresh -= k;
    if (cur == end) g.ranges.pop_front();
    return d;
  }
  auto& mine = g.blocks[worker];
  if (mine.empty()) return std::nullopt;
  auto& [cur, end] = mine.front();
  const std::size_t k = std::min<std::size_t>(end - cur, options_.max_batch * fanout_[worker]);
  d.indices = TaskSet::range(cur, static_cast<std::uint32_t>(k));
  cur += static_cast<std::uint32_t>(k);
  if (cur == end) mine.pop_front();
  return d;
}

// Each message costs a worker a few microseconds beyond its tasks' own time; counting it
// keeps the pipeline of tiny unbatched tasks bounded.
constexpr double kMessageCost = 5e-6;

double Scheduler::batch_cost(const Dispatch& d) const {
  const auto mean = mean_task_seconds(d.type);
  return std::max(kMessageCost, mean.value_or(0.0) * static_cast<double>(d.indices.size()));
}

bool Scheduler::has_room(int w, std::uint32_t type, std::size_t remaining) const {
  const auto mean = mean_task_seconds(type);
  // Heavy tasks: prefetched while plenty remain (no idle round trip per task), one at a
  // time near the end, where a heavy task queued behind another on a busy worker would
  // keep the run waiting while the other workers idle.
  // A worker with c slots runs c batches at once: every depth below is per slot.
  const int c = capacity_[w];
  if (mean && *mean >= std::chrono::duration<double>(options_.heavy_task).count()) {
    const std::size_t plenty = static_cast<std::size_t>(options_.prefetch) * static_cast<std::size_t>(slots_for(type));
    return slots_[w] < c || (slots_[w] < options_.prefetch * c && remaining > plenty);
  }
  if (slots_[w] < options_.prefetch * c) return true;
  // Deeper only once the type's cost is measured: unmeasured tasks might be heavy.
  if (slots_[w] >= options_.max_prefetch * c || !mean) return false;
  const double horizon = std::chrono::duration<double>(options_.prefetch_time).count() * c * fanout_[w];
  return queued_[w] < horizon;
}

std::optional<Dispatch> Scheduler::try_worker(int w) {
  for (auto& g : groups_) {
    if (g.type >= serves_[w].size() || !serves_[w][g.type]) continue;
    if (!has_room(w, g.type, g.fresh + g.retries.size())) continue;
    if (auto d = take(g, w)) {
      d->batch_id = next_batch_id_++;
      ++slots_[w];
      queued_[w] += batch_cost(*d);
      round_robin_ = (w + 1) % static_cast<int>(serves_.size());
      in_flight_.emplace(d->batch_id, *d);  // the master needs the indices back with the result
      return d;
    }
  }
  return std::nullopt;
}

void Scheduler::touch(int worker) {
  if (changed_[worker]) return;
  changed_[worker] = 1;
  touched_.push_back(worker);
}

std::optional<Dispatch> Scheduler::next() {
  // Since the last scan that found nothing, only the touched workers can have gained a batch
  // (a result freed one of their slots): look at them alone, not at every worker, unless
  // something that concerns all of them changed (rescan_). This keeps the master's cost per
  // message flat in the number of workers (docs/scale.md).
  if (!rescan_) {
    while (!touched_.empty()) {
      const int w = touched_.front();
      if (auto d = try_worker(w)) return d;
      touched_.pop_front();
      changed_[w] = 0;
    }
    return std::nullopt;
  }
  const int n = static_cast<int>(serves_.size());
  for (int step = 0; step < n; ++step)
    if (auto d = try_worker((round_robin_ + step) % n)) return d;
  rescan_ = false;
  for (const int w : touched_) changed_[w] = 0;
  touched_.clear();
  return std::nullopt;
}

Dispatch Scheduler::complete(std::uint64_t batch_id, double busy_seconds) {
  auto it = in_flight_.find(batch_id);
  if (it == in_flight_.end()) {
    throw std::logic_error("result for unknown batch " + std::to_string(batch_id));
  }
  Dispatch d = std::move(it->second);
  in_flight_.erase(it);
  --slots_[d.worker];
  queued_[d.worker] = slots_[d.worker] == 0 ? 0.0 : std::max(0.0, queued_[d.worker] - batch_cost(d));
  touch(d.worker);
  if (!d.indices.empty() && d.type < mean_seconds_.size()) {
    const double sample = busy_seconds / static_cast<double>(d.indices.size());
    double& m = mean_seconds_[d.type];
    const double heavy = std::chrono::duration<double>(options_.heavy_task).count();
    // The first measurement deepens every worker's pipeline; crossing the heavy-task line
    // changes every worker's prefetch rule.
    if (m < 0 || (m >= heavy) != ((m < 0 ? sample : 0.7 * m + 0.3 * sample) >= heavy)) rescan_ = true;
    m = m < 0 ? sample : 0.7 * m + 0.3 * sample;
  }
  return d;
}

Scheduler::RetryDecision Scheduler::retry(std::uint32_t group, std::uint32_t index, int worker, int rank) {
  const std::uint64_t key = (static_cast<std::uint64_t>(group) << 32) | index;
  RetryDecision r;
  r.attempts = ++attempts_[key];
  if (r.attempts > options_.max_retries) {
    attempts_.erase(key);
    return r;
  }
  Group* g = find(group);
  if (!g) throw std::logic_error("retry for unknown group " + std::to_string(group));
  g->retries.push_back({index, worker, rank});
  rescan_ = true;
  r.retried = true;
  return r;
}

void Scheduler::add_task_avoiding(std::uint32_t group, std::uint32_t type, std::uint32_t index, int avoid_worker,
                                  int avoid_rank) {
  add_tasks(group, type, index, 0);  // creates the group if needed
  find(group)->retries.push_back({index, avoid_worker, avoid_rank});
  rescan_ = true;
}

void Scheduler::requeue(std::uint32_t group, std::uint32_t index) {
  Group* g = find(group);
  if (!g) throw std::logic_error("requeue for unknown group " + std::to_string(group));
  rescan_ = true;
  if (options_.schedule != Schedule::dynamic) {
    g->retries.push_back({index, -1});
    return;
  }
  // Requeued in batch order: a task right after the front range extends it.
  if (!g->ranges.empty() && g->ranges.front().second == index) {
    ++g->ranges.front().second;
  } else {
    g->ranges.emplace_front(index, index + 1);
  }
  ++g->fresh;
}

}  // namespace rankpool::farm
