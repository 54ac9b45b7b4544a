#pragma once
// The one definition of what travels between the master and the workers of rankpool-run:
// a task going out (TaskInput) and its outcome coming back (TaskResult). The joblog, the
// JSONL records, the results files and the journal are all written from a TaskResult
// (logs.hpp), so each field has one meaning everywhere.

#include <boost/serialization/string.hpp>
#include <cstdint>
#include <string>

namespace rankpool::run {

struct TaskInput {
  std::uint64_t seq = 0;     // 1-based, {#} and RANKPOOL_TASK
  std::int32_t attempt = 1;  // 1-based, RANKPOOL_ATTEMPT
  std::uint64_t ntasks = 0;  // RANKPOOL_NTASKS
  std::string command;       // final, but for kSlotMarker (a template using {%})
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar& seq& attempt& ntasks& command;
  }
  bool operator==(const TaskInput&) const = default;
};

/// How a task's attempt ended.
enum class TaskStatus : std::uint8_t {
  ok = 0,           // exit status 0
  failed = 1,       // non-zero exit status, or killed by a signal it did not get from us
  timeout = 2,      // ran past --timeout and was killed
  interrupted = 3,  // killed because the run was stopped (SIGTERM/SIGINT, --halt now): not a
                    // failure of the task; --resume runs it again
  spawn_error = 4,  // could not be started at all (the message is in `error`)
  not_started = 5,  // prefetched by a worker, then the run stopped before it began: not
                    // recorded anywhere; --resume runs it
};
const char* to_string(TaskStatus s);

struct TaskResult {
  std::uint64_t seq = 0;
  std::int32_t attempt = 1;
  std::int32_t rank = 0;
  std::int32_t slot = 0;  // 1-based, as {%}
  std::string host;
  std::string command;    // the command as run, only when it differs from the master's
                          // copy (a template using {%}); empty otherwise
  double start_unix = 0;  // wall clock, seconds since the epoch
  double seconds = 0;
  std::int32_t exit_code = -1;  // -1 when it did not exit by itself (parallel's joblog convention)
  std::int32_t signal = 0;
  TaskStatus status = TaskStatus::failed;
  std::uint64_t out_bytes = 0, err_bytes = 0;  // everything it wrote
  std::string out, err;                        // what was kept of it (see RunOptions::max_output and logs.hpp)
  std::string error;                           // why it could not be started
  bool ok() const { return status == TaskStatus::ok; }
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar& seq& attempt& rank& slot& host& command& start_unix& seconds& exit_code& signal& status& out_bytes& err_bytes&
        out& err& error;
  }
  bool operator==(const TaskResult&) const = default;
};

}  // namespace rankpool::run
