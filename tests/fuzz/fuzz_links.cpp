// Fuzz target: streaming link extraction (crawl/links.hpp).
//
// Input: an HTML page. extract_links() runs on it, on a prefix of it and with a link cap;
// decode_attribute_value() and parse_meta_refresh_url() run on the raw bytes, and the bytes
// are also wrapped as an <a href="..."> and a <meta http-equiv=refresh content="...">.
// Properties:
//   * hrefs and base_href never start or end with ASCII whitespace or a C0 control, and a
//     meta refresh link is never empty;
//   * rel is ASCII-lowercased and trimmed, set only on <a>/<area>/<link>, and a <link> is
//     reported only for a followed rel (canonical, alternate, next, prev, previous) without
//     stylesheet;
//   * streaming: the links of a prefix of the page are a prefix of the page's links (a tag
//     cut off by the end of input yields nothing, and nothing later changes earlier links);
//   * the cap: max_links = k gives the first k links, `truncated` exactly when there were
//     more, and the same base_href and meta flags (read from the whole page);
//   * decoding: no NUL survives; text without '&' only has NUL -> U+FFFD and CR/CRLF -> LF;
//   * a quoted href or refresh content comes back as decode + trim of what was written;
//   * parse_meta_refresh_url returns a view into its argument.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "rankpool/crawl/links.hpp"

