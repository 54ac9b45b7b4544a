// The MPI layer of the farm: the handshake, the master's MPI transport and the worker
// loop, over the runtime's MPI channel (runtime/mpi_channel.hpp; docs/design.md).

#include "rankpool/farm/farm.hpp"

#include <algorithm>
#include <boost/mpi/collectives.hpp>
#include <boost/mpi/nonblocking.hpp>
#include <boost/mpi/request.hpp>
#include <boost/mpi/status.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdio>
#include <deque>
#include <set>
#include <thread>
#include <atomic>
#include <cstdlib>
#include <map>
#include <optional>

#include "rankpool/fnv1a.hpp"
#include "rankpool/runtime/agree.hpp"
#include "rankpool/runtime/communicator.hpp"
#include "rankpool/runtime/host.hpp"
#include "rankpool/runtime/interrupts.hpp"
#include "rankpool/runtime/stop.hpp"
#include "rankpool/runtime/stop_collective.hpp"
#include "runtime/mpi_channel.hpp"
#include "farm/executor.hpp"
#include "farm/local_transport.hpp"
#include "farm/relay.hpp"

namespace mpi = boost::mpi;

namespace rankpool::farm {

using runtime::Backoff;
using runtime::host_name;
using runtime::MpiChannel;
using runtime::PendingSends;
using runtime::try_receive;

namespace {

Backoff backoff_for(const FarmOptions& o) { return Backoff(o.spin_time, o.max_idle_sleep); }

/// What a worker's and a relay's loops start from: the handshake's outcome (an error ends the
/// run before the loop), the start of the rank's wall time, its statistics row (rank, host),
/// its sends in flight and its poll back-off.
struct RankLoop {
  RunStatus status;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  RankStats stats;
  PendingSends pending;
  Backoff backoff;
  RankLoop(const std::string& handshake_error, int rank, const FarmOptions& o) : backoff(backoff_for(o)) {
    status.error = handshake_error;
    if (!status.error.empty()) return;
    stats.rank = rank;
    stats.host = host_name();
  }
};

// The worker's Stats: the runtime's report envelope (who, wall time), its counters as the payload.
std::string encode_stats(const RankStats& s) {
  return runtime::encode_report(runtime::RankReport{s.rank, s.host, s.role, s.wall_s, runtime::encode(s)});
}

RankStats decode_stats(const runtime::RankReport& report) {
  RankStats s = runtime::decode<RankStats>(report.payload, "farm rank statistics");
  s.rank = report.rank;
  s.host = report.host;
  s.role = report.role;
  s.wall_s = report.wall_s;
  return s;
}

// Rank 0's workers: `ranks`, each a worker or a node's relay (every other rank is a relay's
// local worker and hears from rank 0 only at the stop).
class MpiMasterTransport final : public Transport {
 public:
  MpiMasterTransport(const mpi::communicator& comm, const FarmOptions& options, std::vector<int> ranks)
      : comm_(comm),
        ranks_(std::move(ranks)),
        index_(static_cast<std::size_t>(comm.size()), -1),
        channel_(comm, backoff_for(options), counters_) {
    for (std::size_t w = 0; w < ranks_.size(); ++w) index_[static_cast<std::size_t>(ranks_[w])] = static_cast<int>(w);
  }
  int workers() const override { return static_cast<int>(ranks_.size()); }
  int worker_rank(int worker) const override { return ranks_.at(static_cast<std::size_t>(worker)); }
  void send(int worker, Tag tag, std::string bytes) override {
    channel_.send(worker_rank(worker), static_cast<int>(tag), std::move(bytes));
  }
  std::optional<Incoming> receive(std::chrono::microseconds max_wait) override {
    auto m = channel_.receive(max_wait);
    if (!m) return std::nullopt;
    return Incoming{index_[static_cast<std::size_t>(m->source)], static_cast<Tag>(m->tag), std::move(m->bytes)};
  }
  const TransportCounters& counters() const override { return counters_; }

