// The synthetic web's generator and ground truth, without any network.
#include <gtest/gtest.h>

#include <boost/url.hpp>

#include <regex>
#include <set>

#include "rankpool/crawl/sitemap.hpp"
#include "rankpool/testweb/web.hpp"

namespace rankpool::testweb {
namespace {

WebModel model_for(WebSpec spec) { return WebModel(spec, WebModel::planned_origins(spec, 8080)); }

std::string page_path(int k) { return k == 0 ? "/" : "/p/" + std::to_string(k); }

// Resolves every <a href="..."> of a generated page with Boost.URL, independently of the
// generator's own bookkeeping: absolute http(s) targets, fragment dropped, normalized.
std::vector<std::string> resolve_hrefs(const std::string& page_url, const std::string& body) {
  namespace urls = boost::urls;
  urls::url base = urls::parse_uri(page_url).value();
  std::smatch m;
  if (std::regex_search(body, m, std::regex("<base href=\"([^\"]*)\">"))) {
    urls::url b;
    urls::resolve(base, urls::parse_uri_reference(m[1].str()).value(), b).value();
    base = b;
  }
  std::vector<std::string> out;
  static const std::regex a_href("<a href=\"([^\"]*)\">");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), a_href); it != std::sregex_iterator(); ++it) {
    urls::url u;
    urls::resolve(base, urls::parse_uri_reference((*it)[1].str()).value(), u).value();
    u.normalize();
    if (u.scheme() != "http" && u.scheme() != "https") continue;
    u.remove_fragment();
    out.emplace_back(u.buffer());
  }
  return out;
}

TEST(WebModel, SameSpecSameWebOtherSeedOtherWeb) {
  WebSpec spec;
  spec.pages_per_host = 30;
  const auto a = model_for(spec), b = model_for(spec);
  spec.seed = 2;
  const auto c = model_for(spec);
  int differing = 0;
  for (std::size_t o = 0; o < a.origins().size(); ++o)
    for (int k = 0; k < 30; ++k) {
      const auto ra = a.respond(o, page_path(k)), rb = b.respond(o, page_path(k));
      EXPECT_EQ(ra.body, rb.body);
      EXPECT_EQ(ra.links, rb.links);
      differing += ra.links != c.respond(o, page_path(k)).links;
    }
  EXPECT_GT(differing, 100);  // 150 pages; the chain link is shared, the rest is random
}

TEST(WebModel, WrittenHrefsResolveToTheDeclaredLinks) {
  WebSpec spec;
  spec.pages_per_host = 40;
  const auto web = model_for(spec);
  std::size_t with_base = 0, relative = 0, dotted = 0, fragments = 0;
  for (std::size_t o = 0; o < web.origins().size(); ++o)
    for (int k = 0; k < 40; ++k) {
      const auto url = web.url(o, page_path(k));
      const auto r = web.respond(o, page_path(k));
      ASSERT_EQ(r.status, 200);
      EXPECT_EQ(resolve_hrefs(url, r.body), r.links) << url;
      EXPECT_EQ(r.links.size(), k == 0 ? spec.out_degree + 15u + 1u : static_cast<std::size_t>(spec.out_degree));
      with_base += r.body.find("<base href") != std::string::npos;
      relative += r.body.find("href=\"../") != std::string::npos || r.body.find("href=\"./") != std::string::npos;
      dotted += r.body.find("/x/../") != std::string::npos;
      fragments += r.body.find("#s") != std::string::npos;
    }
  // Every href style actually occurs.
  EXPECT_GT(with_base, 10u);
  EXPECT_GT(relative, 10u);
  EXPECT_GT(dotted, 10u);
  EXPECT_GT(fragments, 10u);
}

