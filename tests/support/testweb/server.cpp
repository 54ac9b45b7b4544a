// The synthetic web over HTTP/1.1: one acceptor per origin, asynchronous sessions with
// keep-alive, a small thread pool running one io_context.
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <type_traits>

#include "rankpool/testweb/server.hpp"

namespace rankpool::testweb {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct TestWeb::Impl {
  WebSpec spec;
  std::unique_ptr<WebModel> model;
  asio::io_context ioc;
  std::vector<tcp::acceptor> acceptors;
  std::optional<asio::ssl::context> tls;  // when some origins serve https (WebSpec::tls_hosts)
  std::vector<std::thread> threads;
  mutable std::mutex log_mutex;
  std::vector<AccessLogEntry> log;
  std::ofstream log_file;
  bool running = false;
  std::atomic<std::size_t> connections{0};
  std::mutex asked_mutex;
  std::map<std::pair<std::size_t, std::string>, int> asked;  // (origin, target) -> requests so far

  /// The how-many-th request of `target` on `origin` this one is (1-based).
  int count(std::size_t origin, const std::string& target) {
    std::lock_guard lock(asked_mutex);
    return ++asked[{origin, target}];
  }

  explicit Impl(WebSpec s) : spec(std::move(s)) {}

  void record(AccessLogEntry e) {
    std::lock_guard lock(log_mutex);
    if (log_file.is_open()) {
      const auto t = std::chrono::system_clock::to_time_t(e.time);
      std::tm tm{};
      gmtime_r(&t, &tm);
      // Microseconds: politeness checks compare the gaps between requests to one origin.
      const auto us =
          std::chrono::duration_cast<std::chrono::microseconds>(e.time.time_since_epoch()).count() % 1000000;
      char frac[16];
      std::snprintf(frac, sizeof frac, ".%06lldZ", static_cast<long long>(us));
      log_file << std::put_time(&tm, "%Y-%m-%dT%H:%M:%S") << frac << ' ' << e.origin << ' ' << e.method << ' '
               << e.target << ' ' << e.status << " \"" << e.user_agent << "\"\n";
      log_file.flush();
    }
    log.push_back(std::move(e));
  }

  void accept(std::size_t origin);
};

namespace {

// One connection: plain TCP, or TLS (Stream = asio::ssl::stream<tcp::socket>) after a
// handshake; the HTTP exchange is the same.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

 public:
  Session(TestWeb::Impl& web, std::size_t origin, Stream socket)
      : web_(web), origin_(origin), socket_(std::move(socket)), timer_(socket_.get_executor()) {}

