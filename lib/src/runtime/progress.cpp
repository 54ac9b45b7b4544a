#include "rankpool/runtime/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace rankpool::runtime {

/// Is the user looking at our stderr? Under mpirun a rank's stderr is a pipe to the
/// launcher whatever the launcher's own stderr is, so also ask about the parent's
/// (mpirun's) stderr: the live line shows on a terminal and stays out of redirected logs.
bool stderr_reaches_a_terminal() {
  if (isatty(STDERR_FILENO)) return true;
  char target[256] = {};
  const std::string link = "/proc/" + std::to_string(getppid()) + "/fd/2";
  const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
  if (n <= 0) return false;
  const std::string t(target, static_cast<std::size_t>(n));
  return t.rfind("/dev/pts/", 0) == 0 || t.rfind("/dev/tty", 0) == 0;
}

ProgressLine::ProgressLine(bool enabled, std::chrono::milliseconds redraw, std::chrono::milliseconds batch_every)
    : ProgressLine(enabled, redraw, batch_every, enabled && stderr_reaches_a_terminal()) {}

ProgressLine::ProgressLine(bool enabled, std::chrono::milliseconds redraw, std::chrono::milliseconds batch_every,
                           bool terminal)
    : mode_(!enabled                                     ? Mode::off
            : terminal                                   ? Mode::live
            : batch_every > std::chrono::milliseconds(0) ? Mode::batch
                                                         : Mode::off),
      redraw_(redraw),
      batch_every_(batch_every),
      start_(Clock::now()),
      last_(start_) {}

ProgressLine::~ProgressLine() { finish(); }

bool ProgressLine::due(bool force) {
  if (mode_ == Mode::off) return false;
  const auto now = Clock::now();
  if (mode_ == Mode::live) {
    if (drawn_ && !force && now - last_ < redraw_) return false;
  } else if (now - last_ < batch_every_) {
    return false;  // a batch log gets a line per interval, forced or not
  }
  last_ = now;
  return true;
}

void ProgressLine::draw(std::string_view text) {
  if (mode_ == Mode::off) return;
  if (mode_ == Mode::live) {
    std::fprintf(stderr, "\r%.*s   ", static_cast<int>(text.size()), text.data());
    drawn_ = true;
  } else {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(text.size()), text.data());
  }
  std::fflush(stderr);
}

void ProgressLine::finish() {
  if (mode_ == Mode::live && drawn_) {
    std::fputc('\n', stderr);
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace rankpool::runtime
