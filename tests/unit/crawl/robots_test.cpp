#include "rankpool/crawl/robots.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "robots_reference.hpp"

namespace rankpool::crawl {
namespace {

bool allowed(std::string_view body, std::string token, std::string_view path) {
  RobotsOptions options;
  options.user_agent_token = std::move(token);
  return RobotsRules::parse(body, options).allowed(path);
}

// RFC 9309 §5.1.
constexpr std::string_view kRfcSimple =
    "User-Agent: *\n"
    "Disallow: *.gif$\n"
    "Disallow: /example/\n"
    "Allow: /publications/\n"
    "\n"
    "User-Agent: foobot\n"
    "Disallow:/\n"
    "Allow:/example/page.html\n"
    "Allow:/example/allowed.gif\n"
    "\n"
    "User-Agent: barbot\n"
    "User-Agent: bazbot\n"
    "Disallow: /example/page.html\n"
    "\n"
    "User-Agent: quxbot\n"
    "\n"
    "EOF\n";

TEST(RobotsRfc9309, SimpleExampleStarGroup) {
  EXPECT_TRUE(allowed(kRfcSimple, "otherbot", "/publications/x"));
  EXPECT_FALSE(allowed(kRfcSimple, "otherbot", "/example/x"));
  EXPECT_FALSE(allowed(kRfcSimple, "otherbot", "/images/a.gif"));
  EXPECT_TRUE(allowed(kRfcSimple, "otherbot", "/images/a.gif?x"));  // '$' anchors
  EXPECT_TRUE(allowed(kRfcSimple, "otherbot", "/images/a.png"));
}

TEST(RobotsRfc9309, SimpleExampleFoobot) {
  EXPECT_TRUE(allowed(kRfcSimple, "foobot", "/example/page.html"));
  EXPECT_TRUE(allowed(kRfcSimple, "foobot", "/example/allowed.gif"));
  EXPECT_FALSE(allowed(kRfcSimple, "foobot", "/example/other.html"));
  EXPECT_FALSE(allowed(kRfcSimple, "foobot", "/publications/x"));
  EXPECT_FALSE(allowed(kRfcSimple, "FooBot", "/"));  // token match is case-insensitive
}

TEST(RobotsRfc9309, SimpleExampleGroupWithTwoAgents) {
  for (const char* bot : {"barbot", "bazbot"}) {
    EXPECT_FALSE(allowed(kRfcSimple, bot, "/example/page.html")) << bot;
    EXPECT_TRUE(allowed(kRfcSimple, bot, "/example/other.html")) << bot;
    EXPECT_TRUE(allowed(kRfcSimple, bot, "/images/a.gif")) << bot;  // not the * group
  }
}

TEST(RobotsRfc9309, SimpleExampleEmptyGroupAllowsEverything) {
  EXPECT_TRUE(allowed(kRfcSimple, "quxbot", "/example/x"));
  EXPECT_TRUE(allowed(kRfcSimple, "quxbot", "/a.gif"));
}

TEST(RobotsRfc9309, LongestMatchExample) {  // §5.2
  constexpr std::string_view body =
      "User-Agent: foobot\n"
      "Allow: /example/page/\n"
      "Disallow: /example/page/disallowed.gif\n";
  EXPECT_FALSE(allowed(body, "foobot", "/example/page/disallowed.gif"));
  EXPECT_TRUE(allowed(body, "foobot", "/example/page/allowed.gif"));
}

TEST(RobotsRfc9309, MergesGroupsForTheSameToken) {  // §2.2.1 tables
  constexpr std::string_view body =
      "user-agent: ExampleBot\n"
      "disallow: /foo\n"
      "disallow: /bar\n"
      "\n"
      "user-agent: ExampleBot\n"
      "disallow: /baz\n";
  for (const char* p : {"/foo", "/bar", "/baz"}) EXPECT_FALSE(allowed(body, "examplebot", p)) << p;
  EXPECT_TRUE(allowed(body, "examplebot", "/qux"));

  constexpr std::string_view star =
      "user-agent: *\n"
      "disallow: /foo\n"
      "disallow: /bar\n"
      "\n"
      "user-agent: BazBot\n"
      "disallow: /baz\n";
  EXPECT_FALSE(allowed(star, "ExampleBot", "/foo"));
  EXPECT_TRUE(allowed(star, "ExampleBot", "/baz"));
  EXPECT_FALSE(allowed(star, "BazBot", "/baz"));
  EXPECT_TRUE(allowed(star, "BazBot", "/foo"));
}

TEST(RobotsRfc9309, AllStarGroupsMergedAndNoGroupMeansAllowed) {
  constexpr std::string_view body =
      "user-agent: *\ndisallow: /a\n"
      "user-agent: other\ndisallow: /\n"
      "user-agent: *\ndisallow: /b\n";
  EXPECT_FALSE(allowed(body, "rankpool", "/a"));
  EXPECT_FALSE(allowed(body, "rankpool", "/b"));
  EXPECT_TRUE(allowed(body, "rankpool", "/c"));
  EXPECT_TRUE(allowed("user-agent: other\ndisallow: /\n", "rankpool", "/c"));
  EXPECT_TRUE(allowed("", "rankpool", "/c"));
}

TEST(RobotsRfc9309, PercentEncodingTable) {  // §2.2.2 table, rows without reserved escapes
  const std::string prefix = "user-agent: *\ndisallow: /\nallow: ";
  EXPECT_TRUE(allowed(prefix + "/foo/bar?baz=quz\n", "x", "/foo/bar?baz=quz"));
  EXPECT_TRUE(allowed(prefix + "/foo/bar/\xE3\x83\x84\n", "x", "/foo/bar/%E3%83%84"));
  EXPECT_TRUE(allowed(prefix + "/foo/bar/%E3%83%84\n", "x", "/foo/bar/%E3%83%84"));
  EXPECT_TRUE(allowed(prefix + "/foo/bar/%62%61%7A\n", "x", "/foo/bar/baz"));
  // Both sides are normalized: the path may use any of the equivalent spellings.
  EXPECT_TRUE(allowed(prefix + "/foo/bar/baz\n", "x", "/foo/bar/%62%61%7a"));
  EXPECT_TRUE(allowed(prefix + "/foo/bar/%e3%83%84\n", "x", "/foo/bar/\xE3\x83\x84"));
  EXPECT_TRUE(allowed(prefix + "/~joe\n", "x", "/%7Ejoe/x"));
  // A reserved character and its escape are different octets (RFC 3986 §2.2).
  EXPECT_FALSE(allowed(prefix + "/a%2Fb\n", "x", "/a/b"));
  EXPECT_TRUE(allowed(prefix + "/a%2fb\n", "x", "/a%2Fb"));
}

TEST(RobotsRfc9309, SpecialCharactersByEscape) {  // §2.2.3
  const std::string prefix = "user-agent: *\ndisallow: /\nallow: ";
  EXPECT_TRUE(allowed(prefix + "/path/file-with-a-%2A.html\n", "x", "/path/file-with-a-*.html"));
  EXPECT_FALSE(allowed(prefix + "/path/file-with-a-%2A.html\n", "x", "/path/file-with-a-b.html"));
  EXPECT_TRUE(allowed(prefix + "/path/foo-%24\n", "x", "/path/foo-$"));
  EXPECT_FALSE(allowed(prefix + "/path/foo-%24\n", "x", "/path/foo-"));
}

TEST(RobotsRfc9309, CommentsAndHashInRules) {
  constexpr std::string_view body =
      "User-agent: FooBot # the crawler\n"
      "# Disallow: /\n"
      "Disallow: /foo/quz#qux\n"
      "Allow: /\n";
  EXPECT_TRUE(allowed(body, "FooBot", "/foo/bar"));
  EXPECT_FALSE(allowed(body, "FooBot", "/foo/quz"));
}

TEST(RobotsRfc9309, RobotsTxtAlwaysAllowed) {
  const auto rules = RobotsRules::parse("user-agent: *\ndisallow: /\n");
  EXPECT_TRUE(rules.allowed("/robots.txt"));
  EXPECT_FALSE(rules.allowed("/robots.txt.bak"));
  EXPECT_FALSE(rules.allowed("/index.html"));
  EXPECT_TRUE(RobotsRules::disallow_all().allowed("/robots.txt"));
}

TEST(RobotsPrecedence, GoogleSuiteCases) {
  auto bot = [](std::string rules) { return "user-agent: FooBot\n" + rules; };
  EXPECT_FALSE(allowed(bot("allow: /page\ndisallow: /*.html\n"), "FooBot", "/page.html"));
  EXPECT_TRUE(allowed(bot("allow: /page\ndisallow: /*.html\n"), "FooBot", "/page"));
  EXPECT_TRUE(allowed(bot("allow: /x/page.\ndisallow: /*.html\n"), "FooBot", "/x/page.html"));
  EXPECT_FALSE(allowed(bot("allow: /x/page.\ndisallow: /*.html\n"), "FooBot", "/x/y.html"));
  EXPECT_TRUE(allowed(bot("allow: /$\ndisallow: /\n"), "FooBot", "/"));
  EXPECT_FALSE(allowed(bot("allow: /$\ndisallow: /\n"), "FooBot", "/page.html"));
  EXPECT_TRUE(allowed(bot("allow: /p\ndisallow: /\n"), "FooBot", "/page"));
  EXPECT_FALSE(allowed(bot("disallow: /x/page.html\nallow: /x/\n"), "FooBot", "/x/page.html"));
  EXPECT_FALSE(allowed(bot("allow: /x/page.html\ndisallow: /x/\n"), "FooBot", "/x/"));
  EXPECT_FALSE(allowed(bot("disallow: /x\nallow: /x/\n"), "FooBot", "/x"));
  EXPECT_TRUE(allowed(bot("disallow: /x\nallow: /x/\n"), "FooBot", "/x/"));
}

TEST(RobotsPrecedence, AllowWinsTies) {
  auto bot = [](std::string rules) { return "user-agent: FooBot\n" + rules; };
  EXPECT_TRUE(allowed(bot("disallow: /\nallow: /\n"), "FooBot", "/x/page.html"));
  EXPECT_TRUE(allowed(bot("allow: /folder\ndisallow: /folder\n"), "FooBot", "/folder/page"));
  EXPECT_TRUE(allowed(bot("disallow: /x/page.html\nallow: /x/page.html\n"), "FooBot", "/x/page.html"));
  EXPECT_TRUE(allowed(bot("disallow: \nallow: \n"), "FooBot", "/x"));
}

TEST(RobotsPrecedence, SpecificGroupReplacesStarGroup) {
  constexpr std::string_view body =
      "User-agent: *\nDisallow: /x/\n"
      "User-agent: FooBot\nDisallow: /y/\n";
  EXPECT_TRUE(allowed(body, "FooBot", "/x/page"));
  EXPECT_FALSE(allowed(body, "FooBot", "/y/page"));
  EXPECT_FALSE(allowed(body, "OtherBot", "/x/page"));
}

TEST(RobotsPrecedence, CaseSensitivePaths) {
  EXPECT_FALSE(allowed("user-agent: a\ndisallow: /x/\n", "a", "/x/y"));
  EXPECT_TRUE(allowed("user-agent: a\ndisallow: /X/\n", "a", "/x/y"));
}

TEST(RobotsPatterns, DollarAnchors) {
  constexpr std::string_view body =
      "user-agent: FooBot\n"
      "disallow: /\n"
      "allow: /*.php$\n";
  EXPECT_TRUE(allowed(body, "FooBot", "/filename.php"));
  EXPECT_TRUE(allowed(body, "FooBot", "/folder/filename.php"));
  EXPECT_FALSE(allowed(body, "FooBot", "/filename.php?parameters"));
  EXPECT_FALSE(allowed(body, "FooBot", "/filename.php/"));
  EXPECT_FALSE(allowed(body, "FooBot", "/filename.php5"));
  EXPECT_FALSE(allowed(body, "FooBot", "/windows.PHP"));
  constexpr std::string_view exact = "user-agent: a\ndisallow: /foo/bar$\nallow: /foo/bar/qux\n";
  EXPECT_FALSE(allowed(exact, "a", "/foo/bar"));
  EXPECT_TRUE(allowed(exact, "a", "/foo/bar/"));
  EXPECT_TRUE(allowed(exact, "a", "/foo/barx"));
}

TEST(RobotsPatterns, Wildcards) {
  constexpr std::string_view body =
      "user-agent: FooBot\n"
      "disallow: /\n"
      "allow: /fish*.php\n"
      "allow: /foo/*/qux\n";
  EXPECT_TRUE(allowed(body, "FooBot", "/fish.php"));
  EXPECT_TRUE(allowed(body, "FooBot", "/fishheads/catfish.php?parameters"));
  EXPECT_FALSE(allowed(body, "FooBot", "/Fish.PHP"));
  EXPECT_TRUE(allowed(body, "FooBot", "/foo/bar/qux"));
  EXPECT_TRUE(allowed(body, "FooBot", "/foo//qux"));
  EXPECT_FALSE(allowed(body, "FooBot", "/foo/qux"));
  EXPECT_TRUE(allowed("user-agent: a\ndisallow: /\nallow: /fish*\n", "a", "/fish"));
  EXPECT_FALSE(allowed("user-agent: a\ndisallow: /\nallow: /fish*\n", "a", "/catfish"));
  // Several stars, where the leftmost placement of an early piece must not be fatal.
  constexpr std::string_view multi = "user-agent: a\ndisallow: /*ab*abc*d$\n";
  EXPECT_FALSE(allowed(multi, "a", "/xxababcxd"));
  EXPECT_TRUE(allowed(multi, "a", "/xxababcxd/"));
  EXPECT_TRUE(allowed(multi, "a", "/abcd"));  // "ab" and "abc" may not overlap
}

TEST(RobotsPatterns, PathologicalPatternIsNotExponential) {
  // A backtracking matcher needs ~C(n, 9) steps here; this one scans the path once per
  // piece. The test has the ctest timeout as its only clock.
  const std::string path = "/" + std::string(200000, 'a');
  const std::string body = "user-agent: *\ndisallow: /a*a*a*a*a*a*a*a*a*b\n";
  const auto rules = RobotsRules::parse(body);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(rules.allowed(path));
  EXPECT_FALSE(rules.allowed(path + "b"));
  const std::string anchored = "user-agent: *\ndisallow: /a*a*a*a*a*a*a*a*a*b$\n";
  EXPECT_TRUE(RobotsRules::parse(anchored).allowed(path + "bx"));
  EXPECT_FALSE(RobotsRules::parse(anchored).allowed(path + "b"));
}

using rankpool::testing::reference_match;  // the RFC's semantics, the slow obvious way

/// Parses 20,000 random one-rule files (pattern from `pattern_of`, '$' added to a third of
/// them) and checks each decision on a random path against the reference matcher; both
/// outcomes must occur often, so the agreement means something.
template <class PatternOf, class PathOf>
void expect_agreement_with_reference(std::mt19937& rng, PatternOf pattern_of, PathOf path_of) {
  int disallowed = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string pattern = pattern_of();
    if (rng() % 3 == 0) pattern += '$';
    const std::string path = path_of();
    const bool expected_allowed = !reference_match(pattern, path);
    const auto rules = RobotsRules::parse("user-agent: *\ndisallow: " + pattern + "\n");
    ASSERT_EQ(rules.allowed(path), expected_allowed) << "pattern " << pattern << " path " << path;
    disallowed += expected_allowed ? 0 : 1;
  }
  EXPECT_GT(disallowed, 1000);
  EXPECT_LT(disallowed, 19000);
}

TEST(RobotsPatterns, AgreesWithReferenceMatcherOnRandomInputs) {
  std::mt19937 rng(12345);
  auto pick = [&rng](std::string_view alphabet, std::size_t max_len) {
    std::string out = "/";
    const std::size_t len = rng() % (max_len + 1);
    for (std::size_t i = 0; i < len; ++i) out += alphabet[rng() % alphabet.size()];
    return out;
  };
  expect_agreement_with_reference(
      rng, [&] { return pick("ab*/", 6); }, [&] { return pick("ab/", 10); });
}

TEST(RobotsPatterns, AgreesWithReferenceOnLongSelfOverlappingPieces) {
  // Pieces of two letters overlap themselves ("abab", "aab" in "aaab"), which is where a
  // linear-time search (KMP borders) can go wrong; runs of stars collapse to one.
  std::mt19937 rng(2024);
  auto pick = [&rng](std::string_view alphabet, std::size_t min_len, std::size_t max_len) {
    std::string out = "/";
    const std::size_t len = min_len + rng() % (max_len - min_len + 1);
    for (std::size_t i = 0; i < len; ++i) out += alphabet[rng() % alphabet.size()];
    return out;
  };
  expect_agreement_with_reference(
      rng, [&] { return pick("aaab*", 4, 14); }, [&] { return pick("ab", 0, 40); });
}

TEST(RobotsPatterns, RunsOfStarsMatchAsOneButCountAsWritten) {
  // Specificity is the pattern's length as written: "/a**b" (5) outranks "/a*b" (4).
  constexpr std::string_view body = "user-agent: a\nallow: /a*b\ndisallow: /a**b\n";
  EXPECT_FALSE(allowed(body, "a", "/axxb"));
  EXPECT_FALSE(allowed(body, "a", "/ab"));
  EXPECT_TRUE(allowed(body, "a", "/ba"));
  EXPECT_FALSE(allowed("user-agent: a\ndisallow: ***\n", "a", "/anything"));
  EXPECT_FALSE(allowed("user-agent: a\ndisallow: /**$\n", "a", "/x/y"));
  EXPECT_FALSE(allowed("user-agent: a\ndisallow: /***x***y**$\n", "a", "/axbyy"));
  EXPECT_TRUE(allowed("user-agent: a\ndisallow: /***x***y**z$\n", "a", "/axbyy"));
}

TEST(RobotsPatterns, PatternsWithoutLeadingSlash) {
  EXPECT_FALSE(allowed("user-agent: a\ndisallow: private/\n", "a", "/private/x"));
  EXPECT_TRUE(allowed("user-agent: a\ndisallow: private/\n", "a", "/public/x"));
  EXPECT_TRUE(allowed("user-agent: a\ndisallow: /x\n", "a", ""));  // empty path is "/"
  EXPECT_FALSE(allowed("user-agent: a\ndisallow: /\n", "a", ""));
}

TEST(RobotsAgents, ProductTokenMatching) {
  constexpr std::string_view news = "user-agent: Googlebot-News\ndisallow: /\n";
  EXPECT_TRUE(allowed(news, "Googlebot", "/x"));  // a different token, not a prefix match
  EXPECT_FALSE(allowed(news, "googlebot-news", "/x"));
  EXPECT_FALSE(allowed("user-agent: FooBot/2.1\ndisallow: /\n", "foobot", "/x"));
  EXPECT_FALSE(allowed("user-agent: Foo Bar\ndisallow: /\n", "foo", "/x"));
  EXPECT_TRUE(allowed("user-agent: Foo Bar\ndisallow: /\n", "bar", "/x"));
  EXPECT_TRUE(allowed("user-agent: FooBotX\ndisallow: /\n", "foobot", "/x"));
  EXPECT_FALSE(allowed("USER-AGENT: FOO BAR\nALLOW: /x/\nDISALLOW: /\n", "foo", "/a"));
  EXPECT_TRUE(allowed("uSeR-aGeNt: FoO\nAlLoW: /x/\ndIsAlLoW: /\n", "foo", "/x/y"));
}

TEST(RobotsAgents, GroupStructure) {
  // Google's "groups" case: rules outside groups, blank lines inside runs of agents.
  constexpr std::string_view body =
      "allow: /foo/bar/\n"
      "\n"
      "user-agent: FooBot\n"
      "disallow: /\n"
      "allow: /x/\n"
      "user-agent: BarBot\n"
      "disallow: /\n"
      "allow: /y/\n"
      "\n"
      "\n"
      "allow: /w/\n"
      "user-agent: BazBot\n"
      "\n"
      "user-agent: FooBot\n"
      "allow: /z/\n"
      "disallow: /\n";
  EXPECT_TRUE(allowed(body, "FooBot", "/x/b"));
  EXPECT_TRUE(allowed(body, "FooBot", "/z/d"));
  EXPECT_FALSE(allowed(body, "FooBot", "/y/c"));
  EXPECT_TRUE(allowed(body, "BarBot", "/y/c"));
  EXPECT_TRUE(allowed(body, "BarBot", "/w/a"));  // allow after blank lines stays in group
  EXPECT_FALSE(allowed(body, "BarBot", "/z/d"));
  EXPECT_TRUE(allowed(body, "BazBot", "/z/d"));
  EXPECT_FALSE(allowed(body, "BazBot", "/foo/bar/"));  // the leading rule belongs to no group
  EXPECT_FALSE(allowed(body, "FooBot", "/foo/bar/"));
}

TEST(RobotsAgents, OtherLinesDoNotSplitAgentRuns) {
  constexpr std::string_view body =
      "user-agent: a\n"
      "sitemap: http://127.0.0.2/s.xml\n"
      "unknown-key: whatever\n"
      "user-agent: b\n"
      "disallow: /private\n";
  EXPECT_FALSE(allowed(body, "a", "/private"));
  EXPECT_FALSE(allowed(body, "b", "/private"));
  EXPECT_TRUE(allowed(body, "c", "/private"));
}

TEST(RobotsSyntax, LineEndingsBomAndMissingColon) {
  const char* bodies[] = {
      "User-Agent: foo\nAllow: /some/path\nUser-Agent: bar\n\n\nDisallow: /\n",
      "User-Agent: foo\r\nAllow: /some/path\r\nUser-Agent: bar\r\n\r\n\r\nDisallow: /\r\n",
      "User-Agent: foo\rAllow: /some/path\rUser-Agent: bar\r\r\rDisallow: /\r",
      "User-Agent: foo\nAllow: /some/path\r\nUser-Agent: bar\n\r\n\nDisallow: /",
      "\xEF\xBB\xBFUser-Agent: foo\nAllow: /some/path\nUser-Agent: bar\n\n\nDisallow: /\n",
      "\xEF\xBBUser-Agent: foo\nAllow: /some/path\nUser-Agent: bar\nDisallow: /\n",
      "user-agent foo\nallow /some/path\nuser-agent bar\ndisallow /\n",
  };
  for (const char* body : bodies) {
    EXPECT_FALSE(allowed(body, "bar", "/x")) << body;
    EXPECT_TRUE(allowed(body, "foo", "/x")) << body;
    EXPECT_TRUE(allowed(body, "baz", "/x")) << body;
    EXPECT_EQ(RobotsRules::parse(body, {"bar"}).rule_count(), 1u) << body;
  }
  // A BOM in the middle is garbage: that line is not understood.
  EXPECT_TRUE(
      allowed("User-Agent: foo\n\xEF\xBB\xBF"
              "Disallow: /\n",
              "foo", "/x"));
}

TEST(RobotsSyntax, UnknownKeysIgnored) {
  constexpr std::string_view body =
      "foo: FooBot\nbar: /\nuser-agent: a\nnoindex: /x\nhost: example.com\ndisallow: /y\n";
  EXPECT_TRUE(allowed(body, "FooBot", "/y"));
  EXPECT_TRUE(allowed(body, "a", "/x"));
  EXPECT_FALSE(allowed(body, "a", "/y"));
  EXPECT_EQ(RobotsRules::parse(body, {"a"}).rule_count(), 1u);
}

TEST(RobotsSyntax, LargeFilesAndTheByteCap) {
  // 600 KiB of rules: the ones in the first 512 KiB apply, the rest are ignored.
  std::string body = "user-agent: *\n";
  int n = 0;
  while (body.size() < 600 * 1024) body += "disallow: /dir" + std::to_string(n++) + "/\n";
  RobotsOptions options;
  ASSERT_EQ(options.max_bytes, 512u * 1024u);
  const auto rules = RobotsRules::parse(body, options);
  EXPECT_FALSE(rules.allowed("/dir0/x"));
  EXPECT_FALSE(rules.allowed("/dir20000/x"));  // about 320 KiB in
  EXPECT_TRUE(rules.allowed("/dir" + std::to_string(n - 1) + "/x"));
  EXPECT_GT(rules.rule_count(), 20000u);
  EXPECT_LT(rules.rule_count(), static_cast<std::size_t>(n));

  // A line cut by the cap is dropped, not applied in truncated form.
  RobotsOptions tiny;
  tiny.max_bytes = 40;
  const std::string cut = "user-agent: *\ndisallow: /\nallow: /abcdefghijklmnop\n";
  ASSERT_LT(cut.find("/abcdefghijklmnop"), 40u);
  ASSERT_GT(cut.size(), 40u);
  const auto truncated = RobotsRules::parse(cut, tiny);
  EXPECT_FALSE(truncated.allowed("/abcdefghijklmnop"));
  EXPECT_FALSE(truncated.allowed("/abc"));
  EXPECT_EQ(truncated.rule_count(), 1u);
}

TEST(RobotsExtras, CrawlDelay) {
  EXPECT_EQ(RobotsRules::parse("user-agent: *\ncrawl-delay: 2.5\n").crawl_delay(), 2.5);
  EXPECT_EQ(RobotsRules::parse("user-agent: *\ncrawl-delay: 3600\n").crawl_delay(), 30.0);
  RobotsOptions options;
  options.max_crawl_delay = 5;
  EXPECT_EQ(RobotsRules::parse("user-agent: *\ncrawl-delay: 10\n", options).crawl_delay(), 5.0);
  EXPECT_FALSE(RobotsRules::parse("user-agent: *\ncrawl-delay: soon\n").crawl_delay());
  EXPECT_FALSE(RobotsRules::parse("user-agent: *\ncrawl-delay: -1\n").crawl_delay());
  EXPECT_FALSE(RobotsRules::parse("crawl-delay: 4\nuser-agent: *\n").crawl_delay());
  EXPECT_FALSE(RobotsRules::parse("user-agent: *\ndisallow: /\n").crawl_delay());
  // Only the selected group's delay counts.
  constexpr std::string_view body = "user-agent: *\ncrawl-delay: 7\nuser-agent: rankpool\ncrawl-delay: 1\n";
  EXPECT_EQ(RobotsRules::parse(body).crawl_delay(), 1.0);
  EXPECT_EQ(RobotsRules::parse(body, {"other"}).crawl_delay(), 7.0);
}

TEST(RobotsExtras, SitemapsCollectedAnywhere) {
  constexpr std::string_view body =
      "Sitemap: http://127.0.0.2/a.xml\n"
      "user-agent: other\n"
      "disallow: /\n"
      "SITEMAP: http://127.0.0.2/b.xml # comment\n";
  const auto rules = RobotsRules::parse(body);
  ASSERT_EQ(rules.sitemaps().size(), 2u);
  EXPECT_EQ(rules.sitemaps()[0], "http://127.0.0.2/a.xml");
  EXPECT_EQ(rules.sitemaps()[1], "http://127.0.0.2/b.xml");
}

TEST(RobotsFetch, StatusMapping) {
  constexpr std::string_view body = "user-agent: *\ndisallow: /private\n";
  const auto ok = from_fetch(200, body, false);
  EXPECT_EQ(ok.source, RobotsSource::Parsed);
  EXPECT_FALSE(ok.allowed("/private"));
  EXPECT_TRUE(ok.allowed("/public"));

  for (int status : {400, 401, 403, 404, 410}) {
    const auto p = from_fetch(status, body, false);
    EXPECT_EQ(p.source, RobotsSource::Unavailable) << status;
    EXPECT_TRUE(p.allowed("/private")) << status;  // the body of an error page is not rules
  }
  for (int status : {500, 502, 503, 599, 429}) {
    const auto p = from_fetch(status, body, false);
    EXPECT_EQ(p.source, RobotsSource::Unreachable) << status;
    EXPECT_FALSE(p.allowed("/public")) << status;
    EXPECT_TRUE(p.allowed("/robots.txt")) << status;
  }
  const auto down = from_fetch(0, "", true);
  EXPECT_EQ(down.source, RobotsSource::Unreachable);
  EXPECT_FALSE(down.allowed("/"));
  // 200 with unreachable set (body cut by a reset) is still unreachable.
  EXPECT_FALSE(from_fetch(200, body, true).allowed("/public"));
  // Redirects beyond kMaxRobotsRedirects: unavailable.
  static_assert(kMaxRobotsRedirects == 5);
  EXPECT_TRUE(from_fetch(301, "", false).allowed("/x"));
  EXPECT_EQ(from_fetch(301, "", false).source, RobotsSource::Unavailable);
}

TEST(RobotsFetch, RobotsUrlForOrigin) {
  EXPECT_EQ(robots_url(normalize("http://127.0.0.2:8080/a/b?c")), "http://127.0.0.2:8080/robots.txt");
  EXPECT_EQ(robots_url(normalize("HTTPS://H:443/x")), "https://h/robots.txt");
  EXPECT_EQ(robots_url(normalize("mailto:a@b")), "");
}

}  // namespace
}  // namespace rankpool::crawl

