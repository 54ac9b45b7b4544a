#pragma once
// rankpool-crawl's command line: options, seeds (arguments, a file or stdin), checks.
// Run on rank 0 only (stdin and the output directory are there).

#include <string>

#include "rankpool/crawl/crawler.hpp"

namespace rankpool::crawl {

struct CrawlCli {
  CrawlJob job;
  bool help = false;     // --help: print `help_text` and exit 0
  bool version = false;  // --version: the app prints its version and exits 0
  std::string help_text;
  std::string error;           // one line, without the program name; empty when usable
  bool nothing_to_do = false;  // --resume of a complete crawl: print `notice` and exit 0
  std::string notice;
  // One line for rank 0 to print on stderr before a crawl that goes ahead (the options are
  // usable): no --contact (nor --user-agent) was given.
  std::string warning;
  // One line for rank 0 to print on stderr before a crawl that goes ahead: the proxy in use
  // ("proxy http://... for http and https (https_proxy)"); empty when requests go direct.
  std::string proxy_notice;
};

/// Parses argv; reads --seeds FILE ('-' = stdin); normalizes the seeds (each must be an
/// http(s) URL whose host resolves); validates the options; creates --out-dir DIR. With
/// --resume, loads the checkpoint and logs of --out-dir DIR (load_resume) into job.resume.
/// Proxies and the CA bundle come from the options, else from this process's environment
/// (choose_proxies, choose_ca_cert): rank 0's, handed to every rank in the job.
CrawlCli parse_crawl_cli(int argc, const char* const* argv);

}  // namespace rankpool::crawl
