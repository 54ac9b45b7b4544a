#include "logs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace rankpool::run {

const char* to_string(TaskStatus s) {
  switch (s) {
    case TaskStatus::ok:
      return "ok";
    case TaskStatus::failed:
      return "failed";
    case TaskStatus::timeout:
      return "timeout";
    case TaskStatus::interrupted:
      return "interrupted";
    case TaskStatus::spawn_error:
      return "spawn_error";
    case TaskStatus::not_started:
      return "not_started";
  }
  return "unknown";
}

std::string joblog_header() { return "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"; }

std::string joblog_line(const TaskResult& r, std::string_view command) {
  // As parallel's print_joblog: Starttime "%.3f", JobRuntime "%10.3f", newlines in the
  // command as NUL so that one task stays one line.
  std::string cmd(command);
  for (char& c : cmd)
    if (c == '\n') c = '\0';
  char buf[160];
  std::snprintf(buf, sizeof buf, "%llu\t", static_cast<unsigned long long>(r.seq));
  std::string line = buf;
  line += r.host;
  std::snprintf(buf, sizeof buf, "\t%.3f\t%10.3f\t0\t%llu\t%d\t%d\t", r.start_unix, r.seconds,
                static_cast<unsigned long long>(r.out_bytes), r.exit_code, r.signal);
  line += buf;
  line += cmd;
  line += '\n';
  return line;
}

namespace {

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (std::size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0)) return false;  // overlong, surrogates
    if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90)) return false;  // overlong, > U+10FFFF
    i += n + 1;
  }
  return true;
}

std::string base64(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += k[v & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += i + 1 < in.size() ? k[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

void put_output(boost::json::object& o, const char* name, std::string_view data, std::size_t max) {
  std::string_view kept = data.substr(0, std::min(max, data.size()));
  // A cut in the middle of a UTF-8 sequence is not a reason to fall back to base64: drop the
  // incomplete character.
  if (kept.size() < data.size() && !kept.empty()) {
    std::size_t lead = kept.size() - 1;
    while (lead > 0 && kept.size() - lead < 4 && (static_cast<unsigned char>(kept[lead]) & 0xC0) == 0x80) --lead;
    const auto c = static_cast<unsigned char>(kept[lead]);
    const std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (lead + len > kept.size()) kept = kept.substr(0, lead);
  }
  if (valid_utf8(kept)) {
    o[name] = kept;
  } else {
    o[std::string(name) + "_base64"] = base64(kept);
  }
}

}  // namespace

std::string jsonl_record(const TaskResult& r, std::string_view command, std::size_t max_output) {
  boost::json::object o;
  o["task"] = r.seq;
  o["command"] = valid_utf8(command) ? boost::json::value(command) : boost::json::value(base64(command));
  o["host"] = r.host;
  o["rank"] = r.rank;
  o["slot"] = r.slot;
  o["attempt"] = r.attempt;
  o["start"] = r.start_unix;
  o["seconds"] = r.seconds;
  o["exit"] = r.exit_code;
  o["signal"] = r.signal;
  o["status"] = to_string(r.status);
  o["out_bytes"] = r.out_bytes;
  o["err_bytes"] = r.err_bytes;
  put_output(o, "stdout", r.out, max_output);
  put_output(o, "stderr", r.err, max_output);
  if (!r.error.empty()) o["error"] = r.error;
  std::string line = boost::json::serialize(o);
  line += '\n';
  return line;
}

std::string results_path(const std::string& dir, std::uint64_t seq, std::string_view ext) {
  char bucket[32];
  std::snprintf(bucket, sizeof bucket, "%04llu", static_cast<unsigned long long>(seq / 1000));
  return dir + "/" + bucket + "/" + std::to_string(seq) + "." + std::string(ext);
}

AppendFile::AppendFile(const std::string& path, bool truncate) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0644);
  if (fd_ < 0) throw std::runtime_error("cannot open '" + path + "': " + std::strerror(errno));
}

AppendFile::AppendFile(AppendFile&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }

AppendFile& AppendFile::operator=(AppendFile&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

AppendFile::~AppendFile() {
  if (fd_ >= 0) ::close(fd_);
}

void AppendFile::append(std::string_view record) {
  // One write(2) per record: with O_APPEND a record is never interleaved or torn by a kill of
  // this process (a full disk may still cut it; the error says so).
  while (!record.empty()) {
    const ssize_t n = ::write(fd_, record.data(), record.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("cannot write '" + path_ + "': " + std::strerror(errno));
    }
    record.remove_prefix(static_cast<std::size_t>(n));
  }
}

void AppendFile::sync() {
  if (fd_ >= 0 && ::fsync(fd_) != 0) throw std::runtime_error("cannot sync '" + path_ + "': " + std::strerror(errno));
}

namespace {

std::optional<std::uint64_t> record_seq(std::string_view line, LogKind kind) {
  if (kind == LogKind::joblog) {
    std::uint64_t v = 0;
    std::size_t i = 0;
    for (; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) v = v * 10 + static_cast<unsigned>(line[i] - '0');
    if (i == 0 || i >= line.size() || line[i] != '\t') return std::nullopt;
    return v;
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* t = v.as_object().if_contains("task");
  if (!t) return std::nullopt;
  if (t->is_uint64()) return t->as_uint64();
  if (t->is_int64() && t->as_int64() >= 0) return static_cast<std::uint64_t>(t->as_int64());
  return std::nullopt;
}

}  // namespace

std::uint64_t keep_records(const std::string& path, LogKind kind, const std::function<bool(std::uint64_t)>& keep) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return 0;
  std::string out, line;
  std::uint64_t dropped = 0;
  bool first = true;
  while (std::getline(in, line)) {
    if (in.eof()) {
      ++dropped;  // a record cut short by a kill: its task reruns
      break;
    }
    const bool header = first && kind == LogKind::joblog && line.rfind("Seq\t", 0) == 0;
    first = false;
    const std::optional<std::uint64_t> seq = header ? std::nullopt : record_seq(line, kind);
    if (header || (seq && keep(*seq))) {
      out += line;
      out += '\n';
    } else {
      ++dropped;
    }
  }
  write_file(path, out);
  return dropped;
}

void write_file(const std::string& path, std::string_view data) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  const std::string tmp = path + ".tmp";
  {
    AppendFile f(tmp, true);
    f.append(data);
    f.sync();
  }
  std::error_code ec;
  fs::rename(tmp, p, ec);
  if (ec) throw std::runtime_error("cannot replace '" + path + "': " + ec.message());
}

}  // namespace rankpool::run
