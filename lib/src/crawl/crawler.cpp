// The crawl job's set-up, for the app and tests: the libcurl fetcher from the crawl options.
// The run itself: event_loop.cpp (the loop), coordinator.cpp (rank 0), worker.cpp (the
// crawling ranks), outputs.cpp (the output directory and its files).
#include "rankpool/crawl/crawler.hpp"

namespace rankpool::crawl {

FetchOptions fetch_options_for(const CrawlOptions& o) {
  FetchOptions f;
  f.user_agent = o.user_agent;
  f.connect_timeout = std::chrono::milliseconds(static_cast<long>(o.connect_timeout * 1000));
  f.total_timeout = std::chrono::milliseconds(static_cast<long>(o.timeout * 1000));
  f.max_body_bytes = o.max_page_bytes;
  f.max_in_flight = o.max_in_flight;
  // Politeness is the engine's; curl's own per-host cap would only queue behind it.
  f.max_host_connections = 0;
  // pages.jsonl's payload_sha1; --warc archives every response as sent (capture keeps every
  // payload as transferred, HTML or not, so the decoded body is still kept for HTML only).
  f.digest_payload = true;
  f.capture = o.warc;
  f.http_proxy = o.http_proxy;
  f.https_proxy = o.https_proxy;
  f.no_proxy = o.no_proxy;
  f.ca_cert = o.ca_cert;
  f.accept_types = o.accept_types;
  return f;
}

FetcherFactory curl_fetcher_factory() {
  return [](const CrawlOptions& o) { return make_curl_fetcher(fetch_options_for(o)); };
}

}  // namespace rankpool::crawl
