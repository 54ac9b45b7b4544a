// rankpool-farm-probe: a farm program whose tasks misbehave on request, for the end-to-end
// tests of journals, resume, timeouts, interrupts and dying ranks.
//
//   mpirun -n 3 rankpool-farm-probe --tasks N --output FILE [probe options] [farm options]
//
// Task k returns k*k + 1 after sleeping `sleep-ms` (± half, deterministic per k). Rows
// "k value" (or "k FAILED: message") are written to FILE in input order. Exit codes are the
// farm's: 0, 1 some tasks failed, 2 bad usage, 128+signal interrupted.

#include <unistd.h>

#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <thread>

#include "rankpool/farm/cli.hpp"
#include "rankpool/farm/farm.hpp"
#include "rankpool/runtime/interrupts.hpp"

namespace farm = rankpool::farm;
namespace po = boost::program_options;

int main(int argc, char** argv) {
  boost::mpi::environment env(argc, argv);
  boost::mpi::communicator world;
  std::uint64_t tasks = 100;
  double sleep_ms = 0;
  std::int64_t fail_every = 0, hang = -1, die_at = -1;
  int die_rank = -1;
  std::string output;
  farm::FarmCli cli;
  po::options_description d("probe");
  d.add_options()("tasks", po::value(&tasks))("sleep-ms", po::value(&sleep_ms))("output", po::value(&output))(
      "fail-every", po::value(&fail_every), "tasks k with k % N == N-1 always throw")("hang", po::value(&hang),
                                                                                      "task k never returns")(
      "die-rank", po::value(&die_rank), "this rank kills itself (SIGKILL) ...")("die-at", po::value(&die_at),
                                                                                "... when it starts its k-th task");
  d.add(farm::farm_options_description(cli));
  farm::FarmOptions options;
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, d), vm);
    po::notify(vm);
    options = farm::to_farm_options(cli, world.size());
    options.interrupt = rankpool::runtime::catch_interrupts();
  } catch (const std::exception& e) {
    if (world.rank() == 0) std::cerr << "rankpool-farm-probe: " << e.what() << "\n";
    return 2;
  }

  farm::Registry registry;
  const int me = world.rank();
  std::int64_t started = 0;
  registry.add<std::uint64_t, std::uint64_t>("square", [=, &started](std::uint64_t k) -> std::uint64_t {
    if (me == die_rank && ++started == die_at) ::kill(::getpid(), SIGKILL);
    if (static_cast<std::int64_t>(k) == hang) {
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    if (sleep_ms > 0) {
      const double f = 0.5 + static_cast<double>((k * 2654435761u) % 1000) / 1000.0;
      std::this_thread::sleep_for(std::chrono::microseconds(static_cast<std::int64_t>(sleep_ms * f * 1000)));
    }
    if (fail_every > 0 && static_cast<std::int64_t>(k % fail_every) == fail_every - 1) {
      throw std::runtime_error("task " + std::to_string(k) + " fails on purpose");
    }
    return k * k + 1;
  });

  farm::Farm pool(world, registry, options);
  std::uint64_t from_journal = 0;
  bool usage = false;
  const auto status = pool.run([&](farm::Master& master) {
    std::vector<std::uint64_t> inputs(tasks);
    for (std::uint64_t k = 0; k < tasks; ++k) inputs[k] = k;
    std::unique_ptr<farm::Journal> journal;
    try {
      journal = farm::open_journal(cli, farm::journal_key<std::uint64_t>("square", inputs));
    } catch (const farm::JournalError&) {
      usage = true;
      throw;
    }
    std::ofstream out(output, std::ios::trunc);
    if (!out) {
      usage = true;
      throw std::runtime_error("cannot write '" + output + "'");
    }
    farm::MapOptions<std::uint64_t> mo;
    mo.keep_values = false;
    mo.journal = journal.get();
    mo.on_result = [&](farm::Outcome<std::uint64_t>& o) {
      if (o.from_journal) ++from_journal;
      if (o.ok())
        out << o.index << ' ' << *o.value << '\n';
      else
        out << o.index << " FAILED: " << o.error << " (attempts " << o.attempts << ")\n";
    };
    try {
      master.map<std::uint64_t>("square", inputs, mo);
    } catch (...) {
      out.flush();
      throw;
    }
  });
  if (me == 0) {
    if (!status.error.empty()) std::cerr << "rankpool-farm-probe: " << status.error << "\n";
    const auto& s = pool.stats();
    std::cerr << "probe: from_journal=" << from_journal << " completed=" << s.tasks_completed
              << " failed=" << s.tasks_failed << " timeouts=" << s.timeouts << " requeued=" << s.requeued
              << " retries=" << s.retries << "\n";
  }
  return usage ? 2 : status.exit_code();
}
