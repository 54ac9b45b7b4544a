// The engine's compact seen-set (FingerprintTable) and its fetched-page spill (PageSpill).
#include "rankpool/crawl/seen_set.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>

namespace rankpool::crawl {
namespace {

TEST(UrlFingerprint, StableNonZeroAndDistinct) {
  EXPECT_EQ(url_fingerprint("http://a.test/"), url_fingerprint(std::string("http://a.test/")));
  EXPECT_NE(url_fingerprint("http://a.test/"), url_fingerprint("http://a.test/b"));
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 100000; ++i) {
    const auto fp = url_fingerprint("http://h" + std::to_string(i % 97) + ".test/p" + std::to_string(i));
    EXPECT_NE(fp, 0u);
    seen.insert(fp);
  }
  EXPECT_EQ(seen.size(), 100000u);
}

TEST(FingerprintTable, InsertFindGrowAgainstAMap) {
  FingerprintTable<std::uint32_t> t;
  std::map<std::uint64_t, std::uint32_t> truth;
  std::mt19937_64 rng(7);
  for (std::uint32_t i = 0; i < 200000; ++i) {
    // Repeats (inserts of present keys), spread over the whole range as fingerprints are.
    const std::uint64_t fp = ((rng() % 150000) + 1) * 0x9e3779b97f4a7c15ull;
    auto [v, fresh] = t.insert(fp, i);
    EXPECT_EQ(fresh, truth.emplace(fp, i).second);
    EXPECT_EQ(*v, truth[fp]);
    if (i % 3 == 0) *v = truth[fp] = i + 1;  // values can change in place
  }
  EXPECT_EQ(t.size(), truth.size());
  for (const auto& [fp, value] : truth) {
    const std::uint32_t* v = t.find(fp);
    ASSERT_NE(v, nullptr) << fp;
    EXPECT_EQ(*v, value);
  }
  EXPECT_EQ(t.find(150001 * 0x9e3779b97f4a7c15ull), nullptr);
  EXPECT_EQ(t.find(~0ull), nullptr);
  std::size_t visited = 0;
  t.for_each([&](std::uint64_t fp, std::uint32_t v) {
    EXPECT_EQ(truth.at(fp), v);
    ++visited;
  });
  EXPECT_EQ(visited, truth.size());
  // The promise of the docs: at most 16 bytes per entry of a 12-byte slot, whatever the size.
  EXPECT_LE(static_cast<double>(t.memory_bytes()) / static_cast<double>(t.size()), 16.0);
  EXPECT_GE(static_cast<double>(t.size()) / static_cast<double>(t.capacity()), 0.74);
}

TEST(FingerprintTable, SameHomeSlotAndWrapAround) {
  // Fingerprints whose high bits agree share a home slot; those near 2^64 live at the end of the
  // table and spill over to its start.
  FingerprintTable<std::uint32_t> t;
  std::vector<std::uint64_t> fps;
  for (std::uint64_t i = 1; i <= 12; ++i) fps.push_back(i);         // home 0
  for (std::uint64_t i = 0; i < 12; ++i) fps.push_back(~0ull - i);  // home: the last slot
  for (std::size_t i = 0; i < fps.size(); ++i) EXPECT_TRUE(t.insert(fps[i], static_cast<std::uint32_t>(i)).second);
  for (std::size_t i = 0; i < fps.size(); ++i) {
    ASSERT_NE(t.find(fps[i]), nullptr) << i;
    EXPECT_EQ(*t.find(fps[i]), i);
    EXPECT_FALSE(t.insert(fps[i], 99).second);
  }
  EXPECT_EQ(t.find(13), nullptr);
  EXPECT_EQ(t.find(~0ull - 12), nullptr);
  EXPECT_EQ(t.size(), fps.size());
}

TEST(FingerprintTable, ACollisionIsOneEntry) {
  // What two URLs with one fingerprint do: the second is "already seen" with the first's value.
  FingerprintTable<std::uint32_t> t;
  EXPECT_TRUE(t.insert(42, 1).second);
  auto [v, fresh] = t.insert(42, 2);
  EXPECT_FALSE(fresh);
  EXPECT_EQ(*v, 1u);
}

// Fingerprints as url_fingerprint makes them: spread over the whole range (splitmix64), never 0.
std::uint64_t spread(std::uint64_t i) {
  std::uint64_t z = i * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return z == 0 ? 1 : z;
}

TEST(FingerprintTable, AGrowthHoldsAShardTwiceNotTheTable) {
  // Issue #16: one flat table held its old arrays beside the new ones, 2.2x itself, at every
  // growth; that moment set a large crawl's peak RSS. A growth now copies one of 64 shards.
  using Table = FingerprintTable<std::uint32_t>;
  Table t;
  std::size_t most = 0, largest_step = 0;
  for (std::uint64_t i = 0; i < 1000000; ++i) {
    const std::size_t before = t.memory_bytes();
    ASSERT_TRUE(t.insert(spread(i), static_cast<std::uint32_t>(i)).second);
    most = std::max(most, t.memory_bytes());
    // From 10^5 entries on (shards of some 2,000 slots), no growth adds more than 2/64 of a
    // step of the whole table (one flat table added 0.2 x itself at once).
    if (i >= 100000) largest_step = std::max(largest_step, t.memory_bytes() - before);
    EXPECT_GE(t.peak_bytes(), t.memory_bytes());
  }
  // Fixed bounds (not derived from Table::shards): fewer shards than 64 must fail here.
  EXPECT_LE(static_cast<double>(largest_step), static_cast<double>(most) * (Table::growth - 1) * 2 / 64);
  // The peak (old and new arrays of one shard alive at once) is the table plus about 1.2/64.
  EXPECT_GT(t.peak_bytes(), most);
  EXPECT_LE(static_cast<double>(t.peak_bytes()), static_cast<double>(most) * (1 + 2.0 / 64));
  EXPECT_LE(static_cast<double>(t.memory_bytes()) / static_cast<double>(t.size()), 16.0);
  EXPECT_GE(static_cast<double>(t.size()) / static_cast<double>(t.capacity()), 0.75);
}

TEST(FingerprintTable, ManyInsertsFindAllAndVisitEachOnce) {
  FingerprintTable<std::uint64_t> t;
  constexpr std::uint64_t n = 300000;
  for (std::uint64_t i = 0; i < n; ++i) ASSERT_TRUE(t.insert(spread(i), i).second) << i;
  for (std::uint64_t i = 0; i < n; i += 7) EXPECT_FALSE(t.insert(spread(i), 0).second) << i;  // no second entry
  EXPECT_EQ(t.size(), n);
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t* v = t.find(spread(i));
    ASSERT_NE(v, nullptr) << i;
    ASSERT_EQ(*v, i);
  }
  for (std::uint64_t i = n; i < 2 * n; ++i) ASSERT_EQ(t.find(spread(i)), nullptr) << i;  // no false entries
  std::vector<char> visits(n, 0);
  t.for_each([&](std::uint64_t fp, std::uint64_t v) {
    ASSERT_LT(v, n);
    EXPECT_EQ(fp, spread(v));
    ++visits[v];
  });
  EXPECT_EQ(std::count(visits.begin(), visits.end(), 1), static_cast<std::ptrdiff_t>(n));
}