  /// Stops every worker and collects their statistics, dropping results of batches still in
  /// flight (after an error the master no longer wants them). Without a deadline the stop
  /// goes down the runtime's broadcast tree and the statistics come up its gather tree. With
  /// a `deadline` (after an interrupt) workers still inside a long task are not waited for
  /// (their rows stay empty): a tree would lose every report to one such worker, so the stop
  /// and the statistics go point to point, each worker on its own.
  std::vector<RankStats> stop_all(runtime::CollectiveStop& trees, const std::string& abort_reason, int signal = 0,
                                  std::optional<std::chrono::steady_clock::time_point> deadline = {}) {
    const StopMessage stop_message{abort_reason, signal};
    // Every worker answers at once: poll for the replies instead of sleeping through them.
    channel_.set_backoff(Backoff(std::chrono::milliseconds(5), std::chrono::microseconds(50)));
    std::vector<std::optional<runtime::RankReport>> reports;
    bool complete = true;
    const int ranks = comm_.size() - 1;
    if (!deadline) {
      // Results still coming in (their senders wait until they are received): dropped.
      const auto drain = [&] {
        while (channel_.receive(std::chrono::microseconds(0))) {
        }
      };
      for (auto& r : trees.stop_and_gather(stop_message, drain)) reports.emplace_back(std::move(r));
      // Workers keep draining their channel until the closing barrier: batches sent to them
      // before the stop are delivered (and dropped) before either side leaves.
      channel_.wait_all();
      trees.close(drain);
    } else {
      trees.announce_direct(stop_message, *deadline);
      // Every rank, relays' local workers too: rank w + 1 is the gather's w.
      runtime::StopGather gather(ranks);
      gather.start(
          stop_message,
          [&](int w, const std::string& stop) { channel_.send(w + 1, static_cast<int>(Tag::Stop), stop); }, deadline);
      gather.collect([&](std::chrono::microseconds wait) -> std::optional<runtime::StopGather::Report> {
        auto m = channel_.receive(wait);
        if (!m || m->tag != static_cast<int>(Tag::Stats)) return std::nullopt;
        return runtime::StopGather::Report{m->source - 1, std::move(m->bytes)};
      });
      reports = gather.reports();
      complete = gather.missing() == 0;
    }
    std::vector<RankStats> stats(static_cast<std::size_t>(ranks));
    for (int w = 0; w < ranks; ++w) {
      auto& s = stats[static_cast<std::size_t>(w)];
      if (const auto& report = reports[static_cast<std::size_t>(w)]) {
        s = decode_stats(*report);
      } else {
        s.rank = w + 1;
        s.role = "worker (no reply)";
      }
    }
    if (deadline && complete) channel_.wait_all();
    return stats;
  }

 private:
  const mpi::communicator& comm_;
  std::vector<int> ranks_;      // per worker
  std::vector<int> index_;      // per rank: its worker index, -1 for a relay's local worker
  TransportCounters counters_;  // before channel_, which counts into it
  MpiChannel channel_;
};

// A relay's local workers over MPI: batches leave as non-blocking sends; what the workers
// send back, the relay's loop receives (from every source at once) and hands in.
class RelayLinks final : public Transport {
 public:
  RelayLinks(const mpi::communicator& comm, std::vector<int> ranks, PendingSends& pending, RankStats& stats)
      : comm_(comm), ranks_(std::move(ranks)), pending_(pending), stats_(stats) {}
  int workers() const override { return static_cast<int>(ranks_.size()); }
  int worker_rank(int worker) const override { return ranks_.at(static_cast<std::size_t>(worker)); }
  void send(int worker, Tag tag, std::string bytes) override {
    ++stats_.msgs_sent;
    stats_.bytes_sent += bytes.size();
    auto req = comm_.isend(worker_rank(worker), static_cast<int>(tag), bytes.data(), static_cast<int>(bytes.size()));
    pending_.add(std::move(req), std::move(bytes));
  }
  std::optional<Incoming> receive(std::chrono::microseconds) override {
    if (inbox_.empty()) return std::nullopt;
    Incoming m = std::move(inbox_.front());
    inbox_.pop_front();
    return m;
  }
  const TransportCounters& counters() const override { return counters_; }
  /// The worker index of `rank`, -1 when it is not one of this relay's.
  int index_of(int rank) const {
    const auto it = std::find(ranks_.begin(), ranks_.end(), rank);
    return it == ranks_.end() ? -1 : static_cast<int>(it - ranks_.begin());
  }
  void deliver(Incoming m) { inbox_.push_back(std::move(m)); }

