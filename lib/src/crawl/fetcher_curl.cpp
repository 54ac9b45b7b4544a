// The libcurl multi fetcher, after curl's docs/examples/10-at-a-time.c: one multi handle,
// a bounded number of easy handles in it, per-transfer context through CURLOPT_PRIVATE.
#include <curl/curl.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "rankpool/crawl/digest.hpp"
#include "rankpool/crawl/fetcher.hpp"

namespace rankpool::crawl {
namespace {

// curl_global_init is not thread-safe and must run once per process before any handle is
// made; it is never undone (curl_global_cleanup at exit would race other static users).
void init_curl_once() {
  static std::once_flag flag;
  std::call_once(flag, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct MultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;
using MultiPtr = std::unique_ptr<CURLM, MultiDeleter>;

// One transfer's state; its address is the easy handle's CURLOPT_PRIVATE.
struct Transfer {
  EasyPtr easy;
  FetchResult result;
  const FetchOptions* options = nullptr;
  char error_buffer[CURL_ERROR_SIZE] = {};
  bool decided_keep = false;  // whether the body is kept is decided at the first write
  bool always_keep = false;   // FetchRequest::keep_body
  bool keep = true;
  bool too_large = false;      // set by the write callback when it aborts the transfer
  bool check_type = false;     // FetchOptions::accept_types applies to this transfer
  bool type_rejected = false;  // set by the header callback when it aborts the transfer
  // digest_payload or capture: curl hands over the bytes as transferred; they are hashed
  // (and kept, with capture) here, and gzip/deflate decoded here with zlib.
  bool raw = false;
  enum class Coding : std::uint8_t { unknown, identity, zlib } coding = Coding::unknown;
  bool bad_encoding = false;  // zlib refused the payload: the transfer fails as curl would
  z_stream zs{};
  bool zs_open = false;
  Sha1 hash;
  ~Transfer() {
    if (zs_open) inflateEnd(&zs);
  }
};

// The decoded bytes of a chunk: counted against max_body_bytes, kept when wanted. False
// when the cap is crossed.
bool take_decoded(Transfer* t, const char* data, size_t n) {
  if (t->result.bytes + n > t->options->max_body_bytes) {
    t->too_large = true;
    return false;
  }
  t->result.bytes += n;
  if (t->keep) t->result.body.append(data, n);
  return true;
}

// A chunk as transferred (decoding off in curl): hashed, kept for WARC with capture, then
// decoded here. Content-Encoding gzip, x-gzip and deflate (zlib, the header auto-detected)
// are what the request's Accept-Encoding offered; anything else is passed on as it came.
bool take_raw(Transfer* t, const char* data, size_t n) {
  if (t->coding == Transfer::Coding::unknown) {
    t->coding = Transfer::Coding::identity;
    curl_header* h = nullptr;
    if (curl_easy_header(t->easy.get(), "Content-Encoding", 0, CURLH_HEADER, -1, &h) == CURLHE_OK && h) {
      std::string v(h->value);
      std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
      const auto b = v.find_first_not_of(" \t"), e = v.find_last_not_of(" \t");
      v = b == std::string::npos ? std::string() : v.substr(b, e - b + 1);
      if (v == "gzip" || v == "x-gzip" || v == "deflate") {
        if (inflateInit2(&t->zs, 15 + 32) != Z_OK) {
          t->bad_encoding = true;
          return false;
        }
        t->zs_open = true;
        t->coding = Transfer::Coding::zlib;
      }
    }
  }
  t->hash.update(std::string_view(data, n));
  if (t->options->capture) t->result.payload.append(data, n);
  if (t->coding == Transfer::Coding::identity) return take_decoded(t, data, n);
  z_stream& zs = t->zs;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
  zs.avail_in = static_cast<uInt>(n);
  char out[16384];
  while (zs.avail_in > 0) {
    zs.next_out = reinterpret_cast<Bytef*>(out);
    zs.avail_out = sizeof out;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      t->bad_encoding = true;
      return false;
    }
    if (!take_decoded(t, out, sizeof out - zs.avail_out)) return false;
    if (rc == Z_STREAM_END) break;  // bytes after the end of the stream are not content
    if (rc == Z_BUF_ERROR && zs.avail_out != 0) break;
  }
  return true;
}

// At the end of a response's header block: false when its type is not accepted (a 2xx with
// a Content-Type outside FetchOptions::accept_types), which stops the transfer before any
// body byte is read. 1xx blocks, redirects and errors pass (their bodies are small).
bool type_accepted_at_headers_end(Transfer& t) {
  long status = 0;
  curl_easy_getinfo(t.easy.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) return true;
  char* ct = nullptr;
  curl_easy_getinfo(t.easy.get(), CURLINFO_CONTENT_TYPE, &ct);
  return ct == nullptr || content_type_accepted(ct, t.options->accept_types);
}

// Called by curl once per header line, then with the empty line that ends a block (curl
// passes the final response's block last; a 100 Continue's or a proxy CONNECT's come first).
// capture: keeps the final response's status line and headers (an earlier block is dropped
// when the next status line starts).
size_t on_header(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nmemb;
  if (t->options->capture) {
    const std::string_view line(data, n);
    if (line.starts_with("HTTP/")) t->result.response_head.clear();
    t->result.response_head.append(line);
  }
  const bool block_end = n == 0 || (n <= 2 && (data[0] == '\r' || data[0] == '\n'));
  if (block_end && t->check_type && !type_accepted_at_headers_end(*t)) {
    t->type_rejected = true;
    return 0;  // anything but n makes curl abort the transfer with CURLE_WRITE_ERROR
  }
  return n;
}

// capture: the request headers as curl sent them (CURLINFO_HEADER_OUT); a CONNECT to a proxy
// before the request itself is replaced by it.
int on_debug(CURL*, curl_infotype type, char* data, size_t n, void* user) {
  if (type != CURLINFO_HEADER_OUT) return 0;
  auto* t = static_cast<Transfer*>(user);
  std::string& head = t->result.request_head;
  if (head.ends_with("\r\n\r\n")) head.clear();
  head.append(data, n);
  return 0;
}

// Enforces max_body_bytes here rather than with CURLOPT_MAXFILESIZE: libcurl 7.88 only
// checks that against a Content-Length, and it sees decoded bytes here, so a chunked or
// compressed response is capped too.
size_t write_body(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nmemb;
  if (t->too_large || t->bad_encoding) return 0;
  if (!t->decided_keep) {
    t->decided_keep = true;
    if (t->options->keep_body_only_for_html && !t->always_keep) {
      char* ct = nullptr;
      curl_easy_getinfo(t->easy.get(), CURLINFO_CONTENT_TYPE, &ct);
      t->keep = ct == nullptr || is_html_content_type(ct);
    }
  }
  // A short write makes curl abort the transfer with CURLE_WRITE_ERROR.
  if (t->raw) return take_raw(t, data, n) ? n : 0;
  return take_decoded(t, data, n) ? n : 0;
}

template <class T>
void set(CURL* h, CURLoption opt, T value) {
  // A failing setopt means this libcurl lacks a feature the fetcher relies on (e.g. no
  // CURLOPT_PROTOCOLS_STR before 7.85): a broken invariant, not a per-URL failure.
  if (CURLcode rc = curl_easy_setopt(h, opt, value); rc != CURLE_OK)
    throw std::runtime_error(std::string("curl_easy_setopt: ") + curl_easy_strerror(rc));
}

class CurlFetcher final : public Fetcher {
 public:
  explicit CurlFetcher(const FetchOptions& options) : options_(options) {
    init_curl_once();
    multi_.reset(curl_multi_init());
    if (!multi_) throw std::runtime_error("curl_multi_init failed");
    if (options_.max_host_connections > 0)
      curl_multi_setopt(multi_.get(), CURLMOPT_MAX_HOST_CONNECTIONS, options_.max_host_connections);
    if (options_.max_cached_connections > 0)
      curl_multi_setopt(multi_.get(), CURLMOPT_MAXCONNECTS, options_.max_cached_connections);
    if (options_.max_in_flight == 0) options_.max_in_flight = 1;
  }

  ~CurlFetcher() override {
    // Easy handles must leave the multi handle before either is cleaned up.
    for (auto& [ptr, t] : active_) curl_multi_remove_handle(multi_.get(), t->easy.get());
    active_.clear();
  }

  void submit(FetchRequest request) override {
    queued_.push_back(std::move(request));
    start_queued();
  }

  std::vector<FetchResult> poll(std::chrono::milliseconds max_wait) override {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + max_wait;
    std::vector<FetchResult> out;
    for (;;) {
      start_queued();
      int running = 0;
      curl_multi_perform(multi_.get(), &running);
      collect(out);
      if (!out.empty() || !ready_.empty()) break;
      start_queued();  // collect() may have freed slots for queued requests
      if (active_.empty() && queued_.empty()) break;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      if (left.count() <= 0) break;
      // curl_multi_poll waits for socket activity or curl's own timers (timeouts), capped.
      curl_multi_poll(multi_.get(), nullptr, 0, static_cast<int>(std::min<long long>(left.count(), 1000)), nullptr);
    }
    // Results that failed before reaching curl (e.g. add_handle refused) are ready too.
    while (!ready_.empty()) {
      out.push_back(std::move(ready_.front()));
      ready_.pop_front();
    }
    submitted_ -= out.size();
    return out;
  }

  std::size_t in_flight() const override { return submitted_ + queued_.size(); }

 private:
  void start_queued() {
    while (!queued_.empty() && active_.size() < options_.max_in_flight) {
      FetchRequest req = std::move(queued_.front());
      queued_.pop_front();
      ++submitted_;
      start(std::move(req));
    }
  }

  void start(FetchRequest req) {
    auto t = std::make_unique<Transfer>();
    t->options = &options_;
    t->result.id = req.id;
    t->always_keep = req.keep_body;
    t->result.url = std::move(req.url);
    t->result.started = std::chrono::system_clock::now();
    t->raw = options_.digest_payload || options_.capture;
    t->easy.reset(curl_easy_init());
    if (!t->easy) throw std::runtime_error("curl_easy_init failed");
    CURL* h = t->easy.get();
    set(h, CURLOPT_URL, t->result.url.c_str());
    set(h, CURLOPT_PRIVATE, static_cast<void*>(t.get()));
    set(h, CURLOPT_WRITEFUNCTION, &write_body);
    set(h, CURLOPT_WRITEDATA, static_cast<void*>(t.get()));
    set(h, CURLOPT_ERRORBUFFER, t->error_buffer);
    // Only the web: no file://, ftp://, dict://, ... neither directly nor via a redirect.
    set(h, CURLOPT_PROTOCOLS_STR, "http,https");
    set(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    // Redirects go back to the crawler, which applies scope, robots and dedup to them.
    set(h, CURLOPT_FOLLOWLOCATION, 0L);
    set(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    set(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
    // Signals (SIGALRM for DNS timeouts) are unsafe in a multi-threaded, MPI-using process.
    set(h, CURLOPT_NOSIGNAL, 1L);
    set(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
    if (t->raw) {
      // The bytes as transferred reach write_body, which decodes what it offered here.
      if (options_.accept_encoding) set(h, CURLOPT_ACCEPT_ENCODING, "gzip, deflate");
      set(h, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    } else if (options_.accept_encoding) {
      set(h, CURLOPT_ACCEPT_ENCODING, "");
    }
    if (options_.capture) {
      // The debug callback is the only place curl shows the request as sent; VERBOSE turns it on
      // (its text goes to on_debug, not to stderr).
      set(h, CURLOPT_DEBUGFUNCTION, &on_debug);
      set(h, CURLOPT_DEBUGDATA, static_cast<void*>(t.get()));
      set(h, CURLOPT_VERBOSE, 1L);
    }
    // Always set, so that libcurl never reads http_proxy/no_proxy itself: "" means direct.
    const bool https = t->result.url.size() >= 8 &&
                       std::equal(t->result.url.begin(), t->result.url.begin() + 8, "https://",
                                  [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
    set(h, CURLOPT_PROXY, (https ? options_.https_proxy : options_.http_proxy).c_str());
    set(h, CURLOPT_NOPROXY, options_.no_proxy.c_str());
    if (!options_.ca_cert.empty()) set(h, CURLOPT_CAINFO, options_.ca_cert.c_str());
    t->check_type = !options_.accept_types.empty() && !req.keep_body;
    if (t->check_type || options_.capture) {
      set(h, CURLOPT_HEADERFUNCTION, &on_header);
      set(h, CURLOPT_HEADERDATA, static_cast<void*>(t.get()));
    }
    if (!options_.verify_tls) {
      set(h, CURLOPT_SSL_VERIFYPEER, 0L);
      set(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    // Cheap early refusal when a Content-Length already says too much (write_body still
    // enforces the cap on decoded bytes for everything else).
    set(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options_.max_body_bytes));

    if (CURLMcode mc = curl_multi_add_handle(multi_.get(), h); mc != CURLM_OK) {
      t->result.error = curl_multi_strerror(mc);
      t->result.error_kind = "other";
      ready_.push_back(std::move(t->result));
      return;
    }
    Transfer* key = t.get();
    active_.emplace(key, std::move(t));
  }

  void collect(std::vector<FetchResult>& out) {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_.get(), &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* h = msg->easy_handle;
      const CURLcode rc = msg->data.result;
      void* priv = nullptr;
      curl_easy_getinfo(h, CURLINFO_PRIVATE, &priv);
      auto it = active_.find(static_cast<Transfer*>(priv));
      if (it == active_.end()) continue;  // cannot happen: every handle we add is in active_
      std::unique_ptr<Transfer> t = std::move(it->second);
      active_.erase(it);
      finish(*t, rc);
      curl_multi_remove_handle(multi_.get(), h);
      out.push_back(std::move(t->result));
    }
  }

  static void finish(Transfer& t, CURLcode rc) {
    CURL* h = t.easy.get();
    FetchResult& r = t.result;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.http_status);
    char* ct = nullptr;
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct) r.content_type = ct;
    curl_header* retry_after = nullptr;  // of the last response (no redirect is followed)
    if (r.http_status != 0 && curl_easy_header(h, "Retry-After", 0, CURLH_HEADER, -1, &retry_after) == CURLHE_OK)
      r.retry_after = retry_after->value;
    char* location = nullptr;
    if (r.http_status >= 300 && r.http_status < 400 &&
        curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location)
      r.redirect_to = location;
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &r.seconds);
    char* ip = nullptr;
    if (curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip) r.ip = ip;
    if (r.http_status != 0) {
      curl_header* hdr = nullptr;
      if (curl_easy_header(h, "Last-Modified", 0, CURLH_HEADER, -1, &hdr) == CURLHE_OK && hdr)
        r.last_modified = hdr->value;
      if (curl_easy_header(h, "ETag", 0, CURLH_HEADER, -1, &hdr) == CURLHE_OK && hdr) r.etag = hdr->value;
      if (t.raw) r.payload_sha1 = sha1_label(t.hash);
    }
    if (rc == CURLE_OK) return;
    if (t.type_rejected) {
      r.error_kind = "type_not_accepted";
      r.error = "content type '" + r.content_type + "' is not among the accepted types; stopped after the headers";
    } else if (t.bad_encoding) {
      r.error_kind = "protocol";
      r.error = curl_easy_strerror(CURLE_BAD_CONTENT_ENCODING);
    } else if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      r.error_kind = "too_large";
      r.error = std::string(curl_easy_strerror(CURLE_FILESIZE_EXCEEDED)) + " (limit " +
                std::to_string(t.options->max_body_bytes) + " bytes)";
    } else {
      r.error_kind = std::string(curl_error_kind(rc));
      r.error = curl_easy_strerror(rc);
      if (t.error_buffer[0] != '\0') r.error += std::string(": ") + t.error_buffer;
    }
    r.body.clear();  // a partial body is never handed out as if it were the page
  }

  FetchOptions options_;
  MultiPtr multi_;
  std::unordered_map<Transfer*, std::unique_ptr<Transfer>> active_;
  std::deque<FetchRequest> queued_;  // submitted, waiting for a transfer slot
  std::deque<FetchResult> ready_;    // failed before reaching curl, awaiting poll()
  std::size_t submitted_ = 0;        // started and not yet returned by poll()
};

}  // namespace

std::string_view curl_error_kind(int curl_code) {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_OK:
      return "";
    case CURLE_OPERATION_TIMEDOUT:
      return "timeout";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return "dns";
    case CURLE_COULDNT_CONNECT:
      return "connect";
    // The connection broke before a whole response: reset by the peer, or closed with
    // nothing sent (an overloaded server or a restarting proxy); worth another try.
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
      return "reset";
    case CURLE_FILESIZE_EXCEEDED:
      return "too_large";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return "tls";
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_PARTIAL_FILE:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_RANGE_ERROR:
      return "protocol";
    default:
      return "other";
  }
}

std::unique_ptr<Fetcher> make_curl_fetcher(const FetchOptions& options) {
  return std::make_unique<CurlFetcher>(options);
}

}  // namespace rankpool::crawl
