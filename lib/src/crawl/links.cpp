// Streaming link extractor. One forward pass: memchr to the next '<', a small state machine
// for the tag, and dedicated scanners for comments and raw text. States and their names
// follow the HTML5 tokenizer (https://html.spec.whatwg.org/#tokenization) so that each
// branch can be checked against the spec; see links.hpp for the decisions taken where a
// scanner without a tree builder has to choose.
#include "rankpool/crawl/links.hpp"

#include <boost/describe/enum_to_string.hpp>
#include <boost/describe/enumerators.hpp>
#include <boost/mp11/algorithm.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <ostream>

#include "ascii.hpp"
#include "links_entities.hpp"

namespace rankpool::crawl {
namespace {

// ---- character classes -----------------------------------------------------------------

// HTML5 "ASCII whitespace" as the tokenizer sees it; CR is included because the input
// stream turns it into LF before tokenization.
constexpr bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\f' || c == '\r'; }
constexpr bool is_alpha(char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
constexpr char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c; }

// `lower` must already be lowercase.
bool equals_ci(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (to_lower(s[i]) != lower[i]) return false;
  }
  return true;
}

// Removes what the URL parser would strip anyway: leading and trailing C0 controls and
// spaces. Doing it here lets callers compare and deduplicate raw values directly.
std::string_view trim_url(std::string_view s) {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= 0x20) s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= 0x20) s.remove_suffix(1);
  return s;
}

std::string_view trim_space(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// ---- character references --------------------------------------------------------------

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// HTML5 "numeric character reference end state": C1 controls are read as Windows-1252,
// because that is what pages that write &#150; mean. Zero means "keep the code point".
constexpr std::array<std::uint16_t, 32> kWindows1252 = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,  // 80-87
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,       // 88-8F
    0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,  // 90-97
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,  // 98-9F
};

std::optional<std::string_view> find_named_reference(std::string_view name) {
  const auto table = detail::named_references();
  const auto it = std::lower_bound(table.begin(), table.end(), name,
                                   [](const detail::NamedReference& e, std::string_view n) { return e.name < n; });
  if (it != table.end() && it->name == name) return it->utf8;
  return std::nullopt;
}

// Decodes the character reference starting at s[i] == '&' (attribute-value rules) and
// returns the index just after what it consumed.
std::size_t decode_reference(std::string_view s, std::size_t i, std::string& out) {
  const std::size_t n = s.size();
  std::size_t j = i + 1;
  if (j < n && s[j] == '#') {
    std::size_t k = j + 1;
    const bool hex = k < n && (s[k] == 'x' || s[k] == 'X');
    if (hex) ++k;
    const std::size_t digits = k;
    std::uint32_t value = 0;
    for (; k < n; ++k) {
      const char c = s[k];
      std::uint32_t d;
      if (is_digit(c)) {
        d = static_cast<std::uint32_t>(c - '0');
      } else if (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
        d = static_cast<std::uint32_t>((c | 0x20) - 'a' + 10);
      } else {
        break;
      }
      // Saturate: anything past U+10FFFF is replaced anyway, and this keeps a long digit
      // run from overflowing.
      value = std::min<std::uint32_t>(value * (hex ? 16 : 10) + d, 0x110000);
    }
    if (k == digits) {  // "&#" or "&#x" without digits is not a reference: keep the text
      out.append(s.substr(i, k - i));
      return k;
    }
    if (k < n && s[k] == ';') ++k;
    if (value == 0 || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
      out.append(kReplacement);
    } else if (value >= 0x80 && value <= 0x9F && kWindows1252[value - 0x80] != 0) {
      ascii::append_utf8(out, kWindows1252[value - 0x80]);
    } else {
      ascii::append_utf8(out, value);
    }
    return k;
  }

  std::size_t r = j;
  while (r < n && is_alnum(s[r]) && r - j < 40) ++r;  // the longest name has 31 characters
  if (r == j) {
    out += '&';
    return j;
  }
  if (r < n && s[r] == ';') {
    if (auto v = find_named_reference(s.substr(j, r + 1 - j))) {
      out.append(*v);
      return r + 1;
    }
  }
  // Longest legacy name (those valid without ';') that prefixes the run.
  for (std::size_t len = r - j; len > 0; --len) {
    if (auto v = find_named_reference(s.substr(j, len))) {
      const std::size_t after = j + len;
      // In attribute values "&amp=" and "&ampx" stay as written: they are more likely
      // query strings than references (HTML5 "named character reference state").
      if (after < n && (s[after] == '=' || is_alnum(s[after]))) break;
      out.append(*v);
      return after;
    }
  }
  out += '&';
  return j;
}

