#include "farm/local_transport.hpp"

#include <chrono>
#include <thread>

namespace rankpool::farm {

std::string execute_batch(const Registry& registry, std::string_view batch_message, RankStats& stats,
                          TaskWatch* watch) {
  ByteReader in(batch_message, "farm batch");
  const BatchHeader h = decode_batch_header(in);
  std::string wire;
  begin_result(wire, h.batch_id, h.count);
  std::vector<TaskFailure> failures;
  std::vector<float> seconds;
  const auto t0 = std::chrono::steady_clock::now();
  if (h.type >= registry.size()) {
    for (std::uint32_t i = 0; i < h.count; ++i) {
      failures.push_back({i, "protocol error: unknown task type #" + std::to_string(h.type)});
    }
  } else {
    registry.at(h.type).run_batch(h, in.rest(), wire, failures, seconds, watch);
  }
  const auto busy = std::chrono::steady_clock::now() - t0;
  finish_result(wire, static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(busy).count()),
                failures, seconds);
  stats.busy_s += std::chrono::duration<double>(busy).count();
  stats.tasks += h.count;
  stats.failed += failures.size();
  ++stats.batches;
  return wire;
}

LocalTransport::LocalTransport(const Registry& registry, int workers, std::vector<int> ranks,
                               std::chrono::microseconds task_timeout, int slots, TaskContext context, bool threaded,
                               std::chrono::milliseconds drain)
    : registry_(registry), workers_(static_cast<std::size_t>(workers)), async_(slots > 1 || threaded) {
  for (int w = 0; w < workers; ++w) {
    workers_[w].stats.rank = ranks.empty() ? w + 1 : ranks.at(w);
    workers_[w].stats.role = "worker";
    TaskContext c = context;
    c.rank = workers_[w].stats.rank;
    if (task_timeout.count() > 0 || async_) {
      workers_[w].executor = std::make_unique<Executor>(registry, task_timeout, slots, c, drain);
    }
  }
}

void LocalTransport::send(int worker, Tag tag, std::string bytes) {
  auto& w = workers_.at(worker);
  ++counters_.msgs_sent;
  counters_.bytes_sent += bytes.size();
  if (tag == Tag::Stop) {
    w.stopped = true;
    return;
  }
  if (tag != Tag::Batch) throw ProtocolError("local transport: unexpected tag");
  ByteReader in(bytes, "farm batch");
  log_.push_back({worker, decode_batch_header(in)});
  if (async_ && w.fail_with.empty()) {
    w.executor->submit(std::move(bytes));
    return;
  }
  w.inbox.push_back(std::move(bytes));
  order_.push_back(worker);
}

std::optional<Incoming> LocalTransport::receive(std::chrono::microseconds max_wait) {
  if (!ready_.empty()) {
    Incoming m = std::move(ready_.front());
    ready_.pop_front();
    return m;
  }
  if (async_ && order_.empty()) {
    // Results in the order the workers' slots finish them, waiting at most max_wait.
    const auto deadline = std::chrono::steady_clock::now() + max_wait;
    auto pause = std::chrono::microseconds(20);
    for (;;) {
      for (int w = 0; w < workers(); ++w) {
        auto& wk = workers_[static_cast<std::size_t>(w)];
        const RankStats before = wk.executor->stats();
        auto out = wk.executor->next_message();
        if (!out) continue;
        auto result = std::move(out->second);
        if (out->first == Tag::Note) return Incoming{w, Tag::Note, std::move(result)};
        const RankStats& after = wk.executor->stats();
        wk.stats.tasks += after.tasks - before.tasks;
        wk.stats.failed += after.failed - before.failed;
        wk.stats.batches += after.batches - before.batches;
        wk.stats.busy_s += after.busy_s - before.busy_s;
        ++counters_.msgs_recv;
        counters_.bytes_recv += result.size();
        return Incoming{w, Tag::Result, std::move(result)};
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return std::nullopt;
      if (workers() == 1) {
        // Woken by the result itself; short enough that a task timeout is still enforced.
        workers_.front().executor->wait(std::min<std::chrono::microseconds>(
            std::chrono::duration_cast<std::chrono::microseconds>(deadline - now), std::chrono::milliseconds(10)));
        continue;
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
  }
  if (order_.empty()) return std::nullopt;
  const int w = order_.front();
  order_.pop_front();
  auto& wk = workers_[w];
  std::string batch = std::move(wk.inbox.front());
  wk.inbox.pop_front();
  Incoming msg;
  msg.worker = w;
  msg.tag = Tag::Result;
  if (!wk.fail_with.empty()) {
    ByteReader in(batch, "farm batch");
    const BatchHeader h = decode_batch_header(in);
    ResultMessage r;
    r.batch_id = h.batch_id;
    r.count = h.count;
    for (std::uint32_t i = 0; i < h.count; ++i) r.failures.push_back({i, wk.fail_with});
    wk.stats.tasks += h.count;
    wk.stats.failed += h.count;
    ++wk.stats.batches;
    msg.bytes = encode_result(r);
  } else if (wk.executor) {
    // Still synchronous: wait for the batch's result, which the executor gives at the latest
    // when the timeout abandons the batch.
    const RankStats before = wk.executor->stats();
    wk.executor->submit(std::move(batch));
    for (;;) {
      auto out = wk.executor->next_message();
      if (!out) {
        std::this_thread::sleep_for(std::chrono::microseconds(20));
        continue;
      }
      if (out->first == Tag::Note) {
        ready_.push_back(Incoming{w, Tag::Note, std::move(out->second)});
        continue;
      }
      msg.bytes = std::move(out->second);
      break;
    }
    const RankStats& after = wk.executor->stats();
    wk.stats.tasks += after.tasks - before.tasks;
    wk.stats.failed += after.failed - before.failed;
    wk.stats.batches += after.batches - before.batches;
    wk.stats.busy_s += after.busy_s - before.busy_s;
  } else {
    msg.bytes = execute_batch(registry_, batch, wk.stats);
  }
  ++counters_.msgs_recv;
  counters_.bytes_recv += msg.bytes.size();
  if (!ready_.empty()) {  // the batch's notes first
    ready_.push_back(std::move(msg));
    msg = std::move(ready_.front());
    ready_.pop_front();
  }
  return msg;
}

}  // namespace rankpool::farm
