#include "rankpool/crawl/url.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace rankpool::crawl {
namespace {

// RFC 3986 §5.4: base URI for all examples.
constexpr std::string_view kRfcBase = "http://a/b/c/d;p?q";

struct RfcCase {
  const char* reference;
  const char* target;  // the RFC's resolved URI, verbatim
};

// §5.4.1 Normal Examples and §5.4.2 Abnormal Examples, all of them (strict parser variant).
const RfcCase kRfcCases[] = {
    // 5.4.1
    {"g:h", "g:h"},
    {"g", "http://a/b/c/g"},
    {"./g", "http://a/b/c/g"},
    {"g/", "http://a/b/c/g/"},
    {"/g", "http://a/g"},
    {"//g", "http://g"},
    {"?y", "http://a/b/c/d;p?y"},
    {"g?y", "http://a/b/c/g?y"},
    {"#s", "http://a/b/c/d;p?q#s"},
    {"g#s", "http://a/b/c/g#s"},
    {"g?y#s", "http://a/b/c/g?y#s"},
    {";x", "http://a/b/c/;x"},
    {"g;x", "http://a/b/c/g;x"},
    {"g;x?y#s", "http://a/b/c/g;x?y#s"},
    {"", "http://a/b/c/d;p?q"},
    {".", "http://a/b/c/"},
    {"./", "http://a/b/c/"},
    {"..", "http://a/b/"},
    {"../", "http://a/b/"},
    {"../g", "http://a/b/g"},
    {"../..", "http://a/"},
    {"../../", "http://a/"},
    {"../../g", "http://a/g"},
    // 5.4.2
    {"../../../g", "http://a/g"},
    {"../../../../g", "http://a/g"},
    {"/./g", "http://a/g"},
    {"/../g", "http://a/g"},
    {"g.", "http://a/b/c/g."},
    {".g", "http://a/b/c/.g"},
    {"g..", "http://a/b/c/g.."},
    {"..g", "http://a/b/c/..g"},
    {"./../g", "http://a/b/g"},
    {"./g/.", "http://a/b/c/g/"},
    {"g/./h", "http://a/b/c/g/h"},
    {"g/../h", "http://a/b/c/h"},
    {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
    {"g;x=1/../y", "http://a/b/c/y"},
    {"g?y/./x", "http://a/b/c/g?y/./x"},
    {"g?y/../x", "http://a/b/c/g?y/../x"},
    {"g#s/./x", "http://a/b/c/g#s/./x"},
    {"g#s/../x", "http://a/b/c/g#s/../x"},
    // The strict parser's "http:g" is not a URL a crawler can fetch; the RFC's "backward
    // compatible" reading is what browsers (WHATWG) do, and what resolve() does.
    {"http:g", "http://a/b/c/g"},
};

// Our canonical form of an RFC target: fragment dropped, "http://g" gets its "/" path;
// targets that are not http URLs with a host must be rejected.
std::string canonical_of_rfc_target(std::string target) {
  if (const auto hash = target.find('#'); hash != std::string::npos) target.erase(hash);
  if (target == "http://g") target += "/";
  return target;
}

class RfcResolution : public ::testing::TestWithParam<RfcCase> {};

TEST_P(RfcResolution, MatchesRfc3986Section54) {
  const RfcCase& c = GetParam();
  const NormalizedUrl result = resolve(c.reference, kRfcBase);
  const std::string target = c.target;
  if (target.starts_with("http://")) {
    ASSERT_TRUE(result.ok()) << c.reference << ": " << result.error;
    EXPECT_EQ(result.url, canonical_of_rfc_target(target)) << "reference " << c.reference;
  } else {
    EXPECT_FALSE(result.ok()) << c.reference << " gave " << result.url;
    EXPECT_TRUE(result.url.empty());
  }
}

TEST_P(RfcResolution, ParsedBaseOverloadAgrees) {
  const RfcCase& c = GetParam();
  const NormalizedUrl base = normalize(kRfcBase);
  ASSERT_TRUE(base.ok());
  const NormalizedUrl by_string = resolve(c.reference, kRfcBase);
  const NormalizedUrl by_base = resolve(c.reference, base);
  EXPECT_EQ(by_base.ok(), by_string.ok()) << c.reference;
  EXPECT_EQ(by_base.url, by_string.url) << c.reference;
}

INSTANTIATE_TEST_SUITE_P(Rfc3986, RfcResolution, ::testing::ValuesIn(kRfcCases));

TEST(Resolve, ParsedBaseKeepsPortAndQuery) {
  const auto base = normalize("http://127.0.0.2:8080/dir/page?x=1");
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(resolve("?y=2", base).url, "http://127.0.0.2:8080/dir/page?y=2");
  EXPECT_EQ(resolve("#f", base).url, "http://127.0.0.2:8080/dir/page?x=1");
  EXPECT_EQ(resolve("other", base).url, "http://127.0.0.2:8080/dir/other");
  EXPECT_EQ(resolve("//h2/x", base).url, "http://h2/x");
  EXPECT_EQ(resolve("x", normalize("https://h/")).url, "https://h/x");
  const auto failed = resolve("x", normalize("mailto:a@b"));
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.error.find("bad base"), std::string::npos);
  EXPECT_TRUE(resolve("http://ok.example/", normalize("mailto:a@b")).ok());
}

TEST(Normalize, CaseDefaultPortDotSegmentsFragment) {
  const auto u = normalize("HTTP://Example.COM:80/a/./b/../c?x#f");
  ASSERT_TRUE(u.ok()) << u.error;
  EXPECT_EQ(u.url, "http://example.com/a/c?x");
  EXPECT_EQ(u.scheme, "http");
  EXPECT_EQ(u.host, "example.com");
  EXPECT_EQ(u.port, 80);
  EXPECT_EQ(u.path_and_query, "/a/c?x");
}

TEST(Normalize, HttpsDefaultPortDroppedOtherPortsKept) {
  EXPECT_EQ(normalize("https://h:443/").url, "https://h/");
  EXPECT_EQ(normalize("https://h:80/").url, "https://h:80/");
  EXPECT_EQ(normalize("http://h:443/").url, "http://h:443/");
  EXPECT_EQ(normalize("http://h:8080/x").url, "http://h:8080/x");
  EXPECT_EQ(normalize("http://h:8080/x").port, 8080);
  EXPECT_EQ(normalize("https://h/").port, 443);
  EXPECT_EQ(normalize("http://h:/x").url, "http://h/x");      // empty port = default
  EXPECT_EQ(normalize("http://h:0080/x").url, "http://h/x");  // leading zeros
  EXPECT_FALSE(normalize("http://h:65536/").ok());
  EXPECT_FALSE(normalize("http://h:0/").ok());
}

TEST(Normalize, PercentEscapes) {
  EXPECT_EQ(normalize("http://h/%7euser").url, "http://h/~user");
  EXPECT_EQ(normalize("http://h/a%2fb").url, "http://h/a%2Fb");
  EXPECT_EQ(normalize("http://h/%41%42%2d%5F").url, "http://h/AB-_");
  EXPECT_EQ(normalize("http://h/%e3%83%84").url, "http://h/%E3%83%84");
  // Decoded dots are dot segments.
  EXPECT_EQ(normalize("http://h/a/%2E%2E/b").url, "http://h/b");
  // Host escapes of unreserved characters decode and lower-case.
  EXPECT_EQ(normalize("http://%45x.com/").url, "http://ex.com/");
}

TEST(Normalize, QueryKeptVerbatimExceptEscapes) {
  EXPECT_EQ(normalize("http://h/p?b=2&a=1&A=%7e%2f").url, "http://h/p?b=2&a=1&A=~%2F");
  EXPECT_EQ(normalize("http://h/p?x=/./..").url, "http://h/p?x=/./..");
  EXPECT_EQ(normalize("http://h/p?").url, "http://h/p?");
  EXPECT_EQ(normalize("http://h?q").url, "http://h/?q");
}

TEST(Normalize, EmptyPathBecomesSlash) {
  EXPECT_EQ(normalize("http://h").url, "http://h/");
  EXPECT_EQ(normalize("http://h").path_and_query, "/");
}

TEST(Normalize, Ipv4AndIpv6Hosts) {
  const auto v4 = normalize("http://127.0.0.2:8080/x");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4.host, "127.0.0.2");
  EXPECT_EQ(v4.url, "http://127.0.0.2:8080/x");
  const auto v6 = normalize("http://[::1]:80/x");
  ASSERT_TRUE(v6.ok()) << v6.error;
  EXPECT_EQ(v6.host, "[::1]");
  EXPECT_EQ(v6.url, "http://[::1]/x");
}