void append_attribute_value(std::string& out, std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    std::size_t run = i;
    while (run < n && s[run] != '&' && s[run] != '\0' && s[run] != '\r') ++run;
    out.append(s.substr(i, run - i));
    if (run == n) break;
    i = run;
    switch (s[i]) {
      case '&':
        i = decode_reference(s, i, out);
        break;
      case '\0':
        out.append(kReplacement);
        ++i;
        break;
      default:  // '\r'
        out += '\n';
        ++i;
        if (i < n && s[i] == '\n') ++i;
        break;
    }
  }
}

// ---- tags -------------------------------------------------------------------------------

enum class Tag : std::uint8_t {
  other,
  a,
  area,
  link,
  frame,
  iframe,
  base,
  meta,
  script,
  style,
  xmp,
  noembed,
  noframes,
  title,
  textarea,
  plaintext,
  frameset,
  svg,
  math,
};

Tag classify(std::string_view name) {
  if (name.size() > 9) return Tag::other;
  char buf[9];
  for (std::size_t i = 0; i < name.size(); ++i) buf[i] = to_lower(name[i]);
  const std::string_view n(buf, name.size());
  switch (n.size()) {
    case 1:
      return n == "a" ? Tag::a : Tag::other;
    case 3:
      if (n == "xmp") return Tag::xmp;
      if (n == "svg") return Tag::svg;
      return Tag::other;
    case 4:
      if (n == "area") return Tag::area;
      if (n == "link") return Tag::link;
      if (n == "base") return Tag::base;
      if (n == "meta") return Tag::meta;
      if (n == "math") return Tag::math;
      return Tag::other;
    case 5:
      if (n == "frame") return Tag::frame;
      if (n == "style") return Tag::style;
      if (n == "title") return Tag::title;
      return Tag::other;
    case 6:
      if (n == "iframe") return Tag::iframe;
      if (n == "script") return Tag::script;
      return Tag::other;
    case 7:
      return n == "noembed" ? Tag::noembed : Tag::other;
    case 8:
      if (n == "noframes") return Tag::noframes;
      if (n == "textarea") return Tag::textarea;
      if (n == "frameset") return Tag::frameset;
      return Tag::other;
    case 9:
      return n == "plaintext" ? Tag::plaintext : Tag::other;
    default:
      return Tag::other;
  }
}

// HTML start tags that end foreign content ("parsing main inforeign", the breakout list).
// <font> breaks out only with color/face/size; it is rare enough to leave out.
bool is_breakout(std::string_view name) {
  static constexpr std::array<std::string_view, 44> kBreakout = {
      "b",     "big",   "blockquote", "body",   "br",   "center", "code",  "dd", "div",  "dl",   "dt",
      "em",    "embed", "h1",         "h2",     "h3",   "h4",     "h5",    "h6", "head", "hr",   "i",
      "img",   "li",    "listing",    "menu",   "meta", "nobr",   "ol",    "p",  "pre",  "ruby", "s",
      "small", "span",  "strong",     "strike", "sub",  "sup",    "table", "tt", "u",    "ul",   "var"};
  if (name.size() > 10) return false;
  char buf[10];
  for (std::size_t i = 0; i < name.size(); ++i) buf[i] = to_lower(name[i]);
  const std::string_view n(buf, name.size());
  return std::find(kBreakout.begin(), kBreakout.end(), n) != kBreakout.end();
}

enum Attr : std::uint8_t { kHref, kSrc, kRel, kHttpEquiv, kContent, kName, kAttrCount };

int classify_attribute(std::string_view name) {
  switch (name.size()) {
    case 3:
      if (equals_ci(name, "src")) return kSrc;
      if (equals_ci(name, "rel")) return kRel;
      return -1;
    case 4:
      if (equals_ci(name, "href")) return kHref;
      if (equals_ci(name, "name")) return kName;
      return -1;
    case 7:
      return equals_ci(name, "content") ? kContent : -1;
    case 10:
      return equals_ci(name, "http-equiv") ? kHttpEquiv : -1;
    default:
      return -1;
  }
}

