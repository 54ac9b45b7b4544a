// FakeFetcher (the crawler's test double) and the HTML content-type test.
#include <gtest/gtest.h>

#include "rankpool/crawl/fetcher.hpp"

namespace rankpool::crawl {
namespace {

using namespace std::chrono_literals;

TEST(FakeFetcher, ReturnsCannedResultsWithTheRequestsIds) {
  FakeFetcher f;
  f.add_page("http://127.0.0.2:8080/", "<a href=/x>x</a>");
  f.add_redirect("http://127.0.0.2:8080/old", "http://127.0.0.2:8080/new", 302);
  f.submit({7, "http://127.0.0.2:8080/"});
  f.submit({8, "http://127.0.0.2:8080/old"});
  f.submit({9, "http://127.0.0.2:8080/unknown"});
  EXPECT_EQ(f.in_flight(), 3u);
  const auto rs = f.poll(0ms);
  EXPECT_EQ(f.in_flight(), 0u);
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[0].id, 7u);
  EXPECT_TRUE(rs[0].ok());
  EXPECT_EQ(rs[0].body, "<a href=/x>x</a>");
  EXPECT_EQ(rs[0].bytes, rs[0].body.size());
  EXPECT_EQ(rs[1].id, 8u);
  EXPECT_TRUE(rs[1].is_redirect());
  EXPECT_EQ(rs[1].http_status, 302);
  EXPECT_EQ(rs[1].redirect_to, "http://127.0.0.2:8080/new");
  EXPECT_EQ(rs[2].id, 9u);
  EXPECT_EQ(rs[2].http_status, 404);
  EXPECT_EQ(rs[2].url, "http://127.0.0.2:8080/unknown");
  EXPECT_TRUE(f.poll(0ms).empty());
  ASSERT_EQ(f.requests().size(), 3u);
  EXPECT_EQ(f.requests()[1].url, "http://127.0.0.2:8080/old");
}

TEST(FakeFetcher, FailsEveryNthRequest) {
  FakeFetcher f;
  f.add_page("http://127.0.0.2:8080/", "<p>home</p>");
  f.fail_every_nth(3);
  for (std::uint64_t i = 1; i <= 7; ++i) f.submit({i, "http://127.0.0.2:8080/"});
  const auto rs = f.poll(0ms);
  ASSERT_EQ(rs.size(), 7u);
  for (const auto& r : rs) {
    const bool should_fail = r.id % 3 == 0;
    EXPECT_EQ(r.ok(), !should_fail) << r;
    EXPECT_EQ(r.error_kind, should_fail ? "connect" : "") << r;
    EXPECT_EQ(r.http_status, should_fail ? 0 : 200) << r;
  }
}

TEST(FakeFetcher, SetResultCarriesFailures) {
  FakeFetcher f;
  FetchResult timeout;
  timeout.error = "Timeout was reached";
  timeout.error_kind = "timeout";
  f.set_result("http://127.0.0.3:8080/slow", timeout);
  f.submit({1, "http://127.0.0.3:8080/slow"});
  const auto rs = f.poll(0ms);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_FALSE(rs[0].ok());
  EXPECT_EQ(rs[0].error_kind, "timeout");
  EXPECT_EQ(rs[0].id, 1u);
}

TEST(FakeFetcher, SetResultsPlaysASequenceThenRepeatsItsLast) {
  FakeFetcher f;
  FetchResult busy;
  busy.http_status = 503;
  busy.retry_after = "2";
  FetchResult fine;
  fine.http_status = 200;
  f.set_results("http://127.0.0.2:8080/", {busy, busy, fine});
  for (std::uint64_t i = 1; i <= 4; ++i) f.submit({i, "http://127.0.0.2:8080/"});
  const auto rs = f.poll(0ms);
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(rs[0].http_status, 503);
  EXPECT_EQ(rs[0].retry_after, "2");
  EXPECT_EQ(rs[1].http_status, 503);
  EXPECT_EQ(rs[2].http_status, 200);
  EXPECT_EQ(rs[3].http_status, 200);
  f.add_page("http://127.0.0.2:8080/", "<p>x</p>");  // a canned result replaces the sequence
  f.submit({5, "http://127.0.0.2:8080/"});
  EXPECT_EQ(f.poll(0ms).at(0).body, "<p>x</p>");
}

TEST(RetryAfter, SecondsAndTheThreeHttpDateForms) {
  // Sun, 06 Nov 1994 08:49:37 GMT is RFC 9110's example; "now" is 37 s before it.
  const auto example = std::chrono::system_clock::from_time_t(784111777);
  const auto now = example - 37s;
  EXPECT_EQ(parse_retry_after("120", now), 120.0);
  EXPECT_EQ(parse_retry_after(" 0 ", now), 0.0);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), 37.0);
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now), 37.0);
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", now), 37.0);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", example + 1h), 0.0);  // in the past
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("-5", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("1.5", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT trailing", now), std::nullopt);
  EXPECT_GE(*parse_retry_after("99999999999999999999", now), 1e9);  // huge: the caller caps it
}

TEST(RetryAfter, TransientErrorKinds) {
  for (const char* k : {"connect", "timeout", "reset"}) EXPECT_TRUE(is_transient_error_kind(k)) << k;
  for (const char* k : {"", "dns", "tls", "too_large", "protocol", "other"})
    EXPECT_FALSE(is_transient_error_kind(k)) << k;
}

TEST(FetchResult, OkMeansNoErrorAnd2xx) {
  FetchResult r;
  EXPECT_FALSE(r.ok());  // no status yet
  r.http_status = 200;
  EXPECT_TRUE(r.ok());
  r.http_status = 204;
  EXPECT_TRUE(r.ok());
  r.http_status = 301;
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.is_redirect());  // no target
  r.redirect_to = "http://127.0.0.2/";
  EXPECT_TRUE(r.is_redirect());
  r.http_status = 200;
  r.error = "Failure when receiving data from the peer";
  EXPECT_FALSE(r.ok());
}

TEST(IsHtmlContentType, AcceptsHtmlTypesOnly) {
  EXPECT_TRUE(is_html_content_type("text/html"));
  EXPECT_TRUE(is_html_content_type("text/html; charset=utf-8"));
  EXPECT_TRUE(is_html_content_type("  TEXT/HTML ;charset=ISO-8859-1"));
  EXPECT_TRUE(is_html_content_type("application/xhtml+xml"));
  EXPECT_FALSE(is_html_content_type("text/plain"));
  EXPECT_FALSE(is_html_content_type("text/htmlx"));
  EXPECT_FALSE(is_html_content_type("image/png"));
  EXPECT_FALSE(is_html_content_type(""));
}

}  // namespace
}  // namespace rankpool::crawl
