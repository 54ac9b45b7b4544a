#pragma once
// Run statistics per rank and per host, in the spirit of Parallel Python's print_stats.

#include <boost/describe/class.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace rankpool::farm {

struct RankStats {
  int rank = 0;
  std::string host;
  std::string role;           // "master", "worker", or "master+worker" for a single-rank run
  std::uint64_t tasks = 0;    // tasks executed on this rank (each attempt counts)
  std::uint64_t failed = 0;   // attempts that threw
  std::uint64_t batches = 0;  // batches executed (workers) or dispatched (master)
  double busy_s = 0;          // inside task functions
  double wall_s = 0;          // from the start of the run to this rank's stop
  std::uint64_t msgs_sent = 0, msgs_recv = 0, bytes_sent = 0, bytes_recv = 0;
  double idle_s() const { return wall_s > busy_s ? wall_s - busy_s : 0.0; }
  bool operator==(const RankStats&) const = default;
};
// A worker's Stats message carries it (byte codec, runtime/bytes.hpp).
BOOST_DESCRIBE_STRUCT(RankStats, (),
                      (rank, host, role, tasks, failed, batches, busy_s, wall_s, msgs_sent, msgs_recv, bytes_sent,
                       bytes_recv))

struct HostStats {
  std::string host;
  int ranks = 0;
  std::uint64_t tasks = 0, failed = 0;
  double busy_s = 0;
};

struct FarmStats {
  std::vector<RankStats> ranks;  // indexed by rank
  double wall_s = 0;
  std::uint64_t tasks_submitted = 0;
  std::uint64_t tasks_completed = 0;  // finished successfully
  std::uint64_t tasks_failed = 0;     // failed after all retries
  std::uint64_t retries = 0;
  std::uint64_t timeouts = 0;       // attempts that ran past the task timeout
  std::uint64_t requeued = 0;       // tasks handed back unrun from a batch abandoned at a timeout
  std::uint64_t tasks_resumed = 0;  // finished in an earlier run, read from the journal

  std::vector<HostStats> hosts() const;  // in order of first appearance
  /// A table like pp's print_stats: one row per rank, then one per host.
  void print_table(std::ostream& os) const;
  boost::json::value to_json() const;
};

}  // namespace rankpool::farm
