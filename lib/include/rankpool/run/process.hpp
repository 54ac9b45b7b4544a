#pragma once
// Running shell commands as child processes from an MPI rank, safely.
//
// An MPI rank must not fork(): Open MPI warns, and with RDMA-registered memory a forked
// child can corrupt the parent's transfers. So each rank forks one small *spawner* helper
// before MPI_Init (Spawner::start(), first thing in main). The helper is single-threaded,
// never touches MPI, and does every fork/exec for the rank. It talks to the rank over a
// socketpair: the rank sends a spawn request (argv, environment, CPU set, and the write ends
// of the task's stdout/stderr pipes as SCM_RIGHTS), the helper answers with the pid and
// later with the exit status. Each task runs in its own process group, with stdin from
// /dev/null and PR_SET_PDEATHSIG(SIGKILL) towards the helper. The helper is a child
// subreaper: what a task leaves behind is re-parented to it (and reaped by it). When the rank
// dies (even by SIGKILL) its end of the socket closes: the helper SIGKILLs every task's
// process group and every process re-parented to it, and exits, so no task outlives its rank
// (a process that left its task's process group *and* still has a parent of its own is the
// one thing out of reach).
//
// ProcessRunner (one per rank, after MPI_Init) owns an event-loop thread that reads every
// running task's stdout and stderr (poll(2)), so a task writing 100 MB or closing its output
// early never blocks anything, and enforces timeouts and cancellation: SIGTERM to the task's
// process group, SIGKILL after the grace period (children that outlived the task's shell
// included). run() is thread-safe and blocking: the farm's slot threads each call it.
//
// Failures of a task (non-zero exit, a signal, a missing program, a timeout) are values in
// ProcessResult, never exceptions.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rankpool::run {

/// The helper process. Start it before MPI_Init, in the main thread, before any other
/// thread exists. Move-only; the destructor (or shutdown()) tells the helper to kill what is
/// left and exit, and reaps it. The helper ignores SIGINT, SIGTERM, SIGHUP and SIGPIPE (sent
/// to the whole process group by terminals and launchers): only its socket controls it.
class Spawner {
 public:
  /// Forks the helper. Throws std::system_error if the socketpair or fork fails.
  static Spawner start();
  Spawner(Spawner&&) noexcept;
  Spawner& operator=(Spawner&&) noexcept;
  ~Spawner();
  /// Tells the helper to kill every task still running and exit; waits for it (the helper
  /// gives its killed children at most 2 s to be reaped). Idempotent; afterwards
  /// socket_fd() and helper_pid() are -1.
  void shutdown();
  int socket_fd() const { return fd_; }
  int helper_pid() const { return pid_; }

 private:
  Spawner(int fd, int pid) : fd_(fd), pid_(pid) {}
  int fd_ = -1;
  int pid_ = -1;
};

/// One command to run.
struct ProcessSpec {
  // argv[0] is looked up in PATH (of `env`; /bin:/usr/bin without one) when it has no '/'.
  // As in a shell, a program that cannot be started is a task that fails: exit status 127
  // (not found) or 126 (not executable, too long a command line), with a line such as
  // "rankpool-run: NAME: command not found" on the task's stderr.
  std::vector<std::string> argv;
  std::vector<std::string> env;  // the complete environment, "NAME=value"
  // CPU ids to pin the process to (sched_setaffinity); empty: inherit. A set that cannot be
  // applied fails the task with 126 and a message on its stderr.
  std::vector<int> cpus;
  // Empty: the directory the rank was in when the Spawner started (the helper's). One that
  // cannot be entered fails the task with 126 and a message on its stderr.
  std::string cwd;
  std::chrono::milliseconds timeout{0};   // 0: none. Otherwise SIGTERM to the process group when
                                          // it runs this long, SIGKILL `grace` later
  std::chrono::milliseconds grace{2000};  // between SIGTERM and SIGKILL, for timeouts, cancellation
                                          // and the leftovers of a task whose shell has exited
                                          // (after the SIGKILL, output pipes still open a second
                                          // later are closed and the task finishes anyway)
  std::size_t max_capture = SIZE_MAX;     // bytes of stdout and of stderr kept (each); the rest is
                                          // read and counted, never left in the pipe
  /// Optional: called from the event-loop thread with each chunk as it is read (stream 1 =
  /// stdout, 2 = stderr), for line-buffered passthrough. Captured output is kept as well.
  /// That thread serves every task: the callback must be quick and must not call the runner.
  /// If it throws, it is not called again for this task (the task itself goes on).
  std::function<void(int stream, std::string_view chunk)> on_output;
};

struct ProcessResult {
  int pid = 0;
  int exit_code = -1;                          // the exit status when the process exited, else -1
  int signal = 0;                              // the signal that ended it, else 0
  bool timed_out = false;                      // ended by the timeout
  bool cancelled = false;                      // ended by cancel_all() or the `cancel` flag
  std::string spawn_error;                     // non-empty when the process could not be started at all, or
                                               // the spawner helper died under it (exec failure is not that:
                                               // like a shell, it exits 127/126)
  std::string out, err;                        // captured output, at most max_capture bytes each
  std::uint64_t out_bytes = 0, err_bytes = 0;  // everything the task wrote
  double start_unix = 0;                       // wall-clock start, seconds since the epoch
  double seconds = 0;                          // from run() to the exit and the end of the output
  bool ok() const { return spawn_error.empty() && exit_code == 0 && signal == 0 && !timed_out && !cancelled; }
};

class ProcessRunner {
 public:
  /// Uses the spawner's socket: one runner per Spawner at a time, and the Spawner must outlive
  /// the runner. A Spawner already shut down gives a runner whose tasks all fail (spawn_error).
  explicit ProcessRunner(Spawner& spawner);
  /// Cancels what still runs (SIGKILL at once, no grace: those results are `cancelled`),
  /// waits for those tasks to end, joins the event-loop thread.
  ~ProcessRunner();
  ProcessRunner(const ProcessRunner&) = delete;
  ProcessRunner& operator=(const ProcessRunner&) = delete;

  /// Runs `spec` to completion and returns its result. Thread-safe; blocks the caller only.
  /// When `*cancel` becomes true (polled at least every 50 ms) the task is terminated like a
  /// timeout (SIGTERM, grace, SIGKILL) and reported `cancelled`.
  ProcessResult run(const ProcessSpec& spec, const std::atomic<bool>* cancel = nullptr);
  /// The same with a predicate, for a cancellation that is more than one flag (the farm's
  /// TaskContext::cancelled()). Called from the event-loop thread, at least every 50 ms while
  /// the task runs: it must be quick and thread-safe; if it throws, the task is cancelled.
  ProcessResult run(const ProcessSpec& spec, std::function<bool()> cancelled);

  /// Terminates every running task (SIGTERM, then SIGKILL after its grace): they return
  /// `cancelled`. Tasks started afterwards are not affected.
  void cancel_all();
  /// Tasks running now (from the start of their run() call to its result).
  int running() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rankpool::run
