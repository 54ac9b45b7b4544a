#pragma once
// The same links as extract_links(), read from gumbo's full HTML5 tree. Used by the link
// tests as an oracle and by rankpool-links-bench as the baseline; never by rankpool_crawl.
//
// Elements the tree builder made up rather than read from a start tag (formatting elements
// reconstructed or cloned by the adoption agency) are skipped, so that each tag in the page
// counts once, as it does for the streaming extractor.
#include <gumbo.h>

#include <cstring>
#include <string>
#include <string_view>

#include "rankpool/crawl/links.hpp"

namespace rankpool::crawl::oracle {

inline std::string_view trim_url(std::string_view s) {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= 0x20) s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= 0x20) s.remove_suffix(1);
  return s;
}

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

inline std::string ascii_lower_trimmed(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c | 0x20);
  }
  return out;
}

class GumboLinks {
 public:
  explicit GumboLinks(std::string_view html) {
    // Default options on purpose: with max_errors = 0, gumbo 0.10.1 glues the name of a
    // dropped duplicate attribute onto the next one ("<area x x href=y>" loses its href).
    GumboOptions options = kGumboDefaultOptions;
    GumboOutput* output = gumbo_parse_with_options(&options, html.data(), html.size());
    walk(output->root);
    gumbo_destroy_output(&options, output);
  }
  PageLinks& result() { return links_; }

 private:
  static const char* attr(const GumboElement& e, const char* name) {
    const GumboAttribute* a = gumbo_get_attribute(&e.attributes, name);
    return a ? a->value : nullptr;
  }

  void add(LinkKind kind, const char* href, std::string rel) {
    if (!href) return;
    links_.links.push_back(RawLink{kind, std::string(trim_url(href)), std::move(rel)});
  }

  static bool followed_rel(std::string_view rel) {
    if (has_rel_token(rel, "stylesheet")) return false;
    for (std::string_view t : {"canonical", "alternate", "next", "prev", "previous"}) {
      if (has_rel_token(rel, t)) return true;
    }
    return false;
  }

  void element(const GumboNode* node) {
    const GumboElement& e = node->v.element;
    constexpr unsigned kMadeUp =
        GUMBO_INSERTION_RECONSTRUCTED_FORMATTING_ELEMENT | GUMBO_INSERTION_ADOPTION_AGENCY_CLONED;
    if (node->parse_flags & kMadeUp) return;
    auto rel = [&] {
      const char* r = attr(e, "rel");
      return r ? ascii_lower_trimmed(r) : std::string();
    };
    if (e.tag_namespace == GUMBO_NAMESPACE_SVG) {
      if (e.tag == GUMBO_TAG_A) add(LinkKind::a, attr(e, "href"), rel());
      return;
    }
    if (e.tag_namespace != GUMBO_NAMESPACE_HTML) return;
    switch (e.tag) {
      case GUMBO_TAG_A:
        add(LinkKind::a, attr(e, "href"), rel());
        break;
      case GUMBO_TAG_AREA:
        add(LinkKind::area, attr(e, "href"), rel());
        break;
      case GUMBO_TAG_LINK:
        if (attr(e, "rel") && followed_rel(rel())) add(LinkKind::link, attr(e, "href"), rel());
        break;
      case GUMBO_TAG_FRAME:
        add(LinkKind::frame, attr(e, "src"), {});
        break;
      case GUMBO_TAG_IFRAME:
        add(LinkKind::iframe, attr(e, "src"), {});
        break;
      case GUMBO_TAG_BASE:
        if (!links_.base_href && attr(e, "href")) links_.base_href = std::string(trim_url(attr(e, "href")));
        break;
      case GUMBO_TAG_META: {
        const char* equiv = attr(e, "http-equiv");
        const char* content = attr(e, "content");
        const char* name = attr(e, "name");
        if (equiv && content && std::string_view(equiv).size() == 7 && ascii_lower_trimmed(equiv) == "refresh") {
          auto url = parse_meta_refresh_url(content);
          if (url && !trim_url(*url).empty()) add(LinkKind::refresh, std::string(*url).c_str(), {});
        }
        if (name && content && ascii_lower_trimmed(name) == "robots") {
          const std::string c = ascii_lower_trimmed(content);
          // Token split on commas and whitespace, like the extractor.
          std::size_t i = 0;
          while (i < c.size()) {
            while (i < c.size() && (c[i] == ',' || is_space(c[i]))) ++i;
            std::size_t j = i;
            while (j < c.size() && c[j] != ',' && !is_space(c[j])) ++j;
            const std::string_view t(c.data() + i, j - i);
            if (t == "nofollow" || t == "none") links_.meta_nofollow = true;
            if (t == "noindex" || t == "none") links_.meta_noindex = true;
            i = j;
          }
        }
        break;
      }
      default:
        break;
    }
  }

  void walk(const GumboNode* node) {
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_TEMPLATE) return;
    element(node);
    const GumboVector& children = node->v.element.children;
    for (unsigned i = 0; i < children.length; ++i) {
      walk(static_cast<const GumboNode*>(children.data[i]));
    }
  }

  PageLinks links_;
};

/// Links of `html` according to gumbo's tree.
inline PageLinks gumbo_links(std::string_view html) { return std::move(GumboLinks(html).result()); }

}  // namespace rankpool::crawl::oracle