 private:
  const mpi::communicator& comm_;
  std::vector<int> ranks_;
  PendingSends& pending_;
  RankStats& stats_;
  std::deque<Incoming> inbox_;
  TransportCounters counters_;
};

}  // namespace

Farm::Farm(const mpi::communicator& comm, const Registry& registry, FarmOptions options)
    : comm_(runtime::private_communicator(comm)), registry_(registry), options_(std::move(options)) {
  handshake_error_ = handshake(plan_relays());
  if (comm_.size() > 1) stop_ = std::make_shared<runtime::CollectiveStop>(comm_);
}

std::vector<int> Farm::relay_ranks() const {
  std::vector<int> relays;
  for (const int parent : parent_of_)
    if (parent != 0) relays.push_back(parent);
  std::sort(relays.begin(), relays.end());
  relays.erase(std::unique(relays.begin(), relays.end()), relays.end());
  return relays;
}

std::string Farm::plan_relays() {
  const int n = comm_.size();
  parent_of_.assign(static_cast<std::size_t>(n), 0);
  children_.clear();
  if (n < 2) return {};
  // Each rank's node: the lowest rank sharing its memory.
  MPI_Comm node;
  MPI_Comm_split_type(static_cast<MPI_Comm>(comm_), MPI_COMM_TYPE_SHARED, comm_.rank(), MPI_INFO_NULL, &node);
  int leader = comm_.rank();
  MPI_Allreduce(MPI_IN_PLACE, &leader, 1, MPI_INT, MPI_MIN, node);
  MPI_Comm_free(&node);
  std::vector<int> leaders;
  mpi::gather(comm_, leader, leaders, 0);
  std::string error;
  if (comm_.rank() == 0) {
    int node_size = options_.node_size;
    if (node_size < 0) error = "node size must not be negative, not " + std::to_string(node_size);
    const char* env = std::getenv("RANKPOOL_FARM_NODE_SIZE");
    if (node_size == 0 && env && *env) {
      try {
        node_size = parse_node_size(env, "RANKPOOL_FARM_NODE_SIZE");
      } catch (const std::invalid_argument& e) {
        error = e.what();
      }
    }
    // Relays route every task type to every local worker: with queue assignments the farm stays flat.
    const bool relays = error.empty() && options_.queues.empty() &&
                        (options_.hierarchy == Hierarchy::on ||
                         (options_.hierarchy == Hierarchy::automatic && n - 1 >= options_.hierarchy_threshold));
    if (relays) {
      // Emulated nodes of node_size consecutive ranks from rank 1, else the real ones; rank 0's
      // node-mates stay its own workers (a relay there would save rank 0 nothing it does not
      // already do for them).
      std::map<int, std::vector<int>> nodes;
      for (int r = 1; r < n; ++r) {
        if (node_size > 0)
          nodes[(r - 1) / node_size].push_back(r);
        else if (leaders[static_cast<std::size_t>(r)] != leaders[0])
          nodes[leaders[static_cast<std::size_t>(r)]].push_back(r);
      }
      for (const auto& [key, ranks] : nodes)
        for (std::size_t i = 1; i < ranks.size(); ++i) parent_of_[static_cast<std::size_t>(ranks[i])] = ranks[0];
    }
  }
  mpi::broadcast(comm_, parent_of_, 0);
  if (comm_.rank() != 0)
    for (int r = 1; r < n; ++r)
      if (parent_of_[static_cast<std::size_t>(r)] == comm_.rank()) children_.push_back(r);
  return error;
}

std::string Farm::handshake(std::string error) {
  const int n = comm_.size();
  // Rank 0 checks the queue assignments and learns who serves what.
  std::vector<std::vector<std::string>> worker_queues(static_cast<std::size_t>(n));
  if (comm_.rank() == 0 && error.empty()) {
    std::set<std::string> known;
    for (const auto& t : registry_.signatures()) known.insert(t.queue);
    for (const auto& qa : options_.queues) {
      if (n == 1) break;  // a single rank serves every queue itself
      if (!known.count(qa.queue)) {
        std::string list;
        for (const auto& q : known) list += (list.empty() ? "" : ", ") + q;
        error = "queue assignment names unknown queue '" + qa.queue + "' (known: " + list + ")";
        break;
      }
      for (int r : qa.ranks) {
        if (r == 0) {
          error = "queue assignment '" + qa.queue + "' names rank 0, which is the master";
          break;
        }
        if (r >= n) {
          error = "queue assignment '" + qa.queue + "' names rank " + std::to_string(r) + " but the run has ranks 0-" +
                  std::to_string(n - 1);
          break;
        }
        worker_queues[static_cast<std::size_t>(r)].push_back(qa.queue);
      }
      if (!error.empty()) break;
    }
  }
  if (error.empty() && options_.slots < 1) error = "slots must be at least 1, not " + std::to_string(options_.slots);

  // The generic half: protocol version, the same task types everywhere, each rank's host
  // and slots, every rank's set-up error.
  const runtime::Protocol protocol{"farm", kProtocolVersion, fnv1a(runtime::encode(registry_.signatures())),
                                   "task types"};
  const runtime::Agreement agreed =
      runtime::handshake(comm_, protocol, error.empty() ? Status{} : Status::error(error),
                         runtime::encode(static_cast<std::int32_t>(options_.slots)), runtime::Share::rank0);
  hosts_.clear();
  slots_.clear();
  serves_.clear();
  worker_ranks_.clear();
  fanout_.clear();
  if (comm_.rank() == 0) {
    hosts_ = agreed.hosts;
    // Rank 0 is the master (its own slots are for a 1-rank run). Its workers are the ranks
    // that take batches from it: plain workers and relays. A relay stands for its local
    // workers: fanout of them, each slot of it for one slot of every one.
    const auto slots_of = [&](int r) {
      return runtime::decode<std::int32_t>(agreed.payloads[static_cast<std::size_t>(r)], "farm slots");
    };
    for (int r = 1; r < n; ++r) {
      if (parent_of_[static_cast<std::size_t>(r)] != 0) continue;
      int slots = 0, fanout = 0;
      for (int c = 1; c < n; ++c)
        if (parent_of_[static_cast<std::size_t>(c)] == r) {
          slots = std::max(slots, slots_of(c));
          ++fanout;
        }
      worker_ranks_.push_back(r);
      fanout_.push_back(std::max(1, fanout));
      slots_.push_back(fanout ? slots : slots_of(r));
      // Who serves what, known to the master only.
      const auto& qs = worker_queues[static_cast<std::size_t>(r)];
      std::vector<bool> s(registry_.size(), qs.empty());
      for (std::size_t t = 0; t < registry_.size(); ++t)
        if (std::find(qs.begin(), qs.end(), registry_.at(t).queue) != qs.end()) s[t] = true;
      serves_.push_back(std::move(s));
    }
  }
  return agreed.status.message();
}

RunStatus Farm::run(const std::function<void(Master&)>& body) {
  stats_ = FarmStats{};
  // The handshake ran once, in the constructor: every run of this Farm reports its outcome.
  RunStatus status = comm_.rank() == 0   ? run_master(body, handshake_error_)
                     : children_.empty() ? run_worker(handshake_error_)
                                         : run_relay(handshake_error_);
  // After an interrupt a worker may still be inside a task: no collective. Stop told every
  // worker so.
  if (status.signal) return status;
  mpi::broadcast(comm_, status.error, 0);
  mpi::broadcast(comm_, status.failed_tasks, 0);
  return status;
}

RunStatus Farm::run_master(const std::function<void(Master&)>& body, const std::string& handshake_error) {
  RunStatus status;
  status.error = handshake_error;
  if (!status.error.empty()) return status;
  const auto t0 = std::chrono::steady_clock::now();
  const std::string host = hosts_.empty() ? host_name() : hosts_.front();

  if (comm_.size() == 1) {
    // Single rank: the master runs every task itself (on a second thread with a task timeout).
    TaskContext context;
    context.interrupt = options_.interrupt;
    // An early end (the body threw, an interrupt) cancels running tasks: wait for them as a
    // worker rank does, so none outlives the run.
    LocalTransport local(registry_, 1, {0}, options_.task_timeout, options_.slots, context,
                         static_cast<bool>(options_.on_note), options_.interrupt_grace);
    Master master(registry_, local, options_, {std::vector<bool>(registry_.size(), true)}, {options_.slots});
    try {
      body(master);
    } catch (const Interrupted& e) {
      status.error = e.what();
      status.signal = e.signal;
    } catch (const std::exception& e) {
      status.error = e.what();
    }
    stats_ = master.stats();
    RankStats s = local.worker_stats(0);
    s.rank = 0;
    s.host = host;
    s.role = "master+worker";
    s.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stats_.ranks = {s};
  } else {
    MpiMasterTransport transport(comm_, options_, worker_ranks_);
    Master master(registry_, transport, options_, serves_, slots_, fanout_, parent_of_);
    try {
      body(master);
    } catch (const Interrupted& e) {
      status.error = e.what();
      status.signal = e.signal;
    } catch (const std::exception& e) {
      status.error = e.what();
    }
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (status.signal) deadline = std::chrono::steady_clock::now() + options_.interrupt_grace;
    std::vector<RankStats> workers = transport.stop_all(*stop_, status.error, status.signal, deadline);
    stats_ = master.stats();
    RankStats s = master.master_counters();
    s.rank = 0;
    s.host = host;
    s.role = "master";
    s.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stats_.ranks.push_back(s);
    for (auto& w : workers) stats_.ranks.push_back(std::move(w));
  }
  stats_.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  status.failed_tasks = stats_.tasks_failed;
  return status;
}

RunStatus Farm::run_worker(const std::string& handshake_error) {
  RankLoop loop(handshake_error, comm_.rank(), options_);
  if (!loop.status.error.empty()) return loop.status;
  loop.stats.role = "worker";
  // Batches come from rank 0 or from this node's relay; a stop after an interrupt from rank 0.
  const int parent = parent_of_[static_cast<std::size_t>(comm_.rank())];
  auto receive = [&]() -> std::optional<runtime::Raw> {
    auto m = try_receive(comm_, parent);
    if (!m && parent != 0) m = try_receive(comm_, 0);
    return m;
  };

  // A worker inside a long task cannot answer the master's Stop after an interrupt. If the
  // run has not ended well after the master's grace period, leave anyway: mpirun then ends
  // the job, and the journal already holds everything the master received.
  std::atomic<bool> stopped{false};
  std::thread watchdog;
  if (options_.interrupt) {
    watchdog = std::thread([this, &stopped] {
      runtime::InterruptWatch watch(options_.interrupt, 2 * options_.interrupt_grace + std::chrono::seconds(1));
      while (!stopped.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        const int sig = watch.poll();
        if (!sig || !watch.grace_over()) continue;
        std::fprintf(stderr, "rankpool: rank %d: interrupted inside a task; leaving without finishing it\n",
                     comm_.rank());
        std::fflush(stderr);
        std::_Exit(128 + sig);
      }
    });
  }

  // With a task timeout or several slots, batches run on the executor's threads and this one
  // keeps watch and talks to the master.
  // Notes of tasks run on this thread wait here until their batch's result goes out.
  std::deque<std::string> direct_notes;
  const std::function<void(std::string_view)> direct_sink = [&direct_notes](std::string_view b) {
    direct_notes.emplace_back(b);
  };
  TaskContext context;
  context.rank = comm_.rank();
  context.interrupt = options_.interrupt;
  context.note_sink = &direct_sink;
  const detail::ScopedTaskContext scope(context);
  std::optional<Executor> executor;
  if (options_.task_timeout.count() > 0 || options_.slots > 1 || options_.on_note) {
    executor.emplace(registry_, options_.task_timeout, options_.slots, context, options_.interrupt_grace);
  }
  auto send = [&](Tag tag, std::string bytes) {
    ++loop.stats.msgs_sent;
    loop.stats.bytes_sent += bytes.size();
    auto req = comm_.isend(parent, static_cast<int>(tag), bytes.data(), static_cast<int>(bytes.size()));
    loop.pending.add(std::move(req), std::move(bytes));
  };
  auto send_result = [&](std::string result) { send(Tag::Result, std::move(result)); };
  auto protocol_failure = [&](const std::exception& e) {
    // A batch we cannot even decode means the ranks disagree about the protocol: abort the
    // job loudly rather than leave the master waiting for this result.
    std::fprintf(stderr, "rankpool: rank %d: protocol error: %s\n", comm_.rank(), e.what());
    comm_.abort(3);
  };

  // The end of the run: `stop` came down the runtime's tree (`gathered`: the statistics go
  // back up it) or point to point after an interrupt (they go back the same way).
  auto finish = [&](const StopMessage& stop, bool gathered) {
    loop.status.error = stop.abort_reason;
    loop.status.signal = stop.signal;
    if (executor) {
      const RankStats& e = executor->stats();
      loop.stats.tasks += e.tasks;
      loop.stats.failed += e.failed;
      loop.stats.batches += e.batches;
      loop.stats.busy_s += e.busy_s;
      if (const int stuck = executor->stuck_threads()) {
        std::fprintf(stderr, "rankpool: rank %d: %d timed-out task%s still running, abandoned\n", comm_.rank(), stuck,
                     stuck == 1 ? "" : "s");
      }
      // Only after an abort can batches still run: cancel them and keep the results that
      // come back within the grace (the master no longer reads them), then abandon the rest.
      executor.reset();
    }
    loop.pending.wait_all();
    loop.stats.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - loop.t0).count();
    // The counters cover the run's messages; the Stats message itself is not in them.
    const std::string bytes = encode_stats(loop.stats);
    if (gathered) {
      // Batches the master sent before the stop still arrive: received and dropped until
      // the closing barrier, so that the master's sends complete.
      stop_->report(runtime::decode_report(bytes), [&] {
        while (receive()) {
        }
      });
    } else {
      comm_.send(0, static_cast<int>(Tag::Stats), bytes.data(), static_cast<int>(bytes.size()));
    }
  };

