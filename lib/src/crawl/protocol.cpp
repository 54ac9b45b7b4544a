#include "rankpool/crawl/protocol.hpp"

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>
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

std::string encode_urls(const std::vector<UrlAtDepth>& urls) { return runtime::encode(urls); }

std::vector<UrlAtDepth> decode_urls(std::string_view bytes) {
  return runtime::decode<std::vector<UrlAtDepth>>(bytes, "crawl Urls message");
}

std::string encode_records(const RecordsMessage& m) { return runtime::encode(m); }

RecordsMessage decode_records(std::string_view bytes) {
  return runtime::decode<RecordsMessage>(bytes, "crawl Records message");
}

std::string encode_counters(const Counters& c) { return runtime::encode(c); }

Counters decode_counters(std::string_view bytes) { return runtime::decode<Counters>(bytes, "crawl counters message"); }

std::string encode_u64(std::uint64_t v) { return runtime::encode(v); }

std::uint64_t decode_u64(std::string_view bytes) { return runtime::decode<std::uint64_t>(bytes, "crawl u64 message"); }

}  // namespace rankpool::crawl
