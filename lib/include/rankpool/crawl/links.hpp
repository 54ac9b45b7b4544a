#pragma once
// Streaming link extraction from HTML: one pass over the bytes, no DOM.
//
// The extractor follows the HTML5 tokenizer (comments, raw text and RCDATA elements,
// attribute quoting, duplicate attributes, character references) closely enough that the
// links it reports are the ones a browser's tree would hold, and it is checked against
// gumbo (a full HTML5 parser) on generated and adversarial pages. It does not resolve or
// normalize URLs: values come back as written in the page (entity-decoded and trimmed), and
// the crawler resolves them against `base_href` (or the page URL) itself.
//
// Decisions where a streaming scanner has to pick one behaviour:
//  - Scripting is treated as disabled (as for a crawler that runs no JavaScript), so the
//    contents of <noscript> are parsed as markup and links inside it are reported.
//  - <script>, <style>, <xmp>, <iframe>, <noembed>, <noframes> are raw text and <title>,
//    <textarea> are RCDATA: tags inside them are text. <plaintext> ends all markup.
//  - Inside <svg>/<math> (foreign content) those elements are not raw text, <![CDATA[ ]]>
//    is honoured, and only <a href> is reported; an HTML "breakout" start tag (<div>, <p>,
//    <img>, ...) leaves foreign content, as in the tree builder. The extractor keeps the
//    stack of open foreign elements but not the HTML one, so an end tag that closes the
//    <svg> through an HTML ancestor ("<a><svg></a>") is taken as stray and ignored, and
//    HTML integration points (<foreignObject>) are not modelled.
//  - <frame src> is reported only inside <frameset> (the tree builder drops it elsewhere).
//  - Bytes pass through unchanged, invalid UTF-8 included; only NUL becomes U+FFFD and
//    CR/CRLF become LF, as the HTML5 input stream does.
//  - Not modelled (the tree builder's insertion modes): tags that the tree would drop
//    inside <select> or after a <frameset> are still reported.
#include <boost/describe/enum.hpp>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rankpool::crawl {

/// What kind of element a link came from. The enumerator names are the one spelling of a
/// kind in every output (links.tsv's third column, test and fuzz messages): they come from
/// the description below, so a kind cannot be spelled two ways.
enum class LinkKind : std::uint8_t {
  a,        // <a href>
  area,     // <area href>
  link,     // <link href rel=...>, only for the rels a crawler follows (see below)
  frame,    // <frame src> inside <frameset>
  iframe,   // <iframe src>
  refresh,  // <meta http-equiv=refresh content="N; url=...">
};
BOOST_DESCRIBE_ENUM(LinkKind, a, area, link, frame, iframe, refresh)

/// The kind's name: "a", "area", "link", "frame", "iframe", "refresh".
std::string_view to_string(LinkKind kind);
/// The kind named `name` (as to_string() writes it), or nothing.
std::optional<LinkKind> parse_link_kind(std::string_view name);
/// Links a crawl follows without --follow-all: <a> and <area>.
inline bool followed_by_default(LinkKind kind) { return kind == LinkKind::a || kind == LinkKind::area; }
std::ostream& operator<<(std::ostream& out, LinkKind kind);

struct RawLink {
  LinkKind kind = LinkKind::a;
  std::string href;  // entity-decoded, leading/trailing C0 controls and spaces removed
  std::string rel;   // <a>, <area>, <link>: the rel attribute, ASCII-lowercased and trimmed

  friend bool operator==(const RawLink&, const RawLink&) = default;
};
std::ostream& operator<<(std::ostream& out, const RawLink& link);

struct PageLinks {
  std::vector<RawLink> links;            // in document order
  std::optional<std::string> base_href;  // the first <base> that has an href, as browsers do
  bool meta_nofollow = false;            // <meta name=robots content=nofollow|none>
  bool meta_noindex = false;             // <meta name=robots content=noindex|none>
  bool truncated = false;                // true when max_links stopped collection early
};

struct ExtractOptions {
  std::size_t max_links = 100000;  // caps memory on link-farm pages; base and meta flags are
                                   // still taken from the whole page once the cap is hit
};

/// Extracts the links of one HTML page. Never throws on malformed input (bad markup,
/// truncation, NUL bytes, invalid UTF-8); a tag cut off by the end of input yields nothing.
///
/// <link> elements are reported when their rel has one of the tokens canonical, alternate,
/// next, prev, previous — unless it also has stylesheet (an alternate stylesheet is not a page).
PageLinks extract_links(std::string_view html, const ExtractOptions& options = {});

/// The URL part of a refresh declaration (`5; url='x.html'`), by the HTML5 "shared
/// declarative refresh steps"; nullopt when the content is invalid or names no URL (a
/// refresh of the page itself). The view points into `content`.
std::optional<std::string_view> parse_meta_refresh_url(std::string_view content);

/// Decodes an attribute value as the HTML5 tokenizer does: character references (named,
/// decimal, hex; a legacy name without ';' is left alone when followed by '=' or an
/// alphanumeric), NUL to U+FFFD, CR and CRLF to LF.
std::string decode_attribute_value(std::string_view raw);

/// True when the space-separated `rel` list holds `token` (ASCII case-insensitive).
bool has_rel_token(std::string_view rel, std::string_view token);

}  // namespace rankpool::crawl