// A name that starts like an IPv4 address is a name (RFC 3986 §3.2.2: only a host that
// matches IPv4address whole is one). Boost.URL 1.81 takes the IPv4 prefix and hands the
// rest back as path (boostorg/url#755, #770); found by fuzzing.
TEST(Normalize, HostsThatStartLikeIpv4AreNames) {
  for (const auto& [in, host, url] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"http://1.2.3.4.example/x", "1.2.3.4.example", "http://1.2.3.4.example/x"},
           {"http://10.0.0.1.nip.io:8080/a?b", "10.0.0.1.nip.io", "http://10.0.0.1.nip.io:8080/a?b"},
           {"http://user@127.0.0.1.example:80/", "127.0.0.1.example", "http://127.0.0.1.example/"},
           {"https://1.2.3.45", "1.2.3.45", "https://1.2.3.45/"},
           {"http://1.2.3.4-5", "1.2.3.4-5", "http://1.2.3.4-5/"},
           {"http://1.2.3.4_/", "1.2.3.4_", "http://1.2.3.4_/"},
           {"http://1.2.3.4%41?q", "1.2.3.4a", "http://1.2.3.4a/?q"}}) {
    const auto u = normalize(in);
    ASSERT_TRUE(u.ok()) << in << ": " << u.error;
    EXPECT_EQ(u.host, host) << in;
    EXPECT_EQ(u.url, url) << in;
    const auto again = normalize(u.url);
    ASSERT_TRUE(again.ok()) << u.url << ": " << again.error;
    EXPECT_EQ(again.url, u.url);
    EXPECT_EQ(again.host, u.host);
    const auto rel = resolve("//" + host + "/p", "https://base.example/");
    ASSERT_TRUE(rel.ok()) << host << ": " << rel.error;
    EXPECT_EQ(rel.host, host);
  }
  // An address stays an address, and a bad port is still refused.
  EXPECT_EQ(normalize("http://1.2.3.4:8080/").host, "1.2.3.4");
  EXPECT_FALSE(normalize("http://1.2.3.4:80x/").ok());
  EXPECT_FALSE(normalize("http://1.2.3.4.example:80x/").ok());
  // A NUL (or any control character) is no host character, escaped or not.
  EXPECT_FALSE(normalize(std::string("http://1%2E0.0.2\0\0\0\0001", 21)).ok());
}

