// Differential test: resolve()/normalize() against the WHATWG URL parser as browsers run it,
// `new URL(href, base)` in Node, on a corpus of hrefs: the RFC 3986 §5.4 examples plus
// real-world oddities (international names, IPv4 and IPv6 forms, ports, backslashes,
// whitespace, percent-encoded hosts, userinfo, fragments, "http:g").
//
// The test writes the corpus as JSON, runs node once on it, and compares case by case. Node's
// URL is first put through the canonicalizations rankpool applies on purpose (kRules: each
// with its reason); after that the two must be equal, both must refuse, or the case must be
// listed in kKnownDifferences with its reason. A listed case that no longer differs fails
// the test too, so the list stays true. Without node the test is skipped, saying so.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "rankpool/crawl/url.hpp"

namespace rankpool::crawl {
namespace {

namespace fs = std::filesystem;

struct Case {
  std::string href;
  std::string base;  // "" = none: new URL(href) against normalize(href)
};

constexpr const char* kRfc = "http://a/b/c/d;p?q";  // RFC 3986 §5.4's base
constexpr const char* kPage = "http://h.example/dir/page.html?x=1#top";
constexpr const char* kSecure = "https://s.example:8443/d/e";

std::vector<Case> corpus() {
  std::vector<Case> cases;
  // RFC 3986 §5.4.1 and §5.4.2, all of them.
  for (const char* r : {"g:h",       "g",          "./g",     "g/",         "/g",
                        "//g",       "?y",         "g?y",     "#s",         "g#s",
                        "g?y#s",     ";x",         "g;x",     "g;x?y#s",    "",
                        ".",         "./",         "..",      "../",        "../g",
                        "../..",     "../../",     "../../g", "../../../g", "../../../../g",
                        "/./g",      "/../g",      "g.",      ".g",         "g..",
                        "..g",       "./../g",     "./g/.",   "g/./h",      "g/../h",
                        "g;x=1/./y", "g;x=1/../y", "g?y/./x", "g?y/../x",   "g#s/./x",
                        "g#s/../x",  "http:g"}) {
    cases.push_back({r, kRfc});
  }
  const std::vector<Case> oddities = {
      // International names: mapped (UTS 46), Punycode; percent-encoded UTF-8 decoded first.
      {"http://bücher.example/", ""},
      {"http://BÜCHER.Example/Straße", ""},
      {"//bücher.example/x", kPage},
      {"http://b%C3%BCcher.example/", ""},
      {"http://b%c3%bccher.example/", ""},
      {"http://xn--bcher-kva.example/", ""},
      {"http://XN--BCHER-KVA.example/", ""},
      {"http://faß.de/", ""},
      {"http://ａｂｃ.com/", ""},
      {"http://a。b。c/", ""},
      {"http://עברית.example/", ""},
      {"http://a_b.bücher.example/", ""},
      {"http://xn--a.example/", ""},
      {"http://xn--.example/", ""},
      {"http://a\u200db.bücher.example/", ""},
      {"http://bücher.123/", ""},
      {"http://%F0%9F%92%A9.la/", ""},
      {"http://-x.bücher.example/", ""},
      {"http://b%FCcher.example/", ""},
      // Percent-encoded and odd ASCII hosts.
      {"http://%45x.com/", ""},
      {"http://a%2Cb.example/", ""},
      {"http://a%20b/", ""},
      {"http://a%zz.example/", ""},
      {"http://a%00b/", ""},
      {"http://a<b/", ""},
      {"http://a^b/", ""},
      {"http://a{b/", ""},
      {"http://a\"b/", ""},
      {"http://a*b_c.example/", ""},
      {"http://example.com./", ""},
      {"http://a..b/", ""},
      {"http://.example/", ""},
      // IPv4 in every form WHATWG reads.
      {"http://127.1/", ""},
      {"http://0x7f.0.0.1/", ""},
      {"http://0X7F.1/", ""},
      {"http://2130706433/", ""},
      {"http://0177.0.0.1/", ""},
      {"http://0x7F000001/", ""},
      {"http://127.0.1/", ""},
      {"http://127.0.0.1./", ""},
      {"http://0x/", ""},
      {"http://4294967295/", ""},
      {"http://4294967296/", ""},
      {"http://256.0.0.1/", ""},
      {"http://1.2.3.4.5/", ""},
      {"http://09.1/", ""},
      {"http://example.123/", ""},
      {"http://example.0x1/", ""},
      {"http://1.2.3.4.example/", ""},
      {"http://%31%32%37.1/", ""},
      {"//0x7f.1:8080/x", kPage},
      // IPv6 literals, compressed as RFC 5952 says.
      {"http://[0:0::1]/", ""},
      {"http://[::1]:8080/x", ""},
      {"http://[1:0:0:2:0:0:0:3]/", ""},
      {"http://[1:0:0:0:2:0:0:3]/", ""},
      {"http://[2001:DB8::0001]/", ""},
      {"http://[0:0:0:0:0:0:0:0]/", ""},
      {"http://[1:2:3:4:5:6:7:8]/", ""},
      {"http://[1:2:3:4:5:6:0:0]/", ""},
      {"http://[::ffff:1.2.3.4]/", ""},
      {"http://[::1/", ""},
      {"http://[::1]x/", ""},
      {"http://[1::2::3]/", ""},
      {"http://[fe80::1%25eth0]/", ""},
      {"http://[v1.x]/", ""},
      {"http://[::1]:80/", ""},
      // Ports.
      {"http://h:80/", ""},
      {"http://h:0080/x", ""},
      {"https://h:443/", ""},
      {"https://h:80/", ""},
      {"http://h:443/", ""},
      {"http://h:/x", ""},
      {"http://h:65535/", ""},
      {"http://h:65536/", ""},
      {"http://h:0/", ""},
      {"http://h:8a/", ""},
      {"http://h:1:2/", ""},
      {"http://:80/", ""},
      // Special-scheme relative forms: "http:g" against http is relative, else absolute.
      {"http:g", kPage},
      {"http:/g", kPage},
      {"http:?y", kPage},
      {"http:#s", kPage},
      {"http:", kPage},
      {"HTTP:g", kPage},
      {"http:g:h", kPage},
      {"https:g", kPage},
      {"http:g", kSecure},
      {"http:g", ""},
      {"http:///x", ""},
      {"http:////x", kPage},
      {"///x", kPage},
      {"////x/y", kSecure},
      {"//h2", kPage},
      {"//h2?q", kSecure},
      // Backslashes are slashes before the query.
      {"\\g", kPage},
      {"\\\\g\\x", kPage},
      {"http:\\\\h\\a\\b", ""},
      {"/a\\b?c\\d", kPage},
      {"..\\x", kPage},
      // Whitespace and controls: trimmed at the ends, tab/CR/LF removed inside.
      {"  /a ", kPage},
      {"\t/a\nb\r", kPage},
      {"/a b", kPage},
      {" http://h/x\r\n", ""},
      {"\x01/a\x1f", kPage},
      {"ht\ttp://h\n2/", ""},
      {"a\tb", kPage},
      // Percent-encoding in paths and queries.
      {"/%7euser", kPage},
      {"/a%2fb", kPage},
      {"/%e3%83%84", kPage},
      {"/100%", kPage},
      {"/a%2e%2E/b", kPage},
      {"/x/%2e%2e/y", kPage},
      {"/a/%2E/b", kPage},
      {"?q=%7E&r=%2f", kPage},
      {"/café?q=ü", kPage},
      // Characters RFC 3986 forbids, which WHATWG passes through in places.
      {"/a[b]", kPage},
      {"/a|b^c", kPage},
      {"/{x}`", kPage},
      {"?a|b^c`{}", kPage},
      {"?a'b", kPage},
      {"/a'b", kPage},
      {"?a\\b", kPage},
      // Userinfo.
      {"http://user:pw@h/x", ""},
      {"http://a@b@c/x", ""},
      {"http://@h/", ""},
      {"http://user@/x", ""},
      {"//u:p@h2/x", kPage},
      // Fragments.
      {"#s", kPage},
      {"/x#a#b", kPage},
      {"?y#", kPage},
      {"#", kPage},
      {"http://h#f", ""},
      {"http://h?q", ""},
      // Case, default port, dot segments, empty query.
      {"HTTP://Example.COM:80/a/./b/../c?x#f", ""},
      {"http://h/p?", ""},
      {"http://h/a/../../..", ""},
      {"../../../../x", kSecure},
      // Other schemes.
      {"mailto:a@b.example", kPage},
      {"javascript:void(0)", kPage},
      {"ftp://h/x", kPage},
      {"data:text/plain,x", kPage},
      {"file:///etc/passwd", kPage},
      {"tel:+123", kPage},
      {"c:\\x", kPage},
  };
  cases.insert(cases.end(), oddities.begin(), oddities.end());
  return cases;
}

// What rankpool canonicalizes on purpose, applied to Node's URL before comparing. The http(s)
// URL is rebuilt from its parts: scheme "://" host [":" port] path ["?" query].
struct Rule {
  const char* name;
  const char* reason;
};
const Rule kRules[] = {
    {"fragment dropped", "it never reaches the server; one page is one canonical key"},
    {"userinfo dropped", "credentials in links are accidents or phishing, and would split one page into many keys"},
    {"escapes normalized", "RFC 3986 6.2.2.1/6.2.2.2: hex upper-cased, escapes of unreserved characters decoded"},
    {"RFC 3986 characters escaped",
     "WHATWG leaves [ ] ^ | ` { } (and \\ in queries, and a stray %) raw; a canonical URL is a valid URI"},
};

// Rule 3 and 4 on a path or a query as Node serializes it.
std::string rankpool_escapes(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  auto hex = [](char c) {
    return (c >= '0' && c <= '9')   ? c - '0'
           : (c >= 'a' && c <= 'f') ? c - 'a' + 10
           : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                    : -1;
  };
  auto escape = [&](std::string& out, unsigned char c) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  };
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      const auto d = static_cast<unsigned char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
      const bool unreserved = (d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') || (d >= '0' && d <= '9') || d == '-' ||
                              d == '.' || d == '_' || d == '~';
      if (unreserved) {
        out += static_cast<char>(d);
      } else {
        escape(out, d);
      }
      i += 2;
    } else if (std::string_view("%[]^|`{}\\").find(static_cast<char>(c)) != std::string_view::npos) {
      escape(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Node's href, canonicalized by kRules; "" when it is not an http(s) URL.
std::string expected_from_node(const std::string& href) {
  const auto scheme_end = href.find("://");
  if (scheme_end == std::string::npos) return {};
  const std::string scheme = href.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return {};
  std::string rest = href.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('#'));  // fragment
  const auto slash = rest.find('/');      // special URLs always have a path
  std::string authority = rest.substr(0, slash);
  const std::string path_query = slash == std::string::npos ? "/" : rest.substr(slash);
  if (const auto at = authority.rfind('@'); at != std::string::npos) authority.erase(0, at + 1);  // userinfo
  const auto q = path_query.find('?');
  std::string out = scheme + "://" + authority + rankpool_escapes(path_query.substr(0, q));
  if (q != std::string::npos) out += "?" + rankpool_escapes(path_query.substr(q + 1));
  return out;
}

// Cases where rankpool differs from browsers on purpose, beyond kRules. Keyed by href and base.
struct KnownDifference {
  const char* href;
  const char* base;
  const char* reason;
};
const KnownDifference kKnownDifferences[] = {
    {"http://%F0%9F%92%A9.la/", "",
     "IDNA2008 (libidn2, as in curl and wget) disallows emoji that UTS 46 as browsers apply it allows"},
    {"http://-x.bücher.example/", "",
     "IDNA2008 refuses a label that starts or ends with '-' in an international name; browsers skip CheckHyphens"},
    {"http://a{b/", "", "WHATWG allows { } ` \" in hosts; no DNS name has them and no RFC 3986 URI either: refused"},
    {"http://a\"b/", "", "WHATWG allows { } ` \" in hosts; no DNS name has them and no RFC 3986 URI either: refused"},
    {"http://h:0/", "", "port 0 cannot be connected to: refused"},
    {"?a'b", kPage, "WHATWG escapes ' in special-scheme queries (a compatibility quirk); RFC 3986 allows it raw"},
};

const std::string& node_binary() {
  static const std::string path = [] {
    const char* env_path = std::getenv("PATH");
    std::stringstream dirs(env_path != nullptr ? env_path : "/usr/bin:/bin");
    for (std::string d; std::getline(dirs, d, ':');) {
      for (const char* name : {"node", "nodejs"}) {
        const fs::path p = fs::path(d.empty() ? "." : d) / name;
        if (::access(p.c_str(), X_OK) == 0) return p.string();
      }
    }
    return std::string();
  }();
  return path;
}

constexpr const char* kScript = R"js(
const fs = require('fs');
const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const out = cases.map(([href, base]) => {
  try {
    return {ok: true, href: (base === '' ? new URL(href) : new URL(href, base)).href};
  } catch (e) {
    return {ok: false, error: String(e.code || e.message)};
  }
});
fs.writeFileSync(process.argv[3], JSON.stringify(out));
)js";

std::string printable(std::string_view s) {
  std::string out;
  for (const unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

TEST(UrlDifferential, MatchesNodeUrlExceptListedCanonicalizations) {
  if (node_binary().empty()) GTEST_SKIP() << "node is not installed (Debian package: nodejs): no WHATWG URL oracle";
  const std::vector<Case> cases = corpus();

  // Write the corpus and the script, run node once.
  const fs::path dir = fs::temp_directory_path() / ("rankpool-url-diff-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  boost::json::array input;
  for (const Case& c : cases)
    input.push_back(boost::json::array{boost::json::string(c.href), boost::json::string(c.base)});
  std::ofstream(dir / "corpus.json") << boost::json::serialize(input);
  std::ofstream(dir / "oracle.js") << kScript;
  const std::string command = "'" + node_binary() + "' '" + (dir / "oracle.js").string() + "' '" +
                              (dir / "corpus.json").string() + "' '" + (dir / "node.json").string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(dir / "node.json");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::remove_all(dir);
  const boost::json::array results = boost::json::parse(text).as_array();
  ASSERT_EQ(results.size(), cases.size());

  std::map<std::pair<std::string, std::string>, const KnownDifference*> known;
  for (const KnownDifference& k : kKnownDifferences) known[{k.href, k.base}] = &k;

  int same = 0;
  int both_refuse = 0;
  int other_scheme = 0;
  int listed = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const boost::json::object& r = results[i].as_object();
    const bool node_ok = r.at("ok").as_bool();
    const std::string node_href = node_ok ? std::string(r.at("href").as_string()) : std::string();
    const NormalizedUrl ours = c.base.empty() ? normalize(c.href) : resolve(c.href, c.base);
    const std::string expected = node_ok ? expected_from_node(node_href) : std::string();
    const std::string label = "href '" + printable(c.href) + "' base '" + c.base + "': node " +
                              (node_ok ? node_href : "refuses (" + std::string(r.at("error").as_string()) + ")") +
                              ", rankpool " + (ours.ok() ? ours.url : "refuses (" + ours.error + ")");
    bool agrees = false;
    if (node_ok && expected.empty()) {
      agrees = !ours.ok();  // http(s) only: every other scheme is refused
      other_scheme += agrees ? 1 : 0;
    } else if (!node_ok) {
      agrees = !ours.ok();
      both_refuse += agrees ? 1 : 0;
    } else {
      agrees = ours.ok() && ours.url == expected;
      same += agrees ? 1 : 0;
    }
    const auto k = known.find({c.href, c.base});
    if (k != known.end()) {
      ++listed;
      EXPECT_FALSE(agrees) << "listed as a known difference, but rankpool now agrees with node: " << label;
      known.erase(k);
      continue;
    }
    EXPECT_TRUE(agrees) << label << (expected.empty() || expected == node_href ? "" : ", expected " + expected);
    if (ours.ok()) {
      // A refusal always says why; an accepted URL is a fixed point.
      EXPECT_EQ(normalize(ours.url).url, ours.url) << label;
    } else {
      EXPECT_FALSE(ours.error.empty()) << label;
    }
  }
  for (const auto& [key, k] : known) ADD_FAILURE() << "known difference not in the corpus: " << key.first;
  std::printf(
      "%zu hrefs: %d equal after the rules, %d refused by both, %d other schemes refused, %d listed differences\n",
      cases.size(), same, both_refuse, other_scheme, listed);
  for (const Rule& rule : kRules) std::printf("  rule: %s (%s)\n", rule.name, rule.reason);
  for (const KnownDifference& d : kKnownDifferences)
    std::printf("  difference: %s: %s\n", printable(d.href).c_str(), d.reason);
  EXPECT_GT(same, 100);
}

}  // namespace
}  // namespace rankpool::crawl