struct TagToken {
  std::string_view name;
  bool self_closing = false;
  std::array<std::optional<std::string_view>, kAttrCount> attrs{};  // raw, undecoded
};

// Scans attributes from `p` (just after the tag name) to the closing '>'. Returns the
// position after '>', or nullptr when the input ends first: a tag cut off at EOF is
// dropped, as the tokenizer does. Only the first occurrence of an attribute counts.
const char* scan_attributes(const char* p, const char* end, TagToken* tag) {
  for (;;) {
    // before attribute name (and self-closing start tag) state
    while (p < end && (is_space(*p) || *p == '/')) {
      if (*p == '/' && p + 1 < end && p[1] == '>') {
        if (tag) tag->self_closing = true;
      }
      ++p;
    }
    if (p >= end) return nullptr;
    if (*p == '>') return p + 1;
    // attribute name state; a leading '=' belongs to the name
    const char* name_begin = p++;
    while (p < end && !is_space(*p) && *p != '/' && *p != '>' && *p != '=') ++p;
    const std::string_view name(name_begin, static_cast<std::size_t>(p - name_begin));
    // after attribute name state
    while (p < end && is_space(*p)) ++p;
    if (p >= end) return nullptr;
    std::string_view value;
    if (*p == '=') {
      ++p;
      while (p < end && is_space(*p)) ++p;  // before attribute value state
      if (p >= end) return nullptr;
      if (*p == '"' || *p == '\'') {
        const char* close = static_cast<const char*>(std::memchr(p + 1, *p, static_cast<std::size_t>(end - p - 1)));
        if (!close) return nullptr;
        value = std::string_view(p + 1, static_cast<std::size_t>(close - p - 1));
        p = close + 1;
      } else if (*p != '>') {  // unquoted; '>' here means a missing value
        const char* begin = p;
        while (p < end && !is_space(*p) && *p != '>') ++p;
        value = std::string_view(begin, static_cast<std::size_t>(p - begin));
      }
    }
    if (tag) {
      const int slot = classify_attribute(name);
      if (slot >= 0 && !tag->attrs[static_cast<std::size_t>(slot)]) {
        tag->attrs[static_cast<std::size_t>(slot)] = value;
      }
    }
  }
}

// True when `p` starts "name" followed by whitespace, '/' or '>' (an "appropriate end tag"
// once "</" has been seen). At EOF it is not: the text stays text.
bool appropriate_end_tag(const char* p, const char* end, std::string_view lower_name) {
  if (static_cast<std::size_t>(end - p) <= lower_name.size()) return false;
  if (!equals_ci(std::string_view(p, lower_name.size()), lower_name)) return false;
  const char c = p[lower_name.size()];
  return is_space(c) || c == '/' || c == '>';
}

// RAWTEXT / RCDATA: returns the '<' of the matching end tag, or `end`.
const char* skip_raw_text(const char* p, const char* end, std::string_view lower_name) {
  for (;;) {
    const char* lt = static_cast<const char*>(std::memchr(p, '<', static_cast<std::size_t>(end - p)));
    if (!lt) return end;
    if (lt + 1 < end && lt[1] == '/' && appropriate_end_tag(lt + 2, end, lower_name)) return lt;
    p = lt + 1;
  }
}

