// The libcurl fetcher against the loopback test web. Nothing here leaves 127.0.0.0/8.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include <iostream>
#include <map>

#include "rankpool/crawl/digest.hpp"
#include "rankpool/crawl/fetcher.hpp"
#include "rankpool/testweb/server.hpp"

namespace rankpool::crawl {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kBig = 3 << 20;  // size of /big* in this suite's web

class FetcherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testweb::WebSpec spec;
    spec.hosts = 4;
    spec.pages_per_host = 50;
    spec.big_body_bytes = kBig;
    spec.slow_delay = 5000ms;
    web_ = new testweb::TestWeb(spec);
    web_->start();
  }
  static void TearDownTestSuite() {
    delete web_;
    web_ = nullptr;
  }

  static std::string url(std::size_t origin, const std::string& path) { return web_->origins().at(origin) + path; }

  // Submits every URL (ids 0..n-1) and polls until all are back. Each id must come back
  // exactly once; a generous overall deadline turns a hang into a failure.
  static std::vector<FetchResult> fetch_all(Fetcher& f, const std::vector<std::string>& urls) {
    for (std::size_t i = 0; i < urls.size(); ++i) f.submit({i, urls[i]});
    std::vector<FetchResult> by_id(urls.size());
    std::vector<int> seen(urls.size(), 0);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    std::size_t done = 0;
    while (done < urls.size() && std::chrono::steady_clock::now() < deadline) {
      for (auto& r : f.poll(500ms)) {
        EXPECT_LT(r.id, urls.size());
        if (r.id >= urls.size()) continue;
        EXPECT_EQ(r.url, urls[r.id]);
        EXPECT_EQ(++seen[r.id], 1) << "result returned twice: " << r;
        by_id[r.id] = std::move(r);
        ++done;
      }
    }
    EXPECT_EQ(done, urls.size()) << "not every request completed";
    EXPECT_EQ(f.in_flight(), 0u);
    return by_id;
  }

  static FetchResult fetch_one(const FetchOptions& o, const std::string& u) {
    auto f = make_curl_fetcher(o);
    return fetch_all(*f, {u}).at(0);
  }

  static std::vector<testweb::AccessLogEntry> requests_for(const std::string& target) {
    std::vector<testweb::AccessLogEntry> out;
    for (auto& e : web_->access_log())
      if (e.target == target) out.push_back(e);
    return out;
  }

  static testweb::TestWeb* web_;
};

testweb::TestWeb* FetcherTest::web_ = nullptr;

TEST_F(FetcherTest, FetchesHtmlWithBodyContentTypeAndUserAgent) {
  FetchOptions o;
  o.user_agent = "rankpool-test/1.0 fetcher";
  web_->clear_access_log();
  const auto r = fetch_one(o, url(0, "/p/7"));
  EXPECT_TRUE(r.ok()) << r;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.error_kind, "");
  EXPECT_TRUE(r.content_type.starts_with("text/html")) << r.content_type;
  EXPECT_EQ(r.body, web_->model().respond(0, "/p/7").body);
  EXPECT_EQ(r.bytes, r.body.size());
  EXPECT_TRUE(r.redirect_to.empty());
  const auto log = requests_for("/p/7");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].method, "GET");
  EXPECT_EQ(log[0].user_agent, o.user_agent);
  EXPECT_EQ("http://" + log[0].origin, web_->origins()[0]);
}

TEST_F(FetcherTest, ErrorStatusesAreValuesNotErrors) {
  auto f = make_curl_fetcher({});
  const auto rs = fetch_all(*f, {url(1, "/missing"), url(1, "/error"), url(1, "/p/99999")});
  EXPECT_EQ(rs[0].http_status, 404);
  EXPECT_EQ(rs[1].http_status, 500);
  EXPECT_EQ(rs[2].http_status, 404);
  for (const auto& r : rs) {
    EXPECT_FALSE(r.ok()) << r;
    EXPECT_TRUE(r.error.empty()) << r;  // the server answered: no transport error
  }
}

