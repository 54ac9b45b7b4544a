// rankpool-bench: the farm's overhead against a hand-written MPI master/worker loop,
// measured in one launch at one rank count.
//
//   mpirun -n 3 rankpool-bench [--tasks 100000] [--repeat 3] [--baseline-batch 1000]
//   mpirun -n 3 rankpool-bench --emulate 2048 --task-us 100 [--batch N] [--tasks 1000000]
//
// Modes, each moving `tasks` no-op tasks (int in, int out) from rank 0 to the workers and back:
//   farm batched     Farm::map with automatic batching (the default)
//   farm unbatched   Farm::map with batch_size 1: one task per message
//   farm static      Farm::map with the static block scatter
//   mpi loop         hand-written MPI_Send/MPI_Recv self-scheduling, one task per message
//   mpi loop batched the same with `baseline-batch` tasks per message
// Each mode runs `repeat` times; the best time counts. Ratios compare batched modes with
// the batched loop and the unbatched farm with the unbatched loop.
//
// --emulate K: the farm's master (its scheduler, groups, codec and MPI channel) faces K
// emulated workers per worker rank instead (emulate.hpp): its CPU cost and utilisation at
// thousands of workers, measured beside the cost model of docs/scale.md.

#include <mpi.h>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <iostream>
#include <numeric>
#include <vector>

#include "rankpool/farm/farm.hpp"
#include "rankpool/farm/journal.hpp"
#include "app_version_mpi.hpp"
#include "emulate.hpp"

namespace mpi = boost::mpi;
namespace po = boost::program_options;
using namespace rankpool::farm;

namespace {

enum : int { kTask = 1, kResult = 2, kStop = 3 };

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

/// A minimal hand-written master/worker loop: blocking MPI_Send/MPI_Recv, one message
/// (of `batch` tasks) in flight per worker. Returns the elapsed seconds on rank 0.
double hand_written(MPI_Comm comm, long tasks, int batch) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  std::vector<int> buf(static_cast<std::size_t>(batch));
  MPI_Barrier(comm);
  const double t0 = now();
  if (size == 1) {
    volatile long sink = 0;
    for (long i = 0; i < tasks; ++i) sink = sink + static_cast<int>(i);
    return now() - t0;
  }
  if (rank == 0) {
    long next = 0, received = 0;
    auto send_next = [&](int dest) {
      const int n = static_cast<int>(std::min<long>(batch, tasks - next));
      if (n <= 0) {
        MPI_Send(nullptr, 0, MPI_INT, dest, kStop, comm);
        return false;
      }
      for (int k = 0; k < n; ++k) buf[static_cast<std::size_t>(k)] = static_cast<int>(next + k);
      next += n;
      MPI_Send(buf.data(), n, MPI_INT, dest, kTask, comm);
      return true;
    };
    int active = 0;
    for (int w = 1; w < size; ++w) active += send_next(w) ? 1 : 0;
    std::vector<int> res(static_cast<std::size_t>(batch));
    while (active > 0) {
      MPI_Status st;
      MPI_Recv(res.data(), batch, MPI_INT, MPI_ANY_SOURCE, kResult, comm, &st);
      int n;
      MPI_Get_count(&st, MPI_INT, &n);
      received += n;
      if (!send_next(st.MPI_SOURCE)) --active;
    }
    if (received != tasks) std::fprintf(stderr, "hand-written loop lost tasks\n");
  } else {
    for (;;) {
      MPI_Status st;
      MPI_Recv(buf.data(), batch, MPI_INT, 0, MPI_ANY_TAG, comm, &st);
      if (st.MPI_TAG == kStop) break;
      int n;
      MPI_Get_count(&st, MPI_INT, &n);
      for (int k = 0; k < n; ++k) buf[static_cast<std::size_t>(k)] = buf[static_cast<std::size_t>(k)];  // no-op task
      MPI_Send(buf.data(), n, MPI_INT, 0, kResult, comm);
    }
  }
  return now() - t0;
}

