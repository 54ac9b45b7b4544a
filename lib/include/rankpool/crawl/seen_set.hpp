#pragma once
// The crawl engine's compact per-URL memory (issue #16, "Memory per URL"):
//
// - url_fingerprint(): a 64-bit fingerprint of a canonical URL. The engine keys its seen-set by
//   it instead of by the URL string. Two URLs with the same fingerprint are one URL to the
//   engine: the second is wrongly treated as seen (never fetched, counted as a duplicate). With
//   n URLs per engine the odds of any collision are about n^2 / 2^65: 2.7e-6 at 10^7 URLs,
//   2.7e-4 at 10^8 (docs/scale.md, "Crawler memory").
// - FingerprintTable<V>: an open-addressing (Robin Hood, linear probing) table from a fingerprint
//   to a small value, keys and values in two flat arrays: 8 + sizeof(V) bytes per slot, at most
//   90% full and grown by 1.2x, so 12-byte slots cost 13.3-16 bytes per entry. Sharded 64 ways
//   by the fingerprint's top bits, each shard growing on its own: a growth holds ~1/64 of the
//   table twice, not the whole table (peak_bytes()).
// - PageSpill: an append-only file of what only fetched pages need, read back only on the rare
//   relaxation (a fetched page reached later by a shorter path): its URL, followable out-links
//   and redirect. In memory: one fingerprint -> offset entry per page (16-byte slots).

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rankpool/fnv1a.hpp"
#include "rankpool/status.hpp"

namespace rankpool::crawl {

/// FNV-1a 64 of the URL, then the murmur3 finalizer so that every bit depends on every input
/// bit (the table picks a slot from the high bits). Never 0 (0 marks an empty slot).
inline std::uint64_t url_fingerprint(std::string_view canonical_url) {
  std::uint64_t h = fnv1a(canonical_url);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h == 0 ? 1 : h;
}

/// Gives memory the process freed back to the system (glibc's malloc_trim): called after a
/// table's growths freed enough, since glibc keeps the freed arrays of its earlier sizes in the
/// heap otherwise.
void release_freed_memory();

template <class V>
class FingerprintTable {
 public:
  /// A shard is grown when an insert would fill more than max_load of its slots: Robin Hood
  /// probing keeps lookups short at 90% (a miss stops at the first entry closer to its home
  /// than the probe).
  static constexpr double max_load = 0.9;
  /// Growth factor: small, so a shard stays >= 75% full after growing (<= 16 B per 12-B slot
  /// entry); each entry is moved about 1/(1.2-1) = 5 times over the table's life.
  static constexpr double growth = 1.2;
  /// The table is 2^shard_bits Robin Hood tables (shards), picked by the fingerprint's top
  /// bits, each growing on its own: a growth holds the old and the new arrays of one shard,
  /// about 1/64 of the table, where one flat table held 2.2x itself for a moment (the peak
  /// RSS of a large crawl, issue #16). 64: the transient is ~2% of the table, and the shards'
  /// headers (2 KiB in the table object itself) stay small beside a tiny table.
  static constexpr unsigned shard_bits = 6;
  static constexpr std::size_t shards = std::size_t{1} << shard_bits;
  /// A shard's first arrays: small, since a table of a few entries spreads them over up to 64
  /// shards (an empty shard holds no arrays).
  static constexpr std::size_t min_slots = 8;
  /// Freed arrays go back to the system (release_freed_memory) once growths freed this much and
  /// 1/16 of the table since the last time: not per growth, which is cheap and frequent now,
  /// while malloc_trim walks the heap (about 80 calls per table over 10^6 entries).
  static constexpr std::size_t trim_after_bytes = std::size_t{1} << 20;

  std::size_t size() const { return size_; }
  /// Slots over all shards.
  std::size_t capacity() const { return slots_; }
  /// Bytes the table allocated: every shard's two arrays (its shards' headers are the object).
  std::size_t memory_bytes() const { return bytes_; }
  /// The most bytes the table ever held at once, the old and new arrays of a growing shard
  /// included.
  std::size_t peak_bytes() const { return peak_; }

  /// The value of `fp`, nullptr when absent. Valid until the next insert.
  V* find(std::uint64_t fp) {
    Shard& s = shard(fp);
    const std::size_t i = locate(s, fp);
    return i == npos ? nullptr : &s.values[i];
  }
  const V* find(std::uint64_t fp) const {
    const Shard& s = shard(fp);
    const std::size_t i = locate(s, fp);
    return i == npos ? nullptr : &s.values[i];
  }

  /// Inserts (fp, value) unless fp is present. Returns its value (valid until the next insert)
  /// and whether it was inserted. `fp` must not be 0.
  std::pair<V*, bool> insert(std::uint64_t fp, V value) {
    Shard& s = shard(fp);
    if (const std::size_t i = locate(s, fp); i != npos) return {&s.values[i], false};
    if (static_cast<double>(s.size + 1) > max_load * static_cast<double>(s.slots))
      rehash(s, std::max(min_slots, static_cast<std::size_t>(static_cast<double>(s.slots) * growth) + 1));
    ++s.size;
    ++size_;
    return {&s.values[place(s, fp, value)], true};
  }

  /// Calls f(fp, value) for every entry, in no particular order.
  template <class F>
  void for_each(F&& f) const {
    for (const Shard& s : shards_) {
      for (std::size_t i = 0; i < s.slots; ++i)
        if (s.keys[i] != 0) f(s.keys[i], s.values[i]);
    }
  }

