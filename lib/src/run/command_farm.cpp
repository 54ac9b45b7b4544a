#include "rankpool/run/command_farm.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <boost/mpi/collectives.hpp>
#include <boost/serialization/vector.hpp>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "logs.hpp"
#include "placement.hpp"
#include "rankpool/farm/cli.hpp"
#include "rankpool/farm/context.hpp"
#include "rankpool/farm/farm.hpp"
#include "rankpool/farm/journal.hpp"
#include "rankpool/fnv1a.hpp"
#include "rankpool/runtime/agree.hpp"
#include "rankpool/runtime/host.hpp"
#include "rankpool/runtime/progress.hpp"
#include "record.hpp"

extern char** environ;

namespace mpi = boost::mpi;

namespace rankpool::run {

namespace {

constexpr const char* kTaskType = "command";

double now_unix() {
  return static_cast<double>(
             std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
                 .count()) /
         1e6;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/// Variables of the rank's environment that describe *this* MPI job to its own processes. A
/// task that is itself an MPI program (or calls mpirun) must not see them, or it would try to
/// join this job instead of starting its own.
bool is_mpi_job_variable(std::string_view name) {
  static constexpr std::string_view kPrefixes[] = {"PMIX_",
                                                   "PMI_",
                                                   "OMPI_COMM_WORLD_",
                                                   "OMPI_MCA_orte_",
                                                   "OMPI_MCA_ess",
                                                   "OMPI_MCA_pmix",
                                                   "OMPI_MCA_initial_wdir",
                                                   "OMPI_UNIVERSE_SIZE",
                                                   "OMPI_FILE_LOCATION",
                                                   "OMPI_NUM_APP_CTX",
                                                   "OMPI_FIRST_RANKS",
                                                   "OMPI_APP_CTX_NUM_PROCS",
                                                   "OMPI_ARGV",
                                                   "OMPI_COMMAND",
                                                   "OMPI_MCA_shmem_RUNTIME_QUERY_hint",
                                                   "OMPI_MCA_ompi_command",
                                                   "OMPI_MCA_ompi_argv",
                                                   "OMPI_MCA_mpi_oversubscribe",
                                                   "OMPI_MCA_rmaps_ppr_n_pernode",
                                                   "OMPI_MCA_orte_precondition_transports",
                                                   "IPATH_NO_BACKTRACE",
                                                   "HFI_NO_BACKTRACE"};
  for (auto p : kPrefixes)
    if (name.substr(0, p.size()) == p) return true;
  return false;
}

/// The environment every task starts from: the rank's, minus this job's MPI variables and the
/// variables rankpool sets per task.
std::vector<std::string> base_environment(bool sets_omp, bool sets_cuda) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    const auto name = kv.substr(0, kv.find('='));
    if (is_mpi_job_variable(name) || name.substr(0, 9) == "RANKPOOL_") continue;
    if (sets_omp && name == "OMP_NUM_THREADS") continue;
    if (sets_cuda && name == "CUDA_VISIBLE_DEVICES") continue;
    env.emplace_back(kv);
  }
  return env;
}

std::string join_cpus(const std::vector<int>& cpus) {
  std::string s;
  for (int c : cpus) s += (s.empty() ? "" : ",") + std::to_string(c);
  return s;
}

const char* signal_name(int sig) { return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal"; }

/// --line-buffer on the worker: complete lines of a task's output go to the master as farm
/// notes while it runs ([stream byte][seq][lines]); the last partial line when it ends.
class LineSender {
 public:
  LineSender(const farm::TaskContext& ctx, std::uint64_t seq) : ctx_(ctx), seq_(seq) {}
  /// From the runner's event-loop thread.
  void add(int stream, std::string_view chunk) {
    std::string& buf = pending_[stream == 2 ? 1 : 0];
    buf.append(chunk);
    const auto last = buf.rfind('\n');
    if (last == std::string::npos) return;
    send(stream, std::string_view(buf).substr(0, last + 1));
    buf.erase(0, last + 1);
  }
  void flush() {
    for (int s : {1, 2}) {
      std::string& buf = pending_[s - 1];
      if (!buf.empty()) send(s, buf);
      buf.clear();
    }
  }
  static void decode(std::string_view note, int& stream, std::uint64_t& seq, std::string_view& text) {
    if (note.size() < 1 + sizeof seq) throw std::runtime_error("short output note");
    stream = note[0];
    std::memcpy(&seq, note.data() + 1, sizeof seq);
    text = note.substr(1 + sizeof seq);
  }

 private:
  void send(int stream, std::string_view text) {
    std::string note(1, static_cast<char>(stream));
    note.append(reinterpret_cast<const char*>(&seq_), sizeof seq_);
    note.append(text);
    ctx_.note(note);
  }
  farm::TaskContext ctx_;  // a copy: the event-loop thread has no this_task()
  std::uint64_t seq_;
  std::string pending_[2];
};

/// A task ended by SIGTERM, SIGINT or SIGHUP while its rank is being stopped was stopped with
/// the run, not failed: Slurm's time limit and scancel signal every process of the job, tasks
/// included, at about the moment they signal the ranks, so the task may die before its rank
/// has noticed. Waits up to a second for the rank to notice (only for tasks so ended).
bool stopped_with_the_run(const ProcessResult& p, const farm::TaskContext& ctx) {
  if (p.signal != SIGTERM && p.signal != SIGINT && p.signal != SIGHUP) return false;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!ctx.cancelled() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return ctx.cancelled();
}

/// What a worker needs to run tasks: its runner, its slots' cores and devices, and the
/// options that shape each process.
struct WorkerSide {
  ProcessRunner& runner;
  const RunOptions& options;
  Placement placement;
  std::vector<std::string> env;
  std::string host;

  TaskResult run(const TaskInput& in) {
    const farm::TaskContext& ctx = farm::this_task();
    TaskResult r;
    r.seq = in.seq;
    r.attempt = in.attempt;
    r.rank = ctx.rank;
    r.slot = ctx.slot + 1;
    r.host = host;
    std::string command = in.command;
    if (command.find(kSlotMarker) != std::string::npos) {
      command = fill_slot(command, std::to_string(r.slot));
      r.command = command;
    }
    r.start_unix = now_unix();
    if (ctx.cancelled()) {  // the run is stopping: do not start anything new
      r.status = TaskStatus::not_started;
      return r;
    }
    const SlotPlan& plan = placement.plan.at(static_cast<std::size_t>(ctx.slot) % placement.plan.size());
    ProcessSpec spec;
    spec.argv = {options.shell, "-c", command};
    spec.env = env;
    spec.env.push_back("RANKPOOL_TASK=" + std::to_string(in.seq));
    spec.env.push_back("RANKPOOL_SLOT=" + std::to_string(r.slot));
    spec.env.push_back("RANKPOOL_RANK=" + std::to_string(ctx.rank));
    spec.env.push_back("RANKPOOL_HOST=" + host);
    spec.env.push_back("RANKPOOL_ATTEMPT=" + std::to_string(in.attempt));
    spec.env.push_back("RANKPOOL_NTASKS=" + std::to_string(in.ntasks));
    if (!plan.cpus.empty()) {
      spec.cpus = plan.cpus;
      spec.env.push_back("RANKPOOL_CPUS=" + join_cpus(plan.cpus));
      spec.env.push_back("OMP_NUM_THREADS=" + std::to_string(plan.cpus.size()));
    }
    if (!plan.gpus.empty()) {
      spec.env.push_back("CUDA_VISIBLE_DEVICES=" + plan.gpus);
      spec.env.push_back("RANKPOOL_GPUS=" + plan.gpus);
    }
    spec.timeout = options.timeout;
    spec.grace = options.grace;
    // Output goes to the master whole when it prints it or files it; for the JSON lines
    // alone, only what they keep. 1 GiB per stream bounds one message well under MPI's 2 GiB.
    const bool whole = options.output == OutputMode::group || !options.results_dir.empty();
    spec.max_capture = whole ? (std::size_t{1} << 30) : options.max_output;
    LineSender lines(ctx, in.seq);
    if (options.output == OutputMode::line_buffer) {
      spec.on_output = [&lines](int stream, std::string_view chunk) { lines.add(stream, chunk); };
    }
    ProcessResult p = runner.run(spec, [&ctx] { return ctx.cancelled(); });
    lines.flush();
    r.start_unix = p.start_unix > 0 ? p.start_unix : r.start_unix;
    r.seconds = p.seconds;
    r.exit_code = p.exit_code;
    r.signal = p.signal;
    r.out_bytes = p.out_bytes;
    r.err_bytes = p.err_bytes;
    r.out = std::move(p.out);
    r.err = std::move(p.err);
    if (!p.spawn_error.empty()) {
      r.status = TaskStatus::spawn_error;
      r.error = p.spawn_error;
    } else if (p.cancelled || stopped_with_the_run(p, ctx)) {
      r.status = TaskStatus::interrupted;
    } else if (p.timed_out) {
      r.status = TaskStatus::timeout;
    } else {
      r.status = p.exit_code == 0 && p.signal == 0 ? TaskStatus::ok : TaskStatus::failed;
    }
    if (r.status != TaskStatus::ok && r.status != TaskStatus::failed) r.exit_code = -1;  // parallel's "killed"
    return r;
  }
};

/// rankpool-run's progress figures on the runtime's progress line: live on a terminal,
/// a plain line every --progress-interval in a batch log.
class RunProgress {
 public:
  RunProgress(const RunOptions& o, bool master, std::uint64_t total)
      : line_(master && (o.progress || o.progress_interval > 0), std::chrono::milliseconds(200),
              std::chrono::milliseconds(std::llround(o.progress_interval * 1000)),
              o.progress && runtime::stderr_reaches_a_terminal()),
        total_(total) {}
  void update(std::uint64_t done, std::uint64_t running, std::uint64_t failed) {
    if (!line_.due()) return;
    const double elapsed = line_.elapsed_s();
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
    char eta[32] = "?";
    if (rate > 0 && total_ >= done) std::snprintf(eta, sizeof eta, "%.0fs", static_cast<double>(total_ - done) / rate);
    char text[256];
    std::snprintf(text, sizeof text, "rankpool-run: %llu/%llu done, %llu running, %llu failed, %.1f/s, ETA %s",
                  static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_),
                  static_cast<unsigned long long>(running), static_cast<unsigned long long>(failed), rate, eta);
    line_.draw(text);
  }
  void finish() { line_.finish(); }

 private:
  runtime::ProgressLine line_;
  std::uint64_t total_;
};

/// Raised in the master's body by --halt now: the farm stops every rank, which cancels the
/// running tasks.
struct HaltNow : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Everything rank 0 does with a finished task, in the order that keeps a resume exact:
/// output, joblog, JSON line, results files, and only then the journal.
class MasterSide {
 public:
  MasterSide(const RunOptions& o, const std::vector<TaskLine>& tasks) : o_(o), tasks_(tasks) {}

