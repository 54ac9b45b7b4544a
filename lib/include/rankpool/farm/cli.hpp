#pragma once
// The farm's command-line options, shared by every rankpool app so that --schedule,
// --batch, --queue ... mean the same everywhere.

#include <boost/program_options/options_description.hpp>
#include <string>
#include <vector>

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
};

/// Options for boost::program_options, bound to `cli`.
boost::program_options::options_description farm_options_description(FarmCli& cli);

/// Validates the parsed options. Throws std::invalid_argument with a one-line message
/// naming the bad option.
FarmOptions to_farm_options(const FarmCli& cli, int world_size);

/// Writes the statistics as JSON; throws std::runtime_error naming the file on failure.
void write_stats_json(const FarmStats& stats, const std::string& path);

}  // namespace rankpool::farm