bool g_verbose = false;
std::size_t g_max_batch = FarmOptions{}.max_batch;

std::string g_journal_path;

double farm_run(const mpi::communicator& world, const Registry& reg, const Task<int, int>& noop, FarmOptions o,
                long tasks, bool journaled = false) {
  o.quiet = true;
  o.max_batch = g_max_batch;
  Farm farm(world, reg, o);
  std::vector<int> xs;
  if (world.rank() == 0) {
    xs.resize(static_cast<std::size_t>(tasks));
    std::iota(xs.begin(), xs.end(), 0);
  }
  world.barrier();
  const double t0 = now();
  bool correct = true;
  auto status = farm.run([&](Master& m) {
    MapOptions<int> mo;
    std::unique_ptr<Journal> journal;
    if (journaled) {
      std::remove(g_journal_path.c_str());
      journal =
          std::make_unique<Journal>(JournalOptions{g_journal_path}, journal_key<int>("noop", std::span<const int>(xs)));
      mo.journal = journal.get();
    }
    auto res = m.map(noop, xs, mo);
    correct = res.ok() && res.values == xs;
  });
  const double t = now() - t0;
  if (world.rank() == 0 && (!status.ok() || !correct)) {
    std::fprintf(stderr, "rankpool-bench: farm run returned wrong results: %s\n", status.error.c_str());
    world.abort(1);
  }
  if (g_verbose && world.rank() == 0) {
    std::cerr << "farm run (" << to_string(o.schedule) << ", batch " << o.batch_size << "): " << t << " s\n";
    farm.stats().print_table(std::cerr);
  }
  return t;
}

/// One emulated run: measured beside the cost model's prediction. Exit 1 on wrong outputs.
int emulate_one(const mpi::communicator& world, const Registry& reg, const Task<int, int>& task,
                const rankpool::bench::EmulateOptions& o, bool header) {
  const auto r = rankpool::bench::run_emulation(world, reg, task, o);
  if (world.rank() != 0) return 0;
  if (!r.correct) {
    std::fprintf(stderr, "rankpool-bench: the emulated run returned wrong results\n");
    return 1;
  }
  FarmOptions fo;
  fo.batch_size = o.batch;
  const rankpool::bench::CostModel model;
  const double ideal_s = static_cast<double>(r.tasks) * o.task_s / r.workers;
  const auto planned = rankpool::bench::planned_batches(fo, r.tasks, r.workers, o.task_s, o.node);
  // Rank 0 faces the relays, not the workers behind them.
  const double cost_s =
      model.cost_s(r.relays ? r.relays : r.workers, static_cast<double>(r.tasks), static_cast<double>(planned));
  const double predicted = cost_s / ideal_s;
  const double busy = r.cpu_s - r.idle_cpu_s;
  const double on_core_s = std::max(1e-9, r.wall_s - r.runqueue_s);
  // Measured: U is the master's busy CPU over the wall time it had a core (run-queue waits,
  // which other load on shared cores causes, taken out), tasks/s over the same time.
  // Predicted: U_pred is the cost model's CPU over the run's ideal time (tasks x duration /
  // workers) with the batches the policy plans (above 1: the master is the bottleneck), and
  // pred/s the throughput that leaves: tasks / max(ideal time, the model's CPU).
  // `relays`: what rank 0 faced with --node-size (0: the workers themselves).
  if (header)
    std::printf("%8s %8s %6s %9s %9s %9s %8s %7s %7s %7s %7s %12s %12s %8s %10s %7s\n", "workers", "task_us", "batch",
                "tasks", "batches", "planned", "wall_s", "runq_s", "busy_s", "wait_s", "U", "tasks/s", "pred/s",
                "U_pred", "us/batch", "relays");
  std::printf("%8d %8.0f %6s %9llu %9llu %9llu %8.3f %7.3f %7.3f %7.3f %7.3f %12.0f %12.0f %8.3f %10.2f %7d\n",
              r.workers, o.task_s * 1e6, o.batch ? std::to_string(o.batch).c_str() : "auto",
              static_cast<unsigned long long>(r.tasks), static_cast<unsigned long long>(r.batches),
              static_cast<unsigned long long>(planned), r.wall_s, r.runqueue_s, busy, r.wait_s, busy / on_core_s,
              static_cast<double>(r.tasks) / on_core_s, static_cast<double>(r.tasks) / std::max(ideal_s, cost_s),
              predicted, r.batches ? busy / static_cast<double>(r.batches) * 1e6 : 0.0, r.relays);
  std::printf("outputs: %llu values of 3x+1, sum %llu\n", static_cast<unsigned long long>(r.tasks),
              static_cast<unsigned long long>(r.output_sum));
  return 0;
}