  /// Opens the journal and the logs; on --resume, returns the tasks still to run and trims the
  /// logs to the tasks the journal holds. Throws std::runtime_error / JournalError (one line).
  std::vector<std::size_t> open() {
    std::vector<bool> done(tasks_.size(), false);
    if (!o_.journal.empty()) {
      farm::JournalOptions jo;
      jo.path = o_.journal;
      jo.resume = o_.resume;
      jo.retry_failed = o_.retry_failed;
      // The key does not pin the list: each record carries its command's hash, checked below,
      // so a list that grew resumes and a list whose commands changed is refused by name.
      // `tasks` only bounds the task numbers a record may hold (32 bits, as the journal's).
      journal_ = std::make_unique<farm::Journal>(jo, farm::JournalKey{"rankpool-run", std::uint64_t{1} << 32, 0, "1"});
      for (const auto& rec : journal_->loaded()) {
        const std::uint64_t seq = std::uint64_t{rec.index} + 1;
        if (rec.index >= tasks_.size()) {
          throw std::runtime_error("journal '" + o_.journal + "' holds task " + std::to_string(seq) +
                                   " but the list has " + std::to_string(tasks_.size()) +
                                   " tasks: it belongs to another list (use a new journal)");
        }
        std::uint64_t h = 0;
        if (rec.data.size() == sizeof h) std::memcpy(&h, rec.data.data(), sizeof h);
        if (h != fnv1a(tasks_[rec.index].command)) {
          throw std::runtime_error("journal '" + o_.journal + "': task " + std::to_string(seq) + " is now '" +
                                   tasks_[rec.index].command +
                                   "', not the command the journal recorded: the list changed (use a new journal)");
        }
        if (rec.ok || !o_.retry_failed) {
          done[rec.index] = true;
          ++resumed_;
          if (!rec.ok) ++resumed_failed_;
        }
      }
      journal_->release_loaded();
    }
    const bool resuming = o_.resume;
    auto keep = [&](std::uint64_t seq) { return seq >= 1 && seq <= done.size() && done[seq - 1]; };
    if (!o_.joblog.empty()) {
      if (resuming) keep_records(o_.joblog, LogKind::joblog, keep);
      const bool fresh = !resuming || !std::filesystem::exists(o_.joblog) || std::filesystem::file_size(o_.joblog) == 0;
      joblog_ = AppendFile(o_.joblog, !resuming);
      if (fresh) joblog_.append(joblog_header());
    }
    if (!o_.output_jsonl.empty()) {
      if (resuming) keep_records(o_.output_jsonl, LogKind::jsonl, keep);
      jsonl_ = AppendFile(o_.output_jsonl, !resuming);
    }
    std::vector<std::size_t> todo;
    for (std::size_t i = 0; i < tasks_.size(); ++i)
      if (!done[i]) todo.push_back(i);
    return todo;
  }

