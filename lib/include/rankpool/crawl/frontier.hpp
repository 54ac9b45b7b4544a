#pragma once
// The crawl engine's frontier (issue #16, "Memory per URL"): one queue per host, smallest depth
// first and first-in-first-out within a depth (the engine's BFS order), kept in memory up to a
// budget shared by all the hosts of an engine (--frontier-memory) and spilled to one append-only
// file beyond it, like Heritrix's and BUbiNG's disk queues.
//
// Each host keeps one FIFO per depth, made of segments: a segment is a run of entries either in
// memory or on disk (written as one chunk, read back as one when it reaches the front). While the
// budget is exceeded, new entries gather in a tail segment that goes to disk once it holds a
// chunk's worth; the front segment is never written out (it is being consumed), so a spilled
// host costs one chunk in memory at most beyond its front. Order never changes, so a crawl
// with a tiny budget is the crawl with an unlimited one.

#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "rankpool/status.hpp"

namespace rankpool::crawl {

/// What the frontier holds per queued URL.
struct FrontierEntry {
  int depth = 0;
  std::string url;
  std::string referrer;  // from the offer that queued it
  bool operator==(const FrontierEntry&) const = default;
};

/// The spill file and the memory budget that every HostQueue of one engine shares.
class FrontierStore {
 public:
  /// `memory_limit`: bytes of queued entries kept in memory before spilling (0 = no limit).
  /// `dir`: where the (unlinked) spill file is made, "" = $TMPDIR or /tmp.
  explicit FrontierStore(std::uint64_t memory_limit, std::string dir = {});
  ~FrontierStore();
  FrontierStore(const FrontierStore&) = delete;
  FrontierStore& operator=(const FrontierStore&) = delete;

  /// Estimated bytes of the entries held in memory (strings and their bookkeeping).
  std::uint64_t memory_bytes() const { return memory_; }
  std::uint64_t disk_bytes() const { return end_; }
  /// Entries written to disk so far.
  std::uint64_t spilled() const { return spilled_; }
  /// The first disk error (the entries then stay in memory), "" when none.
  const std::string& error() const { return error_; }
  bool spilling() const { return limit_ > 0 && memory_ > limit_ && error_.empty(); }
  /// A tail segment goes to disk once it holds this many bytes.
  std::uint64_t chunk_bytes() const { return chunk_; }

  /// Test hook: writes fail as on a full disk.
  void fail_writes_for_testing(bool fail) { fail_writes_ = fail; }

 private:
  friend class HostQueue;
  Result<std::uint64_t> write(const std::string& data);  // offset
  Status read(std::uint64_t offset, std::string& data) const;
  std::uint64_t limit_, chunk_;
  std::string dir_;
  int fd_ = -1;
  bool fail_writes_ = false;
  std::string error_;
  std::uint64_t memory_ = 0, end_ = 0, spilled_ = 0;
};

class HostQueue {
 public:
  explicit HostQueue(FrontierStore& store) : store_(&store) {}
  ~HostQueue();
  HostQueue(const HostQueue&) = delete;
  HostQueue& operator=(const HostQueue&) = delete;

  void push(FrontierEntry entry);
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  /// The next entry: smallest depth, first in. Reads its segment back from disk when needed;
  /// a spill file that cannot be read back (an I/O error on a file this process wrote) throws
  /// std::runtime_error. Valid until the next push or pop.
  const FrontierEntry& top();
  void pop();

 private:
  struct Segment {
    // In memory: entries[head...] (a vector, not a deque: a spilled segment keeps no buffer).
    std::vector<FrontierEntry> entries;
    std::size_t head = 0;
    std::uint64_t offset = 0, bytes = 0, count = 0;  // on disk when count > 0 and entries is empty
    std::uint64_t memory = 0;                        // accounted bytes: strings not popped, slots (capacity), nodes
    bool on_disk() const { return count > 0 && entries.empty(); }
  };
  static std::uint64_t cost(const FrontierEntry& e);  // its strings' heap blocks
  static std::uint64_t node_cost();                   // a segment's list node and its depth's map node
  void spill(Segment& s, int depth);
  void load(Segment& s, int depth);
  FrontierStore* store_;
  // By depth. A list, not a deque: an empty std::deque allocates 576 bytes, and a crawl over
  // many origins holds a FIFO for each depth of each host with work (~10 MB at 5,000 hosts).
  std::map<int, std::list<Segment>> fifos_;
  std::size_t size_ = 0;
};

}  // namespace rankpool::crawl
