#include "rankpool/crawl/cli.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <boost/program_options.hpp>
#include <charconv>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "rankpool/crawl/url.hpp"

namespace rankpool::crawl {
namespace po = boost::program_options;

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string read_seed_lines(std::istream& in, std::vector<std::string>& seeds) {
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    seeds.push_back(line);
  }
  return in.bad() ? "read error" : "";
}

/// Hosts that do not resolve are configuration errors: better one clear line now than a
/// crawl that records a DNS failure and stops at once.
std::string check_resolves(const std::string& host) {
  std::string name = host;
  // RFC 6761 6.4: ".invalid" names never resolve, and resolvers should say so without
  // asking DNS (tests use them to get a resolution failure without any packet leaving).
  if (name == "invalid" || name.ends_with(".invalid") || name.ends_with(".invalid."))
    return "seed host '" + host + "' does not resolve: .invalid names never do (RFC 6761)";
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(name.c_str(), nullptr, &hints, &res);
  if (res) freeaddrinfo(res);
  if (rc != 0) return std::string("seed host '") + host + "' does not resolve: " + gai_strerror(rc);
  return {};
}

}  // namespace

CrawlCli parse_crawl_cli(int argc, const char* const* argv) {
  CrawlCli cli;
  CrawlOptions& o = cli.job.options;
  std::string seeds_file, scope = "seeds", old_out, contact, user_agent, proxy, ca_cert, accept_types, retry_codes;
  for (int code : o.retry_codes) retry_codes += (retry_codes.empty() ? "" : ",") + std::to_string(code);
  bool resume = false, overwrite = false, contact_given = false, user_agent_given = false, no_proxy = false;
  std::vector<std::string> seeds;
  cli.job.out_dir = "crawl-out";
  const std::string default_ua = CrawlOptions::default_user_agent();
  po::options_description desc(
      "Usage: mpirun -n N rankpool-crawl [options] SEED_URL...\n"
      "Crawls from the seeds, politely (robots.txt, one connection and a delay per origin), with\n"
      "the origins partitioned over ranks 1..N-1 (rank 0 coordinates; with one rank it crawls\n"
      "alone). Writes DIR/pages.jsonl, DIR/links.tsv and DIR/summary.json (DIR: --out-dir; a DIR\n"
      "that holds a crawl needs --resume or --overwrite).\n"
      "Exit status: 0 the crawl ended (pages that failed are records, not errors), 2 bad usage\n"
      "or input, or the output directory holds a crawl or could not be written (one line on\n"
      "stderr), 3 an internal error stopped every rank, 128+N stopped by signal N (--resume\n"
      "continues).\n"
      "\nOptions");
  // clang-format off
  desc.add_options()
    ("help,h", "print this help and exit")
    ("version", "print the version (and the MPI library's) and exit")
    ("seeds", po::value(&seeds_file)->value_name("FILE"), "read seed URLs from FILE, one per line ('-' = stdin; # comments)")
    ("out-dir", po::value(&cli.job.out_dir)->default_value(cli.job.out_dir)->value_name("DIR"),
     "output directory (created if missing)")
    ("out", po::value(&old_out)->value_name("DIR"), "older spelling of --out-dir")
    ("max-depth", po::value(&o.max_depth)->default_value(o.max_depth),
     "follow links up to this shortest distance from a seed (redirects cost 0); -1 = unlimited")
    ("delay", po::value(&o.delay)->default_value(o.delay, "0.5"),
     "seconds between requests to one origin (0 allowed); a larger robots.txt Crawl-delay wins")
    ("per-host-connections", po::value(&o.per_host_connections)->default_value(o.per_host_connections),
     "requests in flight per origin")
    ("scope", po::value(&scope)->default_value(scope),
     "where requests may go: seeds (the seeds' origins), host (their host names, any port), "
     "domain (their registered domains), any")
    ("max-pages", po::value(&o.max_pages)->default_value(o.max_pages), "stop after this many pages, all ranks together (0 = no limit)")
    ("max-pages-per-host", po::value(&o.max_pages_per_host)->default_value(o.max_pages_per_host), "pages per origin (0 = no limit)")
    ("include", po::value(&o.include)->composing(), "follow only URLs matching this ECMAScript regex (repeatable)")
    ("exclude", po::value(&o.exclude)->composing(), "never follow URLs matching this regex (repeatable)")
    ("max-url-length", po::value(&o.max_url_length)->default_value(o.max_url_length), "trap guard: longer URLs are not followed")
    ("max-path-depth", po::value(&o.max_path_depth)->default_value(o.max_path_depth), "trap guard: URLs with more path segments are not followed")
    ("max-repeated-segment", po::value(&o.max_repeated_segment)->default_value(o.max_repeated_segment),
     "trap guard: URLs repeating one path segment more often are not followed")
    ("contact", po::value(&contact)->value_name("URL-or-EMAIL"),
     "how site operators can reach you, sent in the User-Agent: rankpool-crawl/VERSION (+CONTACT). "
     "Give it for any site you do not own (without it rank 0 warns once)")
    ("user-agent", po::value(&user_agent)->value_name("TEXT"),
     ("the whole User-Agent header instead (its first word selects robots.txt groups); default: " +
      default_ua + " (+CONTACT) with --contact, " + default_ua + " without").c_str())
    ("ignore-robots", po::bool_switch(&o.ignore_robots), "do not fetch or obey robots.txt (only for sites you own)")
    ("sitemaps", po::bool_switch(&o.sitemaps),
     "also crawl the URLs of each in-scope origin's sitemaps (named in its robots.txt, else /sitemap.xml; "
     "indexes and .xml.gz too) as seeds of depth 0")
    ("follow-all", po::bool_switch(&o.follow_all), "also follow <link>, frames, iframes and meta refresh (always listed in links.tsv)")
    ("save-bodies", po::bool_switch(&o.save_bodies), "save HTML bodies under DIR/bodies/ on the host of the rank that fetched them")
    ("max-in-flight", po::value(&o.max_in_flight)->default_value(o.max_in_flight), "requests in flight per crawling rank, over all its hosts")
    ("frontier-memory", po::value(&o.frontier_memory)->default_value(o.frontier_memory, "268435456")->value_name("BYTES"),
     "bytes of queued URLs a crawling rank keeps in memory; beyond, its queues spill to a temporary file (0: no limit)")
    ("max-crawl-delay", po::value(&o.max_crawl_delay)->default_value(o.max_crawl_delay, "30"), "cap on robots.txt Crawl-delay, seconds")
    ("connect-timeout", po::value(&o.connect_timeout)->default_value(o.connect_timeout, "2"), "seconds to connect")
    ("timeout", po::value(&o.timeout)->default_value(o.timeout, "10"), "seconds per request, all included")
    ("max-page-bytes", po::value(&o.max_page_bytes)->default_value(o.max_page_bytes), "bigger pages are recorded as too_large")
    ("proxy", po::value(&proxy)->value_name("URL"),
     "send every request through this proxy (http://host:port; https URLs via CONNECT); default: "
     "the http_proxy, https_proxy, all_proxy variables as curl reads them, no_proxy for exceptions")
    ("no-proxy", po::bool_switch(&no_proxy), "ignore the proxy variables of the environment (no_proxy included)")
    ("ca-cert", po::value(&ca_cert)->value_name("FILE"),
     "verify https servers with the CA certificates (PEM) in FILE instead of the default bundle; "
     "default: $CURL_CA_BUNDLE, else $SSL_CERT_FILE, else the system's. FILE must exist on every node")
    ("accept-types", po::value(&accept_types)->value_name("LIST"),
     "fetch only responses of these media types, e.g. text/html,application/xhtml+xml (type/* allowed); "
     "others stop after their headers, recorded as type_not_accepted (default: every type)")
    ("quiet,q", po::bool_switch(&o.quiet), "no progress line, no final summary on stderr")
    ("resume", po::bool_switch(&resume),
     "continue the crawl in --out-dir DIR (same seeds, scope and link rules): fetch only what no earlier run "
     "recorded, append to its outputs")
    ("overwrite", po::bool_switch(&overwrite),
     "replace the crawl that --out-dir DIR holds (without it, or --resume, such a DIR is refused); "
     "DIR/warc/ is kept")
    ("checkpoint-interval", po::value(&o.checkpoint_interval)->default_value(o.checkpoint_interval, "10"),
     "seconds between writes of DIR/checkpoint.json (also written at the start, at a signal and at the end)")
    ("retries", po::value(&o.retries)->default_value(o.retries),
     "retry a URL this many more times after a connect error, reset, timeout or a --retry-codes status")
    ("retry-codes", po::value(&retry_codes)->default_value(retry_codes)->value_name("LIST"),
     "HTTP statuses that are retried, comma-separated ('' = none)")
    ("retry-backoff", po::value(&o.retry_backoff)->default_value(o.retry_backoff, "1"),
     "seconds an origin waits after a transient failure, doubled for each further one in a row (with jitter)")
    ("max-retry-backoff", po::value(&o.max_retry_backoff)->default_value(o.max_retry_backoff, "120"),
     "cap on that wait, seconds")
    ("max-retry-after", po::value(&o.max_retry_after)->default_value(o.max_retry_after, "600"),
     "cap on a server's Retry-After (seconds or HTTP date), obeyed for its origin")
    ("origin-give-up", po::value(&o.origin_give_up)->default_value(o.origin_give_up),
     "give an origin up after this many failures in a row without a response (connect, timeout, reset); "
     "its queued URLs are recorded as origin_gave_up (0 = never)")
    ("warc", po::bool_switch(&o.warc),
     "archive every fetch (robots.txt and non-HTML too) as WARC/1.1 in DIR/warc/, one series of .warc.gz "
     "files per crawling rank on its host")
    ("warc-max-size", po::value(&o.warc_max_size)->default_value(o.warc_max_size),
     "bytes after which a rank starts its next WARC file")
    ("warc-cdx", po::bool_switch(&o.warc_cdx), "with --warc: a sorted CDXJ index beside each WARC file")
    ("output-shards", po::bool_switch(&o.output_shards),
     "each crawling rank writes its records and links to DIR/shards/ (DIR shared by every rank's host) and "
     "rank 0 appends them to pages.jsonl and links.tsv at the end: rank 0 no longer writes every record");
  // clang-format on
  po::options_description hidden;
  hidden.add_options()("seed-url", po::value(&seeds)->composing());
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("seed-url", -1);
  std::ostringstream help;
  help << desc;
  cli.help_text = help.str();
  try {
    po::variables_map vm;
    const auto parsed = po::command_line_parser(argc, argv).options(all).positional(pos).run();
    // Boost converts "-1" to an unsigned option as 2^64-1 without a word, which would make a
    // typo mean "no limit": a minus sign on a count or size is refused.
    static const std::set<std::string> kUnsigned = {"max-pages",      "max-pages-per-host", "max-url-length",
                                                    "max-in-flight",  "max-page-bytes",     "warc-max-size",
                                                    "frontier-memory"};
    for (const auto& opt : parsed.options) {
      if (!kUnsigned.count(opt.string_key)) continue;
      for (const auto& v : opt.value) {
        if (!v.empty() && v.find_first_not_of(" \t") != std::string::npos && v[v.find_first_not_of(" \t")] == '-') {
          cli.error = "--" + opt.string_key + " must be >= 0, got " + v;
          return cli;
        }
      }
    }
    po::store(parsed, vm);
    po::notify(vm);
    if (vm.count("help")) {
      cli.help = true;
      return cli;
    }
    if (vm.count("version")) {
      cli.version = true;
      return cli;
    }
    contact_given = vm.count("contact") > 0;
    if (vm.count("proxy") && proxy.empty()) {
      cli.error = "--proxy must name a proxy URL (--no-proxy: no proxy from the environment)";
      return cli;
    }
    user_agent_given = vm.count("user-agent") > 0;
    if (vm.count("out")) {
      // --out DIR, the spelling before 0.2 (existing job scripts): the same as --out-dir.
      if (!vm["out-dir"].defaulted() && old_out != cli.job.out_dir) {
        cli.error = "--out is the older spelling of --out-dir: give one of them";
        return cli;
      }
      cli.job.out_dir = old_out;
    }
  } catch (const std::exception& e) {
    cli.error = e.what();
    return cli;
  }
  if (resume && o.sitemaps) {
    // The resumed frontier is rebuilt from the seeds over the logged links, which do not
    // hold what the sitemaps listed.
    cli.error = "--sitemaps cannot be resumed yet: rerun the crawl with --overwrite";
    return cli;
  }
  if (resume && overwrite) {
    cli.error = "--resume and --overwrite exclude each other: continue the crawl in --out-dir or replace it";
    return cli;
  }
  if (contact_given && user_agent_given) {
    cli.error = "--contact and --user-agent exclude each other: put the contact into the --user-agent text";
    return cli;
  }
  if (contact_given && contact.empty()) {
    cli.error = "--contact must not be empty: give a URL or an e-mail address";
    return cli;
  }
  // It goes into a User-Agent comment: printable ASCII, no parentheses (RFC 9110 5.5, 10.1.5).
  if (contact.find_first_of("()\\") != std::string::npos ||
      std::any_of(contact.begin(), contact.end(), [](char c) { return c < 0x20 || c > 0x7e; })) {
    cli.error = "--contact '" + contact + "' must be printable ASCII without parentheses (a URL or an e-mail address)";
    return cli;
  }
  if (user_agent_given) {
    o.user_agent = user_agent;  // checked by validate() below
  } else {
    o.user_agent = CrawlOptions::default_user_agent(contact);
    if (contact.empty()) {
      cli.warning = "no --contact: the User-Agent is '" + o.user_agent +
                    "' alone; set --contact URL-or-EMAIL so that site operators can reach you";
    }
  }
  o.retry_codes.clear();
  for (std::size_t i = 0; i < retry_codes.size();) {
    const std::size_t comma = std::min(retry_codes.find(',', i), retry_codes.size());
    const std::string item = trim(retry_codes.substr(i, comma - i));
    int code = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), code);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || code < 100 || code > 599) {
      cli.error = "--retry-codes: '" + item + "' is not an HTTP status (want a list like 429,500,502,503,504)";
      return cli;
    }
    o.retry_codes.push_back(code);
    i = comma + 1;
  }
  const EnvLookup env = [](const char* name) -> const char* { return std::getenv(name); };
  Result<ProxyChoice> proxies = choose_proxies(proxy, no_proxy, env);
  if (!proxies) {
    cli.error = proxies.status().message();
    return cli;
  }
  o.http_proxy = proxies->http;
  o.https_proxy = proxies->https;
  o.no_proxy = proxies->no_proxy;
  if (proxies->any()) cli.proxy_notice = proxies->describe();
  Result<std::string> ca = choose_ca_cert(ca_cert, env);
  if (!ca) {
    cli.error = ca.status().message();
    return cli;
  }
  o.ca_cert = *ca;
  if (!accept_types.empty()) {
    Result<std::vector<std::string>> types = parse_accept_types(accept_types);
    if (!types) {
      cli.error = types.status().message();
      return cli;
    }
    o.accept_types = std::move(*types);
  }
  if (!parse_scope(scope, o.scope)) {
    cli.error = "--scope must be seeds, host, domain or any, not '" + scope + "'";
    return cli;
  }
  if (Status s = validate(o); !s) {
    cli.error = s.message();
    return cli;
  }
  if (!seeds_file.empty()) {
    std::string e;
    if (seeds_file == "-") {
      e = read_seed_lines(std::cin, seeds);
    } else {
      std::ifstream in(seeds_file);
      if (!in) {
        cli.error = "cannot read seeds file " + seeds_file;
        return cli;
      }
      e = read_seed_lines(in, seeds);
    }
    if (!e.empty()) {
      cli.error = "seeds file " + seeds_file + ": " + e;
      return cli;
    }
  }
  if (seeds.empty()) {
    cli.error = "no seed URL given (arguments or --seeds FILE); see --help";
    return cli;
  }
  std::set<std::string> hosts, unique;
  for (const auto& s : seeds) {
    const NormalizedUrl n = normalize(s, UrlOptions{o.max_url_length});
    if (!n.ok()) {
      cli.error = "seed '" + s + "' is not an http(s) URL: " + n.error;
      return cli;
    }
    if (unique.insert(n.url).second) cli.job.seeds.push_back(n.url);
    hosts.insert(n.host);
  }
  for (const auto& h : hosts)
    if (std::string e = check_resolves(h); !e.empty()) {
      cli.error = e;
      return cli;
    }
  if (resume) {
    // Before prepare_output_dir: --resume never creates a directory to resume from.
    Result<ResumeState> loaded = load_resume(cli.job.out_dir, o, cli.job.seeds);
    if (!loaded) {
      cli.error = loaded.status().message();
      return cli;
    }
    auto state = std::make_shared<ResumeState>(std::move(*loaded));
    if (state->checkpoint.complete) {
      cli.nothing_to_do = true;
      cli.notice = "--resume: the crawl in " + cli.job.out_dir + " is complete (" + std::to_string(state->pages) +
                   " pages in " + std::to_string(state->checkpoint.runs) + " run(s)); nothing to do";
      return cli;
    }
    cli.job.resume = std::move(state);
  }
  // A finished crawl is never lost without a word: a DIR holding one needs --resume or --overwrite.
  const ExistingCrawl existing = resume      ? ExistingCrawl::resume
                                 : overwrite ? ExistingCrawl::overwrite
                                             : ExistingCrawl::refuse;
  if (Status s = prepare_output_dir(cli.job.out_dir, existing); !s) cli.error = s.message();
  return cli;
}

}  // namespace rankpool::crawl
