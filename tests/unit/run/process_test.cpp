// The process runner and its spawner helper, with real processes: exit statuses, output
// capture, leftovers that hold a pipe, timeouts and cancellation of whole process groups,
// the environment, CPU pinning, concurrency, and the helper's cleanup when its rank dies.
//
// Timing appears as bounds with generous slack for a loaded 2-core machine under ASan; what
// is asserted is what a user sees (results, files the tasks wrote, which processes exist).
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "rankpool/run/process.hpp"

extern char** environ;

using namespace rankpool::run;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> current_env() {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  return env;
}

ProcessSpec shell(const std::string& cmd) {
  ProcessSpec s;
  s.argv = {"/bin/sh", "-c", cmd};
  s.env = current_env();
  return s;
}

bool gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// Makes this test process the reaper of orphans for a while: a test that kills a helper (or
// a rank) must reap what is re-parented, as init in a container may never do it.
class ScopedSubreaper {
 public:
  ScopedSubreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
  ~ScopedSubreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 0); }
};

// Reaps `pid`, an orphan re-parented (or about to be) to this process, once it has exited;
// false if it has not gone within `limit`.
bool reap_within(pid_t pid, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  // waitpid fails (ECHILD) until the dying parent has handed its children over.
  while (::waitpid(pid, nullptr, WNOHANG) != pid && !gone(pid)) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// Waits until `pid` no longer exists (not even as a zombie); false after `limit`.
bool wait_gone(pid_t pid, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  while (!gone(pid)) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::vector<pid_t> read_pids(const fs::path& p) {
  std::vector<pid_t> pids;
  std::ifstream in(p);
  for (pid_t pid; in >> pid;) pids.push_back(pid);
  return pids;
}

// Waits until the file holds `n` pids (a task writes them as it starts).
std::vector<pid_t> wait_pids(const fs::path& p, std::size_t n, std::chrono::milliseconds limit = 10s) {
  const auto end = Clock::now() + limit;
  for (;;) {
    auto pids = read_pids(p);
    if (pids.size() >= n || Clock::now() > end) return pids;
    std::this_thread::sleep_for(5ms);
  }
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "rankpool-process-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

class ProcessTest : public ::testing::Test {
 protected:
  Spawner spawner_ = Spawner::start();
  ProcessRunner runner_{spawner_};
  TempDir dir_;
  fs::path file(const std::string& name) const { return dir_.path() / name; }
};

TEST_F(ProcessTest, ExitCodes) {
  const double before = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto r = runner_.run(shell("exit 0"));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.signal, 0);
  EXPECT_GT(r.pid, 0);
  EXPECT_TRUE(r.spawn_error.empty());
  EXPECT_GE(r.start_unix, before - 1);
  EXPECT_LE(r.start_unix, before + 60);
  EXPECT_GT(r.seconds, 0);
  EXPECT_LT(r.seconds, 30);

  r = runner_.run(shell("exit 3"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.cancelled);
  EXPECT_EQ(runner_.running(), 0);
}

TEST_F(ProcessTest, KilledBySignal) {
  auto r = runner_.run(shell("kill -9 $$"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.cancelled);
}

TEST_F(ProcessTest, MissingProgramExits127WithAMessage) {
  ProcessSpec s;
  s.argv = {"rankpool-no-such-program", "x"};
  s.env = current_env();
  auto r = runner_.run(s);
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_TRUE(r.spawn_error.empty());  // like a shell: the task ran and failed
  EXPECT_EQ(r.err, "rankpool-run: rankpool-no-such-program: command not found\n");

  s.argv = {"/nonexistent/rankpool-prog"};
  r = runner_.run(s);
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_EQ(r.err, "rankpool-run: /nonexistent/rankpool-prog: No such file or directory\n");

  // Through the shell, the shell reports it.
  r = runner_.run(shell("rankpool-no-such-program"));
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("rankpool-no-such-program"), std::string::npos) << r.err;
}

TEST_F(ProcessTest, NotExecutableExits126) {
  const auto script = file("plain");
  std::ofstream(script) << "#!/bin/sh\necho never\n";
  fs::permissions(script, fs::perms::owner_read | fs::perms::owner_write);  // no x bit: EACCES even for root
  ProcessSpec s;
  s.argv = {script.string()};
  s.env = current_env();
  auto r = runner_.run(s);
  EXPECT_EQ(r.exit_code, 126);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "rankpool-run: " + script.string() + ": Permission denied\n");

  // Found by the PATH search but not executable: 126 too, not "not found".
  s.argv = {"plain"};
  s.env = {"PATH=/nonexistent:" + dir_.path().string()};
  r = runner_.run(s);
  EXPECT_EQ(r.exit_code, 126);
  EXPECT_EQ(r.err, "rankpool-run: plain: Permission denied\n");

  r = runner_.run(shell("'" + script.string() + "'"));
  EXPECT_EQ(r.exit_code, 126);
}

TEST_F(ProcessTest, PathOfTheTaskEnvironmentIsSearched) {
  const auto tool = file("rankpool-tool");
  std::ofstream(tool) << "#!/bin/sh\necho \"tool $1\"\n";
  fs::permissions(tool, fs::perms::owner_all);
  // A script without a #! line runs through /bin/sh, as with execvp and every shell.
  const auto bare = file("rankpool-bare");
  std::ofstream(bare) << "echo \"bare $1\"\n";
  fs::permissions(bare, fs::perms::owner_all);

  ProcessSpec s;
  s.env = {"PATH=/nonexistent::" + dir_.path().string()};  // the empty element is the cwd: not there
  s.argv = {"rankpool-tool", "a"};
  auto r = runner_.run(s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "tool a\n");
  s.argv = {"rankpool-bare", "b"};
  r = runner_.run(s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "bare b\n");

  // The rank's own PATH is not used.
  s.env = {"PATH=/nonexistent"};
  s.argv = {"sh", "-c", "exit 0"};
  r = runner_.run(s);
  EXPECT_EQ(r.exit_code, 127);
}

TEST_F(ProcessTest, HundredMegabytesAreCountedAndCaptureIsCapped) {
  auto s = shell("head -c 100000000 /dev/zero; head -c 3000000 /dev/zero >&2");
  s.max_capture = 1000;
  const auto r = runner_.run(s);
  EXPECT_TRUE(r.ok()) << r.err;
  EXPECT_EQ(r.out_bytes, 100'000'000u);
  EXPECT_EQ(r.err_bytes, 3'000'000u);
  EXPECT_EQ(r.out, std::string(1000, '\0'));
  EXPECT_EQ(r.err, std::string(1000, '\0'));
}

TEST_F(ProcessTest, BinaryOutputIsCapturedExactly) {
  const auto r = runner_.run(shell(R"(printf 'a\000b\000\377\n\000')"));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.out, std::string("a\0b\0\xff\n\0", 7));
  EXPECT_EQ(r.out_bytes, 7u);
}

TEST_F(ProcessTest, StdoutAndStderrAreKeptApart) {
  const auto r = runner_.run(shell("echo out1; echo err1 >&2; echo out2; echo err2 >&2"));
  EXPECT_EQ(r.out, "out1\nout2\n");
  EXPECT_EQ(r.err, "err1\nerr2\n");
  EXPECT_EQ(r.out_bytes, 10u);
  EXPECT_EQ(r.err_bytes, 10u);
}

TEST_F(ProcessTest, StdinIsDevNull) {
  const auto r = runner_.run(shell("cat; readlink /proc/self/fd/0"));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.out, "/dev/null\n");
}

