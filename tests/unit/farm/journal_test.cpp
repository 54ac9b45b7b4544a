// The journal file on its own: creation, refusal, round trip, torn tails at every byte,
// damaged records, key mismatches, duplicates.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "rankpool/farm/journal.hpp"

using namespace rankpool::farm;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMagicBytes = 19;  // "rankpool-journal 2\n"

// A fresh directory per test, removed afterwards.
class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rankpool-journal-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name = "j") const { return (dir_ / name).string(); }
  fs::path dir_;
};

JournalKey key(std::uint64_t tasks = 10) {
  const std::vector<int> xs = [&] {
    std::vector<int> v(tasks);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int>(i) * 3;
    return v;
  }();
  return journal_key("square", std::span<const int>(xs), "mod=7");
}

JournalOptions opts(const std::string& p, bool resume = false, bool retry_failed = false) {
  JournalOptions o;
  o.path = p;
  o.resume = resume;
  o.retry_failed = retry_failed;
  return o;
}

JournalRecord rec(std::uint32_t index, bool ok, std::string data, std::int32_t attempts = 1, std::int32_t rank = 2,
                  float seconds = 0.25f) {
  JournalRecord r;
  r.index = index;
  r.ok = ok;
  r.attempts = attempts;
  r.rank = rank;
  r.seconds = seconds;
  r.data = std::move(data);
  return r;
}

void append(Journal& j, const std::vector<JournalRecord>& rs) {
  std::string buf;
  for (const auto& r : rs) Journal::encode(buf, r);
  j.commit(buf, rs.size());
  EXPECT_TRUE(buf.empty());
}

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void spit(const std::string& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Byte offsets where each record starts (the key record first), and the file size last.
std::vector<std::size_t> record_offsets(const std::string& bytes) {
  std::vector<std::size_t> at;
  std::size_t off = kMagicBytes;
  while (off + 12 <= bytes.size()) {
    at.push_back(off);
    std::uint32_t len;
    std::memcpy(&len, bytes.data() + off, 4);
    off += 12 + len;
  }
  EXPECT_EQ(off, bytes.size()) << "the test's walk of the file went astray";
  at.push_back(bytes.size());
  return at;
}

void expect_records(const std::vector<JournalRecord>& got, const std::vector<JournalRecord>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].index, want[i].index) << "record " << i;
    EXPECT_EQ(got[i].ok, want[i].ok) << "record " << i;
    EXPECT_EQ(got[i].attempts, want[i].attempts) << "record " << i;
    EXPECT_EQ(got[i].rank, want[i].rank) << "record " << i;
    EXPECT_EQ(got[i].seconds, want[i].seconds) << "record " << i;
    EXPECT_EQ(got[i].data, want[i].data) << "record " << i;
  }
}

std::string error_of(const JournalOptions& o, const JournalKey& k) {
  try {
    Journal j(o, k);
  } catch (const JournalError& e) {
    return e.what();
  }
  return "(no error)";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Three records written by one journal: the file the damage tests start from.
const std::vector<JournalRecord> kThree = {rec(4, true, "four"), rec(0, true, std::string("z\0ro", 4), 2, 1, 1.5f),
                                           rec(9, false, "boom: nine", 3, 3, 0.0f)};

}  // namespace

TEST_F(JournalTest, FreshJournalHasMagicAndKeyAndNothingLoaded) {
  {
    Journal j(opts(path()), key());
    EXPECT_TRUE(j.loaded().empty());
    EXPECT_EQ(j.torn_bytes(), 0u);
    EXPECT_EQ(j.appended(), 0u);
    EXPECT_EQ(j.path(), path());
  }
  const std::string bytes = slurp(path());
  EXPECT_EQ(bytes.substr(0, kMagicBytes), "rankpool-journal 2\n");
  const auto at = record_offsets(bytes);
  EXPECT_EQ(at.size(), 2u) << "one record, the key";
  // The key record carries the type and config in clear.
  EXPECT_TRUE(contains(bytes, "square"));
  EXPECT_TRUE(contains(bytes, "mod=7"));
}

