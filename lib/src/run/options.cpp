#include "rankpool/run/options.hpp"

#include <boost/program_options.hpp>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "rankpool/farm/cli.hpp"

namespace po = boost::program_options;

#ifndef RANKPOOL_VERSION
#define RANKPOOL_VERSION "unknown"
#endif

namespace rankpool::run {

HaltPolicy parse_halt(const std::string& text) {
  HaltPolicy h;
  const std::string bad = "invalid --halt '" + text + "': expected never, now,fail=N, soon,fail=N or N%";
  if (text == "never" || text == "0") return h;
  const auto comma = text.find(',');
  if (comma == std::string::npos) throw std::invalid_argument(bad);
  const std::string when = text.substr(0, comma), cond = text.substr(comma + 1);
  if (when == "now")
    h.when = HaltPolicy::When::now;
  else if (when == "soon")
    h.when = HaltPolicy::When::soon;
  else
    throw std::invalid_argument(bad);
  if (cond.rfind("fail=", 0) != 0) {
    throw std::invalid_argument("invalid --halt '" + text + "': only fail=N and fail=N% are supported");
  }
  std::string n = cond.substr(5);
  const bool percent = !n.empty() && n.back() == '%';
  if (percent) n.pop_back();
  if (n.empty() || n.find_first_not_of("0123456789.") != std::string::npos) throw std::invalid_argument(bad);
  const double v = std::stod(n);
  if (percent) {
    if (!(v > 0 && v <= 100))
      throw std::invalid_argument("invalid --halt '" + text + "': the percentage must be in (0, 100]");
    h.percent = v;
  } else {
    if (v < 1 || v != std::floor(v))
      throw std::invalid_argument("invalid --halt '" + text + "': fail=N needs a whole N >= 1");
    h.failures = static_cast<std::uint64_t>(v);
  }
  return h;
}

std::optional<double> parse_deadline(const std::string& text, double now_unix) {
  const std::string bad = "invalid --deadline '" + text + "': expected +DURATION (+90m, +2h, +300s), @EPOCH or none";
  if (text == "none") return std::nullopt;
  if (text.size() < 2 || (text[0] != '+' && text[0] != '@')) throw std::invalid_argument(bad);
  std::string n = text.substr(1);
  double scale = 1;
  if (text[0] == '+' && !n.empty() && std::string("smhd").find(n.back()) != std::string::npos) {
    scale = n.back() == 's' ? 1 : n.back() == 'm' ? 60 : n.back() == 'h' ? 3600 : 86400;
    n.pop_back();
  }
  if (n.empty() || n.find_first_not_of("0123456789.") != std::string::npos) throw std::invalid_argument(bad);
  const double v = std::stod(n) * scale;
  return text[0] == '+' ? now_unix + v : v;
}

namespace {

struct Raw {
  std::string tasks, colsep, halt = "never", deadline, shell = "/bin/sh";
  int slots = 0, cpus = 0, gpus = 0;
  double timeout = 0, grace = 2, progress_interval = 0;
  bool line_buffer = false, group = false, no_output = false;
  bool help = false, version = false;
  // The options every farm-based app shares (rankpool/farm/cli.hpp): --retries, --journal,
  // --resume, --retry-failed, --stats-json, --no-progress, -q. Defaults that differ from the
  // farm's are set in describe().
  farm::FarmCli farm;
};

po::options_description describe(RunOptions& o, Raw& r) {
  // A failed command is final unless asked otherwise: GNU parallel's default, and a command
  // may not be safe to run twice (the farm's tasks default to 2 retries).
  r.farm.retries = 0;
  po::options_description in("Input");
  in.add_options()("tasks", po::value(&r.tasks),
                   "FILE ('-' = stdin): one shell command per line (blank lines and # comments "
                   "skipped); with a command template, one argument per line")(
      "colsep", po::value(&r.colsep), "REGEX: split each input line into columns {1} {2} ...")(
      "dry-run", po::bool_switch(&o.dry_run), "print the commands that would run, run nothing");
  po::options_description where("Placement");
  where.add_options()("slots,j", po::value(&r.slots),
                      "tasks at once per worker rank (default: SLURM_CPUS_PER_TASK / "
                      "--cpus-per-task, else 1); launch one rank per node with slots = cores")(
      "cpus-per-task", po::value(&r.cpus),
      "C: pin each task to C cores of its rank's CPU set and set OMP_NUM_THREADS=C")(
      "gpus-per-task", po::value(&r.gpus), "G: give each task G devices of its rank's CUDA_VISIBLE_DEVICES")(
      "shell", po::value(&r.shell)->default_value(r.shell), "run each task as SHELL -c COMMAND")(
      "hierarchy", po::value(&r.farm.hierarchy)->default_value(r.farm.hierarchy),
      "node relays: off (every rank talks to rank 0), on (one relay per node feeds the node's other ranks), "
      "automatic (on from 1024 worker ranks)")(
      "node-size", po::value(&r.farm.node_size)->default_value(r.farm.node_size)->value_name("K"),
      "ranks per node for --hierarchy: 0 the real nodes (or RANKPOOL_FARM_NODE_SIZE), K emulated nodes of K "
      "consecutive ranks from rank 1");
  po::options_description fail("Failures and limits");
  fail.add_options()("timeout", po::value(&r.timeout),
                     "seconds: SIGTERM a task's process group after this long, SIGKILL --grace later")(
      "grace", po::value(&r.grace)->default_value(r.grace),
      "seconds between SIGTERM and SIGKILL (timeouts, Ctrl-C, time limits)")(
      "halt", po::value(&r.halt)->default_value(r.halt),
      "now,fail=N|N% or soon,fail=N|N%: stop after failures (GNU parallel's meaning)")(
      "deadline", po::value(&r.deadline),
      "+DURATION or @EPOCH: start no task that would not end before it, by "
      "the runtimes so far (default: the Slurm job's end time, SLURM_JOB_END_TIME; 'none' for no deadline)");
  po::options_description out("Output and logs");
  out.add_options()("group", po::bool_switch(&r.group), "print each task's output whole when it ends (the default)")(
      "line-buffer", po::bool_switch(&r.line_buffer), "print output line by line as tasks write it")(
      "no-output", po::bool_switch(&r.no_output),
      "do not print tasks' output (--results / --output-jsonl still get it)")(
      "tag", po::bool_switch(&o.tag), "prefix each output line with the task's arguments and a tab")(
      "joblog", po::value(&o.joblog), "FILE: one line per task in GNU parallel's joblog format")(
      "results", po::value(&o.results_dir), "DIR: write DIR/<task/1000>/<task>.out and .err")(
      "output-jsonl", po::value(&o.output_jsonl), "FILE: one JSON record per task")(
      "max-output", po::value(&o.max_output)->default_value(o.max_output),
      "bytes of stdout and of stderr kept in each JSON record")(
      "progress-interval", po::value(&r.progress_interval), "seconds: a plain progress line this often (batch logs)")(
      "help,h", po::bool_switch(&r.help), "show this help")("version", po::bool_switch(&r.version),
                                                            "print the version (and the MPI library's) and exit");
  po::options_description all;
  all.add(in).add(where).add(fail).add(out).add(
      farm::farm_common_options(r.farm, "Farm options (as in every farm-based app)"));
  return all;
}

const char* kUsage =
    "usage: mpirun -n RANKS rankpool-run [options] --tasks FILE\n"
    "       mpirun -n RANKS rankpool-run [options] COMMAND-TEMPLATE ::: ARG... [:::: FILE]...\n"
    "       mpirun -n RANKS rankpool-run [options] --tasks FILE COMMAND-TEMPLATE\n"
    "Runs shell commands over the ranks (rank 0 schedules, the others run up to --slots each).\n"
    "Templates take GNU parallel's replacement strings: {} {.} {/} {//} {/.} {#} {%} {n} {n.} ...\n"
    "Exit status: 0 all tasks succeeded, 1 some failed, 2 bad usage or input, 3 stopped at the\n"
    "deadline with tasks left (--resume finishes them), 128+N stopped by signal N.\n";

/// Where the options end: the first word that is neither an option nor an option's value.
std::size_t options_end(const std::vector<std::string>& args, const po::options_description& d) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") return i;
    if (a.size() < 2 || a[0] != '-') return i;
    std::string name;
    bool inline_value = false;
    if (a.rfind("--", 0) == 0) {
      name = a.substr(2);
      if (const auto eq = name.find('='); eq != std::string::npos) {
        name.resize(eq);
        inline_value = true;
      }
    } else {
      name = a.substr(1, 1);
      inline_value = a.size() > 2;
    }
    const po::option_description* opt = nullptr;
    for (const auto& o : d.options()) {
      if (o->long_name() == name ||
          (name.size() == 1 && o->canonical_display_name(po::command_line_style::allow_dash_for_short) == "-" + name)) {
        opt = o.get();
        break;
      }
    }
    if (!opt) {
      // Let program_options name it.
      continue;
    }
    if (!inline_value && opt->semantic()->max_tokens() > 0) ++i;
  }
  return args.size();
}

}  // namespace

