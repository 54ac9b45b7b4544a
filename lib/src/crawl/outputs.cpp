// pages.jsonl, links.tsv and summary.json: writing, syncing, depth fixes.
#include "crawl/outputs.hpp"

#include <boost/json.hpp>

#include "rankpool/crawl/checkpoint.hpp"
#include "rankpool/crawl/records.hpp"
#include "rankpool/runtime/stats.hpp"

namespace rankpool::crawl {

namespace json = boost::json;

std::string Outputs::open(const std::string& dir, bool append) {
  dir_ = dir;
  const auto mode = append ? std::ios::app : std::ios::trunc;
  pages_.open(dir + "/pages.jsonl", mode);
  links_.open(dir + "/links.tsv", mode);
  if (!pages_ || !links_) return "cannot write into output directory " + dir;
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

std::string Outputs::sync() {
  for (const char* name : {"/links.tsv", "/pages.jsonl"}) {
    if (Status st = sync_file(dir_ + name); !st) return st.message();
  }
  return {};
}

std::string Outputs::apply_depth_fixes(const std::map<std::string, int>& fixes) {
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
  if (!out) return "cannot write " + tmp + " (depths left as first recorded)";
  return replace_file(tmp, path).message();
}

bool Outputs::write_summary(const json::object& summary) {
  return runtime::write_json_file(dir_ + "/summary.json", summary);
}

}  // namespace rankpool::crawl
