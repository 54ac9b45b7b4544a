#include "rankpool/crawl/protocol.hpp"

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>
#include <sstream>

#include "rankpool/farm/detail/protocol.hpp"

namespace rankpool::crawl {

using farm::Reader;
using farm::Writer;

const char* to_string(CrawlTag tag) {
  switch (tag) {
    case CrawlTag::Start: return "Start";
    case CrawlTag::Urls: return "Urls";
    case CrawlTag::Records: return "Records";
    case CrawlTag::PermitRequest: return "PermitRequest";
    case CrawlTag::Permits: return "Permits";
    case CrawlTag::Idle: return "Idle";
    case CrawlTag::Probe: return "Probe";
    case CrawlTag::ProbeReply: return "ProbeReply";
    case CrawlTag::Interrupt: return "Interrupt";
    case CrawlTag::Finish: return "Finish";
    case CrawlTag::Final: return "Final";
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
    throw farm::ProtocolError(std::string("undecodable crawl message: ") + e.what());
  }
  return v;
}
}  // namespace

std::string encode_start(const StartMessage& m) { return archive(m); }
StartMessage decode_start(std::string_view bytes) { return unarchive<StartMessage>(bytes); }
std::string encode_report(const RankReport& r) { return archive(r); }
RankReport decode_report(std::string_view bytes) { return unarchive<RankReport>(bytes); }

std::string encode_urls(const std::vector<UrlAtDepth>& urls) {
  std::string out;
  Writer w(out);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(urls.size()));
  for (const auto& u : urls) {
    w.put<std::int32_t>(u.depth);
    w.put_string(u.url);
  }
  return out;
}

std::vector<UrlAtDepth> decode_urls(std::string_view bytes) {
  Reader r(bytes);
  const auto n = r.get<std::uint32_t>();
  std::vector<UrlAtDepth> urls;
  urls.reserve(std::min<std::size_t>(n, bytes.size() / 8));
  for (std::uint32_t i = 0; i < n; ++i) {
    UrlAtDepth u;
    u.depth = r.get<std::int32_t>();
    u.url = r.get_string();
    urls.push_back(std::move(u));
  }
  return urls;
}

std::string encode_records(const RecordsMessage& m) {
  std::string out;
  Writer w(out);
  w.put(m.status.queued);
  w.put(m.status.in_flight);
  w.put(m.status.active_hosts);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(m.records.size()));
  for (const auto& rec : m.records) {
    w.put_string(rec.url);
    w.put<std::int32_t>(rec.status);
    w.put<std::int32_t>(rec.depth);
    w.put_string(rec.content_type);
    w.put(rec.bytes);
    w.put(rec.links);
    w.put(rec.seconds);
    w.put<std::int32_t>(rec.rank);
    w.put_string(rec.error);
    w.put_string(rec.error_kind);
    w.put_string(rec.redirect);
    w.put_string(rec.body_file);
    w.put<std::uint8_t>(rec.nofollow ? 1 : 0);
  }
  w.put_string(m.edges);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(m.hosts.size()));
  for (const auto& h : m.hosts) {
    w.put_string(h.origin);
    w.put_string(h.robots);
    w.put_string(h.robots_body);
    w.put_string(h.unreachable_error);
    w.put_string(h.unreachable_kind);
  }
  return out;
}

RecordsMessage decode_records(std::string_view bytes) {
  Reader r(bytes);
  RecordsMessage m;
  m.status.queued = r.get<std::uint64_t>();
  m.status.in_flight = r.get<std::uint32_t>();
  m.status.active_hosts = r.get<std::uint32_t>();
  const auto n = r.get<std::uint32_t>();
  for (std::uint32_t i = 0; i < n; ++i) {
    PageRecord rec;
    rec.url = r.get_string();
    rec.status = r.get<std::int32_t>();
    rec.depth = r.get<std::int32_t>();
    rec.content_type = r.get_string();
    rec.bytes = r.get<std::uint64_t>();
    rec.links = r.get<std::uint32_t>();
    rec.seconds = r.get<double>();
    rec.rank = r.get<std::int32_t>();
    rec.error = r.get_string();
    rec.error_kind = r.get_string();
    rec.redirect = r.get_string();
    rec.body_file = r.get_string();
    rec.nofollow = r.get<std::uint8_t>() != 0;
    m.records.push_back(std::move(rec));
  }
  m.edges = r.get_string();
  const auto hosts = r.get<std::uint32_t>();
  for (std::uint32_t i = 0; i < hosts; ++i) {
    HostCheckpoint h;
    h.origin = r.get_string();
    h.robots = r.get_string();
    h.robots_body = r.get_string();
    h.unreachable_error = r.get_string();
    h.unreachable_kind = r.get_string();
    m.hosts.push_back(std::move(h));
  }
  return m;
}

std::string encode_counters(const Counters& c) {
  std::string out;
  Writer w(out);
  w.put(c.probe);
  w.put<std::uint8_t>(c.idle ? 1 : 0);
  w.put(c.sent);
  w.put(c.received);
  w.put(c.returned_permits);
  return out;
}

Counters decode_counters(std::string_view bytes) {
  Reader r(bytes);
  Counters c;
  c.probe = r.get<std::uint64_t>();
  c.idle = r.get<std::uint8_t>() != 0;
  c.sent = r.get<std::uint64_t>();
  c.received = r.get<std::uint64_t>();
  c.returned_permits = r.get<std::uint64_t>();
  return c;
}

std::string encode_u64(std::uint64_t v) {
  std::string out;
  Writer(out).put(v);
  return out;
}

std::uint64_t decode_u64(std::string_view bytes) {
  Reader r(bytes);
  return r.get<std::uint64_t>();
}

}  // namespace rankpool::crawl
