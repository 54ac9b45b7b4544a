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
