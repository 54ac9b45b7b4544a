#pragma once
// The crawl's records, each declared once. A record's fields are listed once, in its
// Boost.Describe description, and everything else comes from that list: the wire codec
// (runtime/bytes.hpp writes and reads described members in order), the JSON writer and the
// JSON reader (records.cpp), and Boost.Serialization (describe_serialize below). Adding a
// field to a record is one line in the struct and one name in its description.
//
// The order of a description is the order of the fields on the wire and in JSON output.

#include <boost/describe/class.hpp>
#include <boost/describe/members.hpp>
#include <boost/json/fwd.hpp>
#include <boost/mp11/algorithm.hpp>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "rankpool/status.hpp"

namespace rankpool::crawl {

/// Boost.Serialization of a described struct: its members in the description's order.
template <class Ar, class T>
void describe_serialize(Ar& ar, T& v) {
  boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
      [&](auto d) { ar& v.*d.pointer; });
}

/// One fetched URL: a line of pages.jsonl, and an element of the Records message.
struct PageRecord {
  std::string url;
  int status = 0;  // HTTP status; 0 when no response arrived
  int depth = 0;
  std::string content_type;
  std::uint64_t bytes = 0;
  std::uint32_t links = 0;  // distinct links found on the page (followed or not)
  double seconds = 0;       // transfer time
  int rank = 0;             // the rank that fetched it
  std::string error;        // "" on success
  std::string error_kind;   // "timeout", "dns", "connect", "reset", "too_large", "tls", "protocol", "other",
                            // "origin_gave_up" (not requested: its origin stopped answering)
  std::string redirect;     // canonical target of a 3xx
  std::string body_file;    // with --save-bodies: path of the saved body, relative to OUT
  // <meta name=robots content=nofollow>: its links are listed but not followed. Recorded so
  // that a resumed crawl (checkpoint.hpp) rebuilds the frontier from the logs alone.
  bool nofollow = false;
  // Requests made for this URL (robots.txt not counted): 1 + its retries; 0 when it was
  // recorded without a request (robots.txt unreachable, origin given up). The record holds
  // the last attempt's outcome; `retried` the causes of the attempts before it, in order
  // ("503", "429", "timeout", "connect", "reset").
  std::uint32_t attempts = 1;
  std::vector<std::string> retried;
  // The crawl log's audit fields (docs/crawl.md); each left out of pages.jsonl when empty, and
  // a pages.jsonl written before them (an older crawl resumed) reads without them.
  std::string fetched_at;     // when the fetch started: RFC 3339, UTC, milliseconds
  std::string ip;             // the server's IP address
  std::string payload_sha1;   // "sha1:BASE32" of the payload as transferred (= WARC-Payload-Digest)
  std::string referrer;       // the first page that linked it, or "seed" / "redirect" / "sitemap"
  std::string last_modified;  // the Last-Modified header, as sent
  std::string etag;           // the ETag header, as sent
  bool operator==(const PageRecord&) const = default;
};
BOOST_DESCRIBE_STRUCT(PageRecord, (),
                      (url, status, depth, content_type, bytes, links, seconds, rank, error, error_kind, redirect,
                       body_file, nofollow, attempts, retried, fetched_at, ip, payload_sha1, referrer, last_modified,
                       etag))
std::ostream& operator<<(std::ostream& os, const PageRecord& r);

/// pages.jsonl's line for `r`, without the newline. Fields in the description's order;
/// error and error_kind only for a failure, redirect, body_file, nofollow and retried only
/// when set.
std::string to_json_line(const PageRecord& r);
/// A pages.jsonl line back: every field that to_json_line always writes must be there.
Result<PageRecord> page_record_from_json(std::string_view line);

/// A canonical URL on its way to the rank that owns its origin. (Described depth first:
/// the Urls message's layout.)
struct UrlAtDepth {
  std::string url;
  int depth = 0;
  std::string referrer;  // the page that linked it, "redirect", or "" (a seed, a resumed frontier)
  bool operator==(const UrlAtDepth&) const = default;
};
BOOST_DESCRIBE_STRUCT(UrlAtDepth, (), (depth, url, referrer))

/// An origin's robots.txt outcome, as a checkpoint keeps it so that a resumed crawl does
/// not fetch the file again. The rules are kept as the text that was parsed: parsing it
/// again with the same options gives the same rules, and the text is what a reader checks.
struct HostCheckpoint {
  std::string origin;
  std::string robots;             // "parsed", "unavailable" (allow all), "unreachable" (disallow all),
                                  // "pending" (failed for now: fetched again by a resume)
  std::string robots_body;        // "parsed": the robots.txt text
  std::string unreachable_error;  // robots.txt got no HTTP response: the host's URLs fail with this
  std::string unreachable_kind;
  bool operator==(const HostCheckpoint&) const = default;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    describe_serialize(ar, *this);
  }
};
BOOST_DESCRIBE_STRUCT(HostCheckpoint, (), (origin, robots, robots_body, unreachable_error, unreachable_kind))

/// checkpoint.json's entry for `h`: origin and robots always, robots_body when there is one,
/// unreachable_error and unreachable_kind for an unreachable host.
boost::json::object to_json(const HostCheckpoint& h);
/// An entry of checkpoint.json's "hosts" back (origin and robots must be there).
Result<HostCheckpoint> host_checkpoint_from_json(const boost::json::value& v);

}  // namespace rankpool::crawl
