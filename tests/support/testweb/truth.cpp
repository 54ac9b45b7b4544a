// Ground truth of a correct crawl: a 0-1 breadth-first search over the model (links cost
// one, redirects nothing), with scope and robots.txt applied as a crawler applies them.
#include <boost/json.hpp>

#include <deque>

#include "rankpool/testweb/web.hpp"

namespace rankpool::testweb {

namespace {

GroundTruth bfs(const WebModel& web, const std::vector<std::string>& seeds, int max_depth,
                const std::set<std::string>& in_scope) {
  GroundTruth t;

  std::map<std::string, int> best;  // smallest depth found so far for each queued URL
  std::deque<std::pair<std::string, int>> queue;
  auto discover = [&](const std::string& url, int depth, bool free_hop) {
    if (depth > max_depth) return;
    const auto origin = split_url(url).first;
    if (!in_scope.count(origin)) {
      t.out_of_scope.insert(url);
      return;
    }
    t.robots.insert(origin + "/robots.txt");
    const auto idx = web.origin_index(origin);
    if (idx && !web.robots_allows(*idx, split_url(url).second)) {
      t.blocked.insert(url);
      return;
    }
    auto it = best.find(url);
    if (it != best.end() && it->second <= depth) return;
    best[url] = depth;
    // A redirect hop keeps the depth, so its target goes first (0-1 BFS): the queue then
    // always holds depths d and d+1 in order and every URL is popped at its least depth.
    if (free_hop)
      queue.emplace_front(url, depth);
    else
      queue.emplace_back(url, depth);
  };

  for (const auto& s : seeds) discover(s, 0, false);
  while (!queue.empty()) {
    auto [url, depth] = queue.front();
    queue.pop_front();
    if (best[url] < depth || t.fetched.count(url)) continue;  // a stale, deeper entry
    t.fetched[url] = depth;
    const auto response = web.respond(url);
    if (!response) {  // an in-scope origin this web does not serve: the request fails
      t.status[url] = 0;
      continue;
    }
    t.status[url] = response->status;
    if (response->status >= 300 && response->status < 400 && !response->redirect_target.empty()) {
      t.redirects[url] = response->redirect_target;
      discover(response->redirect_target, depth, true);
    } else if (response->status == 200 && !response->links.empty()) {
      for (const auto& link : response->links) {
        t.edges.emplace(url, link);
        discover(link, depth + 1, false);
      }
    }
  }
  return t;
}

/// The page URLs the sitemaps of origin `idx` list (the crawler's --sitemaps); the sitemap
/// requests go into `requested`.
std::vector<std::string> sitemap_seeds(const WebModel& web, std::size_t idx, std::map<std::string, int>& requested) {
  const std::string here = web.origins()[idx].str();
  std::deque<std::pair<std::string, bool>> queue;  // (sitemap URL, listed by an index)
  std::set<std::string> seen;
  auto push = [&](const std::string& u, bool from_index) {
    if (seen.insert(u).second) queue.emplace_back(u, from_index);
  };
  const auto named = web.robots_sitemaps(idx);
  for (const auto& u : named)
    if (split_url(u).first == here) push(u, false);
  if (named.empty()) push(here + "/sitemap.xml", false);
  std::vector<std::string> seeds;
  while (!queue.empty()) {
    const auto [u, from_index] = queue.front();
    queue.pop_front();
    const std::string path = split_url(u).second;
    if (!web.robots_allows(idx, path)) continue;
    const Response r = web.respond(idx, path);
    requested[u] = r.status;
    if (r.status < 200 || r.status >= 300) continue;
    if (r.sitemap == Response::Sitemap::index && !from_index) {
      for (const auto& loc : r.sitemap_locs)
        if (split_url(loc).first == here) push(loc, true);
    } else if (r.sitemap == Response::Sitemap::urlset) {
      seeds.insert(seeds.end(), r.sitemap_locs.begin(), r.sitemap_locs.end());
    }
  }
  return seeds;
}

}  // namespace

GroundTruth truth(const WebModel& web, const std::vector<std::string>& seeds, int max_depth,
                  std::vector<std::string> scope, bool sitemaps) {
  if (scope.empty())
    for (const auto& s : seeds) scope.push_back(split_url(s).first);
  const std::set<std::string> in_scope(scope.begin(), scope.end());
  if (!sitemaps) return bfs(web, seeds, max_depth, in_scope);
  // A fixed point: every origin whose robots.txt the crawl fetches has its sitemaps read,
  // whose URLs are seeds, which may reach further origins.
  std::vector<std::string> all = seeds;
  std::map<std::string, int> requested;
  std::set<std::string> read;
  for (;;) {
    GroundTruth t = bfs(web, all, max_depth, in_scope);
    bool grew = false;
    for (const auto& robots : t.robots) {
      const std::string origin = split_url(robots).first;
      if (!read.insert(origin).second) continue;
      const auto idx = web.origin_index(origin);
      if (!idx) continue;  // not served: robots.txt is unreachable, and so are its sitemaps
      for (auto& u : sitemap_seeds(web, *idx, requested)) {
        all.push_back(std::move(u));
        grew = true;
      }
    }
    if (!grew) {
      t.sitemaps = requested;
      return t;
    }
  }
}

std::string to_json(const GroundTruth& t, const WebModel& web, const std::vector<std::string>& seeds, int max_depth) {
  namespace json = boost::json;
  json::object o;
  json::array origins;
  for (const auto& orig : web.origins()) origins.emplace_back(orig.str());
  o["origins"] = std::move(origins);
  o["seeds"] = json::value_from(seeds);
  o["max_depth"] = max_depth;
  json::array fetched;
  for (const auto& [url, depth] : t.fetched)
    fetched.emplace_back(json::object{{"url", url}, {"depth", depth}, {"status", t.status.at(url)}});
  o["fetched"] = std::move(fetched);
  o["robots"] = json::value_from(std::vector<std::string>(t.robots.begin(), t.robots.end()));
  o["blocked"] = json::value_from(std::vector<std::string>(t.blocked.begin(), t.blocked.end()));
  o["out_of_scope"] = json::value_from(std::vector<std::string>(t.out_of_scope.begin(), t.out_of_scope.end()));
  json::object redirects;
  for (const auto& [from, to] : t.redirects) redirects[from] = to;
  o["redirects"] = std::move(redirects);
  json::array edges;
  for (const auto& [from, to] : t.edges) edges.emplace_back(json::array{json::value(from), json::value(to)});
  o["edges"] = std::move(edges);
  json::array sitemaps;
  for (const auto& [url, status] : t.sitemaps) sitemaps.emplace_back(json::object{{"url", url}, {"status", status}});
  o["sitemaps"] = std::move(sitemaps);
  return json::serialize(o);
}

}  // namespace rankpool::testweb