TEST(Normalize, UserinfoIsDropped) {
  const auto u = normalize("http://user:pw@H.example/x");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u.url, "http://h.example/x");
  EXPECT_EQ(u.url.find("user"), std::string::npos);
}

TEST(Normalize, RejectsOtherSchemesWithReason) {
  for (const char* s : {"mailto:a@b.c", "javascript:void(0)", "tel:+123", "data:text/plain,hi", "file:///etc/passwd",
                        "ftp://h/x", "JavaScript:alert(1)", "  javascript:void(0)", "java\nscript:alert(1)"}) {
    const auto u = normalize(s);
    EXPECT_FALSE(u.ok()) << s;
    EXPECT_NE(u.error.find("scheme"), std::string::npos) << s << ": " << u.error;
    // Resolution must not turn them into relative references either.
    EXPECT_FALSE(resolve(s, "http://h/").ok()) << s;
  }
}

TEST(Normalize, RejectsEmptyHostRelativeAndUnparsable) {
  EXPECT_FALSE(normalize("http://").ok());
  EXPECT_FALSE(normalize("http:").ok());
  EXPECT_FALSE(normalize("http://user@/x").ok());
  EXPECT_FALSE(normalize("http://:80/").ok());
  EXPECT_FALSE(normalize("/relative/path").ok());
  EXPECT_FALSE(normalize("").ok());
  const auto bad = normalize("http://[::1/");
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(bad.error.empty());
  EXPECT_FALSE(resolve("http://h:99999999999999999999/", "http://h/").ok());
  // Authorities that a lenient parser would split into host + relative path.
  EXPECT_FALSE(normalize("http://h:1:2/").ok());
  EXPECT_FALSE(normalize("http://[::1]x/").ok());
  EXPECT_FALSE(resolve("//@host@", "http://h/").ok());
  EXPECT_NE(normalize("http://h:80x/").error.find("invalid port '80x'"), std::string::npos);
}