  /// A finished attempt. Returns true when the task must run again (a retry).
  bool finish(TaskResult& r) {
    const std::string& command = r.command.empty() ? tasks_.at(r.seq - 1).command : r.command;
    if (r.status == TaskStatus::not_started) return false;
    if (r.status == TaskStatus::interrupted) {
      ++interrupted_;
      record(r, command);  // not journaled: --resume runs it again
      return false;
    }
    const bool failed = r.status != TaskStatus::ok;
    if (failed && r.attempt <= o_.retries && !halting_) {
      ++retried_;
      return true;
    }
    print(r);
    record(r, command);
    if (!o_.results_dir.empty()) {
      write_result_file(results_path(o_.results_dir, r.seq, "out"), r.out);
      write_result_file(results_path(o_.results_dir, r.seq, "err"), r.err);
    }
    if (journal_) {
      const std::uint64_t h = fnv1a(tasks_.at(r.seq - 1).command);
      std::string buf;
      farm::Journal::encode(buf, static_cast<std::uint32_t>(r.seq - 1), !failed, r.attempt, r.rank,
                            static_cast<float>(r.seconds),
                            std::string_view(reinterpret_cast<const char*>(&h), sizeof h));
      journal_->commit(buf, 1);
    }
    if (failed) {
      ++failed_;
      if (first_failure_.empty()) {
        first_failure_ = "task " + std::to_string(r.seq) + " (" + tasks_.at(r.seq - 1).origin + ") " + describe(r);
      }
    } else {
      ++ok_;
      ok_seconds_ += r.seconds;
    }
    check_halt();
    return false;
  }