namespace {

using rankpool::crawl::ExtractOptions;
using rankpool::crawl::LinkKind;
using rankpool::crawl::PageLinks;
using rankpool::crawl::RawLink;

bool is_url_trim_byte(char c) { return static_cast<unsigned char>(c) <= 0x20; }
bool is_html_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\f' || c == '\r'; }

std::string_view trim_url(std::string_view s) {
  while (!s.empty() && is_url_trim_byte(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_url_trim_byte(s.back())) s.remove_suffix(1);
  return s;
}

bool is_trimmed_url(std::string_view s) { return trim_url(s).size() == s.size(); }

std::string describe(const RawLink& link) {
  return std::string(rankpool::crawl::to_string(link.kind)) + " href=" + link.href + " rel=" + link.rel;
}

void check_page(const PageLinks& page, std::string_view html) {
  for (const RawLink& link : page.links) {
    FUZZ_CHECK(is_trimmed_url(link.href), {"html", html}, {"link", describe(link)});
    FUZZ_CHECK(link.kind != LinkKind::refresh || !link.href.empty(), {"html", html});
    for (const char c : link.rel) {
      FUZZ_CHECK(!(c >= 'A' && c <= 'Z'), {"html", html}, {"link", describe(link)});
    }
    FUZZ_CHECK(link.rel.empty() || (!is_html_space(link.rel.front()) && !is_html_space(link.rel.back())),
               {"html", html}, {"link", describe(link)});
    const bool rel_allowed = link.kind == LinkKind::a || link.kind == LinkKind::area || link.kind == LinkKind::link;
    FUZZ_CHECK(rel_allowed || link.rel.empty(), {"html", html}, {"link", describe(link)});
    if (link.kind == LinkKind::link) {
      using rankpool::crawl::has_rel_token;
      const bool followed = has_rel_token(link.rel, "canonical") || has_rel_token(link.rel, "alternate") ||
                            has_rel_token(link.rel, "next") || has_rel_token(link.rel, "prev") ||
                            has_rel_token(link.rel, "previous");
      FUZZ_CHECK(followed && !has_rel_token(link.rel, "stylesheet"), {"html", html}, {"link", describe(link)});
    }
  }
  if (page.base_href) FUZZ_CHECK(is_trimmed_url(*page.base_href), {"html", html}, {"base", *page.base_href});
  FUZZ_CHECK(!page.truncated, {"html", html});  // the default cap is far above any fuzz input
}

// decode_attribute_value() for text without '&': only the input-stream rules apply.
std::string decode_without_references(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\0') {
      out += "\xEF\xBF\xBD";
    } else if (s[i] == '\r') {
      out += '\n';
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

void check_decoding(std::string_view raw) {
  const std::string decoded = rankpool::crawl::decode_attribute_value(raw);
  FUZZ_CHECK(decoded.find('\0') == std::string::npos, {"raw", raw}, {"decoded", decoded});
  if (raw.find('&') == std::string_view::npos) {
    const std::string expected = decode_without_references(raw);
    FUZZ_CHECK(decoded == expected, {"raw", raw}, {"decoded", decoded}, {"expected", expected});
  }
}

void check_refresh(std::string_view content) {
  const auto url = rankpool::crawl::parse_meta_refresh_url(content);
  if (!url) return;
  FUZZ_CHECK(url->data() >= content.data() && url->data() + url->size() <= content.data() + content.size(),
             {"content", content});
}

// The bytes as one quoted attribute value: the extractor must report exactly what
// decode + trim make of it.
void check_wrapped(std::string_view input) {
  std::string value;
  for (const char c : input.substr(0, 512)) {
    if (c != '"') value += c;
  }
  const std::string decoded = rankpool::crawl::decode_attribute_value(value);

  const std::string anchor = "<a href=\"" + value + "\">";
  const PageLinks a = rankpool::crawl::extract_links(anchor);
  FUZZ_CHECK(a.links.size() == 1 && a.links[0].kind == LinkKind::a && a.links[0].href == trim_url(decoded),
             {"html", anchor}, {"expected", trim_url(decoded)},
             {"got", a.links.empty() ? std::string("(no link)") : describe(a.links[0])});

  const std::string meta = "<meta http-equiv=refresh content=\"" + value + "\">";
  const PageLinks m = rankpool::crawl::extract_links(meta);
  const auto url = rankpool::crawl::parse_meta_refresh_url(decoded);
  const bool expect_link = url && !trim_url(*url).empty();
  FUZZ_CHECK(m.links.size() == (expect_link ? 1u : 0u), {"html", meta});
  if (expect_link) {
    FUZZ_CHECK(m.links[0].kind == LinkKind::refresh && m.links[0].href == trim_url(*url), {"html", meta},
               {"expected", trim_url(*url)}, {"got", describe(m.links[0])});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view html(reinterpret_cast<const char*>(data), size);
  const PageLinks page = rankpool::crawl::extract_links(html);
  check_page(page, html);

  if (!html.empty()) {
    const unsigned seed = static_cast<unsigned char>(html.back());

    // Streaming: a prefix yields a prefix of the links.
    const std::size_t cut = (seed * 257u + size / 3) % size;
    const PageLinks head = rankpool::crawl::extract_links(html.substr(0, cut));
    check_page(head, html.substr(0, cut));
    FUZZ_CHECK(head.links.size() <= page.links.size(), {"html", html}, {"prefix", html.substr(0, cut)});
    for (std::size_t i = 0; i < head.links.size(); ++i) {
      FUZZ_CHECK(head.links[i] == page.links[i], {"html", html}, {"prefix", html.substr(0, cut)},
                 {"prefix link", describe(head.links[i])}, {"page link", describe(page.links[i])});
    }
    if (head.base_href) FUZZ_CHECK(page.base_href == head.base_href, {"html", html});
    FUZZ_CHECK(!head.meta_nofollow || page.meta_nofollow, {"html", html});
    FUZZ_CHECK(!head.meta_noindex || page.meta_noindex, {"html", html});

    // The cap.
    ExtractOptions capped;
    capped.max_links = page.links.empty() ? 0 : seed % (page.links.size() + 1);
    const PageLinks first = rankpool::crawl::extract_links(html, capped);
    FUZZ_CHECK(first.links.size() == capped.max_links, {"html", html});
    for (std::size_t i = 0; i < first.links.size(); ++i) {
      FUZZ_CHECK(first.links[i] == page.links[i], {"html", html});
    }
    FUZZ_CHECK(first.truncated == (page.links.size() > capped.max_links), {"html", html});
    FUZZ_CHECK(first.base_href == page.base_href && first.meta_nofollow == page.meta_nofollow &&
                   first.meta_noindex == page.meta_noindex,
               {"html", html});
  }

  check_decoding(html);
  check_refresh(html);
  check_wrapped(html);
  return 0;
}
