// The synthetic web as a pure function of (WebSpec, origins, path).
#include <zlib.h>

#include <boost/asio/ip/address_v4.hpp>

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "rankpool/testweb/web.hpp"

namespace rankpool::testweb {
namespace {

// splitmix64: a tiny, well-mixed, fully specified generator. std:: distributions are not
// specified bit-for-bit across standard libraries, and the web must be the same everywhere.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct Rng {
  std::uint64_t state;
  std::uint64_t next() { return state = mix(state); }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

Rng rng_for(std::uint64_t seed, std::size_t origin, std::uint64_t what) {
  return Rng{mix(seed ^ mix(origin * 1000003ULL + mix(what)))};
}

constexpr std::uint64_t kRedirectSame = 1ULL << 40;
constexpr std::uint64_t kRedirectCross = 2ULL << 40;
constexpr std::uint64_t kMalformed = 3ULL << 40;

const std::vector<std::string>& special_paths() {
  static const std::vector<std::string> paths = {
      "/private/1", "/redirect/same", "/redirect/cross", "/redirect/loop/1", "/redirect/out",
      "/missing",   "/error",         "/slow",           "/file.txt",        "/image.png",
      "/big",       "/big-chunked",   "/big.gz",         "/malformed",       "/trap/1"};
  return paths;
}

constexpr const char* kExternal = "http://127.0.0.1:9";  // port 9 (discard): never served

std::string page_path(int k) { return k == 0 ? "/" : "/p/" + std::to_string(k); }

// A relative reference from directory `base_dir` ("/", "/p/", "/p/sub/") to `path`.
std::string relative_ref(std::string_view base_dir, std::string_view path) {
  auto dirs = [](std::string_view p) {
    std::vector<std::string_view> out;
    std::size_t i = 1;
    while (true) {
      auto j = p.find('/', i);
      if (j == std::string_view::npos) break;
      out.push_back(p.substr(i, j - i));
      i = j + 1;
    }
    return out;
  };
  const auto b = dirs(base_dir);
  const auto t = dirs(path);
  const std::string_view file = path.substr(path.rfind('/') + 1);
  std::size_t common = 0;
  while (common < b.size() && common < t.size() && b[common] == t[common]) ++common;
  std::string out;
  for (std::size_t i = common; i < b.size(); ++i) out += "../";
  for (std::size_t i = common; i < t.size(); ++i) (out += t[i]) += '/';
  out += file;
  return out.empty() ? "./" : out;
}

std::optional<long> parse_index(std::string_view s) {
  if (s.empty() || s.size() > 9 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string gzip_compress(const std::string& data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip wrapper rather than raw zlib, as Content-Encoding: gzip wants.
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

namespace {

std::string big_body(std::size_t n) {
  std::string body(n, ' ');
  const std::string head = "<!DOCTYPE html><html><body><p>big</p>";
  body.replace(0, std::min(head.size(), n), head.substr(0, n));
  return body;
}

Response html(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Response error_page(int status) {
  return html(status, "<!DOCTYPE html><html><body><h1>" + std::to_string(status) +
                          "</h1><a href=\"/\">home</a></body></html>\n");
}

Response redirect(int status, std::string location, std::string target) {
  Response r = html(status, "<html><body>moved</body></html>\n");
  r.location = std::move(location);
  r.redirect_target = std::move(target);
  return r;
}

}  // namespace

std::string Origin::str() const { return (tls ? "https://" : "http://") + address + ":" + std::to_string(port); }

std::pair<std::string, std::string> split_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {std::string(url), "/"};
  const auto path_start = url.find('/', scheme_end + 3);
  if (path_start == std::string_view::npos) return {std::string(url), "/"};
  return {std::string(url.substr(0, path_start)), std::string(url.substr(path_start))};
}

WebModel::WebModel(WebSpec spec, std::vector<Origin> origins) : spec_(std::move(spec)), origins_(std::move(origins)) {
  if (spec_.hosts < 1 || spec_.pages_per_host < 2 || spec_.out_degree < 1)
    throw std::invalid_argument("WebSpec: need hosts >= 1, pages_per_host >= 2, out_degree >= 1");
  if (origins_.size() != static_cast<std::size_t>(spec_.hosts) + 1)
    throw std::invalid_argument("WebModel: expected hosts + 1 origins");
  index_.reserve(origins_.size());
  for (std::size_t i = 0; i < origins_.size(); ++i) index_.emplace(origins_[i].str(), i);
  gzip_bomb_ = std::make_shared<const std::string>(gzip_compress(big_body(spec_.big_body_bytes)));
}

std::vector<Origin> WebModel::planned_origins(const WebSpec& spec, int base_port) {
  if (spec.hosts < 1) throw std::invalid_argument("WebSpec: need hosts >= 1");
  boost::system::error_code ec;
  const auto first = boost::asio::ip::make_address_v4(spec.first_address, ec);
  if (ec) throw std::invalid_argument("WebSpec: first address " + spec.first_address + " is not an IPv4 address");
  // Host i is the i-th address from the first one, skipping those whose last octet is 0 or
  // 255 (network- and broadcast-looking): 127.0.0.2 .. 127.0.0.254, then 127.0.1.1, ...
  // Loopback hosts may fill 127.0.0.0/8 (every such address is local); any other first
  // address (a namespace host's) keeps its /24.
  const std::uint32_t net_mask = (first.to_uint() >> 24) == 127 ? 0xff000000u : 0xffffff00u;
  std::vector<Origin> out;
  out.reserve(static_cast<std::size_t>(spec.hosts) + 1);
  std::uint32_t a = first.to_uint();
  for (int i = 0; i < spec.hosts; ++i) {
    while ((a & 0xff) == 0 || (a & 0xff) == 0xff) ++a;
    if ((a & net_mask) != (first.to_uint() & net_mask)) throw std::invalid_argument("WebSpec: too many hosts");
    out.push_back({boost::asio::ip::make_address_v4(a).to_string(), base_port, i < spec.tls_hosts});
    ++a;
  }
  out.push_back({out.front().address, base_port == 0 ? 0 : base_port + 1});
  return out;
}

RobotsKind WebModel::robots_kind(std::size_t origin) const {
  if (origin == static_cast<std::size_t>(spec_.hosts)) return RobotsKind::AllowAllButBadBot;
  switch (origin) {
    case 1:
      return RobotsKind::Missing;
    case 2:
      return RobotsKind::ServerError;
    case 3:
      return RobotsKind::CrawlDelay;
    default:
      return RobotsKind::DisallowPrivate;
  }
}

bool WebModel::robots_allows(std::size_t origin, std::string_view path) const {
  if (path == "/robots.txt") return true;
  switch (robots_kind(origin)) {
    case RobotsKind::Missing:
    case RobotsKind::AllowAllButBadBot:
      return true;
    case RobotsKind::ServerError:
      return false;
    case RobotsKind::CrawlDelay:
      return !path.starts_with("/private/") && !path.starts_with("/p/1");
    case RobotsKind::DisallowPrivate:
      return !path.starts_with("/private/");
  }
  return true;
}

std::string WebModel::robots_txt(std::size_t origin) const {
  switch (robots_kind(origin)) {
    case RobotsKind::DisallowPrivate: {
      std::string text = "# synthetic web\nUser-agent: *\nDisallow: /private/\n";
      for (const auto& sm : robots_sitemaps(origin)) text += "Sitemap: " + sm + "\n";
      return text;
    }
    case RobotsKind::CrawlDelay: {
      char delay[32];
      std::snprintf(delay, sizeof delay, "%g", spec_.crawl_delay_seconds);
      return std::string("User-agent: *\nCrawl-delay: ") + delay + "\nDisallow: /private/\nDisallow: /p/1\n";
    }
    case RobotsKind::AllowAllButBadBot:
      return "User-agent: badbot\nDisallow: /\n\nUser-agent: *\nDisallow:\n";
    case RobotsKind::Missing:
    case RobotsKind::ServerError:
      break;
  }
  return {};
}

std::vector<std::string> WebModel::robots_sitemaps(std::size_t origin) const {
  if (!spec_.sitemaps || origin != 0) return {};
  return {url(0, "/sitemaps/index.xml"), std::string(kExternal) + "/sitemap.xml"};
}

namespace {

constexpr int kOrphans = 20;

std::string xml_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else
      out += c;
  }
  return out;
}

Response xml_file(Response::Sitemap kind, const std::vector<std::string>& locs, std::string body) {
  Response r;
  r.content_type = "application/xml";
  r.sitemap = kind;
  r.sitemap_locs = locs;
  r.body = std::move(body);
  return r;
}

}  // namespace

std::optional<Response> WebModel::sitemap_file(std::size_t origin, std::string_view path) const {
  const std::string here = origins_[origin].str();
  const int n = spec_.pages_per_host;
  const std::string ns = "http://www.sitemaps.org/schemas/sitemap/0.9";
  const std::string decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  if (origin == 0 && path == "/sitemaps/index.xml") {
    const std::vector<std::string> listed = {
        here + "/sitemaps/pages.xml",   here + "/sitemaps/more.xml.gz",           here + "/sitemaps/broken.xml",
        here + "/sitemaps/missing.xml", url(1 % origins_.size(), "/sitemap.xml"), here + "/sitemaps/index.xml"};
    std::string b =
        decl + "<!-- an index: one gzipped, one malformed, one missing -->\n<sitemapindex xmlns=\"" + ns + "\">\n";
    for (const auto& l : listed)
      b += "  <sitemap>\n    <loc>" + xml_escape(l) + "</loc>\n    <lastmod>2026-11-30</lastmod>\n  </sitemap>\n";
    b += "</sitemapindex>\n";
    return xml_file(Response::Sitemap::index, listed, std::move(b));
  }
  if (origin == 0 && path == "/sitemaps/pages.xml") {
    const std::string with_query = here + "/orphan/2?a=1&b=2";
    const std::vector<std::string> listed = {here + "/orphan/1",
                                             with_query,
                                             here + "/orphan/3",
                                             here + page_path(n - 1),
                                             here + "/private/2",
                                             std::string(kExternal) + "/from-a-sitemap",
                                             url(1 % origins_.size(), "/orphan/4")};
    std::string b = decl + "<urlset xmlns=\"" + ns + "\" xmlns:xhtml=\"http://www.w3.org/1999/xhtml\">\n";
    for (const auto& l : listed) {
      if (l == here + "/orphan/3")
        b += "<url><loc><![CDATA[" + l + "]]></loc><priority>0.5</priority></url>\n";
      else
        b += "<url>\n  <loc>\n    " + xml_escape(l) + "\n  </loc>\n  <changefreq>daily</changefreq>\n</url>\n";
    }
    b += "</urlset>\n";
    return xml_file(Response::Sitemap::urlset, listed, std::move(b));
  }
  if (origin == 0 && path == "/sitemaps/more.xml.gz") {
    const std::vector<std::string> listed = {here + "/orphan/5", here + "/orphan/6"};
    std::string xml = decl + "<urlset xmlns=\"" + ns + "\">";
    for (const auto& l : listed) xml += "<url><loc>" + l + "</loc></url>";
    xml += "</urlset>\n";
    Response r = xml_file(Response::Sitemap::urlset, listed, gzip_compress(xml));
    r.content_type = "application/x-gzip";  // a file, not an encoding: the client gunzips it
    return r;
  }
  if (origin == 0 && path == "/sitemaps/broken.xml") {
    // Cut off before </urlset>: malformed, so not even its complete <url> counts.
    return xml_file(Response::Sitemap::none, {},
                    decl + "<urlset xmlns=\"" + ns + "\">\n<url><loc>" + here + "/orphan/7</loc></url>\n<url><loc>" +
                        here + "/orphan/");
  }
  if (origin == 1 && path == "/sitemap.xml") {
    const std::vector<std::string> listed = {here + "/orphan/8", here + page_path(1)};
    std::string b = decl + "<sm:urlset xmlns:sm=\"" + ns + "\">\n";
    for (const auto& l : listed) b += "<sm:url><sm:loc>" + l + "</sm:loc></sm:url>\n";
    b += "</sm:urlset>\n";
    return xml_file(Response::Sitemap::urlset, listed, std::move(b));
  }
  if (path.starts_with("/orphan/")) {
    const auto k = parse_index(path.substr(8));
    if (!k || *k < 1 || *k > kOrphans) return std::nullopt;
    Response r = html(200, "<!DOCTYPE html><html><body><h1>orphan " + std::to_string(*k) + "</h1>");
    const std::string to_page = here + page_path(static_cast<int>(*k % n));
    r.body += "<a href=\"" + page_path(static_cast<int>(*k % n)) + "\">a page</a>";
    r.links.push_back(to_page);
    if (*k <= 10) {
      r.body += "<a href=\"" + std::to_string(*k + 10) + "\">another orphan</a>";
      r.links.push_back(here + "/orphan/" + std::to_string(*k + 10));
    }
    r.body += "</body></html>\n";
    return r;
  }
  return std::nullopt;
}

std::optional<std::size_t> WebModel::origin_index(std::string_view origin) const {
  const auto it = index_.find(std::string(origin));
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::string WebModel::url(std::size_t origin, std::string_view path) const {
  return origins_[origin].str() + std::string(path);
}

std::optional<Response> WebModel::respond(std::string_view url) const {
  auto [origin, path] = split_url(url);
  auto idx = origin_index(origin);
  if (!idx) return std::nullopt;
  return respond(*idx, path);
}

Response WebModel::page(std::size_t origin, int k) const {
  const int n = spec_.pages_per_host;
  Rng rng = rng_for(spec_.seed, origin, static_cast<std::uint64_t>(k));
  const Origin& here = origins_[origin];
  const std::string host_port = here.address + ":" + std::to_string(here.port);
  const bool has_base = k % 5 == 2;
  const std::string base_dir = has_base ? "/p/sub/" : (k == 0 ? "/" : "/p/");

  Response r = html(200, "");
  std::string& b = r.body;
  b = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + here.str() + " page " + std::to_string(k) +
      "</title>";
  if (has_base) b += "<base href=\"" + std::string(k % 10 == 2 ? here.str() : "") + "/p/sub/\">";
  b += "</head>\n<body><h1>Page " + std::to_string(k) + "</h1>\n";

  auto add = [&](std::size_t to, const std::string& path, bool any_style) {
    const Origin& there = origins_[to];
    const std::string there_hp = there.address + ":" + std::to_string(there.port);
    std::string href;
    std::size_t style = to == origin && any_style ? rng.below(7) : rng.below(3);
    // A protocol-relative href takes this page's scheme: across schemes, write it whole.
    if (style == 2 && there.tls != here.tls) style = 0;
    switch (style) {
      case 0:
        href = there.str() + path;
        break;
      case 1:
        href = (there.tls ? "HTTPS://" : "HTTP://") + there_hp + path;
        break;
      case 2:
        href = "//" + there_hp + path;
        break;
      case 3:
        href = path;
        break;
      case 4:
        href = relative_ref(base_dir, path);
        break;
      case 5:
        href = "/x/../" + path.substr(1);
        break;
      default:
        href = "./" + relative_ref(base_dir, path);
        break;
    }
    if (rng.below(4) == 0) href += "#s" + std::to_string(rng.below(10));
    b += "<p>See <a href=\"" + href + "\">" + there.str() + path + "</a>.</p>\n";
    r.links.push_back(there.str() + path);
  };

  add(origin, page_path((k + 1) % n), true);
  for (int i = 1; i < spec_.out_degree; ++i) {
    std::size_t to = origin;
    if (origins_.size() > 1 && rng.below(4) == 0) to = (origin + 1 + rng.below(origins_.size() - 1)) % origins_.size();
    add(to, page_path(static_cast<int>(rng.below(static_cast<std::size_t>(n)))), true);
  }
  if (k == 0 && spec_.link_specials) {
    for (const auto& p : special_paths()) add(origin, p, true);
    b += "<p><a href=\"" + std::string(kExternal) +
         "/external\">elsewhere</a> "
         "<a href=\"mailto:webmaster@example.invalid\">mail</a> "
         "<a href=\"javascript:void(0)\">script</a> "
         "<a href=\"ftp://127.0.0.1:9/file\">ftp</a></p>\n";
    r.links.push_back(std::string(kExternal) + "/external");
  }
  b += "</body></html>\n";
  return r;
}

Response WebModel::respond(std::size_t origin, std::string_view target) const {
  const std::string_view path = target.substr(0, target.find('?'));
  const int n = spec_.pages_per_host;
  const std::string here = origins_[origin].str();

  if (path == "/robots.txt") {
    switch (robots_kind(origin)) {
      case RobotsKind::Missing:
        return error_page(404);
      case RobotsKind::ServerError:
        return error_page(500);
      default: {
        Response r;
        r.content_type = "text/plain";
        r.body = robots_txt(origin);
        return r;
      }
    }
  }
  if (path == "/") return page(origin, 0);
  if (spec_.sitemaps)
    if (auto r = sitemap_file(origin, path)) return std::move(*r);
  if (path.starts_with("/p/")) {
    auto k = parse_index(path.substr(3));
    if (k && *k >= 1 && *k < n) return page(origin, static_cast<int>(*k));
    return error_page(404);
  }
  if (path.starts_with("/private/")) {
    auto k = parse_index(path.substr(9));
    if (!k || *k < 1 || *k > 3) return error_page(404);
    Response r = html(200, "<!DOCTYPE html><html><body><h1>private " + std::to_string(*k) + "</h1>");
    if (*k < 3) {
      r.body += "<a href=\"" + std::to_string(*k + 1) + "\">next</a>";
      r.links.push_back(here + "/private/" + std::to_string(*k + 1));
    }
    r.body += "<a href=\"/\">home</a></body></html>\n";
    r.links.push_back(here + "/");
    return r;
  }
  if (path == "/redirect/same") {
    Rng rng = rng_for(spec_.seed, origin, kRedirectSame);
    const std::string p = page_path(1 + static_cast<int>(rng.below(static_cast<std::size_t>(n - 1))));
    return redirect(301, ".." + p, here + p);  // relative Location: curl resolves it
  }
  if (path == "/redirect/cross") {
    Rng rng = rng_for(spec_.seed, origin, kRedirectCross);
    const std::size_t to = (origin + 1) % origins_.size();
    const std::string t =
        origins_[to].str() + page_path(1 + static_cast<int>(rng.below(static_cast<std::size_t>(n - 1))));
    return redirect(302, t, t);
  }
  if (path == "/redirect/loop/1") return redirect(302, "/redirect/loop/2", here + "/redirect/loop/2");
  if (path == "/redirect/loop/2") return redirect(302, "/redirect/loop/1", here + "/redirect/loop/1");
  if (path == "/redirect/out") {
    const std::string t = std::string(kExternal) + "/elsewhere";
    return redirect(301, t, t);
  }
  if (path == "/error") return error_page(500);
  if (path == "/slow") {
    Response r = html(200, "<!DOCTYPE html><html><body><p>slow</p></body></html>\n");
    r.delay = spec_.slow_delay;
    return r;
  }
  if (path == "/file.txt") {
    Response r;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "Not HTML. <a href=\"/hidden/txt\">not a link</a> " + here + "/hidden/txt2\n";
    return r;
  }
  if (path == "/image.png") {
    Response r;
    r.content_type = "image/png";
    r.body = std::string("\x89PNG\r\n\x1a\n", 8) + std::string(64, '\0') + "<a href=\"/hidden/png\">";
    return r;
  }
  if (path == "/large.pdf") {
    Response r;
    r.content_type = "application/pdf";
    r.body = "%PDF-1.4\n%rankpool-testweb\n";
    r.body.resize(std::max(r.body.size(), spec_.pdf_bytes), ' ');
    return r;
  }
  if (path == "/big" || path == "/big-chunked") {
    Response r = html(200, big_body(spec_.big_body_bytes));
    r.chunked = path == "/big-chunked";
    return r;
  }
  if (path == "/big.gz") {
    Response r = html(200, *gzip_bomb_);
    r.content_encoding = "gzip";
    return r;
  }
  if (path == "/malformed") {
    Rng rng = rng_for(spec_.seed, origin, kMalformed);
    auto pick = [&] { return 1 + static_cast<int>(rng.below(static_cast<std::size_t>(n - 1))); };
    const int a = pick(), b = pick(), c = pick(), d = pick(), e = pick();
    const Origin& o = origins_[origin];
    const std::string hp = o.address + ":" + std::to_string(o.port);
    Response r = html(200, "");
    r.body =
        "<html><head><title>malformed</title><body>\n<p>unclosed <b>bold <i>italic\n"
        "<A HREF=/p/" +
        std::to_string(a) +
        ">upper-case, unquoted</A>\n"
        "<a href='p/" +
        std::to_string(b) +
        "'>single quotes, relative\n"
        "<div><a class=x href = \"/p/" +
        std::to_string(c) +
        "#frag\" >spaced</a>\n"
        "<table><tr><td><a href=//" +
        hp + "/p/" + std::to_string(d) +
        ">cell</td></table>\n"
        "<!-- <a href=\"/p/" +
        std::to_string(e) +
        "/commented\">commented out</a> -->\n"
        "<a>no href</a> <a href=\"mailto:webmaster@example.invalid\">mail</a>"
        " <a href=\"javascript:void(0)\">js</a>\n";
    for (int v : {a, b, c, d}) r.links.push_back(here + page_path(v));
    return r;
  }
  if (path.starts_with("/trap/")) {
    auto k = parse_index(path.substr(6));
    if (!k || *k < 1) return error_page(404);
    const std::string next = std::to_string(*k + 1);
    Response r = html(200, "<!DOCTYPE html><html><body><p>Day " + std::to_string(*k) +
                               " of an endless calendar.</p><a href=\"" + next + "\">next day</a></body></html>\n");
    r.links.push_back(here + "/trap/" + next);
    return r;
  }
  return error_page(404);
}

}  // namespace rankpool::testweb
