// WARC/1.1 writing: records as gzip members, rotation, CDXJ (warc.hpp).
#include "rankpool/crawl/warc.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "rankpool/crawl/digest.hpp"

namespace rankpool::crawl {
namespace {

std::tm utc(std::chrono::system_clock::time_point t) {
  const std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  return tm;
}

std::string format_time(std::chrono::system_clock::time_point t, const char* fmt) {
  const std::tm tm = utc(t);
  char buf[64];
  return std::string(buf, std::strftime(buf, sizeof buf, fmt, &tm));
}

// A JSON string literal (CDXJ values are strings, as pywb writes them).
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + '"';
}

// curl dechunks what it hands over, so a payload recorded as transferred is never chunked:
// the header that says so is kept under another name, as other crawlers that dechunk do, so
// that a reader does not try to dechunk the payload again.
std::string archived_head(std::string_view head) {
  std::string out;
  std::size_t i = 0;
  while (i < head.size()) {
    std::size_t j = head.find('\n', i);
    j = j == std::string_view::npos ? head.size() : j + 1;
    const std::string_view line = head.substr(i, j - i);
    constexpr std::string_view kTe = "transfer-encoding:";
    bool te = line.size() >= kTe.size();
    for (std::size_t k = 0; te && k < kTe.size(); ++k) te = std::tolower(static_cast<unsigned char>(line[k])) == kTe[k];
    if (te) out += "X-Crawler-";
    out.append(line);
    i = j;
  }
  return out;
}

std::string media_type(std::string_view content_type) {
  std::string t(content_type.substr(0, content_type.find(';')));
  t.erase(std::remove_if(t.begin(), t.end(), [](unsigned char c) { return std::isspace(c); }), t.end());
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  return t.empty() ? "unk" : t;
}

bool is_ipv4(std::string_view host) {
  return !host.empty() &&
         std::all_of(host.begin(), host.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

}  // namespace

std::string surt(std::string_view url) {
  std::string_view rest = url;
  const auto scheme_end = rest.find("://");
  std::string scheme = "http";
  if (scheme_end != std::string_view::npos) {
    scheme = std::string(rest.substr(0, scheme_end));
    rest.remove_prefix(scheme_end + 3);
  }
  const auto slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string host(authority), port;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close != std::string::npos && close + 1 < host.size() && host[close + 1] == ':') {
      port = host.substr(close + 2);
      host.resize(close + 1);
    }
  } else if (const auto colon = host.rfind(':'); colon != std::string::npos) {
    port = host.substr(colon + 1);
    host.resize(colon);
  }
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  if ((scheme == "http" && port == "80") || (scheme == "https" && port == "443")) port.clear();
  std::string out;
  if (is_ipv4(host) || host.front() == '[') {
    out = host;
  } else {
    std::vector<std::string_view> labels;
    std::string_view h(host);
    while (!h.empty()) {
      const auto dot = h.find('.');
      labels.push_back(h.substr(0, dot));
      if (dot == std::string_view::npos) break;
      h.remove_prefix(dot + 1);
    }
    if (labels.size() > 1 && labels.front() == "www") labels.erase(labels.begin());
    for (auto it = labels.rbegin(); it != labels.rend(); ++it) {
      if (!out.empty()) out += ',';
      out.append(*it);
    }
  }
  if (!port.empty()) out += ":" + port;
  out += ')';
  out.append(path.substr(0, path.find('#')));
  return out;
}

