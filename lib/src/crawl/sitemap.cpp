// Sitemaps: a linear scan of <urlset>/<sitemapindex> documents, and gunzip with a cap.
#include "rankpool/crawl/sitemap.hpp"

#include <zlib.h>

#include <climits>
#include <cstdint>

#include "ascii.hpp"

namespace rankpool::crawl {

namespace {

constexpr auto npos = std::string_view::npos;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view local_name(std::string_view qname) {
  const auto colon = qname.rfind(':');
  return colon == npos ? qname : qname.substr(colon + 1);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

/// Appends `text` with XML's five entities and character references decoded; false on
/// any other reference (a sitemap has no DTD to define one) or a malformed one.
bool decode_text(std::string_view text, std::string& out) {
  for (std::size_t i = 0; i < text.size();) {
    const auto amp = text.find('&', i);
    out.append(text.substr(i, amp == npos ? npos : amp - i));
    if (amp == npos) break;
    const auto semi = text.find(';', amp);
    if (semi == npos || semi - amp > 10) return false;
    const std::string_view ref = text.substr(amp + 1, semi - amp - 1);
    if (ref == "amp") {
      out += '&';
    } else if (ref == "lt") {
      out += '<';
    } else if (ref == "gt") {
      out += '>';
    } else if (ref == "quot") {
      out += '"';
    } else if (ref == "apos") {
      out += '\'';
    } else if (ref.size() >= 2 && ref[0] == '#') {
      const bool hex = ref[1] == 'x';
      const std::string_view digits = ref.substr(hex ? 2 : 1);
      if (digits.empty()) return false;
      unsigned long cp = 0;
      for (const char c : digits) {
        int d = -1;
        if (c >= '0' && c <= '9') d = c - '0';
        if (hex && c >= 'a' && c <= 'f') d = c - 'a' + 10;
        if (hex && c >= 'A' && c <= 'F') d = c - 'A' + 10;
        if (d < 0) return false;
        cp = cp * (hex ? 16 : 10) + static_cast<unsigned long>(d);
        if (cp > 0x10FFFF) return false;
      }
      if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
      ascii::append_utf8(out, static_cast<std::uint32_t>(cp));
    } else {
      return false;
    }
    i = semi + 1;
  }
  return true;
}

Result<Sitemap> parse_xml(std::string_view s, const SitemapLimits& limits) {
  const auto bad = [](const std::string& why) { return Status::error("malformed sitemap: " + why); };
  if (s.starts_with("\xEF\xBB\xBF")) s.remove_prefix(3);  // a UTF-8 byte order mark
  Sitemap out;
  std::vector<std::string_view> open;  // the element stack, qualified names
  bool root_seen = false, root_closed = false, in_loc = false;
  std::string loc;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto lt = s.find('<', i);
    const std::string_view text = s.substr(i, lt == npos ? npos : lt - i);
    if (in_loc) {
      if (!decode_text(text, loc)) return bad("a <loc> holds an unknown or malformed reference");
    } else if (open.empty() && !trim(text).empty()) {
      return bad(root_seen ? "text after the root element" : "text before the root element");
    }
    if (lt == npos) break;
    i = lt;
    const std::string_view rest = s.substr(i);
    if (rest.starts_with("<?")) {  // the XML declaration, a processing instruction
      const auto end = s.find("?>", i + 2);
      if (end == npos) return bad("an unterminated processing instruction");
      i = end + 2;
      continue;
    }
    if (rest.starts_with("<!--")) {
      const auto end = s.find("-->", i + 4);
      if (end == npos) return bad("an unterminated comment");
      i = end + 3;
      continue;
    }
    if (rest.starts_with("<![CDATA[")) {
      const auto end = s.find("]]>", i + 9);
      if (end == npos) return bad("an unterminated CDATA section");
      if (open.empty()) return bad("a CDATA section outside the root element");
      if (in_loc) loc.append(s.substr(i + 9, end - (i + 9)));
      i = end + 3;
      continue;
    }
    if (rest.starts_with("<!")) {  // <!DOCTYPE ...>: skipped, but never an internal subset
      if (root_seen) return bad("a declaration inside the document");
      const auto end = s.find('>', i + 2);
      if (end == npos) return bad("an unterminated declaration");
      if (s.substr(i, end - i).find('[') != npos) return bad("a DTD internal subset (entities are not expanded)");
      i = end + 1;
      continue;
    }
    const bool closing = rest.size() > 1 && rest[1] == '/';
    const std::size_t name_begin = i + (closing ? 2 : 1);
    std::size_t j = name_begin;
    while (j < s.size() && !is_space(s[j]) && s[j] != '>' && s[j] != '/' && s[j] != '<') ++j;
    const std::string_view qname = s.substr(name_begin, j - name_begin);
    if (qname.empty()) return bad("a tag without a name");
    char quote = 0;
    std::size_t k = j;
    for (; k < s.size(); ++k) {  // the tag's end, attribute values skipped
      const char c = s[k];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>') {
        break;
      } else if (c == '<') {
        return bad("'<' inside the tag <" + std::string(qname) + ">");
      }
    }
    if (k >= s.size()) return bad("the tag <" + std::string(qname) + "> is cut off (a truncated file?)");
    const bool self_closing = !closing && s[k - 1] == '/';
    i = k + 1;
    if (closing) {
      if (open.empty() || open.back() != qname)
        return bad("</" + std::string(qname) + "> does not close the open element");
      if (in_loc) {
        const std::string_view url = trim(loc);
        if (!url.empty()) {
          if (out.locs.size() < limits.max_urls)
            out.locs.emplace_back(url);
          else
            out.truncated = true;
        }
        in_loc = false;
        loc.clear();
      }
      open.pop_back();
      root_closed = open.empty();
      continue;
    }
    if (root_closed) return bad("a second root element <" + std::string(qname) + ">");
    if (in_loc) return bad("an element <" + std::string(qname) + "> inside a <loc>");
    const std::string_view name = local_name(qname);
    if (!root_seen) {
      root_seen = true;
      if (name == "urlset")
        out.kind = SitemapKind::urlset;
      else if (name == "sitemapindex")
        out.kind = SitemapKind::index;
      else
        return Status::error("not a sitemap: the root element is <" + std::string(qname) +
                             ">, not <urlset> or <sitemapindex>");
    }
    if (self_closing) {
      root_closed = open.empty();
      continue;
    }
    if (static_cast<int>(open.size()) >= limits.max_nesting)
      return bad("elements nested deeper than " + std::to_string(limits.max_nesting));
    open.push_back(qname);
    if (name == "loc" && open.size() == 3) {
      const std::string_view parent = local_name(open[1]);
      in_loc = out.kind == SitemapKind::urlset ? parent == "url" : parent == "sitemap";
    }
  }
  if (!root_seen) return Status::error("not a sitemap: no root element");
  if (!open.empty()) return bad("<" + std::string(open.back()) + "> is never closed (a truncated file?)");
  return out;
}

}  // namespace