 private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  static constexpr std::size_t slot_bytes = sizeof(std::uint64_t) + sizeof(V);
  struct Shard {
    std::unique_ptr<std::uint64_t[]> keys;  // 0: an empty slot
    std::unique_ptr<V[]> values;
    std::size_t slots = 0, size = 0;
  };

  Shard& shard(std::uint64_t fp) { return shards_[fp >> (64 - shard_bits)]; }
  const Shard& shard(std::uint64_t fp) const { return shards_[fp >> (64 - shard_bits)]; }
  // The bits below the shard's pick home the fingerprint in its shard, uniformly.
  static std::size_t home(const Shard& s, std::uint64_t fp) {
    __extension__ using wide = unsigned __int128;  // the high half of bits * slots: a slot in [0, slots)
    return static_cast<std::size_t>((static_cast<wide>(fp << shard_bits) * s.slots) >> 64);
  }
  static std::size_t distance(const Shard& s, std::size_t i) {
    const std::size_t h = home(s, s.keys[i]);
    return i >= h ? i - h : i + s.slots - h;
  }
  static std::size_t locate(const Shard& s, std::uint64_t fp) {
    if (s.slots == 0) return npos;
    std::size_t i = home(s, fp);
    for (std::size_t d = 0;; ++d) {
      if (s.keys[i] == 0) return npos;
      if (s.keys[i] == fp) return i;
      if (distance(s, i) < d) return npos;  // Robin Hood: fp would have taken this slot
      i = i + 1 == s.slots ? 0 : i + 1;
    }
  }
  static std::size_t place(Shard& s, std::uint64_t fp, V value) {
    std::size_t i = home(s, fp), where = npos;
    for (std::size_t d = 0;; ++d) {
      if (s.keys[i] == 0) {
        s.keys[i] = fp;
        s.values[i] = value;
        return where == npos ? i : where;
      }
      if (const std::size_t di = distance(s, i); di < d) {  // the richer entry moves on
        std::swap(fp, s.keys[i]);
        std::swap(value, s.values[i]);
        if (where == npos) where = i;
        d = di;
      }
      i = i + 1 == s.slots ? 0 : i + 1;
    }
  }
  void rehash(Shard& s, std::size_t slots) {
    Shard old = std::move(s);
    s.keys = std::make_unique<std::uint64_t[]>(slots);  // zeroed: all empty
    s.values = std::make_unique<V[]>(slots);
    s.slots = slots;
    s.size = 0;
    bytes_ += slots * slot_bytes;
    peak_ = std::max(peak_, bytes_);  // the old arrays are still held here
    for (std::size_t i = 0; i < old.slots; ++i)
      if (old.keys[i] != 0) {
        place(s, old.keys[i], old.values[i]);
        ++s.size;
      }
    slots_ += slots - old.slots;
    bytes_ -= old.slots * slot_bytes;
    freed_ += old.slots * slot_bytes;
    old = Shard{};
    if (freed_ >= std::max(trim_after_bytes, bytes_ / 16)) {
      release_freed_memory();
      freed_ = 0;
    }
  }

  std::array<Shard, shards> shards_;
  std::size_t size_ = 0, slots_ = 0, bytes_ = 0, peak_ = 0;
  std::size_t freed_ = 0;  // array bytes freed by growths since the last release_freed_memory()
};

/// What relaxation and depth fixes need of a fetched page.
struct SpilledPage {
  int recorded_depth = 0;  // the depth its record went out with
  std::string url;
  std::string redirect;               // followable redirect target ("" when none)
  std::vector<std::string> children;  // followable out-links
  bool operator==(const SpilledPage&) const = default;
};

/// Fetched pages' SpilledPage, on disk: an unlinked temporary file in `dir` ("" = $TMPDIR or
/// /tmp), opened at the first append. When the file cannot be created or written, the pages
/// stay in memory (correct, unbounded) and append() says so once.
class PageSpill {
 public:
  explicit PageSpill(std::string dir = {}) : dir_(std::move(dir)) {}
  ~PageSpill();
  PageSpill(const PageSpill&) = delete;
  PageSpill& operator=(const PageSpill&) = delete;

  /// Stores the page under `fp` (once: a second append for fp is ignored). An error means the
  /// page is kept in memory instead; it is reported for the first failure only.
  Status append(std::uint64_t fp, const SpilledPage& page);
  bool contains(std::uint64_t fp) const { return index_.find(fp) != nullptr || memory_.count(fp) != 0; }
  /// The page stored under fp; an error when absent or unreadable.
  Result<SpilledPage> read(std::uint64_t fp) const;

  std::size_t size() const { return index_.size() + memory_.size(); }
  /// In memory: the index (and pages kept in memory after a disk error, roughly).
  std::size_t memory_bytes() const;
  std::uint64_t disk_bytes() const { return end_; }

  /// Test hook: the directory to create the file in, and whether writes fail (a full disk).
  void fail_writes_for_testing(bool fail) { fail_writes_ = fail; }

 private:
  Status open();
  std::string dir_;
  int fd_ = -1;
  bool failed_ = false, fail_writes_ = false;
  std::uint64_t end_ = 0;
  FingerprintTable<std::uint64_t> index_;                  // fp -> offset of its entry in the file
  std::unordered_map<std::uint64_t, SpilledPage> memory_;  // after a disk error
};

}  // namespace rankpool::crawl
