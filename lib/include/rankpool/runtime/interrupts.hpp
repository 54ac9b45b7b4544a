#pragma once
// SIGINT/SIGTERM as a flag that every rank polls, and the grace that follows one: after a
// stop was asked for, ranks wait for each other only so long, then leave with what they have
// (a run that was asked to stop must not hang on a rank that is already gone).

#include <atomic>
#include <chrono>

namespace rankpool::runtime {

/// Installs SIGINT and SIGTERM handlers that store the signal number in the returned flag
/// (for FarmOptions::interrupt, run_crawl, run_command_farm): Ctrl-C, mpirun's forwarding and
/// Slurm's time limit then stop a run cleanly instead of killing it. Process-wide; idempotent.
const std::atomic<int>* catch_interrupts();

/// A polled interrupt flag and the grace period that starts when a signal is first seen.
/// Not thread-safe (one owner polls it); the flag itself may be set from a signal handler.
class InterruptWatch {
 public:
  using Clock = std::chrono::steady_clock;
  /// `flag` may be null (never interrupted).
  InterruptWatch(const std::atomic<int>* flag, std::chrono::milliseconds grace) : flag_(flag), grace_(grace) {}
  /// The signal number (0: none). The first non-zero answer starts the grace.
  int poll() {
    if (!signal_ && flag_) {
      if (const int s = flag_->load()) {
        signal_ = s;
        since_ = Clock::now();
      }
    }
    return signal_;
  }
  /// The signal seen by the last poll() (0: none).
  int signal() const { return signal_; }
  /// True once the grace has passed since the signal was seen (false without one).
  bool grace_over(Clock::time_point now = Clock::now()) const { return signal_ != 0 && now - since_ > grace_; }
  std::chrono::milliseconds grace() const { return grace_; }

 private:
  const std::atomic<int>* flag_;
  std::chrono::milliseconds grace_;
  int signal_ = 0;
  Clock::time_point since_{};  // when poll() first saw the signal
};

}  // namespace rankpool::runtime
