// rankpool-testweb: serves the synthetic web on loopback until SIGINT/SIGTERM.
// Prints one line "origins: URL URL ..." once every origin listens (scripts wait for it).
#include <boost/program_options.hpp>

#include <csignal>
#include <fstream>
#include <iostream>

#include "rankpool/testweb/server.hpp"
#include "app_version.hpp"

namespace po = boost::program_options;
using namespace rankpool::testweb;

int main(int argc, char** argv) {
  WebSpec spec;
  spec.base_port = 8080;
  int latency_ms = 0, slow_ms = static_cast<int>(spec.slow_delay.count()),
      fault_delay_ms = static_cast<int>(spec.fault_wait.count());
  std::string truth_file;
  std::vector<std::string> crawl_seeds;
  int max_depth = 3;
  po::options_description desc("rankpool-testweb: a synthetic web on 127.0.0.2.. for crawler tests");
  desc.add_options()("help,h", "this help")("version", "print the version and exit")(
      "hosts", po::value(&spec.hosts)->default_value(spec.hosts),
      "number of hosts (127.0.0.2 .. .254, 127.0.1.1, ...; one open file each)")(
      "pages", po::value(&spec.pages_per_host)->default_value(spec.pages_per_host), "pages per host")(
      "out-degree", po::value(&spec.out_degree)->default_value(spec.out_degree), "links per page")(
      "seed", po::value(&spec.seed)->default_value(spec.seed), "RNG seed of the link graph")(
      "port", po::value(&spec.base_port)->default_value(spec.base_port),
      "port of every host (the extra origin uses port+1); 0 = ephemeral")(
      "address", po::value(&spec.first_address)->default_value(spec.first_address),
      "IPv4 address of the first host; host i listens on this address + i (last octet)")(
      "latency-ms", po::value(&latency_ms)->default_value(0), "delay added to every response")(
      "slow-ms", po::value(&slow_ms)->default_value(slow_ms), "extra delay of /slow")(
      "fault-delay-ms", po::value(&fault_delay_ms)->default_value(fault_delay_ms),
      "delay of /fault/slow/K's first K answers")(
      "robots-failures", po::value(&spec.robots_failures)->default_value(0),
      "every robots.txt answers 503 this many times before its normal answer")(
      "silent", "read requests and never answer (an origin that hangs)")(
      "crawl-delay", po::value(&spec.crawl_delay_seconds)->default_value(spec.crawl_delay_seconds),
      "Crawl-delay written in host 4's robots.txt")(
      "big-bytes", po::value(&spec.big_body_bytes)->default_value(spec.big_body_bytes), "size of /big*")(
      "no-specials", "do not link the special pages from home pages")(
      "gzip", "gzip 200 responses for clients that accept it (Content-Encoding: gzip)")(
      "validators", "send Last-Modified and ETag with 200 responses")("access-log", po::value(&spec.access_log_file),
                                                                      "append the access log to this file")(
      "truth", po::value(&truth_file), "write the ground truth (JSON) of a crawl to this file")(
      "crawl-seed", po::value(&crawl_seeds)->multitoken(), "seed URL(s) of that crawl (default: the first origin's /)")(
      "max-depth", po::value(&max_depth)->default_value(max_depth), "max depth of that crawl")(
      "tls-hosts", po::value(&spec.tls_hosts)->default_value(0),
      "hosts 1..N serve https (the extra origin stays http); needs --tls-cert and --tls-key")(
      "tls-cert", po::value(&spec.tls_cert_file)->value_name("PEM"), "certificate chain of the https hosts")(
      "tls-key", po::value(&spec.tls_key_file)->value_name("PEM"), "private key of that certificate")(
      "sitemaps", "serve sitemaps (an index, a gzipped one, a malformed one) and the orphan pages they list")(
      "crawl-sitemaps", "the --truth crawl reads sitemaps (rankpool-crawl --sitemaps)")(
      "once", "exit right after printing the origins (and writing --truth): a smoke test");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "rankpool-testweb: " << e.what() << "\n" << desc << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n"
              << "Exit status: 0 stopped by SIGINT/SIGTERM (or --once), 1 cannot serve or write the\n"
                 "truth file, 2 bad usage.\n";
    return 0;
  }
  if (vm.count("version")) {
    std::cout << rankpool::apps::version_line("rankpool-testweb") << "\n";
    return 0;
  }
  if (spec.tls_hosts > 0 && (spec.tls_cert_file.empty() || spec.tls_key_file.empty())) {
    std::cerr << "rankpool-testweb: --tls-hosts needs --tls-cert and --tls-key\n";
    return 2;
  }
  spec.latency = std::chrono::milliseconds(latency_ms);
  spec.slow_delay = std::chrono::milliseconds(slow_ms);
  spec.fault_wait = std::chrono::milliseconds(fault_delay_ms);
  spec.silent = vm.count("silent") > 0;
  spec.link_specials = vm.count("no-specials") == 0;
  spec.gzip_pages = vm.count("gzip") > 0;
  spec.validators = vm.count("validators") > 0;
  spec.sitemaps = vm.count("sitemaps") > 0;

  // Block the stop signals before any server thread exists, so only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  try {
    TestWeb web(spec);
    web.start();
    if (!truth_file.empty()) {
      if (crawl_seeds.empty()) crawl_seeds.push_back(web.origins().front() + "/");
      const auto t = truth(web.model(), crawl_seeds, max_depth, {}, vm.count("crawl-sitemaps") > 0);
      std::ofstream out(truth_file);
      out << to_json(t, web.model(), crawl_seeds, max_depth) << "\n";
      if (!out) {
        std::cerr << "rankpool-testweb: cannot write " << truth_file << "\n";
        return 1;
      }
    }
    std::cout << "origins:";
    for (const auto& o : web.origins()) std::cout << ' ' << o;
    std::cout << std::endl;
    if (vm.count("once")) return 0;
    int sig = 0;
    sigwait(&stop_signals, &sig);
    web.stop();
    std::cerr << "rankpool-testweb: stopped by signal " << sig << ", " << web.access_log().size()
              << " requests served\n";
  } catch (const std::exception& e) {
    std::cerr << "rankpool-testweb: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
