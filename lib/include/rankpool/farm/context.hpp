#pragma once
// What a task may ask about where it runs: its rank, its slot on that rank, and whether the
// run is being stopped. Set by the farm on the thread that runs the task.

#include <atomic>
#include <functional>
#include <string_view>

namespace rankpool::farm {

struct TaskContext {
  int rank = 0;  // the rank running the task
  int slot = 0;  // 0-based slot of that rank (FarmOptions::slots): tasks on different slots run
                 // at the same time, tasks on one slot one after another
  const std::atomic<bool>* cancel = nullptr;                         // set when the run stops early (the master aborted
                                                                     // it, or an error): long tasks should give up
  const std::atomic<int>* interrupt = nullptr;                       // FarmOptions::interrupt: a signal arrived
  const std::function<void(std::string_view)>* note_sink = nullptr;  // see note()
  /// Sends `bytes` to the master while the task runs: FarmOptions::on_note receives them there,
  /// in order, before the task's result. Thread-safe: threads the task started may call it
  /// through a copy of this context. Without FarmOptions::on_note the bytes are dropped.
  void note(std::string_view bytes) const {
    if (note_sink && *note_sink) (*note_sink)(bytes);
  }
  bool cancelled() const {
    return (cancel && cancel->load(std::memory_order_relaxed)) ||
           (interrupt && interrupt->load(std::memory_order_relaxed) != 0);
  }
};

/// The context of the task running on the calling thread; outside a task, a default one
/// (rank 0, slot 0, never cancelled).
const TaskContext& this_task();

namespace detail {
/// Sets this_task() for the calling thread while it lives.
class ScopedTaskContext {
 public:
  explicit ScopedTaskContext(const TaskContext& c);
  ~ScopedTaskContext();
  ScopedTaskContext(const ScopedTaskContext&) = delete;
  ScopedTaskContext& operator=(const ScopedTaskContext&) = delete;

 private:
  const TaskContext* previous_;
};
}  // namespace detail

}  // namespace rankpool::farm
