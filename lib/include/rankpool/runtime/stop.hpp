#pragma once
// The stop protocol every app ends a run with: rank 0 tells every worker to stop, and each
// worker answers with one report (its per-rank statistics) — "stop and gather to rank 0".
// The farm sends Stop and gathers Stats; the crawler sends Finish and gathers Final; each
// keeps its own tags and payloads, and both use this for the bookkeeping: who has answered,
// until when to wait (after an interrupt a worker inside a long task cannot answer, and a
// run that was asked to stop must not hang on it), which reports are missing.
//
// Transport-neutral: the caller sends and receives (a Transport, a Mesh); a loop that does
// other work meanwhile feeds on_report() (the crawler), one that only waits calls collect().

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rankpool::runtime {

class StopGather {
 public:
  using Clock = std::chrono::steady_clock;

  /// Workers are numbered 0 .. workers-1 (the caller maps them to ranks).
  explicit StopGather(int workers);

  /// Sends the stop to every worker through `send(worker)` (once; later calls do nothing) and
  /// starts waiting for the reports: until every worker has answered, or until `deadline`
  /// when there is one.
  void start(const std::function<void(int worker)>& send, std::optional<Clock::time_point> deadline = {});
  bool started() const { return started_; }

  /// A worker's report arrived. A second one from the same worker replaces the first
  /// (never happens in a correct protocol; the count stays right).
  void on_report(int worker, std::string bytes);

  /// Every worker has answered, or the deadline has passed.
  bool finished(Clock::time_point now = Clock::now()) const;
  /// Workers that have not answered (yet).
  int missing() const { return workers_ - answered_; }
  int workers() const { return workers_; }

  /// Blocking form: receives with `receive(max_wait)` — which returns the worker and bytes of
  /// a report, or nullopt for nothing or a message that is not one — until finished().
  using Report = std::pair<int, std::string>;
  void collect(const std::function<std::optional<Report>(std::chrono::microseconds max_wait)>& receive,
               std::chrono::microseconds poll = std::chrono::milliseconds(100));

  /// The reports by worker; nullopt for a worker that did not answer.
  const std::vector<std::optional<std::string>>& reports() const { return reports_; }

 private:
  int workers_;
  int answered_ = 0;
  bool started_ = false;
  std::optional<Clock::time_point> deadline_;
  std::vector<std::optional<std::string>> reports_;
};

}  // namespace rankpool::runtime
