#include "rankpool/farm/protocol.hpp"

#include "rankpool/farm/options.hpp"

namespace rankpool::farm {

const char* to_string(Tag tag) {
  switch (tag) {
    case Tag::Batch: return "Batch";
    case Tag::Result: return "Result";
    case Tag::Stop: return "Stop";
    case Tag::Stats: return "Stats";
  }
  return "Tag?";
}

std::ostream& operator<<(std::ostream& os, const BatchHeader& h) {
  return os << "Batch{id=" << h.batch_id << " type=" << h.type << " count=" << h.count
            << " flags=" << h.flags << "}";
}

std::ostream& operator<<(std::ostream& os, const TaskFailure& f) {
  return os << "TaskFailure{" << f.position << ": " << f.message << "}";
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

std::string encode_result(const ResultMessage& r) {
  std::string out;
  out.reserve(40 + r.payload.size() + r.seconds.size() * sizeof(float));
  Writer w(out);
  w.put(r.batch_id);
  w.put(r.count);
  w.put(r.busy_ns);
  w.put(static_cast<std::uint32_t>(r.failures.size()));
  for (const auto& f : r.failures) {
    w.put(f.position);
    w.put_string(f.message);
  }
  w.put(static_cast<std::uint32_t>(r.seconds.size()));
  w.put_bytes(r.seconds.data(), r.seconds.size() * sizeof(float));
  w.put_bytes(r.payload.data(), r.payload.size());
  return out;
}

ResultMessage decode_result(std::string_view bytes) {
  Reader in(bytes);
  ResultMessage r;
  r.batch_id = in.get<std::uint64_t>();
  r.count = in.get<std::uint32_t>();
  r.busy_ns = in.get<std::uint64_t>();
  const auto nf = in.get<std::uint32_t>();
  if (nf > r.count) throw ProtocolError("result lists more failures than tasks");
  r.failures.reserve(nf);
  for (std::uint32_t i = 0; i < nf; ++i) {
    TaskFailure f;
    f.position = in.get<std::uint32_t>();
    if (f.position >= r.count) throw ProtocolError("result failure position out of range");
    f.message = in.get_string();
    r.failures.push_back(std::move(f));
  }
  const auto ns = in.get<std::uint32_t>();
  if (ns != 0 && ns != r.count) throw ProtocolError("result timing count mismatch");
  r.seconds.resize(ns);
  auto sv = in.get_bytes(ns * sizeof(float));
  if (ns) std::memcpy(r.seconds.data(), sv.data(), sv.size());
  r.payload = std::string(in.rest());
  return r;
}

std::string encode_stop(const StopMessage& m) {
  std::string out;
  Writer(out).put_string(m.abort_reason);
  return out;
}

StopMessage decode_stop(std::string_view bytes) {
  Reader in(bytes);
  return StopMessage{in.get_string()};
}

const char* to_string(Schedule s) { return s == Schedule::dynamic ? "dynamic" : "static"; }

}  // namespace rankpool::farm