  bool direct_stop = false;  // announced on the tree: the stop itself comes point to point
  for (;;) {
    if (!direct_stop) {
      if (const auto stop = stop_->poll()) {
        if (stop->gathered) {
          finish(stop->message, true);
          break;
        }
        direct_stop = true;
      }
    }
    if (executor) {
      try {
        while (auto out = executor->next_message()) {
          send(out->first, std::move(out->second));
          loop.backoff.reset();
        }
      } catch (const std::exception& e) {
        protocol_failure(e);
      }
    }
    auto m = receive();
    if (!m) {
      loop.pending.reap();
      if (!loop.pending.empty())
        std::this_thread::yield();
      else if (executor && !executor->idle())
        executor->wait(std::chrono::microseconds(200));  // a result
                                                         // wakes it at once; a batch from the master within 200 µs
      else
        loop.backoff.wait();
      continue;
    }
    loop.backoff.reset();
    ++loop.stats.msgs_recv;
    loop.stats.bytes_recv += m->bytes.size();
    if (m->tag == static_cast<int>(Tag::Batch)) {
      if (executor) {
        executor->submit(std::move(m->bytes));
        continue;
      }
      std::string result;
      try {
        result = execute_batch(registry_, m->bytes, loop.stats);
      } catch (const std::exception& e) {
        protocol_failure(e);
      }
      for (auto& n : direct_notes) send(Tag::Note, std::move(n));
      direct_notes.clear();
      send_result(std::move(result));
    } else if (m->tag == static_cast<int>(Tag::Stop)) {
      finish(decode_stop(m->bytes), false);
      // The master announced this stop on the tree too: take that part before leaving (this
      // rank forwards it to its subtree), but not for longer than the interrupt's grace.
      const auto until = std::chrono::steady_clock::now() + options_.interrupt_grace;
      while (!direct_stop && std::chrono::steady_clock::now() < until) {
        if (stop_->poll()) break;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      break;
    } else {
      std::fprintf(stderr, "rankpool: rank %d: unexpected message tag %d\n", comm_.rank(), m->tag);
      comm_.abort(3);
    }
  }
  stopped.store(true);
  if (watchdog.joinable()) watchdog.join();
  return loop.status;
}

// A node's relay (farm/relay.hpp): batches from rank 0 are cut for the local workers, their
// results go back to rank 0 as one per batch. It runs no task itself: its loop must answer
// within microseconds to keep a node's workers fed.
RunStatus Farm::run_relay(const std::string& handshake_error) {
  RankLoop loop(handshake_error, comm_.rank(), options_);
  if (!loop.status.error.empty()) return loop.status;
  // "relay for 3 ranks (2-4)": how many it feeds, the first and last of them.
  loop.stats.role = "relay for " + std::to_string(children_.size()) + " ranks (" + std::to_string(children_.front()) +
                    "-" + std::to_string(children_.back()) + ")";
  RelayLinks links(comm_, children_, loop.pending, loop.stats);
  Relay relay(registry_, links);
  auto send_up = [&](Tag tag, std::string bytes) {
    ++loop.stats.msgs_sent;
    loop.stats.bytes_sent += bytes.size();
    auto req = comm_.isend(0, static_cast<int>(tag), bytes.data(), static_cast<int>(bytes.size()));
    loop.pending.add(std::move(req), std::move(bytes));
  };
  auto protocol_failure = [&](const std::exception& e) {
    std::fprintf(stderr, "rankpool: rank %d (relay): protocol error: %s\n", comm_.rank(), e.what());
    comm_.abort(3);
  };
  const auto drain = [&] {
    while (try_receive(comm_, mpi::any_source)) {
    }
  };
  auto finish = [&](const StopMessage& stop, bool gathered) {
    loop.status.error = stop.abort_reason;
    loop.status.signal = stop.signal;
    // Its sends to the local workers complete as they drain theirs; theirs to it as it drains.
    while (!loop.pending.empty()) {
      drain();
      loop.pending.reap();
      std::this_thread::yield();
    }
    loop.stats.batches = relay.stats().batches;
    loop.stats.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - loop.t0).count();
    const std::string bytes = encode_stats(loop.stats);
    if (gathered)
      stop_->report(runtime::decode_report(bytes), drain);
    else
      comm_.send(0, static_cast<int>(Tag::Stats), bytes.data(), static_cast<int>(bytes.size()));
  };