  void close() {
    if (joblog_.is_open()) joblog_.sync();
    if (jsonl_.is_open()) jsonl_.sync();
    if (journal_) journal_->sync();
  }

  /// Tasks that succeeded / failed in this run.
  std::uint64_t ok() const { return ok_; }
  std::uint64_t failed() const { return failed_; }
  /// Failed tasks, the journal's included (they are still failed unless --retry-failed).
  std::uint64_t failed_in_list() const { return failed_ + resumed_failed_; }
  std::uint64_t interrupted() const { return interrupted_; }
  std::uint64_t retried() const { return retried_; }
  std::uint64_t resumed() const { return resumed_; }
  /// Tasks that ended in this run.
  std::uint64_t finished() const { return ok_ + failed_; }
  bool halt_now() const { return halting_ && o_.halt.when == HaltPolicy::When::now; }
  bool halting() const { return halting_; }
  const std::string& first_failure() const { return first_failure_; }
  /// Mean runtime of the tasks that succeeded, for the deadline.
  std::optional<double> mean_seconds() const {
    if (ok_ == 0) return std::nullopt;
    return ok_seconds_ / static_cast<double>(ok_);
  }

 private:
  static std::string describe(const TaskResult& r) {
    switch (r.status) {
      case TaskStatus::timeout:
        return "timed out after " + std::to_string(r.seconds) + " s";
      case TaskStatus::spawn_error:
        return "could not start: " + r.error;
      default:
        if (r.signal) return std::string("was killed by signal ") + std::to_string(r.signal);
        return "exited with status " + std::to_string(r.exit_code);
    }
  }

