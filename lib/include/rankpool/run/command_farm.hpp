#pragma once
// rankpool-run's engine: a list of shell commands farmed over MPI ranks.
//
// Rank 0 reads and expands the task list, keeps a window of tasks submitted to the farm
// (farm::Master::submit, refilled as tasks end), and writes every record as each task ends:
// its output (grouped), the joblog, the JSON lines, the results files, then the journal. The
// other ranks run tasks through their ProcessRunner, FarmOptions::slots at a time. With a
// single rank, rank 0 runs the tasks itself.

#include <atomic>
#include <boost/mpi/communicator.hpp>
#include <istream>

#include "rankpool/run/options.hpp"
#include "rankpool/run/process.hpp"

namespace rankpool::run {

inline constexpr int kExitOk = 0;        // every task succeeded
inline constexpr int kExitFailed = 1;    // some tasks failed (the joblog says which), or --halt
inline constexpr int kExitUsage = 2;     // bad usage or input: nothing ran
inline constexpr int kExitDeadline = 3;  // stopped at the deadline with tasks left: --resume

/// Collective: every rank calls it with the same options. `interrupt` is the flag the
/// SIGINT/SIGTERM handlers set (runtime::catch_interrupts()); `input` is what "-" reads (rank 0's
/// stdin). Returns this process's exit status: kExit* above, or 128 + the signal that stopped
/// the run. Errors are reported once, by rank 0, on stderr.
int run_commands(const boost::mpi::communicator& comm, ProcessRunner& runner, const RunOptions& options,
                 const std::atomic<int>* interrupt, std::istream& input);

}  // namespace rankpool::run
