// The spawner helper: a single-threaded process, forked from the rank before MPI_Init, that
// does every fork/exec for the rank and reaps the children (protocol: process_internal.hpp).
//
// It is a child subreaper (PR_SET_CHILD_SUBREAPER): what a task leaves behind when its shell
// exits (`sleep 100 &`) is re-parented to the helper rather than to init, so it is reaped
// when it dies (init in a container may never reap it, and a zombie still answers kill(pid, 0))
// and the helper can find and kill it when the rank goes away.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <unordered_set>
#include <utility>
#include <vector>

#include "process_internal.hpp"
#include "rankpool/run/process.hpp"

namespace rankpool::run {
namespace {

using namespace detail;
using namespace std::chrono_literals;

// The helper is controlled only through its socket. These are the signals a terminal, a
// batch system or mpirun send to the whole process group (Ctrl-C, hang-up, job end) or that
// a write to a dead peer raises: the rank decides what happens to its tasks, and the helper
// follows when the rank's end of the socket closes.
constexpr int kIgnoredSignals[] = {SIGINT, SIGTERM, SIGPIPE, SIGHUP};

// How long the exiting helper waits for its SIGKILLed children to be reaped. SIGKILL takes
// effect within milliseconds, except on a process in uninterruptible sleep (a hung NFS
// read), which must not keep the helper, and so the rank's shutdown, waiting for ever.
constexpr auto kReapWait = 2s;
// Between two rounds of killing and reaping while exiting: children re-parented to the
// helper by the first kills (grandchildren in other process groups) are found by the next.
constexpr int kReapPollMs = 10;

// PATH when the task's environment has none: glibc's execvp default.
constexpr const char* kDefaultPath = "/bin:/usr/bin";

// Socket buffers of the socketpair. Beyond chunking (process_internal.hpp), a larger buffer
// lets a burst of exit notices and requests be queued without blocking the sender; the kernel
// silently caps it at net.core.wmem_max / rmem_max.
constexpr int kSocketBufferBytes = 1 << 20;

struct Request {
  std::uint64_t id = 0;
  int out_fd = -1, err_fd = -1;
  std::vector<std::string> argv, env;
  std::vector<int> cpus;
  std::string cwd;
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Closes the descriptors `from`..`to` (close_range(2) needs Linux 5.9; the fallback walks
// /proc/self/fd, which is fine in a just-forked single-threaded process).
void close_fds(int from, int to = INT_MAX) {
  if (from > to) return;
  if (::close_range(static_cast<unsigned>(from), static_cast<unsigned>(to), 0) == 0) return;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    std::vector<int> fds;
    while (dirent* e = ::readdir(d)) {
      const int fd = std::atoi(e->d_name);
      if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && fd >= from && fd <= to && fd != ::dirfd(d)) fds.push_back(fd);
    }
    ::closedir(d);
    for (int fd : fds) ::close(fd);
  }
}

// ---- the task's side of fork() -----------------------------------------------------------

// Writes "rankpool-run: NAME: WHAT" to the task's stderr, as a shell reports a failed command.
void report(const char* name, const char* what) {
  char line[4300];
  const int n = std::snprintf(line, sizeof line, "rankpool-run: %.4096s: %s\n", name, what);
  if (n > 0) {
    const auto len = static_cast<std::size_t>(n) < sizeof line ? static_cast<std::size_t>(n) : sizeof line - 1;
    [[maybe_unused]] const auto w = ::write(2, line, len);
  }
}

// execve(), and for a file the kernel cannot execute (ENOEXEC: no #! line) the same through
// /bin/sh, as execvp() and every shell do. Returns only on failure, with errno set.
void try_exec(const char* path, char* const* argv, char* const* envp) {
  ::execve(path, argv, envp);
  if (errno != ENOEXEC) return;
  std::vector<char*> sh{const_cast<char*>("/bin/sh"), const_cast<char*>(path)};
  for (char* const* a = argv + (argv[0] ? 1 : 0); *a; ++a) sh.push_back(*a);
  sh.push_back(nullptr);
  ::execve("/bin/sh", sh.data(), envp);
  errno = ENOEXEC;
}

// In the child after fork(): becomes the task and execs it. Exit codes follow the shell:
// 127 when the program is not found, 126 when it cannot be executed (also when the working
// directory or CPU set cannot be applied: the task cannot run as asked).
[[noreturn]] void become_task(const Request& r, char* const* argv, char* const* envp, const char* path, pid_t helper) {
  // Own process group (the helper sets it too, so that it exists before the rank hears the pid).
  ::setpgid(0, 0);
  // Dies with the helper; the helper may have died before the prctl took effect.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != helper) ::_exit(127);
  // The helper blocks SIGCHLD (for its signalfd) and blocks and ignores kIgnoredSignals;
  // everything else it already reset to the default at startup. Dispositions first, then
  // the mask: a SIGTERM the rank sent since the fork (a cancellation as soon as it heard the
  // pid) is pending, not lost, and takes effect here.
  for (int s : kIgnoredSignals) ::signal(s, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // stdin is the helper's /dev/null (fd 0); the pipes are >= 3 (the helper keeps 0-2 open).
  ::dup2(r.out_fd, 1);
  ::dup2(r.err_fd, 2);
  if (!r.cpus.empty()) {
    int max_cpu = 0;
    for (int c : r.cpus) max_cpu = c > max_cpu ? c : max_cpu;
    cpu_set_t* set = CPU_ALLOC(max_cpu + 1);
    const std::size_t size = CPU_ALLOC_SIZE(max_cpu + 1);
    CPU_ZERO_S(size, set);
    for (int c : r.cpus)
      if (c >= 0) CPU_SET_S(static_cast<std::size_t>(c), size, set);
    if (::sched_setaffinity(0, size, set) != 0) {
      report("sched_setaffinity", std::strerror(errno));
      ::_exit(126);
    }
  }
  if (!r.cwd.empty() && ::chdir(r.cwd.c_str()) != 0) {
    const std::string what = "cannot change directory: " + std::string(std::strerror(errno));
    report(r.cwd.c_str(), what.c_str());
    ::_exit(126);
  }
  close_fds(3);

  const char* name = argv[0];
  if (std::strchr(name, '/')) {
    try_exec(name, argv, envp);
    const int e = errno;
    report(name, std::strerror(e));
    ::_exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
  }
  // PATH search as execvp(): an empty element is the current directory; EACCES somewhere is
  // remembered (126 if nothing else is found); an error other than "not there" stops it.
  bool denied = false;
  int hard_error = 0;
  std::string candidate;
  for (const char* p = path; *name && !hard_error;) {
    const char* colon = std::strchr(p, ':');
    const std::size_t len = colon ? static_cast<std::size_t>(colon - p) : std::strlen(p);
    candidate.assign(p, len);
    if (candidate.empty()) candidate = ".";
    candidate += '/';
    candidate += name;
    try_exec(candidate.c_str(), argv, envp);
    switch (errno) {
      case EACCES:
        denied = true;
        break;
      case ENOENT:
      case ENOTDIR:
      case ENAMETOOLONG:
      case ELOOP:
      case ESTALE:
      case ENODEV:
      case ETIMEDOUT:
        break;
      default:
        hard_error = errno;
        break;
    }
    if (!colon) break;
    p = colon + 1;
  }
  if (hard_error) {
    report(name, std::strerror(hard_error));
    ::_exit(126);
  }
  if (denied) {
    report(name, std::strerror(EACCES));
    ::_exit(126);
  }
  report(name, "command not found");
  ::_exit(127);
}

// ---- the helper -------------------------------------------------------------------------

class Helper {
 public:
  explicit Helper(int sock);
  [[noreturn]] void run();

 private:
  // Reads one request (or the shutdown message). Returns false when the helper must exit.
  bool receive();
  void spawn(Request& r);
  void reap();
  void send_or_exit(const void* msg, std::size_t n);
  void reply_error(std::uint64_t id, const char* step, int error);
  [[noreturn]] void kill_all_and_exit();
  void kill_children();

  int sock_ = -1;
  int sigfd_ = -1;
  pid_t self_ = 0;
  std::unordered_set<pid_t> live_;  // task leaders spawned and not yet reaped
  std::vector<char> packet_;
};

Helper::Helper(int sock) : sock_(sock), self_(::getpid()), packet_(sizeof(SpawnHeader) + kChunkBytes) {
  ::prctl(PR_SET_NAME, "rankpool-spawn");
  // Everything inherited from the rank goes back to the default, then the helper's own set:
  // tasks only have to undo kIgnoredSignals and the SIGCHLD block.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s)
    if (s != SIGKILL && s != SIGSTOP) ::sigaction(s, &dfl, nullptr);  // EINVAL for glibc's own: fine
  // kIgnoredSignals are blocked as well as ignored: a task inherits both across fork(), and
  // an ignored signal is discarded while a blocked one stays pending until the task has set
  // the default action (become_task()).
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : kIgnoredSignals) {
    ::signal(s, SIG_IGN);
    sigaddset(&mask, s);
  }
  sigaddset(&mask, SIGCHLD);
  ::sigprocmask(SIG_SETMASK, &mask, nullptr);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  // Descriptors: the socket moves above 2; 0 and 1 become /dev/null (0 is every task's
  // stdin); 2 stays the rank's stderr for the helper's own last words; the rest of what the
  // rank had open is closed, so that the helper holds no pipe or file of the rank's open.
  if (sock_ < 3) {
    const int moved = ::fcntl(sock_, F_DUPFD_CLOEXEC, 3);
    if (moved < 0) ::_exit(1);
    ::close(sock_);
    sock_ = moved;
  }
  const int null = ::open("/dev/null", O_RDWR);
  if (null < 0) ::_exit(1);
  ::dup2(null, 0);
  ::dup2(null, 1);
  if (::fcntl(2, F_GETFD) < 0) ::dup2(null, 2);
  if (null > 2) ::close(null);
  close_fds(3, sock_ - 1);
  close_fds(sock_ + 1);
  sigfd_ = ::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd_ < 0) ::_exit(1);
}

void Helper::run() {
  for (;;) {
    pollfd p[2] = {{sock_, POLLIN, 0}, {sigfd_, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      kill_all_and_exit();
    }
    // Requests first: a spawn's reply must precede the exit notice of the same pid, and it
    // does, as reap() only reports pids that spawn() has already answered for.
    if (p[0].revents && !receive()) kill_all_and_exit();
    if (p[1].revents) reap();
  }
}

bool Helper::receive() {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  iovec iov{packet_.data(), packet_.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(sock_, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return false;  // EOF: the rank is gone
  std::vector<int> fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      fds.push_back(fd);
    }
  }
  auto close_all = [&] {
    for (int& fd : fds) close_fd(fd);
  };
  std::uint32_t type = 0;
  if (static_cast<std::size_t>(n) >= sizeof type) std::memcpy(&type, packet_.data(), sizeof type);
  if (type == kShutdown) {
    close_all();
    return false;
  }
  if (type != kSpawn || static_cast<std::size_t>(n) < sizeof(SpawnHeader) || (msg.msg_flags & MSG_TRUNC)) {
    // Both ends are the same binary: an unknown packet means the stream cannot be trusted.
    std::fprintf(stderr, "rankpool spawner: protocol error (packet type %u, %zd bytes)\n", type, n);
    close_all();
    return false;
  }
  SpawnHeader h;
  std::memcpy(&h, packet_.data(), sizeof h);
  const std::size_t first = static_cast<std::size_t>(n) - sizeof h;
  if (h.body_bytes > kMaxBodyBytes || first > h.body_bytes) {
    std::fprintf(stderr, "rankpool spawner: protocol error (request body of %llu bytes)\n",
                 static_cast<unsigned long long>(h.body_bytes));
    close_all();
    return false;
  }
  std::string body(packet_.data() + sizeof h, first);
  body.resize(h.body_bytes);
  for (std::size_t off = first; off < h.body_bytes;) {
    ssize_t m;
    do m = ::recv(sock_, body.data() + off, h.body_bytes - off, 0);
    while (m < 0 && errno == EINTR);
    if (m <= 0) {
      close_all();
      return false;
    }
    off += static_cast<std::size_t>(m);
  }

  Request r;
  r.id = h.id;
  bool ok = fds.size() == 2 && !(msg.msg_flags & MSG_CTRUNC);
  if (ok) {
    try {
      SpawnBody b = rankpool::runtime::decode<SpawnBody>(body, "spawn request");
      r.argv = std::move(b.argv);
      r.env = std::move(b.env);
      r.cpus.assign(b.cpus.begin(), b.cpus.end());
      r.cwd = std::move(b.cwd);
    } catch (const rankpool::runtime::DecodeError&) {
      ok = false;  // truncated, trailing or absurd counts: answered as a bad request below
    }
  }
  ok = ok && !r.argv.empty();
  if (!ok) {
    close_all();
    reply_error(h.id, "bad request", EINVAL);
    return true;
  }
  r.out_fd = fds[0];
  r.err_fd = fds[1];
  spawn(r);
  return true;
}

void Helper::spawn(Request& r) {
  std::vector<char*> argv, envp;
  argv.reserve(r.argv.size() + 1);
  for (auto& a : r.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  envp.reserve(r.env.size() + 1);
  const char* path = kDefaultPath;
  for (auto& e : r.env) {
    envp.push_back(e.data());
    if (path == kDefaultPath && e.compare(0, 5, "PATH=") == 0) path = e.c_str() + 5;  // the first, as getenv()
  }
  envp.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid == 0) become_task(r, argv.data(), envp.data(), path, self_);
  const int error = errno;
  close_fd(r.out_fd);  // the task has them now; the rank sees EOF when the task is done
  close_fd(r.err_fd);
  if (pid < 0) {
    reply_error(r.id, "fork", error);
    return;
  }
  // Also here, not only in the child: the group must exist before the rank can signal it.
  ::setpgid(pid, pid);
  live_.insert(pid);
  SpawnedMsg m;
  m.id = r.id;
  m.pid = pid;
  send_or_exit(&m, sizeof m);
}

void Helper::reply_error(std::uint64_t id, const char* step, int error) {
  SpawnedMsg m;
  m.id = id;
  m.error = error;
  std::snprintf(m.step, sizeof m.step, "%s", step);
  send_or_exit(&m, sizeof m);
}

void Helper::reap() {
  signalfd_siginfo info;
  while (::read(sigfd_, &info, sizeof info) > 0) {
  }
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    // Only the leaders are reported; adopted leftovers are reaped silently.
    if (live_.erase(pid)) {
      ExitedMsg m;
      m.pid = pid;
      m.status = status;
      send_or_exit(&m, sizeof m);
    }
  }
}

void Helper::send_or_exit(const void* msg, std::size_t n) {
  ssize_t w;
  do w = ::send(sock_, msg, n, MSG_NOSIGNAL);
  while (w < 0 && errno == EINTR);
  if (w < 0) kill_all_and_exit();  // EPIPE / ECONNRESET: the rank is gone
}

// SIGKILL to every child's process group and to the child itself: the task leaders and
// whatever was re-parented here. Not to the helper's own group (the rank's), which a task
// could have joined.
void Helper::kill_children() {
  const pid_t own_group = ::getpgrp();
  DIR* d = ::opendir("/proc");
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    char path[300], stat[512];
    std::snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    const ssize_t n = ::read(fd, stat, sizeof stat - 1);
    ::close(fd);
    if (n <= 0) continue;
    stat[n] = '\0';
    // "pid (comm) state ppid pgrp ...": comm may contain anything, so parse after the last ')'.
    const char* rp = std::strrchr(stat, ')');
    char state;
    int ppid, pgrp;
    if (!rp || std::sscanf(rp + 1, " %c %d %d", &state, &ppid, &pgrp) != 3 || ppid != self_) continue;
    const pid_t pid = std::atoi(e->d_name);
    if (pgrp > 1 && pgrp != own_group) ::kill(-pgrp, SIGKILL);
    ::kill(pid, SIGKILL);
  }
  ::closedir(d);
}

