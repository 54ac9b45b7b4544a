// The network options decided on rank 0: proxies and the CA bundle from the options and the
// environment (as curl reads them), and --accept-types.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "rankpool/crawl/fetcher.hpp"
#include "rankpool/crawl/options.hpp"

namespace rankpool::crawl {
namespace {

// An environment of its own: the process's is never read here.
struct FakeEnv {
  std::map<std::string, std::string> vars;
  EnvLookup lookup() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

TEST(ChooseProxies, DirectWithoutOptionOrEnvironment) {
  FakeEnv env;
  auto c = choose_proxies("", false, env.lookup());
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_FALSE(c->any());
  EXPECT_EQ(c->no_proxy, "");
  EXPECT_EQ(c->describe(), "no proxy");
}

TEST(ChooseProxies, EnvironmentAsCurlReadsIt) {
  FakeEnv env{{{"http_proxy", "http://h:1"}, {"HTTPS_PROXY", "http://s:2"}, {"NO_PROXY", "localhost,.local"}}};
  auto c = choose_proxies("", false, env.lookup());
  ASSERT_TRUE(c) << c.status().message();
  EXPECT_EQ(c->http, "http://h:1");
  EXPECT_EQ(c->https, "http://s:2");
  EXPECT_EQ(c->no_proxy, "localhost,.local");
  EXPECT_EQ(c->describe(),
            "proxy for http: http://h:1 (http_proxy); for https: http://s:2 (HTTPS_PROXY); direct for no_proxy "
            "'localhost,.local' (NO_PROXY)");
}

TEST(ChooseProxies, UpperCaseHttpProxyIsIgnoredAsByCurl) {
  // HTTP_PROXY can be set from a request's "Proxy:" header in CGI programs (httpoxy).
  FakeEnv env{{{"HTTP_PROXY", "http://evil:1"}}};
  auto c = choose_proxies("", false, env.lookup());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->http, "");
  EXPECT_EQ(c->https, "");
}

TEST(ChooseProxies, LowerCaseWinsAndAllProxyIsTheFallback) {
  FakeEnv env{{{"https_proxy", "http://lower:1"}, {"HTTPS_PROXY", "http://upper:1"}, {"ALL_PROXY", "all:3"}}};
  auto c = choose_proxies("", false, env.lookup());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->https, "http://lower:1");
  EXPECT_EQ(c->https_from, "https_proxy");
  EXPECT_EQ(c->http, "http://all:3");  // no scheme: http://, as curl
  EXPECT_EQ(c->http_from, "ALL_PROXY");
}

TEST(ChooseProxies, EmptyValuesCountAsUnset) {
  FakeEnv env{{{"http_proxy", ""}, {"all_proxy", "http://a:1"}, {"no_proxy", ""}, {"NO_PROXY", "x"}}};
  auto c = choose_proxies("", false, env.lookup());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->http, "http://a:1");
  EXPECT_EQ(c->no_proxy, "x");
}

TEST(ChooseProxies, OptionWinsAndNoProxyStillApplies) {
  FakeEnv env{{{"http_proxy", "http://env:1"}, {"no_proxy", "127.0.0.2"}}};
  auto c = choose_proxies("http://user:secret@opt:8080", false, env.lookup());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->http, "http://user:secret@opt:8080");
  EXPECT_EQ(c->https, "http://user:secret@opt:8080");
  EXPECT_EQ(c->no_proxy, "127.0.0.2");
  // The password never reaches the terminal.
  EXPECT_EQ(c->describe(),
            "proxy http://user:***@opt:8080 for http and https (--proxy); direct for no_proxy '127.0.0.2' (no_proxy)");
}

TEST(ChooseProxies, IgnoringTheEnvironment) {
  FakeEnv env{{{"http_proxy", "http://env:1"}, {"https_proxy", "http://env:1"}, {"no_proxy", "x"}}};
  auto direct = choose_proxies("", true, env.lookup());
  ASSERT_TRUE(direct);
  EXPECT_FALSE(direct->any());
  EXPECT_EQ(direct->no_proxy, "");
  auto opt = choose_proxies("http://opt:1", true, env.lookup());
  ASSERT_TRUE(opt);
  EXPECT_EQ(opt->http, "http://opt:1");
  EXPECT_EQ(opt->no_proxy, "");
}