ParsedCommand parse_command_line(int argc, const char* const* argv) {
  ParsedCommand pc;
  RunOptions& o = pc.options;
  Raw r;
  const auto desc = describe(o, r);
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::size_t end = options_end(args, desc);
  std::vector<std::string> opts(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(end));
  std::vector<std::string> positional(args.begin() + static_cast<std::ptrdiff_t>(end), args.end());
  if (!positional.empty() && positional.front() == "--") positional.erase(positional.begin());
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(opts).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw std::invalid_argument(std::string(e.what()) + " (see --help)");
  }
  if (r.help) {
    std::ostringstream os;
    os << kUsage << "\n" << desc << "\n";
    pc.print = os.str();
    return pc;
  }
  if (r.version) {
    pc.print = std::string("rankpool-run ") + RANKPOOL_VERSION + "\n";
    pc.version = true;
    return pc;
  }
  o.command_line = split_command_line(positional);
  o.list.tasks_file = r.tasks;
  if (vm.count("colsep")) o.list.colsep = r.colsep;
  if (r.tasks.empty() && o.command_line.sources.empty()) {
    if (o.command_line.template_words.empty())
      throw std::invalid_argument(
          "nothing to run: give --tasks FILE or a command template with ::: arguments (see --help)");
    throw std::invalid_argument("the command template has no arguments: add ::: VALUES, :::: FILE or --tasks FILE");
  }
  if (vm.count("slots") && r.slots < 1)
    throw std::invalid_argument("invalid --slots " + std::to_string(r.slots) + ": must be at least 1");
  if (vm.count("cpus-per-task") && r.cpus < 1)
    throw std::invalid_argument("invalid --cpus-per-task " + std::to_string(r.cpus) + ": must be at least 1");
  if (vm.count("gpus-per-task") && r.gpus < 1)
    throw std::invalid_argument("invalid --gpus-per-task " + std::to_string(r.gpus) + ": must be at least 1");
  if (r.farm.retries < 0)
    throw std::invalid_argument("invalid --retries " + std::to_string(r.farm.retries) + ": must not be negative");
  if (!(r.timeout >= 0) || r.timeout > 1e7) throw std::invalid_argument("invalid --timeout: must be seconds >= 0");
  if (!(r.grace >= 0) || r.grace > 3600) throw std::invalid_argument("invalid --grace: must be seconds in [0, 3600]");
  if (!(r.progress_interval >= 0)) throw std::invalid_argument("invalid --progress-interval: must be seconds >= 0");
  if (r.line_buffer + r.group + r.no_output > 1)
    throw std::invalid_argument("--group, --line-buffer and --no-output exclude each other");
  if (r.shell.empty()) throw std::invalid_argument("invalid --shell: empty");
  o.journal = r.farm.journal;
  o.resume = r.farm.resume;
  o.retry_failed = r.farm.retry_failed;
  o.stats_json = r.farm.stats_json;
  o.quiet = r.farm.quiet;
  if (o.resume && o.journal.empty()) throw std::invalid_argument("--resume needs --journal FILE");
  // Stricter than the farm's apps, where --retry-failed alone implies --resume: kept as it was.
  if (o.retry_failed && !o.resume) throw std::invalid_argument("--retry-failed needs --resume");
  o.hierarchy = farm::parse_hierarchy(r.farm.hierarchy);
  o.node_size = farm::parse_node_size(r.farm.node_size, "--node-size");
  o.slots = r.slots;
  o.cpus_per_task = r.cpus;
  o.gpus_per_task = r.gpus;
  o.shell = r.shell;
  o.retries = r.farm.retries;
  o.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(r.timeout * 1000));
  o.grace = std::chrono::milliseconds(static_cast<std::int64_t>(r.grace * 1000));
  o.halt = parse_halt(r.halt);
  o.output = r.line_buffer ? OutputMode::line_buffer : r.no_output ? OutputMode::none : OutputMode::group;
  o.progress = !r.farm.no_progress && !o.quiet;
  o.progress_interval = o.quiet ? 0 : r.progress_interval;
  const double now = static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count()) /
                     1000.0;
  if (!r.deadline.empty()) {
    o.deadline_unix = parse_deadline(r.deadline, now);
  } else if (const char* end_time = std::getenv("SLURM_JOB_END_TIME"); end_time && *end_time) {
    // Slurm's own end of the job: the same as --deadline @END, so that the job's last minutes
    // do not start tasks that its time limit would kill.
    try {
      o.deadline_unix = parse_deadline(std::string("@") + end_time, now);
    } catch (const std::invalid_argument&) {
      throw std::invalid_argument(std::string("SLURM_JOB_END_TIME '") + end_time +
                                  "' is not a time (use --deadline to override)");
    }
  }
  return pc;
}

}  // namespace rankpool::run
