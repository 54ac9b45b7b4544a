#pragma once
// The live progress line on stderr: done/total, rate, ETA. Silent unless stderr is a
// terminal (so logs and CI output stay clean) and not quiet.

#include <chrono>
#include <cstdint>

namespace rankpool::farm {

class Progress {
 public:
  explicit Progress(bool enabled);
  ~Progress();
  /// Redraws at most ten times a second.
  void update(std::uint64_t done, std::uint64_t total);
  void finish();

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace rankpool::farm
