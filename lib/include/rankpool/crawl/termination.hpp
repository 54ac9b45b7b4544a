#pragma once
// When the distributed crawl is over: the master's termination detection, apart from the
// messages that feed it so that tests can drive any interleaving.
//
// The crawl is over when every worker is idle and no Urls message is in transit. Workers
// report Idle with the counts of Urls messages they have sent and received; when all
// reports say idle and the sent total (the master's seed messages included) equals the
// received total, the master probes, and the run is over if every reply is idle with the
// same counts as the reports the probe started from (Mattern's four-counter method: two
// equal waves mean nothing moved in between).
//
// Every worker's messages reach the master in the order sent, so the last Idle or
// ProbeReply received from a worker is its newest state. A reply must not overwrite an
// Idle that arrived after it: a worker busy at the probe answers "not idle", then goes idle
// and says so once — if the master then took the older reply as the newest state, it would
// wait for an Idle that never comes (the hang this class was split out to fix).

#include <cstdint>
#include <optional>
#include <vector>

#include "rankpool/crawl/protocol.hpp"

namespace rankpool::crawl {

class Termination {
 public:
  explicit Termination(int workers);

  /// The master sent a Urls message (seeds, a resumed frontier) to a worker.
  void master_sent() { ++master_sent_; }

  /// A worker's Idle. Returns the number of a probe to send to every worker now, if one
  /// should start.
  std::optional<std::uint64_t> on_idle(int worker, const Counters& c);

  struct Verdict {
    bool over = false;                   // every worker idle, nothing in transit: finish
    std::optional<std::uint64_t> probe;  // else: a new probe to send now, if any
  };
  /// A worker's ProbeReply. Replies to a probe that is no longer current are ignored.
  Verdict on_reply(int worker, const Counters& c);

  /// No more probes (the run is finishing for another reason).
  void stop() { stopped_ = true; }

  bool probing() const { return probing_; }
  std::uint64_t probes() const { return probe_; }

 private:
  std::optional<std::uint64_t> maybe_probe();
  bool balanced(const std::vector<Counters>& c) const;

  int workers_;
  std::vector<Counters> latest_;    // each worker's newest Idle or ProbeReply
  std::vector<Counters> baseline_;  // latest_ when the current probe started
  std::vector<Counters> replies_;   // the current probe's replies
  std::vector<bool> replied_;
  int replies_in_ = 0;
  std::uint64_t master_sent_ = 0, probe_ = 0;
  bool probing_ = false, stopped_ = false;
};

}  // namespace rankpool::crawl