  void record(const TaskResult& r, const std::string& command) {
    if (joblog_.is_open()) joblog_.append(joblog_line(r, command));
    if (jsonl_.is_open()) jsonl_.append(jsonl_record(r, command, o_.max_output));
  }

 public:
  /// Writes a task's output to the master's stdout (stream 1) or stderr (2), with --tag's
  /// prefix on every line.
  void emit(std::uint64_t seq, int stream, std::string_view data) {
    FILE* f = stream == 2 ? stderr : stdout;
    if (data.empty()) return;
    if (!o_.tag) {
      std::fwrite(data.data(), 1, data.size(), f);
    } else {
      const std::string& tag = tasks_.at(seq - 1).tag;
      std::size_t pos = 0;
      while (pos < data.size()) {
        const std::size_t nl = data.find('\n', pos);
        const std::size_t end = nl == std::string::npos ? data.size() : nl + 1;
        std::fwrite(tag.data(), 1, tag.size(), f);
        std::fputc('\t', f);
        std::fwrite(data.data() + pos, 1, end - pos, f);
        if (nl == std::string::npos) std::fputc('\n', f);
        pos = end;
      }
    }
    std::fflush(f);
  }

 private:
  void print(const TaskResult& r) {
    if (o_.output != OutputMode::group) return;  // line_buffer: printed as it came
    emit(r.seq, 1, r.out);
    emit(r.seq, 2, r.err);
  }

  static void write_result_file(const std::string& path, const std::string& data) {
    // Not fsynced one by one (10^5 fsyncs would dominate the run); the journal is what a
    // resume trusts, and a rerun task rewrites its files.
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    AppendFile f(path, true);
    f.append(data);
  }

  void check_halt() {
    if (o_.halt.when == HaltPolicy::When::never || halting_ || failed_ == 0) return;
    bool hit = false;
    if (o_.halt.percent > 0) {
      hit =
          finished() >= 3 && 100.0 * static_cast<double>(failed_) / static_cast<double>(finished()) >= o_.halt.percent;
    } else {
      hit = failed_ >= o_.halt.failures;
    }
    if (hit) halting_ = true;
  }

  const RunOptions& o_;
  const std::vector<TaskLine>& tasks_;
  std::unique_ptr<farm::Journal> journal_;
  AppendFile joblog_, jsonl_;
  std::uint64_t ok_ = 0, failed_ = 0, interrupted_ = 0, retried_ = 0, resumed_ = 0, resumed_failed_ = 0;
  double ok_seconds_ = 0;
  bool halting_ = false;
  std::string first_failure_;
};

std::string read_all(std::istream& in) { return std::string(std::istreambuf_iterator<char>(in), {}); }

bool reads_stdin(const RunOptions& o) {
  if (o.list.tasks_file == "-") return true;
  for (const auto& s : o.command_line.sources)
    if (s.kind == ArgSource::Kind::file && s.path == "-") return true;
  return false;
}

/// Every rank learns whether any rank failed to set up (runtime::agree_on_error); rank 0
/// says which and why.
bool agree_on_error(const mpi::communicator& comm, const std::string& mine) {
  const Status all = runtime::agree_on_error(comm, mine.empty() ? Status{} : Status::error(mine));
  if (!all.ok() && comm.rank() == 0) std::fprintf(stderr, "rankpool-run: %s\n", all.message().c_str());
  return !all.ok();
}

}  // namespace

