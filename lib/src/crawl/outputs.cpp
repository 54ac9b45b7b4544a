// The output directory (prepare_output_dir) and its files: pages.jsonl, links.tsv,
// summary.json; writing, syncing, depth fixes.
#include "crawl/outputs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <memory>

#include "rankpool/crawl/checkpoint.hpp"
#include "rankpool/crawl/crawler.hpp"
#include "rankpool/crawl/records.hpp"
#include "rankpool/runtime/stats.hpp"

namespace rankpool::crawl {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// The files that make a directory hold a crawl. Not OUT/warc/ (WARC files are never
// overwritten) nor OUT/bodies/ (on the fetching ranks' hosts, out of rank 0's reach).
constexpr const char* kCrawlFiles[] = {"pages.jsonl", "links.tsv", "checkpoint.json", "summary.json"};

}  // namespace

std::vector<std::string> crawl_files_in(const std::string& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const char* name : kCrawlFiles)
    if (fs::exists(fs::path(dir) / name, ec)) found.emplace_back(name);
  return found;
}

Status prepare_output_dir(const std::string& dir, ExistingCrawl existing) {
  if (dir.empty()) return Status::error("--out-dir must name a directory");
  std::error_code ec;
  if (existing == ExistingCrawl::refuse) {
    if (const auto found = crawl_files_in(dir); !found.empty()) {
      std::string names;
      for (const auto& n : found) names += (names.empty() ? "" : ", ") + n;
      return Status::error("--out-dir " + dir + " holds a crawl (" + names +
                           "): give --resume to continue it, --overwrite to replace it, or another --out-dir");
    }
  }
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    return Status::error("cannot create output directory " + dir + (ec ? ": " + ec.message() : ""));
  const std::string probe = dir + "/.rankpool-write-test";
  {
    std::ofstream out(probe);
    out << "x";
    if (!out) return Status::error("output directory " + dir + " is not writable");
  }
  fs::remove(probe, ec);
  if (existing == ExistingCrawl::overwrite) {
    // Removed, not truncated: a run killed before it writes summary.json must not leave the
    // old crawl's summary (or checkpoint) beside the new crawl's records.
    for (const char* name : kCrawlFiles) {
      for (const std::string& file : {std::string(name), std::string(name) + ".tmp"}) {
        fs::remove(fs::path(dir) / file, ec);
        if (ec) return Status::error("--overwrite: cannot remove " + dir + "/" + file + ": " + ec.message());
      }
    }
  }
  return {};
}

Status Outputs::open(const std::string& dir, bool append) {
  dir_ = dir;
  if (!append) {
    // Shards of an earlier crawl in this directory must not join this one's (a resume merged
    // its own before this: load_resume()).
    std::error_code ec;
    for (const std::string& d : {shard_dir(dir), shard_dir(dir) + ".merged"}) fs::remove_all(d, ec);
  }
  const auto mode = append ? std::ios::app : std::ios::trunc;
  pages_.open(dir + "/pages.jsonl", mode);
  links_.open(dir + "/links.tsv", mode);
  if (!pages_ || !links_) return Status::error("cannot write into output directory " + dir);
  return {};
}

void Outputs::write(const RecordsMessage& m) {
  // Links first, flushed, then the records: a record in pages.jsonl means its page's
  // links are on disk, which is what a resume rebuilds the frontier from.
  links_ << m.edges;
  links_.flush();
  for (const auto& r : m.records) {
    pages_ << to_json_line(r) << '\n';
  }
  // One flush per batch: a killed run keeps what it reported.
  pages_.flush();
}

Status Outputs::sync() {
  for (const char* name : {"/links.tsv", "/pages.jsonl"}) {
    if (Status st = sync_file(dir_ + name); !st) return st;
  }
  return {};
}

Status Outputs::apply_depth_fixes(const std::map<std::string, int>& fixes) {
  pages_.close();
  if (fixes.empty()) return {};
  const std::string path = dir_ + "/pages.jsonl", tmp = path + ".tmp";
  std::ifstream in(path);
  std::ofstream out(tmp, std::ios::trunc);
  std::string line;
  while (std::getline(in, line)) {
    json::value v = json::parse(line);
    auto& o = v.as_object();
    auto it = fixes.find(std::string(o["url"].as_string()));
    if (it != fixes.end()) o["depth"] = it->second;
    out << json::serialize(v) << '\n';
  }
  out.close();
  if (!out) return Status::error("cannot write " + tmp + " (depths left as first recorded)");
  return replace_file(tmp, path);
}

