#include "rankpool/crawl/options.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>

namespace rankpool::crawl {

std::string_view to_string(Scope scope) {
  switch (scope) {
    case Scope::seeds:
      return "seeds";
    case Scope::host:
      return "host";
    case Scope::domain:
      return "domain";
    case Scope::any:
      return "any";
  }
  return "?";
}

bool parse_scope(std::string_view text, Scope& scope) {
  for (Scope s : {Scope::seeds, Scope::host, Scope::domain, Scope::any})
    if (text == to_string(s)) {
      scope = s;
      return true;
    }
  return false;
}

Status validate(const CrawlOptions& o) {
  auto bad = [](std::string why) { return Status::error(std::move(why)); };
  if (o.max_depth < -1) return bad("--max-depth must be >= 0, or -1 for unlimited");
  if (!std::isfinite(o.delay) || o.delay < 0) return bad("--delay must be a number of seconds >= 0");
  if (o.per_host_connections < 1) return bad("--per-host-connections must be >= 1");
  if (o.max_in_flight < 1) return bad("--max-in-flight must be >= 1");
  if (static_cast<std::size_t>(o.per_host_connections) > o.max_in_flight)
    return bad("--per-host-connections (" + std::to_string(o.per_host_connections) +
               ") cannot exceed --max-in-flight (" + std::to_string(o.max_in_flight) + ")");
  if (!std::isfinite(o.max_crawl_delay) || o.max_crawl_delay < 0) return bad("--max-crawl-delay must be >= 0");
  if (!(o.connect_timeout > 0) || !(o.timeout > 0)) return bad("timeouts must be > 0 seconds");
  if (o.max_page_bytes == 0) return bad("--max-page-bytes must be > 0");
  if (o.max_url_length < 16) return bad("--max-url-length must be >= 16");
  if (o.max_path_depth < 1) return bad("--max-path-depth must be >= 1");
  if (o.max_repeated_segment < 1) return bad("--max-repeated-segment must be >= 1");
  if (!std::isfinite(o.checkpoint_interval) || o.checkpoint_interval < 0)
    return bad("--checkpoint-interval must be a number of seconds >= 0");
  if (o.retries < 0) return bad("--retries must be >= 0");
  for (int code : o.retry_codes)
    if (code < 100 || code > 599) return bad("--retry-codes: " + std::to_string(code) + " is not an HTTP status");
  if (!std::isfinite(o.retry_backoff) || o.retry_backoff < 0) return bad("--retry-backoff must be >= 0 seconds");
  if (!std::isfinite(o.max_retry_backoff) || o.max_retry_backoff < o.retry_backoff)
    return bad("--max-retry-backoff must be >= --retry-backoff");
  if (!std::isfinite(o.max_retry_after) || o.max_retry_after < 0) return bad("--max-retry-after must be >= 0 seconds");
  if (o.origin_give_up < 0) return bad("--origin-give-up must be >= 0");
  if (o.warc_max_size == 0) return bad("--warc-max-size must be > 0 bytes");
  if (o.warc_cdx && !o.warc) return bad("--warc-cdx indexes the WARC files: give --warc too");
  if (o.user_agent.empty()) return bad("--user-agent must not be empty");
  if (o.user_agent.find_first_of("\r\n") != std::string::npos) return bad("--user-agent must be one line");
  for (const auto* list : {&o.include, &o.exclude})
    for (const auto& p : *list) {
      try {
        std::regex re(p, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return bad("bad pattern '" + p + "': " + e.what());
      }
    }
  return {};
}

std::string robots_token(std::string_view ua) {
  std::size_t n = 0;
  while (n < ua.size() &&
         ((ua[n] >= 'a' && ua[n] <= 'z') || (ua[n] >= 'A' && ua[n] <= 'Z') || ua[n] == '_' || ua[n] == '-'))
    ++n;
  return n ? std::string(ua.substr(0, n)) : std::string("rankpool");
}

namespace {

// An environment variable's value; nullopt when unset or empty (curl ignores empty ones too).
std::optional<std::string> env_value(const EnvLookup& env, const char* name) {
  const char* v = env(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

// A proxy URL as curl takes it, checked: "host:port" means http://host:port.
Result<std::string> check_proxy_url(std::string url, const std::string& from) {
  auto bad = [&](const std::string& why) { return Status::error(from + " '" + url + "': " + why); };
  if (url.find_first_of(" \t\r\n") != std::string::npos) return bad("a proxy URL has no spaces");
  auto sep = url.find("://");
  if (sep == std::string::npos) {
    url = "http://" + url;
    sep = 4;
  }
  std::string scheme = url.substr(0, sep);
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const char* const kSchemes[] = {"http", "https", "socks4", "socks4a", "socks5", "socks5h"};
  if (std::find(std::begin(kSchemes), std::end(kSchemes), scheme) == std::end(kSchemes))
    return bad("the proxy scheme must be http, https, socks4, socks4a, socks5 or socks5h");
  std::string authority = url.substr(sep + 3);
  authority = authority.substr(0, authority.find('/'));
  if (const auto at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  if (authority.empty() || authority.front() == ':') return bad("no proxy host");
  return url;
}

// The URL with its password (user:PASSWORD@) shown as ***.
std::string masked(const std::string& url) {
  const auto sep = url.find("://");
  const auto start = sep == std::string::npos ? 0 : sep + 3;
  const auto at = url.find('@', start);
  if (at == std::string::npos) return url;
  const auto colon = url.find(':', start);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

}  // namespace

std::string ProxyChoice::describe() const {
  if (!any()) return "no proxy";
  std::string line;
  if (http == https && http_from == https_from) {
    line = "proxy " + masked(http) + " for http and https (" + http_from + ")";
  } else {
    auto one = [](const std::string& url, const std::string& from) {
      return url.empty() ? std::string("direct") : masked(url) + " (" + from + ")";
    };
    line = "proxy for http: " + one(http, http_from) + "; for https: " + one(https, https_from);
  }
  if (!no_proxy.empty()) line += "; direct for no_proxy '" + no_proxy + "' (" + no_proxy_from + ")";
  return line;
}

Result<ProxyChoice> choose_proxies(const std::string& proxy_option, bool ignore_environment, const EnvLookup& env) {
  ProxyChoice c;
  auto first = [&](std::initializer_list<const char*> names, std::string& value, std::string& from) {
    for (const char* n : names)
      if (auto v = env_value(env, n)) {
        value = *v;
        from = n;
        return;
      }
  };
  if (!proxy_option.empty()) {
    c.http = c.https = proxy_option;
    c.http_from = c.https_from = "--proxy";
  } else if (!ignore_environment) {
    // curl reads only the lower-case http_proxy: HTTP_PROXY can be set by a request header
    // in CGI environments ("httpoxy").
    first({"http_proxy", "all_proxy", "ALL_PROXY"}, c.http, c.http_from);
    first({"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}, c.https, c.https_from);
  }
  if (!ignore_environment) first({"no_proxy", "NO_PROXY"}, c.no_proxy, c.no_proxy_from);
  for (auto [url, from] : {std::pair{&c.http, &c.http_from}, std::pair{&c.https, &c.https_from}}) {
    if (url->empty()) continue;
    Result<std::string> checked = check_proxy_url(*url, *from);
    if (!checked) return checked.status();
    *url = std::move(*checked);
  }
  if (c.no_proxy.find_first_of("\r\n") != std::string::npos)
    return Status::error(c.no_proxy_from + " must be one line");
  return c;
}

Result<std::string> choose_ca_cert(const std::string& ca_cert_option, const EnvLookup& env) {
  std::string path = ca_cert_option, from = "--ca-cert";
  if (path.empty()) {
    for (const char* n : {"CURL_CA_BUNDLE", "SSL_CERT_FILE"})
      if (auto v = env_value(env, n)) {
        path = *v;
        from = n;
        break;
      }
  }
  if (path.empty()) return std::string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(from + " '" + path + "': cannot read the file");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    return Status::error(from + " '" + path + "': no PEM certificate (-----BEGIN CERTIFICATE-----) in it");
  // Absolute: every rank opens it, and their working directories need not be rank 0's.
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(path, ec);
  return ec ? path : absolute.string();
}

Result<std::vector<std::string>> parse_accept_types(std::string_view list) {
  std::vector<std::string> out;
  const std::string all(list);
  std::size_t i = 0;
  while (i <= list.size()) {
    const auto comma = std::min(list.find(',', i), list.size());
    std::string t(list.substr(i, comma - i));
    t.erase(0, t.find_first_not_of(" \t"));
    t.erase(t.find_last_not_of(" \t") + 1);
    for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // type "/" subtype, both RFC 9110 tokens; "*" only as the whole subtype or as "*/*"
    static const std::regex kType(R"(([a-z0-9!#$&^_.+-]+/([a-z0-9!#$&^_.+-]+|\*))|\*/\*)");
    if (!std::regex_match(t, kType))
      return Status::error("--accept-types '" + all + "': '" + t +
                           "' is not a media type (type/subtype, type/* or */*)");
    out.push_back(std::move(t));
    i = comma + 1;
  }
  return out;
}

}  // namespace rankpool::crawl
