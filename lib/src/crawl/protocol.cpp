#include "rankpool/crawl/protocol.hpp"

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>
#include <algorithm>
#include <charconv>
#include <map>
#include <sstream>

#include "rankpool/runtime/bytes.hpp"

namespace rankpool::crawl {

const char* to_string(CrawlTag tag) {
  switch (tag) {
    case CrawlTag::Start:
      return "Start";
    case CrawlTag::Urls:
      return "Urls";
    case CrawlTag::Records:
      return "Records";
    case CrawlTag::PermitRequest:
      return "PermitRequest";
    case CrawlTag::Permits:
      return "Permits";
    case CrawlTag::Idle:
      return "Idle";
    case CrawlTag::Probe:
      return "Probe";
    case CrawlTag::ProbeReply:
      return "ProbeReply";
    case CrawlTag::Interrupt:
      return "Interrupt";
    case CrawlTag::Restore:
      return "Restore";
    case CrawlTag::FinalPart:
      return "FinalPart";
    case CrawlTag::Finish:
      return "Finish";
    case CrawlTag::Final:
      return "Final";
  }
  return "?";
}

namespace {
template <class T>
std::string archive(const T& v) {
  std::ostringstream os;
  {
    boost::archive::binary_oarchive ar(os, boost::archive::no_header);
    ar << v;
  }
  return std::move(os).str();
}
template <class T>
T unarchive(std::string_view bytes) {
  std::istringstream is{std::string(bytes)};
  T v;
  try {
    boost::archive::binary_iarchive ar(is, boost::archive::no_header);
    ar >> v;
  } catch (const std::exception& e) {
    throw runtime::DecodeError(std::string("undecodable crawl message: ") + e.what());
  }
  if (is.peek() != std::char_traits<char>::eof()) {
    throw runtime::DecodeError("trailing bytes after a crawl message");
  }
  return v;
}
}  // namespace

std::string encode_start(const StartMessage& m) { return archive(m); }
StartMessage decode_start(std::string_view bytes) { return unarchive<StartMessage>(bytes); }
std::string encode_crawl_report(const CrawlReport& r) { return archive(r); }
CrawlReport decode_crawl_report(std::string_view bytes) { return unarchive<CrawlReport>(bytes); }

std::string encode_restore(const RestoreSlice& m) { return runtime::encode(m); }

RestoreSlice decode_restore(std::string_view bytes) {
  return runtime::decode<RestoreSlice>(bytes, "crawl Restore slice");
}

Result<RestoreSlice> read_restore(std::string_view bytes, std::size_t limit) {
  RestoreSlice slice;
  try {
    slice = decode_restore(bytes);
  } catch (const runtime::DecodeError& e) {
    return Status::error(e.what());
  }
  if (const std::size_t items = slice.hosts.size() + slice.fetched.size(); bytes.size() > limit && items > 1)
    return Status::error("a crawl Restore slice of " + std::to_string(bytes.size()) + " bytes holds " +
                         std::to_string(items) + " items, over the slice limit of " + std::to_string(limit) + " bytes");
  return slice;
}

std::string encode_final_slice(const FinalSlice& m) { return runtime::encode(m); }

Result<FinalSlice> read_final_slice(std::string_view bytes, std::size_t limit) {
  FinalSlice slice;
  try {
    slice = runtime::decode<FinalSlice>(bytes, "crawl FinalPart slice");
  } catch (const runtime::DecodeError& e) {
    return Status::error(e.what());
  }
  if (const std::size_t items = slice.hosts.size() + slice.depth_fixes.size(); bytes.size() > limit && items > 1)
    return Status::error("a crawl FinalPart slice of " + std::to_string(bytes.size()) + " bytes holds " +
                         std::to_string(items) + " items, over the slice limit of " + std::to_string(limit) + " bytes");
  return slice;
}

std::uint64_t slice_final(const std::vector<HostStats>& hosts, const std::vector<std::pair<std::string, int>>& fixes,
                          std::size_t limit, const std::function<void(std::string)>& emit) {
  // A FinalSlice is (hosts, depth_fixes): a slice of one vector has the other empty.
  const std::string none = runtime::encode(std::uint32_t{0});
  Slicer host_slices(limit, {}, none, emit);
  for (const auto& h : hosts) host_slices.add(h);
  host_slices.finish();
  Slicer fix_slices(limit, none, {}, emit);
  for (const auto& [url, depth] : fixes) fix_slices.add(DepthFix{url, depth});
  fix_slices.finish();
  return host_slices.slices() + fix_slices.slices();
}

Slicer::Slicer(std::size_t limit, std::string prefix, std::string suffix, Emit emit)
    : limit_(limit), prefix_(std::move(prefix)), suffix_(std::move(suffix)), emit_(std::move(emit)) {}

void Slicer::add_encoded(const std::string& item) {
  if (count_ > 0 && open_.size() + item.size() + suffix_.size() > limit_) finish();
  if (count_ == 0) {
    open_ = prefix_;
    runtime::ByteWriter(open_).put(std::uint32_t{0});  // the count, patched by finish()
  }
  open_ += item;
  ++count_;
}

void Slicer::finish() {
  if (count_ == 0) return;
  runtime::ByteWriter(open_).patch(prefix_.size(), count_);
  open_ += suffix_;
  largest_ = std::max(largest_, open_.size());
  ++slices_;
  count_ = 0;
  emit_(std::exchange(open_, {}));
}

Result<std::size_t> parse_slice_bytes(std::string_view text) {
  std::size_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < kMinSliceBytes || v > kMaxSliceBytes)
    return Status::error("RANKPOOL_CRAWL_SLICE_BYTES: '" + std::string(text) + "' is not a number of bytes from " +
                         std::to_string(kMinSliceBytes) + " to " + std::to_string(kMaxSliceBytes));
  return v;
}