TEST(FingerprintTable, TopBitsPickTheShardTheRestTheSlot) {
  FingerprintTable<std::uint32_t> t;
  // The same low bits in every shard, and then 20,000 fingerprints all in one shard.
  for (std::uint64_t k = 0; k < 64; ++k) ASSERT_TRUE(t.insert((k << 58) | 12345, static_cast<std::uint32_t>(k)).second);
  for (std::uint64_t i = 1; i <= 20000; ++i)
    ASSERT_TRUE(t.insert((std::uint64_t{5} << 58) | (spread(i) >> 6), static_cast<std::uint32_t>(i)).second);
  EXPECT_EQ(t.size(), 64u + 20000u);
  for (std::uint64_t k = 0; k < 64; ++k) {
    ASSERT_NE(t.find((k << 58) | 12345), nullptr) << k;
    EXPECT_EQ(*t.find((k << 58) | 12345), k);
    EXPECT_EQ(t.find((k << 58) | 12346), nullptr) << k;
  }
  for (std::uint64_t i = 1; i <= 20000; ++i) {
    const std::uint32_t* v = t.find((std::uint64_t{5} << 58) | (spread(i) >> 6));
    ASSERT_NE(v, nullptr) << i;
    EXPECT_EQ(*v, i);
    EXPECT_EQ(t.find((std::uint64_t{6} << 58) | (spread(i) >> 6)), nullptr) << i;
  }
}

