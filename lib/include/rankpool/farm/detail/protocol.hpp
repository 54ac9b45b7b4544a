#pragma once
// Internal: not part of the API (rankpool/farm/detail/ may change in any release).
// The farm's message protocol: every tag and every message that crosses a rank boundary.
//
// Every message is a flat byte buffer written with the byte codec (runtime/bytes.hpp) and
// sent as MPI_BYTE: one memcpy-style encode per batch, no per-message archive. Stop and
// Stats are the runtime's stop protocol (runtime/stop.hpp); the handshake is the runtime's
// (runtime/agree.hpp: protocol version, a digest of the task types, each rank's slots).
// Ranks are assumed homogeneous (same binary, same endianness), as with Boost's binary
// archives.

#include <algorithm>
#include <boost/describe/class.hpp>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "rankpool/runtime/bytes.hpp"
#include "rankpool/runtime/stop.hpp"

namespace rankpool::farm {

/// Bumped whenever a message layout changes; checked in the handshake (runtime/agree.hpp).
inline constexpr std::uint32_t kProtocolVersion = 6;

enum class Tag : int {
  Batch = 1,                    // master → worker: a batch of tasks of one type
  Result = 2,                   // worker → master: the outcome of one batch
  Stop = runtime::kStopTag,     // master → worker: no more work; reply with Stats and leave the loop
  Stats = runtime::kReportTag,  // worker → master: a runtime::RankReport whose payload is the
                                // worker's RankStats (byte codec), the last message of a run
  Note = 5,                     // worker → master: bytes a running task sent (TaskContext::note), before its result
  RankNote = 6,                 // relay → master: a local worker's Note, after that worker's rank (int32)
};

const char* to_string(Tag tag);
inline std::ostream& operator<<(std::ostream& os, Tag tag) { return os << to_string(tag); }

/// Thrown for a message that cannot be decoded: a broken invariant, never a task failure.
/// The byte codec's error (runtime/bytes.hpp): one type for every decoder.
using ProtocolError = runtime::DecodeError;
using runtime::ByteReader;
using runtime::ByteWriter;

/// Header of a Tag::Batch message; the encoded inputs follow it.
struct BatchHeader {
  std::uint64_t batch_id = 0;
  std::uint32_t type = 0;   // index into the handshake's type list
  std::uint32_t count = 0;  // number of tasks in the payload
  std::uint32_t flags = 0;  // kTimeEach: measure every task, not just the batch
  // A rank not to run these tasks on (-1: any): a relay's local worker a retry avoids; the
  // relay (farm/relay.hpp) keeps the batch off it when it has another. Since version 6.
  std::int32_t avoid_rank = -1;
  static constexpr std::uint32_t kTimeEach = 1;
  bool operator==(const BatchHeader&) const = default;
};
BOOST_DESCRIBE_STRUCT(BatchHeader, (), (batch_id, type, count, flags, avoid_rank))
std::ostream& operator<<(std::ostream& os, const BatchHeader& h);

/// Why a task of a batch has no output.
enum class FailureKind : std::uint8_t {
  error = 0,    // the task threw: one attempt used, retried per the retry policy
  timeout = 1,  // the task ran past --task-timeout and was abandoned: an attempt, like error
  not_run = 2,  // the task never ran because its batch was abandoned (another task of it timed
                // out): handed back and queued again without counting an attempt
};
BOOST_DESCRIBE_ENUM(FailureKind, error, timeout, not_run)

/// A task of a batch that did not produce an output: its position in the batch, why, and
/// the exception's message.
struct TaskFailure {
  std::uint32_t position = 0;
  std::string message;
  FailureKind kind = FailureKind::error;
  bool operator==(const TaskFailure&) const = default;
};
std::ostream& operator<<(std::ostream& os, const TaskFailure& f);

/// Positions [first, first + count) of a relayed batch ran on `rank`. A relay's Result lists
/// one run per piece, in batch order and not overlapping (the decoder checks it); a worker's
/// lists none (the sender ran every task).
struct RankRun {
  std::uint32_t first = 0;
  std::uint32_t count = 0;
  std::int32_t rank = 0;
  std::uint32_t end() const { return first + count; }
  bool operator==(const RankRun&) const = default;
};
/// The rank that ran `position`: its run's, else `sender` (a worker's own result). A binary
/// search on the runs' ends: O(log runs). For positions visited in order, use RankCursor.
inline int rank_at(const std::vector<RankRun>& runs, std::uint32_t position, int sender) {
  const auto it =
      std::partition_point(runs.begin(), runs.end(), [&](const RankRun& run) { return run.end() <= position; });
  return it != runs.end() && position >= it->first ? it->rank : sender;
}

/// rank_at for one result's positions, amortised O(1) a lookup when they come in increasing
/// order (the master's pass over a batch): it keeps the run the last position fell in and
/// steps forward. A position before the last one is looked up again from the start
/// (rank_at's binary search), so any order gives the right rank. It refers to `runs`, which
/// must outlive it.
class RankCursor {
 public:
  RankCursor(const std::vector<RankRun>& runs, int sender) : runs_(runs), sender_(sender) {}
  int operator()(std::uint32_t position) {
    if (runs_.empty()) return sender_;
    if (next_ > 0 && position < runs_[next_ - 1].end()) {
      next_ = static_cast<std::size_t>(
          std::partition_point(runs_.begin(), runs_.end(), [&](const RankRun& run) { return run.end() <= position; }) -
          runs_.begin());
    }
    while (next_ < runs_.size() && runs_[next_].end() <= position) ++next_;
    return next_ < runs_.size() && position >= runs_[next_].first ? runs_[next_].rank : sender_;
  }