int run_commands(const mpi::communicator& comm, ProcessRunner& runner, const RunOptions& o,
                 const std::atomic<int>* interrupt, std::istream& input) {
  const bool master = comm.rank() == 0;

  // 1. The task list, on rank 0.
  std::vector<TaskLine> tasks;
  std::string error;
  if (master) {
    try {
      TaskListOptions lo = o.list;
      if (reads_stdin(o)) lo.stdin_text = read_all(input);
      tasks = build_task_list(o.command_line, lo);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  if (agree_on_error(comm, error)) return kExitUsage;
  if (o.dry_run) {
    if (master) {
      for (const auto& t : tasks) std::printf("%s\n", fill_slot(t.command, "1").c_str());
      std::fflush(stdout);
    }
    return kExitOk;
  }

  // 2. Each rank's slots, cores and devices (a single rank runs the tasks itself).
  WorkerSide worker{runner, o, {}, {}, runtime::host_name()};
  worker.placement = plan_placement(o.slots, o.cpus_per_task, o.gpus_per_task, process_cpus(),
                                    std::getenv("SLURM_CPUS_PER_TASK"), std::getenv("CUDA_VISIBLE_DEVICES"));
  worker.env = base_environment(o.cpus_per_task > 0, o.gpus_per_task > 0);
  if (agree_on_error(comm, worker.placement.error)) return kExitUsage;

  // 3. The journal and the logs, on rank 0.
  std::unique_ptr<MasterSide> side;
  std::vector<std::size_t> todo;
  if (master) {
    side = std::make_unique<MasterSide>(o, tasks);
    try {
      todo = side->open();
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  if (agree_on_error(comm, error)) return kExitUsage;

  // 4. The farm.
  farm::Registry registry;
  farm::TaskTypeOptions type_options;
  type_options.time_each = true;  // tasks are processes: two clock reads are nothing
  const auto command_task = registry.add(
      kTaskType, [&worker](const TaskInput& in) { return worker.run(in); }, type_options);
  farm::FarmOptions fo;
  fo.slots = worker.placement.slots;
  fo.hierarchy = o.hierarchy;
  fo.node_size = o.node_size;
  fo.max_retries = 0;  // retries are ours: a failed command is a value, retried on another rank
  fo.interrupt = interrupt;
  // Running tasks get SIGTERM, then SIGKILL after the grace: their "interrupted" results must
  // still reach the master and its logs.
  fo.interrupt_grace = o.grace + std::chrono::milliseconds(1500);
  fo.progress = false;
  fo.quiet = true;
  // Tasks are processes (a millisecond at the very least) and each slot holds a prefetched
  // one: an idle rank may sleep up to 1 ms between polls instead of 0.2 ms, which keeps the
  // master's CPU per task low without delaying any task.
  fo.max_idle_sleep = std::chrono::microseconds(1000);
  if (o.output == OutputMode::line_buffer) {
    fo.on_note = [&side](int, std::string_view note) {
      int stream = 1;
      std::uint64_t seq = 0;
      std::string_view text;
      LineSender::decode(note, stream, seq, text);
      if (side && seq >= 1) side->emit(seq, stream, text);
    };
  }
  farm::Farm farm(comm, registry, fo);

  bool deadline_hit = false;
  std::uint64_t not_started = 0;
  RunProgress progress(o, master, master ? todo.size() : 0);
  // The summary's time and the master's CPU cover the run of the tasks (the list is built and
  // the ranks have met by now): the rate a long list sees.
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  const farm::RunStatus status = farm.run([&](farm::Master& m) {
    // A window of tasks in the farm, refilled as they end: enough to keep every slot busy and
    // batches full, without holding 10^6 submitted tasks.
    // With a deadline, no more than the slots: a task is submitted when it can start, so the
    // decision "it would end in time" is made at its start, not minutes before.
    const std::size_t slots = static_cast<std::size_t>(m.total_slots());
    const std::size_t window = o.deadline_unix ? slots : std::max<std::size_t>(64, 8 * slots);
    std::deque<TaskInput> again;  // retries, submitted from here (never from inside a callback)
    std::unordered_map<std::uint64_t, int> last_rank;
    std::size_t next = 0;
    auto submit = [&](TaskInput in, int avoid_rank) {
      farm::SubmitOptions so;
      so.avoid_rank = avoid_rank;
      m.submit(
          command_task, std::move(in),
          [&](farm::Outcome<TaskResult>& oc) {
            TaskResult r;
            if (oc.value) {
              r = std::move(*oc.value);
            } else {  // the task function itself failed: a broken invariant, reported as a failure
              r.status = TaskStatus::failed;
              r.error = oc.error;
              r.rank = oc.rank;
            }
            if (side->finish(r)) {
              TaskInput retry{r.seq, r.attempt + 1, tasks.size(), tasks.at(r.seq - 1).command};
              last_rank[r.seq] = r.rank;
              again.push_back(std::move(retry));
            }
          },
          so);
    };
    for (;;) {
      if (side->halt_now()) throw HaltNow("halting now: " + side->first_failure());
      while (!again.empty() && !side->halting()) {
        TaskInput in = std::move(again.front());
        again.pop_front();
        submit(std::move(in), last_rank[in.seq]);
      }
      while (!side->halting() && !deadline_hit && m.pending() < window && next < todo.size()) {
        if (o.deadline_unix) {
          const auto mean = side->mean_seconds();
          if (now_unix() + mean.value_or(0.0) > *o.deadline_unix) {
            deadline_hit = true;
            break;
          }
        }
        const TaskLine& t = tasks[todo[next++]];
        submit(TaskInput{t.seq, 1, tasks.size(), t.command}, -1);
      }
      if (m.pending() == 0) break;
      m.wait_any();
      // In flight beyond the slots are queued on the workers, not running.
      progress.update(side->finished(), std::min<std::uint64_t>(m.pending(), slots), side->failed());
    }
    not_started = todo.size() - next;
  });
  if (master) {
    progress.finish();
    side->close();
  }

  // 5. The outcome, the same on every rank.
  int code;
  if (status.signal) {
    code = 128 + status.signal;  // no collective after an interrupt (see farm.hpp)
    if (master && !o.quiet) {
      std::fprintf(
          stderr,
          "rankpool-run: stopped by %s: %llu tasks done, %llu interrupted and %llu not started; "
          "--resume runs them\n",
          signal_name(status.signal), static_cast<unsigned long long>(side->finished() + side->resumed()),
          static_cast<unsigned long long>(side->interrupted()),
          static_cast<unsigned long long>(tasks.size() - side->finished() - side->resumed() - side->interrupted()));
    }
    return code;
  }
  std::string message;
  if (master) {
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    const std::uint64_t ran = side->finished();
    if (!status.error.empty() && !side->halting()) {
      message = status.error;
      code = kExitUsage;
    } else if (side->halting()) {
      message = std::string("halted (") + (o.halt.when == HaltPolicy::When::now ? "now" : "soon") + ") after " +
                std::to_string(side->failed()) + " failed: " + side->first_failure();
      code = kExitFailed;
    } else if (deadline_hit) {
      message = "deadline: " + std::to_string(not_started) + " tasks not started, they would not end in time; " +
                "--resume runs them";
      code = kExitDeadline;
    } else {
      code = side->failed_in_list() ? kExitFailed : kExitOk;
    }
    if (!message.empty()) std::fprintf(stderr, "rankpool-run: %s\n", message.c_str());
    if (!o.quiet) {
      // The ranks that ran tasks: not rank 0 (unless alone), not the relays (they only pass batches on).
      const std::size_t relays = farm.relay_ranks().size();
      const std::size_t workers = comm.size() == 1 ? 1 : static_cast<std::size_t>(comm.size() - 1) - relays;
      const std::string through =
          relays ? " (through " + std::to_string(relays) + " relay" + (relays == 1 ? ")" : "s)") : "";
      std::fprintf(
          stderr,
          "rankpool-run: %llu tasks in %.2f s (%.1f/s) on %zu worker rank%s × %d slot%s%s: %llu succeeded, %llu failed"
          "%s%s; master CPU %.3f s (%.3f s per 1000 tasks)\n",
          static_cast<unsigned long long>(ran), wall, wall > 0 ? static_cast<double>(ran) / wall : 0.0, workers,
          workers == 1 ? "" : "s", worker.placement.slots, worker.placement.slots == 1 ? "" : "s", through.c_str(),
          static_cast<unsigned long long>(side->ok()), static_cast<unsigned long long>(side->failed()),
          side->resumed() ? (", " + std::to_string(side->resumed()) + " from the journal").c_str() : "",
          side->retried() ? (", " + std::to_string(side->retried()) + " retries").c_str() : "", cpu,
          ran ? cpu * 1000.0 / static_cast<double>(ran) : 0.0);
      if (side->failed_in_list() && !o.joblog.empty()) {
        std::fprintf(stderr, "rankpool-run: the joblog %s lists the failed tasks (Exitval/Signal not 0)\n",
                     o.joblog.c_str());
      }
    }
    if (!o.stats_json.empty()) {
      try {
        farm::write_stats_json(farm.stats(), o.stats_json);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "rankpool-run: %s\n", e.what());
        if (code == kExitOk) code = kExitUsage;
      }
    }
  }
  mpi::broadcast(comm, code, 0);
  return code;
}

}  // namespace rankpool::run