TEST(FingerprintTable, ATinyTableCostsLittle) {
  FingerprintTable<std::uint32_t> t;
  EXPECT_EQ(t.memory_bytes(), 0u);  // nothing before the first insert
  EXPECT_EQ(t.find(7), nullptr);
  for (std::uint64_t i = 0; i < 10; ++i) t.insert(spread(i), 1);
  EXPECT_EQ(t.size(), 10u);
  // The shards' headers and at most one small shard per entry: a few KiB, not 64 shards' arrays.
  EXPECT_LE(t.memory_bytes(), 4096u);
  EXPECT_GE(t.memory_bytes(), 10u * 12u);
}

SpilledPage sample(int i) {
  SpilledPage p;
  p.recorded_depth = i % 5;
  p.url = "http://a.test/p" + std::to_string(i);
  if (i % 3 == 0) p.redirect = "http://a.test/r" + std::to_string(i);
  for (int c = 0; c < i % 4; ++c) p.children.push_back(p.url + "/c" + std::to_string(c));
  return p;
}

TEST(PageSpill, RoundTripsOnDisk) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / "spill_roundtrip";
  std::filesystem::create_directories(dir);
  PageSpill spill(dir.string());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(spill.append(url_fingerprint(sample(i).url), sample(i)));
  EXPECT_TRUE(spill.append(url_fingerprint(sample(3).url), sample(4)));  // once per page: ignored
  EXPECT_EQ(spill.size(), 1000u);
  EXPECT_GT(spill.disk_bytes(), 20000u);
  for (int i = 999; i >= 0; --i) {
    auto page = spill.read(url_fingerprint(sample(i).url));
    ASSERT_TRUE(page) << page.status();
    EXPECT_EQ(*page, sample(i));
  }
  EXPECT_FALSE(spill.read(12345));
  EXPECT_FALSE(spill.contains(12345));
  // The file is unlinked at once: nothing is left in the directory.
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

TEST(PageSpill, DiskErrorsAreValuesAndPagesStayInMemory) {
  PageSpill nowhere("/nonexistent/rankpool-spill");
  const Status s = nowhere.append(1, sample(1));
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("/nonexistent/rankpool-spill"), std::string::npos) << s;
  EXPECT_TRUE(nowhere.append(2, sample(2)));  // reported once
  EXPECT_EQ(*nowhere.read(1), sample(1));
  EXPECT_EQ(*nowhere.read(2), sample(2));

  PageSpill full(::testing::TempDir());
  ASSERT_TRUE(full.append(1, sample(1)));
  full.fail_writes_for_testing(true);
  const Status w = full.append(2, sample(2));
  EXPECT_FALSE(w);
  EXPECT_NE(w.message().find("write failed"), std::string::npos) << w;
  EXPECT_EQ(*full.read(1), sample(1));  // from the file
  EXPECT_EQ(*full.read(2), sample(2));  // from memory
  EXPECT_GT(full.memory_bytes(), 0u);
}

}  // namespace
}  // namespace rankpool::crawl