namespace rankpool::crawl {
namespace {

TEST(RobotsFetchStep, FollowsFiveRedirectsThenGivesUp) {
  // Each hop names the next; the sixth redirect makes the file unavailable (allow all).
  for (int hops = 0; hops < kMaxRobotsRedirects; ++hops) {
    auto step = robots_fetch_step(301, "", false, "HTTP://Example.com:80/a/../robots2.txt", hops);
    ASSERT_FALSE(step.done()) << hops;
    EXPECT_EQ(step.next_url, "http://example.com/robots2.txt");
  }
  auto last = robots_fetch_step(302, "", false, "http://example.com/r", kMaxRobotsRedirects);
  ASSERT_TRUE(last.done());
  EXPECT_EQ(last.policy->source, RobotsSource::Unavailable);
  EXPECT_TRUE(last.policy->allowed("/anything"));
}

TEST(RobotsFetchStep, FinalOutcomesAndBadTargets) {
  auto ok = robots_fetch_step(200, "User-agent: *\nDisallow: /private\n", false, "", 2);
  ASSERT_TRUE(ok.done());
  EXPECT_FALSE(ok.policy->allowed("/private/x"));
  EXPECT_TRUE(ok.policy->allowed("/public"));
  auto down = robots_fetch_step(0, "", true, "", 0);
  ASSERT_TRUE(down.done());
  EXPECT_FALSE(down.policy->allowed("/"));
  auto err = robots_fetch_step(503, "", false, "", 1);
  EXPECT_FALSE(err.policy->allowed("/"));
  auto ftp = robots_fetch_step(301, "", false, "ftp://example.com/robots.txt", 0);
  ASSERT_TRUE(ftp.done());
  EXPECT_EQ(ftp.policy->source, RobotsSource::Unavailable);
  // A 3xx without a Location is no redirect: treated like the status it is.
  auto bare = robots_fetch_step(304, "", false, "", 0);
  ASSERT_TRUE(bare.done());
  EXPECT_TRUE(bare.policy->allowed("/"));
}

}  // namespace
}  // namespace rankpool::crawl
