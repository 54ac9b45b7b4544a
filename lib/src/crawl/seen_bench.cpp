// rankpool-seen-bench: bytes per seen URL and per queued URL, the engine's structures (issue #16)
// against the ones they replaced, each measured in a child process of its own: the growth of
// its resident set (RSS) and, for the new ones, their own accounting. Usage:
//   rankpool-seen-bench [--tables] [N ...]   (default: 100000 1000000; --tables: the tables' peak RSS only)
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "rankpool/crawl/frontier.hpp"
#include "rankpool/crawl/seen_set.hpp"

namespace {

using namespace rankpool::crawl;

// Canonical URLs shaped like a crawl's: a thousand hosts, sections, article pages (~60 bytes).
std::string url(std::size_t i) {
  return "http://host" + std::to_string(i % 1000) + ".example.test/section" + std::to_string(i % 37) + "/article-" +
         std::to_string(i) + ".html";
}

long rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// The engine's per-URL state before issue #16 (engine.cpp's UrlState), keyed by the URL.
struct OldUrlState {
  int depth = 0;
  int recorded_depth = -1;
  std::uint8_t stage = 0;
  std::vector<std::string> children;
  std::string redirect;
  std::string referrer;
  std::uint32_t attempts = 0;
  std::vector<std::string> retried;
};
struct OldEntry {
  int depth;
  std::uint64_t seq;
  std::string url;
  bool operator>(const OldEntry& o) const { return depth != o.depth ? depth > o.depth : seq > o.seq; }
};

struct Measure {
  double rss = 0, own = 0, seconds = 0;  // bytes per URL; own: -1 when the structure has no accounting
};

// Runs `body` in a child and reports per-URL figures. `body` returns its structure's own byte
// count (or -1) and sets `rss` to the RSS while the structure is alive (before it is freed).
Measure in_child(std::size_t n, const std::function<double(long& rss)>& body) {
  int fds[2];
  if (pipe(fds) != 0) std::exit(1);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    const long before = rss_bytes();
    const auto t0 = std::chrono::steady_clock::now();
    long after = 0;
    const double own = body(after);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    Measure m{static_cast<double>(after - before) / static_cast<double>(n), own < 0 ? -1 : own / static_cast<double>(n),
              seconds};
    if (write(fds[1], &m, sizeof m) != sizeof m) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  Measure m;
  if (read(fds[0], &m, sizeof m) != sizeof m) m.rss = -1;
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  return m;
}

void row(std::size_t n, const char* what, const Measure& m) {
  if (m.own < 0)
    std::printf("| %zu | %s | %.1f | - | %.2f |\n", n, what, m.rss, m.seconds);
  else
    std::printf("| %zu | %s | %.1f | %.1f | %.2f |\n", n, what, m.rss, m.own, m.seconds);
  std::fflush(stdout);
}

// The fingerprint tables alone, on precomputed fingerprints: their peak RSS (VmHWM, reset in
// the child), which a growth sets while it holds the old arrays beside the new, and the
// seconds of n inserts and of n lookups (issue #16, flat RSS).
long status_kib(const char* field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind(field, 0) == 0) return std::strtol(line.c_str() + std::strlen(field), nullptr, 10);
  return -1;
}

struct Peak {
  double peak_mib = 0, held_mib = 0, own_mib = 0, insert_s = 0, lookup_s = 0;
};

template <class Body>
Peak peak_in_child(Body body) {
  int fds[2];
  if (pipe(fds) != 0) std::exit(1);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    Peak p = body();
    if (write(fds[1], &p, sizeof p) != sizeof p) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  Peak p{-1, -1, -1, -1, -1};
  if (read(fds[0], &p, sizeof p) != sizeof p) p.peak_mib = -1;
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  return p;
}

