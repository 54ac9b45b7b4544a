// rankpool-fib-seq: the single-process baseline for rankpool-fib. Same inputs, same GMP
// calls (fib::compute), same JSONL records with rank 0, so the MPI benchmark compares
// like with like.
//
//   rankpool-fib-seq [--inputs FILE]... [--max-n N] [--full] [--mod M] [--print-time] INPUT...
//
// Exit codes: 0 success, 2 bad usage or input (one line on stderr), 1 anything else.
#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rankpool/fib/fib.hpp"
#include "rankpool/fib/format.hpp"
#include "app_version.hpp"
#include "rankpool/fib/inputs.hpp"

namespace {

namespace fib = rankpool::fib;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct SeqArgs {
  std::vector<std::string> tokens;
  std::vector<std::string> files;
  fib::InputLimits limits;
  fib::FibOptions options;
  bool print_time = false;
  bool help = false;
  bool version = false;
};

void print_usage(std::ostream& os) {
  os << "usage: rankpool-fib-seq [options] INPUT...\n"
        "  INPUT            n, or an inclusive range a:b or a:b:step (like seq)\n"
        "  --inputs FILE    read inputs from FILE, one per line ('#' comments; '-' is stdin)\n"
        "  --max-n N        refuse n above N (default "
     << fib::kDefaultMaxN
     << ")\n"
        "  --full           add every decimal digit as \"value\"\n"
        "  --mod M          add F(n) mod M as \"mod\"\n"
        "  --print-time     print total wall seconds on stderr as seconds=<x>\n"
        "  --version        print the version and exit\n"
        "Exit status: 0 every input computed, 1 an error while computing or writing,\n"
        "2 bad usage or input (one line on stderr).\n";
}

// Returns an error line, or empty on success. Anything that is not an option is an
// input token, so "-5" reaches the input parser and gets its precise message.
std::string parse_args(int argc, char** argv, SeqArgs& args) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&](std::string& into) -> std::string {
      if (i + 1 >= argc) return "option " + std::string(arg) + " needs a value";
      into = argv[++i];
      return {};
    };
    std::string error;
    if (arg == "--help" || arg == "-h") {
      args.help = true;
    } else if (arg == "--version") {
      args.version = true;
    } else if (arg == "--inputs") {
      error = value(args.files.emplace_back());
    } else if (arg == "--max-n") {
      std::string text;
      error = value(text);
      if (error.empty()) {
        const fib::InputList parsed = fib::parse_input_token(text, {~std::uint64_t{0}, 1});
        if (!parsed.ok() || parsed.values.size() != 1) {
          error = "invalid --max-n '" + text + "': expected a non-negative integer";
        } else {
          args.limits.max_n = parsed.values[0];
        }
      }
    } else if (arg == "--full") {
      args.options.full = true;
    } else if (arg == "--mod") {
      error = value(args.options.mod.emplace());
      if (error.empty()) error = fib::check_modulus(*args.options.mod).message();
    } else if (arg == "--print-time") {
      args.print_time = true;
    } else if (arg == "--") {
      for (++i; i < argc; ++i) args.tokens.emplace_back(argv[i]);
    } else if (arg.size() > 2 && arg.substr(0, 2) == "--") {
      error = "unknown option '" + std::string(arg) + "'";
    } else {
      args.tokens.emplace_back(arg);
    }
    if (!error.empty()) return error;
  }
  return {};
}

int run(int argc, char** argv) {
  SeqArgs args;
  if (const std::string error = parse_args(argc, argv, args); !error.empty()) {
    std::cerr << "rankpool-fib-seq: " << error << '\n';
    return kExitUsage;
  }
  if (args.help) {
    print_usage(std::cout);
    return kExitOk;
  }
  if (args.version) {
    std::cout << rankpool::apps::version_line("rankpool-fib-seq") << '\n';
    return kExitOk;
  }
  const fib::InputList inputs = fib::gather_inputs(args.tokens, args.files, args.limits);
  if (!inputs.ok()) {
    std::cerr << "rankpool-fib-seq: " << inputs.error << '\n';
    return kExitUsage;
  }

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  // Each distinct n is computed once, on first sight; later occurrences reuse the
  // record, as the MPI app does.
  std::unordered_map<std::uint64_t, fib::FibRecord> done;
  for (const std::uint64_t n : inputs.values) {
    auto it = done.find(n);
    if (it == done.end()) {
      const auto t0 = Clock::now();
      fib::FibRecord record = fib::compute(n, args.options);
      record.rank = 0;
      record.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      it = done.emplace(n, std::move(record)).first;
    }
    fib::write_jsonl(std::cout, it->second);
  }
  std::cout.flush();
  const double total = std::chrono::duration<double>(Clock::now() - start).count();
  if (args.print_time) std::cerr << "seconds=" << total << '\n';
  return std::cout ? kExitOk : kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "rankpool-fib-seq: " << e.what() << '\n';
    return kExitFailure;
  }
}
