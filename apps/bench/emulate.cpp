#include "emulate.hpp"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <numeric>
#include <thread>
#include <vector>

#include "farm/local_transport.hpp"
#include "rankpool/farm/detail/transport.hpp"
#include "rankpool/farm/master.hpp"
#include "runtime/mpi_channel.hpp"

namespace rankpool::bench {

namespace mpi = boost::mpi;
using namespace rankpool::farm;
using Clock = std::chrono::steady_clock;

namespace {

// Batch and result tags: kSlotTag + the logical worker's index on its rank.
constexpr int kStopTag = 7;
constexpr int kSlotTag = 16;

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Seconds this thread waited on a run queue for a core (Linux schedstat; 0 elsewhere): on
// shared cores the master's wall time includes time it was ready but not running.
double thread_runqueue_s() {
  std::FILE* f = std::fopen("/proc/thread-self/schedstat", "r");
  if (!f) return 0;
  unsigned long long run = 0, wait = 0;
  const int n = std::fscanf(f, "%llu %llu", &run, &wait);
  std::fclose(f);
  return n == 2 ? static_cast<double>(wait) * 1e-9 : 0;
}

// Logical worker w lives on rank 1 + w % ranks as its (w / ranks)-th queue.
class EmulatedTransport final : public Transport {
 public:
  // `per_rank` logical workers per rank: workers, or relays standing for several each.
  EmulatedTransport(const mpi::communicator& comm, int per_rank, const FarmOptions& o)
      : ranks_(comm.size() - 1),
        per_rank_(per_rank),
        channel_(comm, runtime::Backoff(std::chrono::microseconds(0), std::chrono::microseconds(0)), counters_),
        backoff_(o.spin_time, o.max_idle_sleep) {}
  int workers() const override { return ranks_ * per_rank_; }
  int worker_rank(int worker) const override { return 1 + worker % ranks_; }
  void send(int worker, Tag, std::string bytes) override {
    channel_.send(worker_rank(worker), kSlotTag + worker / ranks_, std::move(bytes));
  }
  // The farm's MPI transport polls the same way (spin, then growing sleeps); the CPU of the
  // polls that find nothing is counted apart, as idle.
  std::optional<Incoming> receive(std::chrono::microseconds max_wait) override {
    const auto start = Clock::now();
    const auto deadline = start + max_wait;
    const Wait wait{wait_s_, start};
    for (;;) {
      const double c0 = thread_cpu_s();
      if (auto m = channel_.receive(std::chrono::microseconds(0))) {
        backoff_.reset();
        const int logical = (m->tag - kSlotTag) * ranks_ + (m->source - 1);
        return Incoming{logical, Tag::Result, std::move(m->bytes)};
      }
      if (Clock::now() < deadline) backoff_.wait();
      idle_cpu_s_ += thread_cpu_s() - c0;
      if (Clock::now() >= deadline) return std::nullopt;
    }
  }
  const TransportCounters& counters() const override { return counters_; }
  void stop_all() {
    for (int r = 1; r <= ranks_; ++r) channel_.send(r, kStopTag, std::string());
    channel_.wait_all();
  }
  double idle_cpu_s() const { return idle_cpu_s_; }
  double wait_s() const { return wait_s_; }

 private:
  int ranks_, per_rank_;
  TransportCounters counters_;  // before channel_, which counts into it
  runtime::MpiChannel channel_;
  runtime::Backoff backoff_;
  double idle_cpu_s_ = 0;
  double wait_s_ = 0;  // wall time inside receive(): waiting for a result, not working
  struct Wait {
    double& total;
    Clock::time_point start;
    ~Wait() { total += std::chrono::duration<double>(Clock::now() - start).count(); }
  };
};

struct Due {
  Clock::time_point at;
  int tag = 0;
  std::string batch;
};

constexpr int kFirstRelayedRank = 100000;  // the made-up ranks of a relay's workers

/// A relay's result: the batch cut into min(node, count) pieces as even as they go, one rank
/// run each, named by made-up worker ranks (rank 0 reads them per task, never sends to them).
std::string with_rank_runs(const std::string& result, int node) {
  ResultMessage r = decode_result(result);
  const auto pieces = std::min<std::uint32_t>(r.count, static_cast<std::uint32_t>(node));
  std::uint32_t first = 0;
  for (std::uint32_t i = 0; i < pieces; ++i) {
    const std::uint32_t count = r.count / pieces + (i < r.count % pieces ? 1 : 0);
    r.ranks.push_back({first, count, static_cast<std::int32_t>(kFirstRelayedRank) + static_cast<std::int32_t>(i)});
    first += count;
  }
  return encode_result(r);
}

void emulate_workers(const mpi::communicator& comm, const Registry& registry, const EmulateOptions& o) {
  const auto task = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.task_s));
  const int node = std::max(1, o.node);
  std::vector<Clock::time_point> busy_until(static_cast<std::size_t>(o.per_rank / node));
  std::vector<Due> heap;  // earliest completion first
  const auto later = [](const Due& a, const Due& b) { return a.at > b.at; };
  runtime::PendingSends pending;
  RankStats stats;
  for (;;) {
    const auto now = Clock::now();
    while (!heap.empty() && heap.front().at <= now) {
      std::pop_heap(heap.begin(), heap.end(), later);
      Due d = std::move(heap.back());
      heap.pop_back();
      std::string result = execute_batch(registry, d.batch, stats);
      ByteReader in(result, "emulated result");
      in.get<std::uint64_t>();
      const auto count = in.get<std::uint32_t>();
      // The emulated time, so the master's batch sizing sees tasks of task_s.
      ByteWriter(result).patch(12, static_cast<std::uint64_t>(std::llround(o.task_s * 1e9 * count)));
      if (node > 1 && count > 0) result = with_rank_runs(result, node);
      auto req = comm.isend(0, d.tag, result.data(), static_cast<int>(result.size()));
      pending.add(std::move(req), std::move(result));
    }
    if (auto m = runtime::try_receive(comm, 0)) {
      if (m->tag == kStopTag) break;
      ByteReader in(m->bytes, "emulated batch");
      const BatchHeader h = decode_batch_header(in);
      auto& free_at = busy_until.at(static_cast<std::size_t>(m->tag - kSlotTag));
      // A relay's workers run its batch side by side.
      free_at = std::max(now, free_at) + task * ((h.count + node - 1) / node);
      heap.push_back(Due{free_at, m->tag, std::move(m->bytes)});
      std::push_heap(heap.begin(), heap.end(), later);
      continue;
    }
    pending.reap();
    const auto poll = now + std::chrono::microseconds(50);
    std::this_thread::sleep_until(heap.empty() ? poll : std::min(poll, heap.front().at));
  }
  pending.wait_all();
}

}  // namespace