// WHATWG's authority: the last '@' ends the userinfo (which is dropped), and any number of
// slashes (or backslashes) may follow an http(s) scheme.
TEST(Normalize, AuthorityAsBrowsersReadIt) {
  EXPECT_EQ(normalize("http://a@b@c/x").url, "http://c/x");
  EXPECT_EQ(normalize("http://@h/").url, "http://h/");
  EXPECT_EQ(normalize("http:///x").url, "http://x/");
  EXPECT_EQ(normalize("http:x").url, "http://x/");
  EXPECT_EQ(normalize("https:\\\\h\\a").url, "https://h/a");
  EXPECT_EQ(resolve("///x/y", "https://h/").url, "https://x/y");
}

// UTS 46 (non-transitional) mapping and Punycode, via libidn2; percent-encoded UTF-8 is
// decoded first, so the three spellings of one name are one canonical key.
TEST(Normalize, InternationalHostsBecomePunycode) {
  for (const char* in :
       {"http://bücher.example/", "http://BÜCHER.Example/", "http://b%C3%BCcher.example/",
        "http://b%c3%bccher.EXAMPLE/", "http://xn--bcher-kva.example/", "http://XN--BCHER-KVA.example"}) {
    const auto u = normalize(in);
    ASSERT_TRUE(u.ok()) << in << ": " << u.error;
    EXPECT_EQ(u.url, "http://xn--bcher-kva.example/") << in;
    EXPECT_EQ(u.host, "xn--bcher-kva.example") << in;
  }
  EXPECT_EQ(resolve("//bücher.example/x?ü", "https://h/").url, "https://xn--bcher-kva.example/x?%C3%BC");
  EXPECT_EQ(normalize("http://faß.de/").host, "xn--fa-hia.de");  // non-transitional: ß kept
  EXPECT_EQ(normalize("http://ａｂｃ.com/").host, "abc.com");    // full-width letters mapped
  EXPECT_EQ(normalize("http://a。b。c/").host, "a.b.c");         // ideographic full stops
  EXPECT_EQ(normalize("http://a_b.bücher.example/").host, "a_b.xn--bcher-kva.example");
  EXPECT_EQ(registered_domain(normalize("http://www.bücher.de/").host), "xn--bcher-kva.de");
}

TEST(Normalize, InvalidHostsAreRefusedWithAReason) {
  for (const auto& [in, reason] : std::vector<std::pair<std::string, std::string>>{
           {"http://xn--a.example/", "invalid international domain name 'xn--a.example'"},
           {"http://a\u200db.bücher.example/", "invalid international domain name"},  // joiner out of context
           {"http://b%FCcher.example/", "invalid international domain name 'b%FCcher.example'"},  // not UTF-8
           {"http://%F0%9F%92%A9.la/", "disallowed"},                                             // IDNA2008: no emoji
           {"http://a%20b/", "invalid host 'a%20b': forbidden character ' '"},
           {"http://a{b/", "forbidden character '{'"},
           {"http://a%zz.example/", "forbidden character '%'"},
           {"http://a%00b/", "forbidden character '%00'"},
           {"http://example.123/", "invalid IPv4 address 'example.123'"},
           {"http://bücher.123/", "invalid IPv4 address"},
           {"http://256.0.0.1/", "invalid IPv4 address '256.0.0.1': part out of range"},
           {"http://1.2.3.4.5/", "more than four parts"},
           {"http://09.1/", "'09' is not a number"},
           {"http://[::1/", "invalid IPv6 address '[::1'"},
           {"http://[1::2::3]/", "invalid IPv6 address"},
           {"http://[fe80::1%25eth0]/", "invalid IPv6 address"},
           {"http://[v1.x]/", "invalid IPv6 address"}}) {
    const auto u = normalize(in);
    EXPECT_FALSE(u.ok()) << in << " gave " << u.url;
    EXPECT_NE(u.error.find(reason), std::string::npos) << in << ": " << u.error;
    EXPECT_FALSE(resolve(in, "http://h/").ok()) << in;
  }
}