 private:
  const std::vector<RankRun>& runs_;
  int sender_;
  std::size_t next_ = 0;  // the first run that ends after the last position looked up
};

/// A decoded Tag::Result message. `payload` holds the outputs of the tasks that
/// succeeded, in batch order (failed positions are skipped); `seconds` is per task when
/// the batch asked for kTimeEach, else empty.
struct ResultMessage {
  std::uint64_t batch_id = 0;
  std::uint32_t count = 0;
  std::uint64_t busy_ns = 0;  // time spent inside task functions for the whole batch
  std::vector<TaskFailure> failures;
  std::vector<float> seconds;
  std::vector<RankRun> ranks;  // who ran which positions (relays only)
  std::string payload;
  bool operator==(const ResultMessage&) const = default;
};
std::ostream& operator<<(std::ostream& os, const ResultMessage& r);

/// A decoded Tag::Result whose payload still lies in the received buffer: the master
/// copies each output once, straight to where it belongs.
struct ResultView {
  std::uint64_t batch_id = 0;
  std::uint32_t count = 0;
  std::uint64_t busy_ns = 0;
  std::vector<TaskFailure> failures;
  std::vector<float> seconds;
  std::vector<RankRun> ranks;
  std::string_view payload;
};

void encode_batch_header(std::string& out, const BatchHeader& h);
/// Reads the header at the front of a batch; the payload follows it in `in`.
BatchHeader decode_batch_header(ByteReader& in);

// Result layout: fixed part (batch_id, count, busy_ns, payload size), the payload, then
// the failures, per-task seconds and rank runs (4 bytes when there are none). The fixed part comes first so that a
// worker writes its outputs directly after it and patches the sizes at the end: no copy of the payload.
inline constexpr std::size_t kResultFixedBytes = 8 + 4 + 8 + 8;
/// Starts a result in `wire` (which must be empty); append the payload, then finish.
void begin_result(std::string& wire, std::uint64_t batch_id, std::uint32_t count);
void finish_result(std::string& wire, std::uint64_t busy_ns, const std::vector<TaskFailure>& failures,
                   const std::vector<float>& seconds, const std::vector<RankRun>& ranks = {});
[[nodiscard]] std::string encode_result(const ResultMessage& r);
ResultView decode_result_view(std::string_view bytes);
ResultMessage decode_result(std::string_view bytes);

/// Tag::Stop and Tag::Stats: the runtime's stop protocol (runtime/stop.hpp), one wire format
/// for every app.
using runtime::decode_stop;
using runtime::encode_stop;
using runtime::StopMessage;

/// One registered task type; the handshake compares a digest of every rank's list.
struct TypeSignature {
  std::string name;
  std::string queue;
  std::string signature;  // input and output type names: a mismatch is a protocol error
  bool operator==(const TypeSignature&) const = default;
};
BOOST_DESCRIBE_STRUCT(TypeSignature, (), (name, queue, signature))

}  // namespace rankpool::farm