TEST(WebModel, SpecialPages) {
  WebSpec spec;
  spec.big_body_bytes = 100000;
  const auto web = model_for(spec);
  const std::string o0 = "http://127.0.0.2:8080", o1 = "http://127.0.0.3:8080";
  EXPECT_EQ(web.origins().back().str(), "http://127.0.0.2:8081");
  EXPECT_EQ(web.respond(0, "/missing").status, 404);
  EXPECT_EQ(web.respond(0, "/p/0").status, 404);
  EXPECT_EQ(web.respond(0, "/p/50").status, 404);
  EXPECT_EQ(web.respond(0, "/p/007").status, 404);
  EXPECT_EQ(web.respond(0, "/error").status, 500);
  EXPECT_EQ(web.respond(0, "/slow").delay, spec.slow_delay);
  EXPECT_EQ(web.respond(0, "/file.txt").content_type, "text/plain; charset=utf-8");
  EXPECT_TRUE(web.respond(0, "/file.txt").links.empty());
  EXPECT_EQ(web.respond(0, "/big").body.size(), spec.big_body_bytes);
  EXPECT_TRUE(web.respond(0, "/big-chunked").chunked);
  EXPECT_EQ(web.respond(0, "/big.gz").content_encoding, "gzip");
  EXPECT_LT(web.respond(0, "/big.gz").body.size(), spec.big_body_bytes / 50);
  const auto loop = web.respond(0, "/redirect/loop/2");
  EXPECT_EQ(loop.status, 302);
  EXPECT_EQ(loop.redirect_target, o0 + "/redirect/loop/1");
  EXPECT_TRUE(web.respond(0, "/redirect/cross").redirect_target.starts_with(o1 + "/p/"));
  EXPECT_EQ(web.respond(0, "/trap/41").links, std::vector<std::string>{o0 + "/trap/42"});
  // The malformed page: four http links count; the commented-out one and mailto: do not.
  const auto mal = web.respond(0, "/malformed");
  EXPECT_EQ(mal.links.size(), 4u);
  EXPECT_NE(mal.body.find("<!-- <a href="), std::string::npos);
  for (const auto& l : mal.links) EXPECT_TRUE(l.starts_with(o0 + "/p/")) << l;
  // robots.txt variants by host.
  EXPECT_EQ(web.respond(0, "/robots.txt").status, 200);
  EXPECT_EQ(web.respond(1, "/robots.txt").status, 404);
  EXPECT_EQ(web.respond(2, "/robots.txt").status, 500);
  EXPECT_NE(web.respond(3, "/robots.txt").body.find("Crawl-delay: 0.2"), std::string::npos);
  EXPECT_FALSE(web.robots_allows(0, "/private/1"));
  EXPECT_TRUE(web.robots_allows(1, "/private/1"));
  EXPECT_FALSE(web.robots_allows(2, "/"));
  EXPECT_FALSE(web.robots_allows(3, "/p/17"));
  EXPECT_TRUE(web.robots_allows(3, "/p/2"));
  EXPECT_TRUE(web.robots_allows(4, "/private/1"));
}

// Hand-checked: one chain per origin, / → /p/1 → /p/2 → /.
TEST(GroundTruth, SmallChainByHand) {
  WebSpec spec;
  spec.hosts = 1;
  spec.pages_per_host = 3;
  spec.out_degree = 1;
  spec.link_specials = false;
  const auto web = model_for(spec);
  const std::string o = "http://127.0.0.2:8080";
  auto t = truth(web, {o + "/"}, 1);
  EXPECT_EQ(t.fetched, (std::map<std::string, int>{{o + "/", 0}, {o + "/p/1", 1}}));
  EXPECT_EQ(t.robots, std::set<std::string>{o + "/robots.txt"});
  // Edges are every link of every fetched page, also those leading beyond max_depth.
  EXPECT_EQ(t.edges, (std::set<std::pair<std::string, std::string>>{{o + "/", o + "/p/1"}, {o + "/p/1", o + "/p/2"}}));
  t = truth(web, {o + "/"}, 10);
  EXPECT_EQ(t.fetched, (std::map<std::string, int>{{o + "/", 0}, {o + "/p/1", 1}, {o + "/p/2", 2}}));
  EXPECT_EQ(t.edges.size(), 3u);
  t = truth(web, {o + "/p/2"}, 0);
  EXPECT_EQ(t.fetched, (std::map<std::string, int>{{o + "/p/2", 0}}));
  EXPECT_EQ(t.edges, (std::set<std::pair<std::string, std::string>>{{o + "/p/2", o + "/"}}));
  EXPECT_TRUE(t.out_of_scope.empty());
}