// WHATWG's IPv4 parser: a host whose last label is a number is an address, in decimal,
// octal (leading 0) or hex (0x), with 1 to 4 parts; it comes out dotted decimal.
TEST(Normalize, Ipv4FormsBecomeDottedDecimal) {
  for (const auto& [in, host] : std::vector<std::pair<std::string, std::string>>{
           {"http://127.1/", "127.0.0.1"},
           {"http://127.0.1/", "127.0.0.1"},
           {"http://0x7f.0.0.1/", "127.0.0.1"},
           {"http://0X7F.1/", "127.0.0.1"},
           {"http://2130706433/", "127.0.0.1"},
           {"http://0x7F000001/", "127.0.0.1"},
           {"http://0177.0.0.1/", "127.0.0.1"},
           {"http://127.0.0.1./", "127.0.0.1"},
           {"http://%31%32%37.1/", "127.0.0.1"},
           {"http://0x/", "0.0.0.0"},
           {"http://4294967295/", "255.255.255.255"},
           {"http://1.2.3.4.example/", "1.2.3.4.example"},  // ends in a name: a name
           {"http://example.com./", "example.com."}}) {
    const auto u = normalize(in);
    ASSERT_TRUE(u.ok()) << in << ": " << u.error;
    EXPECT_EQ(u.host, host) << in;
  }
  EXPECT_FALSE(normalize("http://4294967296/").ok());
  // One address, one origin.
  EXPECT_EQ(origin_of(normalize("http://0x7f.1:8080/")), origin_of(normalize("http://127.0.0.1:8080/x")));
  EXPECT_EQ(registered_domain(normalize("http://127.1/").host), "127.0.0.1");
}

// IPv6 literals compressed as RFC 5952 §4.2 says (and WHATWG serializes them).
TEST(Normalize, Ipv6LiteralsAreCompressed) {
  for (const auto& [in, host] : std::vector<std::pair<std::string, std::string>>{
           {"http://[0:0::1]/", "[::1]"},
           {"http://[0:0:0:0:0:0:0:1]/", "[::1]"},
           {"http://[0:0:0:0:0:0:0:0]/", "[::]"},
           {"http://[1:0:0:2:0:0:0:3]/", "[1:0:0:2::3]"},       // the longest run
           {"http://[1:0:0:0:2:0:0:0]/", "[1::2:0:0:0]"},       // the first of equal runs
           {"http://[1:2:3:4:5:6:0:8]/", "[1:2:3:4:5:6:0:8]"},  // one zero is not a run
           {"http://[2001:DB8::0001]/", "[2001:db8::1]"},
           {"http://[::ffff:1.2.3.4]/", "[::ffff:102:304]"}}) {
    const auto u = normalize(in);
    ASSERT_TRUE(u.ok()) << in << ": " << u.error;
    EXPECT_EQ(u.host, host) << in;
    EXPECT_EQ(normalize(u.url).url, u.url) << in;
  }
  EXPECT_EQ(normalize("http://[0:0::1]:8080/x").url, "http://[::1]:8080/x");
}

// "http:g" is relative against an http base (WHATWG "special relative or authority state"),
// and absolute, "http://g/", against another scheme or alone.
TEST(Resolve, SpecialSchemeRelativeForms) {
  const std::string base = "http://h.example/d/page?x";
  const auto parsed = normalize(base);
  for (const auto& [ref, url] :
       std::vector<std::pair<std::string, std::string>>{{"http:g", "http://h.example/d/g"},
                                                        {"HTTP:g", "http://h.example/d/g"},
                                                        {"http:/g", "http://h.example/g"},
                                                        {"http:?y", "http://h.example/d/page?y"},
                                                        {"http:#s", "http://h.example/d/page?x"},
                                                        {"http:", "http://h.example/d/page?x"},
                                                        {"http:g:h", "http://h.example/d/g:h"},
                                                        {" ht\ttp:g", "http://h.example/d/g"},
                                                        {"http://g2/x", "http://g2/x"},
                                                        {"https:g", "https://g/"}}) {
    EXPECT_EQ(resolve(ref, base).url, url) << ref;
    EXPECT_EQ(resolve(ref, parsed).url, url) << ref;
  }
  EXPECT_EQ(resolve("http:g", "https://s.example/").url, "http://g/");
  EXPECT_EQ(resolve("http:g", normalize("https://s.example/")).url, "http://g/");
  // A base that is no URL does not matter to an absolute reading.
  EXPECT_EQ(resolve("http:g", "garbage").url, "http://g/");
  EXPECT_EQ(resolve("http:g", normalize("mailto:x@y")).url, "http://g/");
}