TEST_F(FetcherTest, RedirectsAreReturnedNotFollowed) {
  web_->clear_access_log();
  auto f = make_curl_fetcher({});
  const auto rs = fetch_all(*f, {url(0, "/redirect/same"), url(0, "/redirect/cross"), url(0, "/redirect/loop/1")});
  const auto& m = web_->model();
  EXPECT_EQ(rs[0].http_status, 301);
  EXPECT_TRUE(rs[0].is_redirect());
  // The server's Location is relative ("../p/N"): curl resolves it against the request URL.
  EXPECT_EQ(rs[0].redirect_to, m.respond(0, "/redirect/same").redirect_target);
  EXPECT_NE(m.respond(0, "/redirect/same").location, rs[0].redirect_to);
  EXPECT_EQ(rs[1].http_status, 302);
  EXPECT_EQ(rs[1].redirect_to, m.respond(0, "/redirect/cross").redirect_target);
  EXPECT_TRUE(rs[1].redirect_to.starts_with(web_->origins()[1]));
  EXPECT_EQ(rs[2].redirect_to, url(0, "/redirect/loop/2"));
  // Not followed: nothing but the three requests reached the server.
  const auto log = web_->access_log();
  EXPECT_EQ(log.size(), 3u);
  EXPECT_TRUE(requests_for("/redirect/loop/2").empty());
}

TEST_F(FetcherTest, ConnectionRefusedIsConnectError) {
  // A port that was just free on 127.0.0.1: bind an ephemeral port, then release it.
  unsigned short port = 0;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  const auto r = fetch_one({}, "http://127.0.0.1:" + std::to_string(port) + "/");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error_kind, "connect") << r;
  EXPECT_EQ(r.http_status, 0);
  EXPECT_FALSE(r.error.empty());
}

TEST_F(FetcherTest, SlowPageTimesOut) {
  FetchOptions o;
  o.total_timeout = 300ms;
  const auto r = fetch_one(o, url(0, "/slow"));
  EXPECT_EQ(r.error_kind, "timeout") << r;
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.body.empty());
}

TEST_F(FetcherTest, SizeCapWithContentLength) {
  FetchOptions o;
  o.max_body_bytes = 1 << 20;
  const auto r = fetch_one(o, url(0, "/big"));
  EXPECT_EQ(r.error_kind, "too_large") << r;
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.body.empty());
  // Exactly at the cap is allowed: the limit is inclusive and counted precisely.
  o.max_body_bytes = kBig;
  const auto at = fetch_one(o, url(0, "/big"));
  EXPECT_TRUE(at.ok()) << at;
  EXPECT_EQ(at.bytes, kBig);
  EXPECT_EQ(at.body.size(), kBig);
}

TEST_F(FetcherTest, SizeCapWithoutContentLength) {
  FetchOptions o;
  o.max_body_bytes = 1 << 20;
  const auto r = fetch_one(o, url(2, "/big-chunked"));
  EXPECT_EQ(r.error_kind, "too_large") << r;
  EXPECT_TRUE(r.body.empty());
  EXPECT_LE(r.bytes, o.max_body_bytes);
  o.max_body_bytes = kBig - 1;  // one byte short still fails
  EXPECT_EQ(fetch_one(o, url(2, "/big-chunked")).error_kind, "too_large");
  o.max_body_bytes = kBig;
  const auto at = fetch_one(o, url(2, "/big-chunked"));
  EXPECT_TRUE(at.ok()) << at;
  EXPECT_EQ(at.bytes, kBig);
}

TEST_F(FetcherTest, SizeCapAppliesToDecodedGzip) {
  const auto wire = web_->model().respond(0, "/big.gz").body.size();
  ASSERT_LT(wire, 100u * 1024);  // a bomb: small on the wire
  FetchOptions o;
  for (bool own_decoding : {false, true}) {  // curl's decoding, or the fetcher's (digest_payload)
    o.digest_payload = own_decoding;
    o.max_body_bytes = 1 << 20;  // far above the compressed size
    const auto r = fetch_one(o, url(3, "/big.gz"));
    EXPECT_EQ(r.error_kind, "too_large") << r;
    o.max_body_bytes = kBig;
    const auto at = fetch_one(o, url(3, "/big.gz"));
    EXPECT_TRUE(at.ok()) << at;
    EXPECT_EQ(at.bytes, kBig);  // decoded bytes, not wire bytes
    EXPECT_EQ(at.body, web_->model().respond(0, "/big").body);
    if (own_decoding) {
      EXPECT_EQ(at.payload_sha1, sha1_label(web_->model().respond(0, "/big.gz").body));
    }
  }
}

