#pragma once
// Private to the distributed crawler (lib/src/crawl): which ranks crawl, which messages go to
// the coordinator, and the batching limits the worker and the coordinator share.
//
// Rank 0 is the coordinator; ranks 1..N-1 crawl (worker index = rank - 1). A single rank is
// both: the coordinator and worker 0.

#include <sys/resource.h>

#include <chrono>
#include <cstddef>

#include "rankpool/crawl/protocol.hpp"

namespace rankpool::crawl {

using Clock = std::chrono::steady_clock;

// Batching: a URL batch leaves when it is this big or this old, so the owner starts on
// it soon without one message per link; records leave at most every 100 ms.
inline constexpr std::size_t kUrlBatch = 256;
inline constexpr auto kUrlBatchAge = std::chrono::milliseconds(2);
inline constexpr std::size_t kRecordBatch = 512;
inline constexpr auto kRecordAge = std::chrono::milliseconds(100);
// After an interrupt, ranks wait this long for each other before leaving anyway: a run
// that was asked to stop must not hang on a rank that is already gone.
inline constexpr auto kInterruptGrace = std::chrono::seconds(3);

inline int worker_count(int size) { return size == 1 ? 1 : size - 1; }
inline int worker_rank(int w, int size) { return size == 1 ? 0 : w + 1; }
inline int worker_index(int rank, int size) { return size == 1 ? 0 : rank - 1; }

/// Whether a message with this tag is for the coordinator (otherwise for a worker).
inline bool for_master(CrawlTag t) {
  return t == CrawlTag::Records || t == CrawlTag::PermitRequest || t == CrawlTag::Idle || t == CrawlTag::ProbeReply ||
         t == CrawlTag::Interrupt || t == CrawlTag::FinalPart || t == CrawlTag::Final;
}

inline long peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;  // KiB on Linux
}

/// CPU seconds (user + system) this process has used so far.
inline double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace rankpool::crawl