TEST(Normalize, UrlLengthCap) {
  const std::string path(3000, 'a');
  const auto long_url = normalize("http://h/" + path);
  EXPECT_FALSE(long_url.ok());
  EXPECT_NE(long_url.error.find("longer"), std::string::npos);
  UrlOptions roomy;
  roomy.max_length = 4096;
  EXPECT_TRUE(normalize("http://h/" + path, roomy).ok());
  UrlOptions tight;
  tight.max_length = 12;
  EXPECT_TRUE(normalize("http://h/abc", tight).ok());  // 12 characters exactly
  EXPECT_FALSE(normalize("http://h/abcd", tight).ok());
  // The cap applies to the resolved URL too: a short reference on a long base.
  const std::string base = "http://h/" + std::string(2030, 'b') + "/";
  EXPECT_TRUE(resolve("x", base).ok());
  EXPECT_FALSE(resolve("xxxxxxxxxxxxxxxxxxx", base).ok());
}

TEST(Resolve, ProtocolRelativeTakesBaseScheme) {
  EXPECT_EQ(resolve("//Other.example/p", "https://h/a/b").url, "https://other.example/p");
  EXPECT_EQ(resolve("//other.example", "http://h/a/b").url, "http://other.example/");
}

TEST(Resolve, QueryOnlyAndFragmentOnly) {
  EXPECT_EQ(resolve("?q=2", "http://h/a/b?q=1#x").url, "http://h/a/b?q=2");
  EXPECT_EQ(resolve("#frag", "http://h/a/b?q=1").url, "http://h/a/b?q=1");
  EXPECT_EQ(resolve("", "http://h/a/b?q=1#x").url, "http://h/a/b?q=1");
}

TEST(Resolve, AboveRootStaysAtRoot) {
  EXPECT_EQ(resolve("../../../../x", "http://h/a/").url, "http://h/x");
  EXPECT_EQ(resolve("../../..", "http://h/a/b/c").url, "http://h/");
}

TEST(Resolve, BaseHrefDiffersFromDocument) {
  // The caller passes the <base href> value as the base.
  EXPECT_EQ(resolve("img/x.png", "http://cdn.example/assets/").url, "http://cdn.example/assets/img/x.png");
  EXPECT_EQ(resolve("x", "http://h").url, "http://h/x");  // base with empty path
}

TEST(Resolve, BaseIsNormalizedToo) {
  EXPECT_EQ(resolve("c", "HTTP://H:80/a/./b").url, "http://h/a/c");
  EXPECT_FALSE(resolve("c", "/not/absolute").ok());
  EXPECT_FALSE(resolve("c", "mailto:x@y").ok());
  EXPECT_TRUE(resolve("http://ok.example/", "garbage base").ok());  // base unused
}

TEST(Resolve, HrefWhitespaceIsTrimmed) {
  EXPECT_EQ(resolve("  \n\t/a/b \r\n ", "http://h/").url, "http://h/a/b");
  EXPECT_EQ(resolve("/a\n/b", "http://h/").url, "http://h/a/b");  // wrapped attribute
  EXPECT_EQ(normalize(" http://h/x ").url, "http://h/x");
}

TEST(Resolve, BackslashesAndUnsafeCharacters) {
  EXPECT_EQ(resolve("/a[b]|c", "http://h/").url, "http://h/a%5Bb%5D%7Cc");
  EXPECT_EQ(resolve("\\a\\b", "http://h/x/").url, "http://h/a/b");
  EXPECT_EQ(normalize("http://h/a\\b?x=\\").url, "http://h/a/b?x=%5C");
  EXPECT_EQ(resolve("a b", "http://h/").url, "http://h/a%20b");
  EXPECT_EQ(resolve("caf\xC3\xA9", "http://h/").url, "http://h/caf%C3%A9");
  EXPECT_EQ(resolve("100%", "http://h/").url, "http://h/100%25");
  EXPECT_EQ(resolve("a|b{c}", "http://h/").url, "http://h/a%7Cb%7Bc%7D");
}