TEST(GroundTruth, SpecialPagesAtDepthOne) {
  WebSpec spec;
  const auto web = model_for(spec);
  const std::string o = "http://127.0.0.2:8080";
  const auto t = truth(web, {o + "/"}, 1);
  EXPECT_EQ(t.fetched.at(o + "/"), 0);
  EXPECT_TRUE(t.blocked.count(o + "/private/1"));
  EXPECT_FALSE(t.fetched.count(o + "/private/1"));
  for (const char* p : {"/redirect/loop/1", "/redirect/loop/2", "/trap/1", "/missing", "/error", "/big", "/file.txt"})
    EXPECT_EQ(t.fetched.at(o + p), 1) << p;
  EXPECT_FALSE(t.fetched.count(o + "/trap/2"));  // cut by depth
  const auto same = t.redirects.at(o + "/redirect/same");
  EXPECT_EQ(t.fetched.at(same), 1);  // a redirect hop costs no depth
  EXPECT_TRUE(t.out_of_scope.count(t.redirects.at(o + "/redirect/cross")));
  EXPECT_TRUE(t.out_of_scope.count("http://127.0.0.1:9/elsewhere"));
  EXPECT_TRUE(t.out_of_scope.count("http://127.0.0.1:9/external"));
  for (const auto& [url, d] : t.fetched) EXPECT_TRUE(url.starts_with(o + "/")) << url;
  EXPECT_EQ(t.robots, std::set<std::string>{o + "/robots.txt"});
}

// Properties of every truth over all origins: depths are shortest link distances (links
// +1, redirects +0), robots.txt is respected, and the trap is cut.
TEST(GroundTruth, DepthsAreShortestDistancesAndRobotsHold) {
  WebSpec spec;
  spec.pages_per_host = 40;
  const auto web = model_for(spec);
  std::vector<std::string> seeds, scope;
  for (const auto& o : web.origins()) scope.push_back(o.str());
  seeds.push_back(scope[0] + "/");
  seeds.push_back(scope[3] + "/p/5");
  for (int max_depth : {0, 1, 2, 4}) {
    const auto t = truth(web, seeds, max_depth, scope);
    // robots.txt exactly for the origins the crawl discovered something on.
    std::set<std::string> touched;
    for (const auto& [url, d] : t.fetched) touched.insert(split_url(url).first + "/robots.txt");
    for (const auto& url : t.blocked) touched.insert(split_url(url).first + "/robots.txt");
    EXPECT_EQ(t.robots, touched);
    if (max_depth >= 2) {
      EXPECT_EQ(t.robots.size(), scope.size());
    }
    // Every fetched non-seed URL has a witness one link (or one redirect) closer.
    std::map<std::string, int> best_pred;
    for (const auto& [from, to] : t.edges) {
      auto it = best_pred.find(to);
      const int d = t.fetched.at(from) + 1;
      if (it == best_pred.end() || d < it->second) best_pred[to] = d;
    }
    for (const auto& [from, to] : t.redirects) {
      const int d = t.fetched.at(from);
      auto it = best_pred.find(to);
      if (it == best_pred.end() || d < it->second) best_pred[to] = d;
    }
    for (const auto& [url, depth] : t.fetched) {
      EXPECT_LE(depth, max_depth);
      const bool seed = std::find(seeds.begin(), seeds.end(), url) != seeds.end();
      if (seed) {
        EXPECT_EQ(depth, 0);
        continue;
      }
      ASSERT_TRUE(best_pred.count(url)) << url;
      EXPECT_EQ(best_pred.at(url), depth) << url;
      const auto [origin, path] = split_url(url);
      EXPECT_TRUE(web.robots_allows(*web.origin_index(origin), path)) << url;
    }
    // Every in-scope, allowed target reached within depth was fetched.
    for (const auto& [to, d] : best_pred)
      if (d <= max_depth && !t.blocked.count(to) && !t.out_of_scope.count(to)) {
        EXPECT_TRUE(t.fetched.count(to)) << to;
      }
    // Host 3 (127.0.0.5) disallows /p/1 as a prefix; host 2 (500 robots.txt) allows nothing.
    for (const auto& [url, depth] : t.fetched) {
      EXPECT_FALSE(url.starts_with(scope[2] + "/")) << url;
      EXPECT_FALSE(url.starts_with(scope[3] + "/p/1")) << url;
      EXPECT_FALSE(url.find("/trap/" + std::to_string(max_depth + 1)) != std::string::npos) << url;
    }
    if (max_depth >= 1) {
      EXPECT_FALSE(t.blocked.empty());
    }
  }
}

