#include "rankpool/farm/executor.hpp"

#include <cstdio>

#include "rankpool/farm/local_transport.hpp"

namespace rankpool::farm {

struct Executor::Shared {
  struct Done {
    std::string wire;
    RankStats stats;
    std::string error;  // the batch could not be decoded
  };
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::string> queue;
  std::deque<Done> done;
  bool stopping = false;
  bool busy = false;             // the current runner holds a batch
  BatchHeader current;           // ... this one
  TaskWatch::Clock::time_point current_start{};
};

Executor::Executor(const Registry& registry, std::chrono::microseconds timeout)
    : registry_(registry), timeout_(timeout), shared_(std::make_shared<Shared>()) {
  start_runner();
}

Executor::~Executor() {
  {
    std::lock_guard lock(shared_->m);
    shared_->stopping = true;
  }
  shared_->cv.notify_all();
  runner_.watch->abandon();
  // A runner inside a task cannot be stopped: leave it (it exits when the task returns).
  if (runner_.watch->running()) runner_.thread.detach();
  else runner_.thread.join();
}

void Executor::start_runner() {
  runner_.watch = std::make_shared<TaskWatch>();
  runner_.thread = std::thread(run, shared_, runner_.watch, &registry_);
}

void Executor::submit(std::string batch) {
  {
    std::lock_guard lock(shared_->m);
    shared_->queue.push_back(std::move(batch));
  }
  shared_->cv.notify_one();
}

bool Executor::idle() {
  std::lock_guard lock(shared_->m);
  return shared_->queue.empty() && !shared_->busy && shared_->done.empty();
}

int Executor::stuck_threads() const {
  int n = 0;
  for (const auto& w : abandoned_) n += w->running() ? 1 : 0;
  return n;
}

std::optional<std::string> Executor::poll() {
  {
    std::lock_guard lock(shared_->m);
    if (!shared_->done.empty()) {
      Shared::Done d = std::move(shared_->done.front());
      shared_->done.pop_front();
      if (!d.error.empty()) throw ProtocolError(d.error);
      stats_.tasks += d.stats.tasks;
      stats_.failed += d.stats.failed;
      stats_.batches += d.stats.batches;
      stats_.busy_s += d.stats.busy_s;
      return std::move(d.wire);
    }
  }
  const auto now = TaskWatch::Clock::now();
  const auto position = runner_.watch->expire(now, timeout_);
  if (!position) return std::nullopt;

  // Answer for the batch now: the task that ran too long failed, the others go back unrun.
  BatchHeader h;
  TaskWatch::Clock::time_point started;
  {
    std::lock_guard lock(shared_->m);
    h = shared_->current;
    started = shared_->current_start;
    shared_->busy = false;
  }
  ResultMessage r;
  r.batch_id = h.batch_id;
  r.count = h.count;
  r.busy_ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now - started).count());
  char msg[96];
  std::snprintf(msg, sizeof msg, "timed out after %.3g s (task timeout)",
                std::chrono::duration<double>(timeout_).count());
  for (std::uint32_t i = 0; i < h.count; ++i) {
    r.failures.push_back(i == *position ? TaskFailure{i, msg, FailureKind::timeout}
                                        : TaskFailure{i, "not run: its batch was abandoned at a timeout",
                                                      FailureKind::not_run});
  }
  stats_.tasks += 1;
  stats_.failed += 1;
  stats_.batches += 1;
  stats_.busy_s += std::chrono::duration<double>(now - started).count();
  abandoned_.push_back(runner_.watch);
  runner_.thread.detach();
  start_runner();
  return encode_result(r);
}

void Executor::run(std::shared_ptr<Shared> shared, std::shared_ptr<TaskWatch> watch, const Registry* registry) {
  for (;;) {
    std::string batch;
    {
      std::unique_lock lock(shared->m);
      shared->cv.wait(lock, [&] { return shared->stopping || watch->abandoned() || !shared->queue.empty(); });
      if (shared->stopping || watch->abandoned()) return;
      batch = std::move(shared->queue.front());
      shared->queue.pop_front();
      Shared::Done d;
      try {
        Reader in(batch);
        shared->current = decode_batch_header(in);
      } catch (const std::exception& e) {
        d.error = e.what();
        shared->done.push_back(std::move(d));
        continue;
      }
      shared->current_start = TaskWatch::Clock::now();
      shared->busy = true;
    }
    Shared::Done d;
    try {
      d.wire = execute_batch(*registry, batch, d.stats, watch.get());
    } catch (const BatchAbandoned&) {
      return;  // the executor answered for this batch and runs the rest elsewhere
    } catch (const std::exception& e) {
      d.error = e.what();
    }
    std::lock_guard lock(shared->m);
    if (watch->abandoned()) return;
    shared->busy = false;
    shared->done.push_back(std::move(d));
  }
}

}  // namespace rankpool::farm
