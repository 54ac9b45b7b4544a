// The crawl job's set-up, for the app and tests: the libcurl fetcher from the crawl options,
// the output directory. The run itself: event_loop.cpp (the loop), coordinator.cpp (rank 0),
// worker.cpp (the crawling ranks), outputs.cpp (the files).
#include "rankpool/crawl/crawler.hpp"

#include <filesystem>
#include <fstream>

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

std::string prepare_output_dir(const std::string& dir) {
  if (dir.empty()) return "--out-dir must name a directory";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir))
    return "cannot create output directory " + dir + (ec ? ": " + ec.message() : "");
  const std::string probe = dir + "/.rankpool-write-test";
  {
    std::ofstream out(probe);
    out << "x";
    if (!out) return "output directory " + dir + " is not writable";
  }
  std::filesystem::remove(probe, ec);
  return {};
}

}  // namespace rankpool::crawl