TEST(GroundTruth, JsonHasTheSets) {
  WebSpec spec;
  spec.hosts = 2;
  const auto web = model_for(spec);
  const std::vector<std::string> seeds{"http://127.0.0.2:8080/"};
  const auto t = truth(web, seeds, 2);
  const auto json = to_json(t, web, seeds, 2);
  EXPECT_NE(json.find("\"fetched\":[{"), std::string::npos);
  EXPECT_NE(json.find("\"max_depth\":2"), std::string::npos);
  EXPECT_NE(json.find("\"http://127.0.0.2:8080/robots.txt\""), std::string::npos);
}

TEST(GroundTruth, SitemapsAreSeedsOfDepthZeroOfTheOriginsTheCrawlReaches) {
  WebSpec spec;
  spec.sitemaps = true;
  const auto web = model_for(spec);
  const std::string o = "http://127.0.0.2:8080", o1 = "http://127.0.0.3:8080";
  const auto t = truth(web, {o + "/"}, 0, {}, true);
  const int last = spec.pages_per_host - 1;
  EXPECT_EQ(t.fetched, (std::map<std::string, int>{{o + "/", 0},
                                                   {o + "/orphan/1", 0},
                                                   {o + "/orphan/2?a=1&b=2", 0},
                                                   {o + "/orphan/3", 0},
                                                   {o + "/orphan/5", 0},
                                                   {o + "/orphan/6", 0},
                                                   {o + page_path(last), 0}}))
      << "not /orphan/7, which only the malformed sitemap lists";
  EXPECT_EQ(t.sitemaps, (std::map<std::string, int>{{o + "/sitemaps/index.xml", 200},
                                                    {o + "/sitemaps/pages.xml", 200},
                                                    {o + "/sitemaps/more.xml.gz", 200},
                                                    {o + "/sitemaps/broken.xml", 200},
                                                    {o + "/sitemaps/missing.xml", 404}}));
  EXPECT_TRUE(t.blocked.count(o + "/private/2"));
  EXPECT_TRUE(t.out_of_scope.count(o1 + "/orphan/4"));
  EXPECT_TRUE(t.out_of_scope.count("http://127.0.0.1:9/from-a-sitemap"));

  // In scope, origin 1 is reached through origin 0's sitemap: its robots.txt (404) and then
  // its /sitemap.xml are read too.
  const auto wide = truth(web, {o + "/"}, 0, {o, o1}, true);
  EXPECT_EQ(wide.fetched.at(o1 + "/orphan/4"), 0);
  EXPECT_EQ(wide.fetched.at(o1 + "/orphan/8"), 0);
  EXPECT_EQ(wide.sitemaps.at(o1 + "/sitemap.xml"), 200);

  // Without --sitemaps, the same web crawls as the web without sitemaps.
  WebSpec plain_spec;
  const auto plain = truth(model_for(plain_spec), {o + "/"}, 3);
  const auto unread = truth(web, {o + "/"}, 3);
  EXPECT_EQ(unread.fetched, plain.fetched);
  EXPECT_EQ(unread.edges, plain.edges);
  EXPECT_TRUE(unread.sitemaps.empty());
}