TEST_F(JournalTest, ExistingJournalIsRefusedWithoutResume) {
  { Journal j(opts(path()), key()); }
  const std::string before = slurp(path());
  const std::string e = error_of(opts(path()), key());
  EXPECT_EQ(e, "journal '" + path() + "' already exists: pass --resume to continue it, or remove it");
  EXPECT_EQ(slurp(path()), before) << "a refused journal is left untouched";
}

TEST_F(JournalTest, ResumeOfAMissingFileStartsAFreshOne) {
  Journal j(opts(path(), true), key());
  EXPECT_TRUE(j.loaded().empty());
  EXPECT_EQ(j.torn_bytes(), 0u);
  EXPECT_TRUE(fs::exists(path()));
  EXPECT_EQ(slurp(path()).substr(0, kMagicBytes), "rankpool-journal 2\n");
}

TEST_F(JournalTest, EmptyExistingFileIsUsedWithoutResume) {
  spit(path(), "");
  Journal j(opts(path()), key());
  EXPECT_TRUE(j.loaded().empty());
}

TEST_F(JournalTest, DirectoryAndEmptyNameAreRefused) {
  EXPECT_EQ(error_of(opts(dir_.string(), true), key()), "journal '" + dir_.string() + "' is not a regular file");
  EXPECT_EQ(error_of(opts(""), key()), "journal: empty file name");
  EXPECT_TRUE(contains(error_of(opts(path("no/such/dir/j")), key()), "cannot open journal"));
}

TEST_F(JournalTest, RecordsRoundTripSortedByIndex) {
  {
    Journal j(opts(path()), key());
    append(j, {kThree[0]});
    append(j, {kThree[1], kThree[2]});
    EXPECT_EQ(j.appended(), 3u);
  }
  Journal j(opts(path(), true), key());
  EXPECT_EQ(j.torn_bytes(), 0u);
  expect_records(j.loaded(), {kThree[1], kThree[0], kThree[2]});
  j.release_loaded();
  EXPECT_TRUE(j.loaded().empty());
}

TEST_F(JournalTest, EmptyBufferCommitWritesNothing) {
  Journal j(opts(path()), key());
  const auto size = fs::file_size(path());
  std::string buf;
  j.commit(buf, 0);
  EXPECT_EQ(fs::file_size(path()), size);
  EXPECT_EQ(j.appended(), 0u);
}

TEST_F(JournalTest, TornLastRecordAtEveryByteKeepsThePreviousOnes) {
  {
    Journal j(opts(path()), key());
    append(j, kThree);
  }
  const std::string whole = slurp(path());
  const auto at = record_offsets(whole);
  ASSERT_EQ(at.size(), 5u);  // key, three records, end
  const std::size_t last = at[3];
  for (std::size_t cut = last + 1; cut < whole.size(); ++cut) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut) + " of " + std::to_string(whole.size()));
    spit(path(), whole.substr(0, cut));
    {
      Journal j(opts(path(), true), key());
      EXPECT_EQ(j.torn_bytes(), cut - last);
      expect_records(j.loaded(), {kThree[1], kThree[0]});
      EXPECT_EQ(fs::file_size(path()), last) << "truncated to the last whole record";
      append(j, {rec(7, true, "seven")});
    }
    Journal again(opts(path(), true), key());
    EXPECT_EQ(again.torn_bytes(), 0u);
    expect_records(again.loaded(), {kThree[1], kThree[0], rec(7, true, "seven")});
  }
}

TEST_F(JournalTest, CutExactlyAtARecordBoundaryIsClean) {
  {
    Journal j(opts(path()), key());
    append(j, kThree);
  }
  const std::string whole = slurp(path());
  const auto at = record_offsets(whole);
  spit(path(), whole.substr(0, at[3]));
  Journal j(opts(path(), true), key());
  EXPECT_EQ(j.torn_bytes(), 0u);
  expect_records(j.loaded(), {kThree[1], kThree[0]});
}

