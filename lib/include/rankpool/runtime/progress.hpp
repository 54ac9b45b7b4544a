#pragma once
// The progress line of every app (the farm's tasks, the crawler's pages) on stderr.
//  * On a terminal: one live line, redrawn in place at most every `redraw`.
//  * In a batch log (stderr redirected: Slurm, nohup, CI): a plain line every `batch_every`
//    (0: none), so a long job's log shows that it moves without filling up with redraws.
// Silent when not enabled (--quiet, --no-progress). The farm's, the crawler's and
// rankpool-run's progress lines are all this one. The caller formats the text only when
// due() says a line will be shown, so an idle progress line costs one clock read.

#include <chrono>
#include <string_view>

namespace rankpool::runtime {

/// True when stderr is a terminal — or, under mpirun (where a rank's stderr is a pipe to
/// the launcher), when the parent's stderr is one.
bool stderr_reaches_a_terminal();

class ProgressLine {
 public:
  using Clock = std::chrono::steady_clock;
  // A minute: often enough to see a batch job move, rare enough for a short run's log to
  // stay free of progress lines.
  static constexpr std::chrono::seconds kBatchEvery{60};

  /// `enabled`: the user wants progress. Whether it goes live or into plain lines is decided
  /// here from stderr (`terminal` overrides that, for tests).
  ProgressLine(bool enabled, std::chrono::milliseconds redraw, std::chrono::milliseconds batch_every = kBatchEvery);
  ProgressLine(bool enabled, std::chrono::milliseconds redraw, std::chrono::milliseconds batch_every, bool terminal);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  /// Whether a line is shown now; `force` (the last figures) skips the rate limit of the live
  /// line. A true answer restarts the interval: call draw() next.
  bool due(bool force = false);
  /// Shows `text` (no newline in it): redrawn in place on a terminal, a plain line otherwise.
  void draw(std::string_view text);
  /// Ends the live line with a newline (once); nothing in a batch log.
  void finish();
  /// Seconds since construction (for rates).
  double elapsed_s() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  bool live() const { return mode_ == Mode::live; }
  bool enabled() const { return mode_ != Mode::off; }

 private:
  enum class Mode { off, live, batch };
  Mode mode_;
  std::chrono::milliseconds redraw_;
  std::chrono::milliseconds batch_every_;
  bool drawn_ = false;
  Clock::time_point start_, last_;
};

}  // namespace rankpool::runtime