// One deflate stream for all of a writer's records, reset per record: deflateInit2 allocates
// and clears some 256 KiB, which per record cost more than compressing a typical page.
struct WarcWriter::Gzip {
  z_stream zs{};
  bool ok = false;
  std::string out;
  // Level 1: the archive is written on the crawling rank's thread while it crawls; zlib's
  // default (6) costs about three times the CPU for files a few per cent smaller
  // (bench-crawl.sh's --warc rows, docs/performance.md).
  Gzip() { ok = deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK; }
  ~Gzip() {
    if (ok) deflateEnd(&zs);
  }
  /// One gzip member holding `parts` in order, in `out`.
  bool member(std::initializer_list<std::string_view> parts) {
    if (!ok || deflateReset(&zs) != Z_OK) return false;
    std::size_t total = 0;
    for (auto p : parts) total += p.size();
    const std::size_t bound = deflateBound(&zs, static_cast<uLong>(total)) + 64;
    if (out.size() < bound) out.resize(bound);
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    std::size_t i = 0;
    int rc = Z_OK;
    for (auto p : parts) {
      ++i;
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(p.data()));
      zs.avail_in = static_cast<uInt>(p.size());
      rc = deflate(&zs, i == parts.size() ? Z_FINISH : Z_NO_FLUSH);
      if (rc == Z_STREAM_ERROR) return false;
    }
    return rc == Z_STREAM_END;
  }
  std::string_view bytes() const { return std::string_view(out.data(), zs.total_out); }
};

WarcWriter::WarcWriter(WarcOptions options)
    : options_(std::move(options)), gzip_(std::make_unique<Gzip>()), random_(std::random_device{}()) {
  stamp_ = format_time(std::chrono::system_clock::now(), "%Y%m%d%H%M%S");
}

WarcWriter::~WarcWriter() { (void)close(); }

