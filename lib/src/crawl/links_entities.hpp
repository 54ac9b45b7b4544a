#pragma once
// Private to rankpool_crawl: the HTML5 named character reference table used to decode
// attribute values in links.cpp.
//
// links_entities.cpp is generated; to regenerate it (Python's html.entities.html5 is the
// WHATWG table), run from the repository root:
//   python3 - <<'PY'
//   import html.entities as e
//   items = sorted(e.html5.items(), key=lambda kv: kv[0].encode())
//   esc = lambda s: ''.join('\\x%02x' % b for b in s.encode())
//   body = '\n'.join('    {"%s", "%s"},' % (k, esc(v)) for k, v in items)
//   # ...wrapped in the namespace/array boilerplate seen in links_entities.cpp
//   PY
#include <span>
#include <string_view>

namespace rankpool::crawl::detail {

struct NamedReference {
  std::string_view name;  // without the leading '&'; legacy names appear with and without ';'
  std::string_view utf8;  // the replacement text, UTF-8 encoded
};

/// All 2231 entries, sorted by name in byte order (for std::lower_bound).
std::span<const NamedReference> named_references();

}  // namespace rankpool::crawl::detail