std::uint64_t planned_batches(const FarmOptions& o, std::uint64_t tasks, int workers, double task_s, int node) {
  node = std::max(1, node);
  const std::uint64_t fan = static_cast<std::uint64_t>(node);
  if (o.batch_size > 0) return (tasks + o.batch_size * fan - 1) / (o.batch_size * fan);
  // Before the first result the scheduler knows no task time: prefetch single-task probes
  // (a relay's: one task for each of its workers).
  const std::uint64_t probes =
      std::min<std::uint64_t>((tasks + fan - 1) / fan, static_cast<std::uint64_t>(o.prefetch) * (workers / node));
  std::uint64_t batches = probes, rest = tasks - std::min(tasks, probes * fan);
  const double target = std::chrono::duration<double>(o.target_batch_time).count();
  const double floor_s = std::chrono::duration<double>(o.min_batch_time).count();
  const auto by_time = static_cast<std::uint64_t>(std::max(1.0, target / task_s));
  const auto floor = static_cast<std::uint64_t>(floor_s / task_s);
  while (rest > 0) {
    auto k = static_cast<std::uint64_t>(std::ceil(static_cast<double>(rest) / (o.gss_factor * workers)));
    k = std::max(std::min(k, by_time), floor);
    k = std::clamp<std::uint64_t>(std::min<std::uint64_t>(k, o.max_batch), 1, rest);
    k = std::min(k * fan, rest);
    rest -= k;
    ++batches;
  }
  return batches;
}

EmulateReport run_emulation(const mpi::communicator& comm, const Registry& registry, const Task<int, int>& task,
                            const EmulateOptions& o) {
  EmulateReport report;
  if (comm.rank() != 0) {
    comm.barrier();
    emulate_workers(comm, registry, o);
    comm.barrier();
    return report;
  }
  FarmOptions fo;
  fo.quiet = true;
  fo.batch_size = o.batch;
  const int node = std::max(1, o.node);
  EmulatedTransport transport(comm, o.per_rank / node, fo);
  report.workers = transport.workers() * node;
  report.relays = node > 1 ? transport.workers() : 0;
  const std::vector<std::vector<bool>> serves(static_cast<std::size_t>(transport.workers()),
                                              std::vector<bool>(registry.size(), true));
  Master master(registry, transport, fo, serves, {},
                std::vector<int>(static_cast<std::size_t>(transport.workers()), node));
  std::vector<int> xs(static_cast<std::size_t>(o.tasks));
  std::iota(xs.begin(), xs.end(), 0);
  comm.barrier();
  const auto t0 = Clock::now();
  const double c0 = thread_cpu_s();
  const double q0 = thread_runqueue_s();
  MapOptions<int> mo;
  std::uint64_t misranked = 0;  // outcomes not naming a relay's worker (node > 1) or a worker rank
  if (o.each) {
    mo.order = Order::completion;
    mo.on_result = [&](Outcome<int>& out) { misranked += (node > 1) != (out.rank >= kFirstRelayedRank); };
  }
  const auto result = master.map(task, xs, mo);
  report.cpu_s = thread_cpu_s() - c0;
  report.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  report.runqueue_s = thread_runqueue_s() - q0;
  report.idle_cpu_s = transport.idle_cpu_s();
  report.wait_s = transport.wait_s();
  report.tasks = xs.size();
  report.batches = master.master_counters().batches;
  report.correct = result.ok() && result.values.size() == xs.size() && misranked == 0;
  for (std::size_t i = 0; report.correct && i < xs.size(); ++i) report.correct = result.values[i] == 3 * xs[i] + 1;
  for (const int v : result.values) report.output_sum += static_cast<std::uint64_t>(v);
  transport.stop_all();
  comm.barrier();
  return report;
}

}  // namespace rankpool::bench
