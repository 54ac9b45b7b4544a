#include "farm/executor.hpp"

#include <cstdio>

#include "farm/local_transport.hpp"

namespace rankpool::farm {

struct Executor::Shared {
  struct Done {
    std::string wire;
    RankStats stats;
    std::string error;  // the batch could not be decoded
  };
  struct Slot {
    bool busy = false;    // the slot's current runner holds a batch
    BatchHeader current;  // ... this one
    TaskWatch::Clock::time_point start{};
  };
  explicit Shared(int n) : slots(static_cast<std::size_t>(n)) {}
  std::mutex m;
  std::condition_variable cv;       // runners wait for batches
  std::condition_variable done_cv;  // the owner waits for results
  std::deque<std::string> queue;
  std::deque<std::string> notes;  // TaskContext::note() of running tasks, oldest first
  std::function<void(std::string_view)> note_sink;
  std::deque<Done> done;
  std::vector<Slot> slots;
  bool stopping = false;
  std::atomic<bool> cancel{false};  // this_task().cancel of every slot
};

Executor::Executor(const Registry& registry, std::chrono::microseconds timeout, int slots, TaskContext context,
                   std::chrono::milliseconds drain)
    : registry_(registry),
      timeout_(timeout),
      context_(context),
      drain_(drain),
      shared_(std::make_shared<Shared>(std::max(1, slots))),
      runners_(static_cast<std::size_t>(std::max(1, slots))) {
  context_.cancel = &shared_->cancel;
  shared_->note_sink = [s = shared_.get()](std::string_view bytes) {
    {
      std::lock_guard lock(s->m);
      s->notes.emplace_back(bytes);
    }
    s->done_cv.notify_all();
  };
  context_.note_sink = &shared_->note_sink;
  for (int s = 0; s < static_cast<int>(runners_.size()); ++s) start_runner(s);
}

void Executor::cancel() { shared_->cancel.store(true); }

Executor::~Executor() {
  {
    std::lock_guard lock(shared_->m);
    shared_->queue.clear();
  }
  cancel();
  if (drain_.count() > 0) {
    // Tasks that watch this_task().cancelled() return soon: give them the chance.
    const auto deadline = std::chrono::steady_clock::now() + drain_;
    std::unique_lock lock(shared_->m);
    auto running = [&] {
      for (const auto& s : shared_->slots)
        if (s.busy) return true;
      return false;
    };
    while (running() && std::chrono::steady_clock::now() < deadline) {
      shared_->done_cv.wait_until(lock, deadline);
    }
  }
  {
    std::lock_guard lock(shared_->m);
    shared_->stopping = true;
  }
  shared_->cv.notify_all();
  for (auto& r : runners_) {
    r.watch->abandon();
    // A runner inside a task cannot be stopped: leave it (it exits when the task returns).
    if (r.watch->running())
      r.thread.detach();
    else
      r.thread.join();
  }
}

void Executor::start_runner(int slot) {
  auto& r = runners_[static_cast<std::size_t>(slot)];
  r.watch = std::make_shared<TaskWatch>();
  r.thread = std::thread(run, shared_, r.watch, &registry_, slot, context_);
}

void Executor::submit(std::string batch) {
  {
    std::lock_guard lock(shared_->m);
    shared_->queue.push_back(std::move(batch));
  }
  shared_->cv.notify_one();
}

bool Executor::idle() { return busy() == 0; }

void Executor::wait(std::chrono::microseconds max_wait) {
  std::unique_lock lock(shared_->m);
  shared_->done_cv.wait_for(lock, max_wait, [&] { return !shared_->done.empty() || !shared_->notes.empty(); });
}

std::optional<std::pair<Tag, std::string>> Executor::next_message() {
  {
    // A task's notes are queued before its result: taking notes first keeps them first.
    std::lock_guard lock(shared_->m);
    if (!shared_->notes.empty()) {
      std::string n = std::move(shared_->notes.front());
      shared_->notes.pop_front();
      return std::make_pair(Tag::Note, std::move(n));
    }
  }
  if (auto r = poll()) return std::make_pair(Tag::Result, std::move(*r));
  return std::nullopt;
}

int Executor::busy() {
  std::lock_guard lock(shared_->m);
  int n = static_cast<int>(shared_->queue.size() + shared_->done.size() + shared_->notes.size());
  for (const auto& s : shared_->slots) n += s.busy ? 1 : 0;
  return n;
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
  if (timeout_.count() <= 0) return std::nullopt;
  const auto now = TaskWatch::Clock::now();
  for (int slot = 0; slot < static_cast<int>(runners_.size()); ++slot) {
    auto& runner = runners_[static_cast<std::size_t>(slot)];
    const auto position = runner.watch->expire(now, timeout_);
    if (!position) continue;

    // Answer for the batch now: the task that ran too long failed, the others go back unrun.
    BatchHeader h;
    TaskWatch::Clock::time_point started;
    {
      std::lock_guard lock(shared_->m);
      auto& s = shared_->slots[static_cast<std::size_t>(slot)];
      h = s.current;
      started = s.start;
      s.busy = false;
    }
    ResultMessage r;
    r.batch_id = h.batch_id;
    r.count = h.count;
    r.busy_ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now - started).count());
    char msg[96];
    std::snprintf(msg, sizeof msg, "timed out after %.3g s (task timeout)",
                  std::chrono::duration<double>(timeout_).count());
    for (std::uint32_t i = 0; i < h.count; ++i) {
      r.failures.push_back(i == *position
                               ? TaskFailure{i, msg, FailureKind::timeout}
                               : TaskFailure{i, "not run: its batch was abandoned at a timeout", FailureKind::not_run});
    }
    stats_.tasks += 1;
    stats_.failed += 1;
    stats_.batches += 1;
    stats_.busy_s += std::chrono::duration<double>(now - started).count();
    abandoned_.push_back(runner.watch);
    runner.thread.detach();
    start_runner(slot);
    return encode_result(r);
  }
  return std::nullopt;
}

void Executor::run(std::shared_ptr<Shared> shared, std::shared_ptr<TaskWatch> watch, const Registry* registry, int slot,
                   TaskContext context) {
  context.slot = slot;
  detail::ScopedTaskContext scope(context);
  auto& me = shared->slots[static_cast<std::size_t>(slot)];
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
        ByteReader in(batch, "farm batch");
        me.current = decode_batch_header(in);
      } catch (const std::exception& e) {
        d.error = e.what();
        shared->done.push_back(std::move(d));
        shared->done_cv.notify_all();
        continue;
      }
      me.start = TaskWatch::Clock::now();
      me.busy = true;
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
    me.busy = false;
    shared->done.push_back(std::move(d));
    shared->done_cv.notify_all();
  }
}

}  // namespace rankpool::farm
