// The test web's HTTP server, spoken to with a plain Beast client on loopback.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/resource.h>

#include <cstdio>
#include <fstream>

#include "rankpool/testweb/server.hpp"

namespace rankpool::testweb {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Client {
  asio::io_context ioc;
  tcp::socket socket{ioc};
  beast::flat_buffer buffer;

  explicit Client(const std::string& origin) {  // "http://a.b.c.d:port"
    const auto hp = origin.substr(7);
    const auto colon = hp.rfind(':');
    socket.connect(
        {asio::ip::make_address(hp.substr(0, colon)), static_cast<unsigned short>(std::stoi(hp.substr(colon + 1)))});
  }
  http::response<http::string_body> get(const std::string& target, http::verb verb = http::verb::get,
                                        const std::string& host = "ignored.invalid",
                                        const std::string& accept_encoding = "") {
    http::request<http::empty_body> req{verb, target, 11};
    req.set(http::field::host, host);
    if (!accept_encoding.empty()) req.set(http::field::accept_encoding, accept_encoding);
    req.set(http::field::user_agent, "server-test/1");
    http::write(socket, req);
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    return res;
  }
};

class TestWebServer : public ::testing::Test {
 protected:
  void SetUp() override {
    spec_.hosts = 3;
    spec_.pages_per_host = 10;
    spec_.big_body_bytes = 50000;
    web_ = std::make_unique<TestWeb>(spec_);
    web_->start();
  }
  WebSpec spec_;
  std::unique_ptr<TestWeb> web_;
};

TEST_F(TestWebServer, ServesTheModelOnEveryOriginWithKeepAlive) {
  const auto origins = web_->origins();
  ASSERT_EQ(origins.size(), 4u);  // 3 hosts + the extra port on the first
  EXPECT_TRUE(origins[0].starts_with("http://127.0.0.2:"));
  EXPECT_TRUE(origins[2].starts_with("http://127.0.0.4:"));
  EXPECT_TRUE(origins[3].starts_with("http://127.0.0.2:"));
  EXPECT_NE(origins[0], origins[3]);
  for (std::size_t o = 0; o < origins.size(); ++o) {
    Client c(origins[o]);
    // Three requests on one connection: keep-alive works, and the origin is the socket's
    // (the Host header names something else entirely).
    for (const char* path : {"/", "/p/3", "/robots.txt"}) {
      const auto res = c.get(path);
      const auto expected = web_->model().respond(o, path);
      EXPECT_EQ(res.result_int(), static_cast<unsigned>(expected.status)) << origins[o] << path;
      EXPECT_EQ(res.body(), expected.body) << origins[o] << path;
      EXPECT_TRUE(res.keep_alive());
    }
  }
  const auto log = web_->access_log();
  ASSERT_EQ(log.size(), 12u);
  EXPECT_EQ(log[0].method, "GET");
  EXPECT_EQ(log[0].user_agent, "server-test/1");
  EXPECT_EQ("http://" + log[0].origin, origins[0]);
}

TEST_F(TestWebServer, HeadersOfSpecialResponses) {
  Client c(web_->origins()[0]);
  auto res = c.get("/redirect/same");
  EXPECT_EQ(res.result_int(), 301u);
  EXPECT_EQ(res[http::field::location], web_->model().respond(0, "/redirect/same").location);
  res = c.get("/big-chunked");
  EXPECT_TRUE(res.chunked());
  EXPECT_EQ(res.find(http::field::content_length), res.end());
  EXPECT_EQ(res.body().size(), spec_.big_body_bytes);
  res = c.get("/big");
  EXPECT_EQ(res[http::field::content_length], std::to_string(spec_.big_body_bytes));
  res = c.get("/big.gz");
  EXPECT_EQ(res[http::field::content_encoding], "gzip");
  EXPECT_LT(res.body().size(), spec_.big_body_bytes);
  res = c.get("/image.png");
  EXPECT_EQ(res[http::field::content_type], "image/png");
  res = c.get("/p/3", http::verb::head);
  EXPECT_EQ(res.result_int(), 200u);
  res = c.get("/p/3", http::verb::post);
  EXPECT_EQ(res.result_int(), 405u);
  const auto log = web_->access_log();
  ASSERT_EQ(log.size(), 7u);
  EXPECT_EQ(log[5].method, "HEAD");
  EXPECT_EQ(log[6].status, 405);
}

TEST_F(TestWebServer, TrapIsEndless) {
  Client c(web_->origins()[1]);
  const auto res = c.get("/trap/123456");
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_NE(res.body().find("href=\"123457\""), std::string::npos);
}

TEST_F(TestWebServer, StopClosesTheOrigins) {
  const auto origin = web_->origins()[0];
  web_->stop();
  web_->stop();  // idempotent
  EXPECT_THROW(Client c(origin), boost::system::system_error);
}

TEST(TestWebGzip, PagesAreGzippedOnlyWhenAsked) {
  WebSpec spec;
  spec.hosts = 1;
  spec.gzip_pages = true;
  TestWeb web(spec);
  web.start();
  Client c(web.origins()[0]);
  const auto plain = web.model().respond(0, "/p/4").body;
  auto res = c.get("/p/4", http::verb::get, "x", "deflate, gzip");
  EXPECT_EQ(res[http::field::content_encoding], "gzip");
  EXPECT_EQ(res.body(), gzip_compress(plain));
  res = c.get("/p/4");
  EXPECT_EQ(res.find(http::field::content_encoding), res.end());
  EXPECT_EQ(res.body(), plain);
}

TEST(TestWebLog, AccessLogFileGetsOneLinePerRequest) {
  const std::string path = ::testing::TempDir() + "testweb_access_log_test.log";
  std::remove(path.c_str());
  WebSpec spec;
  spec.hosts = 1;
  spec.access_log_file = path;
  {
    TestWeb web(spec);
    web.start();
    Client c(web.origins()[1]);
    c.get("/p/1");
    c.get("/nowhere");
  }
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find(" GET /p/1 200 \"server-test/1\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find(" GET /nowhere 404 "), std::string::npos) << lines[1];
  std::remove(path.c_str());
}

TEST(TestWebPorts, CannotRestart) {
  WebSpec spec;
  spec.hosts = 1;
  TestWeb web(spec);
  web.start();
  web.start();  // no-op while running
  web.stop();
  EXPECT_THROW(web.start(), std::logic_error);
}

TEST(TestWebPorts, FixedPortInUseIsReported) {
  WebSpec spec;
  spec.hosts = 1;
  TestWeb first(spec);
  first.start();
  const auto origin = first.origins()[0];
  spec.base_port = std::stoi(origin.substr(origin.rfind(':') + 1));
  TestWeb second(spec);
  EXPECT_THROW(second.start(), std::system_error);
}

TEST(TestWebAtScale, ServesMoreOriginsThanTheSoftOpenFilesLimit) {
  // 600 origins past 127.0.0.254 with a soft limit of 256 descriptors: start() raises it.
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  if (before.rlim_max != RLIM_INFINITY && before.rlim_max < 2048) GTEST_SKIP() << "hard open-files limit below 2048";
  rlimit low = before;
  low.rlim_cur = 256;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  WebSpec spec;
  spec.hosts = 600;
  spec.pages_per_host = 5;
  TestWeb web(spec);
  web.start();
  rlimit now{};
  getrlimit(RLIMIT_NOFILE, &now);
  EXPECT_GE(now.rlim_cur, 601u + 1024u) << "raised to one descriptor per origin and 1,024 more";
  const auto origins = web.origins();
  ASSERT_EQ(origins.size(), 601u);
  EXPECT_TRUE(origins[599].starts_with("http://127.0.2.93:")) << origins[599];
  Client c(origins[599]);
  const auto res = c.get("/p/4");
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res.body(), web.model().respond(599, "/p/4").body);
  web.stop();
  setrlimit(RLIMIT_NOFILE, &before);
}

}  // namespace
}  // namespace rankpool::testweb