TEST_F(JournalTest, FlippedByteInAMiddleRecordIsRefusedNamingItsOffset) {
  {
    Journal j(opts(path()), key());
    append(j, kThree);
  }
  const std::string whole = slurp(path());
  const auto at = record_offsets(whole);
  // The second task record: every byte, its length included (the header has its own CRC).
  for (std::size_t b = at[2]; b < at[3]; ++b) {
    SCOPED_TRACE("flipped byte " + std::to_string(b));
    std::string bad = whole;
    bad[b] = static_cast<char>(bad[b] ^ 0x40);
    spit(path(), bad);
    const std::string head = "journal '" + path() + "' has a damaged record at byte " + std::to_string(at[2]);
    EXPECT_EQ(error_of(opts(path(), true), key()),
              head + (b < at[2] + 12 ? " (its header): the file was modified; remove it to start over"
                                     : " followed by more data: the file was modified; remove it to start over"));
    EXPECT_EQ(slurp(path()), bad) << "a refused journal is not truncated";
  }
  // The key record damaged, with records after it: refused too.
  std::string bad = whole;
  bad[at[0] + 9] = static_cast<char>(bad[at[0] + 9] ^ 1);
  spit(path(), bad);
  EXPECT_TRUE(contains(error_of(opts(path(), true), key()), "damaged record at byte " + std::to_string(kMagicBytes)));
}

TEST_F(JournalTest, FlippedByteInTheLastRecordIsATornTail) {
  {
    Journal j(opts(path()), key());
    append(j, kThree);
  }
  const std::string whole = slurp(path());
  const auto at = record_offsets(whole);
  for (std::size_t b = at[3] + 12; b < whole.size(); ++b) {
    SCOPED_TRACE("flipped byte " + std::to_string(b));
    std::string bad = whole;
    bad[b] = static_cast<char>(bad[b] ^ 0x40);
    spit(path(), bad);
    Journal j(opts(path(), true), key());
    EXPECT_EQ(j.torn_bytes(), whole.size() - at[3]);
    expect_records(j.loaded(), {kThree[1], kThree[0]});
  }
  // Its header, though, is whole: a write never leaves a whole header that does not check.
  std::string bad = whole;
  bad[at[3] + 3] = static_cast<char>(0x7f);
  spit(path(), bad);
  EXPECT_TRUE(contains(error_of(opts(path(), true), key()), "(its header)"));
}

TEST_F(JournalTest, ZerosAfterTheLastRecordAreATornTail) {
  // What a machine crash can leave: blocks allocated to the file but never written.
  {
    Journal j(opts(path()), key());
    append(j, kThree);
  }
  const std::string whole = slurp(path());
  for (std::size_t zeros : {1u, 11u, 12u, 13u, 5000u}) {
    SCOPED_TRACE(std::to_string(zeros) + " zero bytes");
    spit(path(), whole + std::string(zeros, '\0'));
    Journal j(opts(path(), true), key());
    EXPECT_EQ(j.torn_bytes(), zeros);
    EXPECT_EQ(j.loaded().size(), 3u);
    EXPECT_EQ(slurp(path()), whole);
  }
}

TEST_F(JournalTest, IndexOutOfRangeInTheLastRecordIsDropped) {
  {
    Journal j(opts(path()), key());
    append(j, {kThree[0], rec(10, true, "beyond")});  // key() has 10 tasks: 0..9
  }
  Journal j(opts(path(), true), key());
  EXPECT_GT(j.torn_bytes(), 0u);
  expect_records(j.loaded(), {kThree[0]});
}

TEST_F(JournalTest, KeyMismatchesAreRefusedWithTheirMessages) {
  {
    Journal j(opts(path()), key());
    append(j, kThree);
  }
  const std::string before = slurp(path());
  const std::string p = path();
  JournalKey other_type = key();
  other_type.task_type = "cube";
  EXPECT_EQ(error_of(opts(p, true), other_type),
            "journal '" + p + "' belongs to task type 'square', not 'cube': use another journal file or remove it");
  EXPECT_EQ(
      error_of(opts(p, true), key(11)),
      "journal '" + p +
          "' was written for a different task list (10 tasks, this run has 11): use another journal file or remove it");
  JournalKey other_inputs = key();
  other_inputs.inputs_hash ^= 1;
  EXPECT_EQ(error_of(opts(p, true), other_inputs),
            "journal '" + p +
                "' was written for a different task list (10 tasks, this run has 10, other values): use another "
                "journal file or remove it");
  JournalKey other_config = key();
  other_config.config = "mod=8";
  EXPECT_EQ(error_of(opts(p, true), other_config),
            "journal '" + p +
                "' was written with other options ('mod=7', now 'mod=8'): use another journal file or remove it");
  EXPECT_EQ(slurp(p), before) << "refusals leave the file as it was";
  Journal ok(opts(p, true), key());
  EXPECT_EQ(ok.loaded().size(), 3u);
}

