#pragma once
// Internal: not part of the API (rankpool/farm/detail/ may change in any release).
// How a task timeout reaches a running task: the thread running a batch announces each task
// to a TaskWatch; the thread watching it may declare the running task expired, which
// abandons the batch. See executor.hpp.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace rankpool::farm {

/// Thrown by a batch runner after its batch was abandoned: unwinds out of the batch without
/// running the rest. Not a std::exception, so no task's catch clause mistakes it for its own.
struct BatchAbandoned {};

class TaskWatch {
 public:
  using Clock = std::chrono::steady_clock;

  /// Runner: task `position` of the batch starts now. False when the batch was abandoned
  /// already: the task must not start (the executor's destructor joins a runner that is not
  /// inside a task, and must not wait for one that begins after it looked).
  [[nodiscard]] bool begin(std::uint32_t position) {
    std::lock_guard lock(m_);
    if (abandoned_) return false;
    position_ = position;
    started_ = Clock::now();
    running_ = true;
    return true;
  }
  /// Runner: the task returned. False when the batch was abandoned meanwhile: drop its results.
  bool end() {
    std::lock_guard lock(m_);
    running_ = false;
    return !abandoned_;
  }
  /// Watcher: if a task has run `limit` or longer, abandons the batch and returns the task's
  /// position. Exactly one of end() and expire() wins for a task.
  std::optional<std::uint32_t> expire(Clock::time_point now, Clock::duration limit) {
    std::lock_guard lock(m_);
    if (!running_ || abandoned_ || now - started_ < limit) return std::nullopt;
    abandoned_ = true;
    return position_;
  }
  /// A task is between begin() and end().
  bool running() const {
    std::lock_guard lock(m_);
    return running_;
  }
  bool abandoned() const {
    std::lock_guard lock(m_);
    return abandoned_;
  }
  /// Watcher: abandons whatever runs now (the run is over and nobody wants the result).
  void abandon() {
    std::lock_guard lock(m_);
    abandoned_ = true;
  }

 private:
  mutable std::mutex m_;
  std::uint32_t position_ = 0;
  Clock::time_point started_{};
  bool running_ = false;
  bool abandoned_ = false;
};

}  // namespace rankpool::farm
