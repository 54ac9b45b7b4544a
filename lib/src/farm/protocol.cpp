#include "rankpool/farm/detail/protocol.hpp"

#include "rankpool/farm/options.hpp"

namespace rankpool::farm {

const char* to_string(Tag tag) {
  switch (tag) {
    case Tag::Batch: return "Batch";
    case Tag::Result: return "Result";
    case Tag::Stop: return "Stop";
    case Tag::Stats: return "Stats";
    case Tag::Note: return "Note";
  }
  return "Tag?";
}

std::ostream& operator<<(std::ostream& os, const BatchHeader& h) {
  return os << "Batch{id=" << h.batch_id << " type=" << h.type << " count=" << h.count
            << " flags=" << h.flags << "}";
}

std::ostream& operator<<(std::ostream& os, const TaskFailure& f) {
  return os << "TaskFailure{" << f.position << ": " << f.message << " kind=" << static_cast<int>(f.kind) << "}";
}

std::ostream& operator<<(std::ostream& os, const ResultMessage& r) {
  os << "Result{id=" << r.batch_id << " count=" << r.count << " busy_ns=" << r.busy_ns
     << " failures=[";
  for (const auto& f : r.failures) os << f << ' ';
  return os << "] seconds=" << r.seconds.size() << " payload=" << r.payload.size() << "B}";
}

void encode_batch_header(std::string& out, const BatchHeader& h) {
  Writer w(out);
  w.put(h.batch_id);
  w.put(h.type);
  w.put(h.count);
  w.put(h.flags);
}

BatchHeader decode_batch_header(Reader& in) {
  BatchHeader h;
  h.batch_id = in.get<std::uint64_t>();
  h.type = in.get<std::uint32_t>();
  h.count = in.get<std::uint32_t>();
  h.flags = in.get<std::uint32_t>();
  return h;
}

void begin_result(std::string& wire, std::uint64_t batch_id, std::uint32_t count) {
  Writer w(wire);
  w.put(batch_id);
  w.put(count);
  w.put(std::uint64_t{0});  // busy_ns, patched by finish_result
  w.put(std::uint64_t{0});  // payload size, patched by finish_result
}

void finish_result(std::string& wire, std::uint64_t busy_ns, const std::vector<TaskFailure>& failures,
                   const std::vector<float>& seconds) {
  const std::uint64_t payload = wire.size() - kResultFixedBytes;
  std::memcpy(wire.data() + 12, &busy_ns, sizeof busy_ns);
  std::memcpy(wire.data() + 20, &payload, sizeof payload);
  Writer w(wire);
  w.put(static_cast<std::uint32_t>(failures.size()));
  for (const auto& f : failures) {
    w.put(f.position);
    w.put(static_cast<std::uint8_t>(f.kind));
    w.put_string(f.message);
  }
  w.put(static_cast<std::uint32_t>(seconds.size()));
  w.put_bytes(seconds.data(), seconds.size() * sizeof(float));
}

std::string encode_result(const ResultMessage& r) {
  std::string out;
  begin_result(out, r.batch_id, r.count);
  out += r.payload;
  finish_result(out, r.busy_ns, r.failures, r.seconds);
  return out;
}

ResultView decode_result_view(std::string_view bytes) {
  Reader in(bytes);
  ResultView r;
  r.batch_id = in.get<std::uint64_t>();
  r.count = in.get<std::uint32_t>();
  r.busy_ns = in.get<std::uint64_t>();
  const auto payload = in.get<std::uint64_t>();
  if (payload > in.remaining()) throw ProtocolError("result payload size out of range");
  r.payload = in.get_bytes(static_cast<std::size_t>(payload));
  const auto nf = in.get<std::uint32_t>();
  if (nf > r.count) throw ProtocolError("result lists more failures than tasks");
  r.failures.reserve(nf);
  for (std::uint32_t i = 0; i < nf; ++i) {
    TaskFailure f;
    f.position = in.get<std::uint32_t>();
    if (f.position >= r.count) throw ProtocolError("result failure position out of range");
    const auto kind = in.get<std::uint8_t>();
    if (kind > static_cast<std::uint8_t>(FailureKind::not_run)) throw ProtocolError("result failure kind out of range");
    f.kind = static_cast<FailureKind>(kind);
    f.message = in.get_string();
    r.failures.push_back(std::move(f));
  }
  const auto ns = in.get<std::uint32_t>();
  if (ns != 0 && ns != r.count) throw ProtocolError("result timing count mismatch");
  r.seconds.resize(ns);
  auto sv = in.get_bytes(ns * sizeof(float));
  if (ns) std::memcpy(r.seconds.data(), sv.data(), sv.size());
  if (in.remaining() != 0) throw ProtocolError("trailing bytes after a result");
  return r;
}

ResultMessage decode_result(std::string_view bytes) {
  ResultView v = decode_result_view(bytes);
  ResultMessage r;
  r.batch_id = v.batch_id;
  r.count = v.count;
  r.busy_ns = v.busy_ns;
  r.failures = std::move(v.failures);
  r.seconds = std::move(v.seconds);
  r.payload = std::string(v.payload);
  return r;
}

std::string encode_stop(const StopMessage& m) {
  std::string out;
  Writer w(out);
  w.put_string(m.abort_reason);
  w.put(m.signal);
  return out;
}

StopMessage decode_stop(std::string_view bytes) {
  Reader in(bytes);
  StopMessage m;
  m.abort_reason = in.get_string();
  m.signal = in.get<std::int32_t>();
  return m;
}

const char* to_string(Schedule s) { return s == Schedule::dynamic ? "dynamic" : "static"; }

}  // namespace rankpool::farm