TEST_F(JournalTest, NotAJournalIsRefused) {
  spit(path(), "n,digits\n1,1\n2,1\n3,1\n4,1\n5,1\n");
  EXPECT_EQ(error_of(opts(path(), true), key()), "'" + path() + "' is not a rankpool journal (or of another version)");
  spit(path(), "hello");
  EXPECT_EQ(error_of(opts(path(), true), key()), "'" + path() + "' is not a rankpool journal");
  spit(path(), "rankpool-journal 1\n");
  EXPECT_EQ(error_of(opts(path(), true), key()), "'" + path() + "' is not a rankpool journal (or of another version)");
  EXPECT_EQ(slurp(path()), "rankpool-journal 1\n");
}

TEST_F(JournalTest, TornInsideTheMagicOrTheKeyStartsFresh) {
  { Journal j(opts(path()), key()); }
  const std::string whole = slurp(path());
  const auto at = record_offsets(whole);
  for (std::size_t cut : {std::size_t{5}, kMagicBytes, kMagicBytes + 3, at[1] - 1}) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    spit(path(), whole.substr(0, cut));
    {
      Journal j(opts(path(), true), key());
      EXPECT_TRUE(j.loaded().empty());
      EXPECT_EQ(j.torn_bytes(), cut < kMagicBytes ? cut : cut - kMagicBytes);
      append(j, {kThree[0]});
    }
    Journal again(opts(path(), true), key());
    EXPECT_EQ(again.torn_bytes(), 0u);
    expect_records(again.loaded(), {kThree[0]});
  }
}

TEST_F(JournalTest, LaterRecordWinsAndOkBeatsFailed) {
  {
    Journal j(opts(path()), key());
    append(j, {rec(1, false, "first failure", 1), rec(2, true, "two-a", 1), rec(3, false, "three failed", 3)});
    // A --retry-failed run: 1 succeeds, 2 is recorded again, 3 fails again with a new message.
    append(j, {rec(1, true, "one", 2), rec(2, true, "two-b", 1), rec(3, false, "three failed again", 3)});
    // An ok followed by a failure of the same index (cannot happen in one map; a success stays).
    append(j, {rec(2, false, "late failure", 1)});
  }
  Journal j(opts(path(), true, true), key());
  EXPECT_TRUE(j.retry_failed());
  expect_records(j.loaded(),
                 {rec(1, true, "one", 2), rec(2, true, "two-b", 1), rec(3, false, "three failed again", 3)});
}

TEST(JournalKeyTest, OrderSensitiveAndCoversEveryField) {
  const std::vector<int> a{1, 2, 3}, b{3, 2, 1}, c{1, 2, 3, 0};
  const auto ka = journal_key("t", std::span<const int>(a));
  EXPECT_EQ(ka, journal_key("t", std::span<const int>(a)));
  EXPECT_EQ(ka.tasks, 3u);
  EXPECT_EQ(ka.task_type, "t");
  EXPECT_NE(ka.inputs_hash, journal_key("t", std::span<const int>(b)).inputs_hash) << "order matters";
  EXPECT_NE(ka.inputs_hash, journal_key("t", std::span<const int>(c)).inputs_hash);
  EXPECT_NE(ka, journal_key("t", std::span<const int>(a), "x"));
  // Inputs over several hashing chunks (4096 each): a change in the last chunk shows.
  std::vector<std::string> big(10000, "v");
  const auto kb = journal_key("s", std::span<const std::string>(big));
  big.back() = "w";
  EXPECT_NE(kb.inputs_hash, journal_key("s", std::span<const std::string>(big)).inputs_hash);
  // FNV-1a 64 reference values.
  EXPECT_EQ(fnv1a(""), 14695981039346656037ull);
  EXPECT_EQ(fnv1a("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a("b", fnv1a("a")), fnv1a("ab"));
}
