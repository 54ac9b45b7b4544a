// Fuzz target: sitemap parsing (crawl/sitemap.hpp).
//
// Input: a sitemap body (XML, or anything). Properties:
//   * a failure is one non-empty line; a success has at most max_urls locs, each non-empty
//     and without surrounding XML whitespace;
//   * parsing is deterministic;
//   * gzip is transparent: the gzip of the body parses exactly as the body does;
//   * the URL limit: max_urls = k gives the first k locs of the unlimited parse, and
//     `truncated` exactly when there were more;
//   * gunzip of the body itself (when it looks like gzip) never yields more than its cap.
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "rankpool/crawl/sitemap.hpp"

namespace {

using rankpool::Result;
using rankpool::crawl::parse_sitemap;
using rankpool::crawl::Sitemap;
using rankpool::crawl::SitemapLimits;

std::string gzip(std::string_view data) {
  z_stream z{};
  if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) __builtin_trap();
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) __builtin_trap();
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

bool xml_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool same(const Result<Sitemap>& a, const Result<Sitemap>& b) {
  if (a.ok() != b.ok()) return false;
  if (!a.ok()) return a.status() == b.status();
  return a->kind == b->kind && a->locs == b->locs && a->truncated == b->truncated;
}

std::string describe(const Result<Sitemap>& r) {
  if (!r) return "error: " + r.status().message();
  std::string s = std::to_string(r->locs.size()) + " locs";
  for (const auto& l : r->locs) (s += " | ") += l;
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  SitemapLimits limits;
  const Result<Sitemap> full = parse_sitemap(body, limits);
  if (!full) {
    const std::string m = full.status().message();
    FUZZ_CHECK(!m.empty() && m.find('\n') == std::string::npos, {"body", body}, {"error", m});
  } else {
    FUZZ_CHECK(full->locs.size() <= limits.max_urls, {"body", body});
    for (const std::string& loc : full->locs)
      FUZZ_CHECK(!loc.empty() && !xml_space(loc.front()) && !xml_space(loc.back()), {"body", body}, {"loc", loc});
  }
  FUZZ_CHECK(same(full, parse_sitemap(body, limits)), {"body", body});

  if (!rankpool::crawl::looks_gzipped(body)) {
    const Result<Sitemap> gz = parse_sitemap(gzip(body), limits);
    FUZZ_CHECK(full.ok() == gz.ok() && (!full.ok() || same(full, gz)), {"body", body}, {"plain", describe(full)},
               {"gzip", describe(gz)});
  } else {
    const Result<std::string> inflated = rankpool::crawl::gunzip(body, 1 << 16);
    FUZZ_CHECK(!inflated || inflated->size() <= (1u << 16), {"body", body});
  }

  if (full && !full->locs.empty()) {
    for (const std::size_t k : {std::size_t{0}, std::size_t{1}, full->locs.size() - 1, full->locs.size()}) {
      SitemapLimits few = limits;
      few.max_urls = k;
      const Result<Sitemap> cut = parse_sitemap(body, few);
      FUZZ_CHECK(cut.ok(), {"body", body}, {"k", std::to_string(k)});
      const std::size_t n = std::min(k, full->locs.size());
      FUZZ_CHECK(cut->locs.size() == n && std::equal(cut->locs.begin(), cut->locs.end(), full->locs.begin()) &&
                     cut->truncated == (full->truncated || k < full->locs.size()),
                 {"body", body}, {"k", std::to_string(k)}, {"cut", describe(cut)});
    }
  }
  return 0;
}