void Helper::kill_all_and_exit() {
  for (pid_t pid : live_) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);  // in case it left its group
  }
  const auto deadline = std::chrono::steady_clock::now() + kReapWait;
  for (;;) {
    kill_children();
    for (;;) {
      const pid_t pid = ::waitpid(-1, nullptr, WNOHANG);
      if (pid < 0 && errno == ECHILD) ::_exit(0);
      if (pid <= 0) break;
    }
    if (std::chrono::steady_clock::now() >= deadline) ::_exit(0);
    pollfd p{sigfd_, POLLIN, 0};
    ::poll(&p, 1, kReapPollMs);
    signalfd_siginfo info;
    while (::read(sigfd_, &info, sizeof info) > 0) {
    }
  }
}

}  // namespace

Spawner Spawner::start() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    throw std::system_error(errno, std::generic_category(), "rankpool: spawner socketpair");
  for (int fd : sv) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketBufferBytes, sizeof kSocketBufferBytes);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketBufferBytes, sizeof kSocketBufferBytes);
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    throw std::system_error(error, std::generic_category(), "rankpool: forking the spawner");
  }
  if (pid == 0) {
    ::close(sv[0]);
    Helper(sv[1]).run();
  }
  ::close(sv[1]);
  return Spawner(sv[0], pid);
}

Spawner::Spawner(Spawner&& other) noexcept : fd_(std::exchange(other.fd_, -1)), pid_(std::exchange(other.pid_, -1)) {}

Spawner& Spawner::operator=(Spawner&& other) noexcept {
  if (this != &other) {
    shutdown();
    fd_ = std::exchange(other.fd_, -1);
    pid_ = std::exchange(other.pid_, -1);
  }
  return *this;
}

Spawner::~Spawner() { shutdown(); }

void Spawner::shutdown() {
  if (fd_ >= 0) {
    const ShutdownMsg m;
    ::send(fd_, &m, sizeof m, MSG_NOSIGNAL);  // fails only if the helper is already gone
    ::close(fd_);
    fd_ = -1;
  }
  if (pid_ > 0) {
    // ECHILD when someone else reaped it (a SIGCHLD handler of the MPI library): fine.
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

}  // namespace rankpool::run
