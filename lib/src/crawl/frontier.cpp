// The engine's frontier: per-host queues with a shared memory budget and a spill file.
#include "rankpool/crawl/frontier.hpp"

#include "temp_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace rankpool::crawl {

namespace {

// A segment stops growing once it holds this many bytes of memory and its vector is full (no
// slack left behind), and a run of segments written as one stops at about as many (some 250
// URLs): reads and writes of that size, and no buffer of the budget's size.
constexpr std::uint64_t kSegmentBytes = 64 * 1024;

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(std::string_view& in, bool& ok) {
  if (in.size() < 4) {
    ok = false;
    return 0;
  }
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  in.remove_prefix(4);
  return v;
}

std::string get_str(std::string_view& in, bool& ok) {
  const std::uint32_t n = get_u32(in, ok);
  if (!ok || in.size() < n) {
    ok = false;
    return {};
  }
  std::string s(in.substr(0, n));
  in.remove_prefix(n);
  return s;
}

}  // namespace

FrontierStore::FrontierStore(std::uint64_t memory_limit, std::string dir)
    : limit_(memory_limit), dir_(std::move(dir)), evict_above_(memory_limit) {}

FrontierStore::~FrontierStore() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::uint64_t> FrontierStore::write(const std::string& data) {
  if (fd_ < 0) {
    auto fd = open_unlinked_temp(dir_, "rankpool-frontier", "frontier spill");
    if (!fd) return fd.status();
    fd_ = *fd;
  }
  if (fail_writes_) return Status::error("frontier spill: write failed: injected");
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(end_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return Status::error(std::string("frontier spill: write failed: ") + std::strerror(n < 0 ? errno : ENOSPC));
    done += static_cast<std::size_t>(n);
  }
  const std::uint64_t at = end_;
  end_ += data.size();
  return at;
}

