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
//   90% full and grown by 1.2x, so 12-byte slots cost 13.3-16 bytes per entry.
// - PageSpill: an append-only file of what only fetched pages need, read back only on the rare
//   relaxation (a fetched page reached later by a shorter path): its URL, followable out-links
//   and redirect. In memory: one fingerprint -> offset entry per page (16-byte slots).

#include <algorithm>
#include <cstdint>
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
/// table grew, since glibc keeps the freed arrays of its earlier sizes in the heap otherwise.
void release_freed_memory();

template <class V>
class FingerprintTable {
 public:
  /// Grown when an insert would fill more than max_load of the slots: Robin Hood probing keeps
  /// lookups short at 90% (a miss stops at the first entry closer to its home than the probe).
  static constexpr double max_load = 0.9;
  /// Growth factor: small, so the table stays >= 75% full after growing (<= 16 B per 12-B slot
  /// entry); each entry is moved about 1/(1.2-1) = 5 times over the table's life.
  static constexpr double growth = 1.2;

  std::size_t size() const { return size_; }
  std::size_t capacity() const { return keys_.size(); }
  /// Bytes the table holds (both arrays).
  std::size_t memory_bytes() const { return keys_.capacity() * sizeof(std::uint64_t) + values_.capacity() * sizeof(V); }

  /// The value of `fp`, nullptr when absent. Valid until the next insert.
  V* find(std::uint64_t fp) {
    const std::size_t i = locate(fp);
    return i == npos ? nullptr : &values_[i];
  }
  const V* find(std::uint64_t fp) const {
    const std::size_t i = locate(fp);
    return i == npos ? nullptr : &values_[i];
  }

  /// Inserts (fp, value) unless fp is present. Returns its value (valid until the next insert)
  /// and whether it was inserted. `fp` must not be 0.
  std::pair<V*, bool> insert(std::uint64_t fp, V value) {
    if (V* v = find(fp)) return {v, false};
    if (static_cast<double>(size_ + 1) > max_load * static_cast<double>(keys_.size()))
      rehash(std::max<std::size_t>(16, static_cast<std::size_t>(static_cast<double>(keys_.size()) * growth) + 1));
    ++size_;
    return {&values_[place(fp, value)], true};
  }

  /// Calls f(fp, value) for every entry, in no particular order.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < keys_.size(); ++i)
      if (keys_[i] != 0) f(keys_[i], values_[i]);
  }

 private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  std::size_t home(std::uint64_t fp) const {
    __extension__ using wide = unsigned __int128;  // the high half of fp * slots: a slot in [0, slots)
    return static_cast<std::size_t>((static_cast<wide>(fp) * keys_.size()) >> 64);
  }
  std::size_t distance(std::size_t i) const {
    const std::size_t h = home(keys_[i]);
    return i >= h ? i - h : i + keys_.size() - h;
  }
  std::size_t locate(std::uint64_t fp) const {
    if (keys_.empty()) return npos;
    std::size_t i = home(fp);
    for (std::size_t d = 0;; ++d) {
      if (keys_[i] == 0) return npos;
      if (keys_[i] == fp) return i;
      if (distance(i) < d) return npos;  // Robin Hood: fp would have taken this slot
      i = i + 1 == keys_.size() ? 0 : i + 1;
    }
  }
  std::size_t place(std::uint64_t fp, V value) {
    std::size_t i = home(fp), where = npos;
    for (std::size_t d = 0;; ++d) {
      if (keys_[i] == 0) {
        keys_[i] = fp;
        values_[i] = value;
        return where == npos ? i : where;
      }
      if (const std::size_t di = distance(i); di < d) {  // the richer entry moves on
        std::swap(fp, keys_[i]);
        std::swap(value, values_[i]);
        if (where == npos) where = i;
        d = di;
      }
      i = i + 1 == keys_.size() ? 0 : i + 1;
    }
  }
  void rehash(std::size_t slots) {
    std::vector<std::uint64_t> keys(slots, 0);
    std::vector<V> values(slots);
    keys.swap(keys_);
    values.swap(values_);
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i] != 0) place(keys[i], values[i]);
    const bool large = keys.size() * sizeof(std::uint64_t) >= (1u << 20);
    std::vector<std::uint64_t>().swap(keys);
    std::vector<V>().swap(values);
    if (large) release_freed_memory();
  }

  std::vector<std::uint64_t> keys_;
  std::vector<V> values_;
  std::size_t size_ = 0;
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