TEST_F(ProcessTest, OnlyStdioIsOpenInTheTask) {
  // The rank's descriptors (the spawner socket, other tasks' pipes) must not leak into tasks.
  const auto r = runner_.run(shell("ls /proc/self/fd"));  // ls itself opens one for the listing
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.out, "0\n1\n2\n3\n");
}

TEST_F(ProcessTest, OnOutputSeesEverything) {
  std::string expected;
  for (int i = 1; i <= 20000; ++i) expected += std::to_string(i) + "\n";
  std::string streamed_out, streamed_err;
  auto s = shell("seq 1 20000; echo done >&2");
  s.max_capture = 10;
  s.on_output = [&](int stream, std::string_view chunk) { (stream == 1 ? streamed_out : streamed_err).append(chunk); };
  const auto r = runner_.run(s);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(streamed_out, expected);
  EXPECT_EQ(streamed_err, "done\n");
  EXPECT_EQ(r.out, expected.substr(0, 10));  // captured as well, up to max_capture
  EXPECT_EQ(r.out_bytes, expected.size());
}

TEST_F(ProcessTest, AThrowingOnOutputDoesNotStopTheRunner) {
  int calls = 0;
  auto s = shell("echo a; sleep 0.05; echo b");
  s.on_output = [&](int, std::string_view) {
    ++calls;
    throw std::runtime_error("callback failed");
  };
  auto r = runner_.run(s);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(calls, 1);  // not called again after it threw
  EXPECT_EQ(r.out, "a\nb\n");
  r = runner_.run(shell("echo again"));
  EXPECT_EQ(r.out, "again\n");
}