// Script data with its escaped ("<!--") and double-escaped ("<!--<script>") states, so
// that "<!--<script></script>-->" inside a script does not end it. Returns the '<' of the
// closing </script, or `end`.
const char* skip_script_data(const char* p, const char* end) {
  enum class S { data, escaped, escaped_dash, escaped_dash_dash, dbl, dbl_dash, dbl_dash_dash };
  S state = S::data;
  // Letters after "<" or "</" in the escaped states; says whether they spell "script"
  // followed by whitespace, '/' or '>'. Advances `q` past the letters.
  auto script_word = [end](const char*& q) {
    const char* begin = q;
    while (q < end && is_alpha(*q)) ++q;
    return q < end && (is_space(*q) || *q == '/' || *q == '>') &&
           equals_ci(std::string_view(begin, static_cast<std::size_t>(q - begin)), "script");
  };
  while (p < end) {
    switch (state) {
      case S::data: {
        const char* lt = static_cast<const char*>(std::memchr(p, '<', static_cast<std::size_t>(end - p)));
        if (!lt) return end;
        p = lt + 1;
        if (p < end && *p == '/') {
          if (appropriate_end_tag(p + 1, end, "script")) return lt;
        } else if (p + 2 < end && p[0] == '!' && p[1] == '-' && p[2] == '-') {
          p += 3;
          state = S::escaped_dash_dash;
        }
        break;
      }
      case S::escaped:
      case S::escaped_dash:
      case S::escaped_dash_dash: {
        const char c = *p++;
        if (c == '-') {
          state = state == S::escaped ? S::escaped_dash : S::escaped_dash_dash;
        } else if (c == '>' && state == S::escaped_dash_dash) {
          state = S::data;
        } else if (c == '<') {
          state = S::escaped;
          if (p < end && *p == '/') {
            if (appropriate_end_tag(p + 1, end, "script")) return p - 1;
          } else if (p < end && is_alpha(*p)) {
            if (script_word(p)) {
              ++p;  // the terminator is consumed with the switch
              state = S::dbl;
            }
          }
        } else {
          state = S::escaped;
        }
        break;
      }
      case S::dbl:
      case S::dbl_dash:
      case S::dbl_dash_dash: {
        const char c = *p++;
        if (c == '-') {
          state = state == S::dbl ? S::dbl_dash : S::dbl_dash_dash;
        } else if (c == '>' && state == S::dbl_dash_dash) {
          state = S::data;
        } else if (c == '<') {
          state = S::dbl;
          if (p < end && *p == '/') {
            ++p;
            if (script_word(p)) {
              ++p;
              state = S::escaped;
            }
          }
        } else {
          state = S::dbl;
        }
        break;
      }
    }
  }
  return end;
}

// Comment starting just after "<!--": returns the position after its end, or `end`.
// "<!-->" and "<!--->" are complete (empty) comments; otherwise "-->" or "--!>" ends it.
const char* skip_comment(const char* p, const char* end) {
  if (p < end && *p == '>') return p + 1;
  if (end - p >= 2 && p[0] == '-' && p[1] == '>') return p + 2;
  for (;;) {
    const char* dash = static_cast<const char*>(std::memchr(p, '-', static_cast<std::size_t>(end - p)));
    if (!dash || end - dash < 3) return end;
    if (dash[1] == '-') {
      if (dash[2] == '>') return dash + 3;
      if (dash[2] == '!' && end - dash >= 4 && dash[3] == '>') return dash + 4;
    }
    p = dash + 1;
  }
}

const char* skip_to_gt(const char* p, const char* end) {
  const char* gt = static_cast<const char*>(std::memchr(p, '>', static_cast<std::size_t>(end - p)));
  return gt ? gt + 1 : end;
}

bool is_followed_rel(std::string_view rel) {
  if (has_rel_token(rel, "stylesheet")) return false;
  for (std::string_view token : {"canonical", "alternate", "next", "prev", "previous"}) {
    if (has_rel_token(rel, token)) return true;
  }
  return false;
}

class Extractor {
 public:
  Extractor(std::string_view html, const ExtractOptions& options, PageLinks& out)
      : p_(html.data()), end_(html.data() + html.size()), options_(options), out_(out) {}