TEST_F(FetcherTest, RetryAfterIsKeptAndAResetIsItsOwnKind) {
  const auto busy = fetch_one({}, url(1, "/fault/status/503/1?ra=7"));
  EXPECT_EQ(busy.http_status, 503) << busy;
  EXPECT_EQ(busy.retry_after, "7");
  const auto dated = fetch_one({}, url(1, "/fault/status/429/1?ra-date=30"));
  EXPECT_EQ(dated.http_status, 429) << dated;
  const auto wait = parse_retry_after(dated.retry_after, std::chrono::system_clock::now());
  ASSERT_TRUE(wait) << dated.retry_after;
  EXPECT_GT(*wait, 20.0);
  EXPECT_LE(*wait, 30.0);
  EXPECT_EQ(fetch_one({}, url(1, "/fault/status/503/1?ra=7")).retry_after, "") << "recovered: no header";
  const auto reset = fetch_one({}, url(1, "/fault/reset/1"));
  EXPECT_EQ(reset.http_status, 0) << reset;
  EXPECT_EQ(reset.error_kind, "reset") << reset;
  EXPECT_TRUE(is_transient_error_kind(reset.error_kind));
  EXPECT_TRUE(fetch_one({}, url(1, "/fault/reset/1")).ok());
}

TEST_F(FetcherTest, NonHttpSchemesAreRefused) {
  auto f = make_curl_fetcher({});
  const auto rs =
      fetch_all(*f, {"ftp://127.0.0.1:9/file", "file:///etc/hostname", "gopher://127.0.0.1:9/", "http://[::1"});
  for (const auto& r : rs) {
    EXPECT_FALSE(r.ok()) << r;
    EXPECT_EQ(r.error_kind, "protocol") << r;
    EXPECT_EQ(r.bytes, 0u) << r;
  }
}

TEST_F(FetcherTest, NonHtmlBodyIsCountedButDropped) {
  const auto expected = web_->model().respond(0, "/file.txt").body;
  const auto r = fetch_one({}, url(0, "/file.txt"));
  EXPECT_TRUE(r.ok()) << r;
  EXPECT_TRUE(r.content_type.starts_with("text/plain"));
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.bytes, expected.size());
  FetchOptions keep;
  keep.keep_body_only_for_html = false;
  EXPECT_EQ(fetch_one(keep, url(0, "/file.txt")).body, expected);
  EXPECT_TRUE(fetch_one({}, url(0, "/image.png")).body.empty());
  // A request can ask for its body whatever the type (robots.txt is text/plain).
  auto f = make_curl_fetcher({});
  f->submit(FetchRequest{7, url(0, "/file.txt"), true});
  std::vector<FetchResult> got;
  for (int i = 0; i < 100 && got.empty(); ++i) got = f->poll(std::chrono::milliseconds(100));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, expected);
}

TEST_F(FetcherTest, TypesNotAcceptedStopAfterTheHeaders) {
  FetchOptions o;
  o.accept_types = {"text/html"};
  auto f = make_curl_fetcher(o);
  const auto rs = fetch_all(
      *f, {url(0, "/large.pdf"), url(0, "/image.png"), url(0, "/p/3"), url(0, "/missing"), url(0, "/redirect/same")});
  for (int i : {0, 1}) {
    EXPECT_EQ(rs[i].error_kind, "type_not_accepted") << rs[i];
    EXPECT_EQ(rs[i].http_status, 200) << rs[i];
    EXPECT_EQ(rs[i].bytes, 0u) << rs[i];  // not one body byte taken
    EXPECT_TRUE(rs[i].body.empty());
    EXPECT_NE(rs[i].error.find(rs[i].content_type), std::string::npos) << rs[i];
  }
  EXPECT_EQ(rs[0].content_type, "application/pdf");
  EXPECT_EQ(rs[1].content_type, "image/png");
  EXPECT_TRUE(rs[2].ok()) << rs[2];  // HTML, accepted
  EXPECT_EQ(rs[2].body, web_->model().respond(0, "/p/3").body);
  EXPECT_EQ(rs[3].http_status, 404);  // not a 2xx: fetched whatever its type
  EXPECT_EQ(rs[3].error_kind, "");
  EXPECT_TRUE(rs[4].is_redirect()) << rs[4];
}