std::string WarcWriter::uuid() {
  std::uint8_t b[16];
  for (int i = 0; i < 16; i += 8) {
    const std::uint64_t r = random_();
    for (int j = 0; j < 8; ++j) b[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
  }
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // version 4 (random)
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  const std::string h = hex(b, 16);
  return "<urn:uuid:" + h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" +
         h.substr(20) + ">";
}

Status WarcWriter::append(const std::string& header, std::string_view block1, std::string_view block2,
                          std::uint64_t* offset, std::uint64_t* length) {
  if (!gzip_->member({header, block1, block2, "\r\n\r\n"})) return Status::error("WARC: gzip failed");
  const std::string_view member = gzip_->bytes();
  if (std::fwrite(member.data(), 1, member.size(), file_) != member.size())
    return Status::error("WARC: cannot write " + options_.dir + "/" + name_ + ": " + std::strerror(errno));
  if (offset) *offset = size_;
  if (length) *length = member.size();
  size_ += member.size();
  ++records_;
  return {};
}

Status WarcWriter::open_next() {
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  for (int tries = 0; tries < 100000; ++tries) {
    char name[256];
    std::snprintf(name, sizeof name, "%s-%s-%d-%05d.warc.gz", options_.prefix.c_str(), stamp_.c_str(), options_.rank,
                  serial_++);
    const std::string path = options_.dir + "/" + name;
    // O_EXCL: an archive file is never overwritten, whoever wrote it.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0) return Status::error("WARC: cannot create " + path + ": " + std::strerror(errno));
    file_ = ::fdopen(fd, "wb");
    if (!file_) {
      ::close(fd);
      return Status::error("WARC: cannot open " + path + ": " + std::strerror(errno));
    }
    name_ = name;
    files_.push_back(name_);
    size_ = 0;
    cdx_.clear();
    std::string fields =
        "software: " + options_.software +
        "\r\nformat: WARC File Format 1.1\r\n"
        "conformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n";
    for (const auto& [k, v] : options_.info) fields += k + ": " + v + "\r\n";
    warcinfo_id_ = uuid();
    const std::string header =
        "WARC/1.1\r\nWARC-Type: warcinfo\r\nWARC-Record-ID: " + warcinfo_id_ +
        "\r\nWARC-Date: " + rfc3339_ms(std::chrono::system_clock::now()) + "\r\nWARC-Filename: " + name_ +
        "\r\nContent-Type: application/warc-fields\r\nContent-Length: " + std::to_string(fields.size()) + "\r\n\r\n";
    return append(header, fields, {}, nullptr, nullptr);
  }
  return Status::error("WARC: no free file name in " + options_.dir);
}

Status WarcWriter::write(const FetchResult& r) {
  if (r.response_head.empty()) return {};
  if (file_ && size_ >= options_.max_file_bytes)
    if (Status st = close(); !st) return st;
  if (!file_)
    if (Status st = open_next(); !st) return st;

  const std::string date =
      rfc3339_ms(r.started == std::chrono::system_clock::time_point{} ? std::chrono::system_clock::now() : r.started);
  const std::string head = archived_head(r.response_head);
  const std::string payload_digest = r.payload_sha1.empty() ? sha1_label(r.payload) : r.payload_sha1;
  Sha1 block;
  block.update(head);
  block.update(r.payload);
  const std::string block_digest = sha1_label(block);
  const std::string response_id = uuid();
  std::string common = "\r\nWARC-Date: " + date + "\r\nWARC-Target-URI: " + r.url;
  if (!r.ip.empty()) common += "\r\nWARC-IP-Address: " + r.ip;
  common += "\r\nWARC-Warcinfo-ID: " + warcinfo_id_;

  std::string header = "WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: " + response_id + common +
                       "\r\nContent-Type: application/http;msgtype=response\r\nWARC-Payload-Digest: " + payload_digest +
                       "\r\nWARC-Block-Digest: " + block_digest;
  if (!r.error.empty())
    header += std::string("\r\nWARC-Truncated: ") + (r.error_kind == "too_large" ? "length"
                                                     : r.error_kind == "timeout" ? "time"
                                                                                 : "disconnect");
  header += "\r\nContent-Length: " + std::to_string(head.size() + r.payload.size()) + "\r\n\r\n";
  std::uint64_t offset = 0, length = 0;
  if (Status st = append(header, head, r.payload, &offset, &length); !st) return st;
  if (options_.cdx) {
    std::string line = surt(r.url) + " " + date.substr(0, 4) + date.substr(5, 2) + date.substr(8, 2) +
                       date.substr(11, 2) + date.substr(14, 2) + date.substr(17, 2) +
                       " {\"url\": " + json_string(r.url) + ", \"mime\": " + json_string(media_type(r.content_type)) +
                       ", \"status\": \"" + std::to_string(r.http_status) +
                       "\", \"digest\": " + json_string(payload_digest) + ", \"length\": \"" + std::to_string(length) +
                       "\", \"offset\": \"" + std::to_string(offset) + "\", \"filename\": " + json_string(name_) + "}";
    cdx_.push_back(std::move(line));
  }
  if (!r.request_head.empty()) {
    const std::string request =
        "WARC/1.1\r\nWARC-Type: request\r\nWARC-Record-ID: " + uuid() + common +
        "\r\nWARC-Concurrent-To: " + response_id +
        "\r\nContent-Type: application/http;msgtype=request\r\nWARC-Block-Digest: " + sha1_label(r.request_head) +
        "\r\nContent-Length: " + std::to_string(r.request_head.size()) + "\r\n\r\n";
    if (Status st = append(request, r.request_head, {}, nullptr, nullptr); !st) return st;
  }
  return {};
}

Status WarcWriter::flush() {
  if (file_ && std::fflush(file_) != 0)
    return Status::error("WARC: cannot write " + options_.dir + "/" + name_ + ": " + std::strerror(errno));
  return {};
}

Status WarcWriter::close() {
  if (!file_) return {};
  Status st;
  if (std::fclose(file_) != 0)
    st = Status::error("WARC: cannot write " + options_.dir + "/" + name_ + ": " + std::strerror(errno));
  file_ = nullptr;
  if (options_.cdx) {
    std::sort(cdx_.begin(), cdx_.end());
    const std::string base = name_.substr(0, name_.size() - std::string_view(".warc.gz").size());
    const std::string path = options_.dir + "/" + base + ".cdxj";
    std::FILE* f = std::fopen(path.c_str(), "wx");  // never over an existing file either
    if (!f) {
      if (st) st = Status::error("WARC: cannot create " + path + ": " + std::strerror(errno));
    } else {
      for (const auto& line : cdx_) {
        std::fputs(line.c_str(), f);
        std::fputc('\n', f);
      }
      if (std::fclose(f) != 0 && st) st = Status::error("WARC: cannot write " + path);
    }
    cdx_.clear();
  }
  return st;
}

namespace {

// Archiving runs on a thread of its own: compressing and writing cost about as much CPU as
// the crawling itself, and a crawling rank's core should fetch and parse. The crawl thread
// hands over the capture (moved, not copied) and goes on; a bounded queue keeps a slow disk
// from filling the memory (the crawl thread waits when kMaxQueuedBytes are pending).
class ArchivingFetcher final : public Fetcher {
 public:
  ArchivingFetcher(std::unique_ptr<Fetcher> inner, std::unique_ptr<WarcWriter> writer,
                   std::function<void(const std::string&)> on_error)
      : inner_(std::move(inner)), writer_(std::move(writer)), on_error_(std::move(on_error)) {
    thread_ = std::thread([this] { run(); });
  }
  ~ArchivingFetcher() override {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    work_.notify_all();
    thread_.join();
    if (Status st = writer_->close(); !st && error_.empty()) error_ = st.message();
    report();
  }

  void submit(FetchRequest request) override { inner_->submit(std::move(request)); }
  std::vector<FetchResult> poll(std::chrono::milliseconds max_wait) override {
    auto results = inner_->poll(max_wait);
    std::unique_lock lock(mu_);
    for (auto& r : results) {
      if (failed_ || r.response_head.empty()) {
        free_capture(r);
        continue;
      }
      FetchResult item;  // what the record needs; the engine keeps the rest (and the body)
      item.url = r.url;
      item.http_status = r.http_status;
      item.error = r.error;
      item.error_kind = r.error_kind;
      item.content_type = r.content_type;
      item.started = r.started;
      item.ip = r.ip;
      item.payload_sha1 = r.payload_sha1;
      item.request_head = std::move(r.request_head);
      item.response_head = std::move(r.response_head);
      item.payload = std::move(r.payload);
      free_capture(r);
      const std::size_t size = item.payload.size() + item.response_head.size();
      room_.wait(lock, [&] { return queued_bytes_ < kMaxQueuedBytes || failed_; });
      if (failed_) continue;
      queued_bytes_ += size;
      queue_.push_back(std::move(item));
    }
    lock.unlock();
    work_.notify_one();
    report();
    return results;
  }
  std::size_t in_flight() const override { return inner_->in_flight(); }

 private:
  static constexpr std::size_t kMaxQueuedBytes = 64 << 20;

  static void free_capture(FetchResult& r) {
    std::string().swap(r.request_head);
    std::string().swap(r.response_head);
    std::string().swap(r.payload);
  }

  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      work_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closing, all written
      FetchResult item = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      Status st = writer_->write(item);
      // Whole records on disk whenever the queue runs dry: a rank killed later leaves a
      // readable file.
      lock.lock();
      queued_bytes_ -= item.payload.size() + item.response_head.size();
      if (st && queue_.empty()) {
        lock.unlock();
        st = writer_->flush();
        lock.lock();
      }
      if (!st && !failed_) {
        failed_ = true;
        error_ = st.message() + "; archiving stopped, the crawl goes on";
        queue_.clear();
        queued_bytes_ = 0;
      }
      room_.notify_all();
    }
  }

  // On the crawl thread: the first failure, once.
  void report() {
    std::string e;
    {
      std::lock_guard lock(mu_);
      if (error_.empty() || reported_) return;
      reported_ = true;
      e = error_;
    }
    if (on_error_) on_error_(e);
  }

  std::unique_ptr<Fetcher> inner_;
  std::unique_ptr<WarcWriter> writer_;  // used by the archiving thread only (and after join)
  std::function<void(const std::string&)> on_error_;
  std::mutex mu_;
  std::condition_variable work_, room_;
  std::deque<FetchResult> queue_;
  std::size_t queued_bytes_ = 0;
  bool closing_ = false, failed_ = false, reported_ = false;
  std::string error_;
  std::thread thread_;  // last: started once everything it uses exists
};

}  // namespace

std::unique_ptr<Fetcher> make_archiving_fetcher(std::unique_ptr<Fetcher> inner, std::unique_ptr<WarcWriter> writer,
                                                std::function<void(const std::string&)> on_error) {
  return std::make_unique<ArchivingFetcher>(std::move(inner), std::move(writer), std::move(on_error));
}

}  // namespace rankpool::crawl
