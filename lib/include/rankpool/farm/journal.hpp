#pragma once
// An append-only journal of a map()'s finished tasks, so that a run killed at any point
// (SIGKILL, the allocation's time limit, a node failure, Ctrl-C) resumes with zero lost and
// zero duplicated results: --resume reruns only what the journal lacks.
//
// File layout: the line "rankpool-journal 2\n", then records
//     [u32 body length][u32 CRC-32 of the body][u32 CRC-32 of the previous 8 bytes][body]
// The first record is the key (which task list the journal belongs to); each other record is
// one finished task: index, ok or failed, attempts, rank, seconds, and the task's encoded
// output (farm codec) or its failure message.
//
// Durability: the master appends the records of each returned batch with one write(2). A
// process killed with SIGKILL loses nothing write() returned from (the kernel holds it); so
// killing every rank loses at most the batches in flight. fsync(2) every `sync_interval` and
// at close bounds what a machine crash loses.
//
// Only one run writes a journal at a time (flock(2)): another is refused while it is open.
//
// Loading: a record cut short at the end of the file (a kill or a full disk mid-write, or
// zeros a machine crash left) is dropped and the file truncated to the last whole record
// before appending. A damaged record followed by more data, or a whole header that does not
// check, means the file was damaged or edited: it is refused.

#include <boost/describe/class.hpp>
#include <chrono>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "rankpool/farm/detail/codec.hpp"
#include "rankpool/farm/task.hpp"
#include "rankpool/fnv1a.hpp"

namespace rankpool::farm {

/// A journal that cannot be used; the message is one line naming the file and the problem.
struct JournalError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// What a journal belongs to: a resumed run must present the same key.
struct JournalKey {
  std::string task_type;          // the registered task type mapped
  std::uint64_t tasks = 0;        // number of inputs
  std::uint64_t inputs_hash = 0;  // FNV-1a 64 of the encoded inputs, in order
  std::string config;             // the caller's options that change outputs, e.g. "full=1 mod=7"
  bool operator==(const JournalKey&) const = default;
};
// The key record's body after its 'K' is these fields in this order (runtime/bytes.hpp).
BOOST_DESCRIBE_STRUCT(JournalKey, (), (task_type, tasks, inputs_hash, config))

using rankpool::fnv1a;

/// The key of a map of `type` over `inputs` (hashed in chunks: no copy of the whole list).
template <class In>
JournalKey journal_key(std::string type, std::span<const In> inputs, std::string config = {}) {
  JournalKey k;
  k.task_type = std::move(type);
  k.tasks = inputs.size();
  k.config = std::move(config);
  std::uint64_t h = fnv1a({});
  std::string chunk;
  constexpr std::size_t kChunk = 4096;
  for (std::size_t i = 0; i < inputs.size(); i += kChunk) {
    chunk.clear();
    codec::encode_range(chunk, inputs.data() + i, std::min(kChunk, inputs.size() - i));
    h = fnv1a(chunk, h);
  }
  k.inputs_hash = h;
  return k;
}

/// The same for a typed task handle: journal_key(square, xs).
template <class In, class Out>
JournalKey journal_key(const Task<In, Out>& task, std::span<const std::type_identity_t<In>> inputs,
                       std::string config = {}) {
  return journal_key<In>(task.name(), inputs, std::move(config));
}
template <class In, class Out>
JournalKey journal_key(const Task<In, Out>& task, const std::vector<std::type_identity_t<In>>& inputs,
                       std::string config = {}) {
  return journal_key<In>(task.name(), std::span<const In>(inputs), std::move(config));
}

/// One finished task.
struct JournalRecord {
  std::uint32_t index = 0;
  bool ok = false;
  std::int32_t attempts = 1;
  std::int32_t rank = -1;
  float seconds = 0;
  std::string data;  // ok: the encoded output (one value); failed: the last error message
};

struct JournalOptions {
  std::string path;
  bool resume = false;                            // false: refuse an existing journal rather than overwrite it;
                                                  // true: continue it (or start one if there is none yet)
  bool retry_failed = false;                      // resume: tasks the journal records as failed run again
  std::chrono::milliseconds sync_interval{1000};  // fsync at most this often, and at close:
                                                  // SIGKILL needs no fsync, a machine crash loses at most this much
};

class Journal {
 public:
  /// Opens the journal for `key`, loading it when resuming. Throws JournalError.
  Journal(JournalOptions options, JournalKey key);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  const std::string& path() const { return options_.path; }
  const JournalKey& key() const { return key_; }
  bool retry_failed() const { return options_.retry_failed; }
  /// The finished tasks found when loading, sorted by index, one per index (a later record
  /// of an index replaces an earlier one: a failed task that succeeded on --retry-failed).
  const std::vector<JournalRecord>& loaded() const { return loaded_; }
  /// Frees what loaded() holds once the map has taken it.
  void release_loaded() { std::vector<JournalRecord>().swap(loaded_); }
  /// Bytes of a torn last record dropped when loading (0 for a clean file).
  std::uint64_t torn_bytes() const { return torn_bytes_; }
  /// Records appended by this run.
  std::uint64_t appended() const { return appended_; }

  /// Appends one record's bytes to `buf` (batch them, then commit()).
  static void encode(std::string& buf, const JournalRecord& r);
  static void encode(std::string& buf, std::uint32_t index, bool ok, std::int32_t attempts, std::int32_t rank,
                     float seconds, std::string_view data);
  /// Writes `buf` (records from encode()) with one write(2), then clears it. Throws
  /// JournalError when the write fails (disk full, ...).
  void commit(std::string& buf, std::uint64_t records);
  /// fsync(2) now.
  void sync();

 private:
  void load();
  bool zeros_from(std::uint64_t offset, std::uint64_t total);
  void write_all(std::string_view bytes);

  JournalOptions options_;
  JournalKey key_;
  int fd_ = -1;
  std::vector<JournalRecord> loaded_;
  std::uint64_t torn_bytes_ = 0;
  std::uint64_t appended_ = 0;
  std::chrono::steady_clock::time_point last_sync_;
  bool dirty_ = false;
};

}  // namespace rankpool::farm
