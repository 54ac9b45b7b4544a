#pragma once
// The stop protocol every app ends a run with: rank 0 tells every worker to stop, and each
// worker answers with one report (who it is, and the app's own figures) — "stop and gather
// to rank 0". One wire format for every app: the two tags, the stop message and the report
// envelope are defined here; an app only chooses its report's payload (the farm's RankStats,
// the crawler's per-rank report). StopGather does the bookkeeping: who has answered, until
// when to wait (after an interrupt a worker inside a long task cannot answer, and a run that
// was asked to stop must not hang on it), which reports are missing.
//
// Transport-neutral: the caller sends and receives (a Transport, a Mesh); a loop that does
// other work meanwhile feeds on_report() (the crawler), one that only waits calls collect().

#include <boost/describe/class.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rankpool::runtime {

/// The stop protocol's tags, the same in every app (an app's own tags avoid them: the farm's
/// are 1, 2 and 5, the crawler's from 32).
inline constexpr int kStopTag = 3;    // rank 0 -> worker: a StopMessage
inline constexpr int kReportTag = 4;  // worker -> rank 0: a RankReport, the worker's last message

/// "No more work": `abort_reason` is empty for a normal end of run.
struct StopMessage {
  std::string abort_reason;
  std::int32_t signal = 0;  // the run was interrupted by this signal: no collective follows
  bool operator==(const StopMessage&) const = default;
};
BOOST_DESCRIBE_STRUCT(StopMessage, (), (abort_reason, signal))

/// A worker's answer to the stop: who it is (the per-rank row's first columns, stats.hpp),
/// then the app's own figures, encoded by the app.
struct RankReport {
  std::int32_t rank = 0;
  std::string host;
  std::string role;   // "worker", "master+worker", ...
  double wall_s = 0;  // from the start of the run to this rank's stop
  std::string payload;
  bool operator==(const RankReport&) const = default;
};
BOOST_DESCRIBE_STRUCT(RankReport, (), (rank, host, role, wall_s, payload))

// Byte codec layouts (bytes.hpp); decoders throw DecodeError on truncated or trailing input.
[[nodiscard]] std::string encode_stop(const StopMessage& m);
StopMessage decode_stop(std::string_view bytes);
[[nodiscard]] std::string encode_report(const RankReport& r);
RankReport decode_report(std::string_view bytes);

class StopGather {
 public:
  using Clock = std::chrono::steady_clock;

  /// Workers are numbered 0 .. workers-1 (the caller maps them to ranks).
  explicit StopGather(int workers);

  /// Sends `stop` (encoded once) to every worker through `send(worker, bytes)` with kStopTag
  /// (once; later calls do nothing) and starts waiting for the reports: until every worker
  /// has answered, or until `deadline` when there is one.
  using Send = std::function<void(int worker, const std::string& bytes)>;
  void start(const StopMessage& stop, const Send& send, std::optional<Clock::time_point> deadline = {});
  bool started() const { return started_; }

  /// A worker's report (kReportTag) arrived: decodes it (DecodeError when it is not one). A
  /// second one from the same worker replaces the first (never happens in a correct
  /// protocol; the count stays right).
  void on_report(int worker, std::string_view bytes);

  /// Every worker has answered, or the deadline has passed.
  bool finished(Clock::time_point now = Clock::now()) const;
  /// Workers that have not answered (yet).
  int missing() const { return workers_ - answered_; }
  int workers() const { return workers_; }

  /// Blocking form: receives with `receive(max_wait)` — which returns the worker and bytes of
  /// a kReportTag message, or nullopt for nothing or a message that is not one — until finished().
  using Report = std::pair<int, std::string>;
  void collect(const std::function<std::optional<Report>(std::chrono::microseconds max_wait)>& receive,
               std::chrono::microseconds poll = std::chrono::milliseconds(100));

  /// The reports by worker; nullopt for a worker that did not answer.
  const std::vector<std::optional<RankReport>>& reports() const { return reports_; }

 private:
  int workers_;
  int answered_ = 0;
  bool started_ = false;
  std::optional<Clock::time_point> deadline_;
  std::vector<std::optional<RankReport>> reports_;
};

}  // namespace rankpool::runtime
