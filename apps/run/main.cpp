// rankpool-run: farm a list of shell commands over MPI ranks.
//
//   mpirun -n 8 rankpool-run --joblog run.log --tasks commands.txt
//   mpirun -n 8 rankpool-run 'gzip -9 {}' ::: data/*.csv
//
// Thin: options and the task engine live in rankpool_run; this file only orders start-up
// (the spawner helper must exist before MPI_Init) and maps the outcome to the exit status.

#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <cstdio>
#include <iostream>

#include "rankpool/farm/cli.hpp"
#include "rankpool/run/command_farm.hpp"
#include "rankpool/run/options.hpp"
#include "rankpool/run/process.hpp"
#include "rankpool/runtime/interrupts.hpp"
#include "app_version_mpi.hpp"

namespace mpi = boost::mpi;
namespace run = rankpool::run;

int main(int argc, char** argv) {
  // First, while this process has one thread and no MPI: the helper that forks every task
  // (an MPI rank must not fork itself).
  std::optional<run::Spawner> spawner;
  std::string spawner_error;
  try {
    spawner.emplace(run::Spawner::start());
  } catch (const std::exception& e) {
    spawner_error = e.what();
  }
  // Tasks run on slot threads; only this thread calls MPI.
  mpi::environment env(argc, argv, mpi::threading::funneled);
  mpi::communicator world;
  const bool master = world.rank() == 0;

  run::ParsedCommand parsed;
  try {
    parsed = run::parse_command_line(argc, argv);
  } catch (const std::exception& e) {
    if (master) std::fprintf(stderr, "rankpool-run: %s\n", e.what());
    return run::kExitUsage;
  }
  if (!parsed.print.empty()) {
    // --version as every MPI app prints it: the version, git describe, the MPI library.
    if (parsed.version) parsed.print = rankpool::apps::mpi_version_text("rankpool-run");
    if (master) std::fputs(parsed.print.c_str(), stdout);
    return run::kExitOk;
  }
  if (!spawner) {
    std::fprintf(stderr, "rankpool-run: rank %d: cannot start the process helper: %s\n", world.rank(),
                 spawner_error.c_str());
    env.abort(run::kExitUsage);
  }
  const std::atomic<int>* interrupt = rankpool::runtime::catch_interrupts();
  int code;
  {
    run::ProcessRunner runner(*spawner);
    code = run::run_commands(world, runner, parsed.options, interrupt, std::cin);
  }
  spawner->shutdown();
  return code;
}