TEST(WebModel, ServedSitemapsParseToTheModelsLocs) {
  // The model's bookkeeping against the crawler's parser (and the other way round).
  WebSpec spec;
  spec.sitemaps = true;
  const auto web = model_for(spec);
  const std::string o = "http://127.0.0.2:8080";
  for (const std::string& url : {o + "/sitemaps/index.xml", o + "/sitemaps/pages.xml", o + "/sitemaps/more.xml.gz",
                                 o + "/sitemaps/broken.xml", std::string("http://127.0.0.3:8080/sitemap.xml")}) {
    const auto r = web.respond(url);
    ASSERT_TRUE(r) << url;
    const auto parsed = crawl::parse_sitemap(r->body);
    if (r->sitemap == Response::Sitemap::none) {
      EXPECT_FALSE(parsed) << url;
      continue;
    }
    ASSERT_TRUE(parsed) << url << ": " << parsed.status();
    EXPECT_EQ(parsed->kind == crawl::SitemapKind::index, r->sitemap == Response::Sitemap::index) << url;
    EXPECT_EQ(parsed->locs, r->sitemap_locs) << url;
  }
  const auto robots = web.respond(o + "/robots.txt");
  ASSERT_TRUE(robots);
  EXPECT_NE(robots->body.find("Sitemap: " + o + "/sitemaps/index.xml\n"), std::string::npos);
  WebSpec plain;
  EXPECT_EQ(model_for(plain).respond(o + "/sitemaps/index.xml")->status, 404);
  EXPECT_EQ(model_for(plain).respond(o + "/orphan/1")->status, 404);
}

TEST(WebModel, HostsFillLoopbackPastOneOctet) {
  WebSpec spec;
  spec.hosts = 600;
  const auto origins = WebModel::planned_origins(spec, 8080);
  ASSERT_EQ(origins.size(), 601u);
  EXPECT_EQ(origins[0].address, "127.0.0.2");
  EXPECT_EQ(origins[252].address, "127.0.0.254") << "the first 253 hosts are where they always were";
  EXPECT_EQ(origins[253].address, "127.0.1.1") << ".255 and .0 are skipped";
  EXPECT_EQ(origins[507].address, "127.0.2.1");
  EXPECT_EQ(origins[600].str(), "http://127.0.0.2:8081") << "the extra origin: the first host's second port";
  std::set<std::string> distinct;
  for (const auto& o : origins) distinct.insert(o.str());
  EXPECT_EQ(distinct.size(), origins.size());
  const WebModel web(spec, origins);
  EXPECT_EQ(web.origin_index("http://127.0.2.1:8080"), 507u);
  EXPECT_EQ(web.origin_index("http://127.0.0.2:8081"), 600u);
  EXPECT_EQ(web.origin_index("http://127.0.0.1:8080"), std::nullopt);
  EXPECT_EQ(web.respond("http://127.0.1.1:8080/p/3")->status, 200);
  // Another first address (a namespace host's) keeps its /24, as before.
  WebSpec other;
  other.first_address = "198.18.0.101";
  other.hosts = 154;
  EXPECT_EQ(WebModel::planned_origins(other, 80)[153].address, "198.18.0.254");
  other.hosts = 155;
  EXPECT_THROW(WebModel::planned_origins(other, 80), std::invalid_argument);
  other.first_address = "not an address";
  EXPECT_THROW(WebModel::planned_origins(other, 80), std::invalid_argument);
}

TEST(WebModel, TheDefaultWebIsTheOneEveryTestWasWrittenFor) {
  // FNV-1a over every page's body and declared links of the default web (seed 1): a change to
  // the generator that moves any byte of an existing web shows here.
  const auto web = model_for(WebSpec{});
  std::uint64_t h = 14695981039346656037ull;
  auto feed = [&h](const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  };
  for (std::size_t o = 0; o < web.origins().size(); ++o)
    for (int k = 0; k < web.spec().pages_per_host; ++k) {
      const Response r = web.respond(o, page_path(k));
      feed(r.body);
      for (const auto& l : r.links) feed(l);
    }
  EXPECT_EQ(h, 4602922276404400887ull);
}

}  // namespace
}  // namespace rankpool::testweb
