#pragma once
// Sitemaps (sitemaps.org protocol 0.9): a <urlset> of <url><loc>, or a <sitemapindex> of
// <sitemap><loc>, plain or gzip-compressed. Outside input: the parser is linear, keeps no
// more than the protocol's limits, expands no entity but XML's five and character
// references, and refuses (rather than guesses at) a file that is not well-formed.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "rankpool/status.hpp"

namespace rankpool::crawl {

struct SitemapLimits {
  // The protocol's limits per file: 50,000 URLs and 50 MiB (52,428,800 bytes) uncompressed.
  // A sitemap with more <loc>s is read up to the limit (truncated); a bigger file is refused.
  std::size_t max_urls = 50000;
  std::size_t max_bytes = 50u << 20;
  // Elements nested deeper are refused: a sitemap needs 3 levels, hostile XML has thousands.
  int max_nesting = 64;
};

enum class SitemapKind { urlset, index };

struct Sitemap {
  SitemapKind kind = SitemapKind::urlset;
  // The <loc> texts (URLs of pages for a urlset, of sitemaps for an index), in document
  // order: references and CDATA decoded, surrounding whitespace trimmed, empty ones dropped;
  // at most max_urls. Not normalized: the caller resolves and filters them.
  std::vector<std::string> locs;
  bool truncated = false;  // there were more than max_urls
};

/// Parses a sitemap or sitemap index; gzip input (RFC 1952, sniffed by its magic bytes, as a
/// .xml.gz served without Content-Encoding arrives) is decompressed first. A body that is not
/// a <urlset>/<sitemapindex> document, is not well-formed (unclosed or mismatched elements, a
/// truncated file, an unknown entity in a <loc>, an element inside a <loc>), has a DTD
/// internal subset, or is too big, is an error: no URLs are taken from it.
[[nodiscard]] Result<Sitemap> parse_sitemap(std::string_view body, const SitemapLimits& limits = {});

/// Decompresses gzip (one or more members, as gzip(1) concatenates them); an error when the
/// data is not gzip, is corrupt or truncated, or inflates to more than `max_bytes`.
[[nodiscard]] Result<std::string> gunzip(std::string_view data, std::size_t max_bytes);

/// True when `data` starts with gzip's magic bytes (1f 8b).
bool looks_gzipped(std::string_view data);

}  // namespace rankpool::crawl
