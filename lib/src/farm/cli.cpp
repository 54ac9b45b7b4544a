#include "rankpool/farm/cli.hpp"

#include "rankpool/runtime/stats.hpp"

#include <boost/json/serialize.hpp>
#include <boost/program_options.hpp>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace po = boost::program_options;

namespace rankpool::farm {

po::options_description farm_common_options(FarmCli& cli, const std::string& caption) {
  po::options_description d(caption);
  d.add_options()(
      "retries", po::value(&cli.retries)->default_value(cli.retries),
      "run a failed task up to N more times (on another rank when there is one) before reporting it failed")(
      "journal", po::value(&cli.journal)->value_name("FILE"),
      "record every finished task in FILE (append-only, flushed as tasks finish), so that a killed run "
      "can be resumed; refuses to overwrite an existing journal")(
      "resume", po::bool_switch(&cli.resume),
      "continue --journal: run only the tasks it does not hold (starts it if it does not exist)")(
      "retry-failed", po::bool_switch(&cli.retry_failed),
      "with --resume: also run again the tasks the journal records as failed")(
      "stats-json", po::value(&cli.stats_json)->value_name("FILE"),
      "write per-rank and per-host statistics of the farm as JSON to FILE")(
      "no-progress", po::bool_switch(&cli.no_progress),
      "no live progress line on stderr (shown only when stderr is a terminal)")(
      "quiet,q", po::bool_switch(&cli.quiet),
      "no progress line, no summary, no statistics table (of those the app prints)");
  return d;
}

po::options_description farm_scheduling_options(FarmCli& cli) {
  po::options_description d("Farm scheduling options");
  const std::string hierarchy_help =
      "node relays: off (every worker talks to rank 0), on (one relay per node feeds the node's other ranks), "
      "automatic (on from " +
      std::to_string(FarmOptions{}.hierarchy_threshold) + " worker ranks)";
  d.add_options()("schedule", po::value(&cli.schedule)->default_value(cli.schedule),
                  "dynamic (self-scheduling, balances uneven tasks) or static (fixed blocks, the baseline)")(
      "batch", po::value(&cli.batch)->default_value(cli.batch),
      "tasks per message: 0 automatic (guided self-scheduling), 1 no batching, N fixed")(
      "prefetch", po::value(&cli.prefetch)->default_value(cli.prefetch),
      "batches in flight per worker, so none waits for a round trip")(
      "queue", po::value(&cli.queues)->composing()->value_name("NAME=RANKS"),
      "only these ranks serve queue NAME, e.g. fib=1-2 (repeatable; "
      "ranks in no assignment serve every queue)")(
      "task-timeout", po::value(&cli.task_timeout)->default_value(cli.task_timeout),
      "seconds: a task running longer fails as timed out (and is retried per --retries); 0 none")(
      "hierarchy", po::value(&cli.hierarchy)->default_value(cli.hierarchy), hierarchy_help.c_str())(
      "node-size", po::value(&cli.node_size)->default_value(cli.node_size)->value_name("K"),
      "ranks per node for --hierarchy: 0 the real nodes (or RANKPOOL_FARM_NODE_SIZE), K emulated nodes of K "
      "consecutive ranks from rank 1");
  return d;
}

po::options_description farm_options_description(FarmCli& cli) {
  po::options_description d;
  d.add(farm_scheduling_options(cli)).add(farm_common_options(cli));
  return d;
}

FarmOptions to_farm_options(const FarmCli& cli, int world_size) {
  FarmOptions o;
  if (cli.schedule == "dynamic") {
    o.schedule = Schedule::dynamic;
  } else if (cli.schedule == "static") {
    o.schedule = Schedule::static_;
  } else {
    throw std::invalid_argument("invalid --schedule '" + cli.schedule + "': expected dynamic or static");
  }
  if (cli.prefetch < 1)
    throw std::invalid_argument("invalid --prefetch " + std::to_string(cli.prefetch) + ": must be at least 1");
  if (cli.retries < 0)
    throw std::invalid_argument("invalid --retries " + std::to_string(cli.retries) + ": must not be negative");
  o.batch_size = cli.batch;
  o.prefetch = cli.prefetch;
  o.max_prefetch = std::max(o.max_prefetch, o.prefetch);
  o.max_retries = cli.retries;
  if (!(cli.task_timeout >= 0) || cli.task_timeout > 1e6) {
    throw std::invalid_argument("invalid --task-timeout " + std::to_string(cli.task_timeout) +
                                ": expected seconds between 0 (none) and 1000000");
  }
  o.task_timeout = std::chrono::microseconds(static_cast<std::int64_t>(std::llround(cli.task_timeout * 1e6)));
  if (cli.task_timeout > 0 && o.task_timeout.count() == 0) o.task_timeout = std::chrono::microseconds(1);
  if ((cli.resume || cli.retry_failed) && cli.journal.empty()) {
    throw std::invalid_argument(std::string(cli.resume ? "--resume" : "--retry-failed") + " needs --journal FILE");
  }
  for (const auto& q : cli.queues) o.queues.push_back(parse_queue_assignment(q, world_size));
  o.hierarchy = parse_hierarchy(cli.hierarchy);
  o.node_size = parse_node_size(cli.node_size, "--node-size");
  o.quiet = cli.quiet;
  o.progress = !cli.no_progress && !cli.quiet;
  return o;
}

std::unique_ptr<Journal> open_journal(const FarmCli& cli, JournalKey key) {
  if (cli.journal.empty()) return nullptr;
  JournalOptions o;
  o.path = cli.journal;
  o.resume = cli.resume || cli.retry_failed;
  o.retry_failed = cli.retry_failed;
  return std::make_unique<Journal>(std::move(o), std::move(key));
}

void write_stats_json(const FarmStats& stats, const std::string& path) {
  errno = 0;
  if (!runtime::write_json_file(path, stats.to_json())) {
    throw std::runtime_error("cannot write statistics file '" + path + "'" +
                             (errno ? std::string(": ") + std::strerror(errno) : std::string()));
  }
}

}  // namespace rankpool::farm