  void run() {
    while (p_ < end_) {
      const char* lt = static_cast<const char*>(std::memchr(p_, '<', static_cast<std::size_t>(end_ - p_)));
      if (!lt || lt + 1 >= end_) return;
      p_ = lt + 1;
      const char c = *p_;
      if (is_alpha(c)) {
        if (!start_tag()) return;
      } else if (c == '/') {
        ++p_;
        if (p_ >= end_) return;
        if (is_alpha(*p_)) {
          if (!end_tag()) return;
        } else if (*p_ == '>') {
          ++p_;  // "</>" is dropped
        } else {
          p_ = skip_to_gt(p_, end_);  // bogus comment
        }
      } else if (c == '!') {
        ++p_;
        if (end_ - p_ >= 2 && p_[0] == '-' && p_[1] == '-') {
          p_ = skip_comment(p_ + 2, end_);
        } else if (!foreign_.empty() && end_ - p_ >= 7 && std::memcmp(p_, "[CDATA[", 7) == 0) {
          static constexpr std::string_view kCdataEnd = "]]>";
          const char* close = std::search(p_ + 7, end_, kCdataEnd.begin(), kCdataEnd.end());
          p_ = close == end_ ? end_ : close + 3;
        } else {
          p_ = skip_to_gt(p_, end_);  // DOCTYPE, HTML-namespace CDATA, bogus comments
        }
      } else if (c == '?') {
        p_ = skip_to_gt(p_, end_);  // processing instruction: a bogus comment in HTML
      }
      // anything else: '<' was text
    }
  }

