// The master's termination detection (termination.hpp).

#include "rankpool/crawl/termination.hpp"

namespace rankpool::crawl {

Termination::Termination(int workers)
    : workers_(workers),
      latest_(static_cast<std::size_t>(workers)),
      baseline_(static_cast<std::size_t>(workers)),
      replies_(static_cast<std::size_t>(workers)),
      replied_(static_cast<std::size_t>(workers), false) {}

bool Termination::balanced(const std::vector<Counters>& c) const {
  std::uint64_t sent = master_sent_, received = 0;
  for (const auto& x : c) {
    sent += x.sent;
    received += x.received;
  }
  return sent == received;
}

std::optional<std::uint64_t> Termination::maybe_probe() {
  if (probing_ || stopped_) return std::nullopt;
  for (const auto& c : latest_)
    if (!c.idle) return std::nullopt;
  if (!balanced(latest_)) return std::nullopt;
  probing_ = true;
  ++probe_;
  replies_in_ = 0;
  baseline_ = latest_;
  replied_.assign(replied_.size(), false);
  return probe_;
}

std::optional<std::uint64_t> Termination::on_idle(int worker, const Counters& c) {
  Counters& l = latest_.at(static_cast<std::size_t>(worker));
  l.idle = true;
  l.sent = c.sent;
  l.received = c.received;
  return maybe_probe();
}

Termination::Verdict Termination::on_reply(int worker, const Counters& c) {
  const auto w = static_cast<std::size_t>(worker);
  if (!probing_ || c.probe != probe_ || replied_.at(w)) return {};  // an abandoned probe's answer
  replies_[w] = c;
  replied_[w] = true;
  // The reply is this worker's newest state (an Idle sent after it arrives after it).
  latest_[w].idle = c.idle;
  latest_[w].sent = c.sent;
  latest_[w].received = c.received;
  if (++replies_in_ < workers_) return {};
  probing_ = false;
  bool same = true;
  for (std::size_t v = 0; v < replies_.size(); ++v) {
    const Counters &r = replies_[v], &b = baseline_[v];
    if (!r.idle || r.sent != b.sent || r.received != b.received) same = false;
  }
  if (same && balanced(replies_)) return {true, std::nullopt};
  // Not yet: probe again from the newest states, which may include Idles that arrived
  // during this probe.
  return {false, maybe_probe()};
}

}  // namespace rankpool::crawl
