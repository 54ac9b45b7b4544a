#pragma once
// Internal: not part of the API (rankpool/farm/detail/ may change in any release).
// The farm's message protocol: every tag and every message that crosses a rank boundary.
//
// Hot messages (Batch, Result) are flat byte buffers written with Writer/Reader below and
// sent as MPI_BYTE: one memcpy-style encode per batch, no per-message archive. Cold
// messages (handshake, statistics) use Boost.Serialization through their serialize()
// members. Ranks are assumed homogeneous (same binary, same endianness), as with Boost's
// binary archives.

#include <cstdint>
#include <cstring>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rankpool::farm {

/// Bumped whenever a message layout changes; checked in the handshake.
inline constexpr std::uint32_t kProtocolVersion = 3;

enum class Tag : int {
  Batch = 1,   // master → worker: a batch of tasks of one type
  Result = 2,  // worker → master: the outcome of one batch
  Stop = 3,    // master → worker: no more work; reply with Stats and leave the loop
  Stats = 4,   // worker → master: the worker's counters, the last message of a run
  Note = 5,    // worker → master: bytes a running task sent (TaskContext::note), before its result
};

const char* to_string(Tag tag);
inline std::ostream& operator<<(std::ostream& os, Tag tag) { return os << to_string(tag); }

/// Thrown for a message that cannot be decoded: a broken invariant, never a task failure.
struct ProtocolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Appends fixed-size values and length-prefixed strings to a byte buffer.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  template <class T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void put_string(std::string_view s) {
    put<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    out_.append(s.data(), s.size());
  }
  void put_bytes(const void* data, std::size_t n) { out_.append(static_cast<const char*>(data), n); }
  std::string& buffer() { return out_; }

 private:
  std::string& out_;
};

/// Reads what Writer wrote; throws ProtocolError on a short buffer instead of reading past it.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <class T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T));
    T v;
    std::memcpy(&v, in_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  std::string get_string() {
    auto n = get<std::uint32_t>();
    need(n);
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  std::string_view get_bytes(std::size_t n) {
    need(n);
    auto v = in_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  std::string_view rest() const { return in_.substr(pos_); }
  std::size_t remaining() const { return in_.size() - pos_; }

 private:
  void need(std::size_t n) const {
    if (in_.size() - pos_ < n) throw ProtocolError("truncated farm message");
  }
  std::string_view in_;
  std::size_t pos_ = 0;
};

/// Header of a Tag::Batch message; the encoded inputs follow it.
struct BatchHeader {
  std::uint64_t batch_id = 0;
  std::uint32_t type = 0;   // index into the handshake's type list
  std::uint32_t count = 0;  // number of tasks in the payload
  std::uint32_t flags = 0;  // kTimeEach: measure every task, not just the batch
  static constexpr std::uint32_t kTimeEach = 1;
  bool operator==(const BatchHeader&) const = default;
};
std::ostream& operator<<(std::ostream& os, const BatchHeader& h);

/// Why a task of a batch has no output.
enum class FailureKind : std::uint8_t {
  error = 0,    // the task threw: one attempt used, retried per the retry policy
  timeout = 1,  // the task ran past --task-timeout and was abandoned: an attempt, like error
  not_run = 2,  // the task never ran because its batch was abandoned (another task of it timed
                // out): handed back and queued again without counting an attempt
};

/// A task of a batch that did not produce an output: its position in the batch, why, and
/// the exception's message.
struct TaskFailure {
  std::uint32_t position = 0;
  std::string message;
  FailureKind kind = FailureKind::error;
  bool operator==(const TaskFailure&) const = default;
};
std::ostream& operator<<(std::ostream& os, const TaskFailure& f);

/// A decoded Tag::Result message. `payload` holds the outputs of the tasks that
/// succeeded, in batch order (failed positions are skipped); `seconds` is per task when
/// the batch asked for kTimeEach, else empty.
struct ResultMessage {
  std::uint64_t batch_id = 0;
  std::uint32_t count = 0;
  std::uint64_t busy_ns = 0;  // time spent inside task functions for the whole batch
  std::vector<TaskFailure> failures;
  std::vector<float> seconds;
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
  std::string_view payload;
};

void encode_batch_header(std::string& out, const BatchHeader& h);
BatchHeader decode_batch_header(Reader& in);

// Result layout: fixed part (batch_id, count, busy_ns, payload size), the payload, then
// the failures and per-task seconds. The fixed part comes first so that a worker writes
// its outputs directly after it and patches the sizes at the end: no copy of the payload.
inline constexpr std::size_t kResultFixedBytes = 8 + 4 + 8 + 8;
/// Starts a result in `wire` (which must be empty); append the payload, then finish.
void begin_result(std::string& wire, std::uint64_t batch_id, std::uint32_t count);
void finish_result(std::string& wire, std::uint64_t busy_ns, const std::vector<TaskFailure>& failures,
                   const std::vector<float>& seconds);
std::string encode_result(const ResultMessage& r);
ResultView decode_result_view(std::string_view bytes);
ResultMessage decode_result(std::string_view bytes);

/// Tag::Stop: `abort_reason` is empty for a normal end of run.
struct StopMessage {
  std::string abort_reason;
  std::int32_t signal = 0;  // the run was interrupted by this signal: no collective follows
  bool operator==(const StopMessage&) const = default;
};
std::string encode_stop(const StopMessage& m);
StopMessage decode_stop(std::string_view bytes);

/// One registered task type as announced in the handshake.
struct TypeSignature {
  std::string name;
  std::string queue;
  std::string signature;  // input and output type names: a mismatch is a protocol error
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & name & queue & signature;
  }
  bool operator==(const TypeSignature&) const = default;
};

/// Broadcast by the master at the start of a run.
struct Hello {
  std::uint32_t protocol_version = kProtocolVersion;
  std::vector<TypeSignature> types;
  std::vector<std::vector<std::string>> worker_queues;  // per rank; empty list = all queues
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & protocol_version & types & worker_queues;
  }
  bool operator==(const Hello&) const = default;
};

/// Each worker's answer to Hello, gathered at the master.
struct HelloAck {
  std::uint32_t protocol_version = kProtocolVersion;
  std::string host;
  std::string error;  // empty when the worker agrees with the master's Hello
  std::int32_t slots = 1;  // batches this rank runs at once (FarmOptions::slots)
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & protocol_version & host & error & slots;
  }
  bool operator==(const HelloAck&) const = default;
};

}  // namespace rankpool::farm