 private:
  static bool same_name(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (to_lower(a[i]) != to_lower(b[i])) return false;
    }
    return true;
  }

  const char* tag_name_end(const char* p) const {
    while (p < end_ && !is_space(*p) && *p != '/' && *p != '>') ++p;
    return p;
  }

  bool end_tag() {
    const char* name_end = tag_name_end(p_);
    const std::string_view name(p_, static_cast<std::size_t>(name_end - p_));
    const char* next = scan_attributes(name_end, end_, nullptr);
    if (!next) return false;
    p_ = next;
    if (!foreign_.empty()) {
      // Foreign content: the end tag closes the nearest open foreign element of that name.
      // With none, the tree builder hands it to the HTML rules, which ignore a stray end
      // tag ("<svg></b>") but close the <svg> when an HTML ancestor has that name ("</a>" in
      // "<a><svg></a>"). Without the HTML stack the stray case is assumed.
      if (foreign_overflow_ > 0) {
        // The innermost elements went past the cap and their names were not kept: each end
        // tag is taken to close one of them, so a deep <svg> half closed is still foreign.
        --foreign_overflow_;
        return true;
      }
      std::size_t i = foreign_.size();
      while (i > 0 && !same_name(foreign_[i - 1].name, name)) --i;
      if (i > 0) {
        foreign_.resize(i);  // pops every element above the match (runs above its run)
        if (--foreign_.back().count == 0) foreign_.pop_back();
      }
      return true;
    }
    if (classify(name) == Tag::frameset && frameset_depth_ > 0 && --frameset_depth_ == 0) {
      frameset_closed_ = true;
    }
    return true;
  }

  // Returns false when scanning must stop (EOF inside a tag, or <plaintext>).
  bool start_tag() {
    const char* name_end = tag_name_end(p_);
    TagToken tag;
    tag.name = std::string_view(p_, static_cast<std::size_t>(name_end - p_));
    const char* next = scan_attributes(name_end, end_, &tag);
    if (!next) return false;
    p_ = next;
    Tag id = classify(tag.name);
    if (!foreign_.empty()) {
      if (is_breakout(tag.name)) {
        foreign_.clear();
        foreign_overflow_ = 0;
      } else {
        if (id == Tag::a) add_link(LinkKind::a, tag.attrs[kHref], tag.attrs[kRel]);
        if (!tag.self_closing) open_foreign(tag.name);
        return true;
      }
    }
    switch (id) {
      case Tag::a:
        add_link(LinkKind::a, tag.attrs[kHref], tag.attrs[kRel]);
        break;
      case Tag::area:
        add_link(LinkKind::area, tag.attrs[kHref], tag.attrs[kRel]);
        break;
      case Tag::link:
        if (tag.attrs[kRel] && tag.attrs[kHref]) {
          std::string rel = decoded_rel(*tag.attrs[kRel]);
          if (is_followed_rel(rel)) add_link(LinkKind::link, decode(*tag.attrs[kHref]), std::move(rel));
        }
        break;
      case Tag::frame:
        if (frameset_depth_ > 0) add_link(LinkKind::frame, tag.attrs[kSrc], std::nullopt);
        break;
      case Tag::iframe:
        add_link(LinkKind::iframe, tag.attrs[kSrc], std::nullopt);
        p_ = skip_raw_text(p_, end_, "iframe");
        break;
      case Tag::base:
        if (!out_.base_href && tag.attrs[kHref]) out_.base_href = std::string(trim_url(decode(*tag.attrs[kHref])));
        break;
      case Tag::meta:
        meta(tag);
        break;
      case Tag::script:
        p_ = skip_script_data(p_, end_);
        break;
      case Tag::style:
        p_ = skip_raw_text(p_, end_, "style");
        break;
      case Tag::xmp:
        p_ = skip_raw_text(p_, end_, "xmp");
        break;
      case Tag::noembed:
        p_ = skip_raw_text(p_, end_, "noembed");
        break;
      case Tag::noframes:
        p_ = skip_raw_text(p_, end_, "noframes");
        break;
      case Tag::title:
        p_ = skip_raw_text(p_, end_, "title");
        break;
      case Tag::textarea:
        p_ = skip_raw_text(p_, end_, "textarea");
        break;
      case Tag::plaintext:
        return false;  // everything after it is text
      case Tag::frameset:
        if (!frameset_closed_) ++frameset_depth_;
        break;
      case Tag::svg:
      case Tag::math:
        if (!tag.self_closing) open_foreign(tag.name);
        break;
      case Tag::other:
        break;
    }
    return true;
  }

  void open_foreign(std::string_view name) {
    if (foreign_overflow_ > 0) {
      ++foreign_overflow_;  // the innermost elements are the uncounted ones
    } else if (!foreign_.empty() && same_name(foreign_.back().name, name)) {
      ++foreign_.back().count;
    } else if (foreign_.size() < kMaxForeignRuns) {
      foreign_.push_back(ForeignRun{name, 1});
    } else {
      ++foreign_overflow_;
    }
  }

  void meta(const TagToken& tag) {
    if (tag.attrs[kHttpEquiv] && tag.attrs[kContent] && equals_ci(decode(*tag.attrs[kHttpEquiv]), "refresh")) {
      const std::string content = decode(*tag.attrs[kContent]);
      if (auto url = parse_meta_refresh_url(content)) {
        // An empty URL refreshes the page itself: nothing to crawl.
        if (!trim_url(*url).empty()) add_link(LinkKind::refresh, std::string(*url), {});
      }
    }
    if (tag.attrs[kName] && tag.attrs[kContent] && equals_ci(trim_space(decode(*tag.attrs[kName])), "robots")) {
      const std::string content = decode(*tag.attrs[kContent]);
      std::size_t i = 0;
      while (i < content.size()) {
        while (i < content.size() && (content[i] == ',' || is_space(content[i]))) ++i;
        std::size_t j = i;
        while (j < content.size() && content[j] != ',' && !is_space(content[j])) ++j;
        const std::string_view token(content.data() + i, j - i);
        if (equals_ci(token, "nofollow")) out_.meta_nofollow = true;
        if (equals_ci(token, "noindex")) out_.meta_noindex = true;
        if (equals_ci(token, "none")) out_.meta_nofollow = out_.meta_noindex = true;
        i = j;
      }
    }
  }

  static std::string decode(std::string_view raw) { return decode_attribute_value(raw); }

  static std::string decoded_rel(std::string_view raw) {
    std::string rel(trim_space(decode(raw)));
    for (char& ch : rel) ch = to_lower(ch);
    return rel;
  }

  void add_link(LinkKind kind, const std::optional<std::string_view>& href,
                const std::optional<std::string_view>& rel) {
    if (!href) return;
    if (out_.links.size() >= options_.max_links) {
      out_.truncated = true;
      return;
    }
    add_link(kind, decode(*href), rel ? decoded_rel(*rel) : std::string());
  }

  void add_link(LinkKind kind, const std::string& href, std::string rel) {
    if (out_.links.size() >= options_.max_links) {
      out_.truncated = true;
      return;
    }
    out_.links.push_back(RawLink{kind, std::string(trim_url(href)), std::move(rel)});
  }

  const char* p_;
  const char* end_;
  const ExtractOptions& options_;
  PageLinks& out_;
  int frameset_depth_ = 0;        // >0: <frame> is an element, not an ignored token
  bool frameset_closed_ = false;  // after the root </frameset> ("after frameset" mode)
                                  // the tree builder ignores frames and framesets
  // Open elements inside <svg>/<math>, outermost first, as runs of one name (views into
  // the page): 10^6 nested <svg> are one run. Non-empty means foreign content. Capped at
  // kMaxForeignRuns runs so that endless nesting of changing names (<svg><g><svg><g>...)
  // cannot grow it without bound and a stray end tag searches at most that many runs.
  // Elements opened past the cap are only counted, in foreign_overflow_, and end tags
  // consume that count first, so the depth is tracked however deep the page nests. Only
  // the names of the innermost elements past the cap are lost: an end tag there is taken
  // to close one element, whatever its name (a stray one closes nothing in the tree).
  struct ForeignRun {
    std::string_view name;
    std::size_t count;
  };
  static constexpr std::size_t kMaxForeignRuns = 1024;
  std::vector<ForeignRun> foreign_;
  std::size_t foreign_overflow_ = 0;
};

}  // namespace