TEST_F(FetcherTest, KeepBodyRequestsAndWildcardsAreAccepted) {
  FetchOptions o;
  o.accept_types = {"text/html"};
  auto f = make_curl_fetcher(o);
  f->submit({0, url(0, "/file.txt"), /*keep_body=*/true});  // as robots.txt is asked for
  std::vector<FetchResult> got;
  while (got.empty()) got = f->poll(5s);
  EXPECT_TRUE(got[0].ok()) << got[0];
  EXPECT_EQ(got[0].body, web_->model().respond(0, "/file.txt").body);
  FetchOptions text;
  text.accept_types = {"text/*"};
  EXPECT_TRUE(fetch_one(text, url(0, "/file.txt")).ok());
  const auto pdf = fetch_one(FetchOptions{}, url(0, "/large.pdf"));  // default: every type
  EXPECT_TRUE(pdf.ok()) << pdf;
  EXPECT_EQ(pdf.bytes, web_->model().spec().pdf_bytes);
}

TEST_F(FetcherTest, ProxiesAreUsedPerSchemeAndNoProxyBypassesThem) {
  // A proxy nobody listens on: every request that goes through it fails to connect, and
  // never reaches the web.
  FetchOptions o;
  o.http_proxy = "http://127.0.0.1:1";
  web_->clear_access_log();
  const auto via = fetch_one(o, url(0, "/p/4"));
  EXPECT_EQ(via.error_kind, "connect") << via;
  EXPECT_NE(via.error.find("127.0.0.1"), std::string::npos) << via;
  EXPECT_TRUE(requests_for("/p/4").empty());
  // Another scheme's proxy is not used; no_proxy (curl's syntax) exempts a host.
  FetchOptions https_only;
  https_only.https_proxy = "http://127.0.0.1:1";
  EXPECT_TRUE(fetch_one(https_only, url(0, "/p/4")).ok());
  o.no_proxy = "localhost," + web_->model().origins()[0].address;
  EXPECT_TRUE(fetch_one(o, url(0, "/p/4")).ok());
  EXPECT_EQ(requests_for("/p/4").size(), 2u);
}

TEST_F(FetcherTest, PollOnIdleFetcherReturnsAtOnce) {
  auto f = make_curl_fetcher({});
  EXPECT_EQ(f->in_flight(), 0u);
  EXPECT_TRUE(f->poll(10s).empty());  // would hang 10 s if it waited for nothing
}

TEST_F(FetcherTest, ManyConcurrentTransfersCompleteExactlyOnce) {
  web_->clear_access_log();
  std::vector<std::string> urls;
  for (std::size_t o = 0; o < 4; ++o)
    for (int k = 1; k <= 50; ++k) urls.push_back(url(o, "/p/" + std::to_string(k % 50)));  // /p/0 is a 404
  FetchOptions opt;
  opt.max_in_flight = 16;
  auto f = make_curl_fetcher(opt);
  const auto t0 = std::chrono::steady_clock::now();
  const auto rs = fetch_all(*f, urls);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::size_t ok = 0;
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const bool is_p0 = urls[i].ends_with("/p/0");
    EXPECT_EQ(rs[i].http_status, is_p0 ? 404 : 200) << rs[i];
    ok += rs[i].ok();
  }
  EXPECT_EQ(ok, 196u);
  EXPECT_EQ(web_->access_log().size(), urls.size());  // each URL requested exactly once
  std::cout << "[ figures ] " << urls.size()
            << " fetches over 4 loopback hosts, 16 in flight: " << static_cast<long>(urls.size() / secs)
            << " fetches/s\n";
}

TEST_F(FetcherTest, SubmitBeyondMaxInFlightQueues) {
  FetchOptions opt;
  opt.max_in_flight = 2;
  auto f = make_curl_fetcher(opt);
  std::vector<std::string> urls;
  for (int k = 1; k <= 10; ++k) urls.push_back(url(4, "/p/" + std::to_string(k)));
  for (std::size_t i = 0; i < urls.size(); ++i) f->submit({100 + i, urls[i]});
  EXPECT_EQ(f->in_flight(), 10u);
  std::size_t got = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (got < 10 && std::chrono::steady_clock::now() < deadline) {
    auto rs = f->poll(500ms);
    got += rs.size();
    EXPECT_EQ(f->in_flight(), 10 - got);
    for (auto& r : rs) EXPECT_TRUE(r.ok()) << r;
  }
  EXPECT_EQ(got, 10u);
}