Status Outputs::merge_shards(const std::vector<int>& expect_ranks) {
  pages_.close();
  links_.close();
  Result<MergedShards> merged = crawl::merge_shards(dir_, expect_ranks);
  return merged ? Status{} : merged.status();
}

bool Outputs::write_summary(const json::object& summary) {
  return runtime::write_json_file(dir_ + "/summary.json", summary);
}

std::string shard_dir(const std::string& out_dir) { return out_dir + "/shards"; }

Status ShardWriter::open(const std::string& out_dir, int rank) {
  std::error_code ec;
  fs::create_directories(shard_dir(out_dir), ec);
  const std::string base = shard_dir(out_dir) + "/";
  links_path_ = base + "links." + std::to_string(rank) + ".tsv";
  pages_path_ = base + "pages." + std::to_string(rank) + ".jsonl";
  links_.open(links_path_, std::ios::trunc);
  pages_.open(pages_path_, std::ios::trunc);
  if (!links_ || !pages_) return Status::error("cannot write the shard " + pages_path_);
  return {};
}

Status ShardWriter::write(const std::vector<PageRecord>& records, const std::string& edges) {
  // As Outputs::write: the links on disk before the records of their pages.
  links_ << edges;
  links_.flush();
  for (const auto& r : records) pages_ << to_json_line(r) << '\n';
  pages_.flush();
  if (!links_ || !pages_) return Status::error("cannot write the shard " + (links_ ? pages_path_ : links_path_));
  return {};
}

Status ShardWriter::sync() {
  for (const std::string* path : {&links_path_, &pages_path_})
    if (Status st = sync_file(*path); !st) return st;
  return {};
}

namespace {

/// A file descriptor closed on every path out.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Status io_error(const std::string& what, const std::string& path) {
  return Status::error("cannot " + what + " " + path + ": " + std::strerror(errno));
}

/// The length of the file's whole lines: up to and including its last newline.
Result<std::uint64_t> whole_lines(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return io_error("read", path);
  auto end = static_cast<std::uint64_t>(st.st_size);
  char buf[1 << 16];
  while (end > 0) {
    const std::uint64_t n = std::min<std::uint64_t>(end, sizeof buf);
    const ssize_t got = ::pread(fd, buf, n, static_cast<off_t>(end - n));
    if (got != static_cast<ssize_t>(n)) return io_error("read", path);
    for (std::uint64_t i = n; i > 0; --i)
      if (buf[i - 1] == '\n') return end - n + i;
    end -= n;
  }
  return std::uint64_t{0};
}

/// Appends the whole lines of `from` at offset `at` of `out` (copy_file_range: in the kernel,
/// no copy through rank 0's memory where the filesystem allows; read/write elsewhere).
Result<std::uint64_t> append_lines(const std::string& from, int out, std::uint64_t at, const std::string& out_path) {
  const Fd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.fd < 0) return io_error("read", from);
  Result<std::uint64_t> len = whole_lines(in.fd, from);
  if (!len) return len.status();
  off_t in_off = 0, out_off = static_cast<off_t>(at);
  std::uint64_t left = *len;
  bool plain = false;
  while (left > 0) {
    ssize_t n = -1;
    if (!plain) {
      n = ::copy_file_range(in.fd, &in_off, out, &out_off, left, 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
        plain = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
    } else {
      char buf[1 << 16];
      n = ::pread(in.fd, buf, std::min<std::uint64_t>(left, sizeof buf), in_off);
      if (n > 0) {
        for (ssize_t done = 0; done < n;) {
          const ssize_t w = ::pwrite(out, buf + done, static_cast<std::size_t>(n - done), out_off);
          if (w < 0 && errno == EINTR) continue;
          if (w <= 0) return io_error("write", out_path);
          done += w;
          out_off += w;
        }
        in_off += n;
      }
    }
    if (n < 0) return io_error("append " + from + " to", out_path);
    if (n == 0) return Status::error("cannot append " + from + ": it shrank while being merged");
    left -= static_cast<std::uint64_t>(n);
  }
  return *len;
}