/// With o.node > 1, runs flat and then through relays of o.node workers, one row each.
int emulate(const mpi::communicator& world, const Registry& reg, const Task<int, int>& task,
            rankpool::bench::EmulateOptions o) {
  const int node = o.node;
  o.node = 1;
  const int flat = emulate_one(world, reg, task, o, true);
  if (flat != 0 || node <= 1) return flat;
  o.node = node;
  return emulate_one(world, reg, task, o, false);
}

}  // namespace

int main(int argc, char** argv) {
  mpi::environment env(argc, argv);
  mpi::communicator world;
  long tasks = 100000;
  int repeat = 3;
  int baseline_batch = 1000;
  rankpool::bench::EmulateOptions emu;
  double task_us = 100;
  po::options_description desc("rankpool-bench options");
  desc.add_options()("help,h", "show this help")("version", "print the version (and the MPI library's) and exit")(
      "tasks", po::value(&tasks)->default_value(tasks), "no-op tasks per mode")(
      "repeat", po::value(&repeat)->default_value(repeat), "runs per mode; the best counts")(
      "baseline-batch", po::value(&baseline_batch)->default_value(baseline_batch),
      "tasks per message in the batched hand-written loop")(
      "max-batch", po::value(&g_max_batch)->default_value(g_max_batch), "the farm's max_batch")(
      "journal-file", po::value(&g_journal_path)->default_value("/tmp/rankpool-bench.journal"),
      "journal of the 'farm journaled' mode (put it on the file system you would use)")(
      "verbose,v", po::bool_switch(&g_verbose), "print the farm's statistics after each run")(
      "emulate", po::value(&emu.per_rank),
      "instead: the master faces this many emulated workers per worker rank (one line: its CPU, "
      "utilisation and throughput beside the cost model's prediction)")(
      "task-us", po::value(&task_us)->default_value(task_us), "--emulate: the emulated duration of one task (µs)")(
      "batch", po::value(&emu.batch)->default_value(emu.batch), "--emulate: the farm's batch_size (0: automatic)")(
      "node-size", po::value(&emu.node)->default_value(emu.node),
      "--emulate: also run through relays of this many workers each (a second line; 1: flat only)")(
      "each", po::bool_switch(&emu.each),
      "--emulate: hand each outcome (and the rank that ran it) to an on_result callback, as rankpool-run does");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
    if (tasks < 1 || repeat < 1 || baseline_batch < 1)
      throw po::error("--tasks, --repeat and --baseline-batch must be positive");
    if (vm.count("emulate") && (emu.per_rank < 1 || !(task_us >= 0)))
      throw po::error("--emulate must be positive and --task-us not negative");
    if (vm.count("emulate") && world.size() < 2) throw po::error("--emulate needs at least 2 ranks");
    if (vm.count("emulate") && (emu.node < 1 || emu.per_rank % emu.node != 0))
      throw po::error("--emulate: --node-size must be at least 1 and divide the workers per rank");
  } catch (const po::error& e) {
    if (world.rank() == 0) std::cerr << "rankpool-bench: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    if (world.rank() == 0) {
      std::cout << "usage: mpirun -n RANKS rankpool-bench [options]\n"
                   "  The farm's overhead against a hand-written MPI master/worker loop.\n"
                   "Exit status: 0 measured, 1 a farm run returned wrong results (the job is\n"
                   "aborted), 2 bad usage.\n\n"
                << desc << "\n";
    }
    return 0;
  }
  if (vm.count("version")) {
    if (world.rank() == 0) std::cout << rankpool::apps::mpi_version_text("rankpool-bench");
    return 0;
  }

  Registry reg;
  const auto noop = reg.add("noop", [](int x) { return x; });
  if (vm.count("emulate")) {
    const auto affine = reg.add("affine", [](int x) { return 3 * x + 1; });
    emu.task_s = task_us * 1e-6;
    emu.tasks = tasks;
    return emulate(world, reg, affine, emu);
  }
  MPI_Comm raw;
  MPI_Comm_dup(MPI_COMM_WORLD, &raw);

  struct Mode {
    const char* name;
    double best = 1e300;
  };
  std::vector<Mode> modes = {{"mpi loop (1/msg)"}, {"mpi loop batched"}, {"farm unbatched"}, {"farm batched"},
                             {"farm static"},      {"farm empty run"},   {"farm journaled"}, {"farm timeout"}};
  for (int r = 0; r < repeat; ++r) {
    auto keep = [&](int i, double t) {
      modes[static_cast<std::size_t>(i)].best = std::min(modes[static_cast<std::size_t>(i)].best, t);
    };
    keep(0, hand_written(raw, tasks, 1));
    keep(1, hand_written(raw, tasks, baseline_batch));
    FarmOptions unb;
    unb.batch_size = 1;
    keep(2, farm_run(world, reg, noop, unb, tasks));
    keep(3, farm_run(world, reg, noop, FarmOptions{}, tasks));
    FarmOptions st;
    st.schedule = Schedule::static_;
    keep(4, farm_run(world, reg, noop, st, tasks));
    keep(5, farm_run(world, reg, noop, FarmOptions{}, 0));
    keep(6, farm_run(world, reg, noop, FarmOptions{}, tasks, true));
    FarmOptions to;
    to.task_timeout = std::chrono::seconds(10);  // tasks run on an executor thread
    keep(7, farm_run(world, reg, noop, to, tasks));
  }
  MPI_Comm_free(&raw);
  if (world.rank() == 0) std::remove(g_journal_path.c_str());

  if (world.rank() == 0) {
    const double base1 = static_cast<double>(tasks) / modes[0].best;
    const double baseb = static_cast<double>(tasks) / modes[1].best;
    std::printf("rankpool-bench: %ld no-op tasks, %d ranks (%d workers), best of %d\n", tasks, world.size(),
                std::max(1, world.size() - 1), repeat);
    std::printf("%-20s %12s %14s %22s\n", "mode", "seconds", "tasks/s", "ratio to baseline");
    const char* base_name[] = {"-", "-", "mpi loop (1/msg)", "mpi loop batched", "mpi loop batched"};
    for (std::size_t i = 0; i < 5; ++i) {
      const double rate = static_cast<double>(tasks) / modes[i].best;
      const double base = i == 2 ? base1 : baseb;
      if (i < 2) {
        std::printf("%-20s %12.4f %14.0f %22s\n", modes[i].name, modes[i].best, rate, "(baseline)");
      } else {
        std::printf("%-20s %12.4f %14.0f %8.2fx %-13s\n", modes[i].name, modes[i].best, rate, rate / base,
                    base_name[i]);
      }
    }
    std::printf("fixed cost of one farm run (empty map, stop, statistics): %.4f s\n", modes[5].best);
    // What resumability and timeouts cost, against the plain batched farm of the same run.
    const double farm_rate = static_cast<double>(tasks) / modes[3].best;
    for (std::size_t i = 6; i < 8; ++i) {
      const double rate = static_cast<double>(tasks) / modes[i].best;
      std::printf("%-20s %12.4f %14.0f %8.2fx %-13s\n", modes[i].name, modes[i].best, rate, rate / farm_rate,
                  "farm batched");
    }
  }
  return 0;
}
