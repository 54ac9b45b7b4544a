// Sitemaps (crawl/sitemap.hpp): urlsets and indexes, namespaces, references and CDATA, gzip,
// the protocol's limits, and malformed files (refused whole, never guessed at).
#include "rankpool/crawl/sitemap.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <vector>

namespace rankpool::crawl {
namespace {

using Locs = std::vector<std::string>;

std::string gzip(const std::string& data, int level = Z_BEST_COMPRESSION) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

const std::string kUrlset =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<!-- generated -->\n"
    "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n"
    "  <url><loc>http://a.test/</loc><lastmod>2026-01-01</lastmod></url>\n"
    "  <url>\n    <loc>\n      http://a.test/p?x=1&amp;y=2\n    </loc>\n    <priority>0.8</priority>\n  </url>\n"
    "  <url><loc><![CDATA[http://a.test/cdata?a=1&b=<2>]]></loc></url>\n"
    "  <url><loc>http://a.test/&#233;t&#xE9;</loc></url>\n"
    "  <url><loc>   </loc></url>\n"
    "</urlset>\n";

TEST(Sitemap, AUrlsetGivesItsLocsDecodedAndTrimmedInOrder) {
  const Result<Sitemap> s = parse_sitemap(kUrlset);
  ASSERT_TRUE(s) << s.status();
  EXPECT_EQ(s->kind, SitemapKind::urlset);
  EXPECT_EQ(s->locs, (Locs{"http://a.test/", "http://a.test/p?x=1&y=2", "http://a.test/cdata?a=1&b=<2>",
                           "http://a.test/\xC3\xA9t\xC3\xA9"}));
  EXPECT_FALSE(s->truncated);
}

TEST(Sitemap, AnIndexGivesItsSitemapsLocs) {
  const Result<Sitemap> s = parse_sitemap(
      "<sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
      "<sitemap><loc>http://a.test/s1.xml</loc><lastmod>2026</lastmod></sitemap>"
      "<sitemap><loc>http://a.test/s2.xml.gz</loc></sitemap></sitemapindex>");
  ASSERT_TRUE(s) << s.status();
  EXPECT_EQ(s->kind, SitemapKind::index);
  EXPECT_EQ(s->locs, (Locs{"http://a.test/s1.xml", "http://a.test/s2.xml.gz"}));
}

TEST(Sitemap, NamespacePrefixesBomAndDoctypeAreRead) {
  const Result<Sitemap> s = parse_sitemap(
      "\xEF\xBB\xBF<!DOCTYPE urlset><sm:urlset xmlns:sm=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"
      "<sm:url><sm:loc>http://a.test/x</sm:loc></sm:url></sm:urlset>");
  ASSERT_TRUE(s) << s.status();
  EXPECT_EQ(s->locs, Locs{"http://a.test/x"});
}

TEST(Sitemap, OnlyLocsOfUrlOrSitemapEntriesCount) {
  // A <loc> elsewhere (an extension's image:loc inside <url>, a loc at the wrong level, an
  // index's <sitemap> in a urlset) is not a page of the sitemap.
  const Result<Sitemap> s = parse_sitemap(
      "<urlset xmlns:image=\"http://www.google.com/schemas/sitemap-image/1.1\"><loc>http://a.test/top</loc>"
      "<url><loc>http://a.test/page</loc><image:image><image:loc>http://a.test/i.png</image:loc></image:image></url>"
      "<sitemap><loc>http://a.test/s.xml</loc></sitemap><url/></urlset>");
  ASSERT_TRUE(s) << s.status();
  EXPECT_EQ(s->locs, Locs{"http://a.test/page"});
}

TEST(Sitemap, AnEmptySitemapIsNoError) {
  for (const char* body : {"<urlset/>", "<urlset></urlset>", "<?xml version='1.0'?>\n<sitemapindex/>\n"}) {
    const Result<Sitemap> s = parse_sitemap(body);
    ASSERT_TRUE(s) << body << ": " << s.status();
    EXPECT_TRUE(s->locs.empty());
  }
}

TEST(Sitemap, GzipIsSniffedAndReadAsThePlainFile) {
  const Result<Sitemap> plain = parse_sitemap(kUrlset);
  const Result<Sitemap> gz = parse_sitemap(gzip(kUrlset));
  ASSERT_TRUE(plain);
  ASSERT_TRUE(gz) << gz.status();
  EXPECT_EQ(gz->locs, plain->locs);
  // gzip(1) concatenates members: both count.
  const std::string half = kUrlset.substr(0, 100);
  const Result<std::string> two = gunzip(gzip(half) + gzip(kUrlset.substr(100)), 1 << 20);
  ASSERT_TRUE(two) << two.status();
  EXPECT_EQ(*two, kUrlset);
}

TEST(Sitemap, CorruptTruncatedOrOversizedGzipIsAnError) {
  const std::string gz = gzip(kUrlset);
  EXPECT_FALSE(gunzip(gz.substr(0, gz.size() / 2), 1 << 20));
  std::string corrupt = gz;
  corrupt[12] = static_cast<char>(corrupt[12] ^ 0x55);
  corrupt[20] = static_cast<char>(corrupt[20] ^ 0x55);
  EXPECT_FALSE(gunzip(corrupt, 1 << 20));
  EXPECT_FALSE(gunzip("plain text", 1 << 20));
  // A bomb: 51 MiB of spaces in a few hundred KiB stops at the cap, not after inflating it all.
  const std::string bomb = gzip(std::string(51u << 20, ' '), Z_BEST_SPEED);
  EXPECT_LT(bomb.size(), 1'000'000u);
  const Result<std::string> capped = gunzip(bomb, 50u << 20);
  ASSERT_FALSE(capped);
  EXPECT_NE(capped.status().message().find("52428800"), std::string::npos) << capped.status();
  EXPECT_FALSE(parse_sitemap(bomb)) << "the protocol's 50 MiB limit holds for .xml.gz";
}

TEST(Sitemap, TheProtocolsLimitsHold) {
  std::string body = "<urlset>";
  for (int i = 0; i < 50'003; ++i) body += "<url><loc>http://a.test/" + std::to_string(i) + "</loc></url>";
  body += "</urlset>";
  const Result<Sitemap> s = parse_sitemap(body);
  ASSERT_TRUE(s) << s.status();
  ASSERT_EQ(s->locs.size(), 50'000u);
  EXPECT_TRUE(s->truncated);
  EXPECT_EQ(s->locs.back(), "http://a.test/49999");
  SitemapLimits small;
  small.max_bytes = 100;
  EXPECT_FALSE(parse_sitemap(kUrlset, small)) << "a file over max_bytes is refused";
  small = {};
  small.max_urls = 2;
  const Result<Sitemap> two = parse_sitemap(kUrlset, small);
  ASSERT_TRUE(two);
  EXPECT_EQ(two->locs.size(), 2u);
  EXPECT_TRUE(two->truncated);
}

TEST(Sitemap, MalformedFilesAreRefusedWhole) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"<urlset><url><loc>http://a.test/1</loc></url>", "never closed"},  // truncated
      {"<urlset><url><loc>http://a.test/1</loc></url></urlset><urlset/>", "second root"},
      {"<urlset><url><loc>http://a.test/1</url></loc></urlset>", "does not close"},
      {"<urlset><url><loc>http://a.test/&nbsp;</loc></url></urlset>", "reference"},
      {"<urlset><url><loc>http://a.test/&#0;</loc></url></urlset>", "reference"},
      {"<urlset><url><loc>http://a.test/&#xD800;</loc></url></urlset>", "reference"},
      {"<urlset><url><loc>http://a.test/&amp</loc></url></urlset>", "reference"},
      {"<urlset><url><loc>http://a.test/<b>x</b></loc></url></urlset>", "inside a <loc>"},
      {"<!DOCTYPE urlset [<!ENTITY a \"aaaa\">]><urlset><url><loc>&a;</loc></url></urlset>", "internal subset"},
      {"<urlset><url><loc>http://a.test/1</loc></url><!-- </urlset>", "comment"},
      {"<urlset><url><loc><![CDATA[http://a.test/1</loc></url></urlset>", "CDATA"},
      {"<urlset><url><loc http://a.test/1</loc></url></urlset>", "inside the tag"},
      {"<urlset><url attr=\"unterminated><loc>x</loc></url></urlset>", "cut off"},
      {"hello <urlset/>", "text before"},
      {"<urlset/> trailing", "text after"},
      {"<html><body>404</body></html>", "not a sitemap"},
      {"", "no root"},
      {"User-agent: *\nDisallow: /\n", "text before"},
      {"<urlset><></urlset>", "without a name"},
  };
  for (const auto& [body, needle] : cases) {
    const Result<Sitemap> s = parse_sitemap(body);
    ASSERT_FALSE(s) << body;
    EXPECT_NE(s.status().message().find(needle), std::string::npos) << body << ": " << s.status();
    EXPECT_EQ(s.status().message().find('\n'), std::string::npos) << "one line";
  }
}

TEST(Sitemap, DeepNestingIsRefusedNotRecursed) {
  std::string body = "<urlset>";
  for (int i = 0; i < 100'000; ++i) body += "<a>";
  const Result<Sitemap> s = parse_sitemap(body);
  ASSERT_FALSE(s);
  EXPECT_NE(s.status().message().find("nested deeper than 64"), std::string::npos) << s.status();
}

}  // namespace
}  // namespace rankpool::crawl