// The ground truth, the server and the fetcher agree: every URL the truth says a crawl
// fetches answers over HTTP with the truth's status, and every redirect with its target.
TEST_F(FetcherTest, GroundTruthMatchesWhatTheServerAnswers) {
  const auto origins = web_->origins();
  const auto t = testweb::truth(web_->model(), {origins[0] + "/", origins[4] + "/p/3"}, 3, origins);
  std::vector<std::string> urls;
  for (const auto& [u, depth] : t.fetched)
    if (!u.ends_with("/slow")) urls.push_back(u);  // the slow page only costs time
  ASSERT_GT(urls.size(), 50u);
  FetchOptions o;
  o.max_body_bytes = kBig;
  auto f = make_curl_fetcher(o);
  const auto rs = fetch_all(*f, urls);
  for (std::size_t i = 0; i < rs.size(); ++i) {
    EXPECT_EQ(rs[i].http_status, t.status.at(urls[i])) << rs[i];
    const auto redirect = t.redirects.find(urls[i]);
    EXPECT_EQ(rs[i].redirect_to, redirect == t.redirects.end() ? "" : redirect->second) << rs[i];
  }
}

TEST_F(FetcherTest, ConnectionsAreReused) {
  auto f = make_curl_fetcher({});
  const auto before = web_->connections_accepted();
  for (int k = 1; k <= 20; ++k) {  // one at a time, so each could have needed a new connection
    const auto rs = fetch_all(*f, {url(1, "/p/" + std::to_string(k))});
    EXPECT_TRUE(rs.at(0).ok()) << rs.at(0);
  }
  EXPECT_EQ(web_->connections_accepted() - before, 1u);
}

TEST_F(FetcherTest, FlakyWrapperFailsEveryNthWithoutSendingIt) {
  web_->clear_access_log();
  auto f = make_flaky_fetcher(make_curl_fetcher({}), 4);
  std::vector<std::string> urls;
  for (int k = 1; k <= 10; ++k) urls.push_back(url(0, "/p/" + std::to_string(k)));
  const auto rs = fetch_all(*f, urls);
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const bool injected = (i + 1) % 4 == 0;  // the 4th and 8th submissions
    EXPECT_EQ(rs[i].ok(), !injected) << rs[i];
    EXPECT_EQ(rs[i].error_kind, injected ? "connect" : "") << rs[i];
  }
  EXPECT_EQ(web_->access_log().size(), 8u);  // the injected failures never reached the server
}

// WebSpec::latency delays every response: a total timeout shorter than it fires, a longer
// one does not (a check of behaviour, not of speed: the margins are wide).
TEST(FetcherLatency, ServerLatencyIsSeenByTheFetcher) {
  testweb::WebSpec spec;
  spec.hosts = 1;
  spec.latency = 800ms;
  testweb::TestWeb web(spec);
  web.start();
  FetchOptions shorter;
  shorter.total_timeout = 100ms;
  auto f = make_curl_fetcher(shorter);
  f->submit({1, web.origins()[0] + "/p/1"});
  std::vector<FetchResult> rs;
  for (int i = 0; i < 100 && rs.empty(); ++i) rs = f->poll(200ms);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].error_kind, "timeout") << rs[0];
  auto g = make_curl_fetcher({});
  g->submit({2, web.origins()[0] + "/p/1"});
  rs.clear();
  for (int i = 0; i < 100 && rs.empty(); ++i) rs = g->poll(200ms);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_TRUE(rs[0].ok()) << rs[0];
}

TEST(FetcherGzip, CompressedPagesAreDecoded) {
  testweb::WebSpec spec;
  spec.hosts = 1;
  spec.gzip_pages = true;
  testweb::TestWeb web(spec);
  web.start();
  const auto expected = web.model().respond(0, "/p/3").body;
  for (int mode = 0; mode < 4; ++mode) {
    const bool accept = mode % 2 == 0;
    FetchOptions o;
    o.accept_encoding = accept;
    o.digest_payload = mode >= 2;  // the fetcher decodes, not curl
    o.keep_body_only_for_html = false;
    auto f = make_curl_fetcher(o);
    f->submit({1, web.origins()[0] + "/p/3"});
    std::vector<FetchResult> rs;
    for (int i = 0; i < 100 && rs.empty(); ++i) rs = f->poll(200ms);
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_TRUE(rs[0].ok()) << rs[0];
    EXPECT_EQ(rs[0].body, expected) << "accept_encoding=" << accept;  // identity when not asked
  }
}

