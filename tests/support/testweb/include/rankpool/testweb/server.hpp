#pragma once
// The synthetic web served over HTTP/1.1 on loopback (Boost.Beast, keep-alive).
//
// Each origin has its own listening socket; the origin of a request is the socket's local
// address:port (the Host header is ignored). Every request is recorded in an access log,
// the witness tests use to see what a crawler actually asked for.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "rankpool/testweb/web.hpp"

namespace rankpool::testweb {

struct AccessLogEntry {
  std::chrono::system_clock::time_point time;  // when the request was read
  std::string origin;                          // "127.0.0.2:8080" — the socket's local address:port
  std::string method;                          // "GET", "HEAD", ...
  std::string target;                          // request target as sent, e.g. "/p/3"
  std::string user_agent;                      // User-Agent header ("" when absent)
  int status = 0;                              // status answered
};

class TestWeb {
 public:
  explicit TestWeb(WebSpec spec);
  ~TestWeb();  // stops
  TestWeb(const TestWeb&) = delete;
  TestWeb& operator=(const TestWeb&) = delete;

  /// Binds every origin and starts serving; throws std::system_error when a bind fails.
  /// A second call while running does nothing; a web cannot be restarted after stop().
  void start();
  /// Stops serving and joins the threads; idempotent.
  void stop();

  /// "http://127.0.0.2:8080", ... (hosts first, then the extra origin); valid after start().
  std::vector<std::string> origins() const;
  /// The web as served (with the bound ports); valid after start().
  const WebModel& model() const;
  std::vector<AccessLogEntry> access_log() const;
  void clear_access_log();
  /// TCP connections accepted so far, all origins together: shows keep-alive reuse.
  std::size_t connections_accepted() const;

  struct Impl;  // the server's state; public only so that server.cpp's sessions can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace rankpool::testweb
