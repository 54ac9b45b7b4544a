#include "rankpool/runtime/stop.hpp"

#include <stdexcept>

namespace rankpool::runtime {

StopGather::StopGather(int workers) : workers_(workers), reports_(static_cast<std::size_t>(workers)) {
  if (workers < 0) throw std::invalid_argument("StopGather: negative worker count");
}

void StopGather::start(const std::function<void(int)>& send, std::optional<Clock::time_point> deadline) {
  if (started_) return;
  started_ = true;
  deadline_ = deadline;
  for (int w = 0; w < workers_; ++w) send(w);
}

void StopGather::on_report(int worker, std::string bytes) {
  if (worker < 0 || worker >= workers_) throw std::out_of_range("StopGather: no worker " + std::to_string(worker));
  auto& slot = reports_[static_cast<std::size_t>(worker)];
  if (!slot) ++answered_;
  slot = std::move(bytes);
}

bool StopGather::finished(Clock::time_point now) const {
  return answered_ == workers_ || (deadline_ && now >= *deadline_);
}

void StopGather::collect(const std::function<std::optional<Report>(std::chrono::microseconds)>& receive,
                         std::chrono::microseconds poll) {
  while (!finished()) {
    if (auto r = receive(poll)) on_report(r->first, std::move(r->second));
  }
}

}  // namespace rankpool::runtime
