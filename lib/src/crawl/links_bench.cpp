// rankpool-links-bench: throughput of extract_links() against gumbo (parse + walk the tree
// collecting the same links) on the same corpus, measured in the same run.
//
//   rankpool-links-bench [--pages N] [--reps R] [FILE...]
//
// Without files the corpus is N generated pages shaped like real ones (markup-dense text,
// navigation lists, inline scripts and styles, comments, entities in query strings). With
// files, each file is one page.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "links_gumbo_oracle.hpp"
#include "rankpool/crawl/links.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// A page shaped like a news or shop page: head with metadata, navigation, article text,
// scripts and styles. Deterministic (a linear congruential generator) so runs compare.
std::string realistic_page(unsigned seed) {
  std::uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  auto rnd = [&s](unsigned n) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<unsigned>((s >> 33) % n);
  };
  static const char* kWords[] = {"lorem", "ipsum", "dolor", "sit",     "amet",   "consectetur", "adipiscing",
                                 "elit",  "sed",   "do",    "eiusmod", "tempor", "incididunt",  "labore"};
  auto words = [&](unsigned n) {
    std::string w;
    for (unsigned i = 0; i < n; ++i) {
      w += kWords[rnd(14)];
      w += ' ';
    }
    return w;
  };
  std::string p;
  p += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + words(6) + "</title>\n";
  p += "<link rel=\"stylesheet\" href=\"/static/site.css\"><link rel=\"canonical\" href=\"https://127.0.0.2/p/" +
       std::to_string(seed) + "\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  p += "<style>body{font-family:sans-serif;margin:0}.nav a{color:#333}.x>.y{display:none}</style>\n";
  p += "<script>window.dataLayer=window.dataLayer||[];function g(){dataLayer.push(arguments)}"
       "if(a<b&&c>d){document.write('<a href=\"/js\">js</a>')}</script></head>\n<body class=\"page\">\n";
  p += "<header><nav class=\"nav\"><ul>";
  for (unsigned i = 0; i < 25 + rnd(20); ++i) {
    p += "<li class=\"nav-item\"><a class=\"nav-link\" href=\"/section/" + std::to_string(rnd(1000)) + "/\">" +
         words(2) + "</a></li>\n";
  }
  p += "</ul></nav></header>\n<main><article>\n";
  for (unsigned para = 0; para < 20 + rnd(30); ++para) {
    p += "<p class=\"text\">" + words(30 + rnd(60));
    if (rnd(3) == 0)
      p += "<a href=\"https://127.0.0.3/item?id=" + std::to_string(rnd(100000)) + "&amp;ref=home\" rel=\"nofollow\">" +
           words(3) + "</a> ";
    if (rnd(4) == 0) p += "<strong>" + words(4) + "</strong> &mdash; <em>" + words(3) + "</em>";
    p += words(20) + "</p>\n";
    if (rnd(8) == 0) p += "<!-- ad slot " + std::to_string(para) + " <a href=\"/ad\"> -->\n";
    if (rnd(10) == 0)
      p += "<img src=\"/img/" + std::to_string(rnd(500)) + ".jpg\" alt=\"" + words(4) +
           "\" width=\"640\" height=\"480\" loading=\"lazy\">\n";
  }
  p += "</article><aside><div class=\"related\">";
  for (unsigned i = 0; i < 10 + rnd(10); ++i) {
    p += "<div class=\"card\"><a href='../related/" + std::to_string(rnd(10000)) + ".html'><span>" + words(5) +
         "</span></a></div>\n";
  }
  p += "</div></aside></main>\n<footer><p>&copy; 2026 " + words(3) + "</p>";
  p += "<script async src=\"/static/app.js\"></script><script>var cfg={\"a\":1,\"b\":\"</div>\"};</script>";
  p += "</footer></body></html>\n";
  return p;
}

struct Result {
  double seconds = 0;
  std::size_t links = 0;
};

template <typename F>
Result best_of(int reps, const std::vector<std::string>& corpus, F&& extract) {
  Result best;
  best.seconds = 1e30;
  for (int r = 0; r < reps; ++r) {
    std::size_t links = 0;
    const auto t0 = Clock::now();
    for (const std::string& page : corpus) links += extract(page);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (s < best.seconds) best = Result{s, links};
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int pages = 400;
  int reps = 5;
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--pages") == 0 && i + 1 < argc) {
      pages = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--help") == 0) {
      std::puts("usage: rankpool-links-bench [--pages N] [--reps R] [FILE...]");
      return 0;
    } else {
      std::ifstream in(argv[i], std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "cannot read %s\n", argv[i]);
        return 2;
      }
      std::ostringstream ss;
      ss << in.rdbuf();
      corpus.push_back(ss.str());
    }
  }
  if (pages < 1 || reps < 1) {
    std::fprintf(stderr, "--pages and --reps must be positive\n");
    return 2;
  }
  if (corpus.empty()) {
    for (int i = 0; i < pages; ++i) corpus.push_back(realistic_page(static_cast<unsigned>(i)));
  }
  std::size_t bytes = 0;
  for (const auto& p : corpus) bytes += p.size();

  const Result ours =
      best_of(reps, corpus, [](const std::string& p) { return rankpool::crawl::extract_links(p).links.size(); });
  // gumbo is ~two orders of magnitude slower; fewer repetitions keep the run short.
  const Result base = best_of(std::max(1, reps / 3), corpus, [](const std::string& p) {
    return rankpool::crawl::oracle::gumbo_links(p).links.size();
  });

  const double mb = static_cast<double>(bytes) / 1e6;
  std::printf("corpus: %zu pages, %.1f MB, best of %d (extractor) / %d (gumbo) runs\n", corpus.size(), mb, reps,
              std::max(1, reps / 3));
  std::printf("%-22s %10s %12s %10s\n", "extractor", "MB/s", "pages/s", "links");
  std::printf("%-22s %10.1f %12.0f %10zu\n", "rankpool extract_links", mb / ours.seconds,
              static_cast<double>(corpus.size()) / ours.seconds, ours.links);
  std::printf("%-22s %10.1f %12.0f %10zu\n", "gumbo parse+walk", mb / base.seconds,
              static_cast<double>(corpus.size()) / base.seconds, base.links);
  std::printf("speedup over gumbo: %.1fx\n", base.seconds / ours.seconds);
  if (ours.links != base.links) {
    std::printf("note: link counts differ (%zu vs %zu)\n", ours.links, base.links);
  }
  return 0;
}
