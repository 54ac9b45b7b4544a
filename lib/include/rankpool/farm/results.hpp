#pragma once
// What the master hands back: per-task outcomes, map results, the options of map() and
// submit(), and the errors the farm reports. Included by master.hpp.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace rankpool::farm {

class Journal;

/// A clear error in how the farm is used (unknown type, queue without workers, ...).
struct FarmError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The run was interrupted by a signal (FarmOptions::interrupt): thrown out of map() and
/// wait_all() after the results of batches returning within the grace period were kept.
/// Not a FarmError: code that handles a usage error must not swallow Ctrl-C by accident.
struct Interrupted : std::runtime_error {
  Interrupted(int signal, const std::string& what) : std::runtime_error(what), signal(signal) {}
  int signal;
};

/// What one task produced. `value` points into the farm's storage; a callback may move from it.
template <class Out>
struct Outcome {
  std::size_t index = 0;  // position in the map's input, or the submit() sequence number
  Out* value = nullptr;   // null when the task failed after all retries
  std::string error;      // the last exception's message when it failed
  int attempts = 1;
  int rank = -1;              // rank that ran the (last) attempt
  double seconds = 0;         // the task's time (or its batch's mean, see TaskTypeOptions::time_each)
  bool from_journal = false;  // finished in an earlier run, read back from MapOptions::journal
  bool ok() const { return value != nullptr; }
};

struct FailureReport {
  std::size_t index = 0;
  std::string message;
  int attempts = 0;
  int rank = -1;
};

enum class Order {
  input,       // callbacks in input order (results that arrive early wait for their turn)
  completion,  // callbacks as results arrive
};

template <class Out>
struct MapOptions {
  Order order = Order::input;
  std::function<void(Outcome<Out>&)> on_result;  // called once per input
  bool keep_values = true;                       // false: values are only passed to on_result (streaming)
  Journal* journal = nullptr;                    // record each finished task there; on a resumed journal, tasks it
                                                 // holds are not run again but delivered from it (from_journal)
};

/// Which rank ran a run of consecutive inputs, and how long each took. Kept per batch,
/// not per task, so that a map over a million tiny inputs does not pay for bookkeeping
/// it never reads.
struct TaskSpan {
  std::uint32_t first = 0;
  std::uint32_t count = 0;
  int rank = -1;
  float seconds = 0;  // each task's time: the batch's mean unless measured per task
};

template <class Out>
struct MapResult {
  std::vector<Out> values;              // in input order (empty if !keep_values);
                                        // default-constructed where a task failed
  std::vector<FailureReport> failures;  // in input order
  std::vector<TaskSpan> spans;          // sorted by first; every input is in one
  std::vector<float> task_seconds;      // per input, for types registered with time_each
  bool ok() const { return failures.empty(); }
  /// The rank that ran input i (its last attempt), or -1.
  int rank_of(std::size_t i) const {
    const TaskSpan* s = span_of(i);
    return s ? s->rank : -1;
  }
  double seconds_of(std::size_t i) const {
    if (!task_seconds.empty()) return task_seconds[i];
    const TaskSpan* s = span_of(i);
    return s ? s->seconds : 0.0;
  }

 private:
  const TaskSpan* span_of(std::size_t i) const {
    auto it =
        std::upper_bound(spans.begin(), spans.end(), i, [](std::size_t v, const TaskSpan& s) { return v < s.first; });
    if (it == spans.begin()) return nullptr;
    --it;
    return i < static_cast<std::size_t>(it->first) + it->count ? &*it : nullptr;
  }
};

/// Options of one submit().
struct SubmitOptions {
  int avoid_rank = -1;  // run the task on another rank than this one when one serves its type:
                        // the caller's own retry of a task that failed there (a bad node)
};

struct WaitSummary {
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  bool ok() const { return failed == 0; }
};

}  // namespace rankpool::farm
