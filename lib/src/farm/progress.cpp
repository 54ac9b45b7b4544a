#include "progress.hpp"

#include "farm/terminal.hpp"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace rankpool::farm {

/// Is the user looking at our stderr? Under mpirun a rank's stderr is a pipe to the
/// launcher whatever the launcher's own stderr is, so also ask about the parent's
/// (mpirun's) stderr: progress shows on a terminal and stays out of redirected logs.
bool stderr_reaches_a_terminal() {
  if (isatty(STDERR_FILENO)) return true;
  char target[256] = {};
  const std::string link = "/proc/" + std::to_string(getppid()) + "/fd/2";
  const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
  if (n <= 0) return false;
  const std::string t(target, static_cast<std::size_t>(n));
  return t.rfind("/dev/pts/", 0) == 0 || t.rfind("/dev/tty", 0) == 0;
}

Progress::Progress(bool enabled)
    : enabled_(enabled && stderr_reaches_a_terminal()),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

Progress::~Progress() { finish(); }

void Progress::update(std::uint64_t done, std::uint64_t total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(100) && done != total) return;
  last_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0;
  std::fprintf(stderr, "\r[rankpool] %llu/%llu tasks  %.0f/s  ETA %.0f s   ",
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total), rate, eta);
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (enabled_ && drawn_) {
    std::fputc('\n', stderr);
    drawn_ = false;
  }
}

}  // namespace rankpool::farm
