#pragma once
// Fetching pages: an interface, a libcurl multi implementation, and a fake for tests.
//
// The crawler only sees `Fetcher`: it submits requests, polls for completed results and
// keeps `in_flight()` bounded. Every outcome of a fetch — an HTTP status, a redirect, a
// timeout, a refused connection, an oversized body — comes back as a `FetchResult` value;
// nothing is thrown for a per-URL failure. A Fetcher is single-threaded: call it from one
// thread only (the libcurl implementation drives all its transfers on the caller's thread).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "rankpool/version.hpp"

namespace rankpool::crawl {

struct FetchRequest {
  std::uint64_t id = 0;    // chosen by the caller; echoed in the result so it can match them
  std::string url;         // absolute http:// or https:// URL; other schemes fail with "protocol"
  bool keep_body = false;  // keep the body whatever its type: robots.txt is text/plain
};

struct FetchResult {
  std::uint64_t id = 0;      // the request's id
  std::string url;           // the request's URL, unchanged
  long http_status = 0;      // 0 when no HTTP response arrived (connect failure, timeout, ...)
  std::string error;         // empty on success; otherwise curl's text for the failure
  std::string error_kind;    // empty on success; "timeout","dns","connect","reset","too_large",
                             // "tls", "type_not_accepted", "protocol" or "other" — stable words
                             // the crawler may branch on
  std::string redirect_to;   // for a 3xx with Location: the absolute target (resolved by curl);
                             // redirects are never followed by the fetcher, the crawler decides
  std::string content_type;  // the Content-Type header as sent, e.g. "text/html; charset=utf-8"
  std::string retry_after;   // the Retry-After header as sent ("120" or an HTTP date); "" when absent
  std::string body;          // decoded body; empty when not kept (see keep_body_only_for_html)
  std::size_t bytes = 0;     // decoded body bytes received, kept or not
  double seconds = 0;        // wall time of the transfer as measured by curl
  // The crawl log's audit fields (the curl fetcher fills them on every transfer).
  std::chrono::system_clock::time_point started{};  // when the transfer started; epoch: never
  std::string ip;                                   // the server's IP address; "" without a connection
  std::string last_modified;                        // the Last-Modified header as sent, "" without one
  std::string etag;                                 // the ETag header as sent, "" without one
  // "sha1:BASE32" of the payload as transferred (content-encoded, not chunked): what WARC's
  // WARC-Payload-Digest says. Empty unless FetchOptions::digest_payload and a response arrived.
  std::string payload_sha1;
  // FetchOptions::capture only (for WARC): the messages as they went over the wire.
  std::string request_head;   // request line and headers as sent, through the blank line
  std::string response_head;  // the final response's status line and headers, through the blank line
  std::string payload;        // the payload as transferred (up to max_body_bytes decoded bytes' worth)

  /// A usable page: no transport error and a 2xx status.
  bool ok() const { return error.empty() && http_status >= 200 && http_status < 300; }
  /// True when the server answered with a redirect that carried a target.
  bool is_redirect() const { return error.empty() && http_status >= 300 && http_status < 400 && !redirect_to.empty(); }
  bool operator==(const FetchResult&) const = default;
};

std::ostream& operator<<(std::ostream& os, const FetchResult& r);

/// "YYYY-MM-DDThh:mm:ss.mmmZ" (RFC 3339, UTC, milliseconds), as FetchResult::started goes into
/// the crawl log and WARC-Date; "" for the epoch (a result that never started).
std::string rfc3339_ms(std::chrono::system_clock::time_point t);
/// Seconds to wait that a Retry-After header value asks for (RFC 9110 10.2.3): delta-seconds
/// ("120") or an HTTP date (IMF-fixdate, and the obsolete RFC 850 and asctime forms) taken
/// relative to `now` (a date in the past means 0). nullopt when the value is neither.
std::optional<double> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now);

/// The error_kind words of a failure that may pass if tried again: "connect", "timeout" and
/// "reset" (the connection was reset or closed before a response).
bool is_transient_error_kind(std::string_view error_kind);

/// True for "text/html" and "application/xhtml+xml" (any parameters, any case).
bool is_html_content_type(std::string_view content_type);

