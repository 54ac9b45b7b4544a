#pragma once
// rankpool-run's options: what the user asked for, validated, with a reason on each default.
// Parsed on every rank from the same argv (mpirun gives every rank the same command line).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rankpool/farm/options.hpp"
#include "rankpool/run/tasks.hpp"

namespace rankpool::run {

/// --halt now|soon,fail=N|N%  (GNU parallel's meaning): when the condition is met, `soon` starts
/// no new task and waits for the running ones; `now` also kills the running ones.
struct HaltPolicy {
  enum class When { never, soon, now } when = When::never;
  std::uint64_t failures = 0;  // halt at this many failed tasks (when percent == 0)
  double percent = 0;          // ... or when this share of the tasks (0-100) has failed, counted
                               // over the tasks finished so far, once at least 3 have finished
                               // (parallel's rule)
  bool operator==(const HaltPolicy&) const = default;
};
/// Parses "now,fail=1", "soon,fail=10%", "never". Throws std::invalid_argument naming it.
HaltPolicy parse_halt(const std::string& text);

/// Output handling of each task's stdout and stderr on the master.
enum class OutputMode {
  group,        // whole, one task after another, as each task ends (parallel's --group)
  line_buffer,  // complete lines as they are written, lines of tasks interleaved (--line-buffer)
  none,         // not printed (still in --results and --output-jsonl)
};

struct RunOptions {
  // What to run.
  CommandLine command_line;  // template words and ::: / :::: sources
  TaskListOptions list;      // --tasks, --colsep
  bool dry_run = false;      // print the expanded commands on stdout and run nothing

  // Where and how.
  std::string shell = "/bin/sh";          // tasks run as SHELL -c COMMAND: what a user's shell line means
  int slots = 0;                          // tasks at once per worker rank; 0: SLURM_CPUS_PER_TASK /
                                          // cpus_per_task, else 1 (one rank per node, slots = cores)
  int cpus_per_task = 0;                  // 0: no pinning. C: each slot gets C cores of the rank's CPU
                                          // set (sched_setaffinity) and OMP_NUM_THREADS=C
  int gpus_per_task = 0;                  // 0: CUDA_VISIBLE_DEVICES untouched. G: each slot gets G of
                                          // the rank's devices
  std::chrono::milliseconds timeout{0};   // per task, 0: none; then SIGTERM to its process group,
                                          // SIGKILL `grace` later
  std::chrono::milliseconds grace{2000};  // between SIGTERM and SIGKILL: long enough for a task to
                                          // flush its files, short enough for Slurm's KillWait (30 s)
  int retries = 0;                        // a failed task runs at most 1 + retries times, on another
                                          // rank when there is one (0: failures are final, parallel's default)
  HaltPolicy halt;                        // stop early on failures
  std::optional<double> deadline_unix;    // start no task that would not end before this (by the
                                          // runtimes measured so far); from --deadline or Slurm

  // Node relays, as in every farm (docs/farm.md): the joblog names the rank that ran each
  // command either way.
  farm::Hierarchy hierarchy = farm::Hierarchy::off;  // the farm's default
  int node_size = 0;                                 // ranks per node for relays; 0: the real nodes

  // What is recorded.
  OutputMode output = OutputMode::group;
  bool tag = false;                // prefix each output line with the task's arguments and a tab
  std::string joblog;              // GNU parallel's joblog format; empty: none
  std::string results_dir;         // DIR/<seq / 1000>/<seq>.out|.err; empty: none
  std::string output_jsonl;        // one JSON record per task; empty: none
  std::size_t max_output = 65536;  // bytes of stdout and of stderr kept in each JSONL record:
                                   // enough for a summary line, bounded for 10^6 tasks
  std::string journal;             // the resume journal; empty: none
  bool resume = false;             // run only what the journal does not hold as done
  bool retry_failed = false;       // with resume: run the journal's failed tasks again
  bool overwrite_journal = false;  // start the journal afresh even if it exists

  // What is shown.
  bool progress = true;          // live line on stderr when it is a terminal
  double progress_interval = 0;  // seconds between plain progress lines on stderr (batch
                                 // logs); 0: none
  bool quiet = false;            // no progress, no summary line
  std::string stats_json;        // the farm's per-rank statistics as JSON; empty: none
};

/// The result of parsing argv: options, or help/version text to print, or an error.
struct ParsedCommand {
  RunOptions options;
  std::string print;     // --help / --version text: print it on rank 0 and exit 0
  bool version = false;  // `print` is the --version line (the app may add the MPI library's)
};

/// Parses rankpool-run's command line. Options come first; the first word that is not an option
/// starts the command template (as with GNU parallel). Throws std::invalid_argument with a
/// one-line message naming the bad option or value.
ParsedCommand parse_command_line(int argc, const char* const* argv);

/// Parses --deadline: "+90m" / "+2h" / "+300" (from now), "@EPOCH", or "none".
/// Throws std::invalid_argument.
std::optional<double> parse_deadline(const std::string& text, double now_unix);

}  // namespace rankpool::run
