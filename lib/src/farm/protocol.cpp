#include "rankpool/farm/detail/protocol.hpp"

#include "rankpool/farm/options.hpp"

namespace rankpool::farm {

const char* to_string(Tag tag) {
  switch (tag) {
    case Tag::Batch:
      return "Batch";
    case Tag::Result:
      return "Result";
    case Tag::Stop:
      return "Stop";
    case Tag::Stats:
      return "Stats";
    case Tag::Note:
      return "Note";
    case Tag::RankNote:
      return "RankNote";
  }
  return "Tag?";
}

std::ostream& operator<<(std::ostream& os, const BatchHeader& h) {
  return os << "Batch{id=" << h.batch_id << " type=" << h.type << " count=" << h.count << " flags=" << h.flags
            << " avoid=" << h.avoid_rank << "}";
}

std::ostream& operator<<(std::ostream& os, const TaskFailure& f) {
  return os << "TaskFailure{" << f.position << ": " << f.message << " kind=" << static_cast<int>(f.kind) << "}";
}

std::ostream& operator<<(std::ostream& os, const ResultMessage& r) {
  os << "Result{id=" << r.batch_id << " count=" << r.count << " busy_ns=" << r.busy_ns << " failures=[";
  for (const auto& f : r.failures) os << f << ' ';
  return os << "] seconds=" << r.seconds.size() << " payload=" << r.payload.size() << "B}";
}

void encode_batch_header(std::string& out, const BatchHeader& h) { ByteWriter(out).write(h); }

BatchHeader decode_batch_header(ByteReader& in) { return in.read<BatchHeader>(); }

void begin_result(std::string& wire, std::uint64_t batch_id, std::uint32_t count) {
  ByteWriter w(wire);
  w.put(batch_id);
  w.put(count);
  w.put(std::uint64_t{0});  // busy_ns, patched by finish_result
  w.put(std::uint64_t{0});  // payload size, patched by finish_result
}

void finish_result(std::string& wire, std::uint64_t busy_ns, const std::vector<TaskFailure>& failures,
                   const std::vector<float>& seconds, const std::vector<RankRun>& ranks) {
  const std::uint64_t payload = wire.size() - kResultFixedBytes;
  ByteWriter w(wire);
  w.patch(12, busy_ns);
  w.patch(20, payload);
  w.put(static_cast<std::uint32_t>(failures.size()));
  for (const auto& f : failures) {
    w.put(f.position);
    w.write(f.kind);
    w.put_string(f.message);
  }
  w.put(static_cast<std::uint32_t>(seconds.size()));
  w.put_bytes(seconds.data(), seconds.size() * sizeof(float));
  w.put(static_cast<std::uint32_t>(ranks.size()));
  for (const auto& run : ranks) {
    w.put(run.first);
    w.put(run.count);
    w.put(run.rank);
  }
}

std::string encode_result(const ResultMessage& r) {
  std::string out;
  begin_result(out, r.batch_id, r.count);
  out += r.payload;
  finish_result(out, r.busy_ns, r.failures, r.seconds, r.ranks);
  return out;
}

ResultView decode_result_view(std::string_view bytes) {
  ByteReader in(bytes, "farm result");
  ResultView r;
  r.batch_id = in.get<std::uint64_t>();
  r.count = in.get<std::uint32_t>();
  r.busy_ns = in.get<std::uint64_t>();
  const auto payload = in.get<std::uint64_t>();
  if (payload > in.remaining()) in.fail("payload size out of range");
  r.payload = in.get_bytes(static_cast<std::size_t>(payload));
  const auto nf = in.get<std::uint32_t>();
  if (nf > r.count) in.fail("more failures than tasks");
  r.failures.reserve(nf);
  for (std::uint32_t i = 0; i < nf; ++i) {
    TaskFailure f;
    f.position = in.get<std::uint32_t>();
    if (f.position >= r.count) in.fail("failure position out of range");
    in.read(f.kind);
    f.message = in.get_string();
    r.failures.push_back(std::move(f));
  }
  const auto ns = in.get<std::uint32_t>();
  if (ns != 0 && ns != r.count) in.fail("timing count mismatch");
  r.seconds.resize(ns);
  auto sv = in.get_bytes(ns * sizeof(float));
  if (ns) std::memcpy(r.seconds.data(), sv.data(), sv.size());
  const auto nr = in.get<std::uint32_t>();
  if (nr > r.count) in.fail("more rank runs than tasks");
  r.ranks.reserve(nr);
  for (std::uint32_t i = 0; i < nr; ++i) {
    RankRun run;
    run.first = in.get<std::uint32_t>();
    run.count = in.get<std::uint32_t>();
    run.rank = in.get<std::int32_t>();
    if (run.first > r.count || run.count > r.count - run.first) in.fail("rank run out of range");
    if (run.rank < 0) in.fail("negative rank in a rank run");
    if (!r.ranks.empty() && run.first < r.ranks.back().end()) in.fail("rank runs out of order or overlapping");
    r.ranks.push_back(run);
  }
  in.finish();
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
  r.ranks = std::move(v.ranks);
  r.payload = std::string(v.payload);
  return r;
}

const char* to_string(Schedule s) { return s == Schedule::dynamic ? "dynamic" : "static"; }

}  // namespace rankpool::farm
