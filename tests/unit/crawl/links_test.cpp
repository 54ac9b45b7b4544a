// Targeted tests of the streaming link extractor: one test per tokenizer rule it relies on.
// Expected values come from the HTML5 spec; links_differential_test.cpp checks the same
// rules against gumbo on generated pages.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rankpool/crawl/links.hpp"

namespace rankpool::crawl {
namespace {

std::vector<std::string> hrefs(std::string_view html) {
  std::vector<std::string> out;
  for (const RawLink& l : extract_links(html).links) out.push_back(l.href);
  return out;
}

using V = std::vector<std::string>;

TEST(Links, KindsAndRel) {
  const PageLinks p = extract_links(
      "<a href=/a rel='NoFollow Ugc'>x</a><area href=/area><frameset><frame src=/f></frameset>"
      "<iframe src=/i></iframe><link rel=canonical href=/c><link rel=stylesheet href=/s.css>"
      "<link rel='alternate stylesheet' href=/alt.css><link rel=next href=/n>"
      "<meta http-equiv=refresh content='0; url=/r'>");
  const std::vector<RawLink> expected = {
      {LinkKind::a, "/a", "nofollow ugc"}, {LinkKind::area, "/area", ""},       {LinkKind::frame, "/f", ""},
      {LinkKind::iframe, "/i", ""},        {LinkKind::link, "/c", "canonical"}, {LinkKind::link, "/n", "next"},
      {LinkKind::refresh, "/r", ""},
  };
  EXPECT_EQ(p.links, expected);
  EXPECT_TRUE(has_rel_token(p.links[0].rel, "nofollow"));
  EXPECT_FALSE(has_rel_token(p.links[0].rel, "follow"));
}

TEST(Links, AnchorWithoutHrefIsNotALink) {
  EXPECT_EQ(hrefs("<a name=x>t</a><a>t</a><a hreff=/no>"), V{});
  EXPECT_EQ(hrefs("<a href>t</a><a href=''>"), (V{"", ""}));  // present but empty: the page itself
}

TEST(Links, AttributeQuotingForms) {
  EXPECT_EQ(hrefs("<a href=\"/d q\"><a href='/s q'><a href=/unq><a href = /spaced >"
                  "<a href=/x/>"),
            (V{"/d q", "/s q", "/unq", "/spaced", "/x/"}));
  // '>' inside quotes does not end the tag; in unquoted values it does.
  EXPECT_EQ(hrefs("<a title='a>b' href=/q><a href=/u>v>"), (V{"/q", "/u"}));
  // Missing whitespace between attributes, slashes as separators.
  EXPECT_EQ(hrefs("<a id='x'href='/glued'><a/href=/slash>"), (V{"/glued", "/slash"}));
}

TEST(Links, CaseInsensitiveNamesAndFirstDuplicateWins) {
  EXPECT_EQ(hrefs("<A HREF=/upper><a hReF=/mixed>"), (V{"/upper", "/mixed"}));
  EXPECT_EQ(hrefs("<a href=/first HREF=/second href=/third>"), V{"/first"});
}

TEST(Links, Trimming) {
  EXPECT_EQ(hrefs("<a href='  \t\n/t \r\n '>"), V{"/t"});
  EXPECT_EQ(hrefs("<a href='&#32;/e&#9;'>"), V{"/e"});  // trimming applies after decoding
}

TEST(Links, EntityDecoding) {
  EXPECT_EQ(decode_attribute_value("a&amp;b&lt;&gt;&quot;&apos;&nbsp;"), "a&b<>\"'\xC2\xA0");
  EXPECT_EQ(decode_attribute_value("&#38;&#x26;&#X26;&#0038;"), "&&&&");
  EXPECT_EQ(decode_attribute_value("&eacute;&hellip;&NotEqualTilde;"), "\xC3\xA9\xE2\x80\xA6\xE2\x89\x82\xCC\xB8");
  // Legacy names without ';': decoded before other characters, kept before '=' or alnum.
  EXPECT_EQ(decode_attribute_value("?a=1&amp b"), "?a=1& b");
  EXPECT_EQ(decode_attribute_value("?a=1&amp=b"), "?a=1&amp=b");
  EXPECT_EQ(decode_attribute_value("?a=1&ampx"), "?a=1&ampx");
  EXPECT_EQ(decode_attribute_value("?x=1&copy=2&not=3&notit"), "?x=1&copy=2&not=3&notit");
  EXPECT_EQ(decode_attribute_value("&copy."), "\xC2\xA9.");
  // Names valid only with ';' are left alone without it.
  EXPECT_EQ(decode_attribute_value("&hellip &apos"), "&hellip &apos");
  // Unknown names and bare ampersands.
  EXPECT_EQ(decode_attribute_value("&bogus; & &; &#; &#x;"), "&bogus; & &; &#; &#x;");
  // Numeric edge cases: zero, surrogates, out of range become U+FFFD; C1 uses Windows-1252.
  EXPECT_EQ(decode_attribute_value("&#0;&#xD800;&#x110000;&#99999999999999;"),
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(decode_attribute_value("&#150;&#x80;&#x81;"), "\xE2\x80\x93\xE2\x82\xAC\xC2\x81");
  EXPECT_EQ(decode_attribute_value("&#x1F600"), "\xF0\x9F\x98\x80");
  // NUL and CR as the input stream has them.
  EXPECT_EQ(decode_attribute_value(std::string_view("a\0b\r\nc\rd", 8)),
            "a\xEF\xBF\xBD"
            "b\nc\nd");
  EXPECT_EQ(hrefs("<a href='/p?a=1&amp;b=2&copy=3'>"), V{"/p?a=1&b=2&copy=3"});
}

TEST(Links, Comments) {
  EXPECT_EQ(hrefs("<!-- <a href=/in> --><a href=/out>"), V{"/out"});
  EXPECT_EQ(hrefs("<!--><a href=/after-empty>"), V{"/after-empty"});  // "<!-->" is a whole comment
  EXPECT_EQ(hrefs("<!---><a href=/after-empty2>"), V{"/after-empty2"});
  EXPECT_EQ(hrefs("<!----><a href=/x>"), V{"/x"});
  EXPECT_EQ(hrefs("<!-- a -- b <a href=/in> --><a href=/y>"), V{"/y"});
  EXPECT_EQ(hrefs("<!-- x --!><a href=/bang>"), V{"/bang"});
  EXPECT_EQ(hrefs("<!-- x ---><a href=/dashes>"), V{"/dashes"});
  EXPECT_EQ(hrefs("<!-- never closed <a href=/in>"), V{});
  EXPECT_EQ(hrefs("<! bogus <a href=/in> ><a href=/z>"), V{"/z"});  // bogus comment ends at the first '>'
}

TEST(Links, DoctypeCdataProcessingInstructions) {
  EXPECT_EQ(hrefs("<!DOCTYPE html><?xml version='1.0'?><![CDATA[ x ]]><a href=/a>"), V{"/a"});
  // In HTML content CDATA is a bogus comment ending at the first '>'.
  EXPECT_EQ(hrefs("<![CDATA[ <a href=/in> ]]><a href=/b>"), V{"/b"});
  EXPECT_EQ(hrefs("<![CDATA[ x > <a href=/b>"), V{"/b"});
  // In SVG it is a real CDATA section.
  EXPECT_EQ(hrefs("<svg><![CDATA[ <a href=/in> ]]></svg><a href=/c>"), V{"/c"});
}

TEST(Links, RawTextElements) {
  EXPECT_EQ(hrefs("<script>var s = '<a href=/in>';</script><a href=/out>"), V{"/out"});
  EXPECT_EQ(hrefs("<SCRIPT type=x>'<a href=/in>'</ScRiPt ><a href=/out>"), V{"/out"});
  EXPECT_EQ(hrefs("<script>'</scripts><a href=/in>'</script><a href=/out>"), V{"/out"});
  EXPECT_EQ(hrefs("<style>a[x='<a href=/in>']{}</style><a href=/s>"), V{"/s"});
  EXPECT_EQ(hrefs("<title><a href=/in></title><a href=/t>"), V{"/t"});
  EXPECT_EQ(hrefs("<textarea><a href=/in></textarea><a href=/ta>"), V{"/ta"});
  EXPECT_EQ(hrefs("<xmp><a href=/in></xmp><noembed><a href=/in></noembed><a href=/x>"), V{"/x"});
  EXPECT_EQ(hrefs("<iframe src=/frame><a href=/in></iframe><a href=/i>"), (V{"/frame", "/i"}));
  // An end tag with a quoted '>' in an attribute still ends at the right place.
  EXPECT_EQ(hrefs("<script></script x='>'><a href=/q>"), V{"/q"});
  // Unterminated raw text swallows the rest of the page.
  EXPECT_EQ(hrefs("<script><a href=/in>"), V{});
  EXPECT_EQ(hrefs("<script></script"), V{});
  EXPECT_EQ(hrefs("<plaintext><a href=/in></plaintext><a href=/in2>"), V{});
}

TEST(Links, ScriptEscapedStates) {
  // "<!--<script>" inside a script double-escapes: the first </script> does not end it.
  EXPECT_EQ(hrefs("<script><!--<script></script><a href=/in>--></script><a href=/out>"), V{"/out"});
  // A plain "<!--" in a script does not hide the end tag.
  EXPECT_EQ(hrefs("<script><!-- x </script><a href=/out>"), V{"/out"});
  // "-->" leaves the escaped state again.
  EXPECT_EQ(hrefs("<script><!-- --> <script> </script><a href=/out>"), V{"/out"});
  // Double-escape ends at </script> and the next </script> ends the element.
  EXPECT_EQ(hrefs("<script><!--<script>x</script>y</script><a href=/out>"), V{"/out"});
}

TEST(Links, NoscriptIsParsedWithScriptingDisabled) { EXPECT_EQ(hrefs("<noscript><a href=/ns></noscript>"), V{"/ns"}); }

TEST(Links, BaseFirstWithHrefWins) {
  const PageLinks p = extract_links("<base target=_top><base href=' /one/ '><base href=/two/>");
  ASSERT_TRUE(p.base_href);
  EXPECT_EQ(*p.base_href, "/one/");
  EXPECT_FALSE(extract_links("<base target=x><a href=y>").base_href);
}

TEST(Links, MetaRefresh) {
  EXPECT_EQ(parse_meta_refresh_url("5; url=/a"), "/a");
  EXPECT_EQ(parse_meta_refresh_url("5;URL='/b'"), "/b");
  EXPECT_EQ(parse_meta_refresh_url("  0 ,  Url = \"/c\" trailing"), "/c");
  EXPECT_EQ(parse_meta_refresh_url("0; '/d'"), "/d");
  EXPECT_EQ(parse_meta_refresh_url("0.5; url=/e"), "/e");
  EXPECT_EQ(parse_meta_refresh_url(".5 /f"), "/f");
  EXPECT_EQ(parse_meta_refresh_url("0; /g"), "/g");
  EXPECT_EQ(parse_meta_refresh_url("0; urn:x"), "urn:x");  // "ur" then no 'l': the whole rest
  EXPECT_EQ(parse_meta_refresh_url("0;url='/h"), "/h");    // unclosed quote: to the end
  EXPECT_EQ(parse_meta_refresh_url("5"), std::nullopt);    // refresh of the page itself
  EXPECT_EQ(parse_meta_refresh_url("5; "), std::nullopt);
  EXPECT_EQ(parse_meta_refresh_url("x; url=/i"), std::nullopt);
  EXPECT_EQ(parse_meta_refresh_url("5x; url=/j"), std::nullopt);
  const PageLinks p = extract_links(
      "<meta http-equiv=Refresh content='3;URL=&quot;/k&quot;'><meta http-equiv=refresh content=5>"
      "<meta http-equiv=x-refresh content='0; url=/no'><meta content='0; url=/no'>");
  const std::vector<RawLink> expected = {{LinkKind::refresh, "/k", ""}};
  EXPECT_EQ(p.links, expected);
}

TEST(Links, MetaRobots) {
  PageLinks p = extract_links("<meta name=robots content='noindex'>");
  EXPECT_TRUE(p.meta_noindex);
  EXPECT_FALSE(p.meta_nofollow);
  p = extract_links("<META NAME=ROBOTS CONTENT='NoFollow, noarchive'>");
  EXPECT_TRUE(p.meta_nofollow);
  EXPECT_FALSE(p.meta_noindex);
  p = extract_links("<meta name=robots content=none>");
  EXPECT_TRUE(p.meta_nofollow && p.meta_noindex);
  p = extract_links("<meta name=description content='nofollow noindex'><meta name=robots content=follow>");
  EXPECT_FALSE(p.meta_nofollow || p.meta_noindex);
}

TEST(Links, TruncatedPagesYieldNoPartialTag) {
  EXPECT_EQ(hrefs("<a href=/ok><a href=/cut"), V{"/ok"});
  EXPECT_EQ(hrefs("<a href='/cut>"), V{});
  EXPECT_EQ(hrefs("<a href="), V{});
  EXPECT_EQ(hrefs("<a"), V{});
  EXPECT_EQ(hrefs("<"), V{});
  EXPECT_EQ(hrefs("<a href=/x "), V{});
  EXPECT_EQ(hrefs(""), V{});
}

TEST(Links, MalformedMarkup) {
  EXPECT_EQ(hrefs("< a href=/text><a href=/tag>"), V{"/tag"});  // "< a" is text
  EXPECT_EQ(hrefs("<a <a href=/x>"), V{"/x"});                  // attribute named "<a"
  EXPECT_EQ(hrefs("</ a href=/in><a href=/y>"), V{"/y"});       // bogus comment
  EXPECT_EQ(hrefs("</><a href=/z>"), V{"/z"});
  EXPECT_EQ(hrefs("</a href=/end-tag-attrs><a href=/w>"), V{"/w"});
  EXPECT_EQ(hrefs("<a href=/1><a href=/2></a></a>"), (V{"/1", "/2"}));
  EXPECT_EQ(hrefs("<a =href=/eq href=/real>"), V{"/real"});
}

TEST(Links, NulBytesAndInvalidUtf8PassThrough) {
  const std::string nul("<a href='/a\0b'><a\0 href=/no><a href=/c>", 39);
  EXPECT_EQ(hrefs(nul), (V{"/a\xEF\xBF\xBD"
                           "b",
                           "/c"}));
  EXPECT_EQ(hrefs("<a href='/\xFF\xC3(\x80'>"), V{"/\xFF\xC3(\x80"});
  std::string noise;
  for (int i = 0; i < 4096; ++i) noise += static_cast<char>((i * 7919) & 0xFF);
  (void)extract_links(noise);  // must not crash (ASan/UBSan run covers this)
}

TEST(Links, ForeignContent) {
  // <title/> and <style> inside SVG are ordinary elements, not RCDATA/raw text.
  EXPECT_EQ(hrefs("<svg><title/><style><a href=/svg-a></style></svg><a href=/after>"), (V{"/svg-a", "/after"}));
  // A breakout tag leaves foreign content, so <title> is RCDATA again.
  EXPECT_EQ(hrefs("<svg><p><title><a href=/in></title><a href=/out>"), V{"/out"});
  // Frames outside a frameset are dropped by the tree builder.
  EXPECT_EQ(hrefs("<body><frame src=/f>"), V{});
}

TEST(Links, ManyLinksAndCap) {
  std::string page = "<html><body>";
  constexpr int kLinks = 100000;
  for (int i = 0; i < kLinks; ++i) page += "<a href=\"/p/" + std::to_string(i) + "\">" + std::to_string(i) + "</a>\n";
  page += "<base href=/late/></body></html>";
  const PageLinks all = extract_links(page);
  ASSERT_EQ(all.links.size(), static_cast<std::size_t>(kLinks));
  EXPECT_FALSE(all.truncated);
  for (int i = 0; i < kLinks; i += 9973)
    EXPECT_EQ(all.links[static_cast<std::size_t>(i)].href, "/p/" + std::to_string(i));
  EXPECT_EQ(all.links.back().href, "/p/" + std::to_string(kLinks - 1));

  const PageLinks capped = extract_links(page, ExtractOptions{.max_links = 1000});
  EXPECT_EQ(capped.links.size(), 1000u);
  EXPECT_TRUE(capped.truncated);
  EXPECT_EQ(capped.base_href, "/late/");  // the rest of the page is still read
}

TEST(Links, FiveMegabytePage) {
  std::string page = "<html><head><title>big</title></head><body>";
  std::size_t expected = 0;
  while (page.size() < 5u * 1024 * 1024) {
    page += "<div class=\"row\"><p>Lorem ipsum dolor sit amet, consectetur adipiscing elit &amp; more.</p>";
    page += "<script>if (a < b && c > d) { x = '<a href=/no>'; }</script><!-- <a href=/no> -->";
    page += "<a href='/item?id=" + std::to_string(expected) + "&amp;x=1'>item</a></div>\n";
    ++expected;
  }
  const PageLinks p = extract_links(page);
  ASSERT_EQ(p.links.size(), expected);
  EXPECT_EQ(p.links.front().href, "/item?id=0&x=1");
  EXPECT_EQ(p.links.back().href, "/item?id=" + std::to_string(expected - 1) + "&x=1");
}

}  // namespace
}  // namespace rankpool::crawl
