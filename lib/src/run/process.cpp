// ProcessRunner: the rank's side of the spawner protocol (process_internal.hpp) and the event
// loop that reads every task's output and enforces timeouts and cancellation.
//
// Threads. run() (any thread) creates the task's pipes, registers the task, sends the
// request and blocks on the task's semaphore. Everything after that is done by the one
// event-loop thread: it reads the helper's replies and exit notices, reads the pipes,
// signals process groups and finishes tasks. A task's fields are touched by the loop only,
// except where noted; `registry_` (under `m_`) decides who finishes a task: whoever removes
// it from there.
//
// When is a task finished: its main process has exited (exit notice) and both pipes are at
// EOF. At the exit notice the loop reads both pipes until they would block; a pipe that is
// not at EOF then is held open by a process the task left behind (the task's own copy of
// the write ends closed before it became a zombie; the helper's and the rank's copies are
// closed before the pid is even reported), so its process group is terminated.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <system_error>
#include <semaphore>
#include <thread>
#include <unordered_map>

#include "process_internal.hpp"
#include "rankpool/run/process.hpp"

namespace rankpool::run {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using namespace detail;

// After SIGKILL, how long a task whose main process has exited may keep a pipe open before
// the pipe is closed and the task finishes anyway. SIGKILL ends a process group within
// milliseconds; a pipe still open a second later is held by a process that left the group
// (setsid) and is out of reach, and it must not hold the slot for ever.
constexpr auto kEofWait = 1s;
// How often the `cancel` flags are read: the contract promises at least every 50 ms.
constexpr auto kCancelPoll = 20ms;
// One read: a pipe's default capacity, so that a full pipe empties in one call.
constexpr std::size_t kReadBytes = 64 * 1024;
// Reads of one pipe per wake-up: keeps up with a fast writer without starving the others.
constexpr int kReadsPerWake = 4;
// At the exit notice, how much is read at most while telling "drained to EOF" from "a left-
// over process still writes": more than a pipe holds (1 MiB is the largest pipe an
// unprivileged task can make), so only a process that keeps writing exceeds it.
constexpr int kDrainReads = (1 << 20) / kReadBytes + 1;

double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

std::string errno_text(const char* step, int error) { return std::string(step) + ": " + std::strerror(error); }

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

struct ProcessRunner::Impl {
  enum class Stop { none, term, kill };  // how far the termination of the group went
  enum class Why { none, timeout, cancel, leftovers };

  struct Task {
    std::uint64_t id = 0;
    const ProcessSpec* spec = nullptr;
    std::function<bool()> cancelled;            // run()'s predicate; called by the loop only
    std::atomic<bool> cancel_requested{false};  // cancel_all(); set by any thread
    std::atomic<bool> kill_now{false};          // the runner is being destroyed; set by any thread
    int read_fd[2] = {-1, -1};                  // stdout, stderr; -1 once at EOF
    int write_fd[2] = {-1, -1};                 // the task's ends, until the helper has them
    bool replied = false;                       // the helper answered with the pid
    bool exited = false;                        // the exit notice came
    bool finished = false;
    bool streaming = true;  // on_output is called (until it throws)
    int pid = 0;
    int status = 0;
    Clock::time_point start;
    Clock::time_point timeout_at = Clock::time_point::max();
    Clock::time_point kill_at, give_up_at;
    Stop stop = Stop::none;
    Why why = Why::none;
    ProcessResult result;
    std::binary_semaphore done{0};  // released by whoever finishes the task
  };

  explicit Impl(int sock);
  ~Impl();

  void loop();
  void receive_replies();
  void helper_lost();
  void read_pipe(Task& t, int stream, int max_reads);
  void advance(Task& t, Clock::time_point now);
  void begin_stop(Task& t, Why why, std::chrono::milliseconds grace, Clock::time_point now);
  void signal_group(const Task& t, int sig);
  bool cancel_asked(Task& t);
  void finish(Task& t, Clock::time_point now);
  Clock::time_point next_deadline(const Task& t, Clock::time_point now) const;
  int send_request(std::uint64_t id, const std::string& body, const int fds[2]);
  void wake();