std::vector<FetchedUrl> split_fetched(const FetchedUrl& f, std::size_t limit) {
  const std::size_t whole = runtime::encode(f).size();
  if (whole <= limit || f.children.size() <= 1) return {f};
  std::vector<FetchedUrl> pieces;
  FetchedUrl piece = f;
  piece.children.clear();
  std::size_t size = runtime::encode(piece).size();
  const FetchedUrl more{f.url, f.depth, f.recorded_depth, {}, {}, 0, false};
  const std::size_t more_size = runtime::encode(more).size();
  for (const auto& c : f.children) {
    const std::size_t add = sizeof(std::uint32_t) + c.size();
    if (!piece.children.empty() && size + add > limit) {
      pieces.push_back(std::move(piece));
      piece = more;
      size = more_size;
    }
    piece.children.push_back(c);
    size += add;
  }
  pieces.push_back(std::move(piece));
  return pieces;
}

std::string encode_urls(const std::vector<UrlAtDepth>& urls) { return runtime::encode(urls); }

std::vector<UrlAtDepth> decode_urls(std::string_view bytes) {
  return runtime::decode<std::vector<UrlAtDepth>>(bytes, "crawl Urls message");
}

std::string encode_records(const RecordsMessage& m) { return runtime::encode(m); }

RecordsMessage decode_records(std::string_view bytes) {
  return runtime::decode<RecordsMessage>(bytes, "crawl Records message");
}

RecordTally tally_of(const std::vector<PageRecord>& records) {
  std::map<std::string, std::uint64_t> status, errors, retries;
  for (const auto& r : records) {
    ++status[std::to_string(r.status)];
    if (!r.error_kind.empty()) ++errors[r.error_kind];
    for (const auto& cause : r.retried) ++retries[cause];
  }
  RecordTally t;
  t.pages = records.size();
  auto put = [](const std::map<std::string, std::uint64_t>& from, std::vector<KeyCount>& to) {
    for (const auto& [k, n] : from) to.push_back({k, n});
  };
  put(status, t.status);
  put(errors, t.errors);
  put(retries, t.retries);
  return t;
}

void slice_records(const RecordsMessage& m, std::size_t limit, const std::function<void(std::string)>& emit) {
  std::string whole = encode_records(m);
  if (whole.size() <= limit) {
    emit(std::move(whole));
    return;
  }
  const std::string status = runtime::encode(m.status), none = runtime::encode(std::uint32_t{0}),
                    no_edges = runtime::encode(std::string()), no_tally = runtime::encode(RecordTally{});
  if (m.tally != RecordTally{}) {
    RecordsMessage part;
    part.status = m.status;
    part.tally = m.tally;
    emit(encode_records(part));
  }
  // Links, in whole lines: a record reaches pages.jsonl only after its page's links.
  const std::size_t room =
      limit - std::min(limit, status.size() + 2 * none.size() + sizeof(std::uint32_t) + no_tally.size());
  std::string_view edges = m.edges;
  while (!edges.empty()) {
    std::size_t n = edges.size();
    if (n > room) {
      const std::size_t nl = room > 0 ? edges.rfind('\n', room - 1) : std::string_view::npos;
      const std::size_t first = edges.find('\n');
      n = nl != std::string_view::npos ? nl + 1 : first != std::string_view::npos ? first + 1 : edges.size();
    }
    RecordsMessage part;
    part.status = m.status;
    part.edges = std::string(edges.substr(0, n));
    emit(encode_records(part));
    edges.remove_prefix(n);
  }
  Slicer records(limit, status, no_edges + none + no_tally, emit);
  for (const auto& r : m.records) records.add(r);
  records.finish();
  Slicer hosts(limit, status + none + no_edges, no_tally, emit);
  for (const auto& h : m.hosts) hosts.add(h);
  hosts.finish();
}

std::string encode_counters(const Counters& c) { return runtime::encode(c); }

Counters decode_counters(std::string_view bytes) { return runtime::decode<Counters>(bytes, "crawl counters message"); }

std::string encode_u64(std::uint64_t v) { return runtime::encode(v); }

std::uint64_t decode_u64(std::string_view bytes) { return runtime::decode<std::uint64_t>(bytes, "crawl u64 message"); }

}  // namespace rankpool::crawl
