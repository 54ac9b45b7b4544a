// The parts of the fetcher that need no libcurl: result printing, HTML detection,
// Retry-After, the fake.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>

#include "rankpool/crawl/fetcher.hpp"

namespace rankpool::crawl {

Fetcher::~Fetcher() = default;

std::ostream& operator<<(std::ostream& os, const FetchResult& r) {
  os << "FetchResult{id=" << r.id << " url=" << r.url << " status=" << r.http_status;
  if (!r.error.empty()) os << " error_kind=" << r.error_kind << " error=\"" << r.error << '"';
  if (!r.redirect_to.empty()) os << " redirect_to=" << r.redirect_to;
  if (!r.content_type.empty()) os << " content_type=\"" << r.content_type << '"';
  return os << " bytes=" << r.bytes << " kept=" << r.body.size() << '}';
}

std::string rfc3339_ms(std::chrono::system_clock::time_point t) {
  if (t == std::chrono::system_clock::time_point{}) return {};
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms));
  return std::string(buf, std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm)) + frac + "Z";
}

namespace {

// The media type of a Content-Type value: what precedes ';' (parameters), trimmed.
std::string_view media_type(std::string_view ct) {
  std::string_view type = ct.substr(0, ct.find(';'));
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.front()))) type.remove_prefix(1);
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back()))) type.remove_suffix(1);
  return type;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

bool is_html_content_type(std::string_view ct) {
  // Compared case-insensitively, parameters ignored.
  const std::string_view type = media_type(ct);
  return iequals(type, "text/html") || iequals(type, "application/xhtml+xml");
}

bool content_type_accepted(std::string_view ct, const std::vector<std::string>& accept) {
  if (accept.empty()) return true;
  const std::string_view type = media_type(ct);
  const auto slash = type.find('/');
  for (const std::string& a : accept) {
    const std::string_view want = media_type(a);
    if (want == "*/*") return true;
    if (want.ends_with("/*")) {
      // "text/*": the top-level type, with the slash, must match
      if (slash != std::string_view::npos && iequals(type.substr(0, slash + 1), want.substr(0, want.size() - 1)))
        return true;
    } else if (iequals(type, want)) {
      return true;
    }
  }
  return false;
}

std::optional<double> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 12) return 1e12;  // absurdly long: the caller's cap applies anyway
    std::uint64_t v = 0;
    std::from_chars(value.data(), value.data() + value.size(), v);
    return static_cast<double>(v);
  }
  // RFC 9110 5.6.7: IMF-fixdate, and recipients also accept RFC 850 and asctime dates.
  const std::string text(value);
  for (const char* format : {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y"}) {
    std::tm tm{};
    const char* end = ::strptime(text.c_str(), format, &tm);
    if (end == nullptr || *end != '\0') continue;
    const std::time_t at = ::timegm(&tm);
    const double left = std::chrono::duration<double>(std::chrono::system_clock::from_time_t(at) - now).count();
    return std::max(0.0, left);
  }
  return std::nullopt;
}

bool is_transient_error_kind(std::string_view kind) {
  return kind == "connect" || kind == "timeout" || kind == "reset";
}

void FakeFetcher::set_result(const std::string& url, FetchResult result) {
  sequences_.erase(url);
  results_[url] = std::move(result);
}

void FakeFetcher::set_results(const std::string& url, std::vector<FetchResult> results) {
  results_.erase(url);
  if (results.empty()) {
    sequences_.erase(url);
    return;
  }
  sequences_[url] = std::move(results);
  asked_[url] = 0;
}

void FakeFetcher::add_page(const std::string& url, std::string html, std::string content_type) {
  FetchResult r;
  r.http_status = 200;
  r.bytes = html.size();
  r.body = std::move(html);
  r.content_type = std::move(content_type);
  set_result(url, std::move(r));
}

void FakeFetcher::add_redirect(const std::string& url, std::string target, long status) {
  FetchResult r;
  r.http_status = status;
  r.redirect_to = std::move(target);
  set_result(url, std::move(r));
}

void FakeFetcher::submit(FetchRequest request) {
  requests_.push_back(request);
  FetchResult r;
  if (fail_every_ != 0 && requests_.size() % fail_every_ == 0) {
    r.error = "injected failure (FakeFetcher::fail_every_nth)";
    r.error_kind = "connect";
  } else if (auto seq = sequences_.find(request.url); seq != sequences_.end()) {
    const std::size_t n = asked_[request.url]++;
    r = seq->second[std::min(n, seq->second.size() - 1)];
  } else if (auto it = results_.find(request.url); it != results_.end()) {
    r = it->second;
  } else {
    r.http_status = 404;
    r.content_type = "text/html";
  }
  r.id = request.id;
  r.url = std::move(request.url);
  pending_.push_back(std::move(r));
}

std::vector<FetchResult> FakeFetcher::poll(std::chrono::milliseconds) {
  std::vector<FetchResult> out(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.end()));
  pending_.clear();
  return out;
}

namespace {

class FlakyFetcher final : public Fetcher {
 public:
  FlakyFetcher(std::unique_ptr<Fetcher> inner, std::size_t every_nth) : inner_(std::move(inner)), every_(every_nth) {}

  void submit(FetchRequest request) override {
    if (every_ != 0 && ++count_ % every_ == 0) {
      FetchResult r;
      r.id = request.id;
      r.url = std::move(request.url);
      r.error = "injected failure (flaky fetcher)";
      r.error_kind = "connect";
      failed_.push_back(std::move(r));
      return;
    }
    inner_->submit(std::move(request));
  }

  std::vector<FetchResult> poll(std::chrono::milliseconds max_wait) override {
    // Injected failures are ready now: do not make the caller wait for the inner fetcher.
    auto out = inner_->poll(failed_.empty() ? max_wait : std::chrono::milliseconds(0));
    for (auto& r : failed_) out.push_back(std::move(r));
    failed_.clear();
    return out;
  }

  std::size_t in_flight() const override { return inner_->in_flight() + failed_.size(); }

 private:
  std::unique_ptr<Fetcher> inner_;
  std::size_t every_;
  std::size_t count_ = 0;
  std::vector<FetchResult> failed_;
};

}  // namespace

std::unique_ptr<Fetcher> make_flaky_fetcher(std::unique_ptr<Fetcher> inner, std::size_t every_nth) {
  return std::make_unique<FlakyFetcher>(std::move(inner), every_nth);
}

}  // namespace rankpool::crawl