TEST_F(ProcessTest, LeftoverChildHoldingStdoutIsTerminated) {
  const auto pidfile = file("pid");
  auto s = shell("sleep 100 & echo $! > '" + pidfile.string() + "'; echo main; exit 4");
  s.grace = 500ms;
  const auto r = runner_.run(s);
  EXPECT_EQ(r.exit_code, 4);  // the task's own status, not the leftover's
  EXPECT_EQ(r.out, "main\n");
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.cancelled);
  EXPECT_LT(r.seconds, 0.5 + 1.5);
  const auto pids = read_pids(pidfile);
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_TRUE(wait_gone(pids[0], 2s)) << "leftover " << pids[0] << " still exists";
}

TEST_F(ProcessTest, LeftoverIgnoringSigtermIsKilledAfterGrace) {
  const auto pidfile = file("pid");
  // The task exits once the leftover has its SIGTERM ignored (it writes the pid file after that).
  const std::string f = pidfile.string();  // mkdtemp's name: no characters a shell would interpret
  auto s = shell("sh -c 'trap \"\" TERM; echo $$ > " + f + ".tmp; mv " + f + ".tmp " + f + "; exec sleep 100' & " +
                 "while [ ! -s " + f + " ]; do sleep 0.01; done; exit 0");
  s.grace = 300ms;
  const auto r = runner_.run(s);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_GE(r.seconds, 0.3);
  EXPECT_LT(r.seconds, 0.3 + 1.5);
  const auto pids = read_pids(pidfile);
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_TRUE(wait_gone(pids[0], 2s));
}

TEST_F(ProcessTest, LeftoverOutsideTheGroupDoesNotHoldTheTaskForEver) {
  // setsid puts the leftover out of reach of the group's signals: after SIGKILL to the group
  // the runner waits about a second for EOF, then closes the pipes and finishes anyway.
  const auto pidfile = file("pid");
  // The task waits for the pid file: then the leftover has left the group before the task exits.
  const std::string f = pidfile.string();  // mkdtemp's name: no characters a shell would interpret
  auto s = shell("setsid sh -c 'echo $$ > " + f + ".tmp; mv " + f + ".tmp " + f + "; exec sleep 100' & " +
                 "while [ ! -s " + f + " ]; do sleep 0.01; done; exit 2");
  s.grace = 200ms;
  const auto r = runner_.run(s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_GE(r.seconds, 0.2 + 0.9);
  EXPECT_LT(r.seconds, 0.2 + 3);
  const auto pids = read_pids(pidfile);
  ASSERT_EQ(pids.size(), 1u);
  ::kill(pids[0], SIGKILL);
}

TEST_F(ProcessTest, ClosingStdoutEarlyDoesNotEndTheTask) {
  const auto r = runner_.run(shell("echo before; exec >&- 2>&-; sleep 0.3; exit 5"));
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(r.out, "before\n");
  EXPECT_GE(r.seconds, 0.3);
  EXPECT_FALSE(r.timed_out);
}

TEST_F(ProcessTest, TimeoutKillsTheWholeProcessGroup) {
  const auto pidfile = file("pids");
  const std::string f = "'" + pidfile.string() + "'";
  auto s = shell("sleep 100 & echo $! >> " + f + "; sleep 100 & echo $! >> " + f + "; echo $$ >> " + f + "; wait");
  s.timeout = 300ms;
  s.grace = 2000ms;
  const auto r = runner_.run(s);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.cancelled);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_GE(r.seconds, 0.3);
  EXPECT_LT(r.seconds, 2.0);  // SIGTERM sufficed: no wait for the grace period
  const auto pids = read_pids(pidfile);
  ASSERT_EQ(pids.size(), 3u);
  for (pid_t pid : pids) EXPECT_TRUE(wait_gone(pid, 2s)) << "process " << pid << " survived the timeout";
}