  // TLS sessions first: a client that refuses the certificate ends here, before any request.
  void handshake() {
    socket_.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) self->read();
    });
  }

  void read() {
    request_ = {};
    http::async_read(socket_, buffer_, request_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) self->handle();
    });
  }

 private:
  static std::uint64_t fnv1a_body(const std::string& s) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
  }
  /// A fault path's answer (see web.hpp), or nullopt for any other target. Sets reset_.
  std::optional<Response> fault(const std::string& target) {
    const std::string path = target.substr(0, target.find('?'));
    const std::string query = target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
    auto number_after = [](const std::string& text, const std::string& prefix) -> std::optional<long> {
      if (!text.starts_with(prefix)) return std::nullopt;
      try {
        std::size_t used = 0;
        const long v = std::stol(text.substr(prefix.size()), &used);
        if (used != text.size() - prefix.size() || v < 0) return std::nullopt;
        return v;
      } catch (const std::exception&) {
        return std::nullopt;
      }
    };
    Response ok;
    ok.content_type = "text/html; charset=utf-8";
    ok.body = "<!DOCTYPE html><html><body><p>recovered</p></body></html>\n";
    if (path == "/robots.txt") {
      if (web_.spec.robots_failures <= 0 || web_.count(origin_, path) > web_.spec.robots_failures) return std::nullopt;
      Response r = ok;
      r.status = 503;
      r.body = "<html><body>503</body></html>\n";
      return r;
    }
    if (!path.starts_with("/fault/")) return std::nullopt;
    if (path.starts_with("/fault/reset/") && served_ > 0) {
      // A reset on a reused connection would be retried by the client itself (a keep-alive
      // connection may close at any time, RFC 9112 9.3.1): close this one quietly, uncounted,
      // so that the reset below comes on the fresh connection, where the client sees it.
      quiet_close_ = true;
      return ok;
    }
    const int n = web_.count(origin_, target);
    if (path.starts_with("/fault/status/")) {
      const std::string rest = path.substr(14);
      const auto slash = rest.find('/');
      const auto code = number_after(rest.substr(0, slash), "");
      const auto k = slash == std::string::npos ? std::nullopt : number_after(rest.substr(slash + 1), "");
      if (!code || !k || *code < 100 || *code > 599) return std::nullopt;
      if (n > *k) return ok;
      Response r = ok;
      r.status = static_cast<int>(*code);
      r.body = "<html><body>" + std::to_string(*code) + "</body></html>\n";
      if (auto ra = number_after(query, "ra=")) r.retry_after = std::to_string(*ra);
      if (auto ra = number_after(query, "ra-date=")) {
        const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()) + *ra;
        std::tm tm{};
        gmtime_r(&t, &tm);
        char date[64];
        std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        r.retry_after = date;
      }
      return r;
    }
    if (auto k = number_after(path, "/fault/reset/")) {
      if (n <= *k) reset_ = true;
      return ok;
    }
    if (auto k = number_after(path, "/fault/slow/")) {
      Response r = ok;
      if (n <= *k) r.delay = web_.spec.fault_wait;
      return r;
    }
    return std::nullopt;
  }

  void handle() {
    const std::string target(request_.target());
    const auto& o = web_.model->origins()[origin_];
    // "127.0.0.2:8080" for http (the format before https origins), "https://127.0.0.2:8443".
    const std::string logged_origin = (o.tls ? "https://" : "") + o.address + ":" + std::to_string(o.port);
    if (web_.spec.silent) {
      // Never answers: the request is logged (status 0) and the connection kept open until
      // the client gives up; reading on notices that.
      web_.record({std::chrono::system_clock::now(), logged_origin, std::string(request_.method_string()), target,
                   std::string(request_[http::field::user_agent]), 0});
      read();
      return;
    }
    Response r;
    if (request_.method() == http::verb::get || request_.method() == http::verb::head) {
      if (auto f = fault(target))
        r = std::move(*f);
      else
        r = web_.model->respond(origin_, target);
      ++served_;
    } else {
      r.status = 405;
      r.content_type = "text/plain";
      r.body = "method not allowed\n";
    }
    auto& raw = beast::get_lowest_layer(socket_);
    if (quiet_close_) {  // not an answer: not logged
      beast::error_code ignored;
      raw.shutdown(tcp::socket::shutdown_both, ignored);
      raw.close(ignored);
      return;
    }
    web_.record({std::chrono::system_clock::now(), logged_origin, std::string(request_.method_string()), target,
                 std::string(request_[http::field::user_agent]), reset_ ? 0 : r.status});
    if (reset_) {
      // SO_LINGER 0: close() sends RST instead of FIN, as a crashed or overloaded server does.
      beast::error_code ignored;
      raw.set_option(asio::socket_base::linger(true, 0), ignored);
      raw.close(ignored);
      return;
    }

    response_ = {};
    response_.result(static_cast<unsigned>(r.status));
    response_.version(request_.version());
    response_.set(http::field::server, "rankpool-testweb");
    if (!r.content_type.empty()) response_.set(http::field::content_type, r.content_type);
    if (!r.content_encoding.empty()) response_.set(http::field::content_encoding, r.content_encoding);
    if (!r.location.empty()) response_.set(http::field::location, r.location);
    if (!r.retry_after.empty()) response_.set(http::field::retry_after, r.retry_after);
    response_.keep_alive(request_.keep_alive());
    if (web_.spec.validators && r.status == 200) {
      // A fixed date and the body's FNV-1a: what a crawl log records as last_modified / etag.
      response_.set(http::field::last_modified, "Wed, 21 Oct 2015 07:28:00 GMT");
      response_.set(http::field::etag, "\"" + std::to_string(fnv1a_body(r.body)) + "\"");
    }
    if (web_.spec.gzip_pages && r.status == 200 && r.content_encoding.empty() && !r.body.empty() &&
        request_[http::field::accept_encoding].find("gzip") != beast::string_view::npos) {
      r.body = gzip_compress(r.body);
      r.content_encoding = "gzip";
      response_.set(http::field::content_encoding, "gzip");
    }
    const bool head = request_.method() == http::verb::head;
    response_.body() = head ? std::string() : std::move(r.body);
    if (r.chunked && !head)
      response_.chunked(true);
    else
      response_.prepare_payload();

    const auto delay = web_.spec.latency + r.delay;
    if (delay.count() > 0) {
      timer_.expires_after(delay);
      timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
        if (!ec) self->write();
      });
    } else {
      write();
    }
  }

  void write() {
    http::async_write(socket_, response_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      if (self->response_.keep_alive()) {
        self->read();
      } else if constexpr (kTls) {
        self->socket_.async_shutdown([self](beast::error_code) {});  // close_notify, then the socket closes
      } else {
        beast::error_code ignored;
        self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
      }
    });
  }

  TestWeb::Impl& web_;
  std::size_t origin_;
  Stream socket_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  bool reset_ = false, quiet_close_ = false;
  int served_ = 0;  // requests read on this connection before this one
};

}  // namespace