// capture (for WARC): the request as sent, the response head as received, the payload as
// transferred (gzip here) beside the decoded body, the server's address, the start time.
TEST(FetcherCapture, KeepsTheMessagesAsTransferred) {
  testweb::WebSpec spec;
  spec.hosts = 1;
  spec.gzip_pages = true;
  testweb::TestWeb web(spec);
  web.start();
  const auto expected = web.model().respond(0, "/p/3").body;
  for (bool capture : {true, false}) {
    FetchOptions o;
    o.capture = capture;
    o.digest_payload = true;
    o.user_agent = "capture-test/1";
    auto f = make_curl_fetcher(o);
    const auto before = std::chrono::system_clock::now();
    f->submit({1, web.origins()[0] + "/p/3"});
    std::vector<FetchResult> rs;
    for (int i = 0; i < 100 && rs.empty(); ++i) rs = f->poll(200ms);
    ASSERT_EQ(rs.size(), 1u);
    const FetchResult& r = rs[0];
    EXPECT_TRUE(r.ok()) << r;
    EXPECT_EQ(r.body, expected);
    EXPECT_EQ(r.ip, "127.0.0.2");
    EXPECT_GE(r.started, before - 1s);
    EXPECT_LE(r.started, std::chrono::system_clock::now());
    if (!capture) {
      EXPECT_EQ(r.request_head, "");
      EXPECT_EQ(r.response_head, "");
      EXPECT_EQ(r.payload, "");
      EXPECT_FALSE(r.payload_sha1.empty());
      continue;
    }
    EXPECT_TRUE(r.request_head.starts_with("GET /p/3 HTTP/1.1\r\n")) << r.request_head;
    EXPECT_NE(r.request_head.find("\r\nUser-Agent: capture-test/1\r\n"), std::string::npos) << r.request_head;
    EXPECT_NE(r.request_head.find("\r\nAccept-Encoding: gzip, deflate\r\n"), std::string::npos) << r.request_head;
    EXPECT_TRUE(r.request_head.ends_with("\r\n\r\n"));
    EXPECT_TRUE(r.response_head.starts_with("HTTP/1.1 200 OK\r\n")) << r.response_head;
    EXPECT_NE(r.response_head.find("Content-Encoding: gzip\r\n"), std::string::npos) << r.response_head;
    EXPECT_TRUE(r.response_head.ends_with("\r\n\r\n"));
    ASSERT_GE(r.payload.size(), 2u);
    EXPECT_EQ(r.payload.substr(0, 2), "\x1f\x8b");  // gzip, as on the wire
    EXPECT_EQ(r.payload_sha1, sha1_label(r.payload));
  }
}

TEST(CurlErrorKind, MapsCurlCodes) {
  EXPECT_EQ(curl_error_kind(CURLE_OK), "");
  EXPECT_EQ(curl_error_kind(CURLE_COULDNT_RESOLVE_HOST), "dns");
  EXPECT_EQ(curl_error_kind(CURLE_COULDNT_RESOLVE_PROXY), "dns");
  EXPECT_EQ(curl_error_kind(CURLE_COULDNT_CONNECT), "connect");
  EXPECT_EQ(curl_error_kind(CURLE_OPERATION_TIMEDOUT), "timeout");
  EXPECT_EQ(curl_error_kind(CURLE_FILESIZE_EXCEEDED), "too_large");
  EXPECT_EQ(curl_error_kind(CURLE_PEER_FAILED_VERIFICATION), "tls");
  EXPECT_EQ(curl_error_kind(CURLE_SSL_CONNECT_ERROR), "tls");
  EXPECT_EQ(curl_error_kind(CURLE_UNSUPPORTED_PROTOCOL), "protocol");
  EXPECT_EQ(curl_error_kind(CURLE_WEIRD_SERVER_REPLY), "protocol");
  EXPECT_EQ(curl_error_kind(CURLE_OUT_OF_MEMORY), "other");
}

}  // namespace
}  // namespace rankpool::crawl