Status FrontierStore::read(std::uint64_t offset, std::string& data) const {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pread(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return Status::error(std::string("frontier spill: read failed: ") +
                           (n < 0 ? std::strerror(errno) : "short file"));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

void FrontierStore::enroll(HostQueue* q) {
  q->slot_ = queues_.size();
  queues_.push_back(q);
}

void FrontierStore::withdraw(HostQueue* q) {
  queues_[q->slot_] = queues_.back();
  queues_[q->slot_]->slot_ = q->slot_;
  queues_.pop_back();
}

void FrontierStore::evict() {
  // Down to 3/4 of the budget, so that the next scan is a quarter of the budget of pushes away.
  const std::uint64_t low = limit_ - limit_ / 4;
  ++evictions_;
  struct Run {
    bool front;  // a front read back from disk: written out again, it comes back at the host's next turn
    std::uint64_t memory;
    HostQueue* queue;
    HostQueue::Fifo* fifo;
    HostQueue::Fifo::iterator first, last;
  };
  std::vector<Run> runs;
  for (HostQueue* q : queues_)
    for (auto& [depth, fifo] : q->fifos_)
      for (auto it = fifo.begin(); it != fifo.end();) {
        if (it->on_disk() || &*it == pinned_) {
          ++it;
          continue;
        }
        Run r{it->read_back(), 0, q, &fifo, it, it};
        // At most about kSegmentBytes a run: one write, one read back, no buffer of the budget's size.
        for (; r.last != fifo.end() && !r.last->on_disk() && &*r.last != pinned_ && r.memory < kSegmentBytes; ++r.last)
          r.memory += r.last->memory;
        runs.push_back(r);
        it = r.last;
      }
  // The rest before the fronts read back from disk (writing one out again only to read it back at
  // its host's next turn is the thrash to avoid), each largest first.
  std::sort(runs.begin(), runs.end(),
            [](const Run& x, const Run& y) { return x.front != y.front ? y.front : x.memory > y.memory; });
  for (const Run& r : runs) {
    if (memory_ <= low) break;
    if (!r.queue->spill(*r.fifo, r.first, r.last)) break;  // a write error: the rest stays
  }
  // What no eviction frees (the on-disk segments' bookkeeping, the pinned front) may keep memory
  // above the budget: then the next scan waits for another quarter of the budget, or of what is
  // held when that is more (a scan per 25% of growth: an index of millions of segments is not
  // walked every megabyte).
  evict_above_ = std::max(limit_, memory_ + std::max(limit_ - low, memory_ / 4));
}

HostQueue::HostQueue(FrontierStore& store) : store_(&store) { store_->enroll(this); }

HostQueue::~HostQueue() {
  for (const auto& [depth, fifo] : fifos_)
    for (const auto& s : fifo) {
      store_->memory_ -= s.memory;
      if (s.on_disk()) store_->index_ -= s.memory;
      if (&s == store_->pinned_) store_->pinned_ = nullptr;
    }
  store_->withdraw(this);
}

namespace {

// What glibc's malloc takes for n bytes: n and an 8-byte header in 16-byte steps, 32 at least.
// (Counting the bytes asked for instead made an 8 MiB budget hold about 16 MiB.)
constexpr std::uint64_t heap_block(std::uint64_t n) { return std::max<std::uint64_t>(32, (n + 8 + 15) & ~15ull); }

}  // namespace

std::uint64_t HostQueue::cost(const FrontierEntry& e) {
  // Its strings' heap blocks (short ones live inside the string); its slot in the segment's
  // vector is counted by capacity, where the vector grows.
  auto heap = [](const std::string& s) { return s.size() < 16 ? 0 : heap_block(s.capacity() + 1); };
  return heap(e.url) + heap(e.referrer);
}

std::uint64_t HostQueue::node_cost() {
  // The segment's list node, and its depth's map node (counted for each segment of the depth).
  return heap_block(2 * sizeof(void*) + sizeof(Segment)) +
         heap_block(4 * sizeof(void*) + sizeof(std::pair<const int, std::list<Segment>>));
}

void HostQueue::push(FrontierEntry entry) {
  auto& fifo = fifos_[entry.depth];
  // Behind the entry top() returned, entries gather in a segment of their own: its reference
  // stays valid, and it can go to disk without the front.
  if (fifo.empty() || fifo.back().on_disk() || &fifo.back() == store_->pinned_ ||
      (fifo.back().memory >= kSegmentBytes && fifo.back().entries.size() == fifo.back().entries.capacity())) {
    fifo.emplace_back().memory = node_cost();
    store_->memory_ += node_cost();
  }
  Segment& tail = fifo.back();
  const std::size_t slots = tail.entries.capacity();
  std::uint64_t c = cost(entry);
  tail.entries.push_back(std::move(entry));
  c += (tail.entries.capacity() - slots) * sizeof(FrontierEntry);
  tail.memory += c;
  store_->memory_ += c;
  ++size_;
  if (store_->limit_ > 0 && store_->memory_ > store_->evict_above_ && store_->error_.empty()) store_->evict();
  store_->peak_ = std::max(store_->peak_, store_->memory_);
}

bool HostQueue::spill(Fifo& fifo, Fifo::iterator first, Fifo::iterator last) {
  std::string data;
  std::uint64_t count = 0, freed = 0;
  for (auto it = first; it != last; ++it) {
    for (std::size_t i = it->head; i < it->entries.size(); ++i, ++count) {
      const FrontierEntry& e = it->entries[i];
      put_u32(data, static_cast<std::uint32_t>(e.url.size()));
      data += e.url;
      put_u32(data, static_cast<std::uint32_t>(e.referrer.size()));
      data += e.referrer;
    }
    freed += it->memory;
  }
  Result<std::uint64_t> at = store_->write(data);
  if (!at) {  // they stay in memory: exact, over the budget
    if (store_->error_.empty()) store_->error_ = at.status().message();
    return false;
  }
  // One segment on disk for the whole run: the first's node stays, the others go.
  Segment& s = *first;
  std::vector<FrontierEntry>().swap(s.entries);
  s.head = 0;
  s.offset = *at;
  s.bytes = data.size();
  s.count = count;
  s.memory = node_cost();
  fifo.erase(std::next(first), last);
  store_->memory_ = store_->memory_ - freed + node_cost();
  store_->index_ += node_cost();
  store_->spilled_ += count;
  return true;
}

void HostQueue::load(Segment& s, int depth) {
  std::string data(s.bytes, '\0');
  if (Status st = store_->read(s.offset, data); !st) throw std::runtime_error(st.message());
  std::string_view in(data);
  bool ok = true;
  const std::uint64_t before = s.memory;  // its nodes
  s.entries.reserve(s.count);
  s.memory += s.entries.capacity() * sizeof(FrontierEntry);
  s.head = 0;
  for (std::uint64_t i = 0; i < s.count && ok; ++i) {
    FrontierEntry e;
    e.depth = depth;
    e.url = get_str(in, ok);
    e.referrer = get_str(in, ok);
    s.memory += cost(e);
    s.entries.push_back(std::move(e));
  }
  if (!ok || s.entries.size() != s.count) throw std::runtime_error("frontier spill: corrupt segment");
  store_->memory_ += s.memory - before;
  store_->index_ -= before;
  s.count = 0;
  s.offset = Segment::kReadBack;
  store_->peak_ = std::max(store_->peak_, store_->memory_);
}

const FrontierEntry& HostQueue::top() {
  auto& [depth, fifo] = *fifos_.begin();
  Segment& front = fifo.front();
  if (front.on_disk()) load(front, depth);
  store_->pinned_ = &front;  // not evicted until another queue's top(): used before it can go again
  return front.entries[front.head];
}

void HostQueue::pop() {
  (void)top();  // loaded
  auto it = fifos_.begin();
  auto& fifo = it->second;
  Segment& front = fifo.front();
  const std::uint64_t c = cost(front.entries[front.head]);
  front.entries[front.head++] = FrontierEntry{};  // its strings go now
  front.memory -= c;
  store_->memory_ -= c;
  --size_;
  if (front.head == front.entries.size()) {
    store_->memory_ -= front.memory;  // its slots and nodes
    if (store_->pinned_ == &front) store_->pinned_ = nullptr;
    fifo.pop_front();
    if (fifo.empty()) fifos_.erase(it);
  } else if (front.head >= 64 && front.head * 2 >= front.entries.size()) {  // the popped half goes
    front.entries.erase(front.entries.begin(), front.entries.begin() + static_cast<std::ptrdiff_t>(front.head));
    front.head = 0;
  }
  if (store_->memory_ <= store_->limit_) store_->evict_above_ = store_->limit_;
}

}  // namespace rankpool::crawl