TEST_F(ProcessTest, TimeoutEscalatesToSigkill) {
  auto s = shell("trap '' TERM; sleep 100");
  s.timeout = 200ms;
  s.grace = 300ms;
  const auto r = runner_.run(s);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_GE(r.seconds, 0.5);
  EXPECT_LT(r.seconds, 0.5 + 2);
}

TEST_F(ProcessTest, TimeoutEndsAStoppedTask) {
  auto s = shell("kill -STOP $$; sleep 100");
  s.timeout = 200ms;
  s.grace = 5000ms;  // SIGCONT after SIGTERM: the stopped shell dies without waiting for SIGKILL
  const auto r = runner_.run(s);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_LT(r.seconds, 3.0);
}

TEST_F(ProcessTest, CancelAllEndsRunningTasksOnly) {
  const auto pidfile = file("pid");
  ProcessResult r;
  std::thread t([&] {
    auto s = shell("echo $$ > '" + pidfile.string() + "'; exec sleep 100");
    r = runner_.run(s);
  });
  const auto pids = wait_pids(pidfile, 1);
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_EQ(runner_.running(), 1);
  runner_.cancel_all();
  t.join();
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_LT(r.seconds, 30);
  EXPECT_TRUE(wait_gone(pids[0], 2s));
  EXPECT_EQ(runner_.running(), 0);

  const auto after = runner_.run(shell("sleep 0.1; exit 0"));
  EXPECT_TRUE(after.ok());
  EXPECT_FALSE(after.cancelled);
}

TEST_F(ProcessTest, CancelFlagEndsTheTask) {
  std::atomic<bool> cancel{false};
  std::thread setter([&] {
    std::this_thread::sleep_for(300ms);
    cancel = true;
  });
  auto s = shell("trap '' TERM; sleep 100");  // also checks the escalation for cancellation
  s.grace = 200ms;
  const auto start = Clock::now();
  const auto r = runner_.run(s, &cancel);
  const auto took = Clock::now() - start;
  setter.join();
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_GE(took, 500ms);
  EXPECT_LT(took, 300ms + 50ms + 200ms + 1500ms);

  // A flag that is already set cancels at once; an unset one changes nothing.
  std::atomic<bool> unset{false};
  EXPECT_TRUE(runner_.run(shell("exit 0"), &unset).ok());
  // The SIGTERM comes as soon as the pid is known, while the new process may still be setting
  // itself up: it must take effect all the same, not wait for the grace period's SIGKILL.
  auto quick = shell("sleep 100");
  quick.grace = 20s;
  for (int i = 0; i < 20; ++i) {
    const auto r2 = runner_.run(quick, &cancel);
    EXPECT_TRUE(r2.cancelled);
    EXPECT_EQ(r2.signal, SIGTERM);
    EXPECT_LT(r2.seconds, 10.0);
  }
}

TEST_F(ProcessTest, CancelPredicateEndsTheTask) {
  std::atomic<int> calls{0};
  const auto start = Clock::now();
  auto r = runner_.run(shell("sleep 100"), [&] { return ++calls, Clock::now() - start > 300ms; });
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_GE(r.seconds, 0.3);
  EXPECT_LT(r.seconds, 5.0);
  EXPECT_GE(calls.load(), 300 / 50);  // asked at least every 50 ms

  r = runner_.run(shell("sleep 100"), []() -> bool { throw std::runtime_error("cannot tell"); });
  EXPECT_TRUE(r.cancelled);
  EXPECT_TRUE(runner_.run(shell("exit 0"), [] { return false; }).ok());
}

TEST_F(ProcessTest, EnvironmentAndWorkingDirectory) {
  ProcessSpec s;
  s.argv = {"/bin/sh", "-c", "printf '%s|%s|%s' \"$RANKPOOL_A\" \"$RANKPOOL_B\" \"$(pwd)\"; env | grep -c ^RANKPOOL_"};
  s.env = {"RANKPOOL_A=one two", "RANKPOOL_B=", "PATH=/usr/bin:/bin"};
  s.cwd = dir_.path().string();
  auto r = runner_.run(s);
  EXPECT_TRUE(r.ok()) << r.err;
  EXPECT_EQ(r.out, "one two||" + fs::canonical(dir_.path()).string() + "2\n");

  s.cwd = (dir_.path() / "missing").string();
  r = runner_.run(s);
  EXPECT_EQ(r.exit_code, 126);
  EXPECT_NE(r.err.find("cannot change directory"), std::string::npos) << r.err;
}