/// The rank of a shard named PREFIX.R.SUFFIX, or -1.
int shard_rank(const std::string& name, std::string_view prefix, std::string_view suffix) {
  if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return -1;
  int rank = -1;
  const char* first = name.data() + prefix.size();
  const char* last = name.data() + name.size() - suffix.size();
  const auto [end, ec] = std::from_chars(first, last, rank);
  return ec == std::errc() && end == last && rank >= 0 ? rank : -1;
}

}  // namespace

Result<MergedShards> merge_shards(const std::string& out_dir, const std::vector<int>& expect_ranks) {
  std::error_code ec;
  const std::string dir = shard_dir(out_dir), gone = dir + ".merged", marker = dir + "/merging";
  fs::remove_all(gone, ec);  // a merge that crashed after its rename
  MergedShards merged;
  if (!fs::is_directory(dir, ec)) {
    if (!expect_ranks.empty())
      return Status::error(dir +
                           " is missing: --output-shards needs --out-dir on a filesystem every rank's host shares");
    return merged;
  }
  std::map<int, std::string> links, pages;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (const int r = shard_rank(name, "links.", ".tsv"); r >= 0) links[r] = entry.path().string();
    if (const int r = shard_rank(name, "pages.", ".jsonl"); r >= 0) pages[r] = entry.path().string();
  }
  if (ec) return Status::error("cannot list " + dir + ": " + ec.message());
  for (int r : expect_ranks)
    if (!pages.count(r))
      return Status::error(dir + "/pages." + std::to_string(r) +
                           ".jsonl is missing: --output-shards needs --out-dir on a filesystem every rank's host "
                           "shares");
  const std::string targets[] = {out_dir + "/links.tsv", out_dir + "/pages.jsonl"};
  const std::map<int, std::string>* sources[] = {&links, &pages};
  std::uint64_t sizes[2] = {0, 0};
  std::vector<std::unique_ptr<Fd>> outs;
  for (const auto& t : targets) {
    outs.push_back(std::make_unique<Fd>(::open(t.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)));
    if (outs.back()->fd < 0) return io_error("write", t);
  }
  if (fs::exists(marker, ec)) {
    // An earlier merge stopped part way: back to the sizes before it, then merge again.
    std::ifstream in(marker);
    if (!(in >> sizes[0] >> sizes[1])) return Status::error(marker + " is corrupt");
  } else {
    // The files end with a whole line (a line a kill left torn is cut), so that the shards'
    // lines start lines.
    for (int i = 0; i < 2; ++i) {
      Result<std::uint64_t> n = whole_lines(outs[static_cast<std::size_t>(i)]->fd, targets[i]);
      if (!n) return n.status();
      sizes[i] = *n;
    }
    std::ofstream out(marker + ".tmp", std::ios::trunc);
    out << sizes[0] << ' ' << sizes[1] << '\n';
    out.close();
    if (!out) return Status::error("cannot write " + marker + ".tmp");
    if (Status s = replace_file(marker + ".tmp", marker); !s) return s;
  }
  for (int i = 0; i < 2; ++i) {
    const int fd = outs[static_cast<std::size_t>(i)]->fd;
    if (::ftruncate(fd, static_cast<off_t>(sizes[i])) != 0) return io_error("cut", targets[i]);
    std::uint64_t at = sizes[i];
    for (const auto& [rank, path] : *sources[i]) {
      Result<std::uint64_t> n = append_lines(path, fd, at, targets[i]);
      if (!n) return n.status();
      at += *n;
      merged.bytes += *n;
      ++merged.files;
    }
    if (::fsync(fd) != 0) return io_error("sync", targets[i]);
  }
  // The merge is durable: the shards go at once (one rename), then their files.
  if (std::rename(dir.c_str(), gone.c_str()) != 0) return io_error("rename", dir);
  if (const Fd d(::open(out_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); d.fd >= 0) ::fsync(d.fd);
  fs::remove_all(gone, ec);
  return merged;
}

}  // namespace rankpool::crawl