  bool direct_stop = false;
  for (;;) {
    if (!direct_stop) {
      if (const auto stop = stop_->poll()) {
        if (stop->gathered) {
          finish(stop->message, true);
          break;
        }
        direct_stop = true;
      }
    }
    auto m = try_receive(comm_, mpi::any_source);
    if (!m) {
      loop.pending.reap();
      loop.backoff.wait();
      continue;
    }
    loop.backoff.reset();
    ++loop.stats.msgs_recv;
    loop.stats.bytes_recv += m->bytes.size();
    try {
      if (m->source == 0 && m->tag == static_cast<int>(Tag::Batch)) {
        relay.accept(m->bytes);
      } else if (m->source == 0 && m->tag == static_cast<int>(Tag::Stop)) {
        finish(decode_stop(m->bytes), false);
        const auto until = std::chrono::steady_clock::now() + options_.interrupt_grace;
        while (!direct_stop && std::chrono::steady_clock::now() < until) {
          if (stop_->poll()) break;
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        break;
      } else if (const int w = links.index_of(m->source); w >= 0) {
        links.deliver(Incoming{w, static_cast<Tag>(m->tag), std::move(m->bytes)});
        for (auto& [tag, bytes] : relay.poll(std::chrono::microseconds(0))) send_up(tag, std::move(bytes));
      } else {
        std::fprintf(stderr, "rankpool: rank %d (relay): unexpected message tag %d from rank %d\n", comm_.rank(),
                     m->tag, m->source);
        comm_.abort(3);
      }
    } catch (const std::exception& e) {
      protocol_failure(e);
    }
  }
  return loop.status;
}

}  // namespace rankpool::farm
