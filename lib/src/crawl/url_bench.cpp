// rankpool-url-bench: URL normalizations per second, with plain Boost.URL parsing of the same
// references measured in the same run as the baseline (ratio = how much normalization costs
// on top of parsing), and the hosts that take the slow paths (IDNA, IPv4/IPv6 forms). Usage: rankpool-url-bench
// [iterations]
#include <boost/url/parse.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "rankpool/crawl/url.hpp"

namespace {

// A mix shaped like hrefs on real pages: relative paths, dot segments, queries, escapes,
// absolute links to other hosts, fragments.
std::vector<std::string> make_references() {
  std::vector<std::string> refs;
  for (int i = 0; i < 64; ++i) {
    const std::string n = std::to_string(i);
    refs.push_back("/articles/" + n + "/index.html");
    refs.push_back("../img/photo-" + n + ".jpg");
    refs.push_back("page" + n + ".html?id=" + n + "&sort=asc#top");
    refs.push_back("HTTP://Example.COM:80/a/./b/../c" + n + "?x=%7e%2f");
    refs.push_back("https://cdn" + n + ".example.org/static/app.js?v=" + n);
  }
  return refs;
}

template <class F>
double seconds_for(F&& body) {
  const auto start = std::chrono::steady_clock::now();
  body();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const long iterations = argc > 1 ? std::atol(argv[1]) : 2000;
  const std::string base = "http://www.example.com/section/sub/page.html";
  const auto refs = make_references();
  const double total = static_cast<double>(iterations) * static_cast<double>(refs.size());

  std::size_t sink = 0;  // keeps the optimizer from dropping the work
  const double t_parse = seconds_for([&] {
    for (long it = 0; it < iterations; ++it)
      for (const auto& r : refs) {
        auto parsed = boost::urls::parse_uri_reference(r);
        sink += parsed ? parsed->encoded_path().size() : 1;
      }
  });
  const double t_norm = seconds_for([&] {
    for (long it = 0; it < iterations; ++it)
      for (const auto& r : refs) sink += rankpool::crawl::resolve(r, base).url.size();
  });

  const auto parsed_base = rankpool::crawl::normalize(base);
  const double t_norm_base = seconds_for([&] {
    for (long it = 0; it < iterations; ++it)
      for (const auto& r : refs) sink += rankpool::crawl::resolve(r, parsed_base).url.size();
  });

  // Hosts that take the slow paths: IDNA (libidn2) and the IPv4/IPv6 forms. Rare on real
  // pages, measured apart so that they do not hide in the mix.
  std::vector<std::string> odd_hosts;
  for (int i = 0; i < 64; ++i) {
    const std::string n = std::to_string(i);
    odd_hosts.push_back(
        "http://b\xC3\xBC"
        "cher" +
        n + ".example/x");
    odd_hosts.push_back("http://0x7f.0." + n + ".1/x");
    odd_hosts.push_back("http://[0:0::" + n + "]/x");
  }
  const double odd_total = static_cast<double>(iterations) * static_cast<double>(odd_hosts.size());
  const double t_odd = seconds_for([&] {
    for (long it = 0; it < iterations; ++it)
      for (const auto& r : odd_hosts) sink += rankpool::crawl::resolve(r, parsed_base).url.size();
  });

  std::printf("%-44s %12s %14s\n", "operation", "urls", "urls/s");
  std::printf("%-44s %12.0f %14.0f\n", "baseline: boost::urls::parse_uri_reference", total, total / t_parse);
  std::printf("%-44s %12.0f %14.0f\n", "rankpool::crawl::resolve (+ normalize)", total, total / t_norm);
  std::printf("%-44s %12.0f %14.0f\n", "rankpool::crawl::resolve (pre-parsed base)", total, total / t_norm_base);
  std::printf("%-44s %12.0f %14.0f\n", "  same, IDN / IPv4-form / IPv6 hosts only", odd_total, odd_total / t_odd);
  std::printf(
      "time ratio to baseline: resolve %.2fx, resolve with pre-parsed base %.2fx"
      "   (sink %zu)\n",
      t_norm / t_parse, t_norm_base / t_parse, sink);
  return 0;
}