  const int sock_;
  int wake_fd_ = -1;
  std::thread thread_;

  mutable std::mutex m_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Task>> registry_;  // unfinished tasks
  std::uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::atomic<bool> helper_gone_{false};

  std::mutex send_m_;  // one request's packets go out back to back

  // Loop thread only.
  std::unordered_map<int, Task*> by_pid_;
  std::vector<std::shared_ptr<Task>> tasks_;
  std::vector<pollfd> pfds_;
  std::vector<std::pair<Task*, int>> owners_;  // pfds_[i + kFirstPipe] belongs to this task, stream
  std::vector<char> buf_ = std::vector<char>(kReadBytes);
  static constexpr std::size_t kFirstPipe = 2;  // pfds_[0] = wake_fd_, [1] = sock_
};

ProcessRunner::Impl::Impl(int sock) : sock_(sock) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "rankpool: eventfd");
  if (sock_ < 0) helper_gone_ = true;
  thread_ = std::thread([this] { loop(); });
}

ProcessRunner::Impl::~Impl() {
  {
    std::lock_guard lock(m_);
    stopping_ = true;
    for (auto& [id, t] : registry_) t->kill_now = true;
  }
  wake();
  thread_.join();
  ::close(wake_fd_);
}

void ProcessRunner::Impl::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto w = ::write(wake_fd_, &one, sizeof one);
}