TEST(ChooseProxies, BadProxyUrlsNameTheirSource) {
  FakeEnv env{{{"https_proxy", "ftp://p:1"}}};
  auto c = choose_proxies("", false, env.lookup());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.status().message().rfind("https_proxy 'ftp://p:1': ", 0), 0u) << c.status().message();
  for (const char* bad : {"http://", "http://:8080", "http://a b:1"}) {
    auto o = choose_proxies(bad, false, FakeEnv{}.lookup());
    ASSERT_FALSE(o) << bad;
    EXPECT_EQ(o.status().message().rfind("--proxy '", 0), 0u) << o.status().message();
  }
  for (const char* good : {"https://p:443", "socks5h://p:1080", "SOCKS5://p:1", "http://[::1]:3128"})
    EXPECT_TRUE(choose_proxies(good, false, FakeEnv{}.lookup())) << good;
}

class ChooseCaCert : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("rankpool-ca-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    pem_ = (dir_ / "ca.pem").string();
    std::ofstream(pem_) << "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    not_pem_ = (dir_ / "key.txt").string();
    std::ofstream(not_pem_) << "not a certificate\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string pem_, not_pem_;
};

TEST_F(ChooseCaCert, OptionThenCurlCaBundleThenSslCertFile) {
  FakeEnv env{{{"CURL_CA_BUNDLE", not_pem_}, {"SSL_CERT_FILE", not_pem_}}};
  auto a = choose_ca_cert(pem_, env.lookup());
  ASSERT_TRUE(a) << a.status().message();
  EXPECT_EQ(*a, pem_);
  FakeEnv env2{{{"CURL_CA_BUNDLE", pem_}, {"SSL_CERT_FILE", not_pem_}}};
  EXPECT_EQ(choose_ca_cert("", env2.lookup()).value_or(""), pem_);
  FakeEnv env3{{{"CURL_CA_BUNDLE", ""}, {"SSL_CERT_FILE", pem_}}};
  EXPECT_EQ(choose_ca_cert("", env3.lookup()).value_or(""), pem_);
  auto none = choose_ca_cert("", FakeEnv{}.lookup());
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, "");  // libcurl's default store
}

TEST_F(ChooseCaCert, UnreadableOrNotPemIsOneLineNamingItsSource) {
  auto missing = choose_ca_cert((dir_ / "nope.pem").string(), FakeEnv{}.lookup());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("--ca-cert '"), std::string::npos);
  EXPECT_NE(missing.status().message().find("cannot read"), std::string::npos);
  FakeEnv env{{{"SSL_CERT_FILE", not_pem_}}};
  auto bad = choose_ca_cert("", env.lookup());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().message().rfind("SSL_CERT_FILE '", 0), 0u) << bad.status().message();
  EXPECT_NE(bad.status().message().find("no PEM certificate"), std::string::npos);
}

TEST(AcceptTypes, ParsesAndLowerCases) {
  auto t = parse_accept_types(" text/HTML ,application/xhtml+xml,image/*,*/*");
  ASSERT_TRUE(t) << t.status().message();
  EXPECT_EQ(*t, (std::vector<std::string>{"text/html", "application/xhtml+xml", "image/*", "*/*"}));
  for (const char* bad : {"", "html", "text/", "*/html", "text/html,", "text/html;q=1", "a/b/c"}) {
    auto r = parse_accept_types(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) EXPECT_EQ(r.status().message().rfind("--accept-types '", 0), 0u);
  }
}

TEST(AcceptTypes, MatchesMediaTypesIgnoringParametersAndCase) {
  const std::vector<std::string> html{"text/html", "application/xhtml+xml"};
  EXPECT_TRUE(content_type_accepted("text/html; charset=utf-8", html));
  EXPECT_TRUE(content_type_accepted(" Text/HTML ", html));
  EXPECT_TRUE(content_type_accepted("application/xhtml+xml", html));
  EXPECT_FALSE(content_type_accepted("application/pdf", html));
  EXPECT_FALSE(content_type_accepted("text/htmlx", html));
  EXPECT_FALSE(content_type_accepted("", html));
  EXPECT_TRUE(content_type_accepted("text/plain", {"text/*"}));
  EXPECT_FALSE(content_type_accepted("texts/plain", {"text/*"}));
  EXPECT_FALSE(content_type_accepted("image/png", {"text/*"}));
  EXPECT_TRUE(content_type_accepted("video/mp4", {"*/*"}));
  EXPECT_TRUE(content_type_accepted("anything", {}));  // no list: everything
}

}  // namespace
}  // namespace rankpool::crawl
