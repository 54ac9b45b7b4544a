#pragma once
// WARC/1.1 output (ISO 28500): what every web archive and replay tool reads.
//
// One WarcWriter per crawling rank, no coordination: its files are
//   DIR/<prefix>-<YYYYMMDDhhmmss>-<rank>-<serial>.warc.gz
// (the timestamp is when the writer started, the serial counts its files from 00000), each a
// series of gzip members, one per record (the .warc.gz convention, so a reader can seek to any
// record). A file starts with a warcinfo record; every fetch that got a response adds a
// response record (the status line and headers as received, then the payload as transferred)
// and a request record (as sent) naming it in WARC-Concurrent-To. A file is never overwritten
// (O_EXCL; a name taken moves on to the next serial) and a new one is started once a file has
// reached max_file_bytes. With cdx, DIR/<same name>.cdxj, sorted, indexes the file's response
// records; it is written when the file is closed (rotation or close()).

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rankpool/crawl/fetcher.hpp"
#include "rankpool/status.hpp"

namespace rankpool::crawl {

struct WarcOptions {
  std::string dir;                  // created if missing
  std::string prefix = "rankpool";  // the files' name prefix
  int rank = 0;                     // in the names: ranks writing into one DIR never collide
  // A file is closed and the next one started once it holds this many (compressed) bytes: the
  // customary 1 GB, what archives and transfer tools expect of a WARC.
  std::uint64_t max_file_bytes = 1'000'000'000;
  bool cdx = false;  // a sorted CDXJ index beside each file
  // warcinfo fields after software/format/conformsTo, e.g. {"robots", "obey"}.
  std::vector<std::pair<std::string, std::string>> info;
  std::string software = "rankpool-crawl";
};

class WarcWriter {
 public:
  explicit WarcWriter(WarcOptions options);
  ~WarcWriter();  // close(), errors ignored
  WarcWriter(const WarcWriter&) = delete;
  WarcWriter& operator=(const WarcWriter&) = delete;

  /// Archives one fetch: nothing when no response head was captured (no response, or a
  /// fetcher without FetchOptions::capture); else the response record (WARC-Truncated when the
  /// transfer failed after the headers) and the request record when it was captured.
  [[nodiscard]] Status write(const FetchResult& result);
  /// Hands what write() buffered to the system: whole records, readable after a kill.
  [[nodiscard]] Status flush();
  /// Closes the current file (and writes its CDXJ). Later writes start a new file.
  [[nodiscard]] Status close();

  /// Every file started so far (names relative to dir).
  const std::vector<std::string>& files() const { return files_; }
  std::uint64_t records() const { return records_; }

 private:
  Status open_next();
  Status append(const std::string& header, std::string_view block1, std::string_view block2, std::uint64_t* offset,
                std::uint64_t* length);
  std::string uuid();
  struct Gzip;

  WarcOptions options_;
  std::unique_ptr<Gzip> gzip_;
  std::string stamp_;  // the writer's start, YYYYMMDDhhmmss
  int serial_ = 0;
  std::FILE* file_ = nullptr;
  std::string name_;
  std::string warcinfo_id_;
  std::uint64_t size_ = 0;
  std::vector<std::string> cdx_;  // this file's CDXJ lines, sorted when written
  std::vector<std::string> files_;
  std::uint64_t records_ = 0;
  std::mt19937_64 random_;
};

/// The SURT form a CDXJ index sorts by: scheme dropped, host labels reversed and joined by
/// ',' (a leading "www" dropped, an IP address kept as it is), ":port" when not the scheme's
/// default, then ')' and the path and query. "http://www.A.example:8080/p?q" -> "example,a:8080)/p?q".
std::string surt(std::string_view url);

/// Fetcher decorator: every result that `inner` returns is archived by `writer` before it is
/// handed on. The first write error is passed to `on_error` (one line) and archiving stops;
/// the crawl goes on.
std::unique_ptr<Fetcher> make_archiving_fetcher(std::unique_ptr<Fetcher> inner, std::unique_ptr<WarcWriter> writer,
                                                std::function<void(const std::string&)> on_error);

}  // namespace rankpool::crawl