void peak_rows(const std::vector<std::size_t>& sizes) {
  std::printf(
      "\n| URLs | tables | peak RSS growth MiB (VmHWM) | RSS growth MiB after | own count MiB | insert s | lookup s |\n"
      "|---|---|---|---|---|---|---|\n");
  for (const std::size_t n : sizes)
    for (const bool both : {false, true}) {
      const Peak p = peak_in_child([n, both] {
        std::vector<std::uint64_t> fps(n);
        for (std::size_t i = 0; i < n; ++i) fps[i] = url_fingerprint(url(i));
        std::ofstream("/proc/self/clear_refs") << "5";  // resets VmHWM to the current RSS
        const long before = status_kib("VmRSS:");
        FingerprintTable<std::uint32_t> seen;
        FingerprintTable<std::uint64_t> pages;
        const auto t0 = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < n; ++i) {
          seen.insert(fps[i], 8);
          if (both) pages.insert(fps[i], i);
        }
        const auto t1 = std::chrono::steady_clock::now();
        std::size_t found = 0;
        for (std::size_t i = 0; i < n; ++i) found += seen.find(fps[i]) != nullptr;
        const auto t2 = std::chrono::steady_clock::now();
        if (found != n) std::fprintf(stderr, "  lost %zu of %zu fingerprints\n", n - found, n);
        constexpr double kib = 1024;
        return Peak{static_cast<double>(status_kib("VmHWM:") - before) / kib,
                    static_cast<double>(status_kib("VmRSS:") - before) / kib,
                    static_cast<double>(seen.memory_bytes() + pages.memory_bytes()) / kib / kib,
                    std::chrono::duration<double>(t1 - t0).count(), std::chrono::duration<double>(t2 - t1).count()};
      });
      std::printf("| %zu | %s | %.1f | %.1f | %.1f | %.3f | %.3f |\n", n,
                  both ? "seen-set + page index (4 + 8 B values)" : "seen-set (4 B values)", p.peak_mib, p.held_mib,
                  p.own_mib, p.insert_s, p.lookup_s);
      std::fflush(stdout);
    }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes;
  const bool tables_only = argc > 1 && std::strcmp(argv[1], "--tables") == 0;  // the peak RSS rows only
  for (int i = tables_only ? 2 : 1; i < argc; ++i) sizes.push_back(std::strtoull(argv[i], nullptr, 10));
  if (sizes.empty()) sizes = {100000, 1000000};
  if (tables_only) {
    peak_rows(sizes);
    return 0;
  }
  std::printf("| URLs | structure | bytes/URL (RSS) | bytes/URL (own count) | seconds |\n|---|---|---|---|---|\n");
  for (const std::size_t n : sizes) {
    row(n, "seen, before: unordered_map<string, UrlState>", in_child(n, [n](long& rss) {
          std::unordered_map<std::string, OldUrlState> urls;
          for (std::size_t i = 0; i < n; ++i) urls.try_emplace(url(i)).first->second.depth = 1;
          rss = rss_bytes();
          return urls.size() > 0 ? -1.0 : 0.0;
        }));
    row(n, "seen, now: fingerprint table", in_child(n, [n](long& rss) {
          FingerprintTable<std::uint32_t> seen;
          for (std::size_t i = 0; i < n; ++i) seen.insert(url_fingerprint(url(i)), 8);
          rss = rss_bytes();
          return static_cast<double>(seen.memory_bytes());
        }));
    row(n, "seen + every URL a fetched page (index of its spilled links)", in_child(n, [n](long& rss) {
          FingerprintTable<std::uint32_t> seen;
          PageSpill pages;
          for (std::size_t i = 0; i < n; ++i) {
            const auto fp = url_fingerprint(url(i));
            seen.insert(fp, 8);
            (void)pages.append(fp, SpilledPage{1, url(i), {}, {url(i + 1), url(i + 2)}});
          }
          rss = rss_bytes();
          return static_cast<double>(seen.memory_bytes() + pages.memory_bytes());
        }));
    row(n, "queued, before: priority_queue<Entry> + referrer in UrlState", in_child(n, [n](long& rss) {
          std::priority_queue<OldEntry, std::vector<OldEntry>, std::greater<OldEntry>> queue;
          std::vector<std::string> referrers;  // what UrlState held per queued URL beyond its key
          for (std::size_t i = 0; i < n; ++i) {
            queue.push({1, i, url(i)});
            referrers.push_back(url(i / 8));
          }
          rss = rss_bytes();
          return -1.0;
        }));
    row(n, "queued, now: host queue in memory (--frontier-memory 0)", in_child(n, [n](long& rss) {
          FrontierStore store(0);
          HostQueue queue(store);
          for (std::size_t i = 0; i < n; ++i) queue.push({1, url(i), url(i / 8)});
          rss = rss_bytes();
          return static_cast<double>(store.memory_bytes());
        }));
    row(n, "queued, now: --frontier-memory 4 MiB (the rest on disk)", in_child(n, [n](long& rss) {
          FrontierStore store(4 << 20);
          HostQueue queue(store);
          for (std::size_t i = 0; i < n; ++i) queue.push({1, url(i), url(i / 8)});
          rss = rss_bytes();
          return static_cast<double>(store.memory_bytes());
        }));
    // A crawl's frontier is rarely one long FIFO: in the 1,001 x 300 test web a crawling rank
    // holds about 2 URLs per host and depth over dozens of depths. Spilling only tails that
    // filled a chunk, none of these ever did and the budget did not hold; the store's eviction
    // writes whole (host, depth) FIFOs out, and what stays per URL is their on-disk bookkeeping.
    row(n, "queued, now: 2 per host and depth, 60 depths, --frontier-memory 4 MiB", in_child(n, [n](long& rss) {
          FrontierStore store(4 << 20);
          std::vector<std::unique_ptr<HostQueue>> hosts(std::max<std::size_t>(1, n / 120));
          for (auto& h : hosts) h = std::make_unique<HostQueue>(store);
          for (std::size_t i = 0; i < n; ++i) {
            const std::size_t h = i % hosts.size(), k = i / hosts.size();  // k-th URL of host h
            hosts[h]->push({static_cast<int>(k / 2), url(i), url(i / 8)});
          }
          rss = rss_bytes();
          std::fprintf(stderr,
                       "  (%zu URLs over %zu hosts: %llu spilled, %llu bytes of on-disk segments' bookkeeping)\n", n,
                       hosts.size(), static_cast<unsigned long long>(store.spilled()),
                       static_cast<unsigned long long>(store.index_bytes()));
          return static_cast<double>(store.memory_bytes());
        }));
  }
  peak_rows(sizes);
  return 0;
}