void TestWeb::Impl::accept(std::size_t origin) {
  acceptors[origin].async_accept([this, origin](beast::error_code ec, tcp::socket socket) {
    if (ec) return;  // the acceptor was closed: stop accepting
    ++connections;
    if (model->origins()[origin].tls)
      std::make_shared<Session<asio::ssl::stream<tcp::socket>>>(*this, origin,
                                                                asio::ssl::stream<tcp::socket>(std::move(socket), *tls))
          ->handshake();
    else
      std::make_shared<Session<tcp::socket>>(*this, origin, std::move(socket))->read();
    accept(origin);
  });
}

TestWeb::TestWeb(WebSpec spec) : impl_(std::make_unique<Impl>(std::move(spec))) {}

TestWeb::~TestWeb() { stop(); }

void TestWeb::start() {
  Impl& w = *impl_;
  if (w.running) return;
  // The io_context has been stopped and the model fixed: a second life would need both
  // rebuilt, and nothing needs that.
  if (w.model) throw std::logic_error("TestWeb::start(): cannot restart a stopped web");
  auto planned = WebModel::planned_origins(w.spec, w.spec.base_port);
  if (w.spec.tls_hosts > 0) {
    // Throws boost::system::system_error (a std::exception) for a missing or bad file.
    w.tls.emplace(asio::ssl::context::tls_server);
    w.tls->use_certificate_chain_file(w.spec.tls_cert_file);
    w.tls->use_private_key_file(w.spec.tls_key_file, asio::ssl::context::pem);
  }
  // One listening socket per origin, plus the connections: 10^4 origins need more descriptors
  // than the usual soft limit of 1024, so raise it towards the hard limit when it is short.
  const rlim_t wanted = static_cast<rlim_t>(planned.size()) + 1024;
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY && files.rlim_cur < wanted) {
    if (files.rlim_max != RLIM_INFINITY && files.rlim_max < static_cast<rlim_t>(planned.size()) + 64)
      throw std::runtime_error("testweb: " + std::to_string(planned.size()) + " origins need as many open files, " +
                               "the hard limit (ulimit -Hn) is " + std::to_string(files.rlim_max));
    files.rlim_cur = files.rlim_max == RLIM_INFINITY ? wanted : std::min(files.rlim_max, wanted);
    setrlimit(RLIMIT_NOFILE, &files);
  }
  for (auto& origin : planned) {
    tcp::acceptor a(w.ioc);
    const tcp::endpoint ep(asio::ip::make_address(origin.address), static_cast<unsigned short>(origin.port));
    boost::system::error_code ec;
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    // boost::system::system_error is not a std::system_error in Boost 1.81: convert.
    if (ec)
      throw std::system_error(ec, "testweb: cannot listen on " + origin.address + ":" + std::to_string(origin.port));
    origin.port = a.local_endpoint().port();
    w.acceptors.push_back(std::move(a));
  }
  w.model = std::make_unique<WebModel>(w.spec, std::move(planned));
  if (!w.spec.access_log_file.empty()) w.log_file.open(w.spec.access_log_file, std::ios::app);
  for (std::size_t i = 0; i < w.acceptors.size(); ++i) w.accept(i);
  w.running = true;
  for (int i = 0; i < std::max(1, w.spec.threads); ++i) w.threads.emplace_back([&w] { w.ioc.run(); });
}

void TestWeb::stop() {
  Impl& w = *impl_;
  if (!w.running) return;
  w.running = false;
  w.ioc.stop();
  for (auto& t : w.threads) t.join();
  w.threads.clear();
  beast::error_code ignored;
  for (auto& a : w.acceptors) a.close(ignored);
}

std::vector<std::string> TestWeb::origins() const {
  std::vector<std::string> out;
  for (const auto& o : model().origins()) out.push_back(o.str());
  return out;
}

const WebModel& TestWeb::model() const {
  if (!impl_->model) throw std::logic_error("TestWeb::model() before start()");
  return *impl_->model;
}

std::vector<AccessLogEntry> TestWeb::access_log() const {
  std::lock_guard lock(impl_->log_mutex);
  return impl_->log;
}

std::size_t TestWeb::connections_accepted() const { return impl_->connections.load(); }

void TestWeb::clear_access_log() {
  std::lock_guard lock(impl_->log_mutex);
  impl_->log.clear();
}

}  // namespace rankpool::testweb