TEST_F(ProcessTest, LongEnvironmentAndCommandLine) {
  // About 1 MiB in all: many packets of the protocol, well within execve's 2 MiB.
  auto s = shell("printf '%s' \"$RANKPOOL_V399\" | wc -c; printf '%s' \"$1\" | wc -c");
  s.argv.push_back("argv0");
  s.argv.push_back(std::string(100'000, 'x'));
  for (int i = 0; i < 400; ++i)
    s.env.push_back("RANKPOOL_V" + std::to_string(i) + "=" + std::string(2000, 'a' + i % 26));
  const auto r = runner_.run(s);
  EXPECT_TRUE(r.ok()) << r.err;
  EXPECT_EQ(r.out, "2000\n100000\n");

  // Beyond what execve accepts (one string over MAX_ARG_STRLEN, 128 KiB, whatever the stack
  // limit): the task fails like a shell's would, and the runner goes on.
  auto big = shell("exit 0");
  big.env.push_back("RANKPOOL_W=" + std::string(200'000, 'w'));
  const auto too_big = runner_.run(big);
  EXPECT_EQ(too_big.exit_code, 126);
  EXPECT_NE(too_big.err.find("Argument list too long"), std::string::npos) << too_big.err;
  EXPECT_TRUE(runner_.run(shell("exit 0")).ok());
}

TEST_F(ProcessTest, CpuPinning) {
  cpu_set_t mine;
  ASSERT_EQ(::sched_getaffinity(0, sizeof mine, &mine), 0);
  int last = -1;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &mine)) last = c;
  ASSERT_GE(last, 0);
  auto s = shell("grep Cpus_allowed_list /proc/self/status");
  s.cpus = {last};
  auto r = runner_.run(s);
  EXPECT_TRUE(r.ok()) << r.err;
  EXPECT_EQ(r.out, "Cpus_allowed_list:\t" + std::to_string(last) + "\n");

  // Not pinned: the rank's own set.
  s.cpus.clear();
  r = runner_.run(s);
  const auto all = r.out;
  if (CPU_COUNT(&mine) > 1) {
    EXPECT_NE(all, "Cpus_allowed_list:\t" + std::to_string(last) + "\n");
  }

  s.cpus = {4000};  // no such CPU: the task cannot run as asked
  r = runner_.run(s);
  EXPECT_EQ(r.exit_code, 126);
  EXPECT_NE(r.err.find("sched_setaffinity"), std::string::npos) << r.err;
}

TEST_F(ProcessTest, ManyThreadsAtOnce) {
  constexpr int kThreads = 8, kTasks = 50;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  std::set<int> pids;
  std::mutex pids_m;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kTasks; ++i) {
        const int n = t * 1000 + i;
        const auto r = runner_.run(shell("echo " + std::to_string(n) + "; echo e" + std::to_string(n) + " >&2; exit " +
                                         std::to_string(n % 7)));
        if (r.out != std::to_string(n) + "\n" || r.err != "e" + std::to_string(n) + "\n" || r.exit_code != n % 7 ||
            !r.spawn_error.empty())
          ++wrong;
        std::lock_guard lock(pids_m);
        pids.insert(r.pid);
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(pids.size(), 1u);
  EXPECT_EQ(runner_.running(), 0);
}

TEST_F(ProcessTest, EmptyCommandIsASpawnError) {
  ProcessSpec s;
  const auto r = runner_.run(s);
  EXPECT_FALSE(r.spawn_error.empty());
  EXPECT_FALSE(r.ok());
}

TEST_F(ProcessTest, DeadHelperFailsTasksAndTheirProcessesDie) {
  const ScopedSubreaper reaper;  // the task, orphaned, comes here
  const auto pidfile = file("pid");
  ProcessResult r;
  std::thread t([&] { r = runner_.run(shell("echo $$ > '" + pidfile.string() + "'; exec sleep 100")); });
  const auto pids = wait_pids(pidfile, 1);
  ASSERT_EQ(pids.size(), 1u);
  ::kill(spawner_.helper_pid(), SIGKILL);
  t.join();
  EXPECT_FALSE(r.spawn_error.empty());
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(reap_within(pids[0], 2s)) << "the task survived its helper";  // PR_SET_PDEATHSIG
  EXPECT_TRUE(gone(pids[0]));
  const auto later = runner_.run(shell("exit 0"));
  EXPECT_FALSE(later.spawn_error.empty());
}

TEST_F(ProcessTest, DestroyingTheRunnerKillsWhatRuns) {
  auto spawner = Spawner::start();
  auto runner = std::make_unique<ProcessRunner>(spawner);
  const auto pidfile = file("pid");
  ProcessResult r;
  auto s = shell("trap '' TERM; echo $$ > '" + pidfile.string() + "'; exec sleep 100");
  s.grace = 60s;  // the destructor does not wait for it
  std::thread t([&] { r = runner->run(s); });
  const auto pids = wait_pids(pidfile, 1);
  ASSERT_EQ(pids.size(), 1u);
  const auto start = Clock::now();
  runner.reset();
  t.join();
  EXPECT_LT(Clock::now() - start, 5s);
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_TRUE(wait_gone(pids[0], 2s));
}

TEST_F(ProcessTest, SpawnerShutdownKillsLeftovers) {
  auto spawner = Spawner::start();
  const auto pidfile = file("pid");
  {
    ProcessRunner runner(spawner);
    const std::string f = pidfile.string();
    auto s = shell("setsid sh -c 'echo $$ > " + f + ".tmp; mv " + f + ".tmp " + f + "; exec sleep 100' & " +
                   "while [ ! -s " + f + " ]; do sleep 0.01; done");
    s.grace = 100ms;
    const auto r = runner.run(s);  // the setsid'd sleep survives the group kill ...
    EXPECT_EQ(r.exit_code, 0);
  }
  const auto pids = read_pids(pidfile);
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_FALSE(gone(pids[0]));
  spawner.shutdown();  // ... but it was re-parented to the helper, which kills its children
  EXPECT_TRUE(wait_gone(pids[0], 2s));
  const auto helper = spawner.helper_pid();
  EXPECT_EQ(helper, -1);
  EXPECT_EQ(spawner.socket_fd(), -1);
}

TEST_F(ProcessTest, RunnerOnAShutDownSpawnerReportsSpawnErrors) {
  auto spawner = Spawner::start();
  spawner.shutdown();
  ProcessRunner runner(spawner);
  const auto r = runner.run(shell("exit 0"));
  EXPECT_FALSE(r.spawn_error.empty());
}

TEST_F(ProcessTest, SpawnerMovesKeepTheHelper) {
  auto a = Spawner::start();
  const int pid = a.helper_pid();
  Spawner b = std::move(a);
  EXPECT_EQ(a.helper_pid(), -1);  // NOLINT(bugprone-use-after-move): the moved-from state is the contract
  EXPECT_EQ(b.helper_pid(), pid);
  ProcessRunner runner(b);
  EXPECT_TRUE(runner.run(shell("exit 0")).ok());
}

// The rank dies by SIGKILL: the helper sees EOF on its socket and kills the tasks. The rank
// is a forked copy of this test process (no other threads exist at the fork).
TEST(ProcessRankDeath, TasksDieWithTheirRank) {
  const ScopedSubreaper reaper;  // the rank's helper, orphaned, comes here
  TempDir dir;
  const auto pidfile = dir.path() / "pid";
  const pid_t rank = ::fork();
  ASSERT_GE(rank, 0);
  if (rank == 0) {
    auto spawner = Spawner::start();
    ProcessRunner runner(spawner);
    runner.run(shell("echo $$ > '" + pidfile.string() + ".tmp'; mv '" + pidfile.string() + ".tmp' '" +
                     pidfile.string() + "'; exec sleep 1000"));
    ::_exit(0);
  }
  const auto pids = wait_pids(pidfile, 1);
  ::kill(rank, SIGKILL);
  ::waitpid(rank, nullptr, 0);
  ASSERT_EQ(pids.size(), 1u);
  const auto start = Clock::now();
  EXPECT_TRUE(wait_gone(pids[0], 2s)) << "the task " << pids[0] << " outlived its rank";
  EXPECT_LT(Clock::now() - start, 2s);
  // The orphaned helper exits once its tasks are dead and reaped (this process has no other
  // children here).
  const auto end = Clock::now() + 5s;
  pid_t reaped;
  while ((reaped = ::waitpid(-1, nullptr, WNOHANG)) >= 0 && Clock::now() < end)
    if (reaped == 0) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(reaped, -1) << "the rank's helper did not exit";
}

}  // namespace
