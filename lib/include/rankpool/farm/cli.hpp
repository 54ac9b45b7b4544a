#pragma once
// The farm's command-line options, defined once so that they mean the same in every app:
//  * farm_common_options: what every farm-based app shares (rankpool-fib, rankpool-run) —
//    --retries, --journal, --resume, --retry-failed, --stats-json, --no-progress, -q/--quiet;
//  * farm_scheduling_options: how farm tasks are handed out — --schedule, --batch, --prefetch,
//    --queue, --task-timeout, --hierarchy, --node-size — for apps whose work items are farm tasks (rankpool-fib; not
//    rankpool-run, which schedules commands over its own slots and kills them on --timeout).
// An app that wants another default sets the FarmCli field before describing the options
// (rankpool-run: retries = 0, GNU parallel's default); the help shows that default.

#include <atomic>
#include <boost/program_options/options_description.hpp>
#include <memory>
#include <string>
#include <vector>

#include "rankpool/farm/journal.hpp"

#include "rankpool/farm/options.hpp"
#include "rankpool/farm/stats.hpp"

namespace rankpool::farm {

struct FarmCli {
  std::string schedule = "dynamic";
  std::size_t batch = 0;
  int prefetch = FarmOptions{}.prefetch;
  int retries = FarmOptions{}.max_retries;
  std::vector<std::string> queues;
  std::string stats_json;  // empty: no JSON statistics file
  bool quiet = false;
  bool no_progress = false;
  std::string journal;                                         // empty: no journal
  bool resume = false;                                         // continue `journal`
  bool retry_failed = false;                                   // resume, and run the journal's failed tasks again
  double task_timeout = 0;                                     // seconds; 0: none
  std::string hierarchy = to_string(FarmOptions{}.hierarchy);  // off | on | automatic (node relays)
  std::string node_size = "0";  // emulated ranks per node; 0: the real nodes (text: checked in to_farm_options)
};

/// The options every farm-based app shares, bound to `cli`; `cli`'s values are the defaults.
boost::program_options::options_description farm_common_options(FarmCli& cli,
                                                                const std::string& caption = "Farm options");
/// The farm's scheduling options, bound to `cli`; `cli`'s values are the defaults.
boost::program_options::options_description farm_scheduling_options(FarmCli& cli);
/// Both groups under one caption: every option of FarmCli (what rankpool-fib offers).
boost::program_options::options_description farm_options_description(FarmCli& cli);

/// Validates the parsed options. Throws std::invalid_argument with a one-line message
/// naming the bad option.
FarmOptions to_farm_options(const FarmCli& cli, int world_size);

/// Opens the journal named by --journal for a map keyed by `key`, or returns null without
/// --journal. Throws JournalError (one line) for a journal that cannot be used.
std::unique_ptr<Journal> open_journal(const FarmCli& cli, JournalKey key);

/// Writes the statistics as JSON; throws std::runtime_error naming the file on failure.
void write_stats_json(const FarmStats& stats, const std::string& path);

}  // namespace rankpool::farm
