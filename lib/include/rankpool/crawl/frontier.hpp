#pragma once
// The crawl engine's frontier (issue #16, "Memory per URL"): one queue per host, smallest depth
// first and first-in-first-out within a depth (the engine's BFS order), kept in memory up to a
// budget shared by all the hosts of an engine (--frontier-memory) and spilled to one append-only
// file beyond it, like Heritrix's and BUbiNG's disk queues.
//
// Each host keeps one FIFO per depth, made of segments: a segment is a run of entries either in
// memory or on disk (written as one chunk, read back as one when it reaches the front). The
// store knows all its queues. When a push leaves it over the budget, it evicts: it takes the
// runs of adjacent in-memory segments of every FIFO of every queue, largest first, and writes
// each out as one segment until memory is at 3/4 of the budget or below (the hysteresis spreads
// the scan over all hosts across many pushes). Fronts go too (their unconsumed entries), except
// the one the last top() returned, so a segment just read back is used before it can go again,
// and fronts read back from disk go after everything else (or they come back at once: thrash).
// Order never changes, so a crawl with a tiny budget is the crawl with an unlimited one.
//
// What stays when everything is spilled: each on-disk segment keeps its bookkeeping in memory
// (a list node, and its depth's map node: about 180 bytes, counted in the budget), at least one
// per (host, depth) FIFO with work, more where a FIFO was spilled several times. The budget
// holds as long as that index fits in it; beyond, memory is the index plus what a quarter of
// the budget (or of the index, when more) brings before the next eviction (no scan on every
// push). A segment, and a run written as one, stops at about 64 KiB of memory: reads and writes
// of that size.

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

class HostQueue;

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
  /// The most memory_bytes() has been after a push (and its eviction) or a read back from disk,
  /// over the store's life (index_bytes() included: the budget does not bound that part).
  std::uint64_t peak_bytes() const { return peak_; }
  std::uint64_t disk_bytes() const { return end_; }
  /// Entries written to disk so far (one written again after it was read back counts again).
  std::uint64_t spilled() const { return spilled_; }
  /// The first disk error (the entries then stay in memory), "" when none.
  const std::string& error() const { return error_; }
  /// Bytes of memory_bytes() that are the bookkeeping of on-disk segments (what no eviction frees).
  std::uint64_t index_bytes() const { return index_; }
  /// Evictions run so far (each a scan of all the queues).
  std::uint64_t evictions() const { return evictions_; }

  /// Test hook: writes fail as on a full disk.
  void fail_writes_for_testing(bool fail) { fail_writes_ = fail; }

 private:
  friend class HostQueue;
  Result<std::uint64_t> write(const std::string& data);  // offset
  Status read(std::uint64_t offset, std::string& data) const;
  void enroll(HostQueue* q);
  void withdraw(HostQueue* q);
  void evict();  // after a push over the budget
  std::uint64_t limit_;
  std::string dir_;
  int fd_ = -1;
  bool fail_writes_ = false;
  std::string error_;
  std::uint64_t memory_ = 0, end_ = 0, spilled_ = 0, index_ = 0, evictions_ = 0, peak_ = 0;
  std::uint64_t evict_above_;       // the next eviction runs when memory_ exceeds this
  std::vector<HostQueue*> queues_;  // each knows its slot (HostQueue::slot_)
  const void* pinned_ = nullptr;    // the segment the last top() returned: never evicted
};

/// One host's queue. It enrolls with its store (which evicts across all of them) and must not
/// outlive it; neither copyable nor movable: the store keeps its address.
class HostQueue {
 public:
  explicit HostQueue(FrontierStore& store);
  ~HostQueue();
  HostQueue(const HostQueue&) = delete;
  HostQueue& operator=(const HostQueue&) = delete;

  void push(FrontierEntry entry);
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  /// The next entry: smallest depth, first in. Reads its segment back from disk when needed;
  /// a spill file that cannot be read back (an I/O error on a file this process wrote) throws
  /// std::runtime_error. Valid until this queue's next pop, or until another queue of the store
  /// calls top() and then something is pushed (an eviction may then write this entry's segment
  /// out). A push to this queue never moves it: entries behind it go to a segment of their own.
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
    // In memory, `offset` says whether it came back from disk (evicted last: it is being consumed).
    static constexpr std::uint64_t kReadBack = ~std::uint64_t{0};
    bool read_back() const { return !on_disk() && offset == kReadBack; }
  };
  static std::uint64_t cost(const FrontierEntry& e);  // its strings' heap blocks
  static std::uint64_t node_cost();                   // a segment's list node and its depth's map node
  using Fifo = std::list<Segment>;
  // Writes [first, last) of `fifo` (all in memory) out as one segment; false on a write error.
  bool spill(Fifo& fifo, Fifo::iterator first, Fifo::iterator last);
  void load(Segment& s, int depth);
  friend class FrontierStore;
  FrontierStore* store_;
  std::size_t slot_ = 0;  // in store_->queues_
  // By depth. A list, not a deque: an empty std::deque allocates 576 bytes, and a crawl over
  // many origins holds a FIFO for each depth of each host with work (~10 MB at 5,000 hosts).
  std::map<int, std::list<Segment>> fifos_;
  std::size_t size_ = 0;
};

}  // namespace rankpool::crawl
