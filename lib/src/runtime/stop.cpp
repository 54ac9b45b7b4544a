#include "rankpool/runtime/stop.hpp"

#include <stdexcept>

#include "rankpool/runtime/bytes.hpp"

namespace rankpool::runtime {

std::string encode_stop(const StopMessage& m) { return encode(m); }
StopMessage decode_stop(std::string_view bytes) { return decode<StopMessage>(bytes, "stop message"); }
std::string encode_report(const RankReport& r) { return encode(r); }
RankReport decode_report(std::string_view bytes) { return decode<RankReport>(bytes, "rank report"); }

StopGather::StopGather(int workers) : workers_(workers), reports_(static_cast<std::size_t>(workers)) {
  if (workers < 0) throw std::invalid_argument("StopGather: negative worker count");
}

void StopGather::start(const StopMessage& stop, const Send& send, std::optional<Clock::time_point> deadline) {
  if (started_) return;
  started_ = true;
  deadline_ = deadline;
  const std::string bytes = encode_stop(stop);
  for (int w = 0; w < workers_; ++w) send(w, bytes);
}

void StopGather::on_report(int worker, std::string_view bytes) {
  if (worker < 0 || worker >= workers_) throw std::out_of_range("StopGather: no worker " + std::to_string(worker));
  RankReport report = decode_report(bytes);
  auto& slot = reports_[static_cast<std::size_t>(worker)];
  if (!slot) ++answered_;
  slot = std::move(report);
}

bool StopGather::finished(Clock::time_point now) const {
  return answered_ == workers_ || (deadline_ && now >= *deadline_);
}

void StopGather::collect(const std::function<std::optional<Report>(std::chrono::microseconds)>& receive,
                         std::chrono::microseconds poll) {
  while (!finished()) {
    if (auto r = receive(poll)) on_report(r->first, r->second);
  }
}

}  // namespace rankpool::runtime