std::string_view to_string(LinkKind kind) {
  const char* name = boost::describe::enum_to_string(kind, nullptr);
  return name ? std::string_view(name) : std::string_view("?");
}

std::optional<LinkKind> parse_link_kind(std::string_view name) {
  std::optional<LinkKind> kind;
  boost::mp11::mp_for_each<boost::describe::describe_enumerators<LinkKind>>([&](auto e) {
    if (name == e.name) kind = e.value;
  });
  return kind;
}

std::ostream& operator<<(std::ostream& out, LinkKind kind) { return out << to_string(kind); }

std::ostream& operator<<(std::ostream& out, const RawLink& link) {
  out << link.kind << " \"" << link.href << '"';
  if (!link.rel.empty()) out << " rel=\"" << link.rel << '"';
  return out;
}

PageLinks extract_links(std::string_view html, const ExtractOptions& options) {
  PageLinks out;
  Extractor(html, options, out).run();
  return out;
}

std::optional<std::string_view> parse_meta_refresh_url(std::string_view s) {
  // https://html.spec.whatwg.org/#shared-declarative-refresh-steps
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n && is_space(s[i])) ++i;
  const std::size_t digits = i;
  while (i < n && is_digit(s[i])) ++i;
  if (i == digits && (i >= n || s[i] != '.')) return std::nullopt;
  while (i < n && (is_digit(s[i]) || s[i] == '.')) ++i;
  if (i >= n) return std::nullopt;  // only a delay: refresh the page itself
  if (s[i] != ';' && s[i] != ',' && !is_space(s[i])) return std::nullopt;
  while (i < n && is_space(s[i])) ++i;
  if (i < n && (s[i] == ';' || s[i] == ',')) ++i;
  while (i < n && is_space(s[i])) ++i;
  if (i >= n) return std::nullopt;
  std::string_view url = s.substr(i);
  std::size_t j = i;
  if (j < n && (s[j] == 'u' || s[j] == 'U')) {
    ++j;
    if (!(j < n && (s[j] == 'r' || s[j] == 'R'))) return url;
    ++j;
    if (!(j < n && (s[j] == 'l' || s[j] == 'L'))) return url;
    ++j;
    while (j < n && is_space(s[j])) ++j;
    if (!(j < n && s[j] == '=')) return url;
    ++j;
    while (j < n && is_space(s[j])) ++j;
  }
  // "skip quotes"
  char quote = 0;
  if (j < n && (s[j] == '\'' || s[j] == '"')) quote = s[j++];
  url = s.substr(j);
  if (quote) {
    const auto close = url.find(quote);
    if (close != std::string_view::npos) url = url.substr(0, close);
  }
  return url;
}

std::string decode_attribute_value(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  append_attribute_value(out, raw);
  return out;
}

bool has_rel_token(std::string_view rel, std::string_view token) {
  std::size_t i = 0;
  while (i < rel.size()) {
    while (i < rel.size() && is_space(rel[i])) ++i;
    std::size_t j = i;
    while (j < rel.size() && !is_space(rel[j])) ++j;
    const std::string_view t = rel.substr(i, j - i);
    if (t.size() == token.size()) {
      bool same = true;
      for (std::size_t k = 0; k < t.size() && same; ++k) same = to_lower(t[k]) == to_lower(token[k]);
      if (same && !t.empty()) return true;
    }
    i = j;
  }
  return false;
}

}  // namespace rankpool::crawl