bool looks_gzipped(std::string_view data) {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f && static_cast<unsigned char>(data[1]) == 0x8b;
}

Result<std::string> gunzip(std::string_view data, std::size_t max_bytes) {
  if (!looks_gzipped(data)) return Status::error("not gzip data");
  if (data.size() > UINT_MAX) return Status::error("gzip data too large");
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Status::error("gunzip: zlib cannot start");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[1 << 16];
  Status failure;
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    const std::size_t got = sizeof buf - zs.avail_out;
    if (got > max_bytes - out.size()) {
      failure = Status::error("gzip data inflates to more than " + std::to_string(max_bytes) + " bytes");
      break;
    }
    out.append(buf, got);
    if (rc == Z_STREAM_END) {
      // gzip(1) concatenates members; anything else after the last one is ignored, as gzip does.
      if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b && inflateReset(&zs) == Z_OK) continue;
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      failure = Status::error(std::string("corrupt gzip data") + (zs.msg ? std::string(": ") + zs.msg : ""));
      break;
    }
    if (zs.avail_in == 0 && zs.avail_out != 0) {  // all input read, output not full, no end
      failure = Status::error("truncated gzip data");
      break;
    }
  }
  inflateEnd(&zs);
  if (!failure) return failure;
  return out;
}

Result<Sitemap> parse_sitemap(std::string_view body, const SitemapLimits& limits) {
  if (looks_gzipped(body)) {
    Result<std::string> xml = gunzip(body, limits.max_bytes);
    if (!xml) return xml.status().prefixed("sitemap: ");
    return parse_xml(*xml, limits);
  }
  if (body.size() > limits.max_bytes)
    return Status::error("sitemap larger than " + std::to_string(limits.max_bytes) + " bytes");
  return parse_xml(body, limits);
}

}  // namespace rankpool::crawl