struct FetchOptions {
  // Identifies the crawler to servers and to robots.txt owners; sent on every request.
  std::string user_agent = std::string("rankpool-crawl/") + RANKPOOL_VERSION_STRING;
  // A dead or black-holed host must not hold a transfer slot for long.
  std::chrono::milliseconds connect_timeout{2000};
  // Bounds a slow or endless (tarpit) response; the whole transfer, connect included.
  std::chrono::milliseconds total_timeout{10000};
  // Pages larger than this are not worth parsing and could exhaust memory; counted on
  // decoded bytes, so a small gzip bomb is stopped too. The transfer fails with "too_large".
  std::size_t max_body_bytes = 8 << 20;
  // Transfers run concurrently on one thread; further submissions wait in a queue.
  std::size_t max_in_flight = 64;
  // Politeness is the crawler's policy; 0 leaves libcurl's default (unlimited per host).
  long max_host_connections = 0;
  // Open connections kept for reuse across transfers (CURLMOPT_MAXCONNECTS); 0 = curl default.
  long max_cached_connections = 0;
  // Only HTML is parsed for links, so other bodies are counted and dropped to save memory.
  // A response without any Content-Type is kept (the caller may sniff it).
  bool keep_body_only_for_html = true;
  // Ask for gzip/deflate/br (whatever libcurl supports) and have curl decode it.
  bool accept_encoding = true;
  // Verify TLS peers; turning it off is for tests against self-signed servers only.
  bool verify_tls = true;
  // The payload's SHA-1 in FetchResult::payload_sha1 (the crawl log has it): one pass over
  // bytes that arrive anyway. With it (or capture) the fetcher asks only for the encodings
  // it decodes itself (gzip, deflate), so that it sees the bytes as transferred.
  bool digest_payload = false;
  // Keep the request and response as sent and received (FetchResult::request_head,
  // response_head, payload), for a WARC writer. Off by default: it doubles what a transfer
  // keeps in memory and turns on curl's debug callback.
  bool capture = false;
  // Proxies. The fetcher never reads the environment (http_proxy, ...): the caller decides
  // (rankpool-crawl resolves --proxy / the environment on rank 0, see ProxySettings), so a
  // crawl, and a test, goes exactly where these say. Empty: direct.
  std::string http_proxy;   // for http:// URLs: requests in absolute form to this proxy
  std::string https_proxy;  // for https:// URLs: a CONNECT tunnel, TLS end to end with the origin
  // Hosts reached directly whatever the proxies say, in curl's CURLOPT_NOPROXY syntax (what
  // curl reads from no_proxy): comma-separated names (a name also matches its subdomains),
  // IP addresses, CIDR ranges, "*" for every host. Empty: none.
  std::string no_proxy;
  // A CA bundle (PEM) to verify TLS peers with instead of libcurl's default store (the
  // system's); empty: the default. Read on every transfer's host (CURLOPT_CAINFO).
  std::string ca_cert;
  // Media types to fetch ("text/html", "text/*", "*/*"; parameters and case ignored); empty
  // fetches everything. A 2xx response of another type is stopped after its headers (no
  // body bytes: the point is the bandwidth of PDFs and videos) and fails with error_kind
  // "type_not_accepted". A response without Content-Type, a non-2xx one and a keep_body
  // request (robots.txt) are always fetched.
  std::vector<std::string> accept_types;
};

/// True when `content_type` ("application/pdf; x=y") matches one of `accept` (entries
/// "type/subtype", "type/*" or "*/*", any case); true for an empty list.
bool content_type_accepted(std::string_view content_type, const std::vector<std::string>& accept);

/// Fetches URLs. Not thread-safe: one thread submits and polls.
class Fetcher {
 public:
  virtual ~Fetcher();
  /// Queues a request; never blocks and never fails (failures come back from poll()).
  virtual void submit(FetchRequest request) = 0;
  /// Drives transfers and returns those completed, each request exactly once. Returns as
  /// soon as at least one result is ready, or after max_wait with an empty vector. Returns
  /// immediately when nothing is in flight.
  virtual std::vector<FetchResult> poll(std::chrono::milliseconds max_wait) = 0;
  /// Requests submitted whose results poll() has not returned yet (running or queued).
  virtual std::size_t in_flight() const = 0;
};

/// The libcurl multi-interface fetcher: one multi handle (so connections are reused),
/// up to options.max_in_flight transfers at once, all on the calling thread.
std::unique_ptr<Fetcher> make_curl_fetcher(const FetchOptions& options);

/// Maps a CURLcode (passed as int so this header needs no curl.h) to an error_kind word:
/// "timeout", "dns", "connect", "reset", "too_large", "tls", "protocol" or "other"; "" for CURLE_OK.
std::string_view curl_error_kind(int curl_code);

/// Fault injection around any Fetcher: every nth submitted request (n, 2n, ...) is not
/// passed on but fails with error_kind "connect"; the rest go to `inner`. n = 0 passes all.
std::unique_ptr<Fetcher> make_flaky_fetcher(std::unique_ptr<Fetcher> inner, std::size_t every_nth);

/// A Fetcher over canned results: URL → FetchResult. For unit tests of the crawler.
/// Results are ready on the next poll() in submission order. An unknown URL gives a 404.
class FakeFetcher : public Fetcher {
 public:
  /// Canned result for `url` (its id and url fields are filled in per request).
  void set_result(const std::string& url, FetchResult result);
  /// Shorthands: a 200 HTML page, and a redirect (default 301) to `target`.
  void add_page(const std::string& url, std::string html, std::string content_type = "text/html; charset=utf-8");
  void add_redirect(const std::string& url, std::string target, long status = 301);
  /// A sequence for `url`: its n-th request gets results[n-1], later ones the last result
  /// (a server that fails k times, then recovers). Replaces any canned result for `url`.
  void set_results(const std::string& url, std::vector<FetchResult> results);
  /// Fault injection: every nth submitted request (n, 2n, ...) fails with a "connect"
  /// error, whatever its URL. 0 turns it off.
  void fail_every_nth(std::size_t n) { fail_every_ = n; }

  void submit(FetchRequest request) override;
  std::vector<FetchResult> poll(std::chrono::milliseconds max_wait) override;
  std::size_t in_flight() const override { return pending_.size(); }

  /// Every request submitted so far, in order: the witness of what the crawler asked for.
  const std::vector<FetchRequest>& requests() const { return requests_; }

 private:
  std::map<std::string, FetchResult> results_;
  std::map<std::string, std::vector<FetchResult>> sequences_;
  std::map<std::string, std::size_t> asked_;  // requests per URL with a sequence
  std::deque<FetchResult> pending_;
  std::vector<FetchRequest> requests_;
  std::size_t fail_every_ = 0;
};

}  // namespace rankpool::crawl
