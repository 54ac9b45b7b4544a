#include "rankpool/crawl/options.hpp"

#include <cmath>
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

}  // namespace rankpool::crawl
