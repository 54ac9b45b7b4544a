// Checkpoint and resume: checkpoint.json, and the frontier rebuilt from pages.jsonl and links.tsv.
#include "rankpool/crawl/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "crawl/outputs.hpp"
#include "rankpool/crawl/links.hpp"
#include "rankpool/crawl/url.hpp"

namespace rankpool::crawl {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr std::string_view kFormat = "rankpool-crawl checkpoint 1";

/// What decides which URLs a crawl fetches: a resume must agree on all of it. Politeness,
/// timeouts, budgets and parallelism may change between runs.
json::object fingerprint(const CrawlOptions& o, const std::vector<std::string>& seeds) {
  std::vector<std::string> sorted = seeds;
  std::sort(sorted.begin(), sorted.end());
  return json::object{{"seeds", json::value_from(sorted)},
                      {"scope", std::string(to_string(o.scope))},
                      {"max_depth", o.max_depth},
                      {"include", json::value_from(o.include)},
                      {"exclude", json::value_from(o.exclude)},
                      {"max_url_length", static_cast<std::int64_t>(o.max_url_length)},
                      {"max_path_depth", o.max_path_depth},
                      {"max_repeated_segment", o.max_repeated_segment},
                      {"follow_all", o.follow_all},
                      {"ignore_robots", o.ignore_robots},
                      {"sitemaps", o.sitemaps},
                      {"robots_token", robots_token(o.user_agent)}};
}

/// The option a fingerprint field comes from, for the error message.
std::string option_name(std::string_view field) {
  if (field == "seeds") return "seeds";
  if (field == "robots_token") return "--user-agent product token";
  std::string s = "--" + std::string(field);
  std::replace(s.begin(), s.end(), '_', '-');
  return s;
}

std::string read_file(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

}  // namespace

Status sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::error("cannot sync " + path + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Status::error("cannot sync " + path + ": " + std::strerror(err));
  return {};
}

Status replace_file(const std::string& tmp, const std::string& path) {
  // fsync before rename: otherwise a power cut can leave the new name on empty data.
  if (Status s = sync_file(tmp); !s) return s;
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return Status::error("cannot rename " + tmp + ": " + std::strerror(errno));
  const std::string dir = fs::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {  // the rename itself durable; best effort (some filesystems refuse)
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

namespace {

/// Writes `text` to `path` so that a crash leaves either the old file or the new one.
Status write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::error("cannot write " + tmp + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string e = std::strerror(errno);
      ::close(fd);
      return Status::error("cannot write " + tmp + ": " + e);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) return Status::error("cannot write " + tmp + ": " + std::strerror(errno));
  return replace_file(tmp, path);
}

}  // namespace

Status write_checkpoint(const std::string& out_dir, const CrawlOptions& options, const std::vector<std::string>& seeds,
                        const Checkpoint& c) {
  json::array hosts;
  for (const auto& h : c.hosts) hosts.push_back(to_json(h));
  const json::object doc{{"format", kFormat},
                         {"crawl", fingerprint(options, seeds)},
                         {"runs", c.runs},
                         {"complete", c.complete},
                         {"interrupted", c.interrupted},
                         {"pages", c.pages},
                         {"robots_fetches", c.robots_fetches},
                         {"hosts", std::move(hosts)}};
  return write_atomically(out_dir + "/checkpoint.json", json::serialize(doc) + "\n");
}

namespace {

Status load_resume_into(const std::string& out_dir, const CrawlOptions& options, const std::vector<std::string>& seeds,
                        ResumeState& st) {
  auto fail = [](std::string message) { return Status::error(std::move(message)); };
  const std::string ckpt_path = out_dir + "/checkpoint.json";
  if (!fs::exists(ckpt_path))
    return fail("--resume: no checkpoint in " + out_dir + " (" + ckpt_path + " does not exist): nothing to resume");
  bool ok = false;
  const std::string ckpt_text = read_file(ckpt_path, ok);
  if (!ok) return fail("--resume: cannot read " + ckpt_path);
  json::object doc;
  try {
    json::value v = json::parse(ckpt_text);
    if (!v.is_object()) throw std::invalid_argument("not an object");
    doc = std::move(v.as_object());
    if (doc.at("format").as_string() != kFormat)
      return fail("--resume: " + ckpt_path + " is not a checkpoint this version reads");
    const json::object want = fingerprint(options, seeds);
    const json::object& got = doc.at("crawl").as_object();
    for (const auto& [key, value] : want) {
      const json::value* had = got.if_contains(key);
      if (had && *had == value) continue;
      // A switch added after the checkpoint was written (e.g. --sitemaps) is off there.
      if (!had && value.is_bool() && !value.as_bool()) continue;
      if (key == "seeds")
        return fail("--resume: " + out_dir + " holds a crawl from other seeds (" +
                    std::to_string(had && had->is_array() ? had->as_array().size() : 0) + " there, " +
                    std::to_string(seeds.size()) + " given); resume with the same seeds or use a new --out-dir");
      return fail("--resume: " + out_dir + " holds a crawl with " + option_name(key) + " " +
                  (had ? json::serialize(*had) : std::string("(unset)")) + ", this run has " + json::serialize(value) +
                  "; resume with the same seeds, scope and link rules or use a new --out-dir");
    }
    st.checkpoint.runs = static_cast<int>(doc.at("runs").to_number<std::int64_t>());
    st.checkpoint.complete = doc.at("complete").as_bool();
    st.checkpoint.interrupted = doc.at("interrupted").as_bool();
    st.checkpoint.pages = doc.at("pages").to_number<std::uint64_t>();
    st.checkpoint.robots_fetches = doc.at("robots_fetches").to_number<std::uint64_t>();
    for (const auto& hv : doc.at("hosts").as_array()) {
      Result<HostCheckpoint> h = host_checkpoint_from_json(hv);
      if (!h) throw std::invalid_argument("a host: " + h.status().message());
      st.checkpoint.hosts.push_back(std::move(*h));
    }
  } catch (const std::exception& e) {
    return fail("--resume: " + ckpt_path + " is corrupt (" + e.what() + ")");
  }

  // --output-shards: a run that ended before rank 0 merged the crawling ranks' shards (a
  // kill) left records in OUT/shards/; they join the logs first.
  if (Result<MergedShards> merged = merge_shards(out_dir); !merged) return merged.status().prefixed("--resume: ");
  // pages.jsonl: the fetched set. A kill can cut its last line short (the master was
  // writing a batch); that record never counted, the URL is fetched again.
  const std::string pages_path = out_dir + "/pages.jsonl";
  if (!fs::exists(pages_path)) return fail("--resume: " + pages_path + " is missing");
  std::string pages_text = read_file(pages_path, ok);
  if (!ok) return fail("--resume: cannot read " + pages_path);
  struct Loaded {
    int status = 0, depth = 0;
    std::string redirect;
    bool nofollow = false, html_ok = false;
  };
  std::unordered_map<std::string, std::size_t> index;  // url -> st.fetched position
  std::vector<Loaded> loaded;
  std::size_t pos = 0, line_no = 0;
  while (pos < pages_text.size()) {
    const std::size_t nl = pages_text.find('\n', pos);
    ++line_no;
    if (nl == std::string::npos) {  // torn: cut it off so that appending starts clean
      std::error_code ec;
      fs::resize_file(pages_path, pos, ec);
      if (ec) return fail("--resume: cannot cut the torn last line of " + pages_path + ": " + ec.message());
      st.torn_pages_line = true;
      break;
    }
    const std::string_view line(pages_text.data() + pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    Result<PageRecord> rec = page_record_from_json(line);
    if (!rec) {
      return fail("--resume: " + pages_path + " line " + std::to_string(line_no) + " is not a page record (" +
                  rec.status().message() + ")");
    }
    if (index.count(rec->url)) continue;  // never written twice; tolerate it anyway
    FetchedUrl f;
    f.url = std::move(rec->url);
    Loaded l;
    l.status = rec->status;
    l.depth = rec->depth;
    f.depth = f.recorded_depth = l.depth;
    f.bytes = rec->bytes;
    const bool error = !rec->error.empty();
    f.failed = error || l.status >= 400 || l.status == 0;
    if (!error && l.status >= 300 && l.status < 400) l.redirect = std::move(rec->redirect);
    l.nofollow = rec->nofollow;
    st.bytes += f.bytes;
    ++st.by_status[std::to_string(l.status)];
    if (error) ++st.by_error[rec->error_kind];
    for (const auto& cause : rec->retried) ++st.retries[cause];
    index.emplace(f.url, st.fetched.size());
    st.fetched.push_back(std::move(f));
    loaded.push_back(std::move(l));
  }
  st.pages = st.fetched.size();
  // Neither is needed below: released before links.tsv is read (rank 0's peak while loading).
  std::string().swap(pages_text);
  decltype(index)().swap(index);

  // The filter and follow rules of the engine (engine.cpp, handle_page). The graph works on
  // ids: a URL is a link target about six times, so each is normalized and checked once.
  std::vector<NormalizedUrl> nseeds;
  for (const auto& s : seeds) nseeds.push_back(normalize(s));
  const UrlFilter filter(options, nseeds);
  const UrlOptions url_options{options.max_url_length};
  std::unordered_map<std::string_view, std::uint32_t> id_of;  // views into st.fetched, seeds, interned
  std::vector<std::string_view> names;
  std::vector<std::int8_t> verdict;      // -1 not checked yet, 0 not followed, 1 followed
  std::vector<std::int64_t> fetched_at;  // position in st.fetched, -1 if not fetched
  id_of.reserve(st.fetched.size() * 2);
  auto id = [&](std::string_view url) {
    auto [it, fresh] = id_of.try_emplace(url, static_cast<std::uint32_t>(names.size()));
    if (fresh) {
      names.push_back(url);
      verdict.push_back(-1);
      fetched_at.push_back(-1);
    }
    return it->second;
  };
  auto followable = [&](std::uint32_t i) {
    if (verdict[i] < 0) {
      const NormalizedUrl n = normalize(names[i], url_options);
      verdict[i] = n.ok() && filter.check(n) == UrlFilter::Verdict::follow ? 1 : 0;
    }
    return verdict[i] == 1;
  };
  for (std::size_t i = 0; i < st.fetched.size(); ++i) fetched_at[id(st.fetched[i].url)] = static_cast<std::int64_t>(i);
  std::vector<std::int64_t> redirect_id(st.fetched.size(), -1);
  for (std::size_t i = 0; i < st.fetched.size(); ++i)
    if (!loaded[i].redirect.empty()) redirect_id[i] = id(loaded[i].redirect);

  // links.tsv: out-links of fetched pages. Lines of pages without a record (their batch
  // was cut short) or a torn last line are removed: the page is fetched again.
  const std::string links_path = out_dir + "/links.tsv";
  if (!fs::exists(links_path)) return fail("--resume: " + links_path + " is missing");
  // Read a line at a time: link targets are kept once each (interned), not the file's text.
  std::ifstream links_in(links_path, std::ios::binary);
  if (!links_in) return fail("--resume: cannot read " + links_path);
  std::deque<std::string> interned;  // link targets no page of pages.jsonl names (stable addresses)
  std::vector<std::vector<std::uint32_t>> children(st.fetched.size());
  std::string kept, text;
  bool rewrite = false;
  std::uint64_t offset = 0;
  while (std::getline(links_in, text)) {
    const bool torn = links_in.eof();  // no newline at the end
    const std::string_view line = text;
    const std::uint64_t line_start = offset;
    offset += line.size() + 1;
    const auto t1 = line.find('\t');
    const auto t2 = t1 == std::string_view::npos ? t1 : line.find('\t', t1 + 1);
    auto from = t2 == std::string_view::npos ? id_of.end() : id_of.find(line.substr(0, t1));
    if (torn || from == id_of.end() || fetched_at[from->second] < 0) {
      ++st.dropped_link_lines;
      if (!rewrite) {  // the lines before this one are all kept
        std::ifstream again(links_path, std::ios::binary);
        kept.resize(static_cast<std::size_t>(line_start));
        if (!again.read(kept.data(), static_cast<std::streamsize>(line_start)))
          return fail("--resume: cannot read " + links_path);
      }
      rewrite = true;
      continue;
    }
    if (rewrite) kept.append(line).append(1, '\n');
    ++st.links;
    const auto page = static_cast<std::size_t>(fetched_at[from->second]);
    const std::string_view kind = line.substr(t2 + 1);
    if (loaded[page].nofollow) continue;
    if (!options.follow_all) {
      const std::optional<LinkKind> k = parse_link_kind(kind);
      if (!k || !followed_by_default(*k)) continue;
    }
    const std::string_view target = line.substr(t1 + 1, t2 - t1 - 1);
    const auto known = id_of.find(target);
    const std::uint32_t to = known != id_of.end() ? known->second : id(interned.emplace_back(target));
    if (followable(to)) children[page].push_back(to);
  }
  if (links_in.bad()) return fail("--resume: cannot read " + links_path);
  if (rewrite)
    if (Status s = write_atomically(links_path, kept); !s) return s.prefixed("--resume: ");

  // Shortest depths over the logged graph: a 0-1 BFS from the seeds (link 1, redirect 0),
  // expanding fetched pages only; what it reaches and nobody fetched is the frontier.
  constexpr int kUnreached = std::numeric_limits<int>::max();
  std::vector<int> dist(names.size(), kUnreached);
  std::deque<std::uint32_t> queue;
  auto reach = [&](std::uint32_t v, int d, bool front) {
    if (dist[v] <= d) return;
    dist[v] = d;
    if (front)
      queue.push_front(v);
    else
      queue.push_back(v);
  };
  std::vector<std::uint32_t> seed_ids;
  for (const auto& s : seeds) seed_ids.push_back(id(s));
  dist.resize(names.size(), kUnreached);
  for (auto v : seed_ids) reach(v, 0, false);
  // A node can be queued more than once (its depth improved); the stale copy is skipped.
  std::vector<int> expanded(names.size(), kUnreached);
  while (!queue.empty()) {
    const std::uint32_t v = queue.front();
    queue.pop_front();
    const int d = dist[v];
    if (expanded[v] <= d || fetched_at[v] < 0) continue;
    expanded[v] = d;
    const auto i = static_cast<std::size_t>(fetched_at[v]);
    if (redirect_id[i] >= 0 && followable(static_cast<std::uint32_t>(redirect_id[i])))
      reach(static_cast<std::uint32_t>(redirect_id[i]), d, true);
    if (options.max_depth >= 0 && d + 1 > options.max_depth) continue;
    for (auto c : children[i]) reach(c, d + 1, false);
  }
  for (std::size_t i = 0; i < st.fetched.size(); ++i) {
    auto& f = st.fetched[i];
    const int d = dist[id_of.at(f.url)];
    if (d != kUnreached) f.depth = std::min(d, f.recorded_depth);
    if (redirect_id[i] >= 0 && followable(static_cast<std::uint32_t>(redirect_id[i])))
      f.redirect = names[static_cast<std::size_t>(redirect_id[i])];
    if (f.depth > 0)  // depth 0 never improves: no relaxation needs its links
      for (auto c : children[i]) f.children.emplace_back(names[c]);
  }
  for (std::size_t v = 0; v < names.size(); ++v)
    if (dist[v] != kUnreached && fetched_at[v] < 0) st.frontier.push_back({std::string(names[v]), dist[v], {}});
  std::sort(st.frontier.begin(), st.frontier.end(), [](const UrlAtDepth& a, const UrlAtDepth& b) {
    return a.depth != b.depth ? a.depth < b.depth : a.url < b.url;
  });
  return {};
}

}  // namespace

Result<ResumeState> load_resume(const std::string& out_dir, const CrawlOptions& options,
                                const std::vector<std::string>& seeds) {
  ResumeState state;
  if (Status s = load_resume_into(out_dir, options, seeds, state); !s) return s;
  return state;
}

}  // namespace rankpool::crawl