TEST(Resolve, IdempotentOnItsOwnOutput) {
  for (const char* s :
       {"HTTP://Example.COM:80/a/./b/../c?x#f", "http://h/%7e%2f?%61=%2f", "https://h:8443/a//b/../c/."}) {
    const auto once = normalize(s);
    ASSERT_TRUE(once.ok()) << s;
    EXPECT_EQ(normalize(once.url).url, once.url);
  }
}

TEST(Resolve, RandomReferencesGiveIdempotentCanonicalUrls) {
  // Property: whatever junk a page holds, an accepted result is canonical (normalizing it
  // again changes nothing) and carries no fragment; a rejection always has a reason.
  std::mt19937 rng(4242);
  const std::string alphabet = "ab/.%2eE7f?#:@ \\\t\n~;=&+[]-_AZ\x80\xC3";
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string ref;
    const std::size_t len = rng() % 24;
    for (std::size_t i = 0; i < len; ++i) ref += alphabet[rng() % alphabet.size()];
    const auto u = resolve(ref, "http://h.example/d1/d2/page?q");
    EXPECT_EQ(resolve(ref, normalize("http://h.example/d1/d2/page?q")).url, u.url) << ref;
    if (!u.ok()) {
      EXPECT_FALSE(u.error.empty()) << ref;
      continue;
    }
    ++accepted;
    EXPECT_EQ(u.url.find('#'), std::string::npos) << ref;
    const auto again = normalize(u.url);
    ASSERT_TRUE(again.ok()) << ref << " -> " << u.url << ": " << again.error;
    EXPECT_EQ(again.url, u.url) << ref;
    EXPECT_EQ(again.path_and_query, u.path_and_query) << ref;
  }
  EXPECT_GT(accepted, 5000);  // most junk is still a usable relative reference
}

TEST(Origin, SchemeHostPort) {
  EXPECT_EQ(origin_of(normalize("http://127.0.0.2:8080/x?y")), "http://127.0.0.2:8080");
  EXPECT_EQ(origin_of(normalize("http://a/x")), "http://a");
  EXPECT_EQ(origin_of(normalize("http://a:80/x")), "http://a");
  EXPECT_NE(origin_of(normalize("http://a:8080/")), origin_of(normalize("http://a/")));
  EXPECT_NE(origin_of(normalize("https://a/")), origin_of(normalize("http://a/")));
  EXPECT_EQ(origin_of(normalize("mailto:x@y")), "");
}

TEST(RegisteredDomain, PublicSuffixList) {
  EXPECT_EQ(registered_domain("www.example.co.uk"), "example.co.uk");
  EXPECT_EQ(registered_domain("a.b.example.com"), "example.com");
  EXPECT_EQ(registered_domain("example.com"), "example.com");
  // github.io is a public suffix: each user site is its own domain.
  EXPECT_EQ(registered_domain("alice.github.io"), "alice.github.io");
  EXPECT_NE(registered_domain("alice.github.io"), registered_domain("bob.github.io"));
  EXPECT_EQ(registered_domain("WWW.Example.COM"), "example.com");
}

TEST(RegisteredDomain, IpLiteralsAndOddHostsAreTheirOwnKey) {
  EXPECT_EQ(registered_domain("127.0.0.2"), "127.0.0.2");
  EXPECT_NE(registered_domain("127.0.0.2"), registered_domain("127.0.0.3"));
  EXPECT_EQ(registered_domain("[::1]"), "[::1]");
  EXPECT_EQ(registered_domain("localhost"), "localhost");
  EXPECT_EQ(registered_domain("co.uk"), "co.uk");
  EXPECT_EQ(registered_domain(""), "");
  EXPECT_EQ(registered_domain(normalize("http://Sub.Example.org:8080/").host), "example.org");
}

}  // namespace
}  // namespace rankpool::crawl
