// The output directory (prepare_output_dir) and its files: pages.jsonl, links.tsv,
// summary.json; writing, syncing, depth fixes.
#include "crawl/outputs.hpp"

#include <boost/json.hpp>
#include <filesystem>

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

bool Outputs::write_summary(const json::object& summary) {
  return runtime::write_json_file(dir_ + "/summary.json", summary);
}

}  // namespace rankpool::crawl