int ProcessRunner::Impl::send_request(std::uint64_t id, const std::string& body, const int fds[2]) {
  SpawnHeader h;
  h.id = id;
  h.body_bytes = body.size();
  const std::size_t first = std::min(body.size(), kChunkBytes);
  iovec iov[2] = {{&h, sizeof h}, {const_cast<char*>(body.data()), first}};
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(2 * sizeof(int));
  std::memcpy(CMSG_DATA(c), fds, 2 * sizeof(int));

  std::lock_guard lock(send_m_);
  ssize_t n;
  do n = ::sendmsg(sock_, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  for (std::size_t off = first; off < body.size();) {
    const std::size_t len = std::min(body.size() - off, kChunkBytes);
    do n = ::send(sock_, body.data() + off, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0) return errno;
    off += len;
  }
  return 0;
}

void ProcessRunner::Impl::loop() {
  for (;;) {
    {
      std::lock_guard lock(m_);
      if (stopping_ && registry_.empty()) return;
      tasks_.clear();
      for (auto& [id, t] : registry_) tasks_.push_back(t);
    }
    auto now = Clock::now();
    auto next = Clock::time_point::max();
    pfds_.clear();
    owners_.clear();
    pfds_.push_back({wake_fd_, POLLIN, 0});
    pfds_.push_back({helper_gone_ ? -1 : sock_, POLLIN, 0});
    for (auto& t : tasks_) {
      if (t->kill_now && t->replied && t->stop != Stop::kill) next = now;
      next = std::min(next, next_deadline(*t, now));
      if (!t->replied) continue;  // its pipes are read from the reply on
      for (int s = 0; s < 2; ++s) {
        if (t->read_fd[s] < 0) continue;
        pfds_.push_back({t->read_fd[s], POLLIN, 0});
        owners_.emplace_back(t.get(), s);
      }
    }
    int timeout_ms = -1;
    if (next != Clock::time_point::max()) {
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
      // The cap only keeps the value in poll's int; the deadlines are looked at again after.
      timeout_ms = static_cast<int>(std::clamp<long long>(wait, 0, 60'000));
    }
    if (::poll(pfds_.data(), pfds_.size(), timeout_ms) < 0 && errno != EINTR) {
      // Only EINVAL/ENOMEM are possible here: nothing to do but retry a moment later.
      std::this_thread::sleep_for(1ms);
      continue;
    }
    if (pfds_[0].revents) {
      std::uint64_t count;
      [[maybe_unused]] const auto r = ::read(wake_fd_, &count, sizeof count);
    }
    if (pfds_[1].revents) receive_replies();
    for (std::size_t i = kFirstPipe; i < pfds_.size(); ++i) {
      if (!pfds_[i].revents) continue;
      auto [t, s] = owners_[i - kFirstPipe];
      // It may have been drained to EOF (and the number reused) by an exit notice just now.
      if (!t->finished && t->read_fd[s] == pfds_[i].fd) read_pipe(*t, s, kReadsPerWake);
    }
    now = Clock::now();
    for (auto& t : tasks_) advance(*t, now);
  }
}

Clock::time_point ProcessRunner::Impl::next_deadline(const Task& t, Clock::time_point now) const {
  if (t.finished || !t.replied) return Clock::time_point::max();  // the reply wakes the loop
  switch (t.stop) {
    case Stop::none:
      if (t.exited) return Clock::time_point::max();
      return t.cancelled ? std::min(t.timeout_at, now + kCancelPoll) : t.timeout_at;
    case Stop::term:
      return t.kill_at;
    case Stop::kill:
      return t.exited ? t.give_up_at : Clock::time_point::max();
  }
  return Clock::time_point::max();
}

void ProcessRunner::Impl::receive_replies() {
  alignas(8) char buf[kMaxReplyBytes];
  for (;;) {
    const ssize_t n = ::recv(sock_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      helper_lost();
      return;
    }
    std::uint32_t type = 0;
    if (static_cast<std::size_t>(n) >= sizeof type) std::memcpy(&type, buf, sizeof type);
    if (type == kSpawned && static_cast<std::size_t>(n) == sizeof(SpawnedMsg)) {
      SpawnedMsg m;
      std::memcpy(&m, buf, sizeof m);
      std::shared_ptr<Task> t;
      {
        std::lock_guard lock(m_);
        if (auto it = registry_.find(m.id); it != registry_.end()) t = it->second;
      }
      if (!t) {
        // Cannot happen (a reply means the request arrived whole, so run() did not give up
        // on it); a process nobody waits for must not run on, though.
        if (m.pid > 0) ::kill(-m.pid, SIGKILL);
        continue;
      }
      // The helper has passed them to the task (or closed them): now the pipes reach EOF
      // as soon as the task's processes have closed them.
      close_fd(t->write_fd[0]);
      close_fd(t->write_fd[1]);
      if (m.pid < 0) {
        m.step[sizeof m.step - 1] = '\0';
        t->result.spawn_error = errno_text(m.step, m.error);
        finish(*t, Clock::now());
        continue;
      }
      t->pid = t->result.pid = m.pid;
      t->replied = true;
      by_pid_[m.pid] = t.get();
      if (std::find(tasks_.begin(), tasks_.end(), t) == tasks_.end()) tasks_.push_back(t);
    } else if (type == kExited && static_cast<std::size_t>(n) == sizeof(ExitedMsg)) {
      ExitedMsg m;
      std::memcpy(&m, buf, sizeof m);
      const auto it = by_pid_.find(m.pid);
      if (it == by_pid_.end()) continue;  // a task finished otherwise (helper_lost)
      Task& t = *it->second;
      by_pid_.erase(it);
      t.exited = true;
      t.status = m.status;
      for (int s = 0; s < 2; ++s)
        if (t.read_fd[s] >= 0) read_pipe(t, s, kDrainReads);
    } else {
      helper_lost();  // the same binary at both ends: a packet we cannot read is a broken helper
      return;
    }
  }
}

// The helper exited (or broke): its tasks' leaders died with it (PR_SET_PDEATHSIG); their
// groups are killed here, and every unfinished task fails.
void ProcessRunner::Impl::helper_lost() {
  helper_gone_ = true;
  std::vector<std::shared_ptr<Task>> all;
  {
    std::lock_guard lock(m_);
    for (auto& [id, t] : registry_) all.push_back(t);
  }
  const auto now = Clock::now();
  for (auto& t : all) {
    if (t->replied && !t->exited) signal_group(*t, SIGKILL);
    t->result.spawn_error = t->replied ? "the spawner helper exited while the task ran (it was killed)"
                                       : "the spawner helper exited before starting the task";
    finish(*t, now);
  }
}

void ProcessRunner::Impl::read_pipe(Task& t, int s, int max_reads) {
  for (int i = 0; i < max_reads && t.read_fd[s] >= 0; ++i) {
    const ssize_t n = ::read(t.read_fd[s], buf_.data(), buf_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {  // EOF (or an error, which ends the stream just as well)
      close_fd(t.read_fd[s]);
      return;
    }
    const auto len = static_cast<std::size_t>(n);
    std::string& keep = s == 0 ? t.result.out : t.result.err;
    (s == 0 ? t.result.out_bytes : t.result.err_bytes) += len;
    if (keep.size() < t.spec->max_capture) keep.append(buf_.data(), std::min(len, t.spec->max_capture - keep.size()));
    if (t.streaming && t.spec->on_output) {
      try {
        t.spec->on_output(s + 1, std::string_view(buf_.data(), len));
      } catch (...) {
        t.streaming = false;  // the loop serves every task: one callback's failure must not end it
      }
    }
  }
}

bool ProcessRunner::Impl::cancel_asked(Task& t) {
  if (!t.cancelled) return false;
  try {
    return t.cancelled();
  } catch (...) {
    return true;  // a cancellation that cannot be asked about is taken as given
  }
}

void ProcessRunner::Impl::signal_group(const Task& t, int sig) {
  ::kill(-t.pid, sig);
  // Also the leader itself, in case it moved to another group. Not after its exit notice:
  // then the pid is free for reuse.
  if (!t.exited) ::kill(t.pid, sig);
}

void ProcessRunner::Impl::begin_stop(Task& t, Why why, std::chrono::milliseconds grace, Clock::time_point now) {
  t.why = why;
  if (grace <= 0ms) {
    signal_group(t, SIGKILL);
    t.stop = Stop::kill;
    t.give_up_at = now + kEofWait;
    return;
  }
  signal_group(t, SIGTERM);
  signal_group(t, SIGCONT);  // a stopped process acts on SIGTERM only once continued
  t.stop = Stop::term;
  t.kill_at = now + grace;
}

void ProcessRunner::Impl::advance(Task& t, Clock::time_point now) {
  if (t.finished || !t.replied) return;
  if (t.exited && t.read_fd[0] < 0 && t.read_fd[1] < 0) {
    finish(t, now);
    return;
  }
  const auto grace = t.spec->grace;
  if (t.kill_now && t.stop != Stop::kill) {
    // The runner is being destroyed: no grace. A task already on its way out keeps its reason.
    if (t.stop == Stop::none && !t.exited) t.why = Why::cancel;
    begin_stop(t, t.why, 0ms, now);
  }
  if (t.stop == Stop::none && !t.exited) {
    if (t.cancel_requested || cancel_asked(t))
      begin_stop(t, Why::cancel, grace, now);
    else if (now >= t.timeout_at)
      begin_stop(t, Why::timeout, grace, now);
  }
  if (t.stop == Stop::term && now >= t.kill_at) {
    signal_group(t, SIGKILL);
    t.stop = Stop::kill;
    t.give_up_at = now + kEofWait;
  }
  if (!t.exited) return;
  if (t.stop == Stop::none)
    begin_stop(t, Why::leftovers, grace, now);
  else if (t.stop == Stop::kill && now >= t.give_up_at)
    finish(t, now);
}

void ProcessRunner::Impl::finish(Task& t, Clock::time_point now) {
  {
    std::lock_guard lock(m_);
    if (!registry_.erase(t.id)) return;
  }
  for (int s = 0; s < 2; ++s) {
    close_fd(t.read_fd[s]);
    close_fd(t.write_fd[s]);
  }
  if (t.replied && !t.exited) by_pid_.erase(t.pid);
  t.finished = true;
  auto& r = t.result;
  if (t.exited) {
    if (WIFEXITED(t.status))
      r.exit_code = WEXITSTATUS(t.status);
    else if (WIFSIGNALED(t.status))
      r.signal = WTERMSIG(t.status);
  }
  r.timed_out = t.why == Why::timeout;
  r.cancelled = t.why == Why::cancel;
  r.seconds = std::chrono::duration<double>(now - t.start).count();
  t.done.release();
}

ProcessRunner::ProcessRunner(Spawner& spawner) : impl_(std::make_unique<Impl>(spawner.socket_fd())) {}

ProcessRunner::~ProcessRunner() = default;

ProcessResult ProcessRunner::run(const ProcessSpec& spec, const std::atomic<bool>* cancel) {
  if (!cancel) return run(spec, std::function<bool()>());
  return run(spec, [cancel] { return cancel->load(std::memory_order_relaxed); });
}

ProcessResult ProcessRunner::run(const ProcessSpec& spec, std::function<bool()> cancelled) {
  Impl& I = *impl_;
  auto t = std::make_shared<Impl::Task>();
  t->spec = &spec;
  t->cancelled = std::move(cancelled);
  t->start = Clock::now();
  t->result.start_unix = unix_now();
  if (spec.timeout > 0ms) t->timeout_at = t->start + spec.timeout;
  auto fail = [&](std::string why) {
    for (int s = 0; s < 2; ++s) {
      close_fd(t->read_fd[s]);
      close_fd(t->write_fd[s]);
    }
    t->result.spawn_error = std::move(why);
    t->result.seconds = std::chrono::duration<double>(Clock::now() - t->start).count();
    return std::move(t->result);
  };
  if (spec.argv.empty()) return fail("empty command");
  if (I.helper_gone_) return fail("the spawner helper is not running");

  for (int s = 0; s < 2; ++s) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return fail(errno_text("pipe", errno));
    t->read_fd[s] = p[0];
    t->write_fd[s] = p[1];
    // Only the rank's end: the task's end stays blocking, as programs expect of stdout.
    ::fcntl(p[0], F_SETFL, O_NONBLOCK);
  }

  const std::string body =
      rankpool::runtime::encode(SpawnBody{spec.argv, spec.env, {spec.cpus.begin(), spec.cpus.end()}, spec.cwd});
  if (body.size() > kMaxBodyBytes) return fail("command line and environment too large");

  // The loop may close t->write_fd (when the helper dies) while this thread still sends.
  const int write_fds[2] = {t->write_fd[0], t->write_fd[1]};
  {
    std::lock_guard lock(I.m_);
    if (I.stopping_) return fail("the process runner is shutting down");
    t->id = I.next_id_++;
    I.registry_.emplace(t->id, t);
  }
  if (const int error = I.send_request(t->id, body, write_fds)) {
    bool mine;
    {
      std::lock_guard lock(I.m_);
      mine = I.registry_.erase(t->id) > 0;
    }
    // Otherwise the loop has finished it already (the helper is gone) and owns its fds.
    if (mine) return fail(errno_text("sending the request to the spawner helper", error));
  }
  t->done.acquire();
  return std::move(t->result);
}

void ProcessRunner::cancel_all() {
  {
    std::lock_guard lock(impl_->m_);
    for (auto& [id, t] : impl_->registry_) t->cancel_requested = true;
  }
  impl_->wake();
}

int ProcessRunner::running() const {
  std::lock_guard lock(impl_->m_);
  return static_cast<int>(impl_->registry_.size());
}

}  // namespace rankpool::run
