// rankpool-fib: exact F(n) for many n, load-balanced over MPI ranks by the task farm.
//
//   mpirun -n 4 rankpool-fib [options] INPUT...
//
// Thin: options here, arithmetic in rankpool_fib, distribution in rankpool_farm.
// Exit codes (listed in --help too): 0 success, 1 some inputs failed or the statistics file
// could not be written, 2 bad usage or input (one line on stderr from rank 0; every rank
// exits), 128+N stopped by signal N. --help and --version print once, from rank 0.

#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <boost/program_options.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <unordered_map>

#include "rankpool/farm/cli.hpp"
#include "rankpool/farm/farm.hpp"
#include "rankpool/fib/fib.hpp"
#include "rankpool/fib/format.hpp"
#include "rankpool/fib/inputs.hpp"
#include "rankpool/runtime/interrupts.hpp"
#include "app_version_mpi.hpp"

namespace mpi = boost::mpi;
namespace po = boost::program_options;
namespace farm = rankpool::farm;
namespace fib = rankpool::fib;

namespace {

constexpr int kExitUsage = 2;

struct Args {
  std::vector<std::string> tokens;
  std::vector<std::string> files;
  std::string format = "table";
  std::string output;
  std::uint64_t max_n = fib::kDefaultMaxN;
  fib::FibOptions fib;
  farm::FarmCli farm;
  bool help = false;
  bool version = false;
  std::string help_text;  // with --help: what rank 0 prints
};

/// A bad option or input; reported once by rank 0.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

po::options_description describe(Args& a, std::string& mod) {
  po::options_description d("rankpool-fib options");
  d.add_options()("help,h", po::bool_switch(&a.help), "show this help")(
      "version", po::bool_switch(&a.version), "print the version (and the MPI library's) and exit")(
      "inputs", po::value(&a.files)->composing()->value_name("FILE"),
      "read inputs from FILE, one per line ('#' comments, blank lines; '-' is stdin); repeatable")(
      "format", po::value(&a.format)->default_value(a.format), "output format: table, jsonl or csv")(
      "output,o", po::value(&a.output)->value_name("FILE"), "write results to FILE instead of stdout")(
      "max-n", po::value(&a.max_n)->default_value(a.max_n)->value_name("N"),
      "refuse inputs above N (F(2*10^8) needs ~90 MB and ~2 s)")("full", po::bool_switch(&a.fib.full),
                                                                 "add every decimal digit of F(n) (\"value\")")(
      "mod", po::value(&mod)->value_name("M"), "add F(n) mod M (\"mod\")");
  d.add(farm::farm_options_description(a.farm));
  return d;
}

std::string usage(const po::options_description& d) {
  std::ostringstream os;
  os << "usage: mpirun -n RANKS rankpool-fib [options] INPUT...\n"
        "  INPUT is n, or an inclusive range a:b or a:b:step (like seq).\n"
        "  Prints F(n) for every input in input order (digits, first and last 20 digits,\n"
        "  rank, seconds), then the highest F(n) and the farm's statistics.\n"
        "Exit status: 0 every input computed, 1 some inputs failed (their rows say why) or the\n"
        "--stats-json file could not be written, 2 bad usage or input (one line on stderr),\n"
        "128+N stopped by signal N (with --journal, --resume continues).\n\n"
     << d << "\n";
  return os.str();
}

Args parse(int argc, char** argv) {
  Args a;
  std::string mod;
  auto desc = describe(a, mod);
  // A token such as "-5" is an input (to be refused with its own message), not an option.
  std::vector<std::string> args;
  std::vector<std::string> negative;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s.size() > 1 && s[0] == '-' && std::isdigit(static_cast<unsigned char>(s[1])))
      negative.push_back(s);
    else
      args.push_back(s);
  }
  po::options_description all;
  all.add(desc).add_options()("input", po::value(&a.tokens)->composing(), "");
  po::positional_options_description pos;
  pos.add("input", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  if (a.help) {
    a.help_text = usage(desc);  // printed by rank 0 only
    return a;
  }
  if (a.version) return a;
  a.tokens.insert(a.tokens.end(), negative.begin(), negative.end());
  if (a.format != "table" && a.format != "jsonl" && a.format != "csv") {
    throw UsageError("invalid --format '" + a.format + "': expected table, jsonl or csv");
  }
  if (vm.count("mod")) {
    if (rankpool::Status s = fib::check_modulus(mod); !s) throw UsageError(s.message());
    a.fib.mod = mod;
  }
  return a;
}

/// Writes rows in input order as results arrive, holding a record only until its
/// last duplicate has been written.
class RowWriter {
 public:
  RowWriter(std::ostream& os, const Args& a, const std::vector<std::uint64_t>& rows,
            const std::vector<std::uint64_t>& unique)
      : os_(os), format_(a.format), columns_(fib::columns_for(a.fib)), rows_(rows) {
    std::unordered_map<std::uint64_t, std::size_t> index;
    for (std::size_t k = 0; k < unique.size(); ++k) index.emplace(unique[k], k);
    row_unique_.reserve(rows.size());
    last_row_.assign(unique.size(), 0);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const std::size_t k = index.at(rows[r]);
      row_unique_.push_back(k);
      last_row_[k] = r;
    }
    if (format_ == "csv") fib::write_csv_header(os_, columns_);
    if (format_ == "table") fib::write_table_header(os_, columns_);
  }
  void add(std::size_t k, fib::FibRecord* record, const std::string& error) {
    held_.emplace(k, Held{record ? std::move(*record) : fib::FibRecord{}, error});
    ready_ = k + 1;  // results come in unique order
    while (next_row_ < rows_.size() && row_unique_[next_row_] < ready_) {
      const std::size_t u = row_unique_[next_row_];
      auto it = held_.find(u);
      write(it->second, rows_[next_row_]);
      if (last_row_[u] == next_row_) held_.erase(it);
      ++next_row_;
    }
    // Rows reach the file while the run goes on (for `tail -f`, and for what a killed run
    // leaves), without a flush per tiny row.
    const auto now = std::chrono::steady_clock::now();
    if (now - last_flush_ >= std::chrono::milliseconds(500)) {
      os_.flush();
      last_flush_ = now;
    }
  }

 private:
  struct Held {
    fib::FibRecord record;
    std::string error;
  };
  void write(const Held& h, std::uint64_t n) {
    if (!h.error.empty()) {
      if (format_ == "jsonl") {
        os_ << "{\"n\": " << n << ", \"error\": \"" << escape(h.error) << "\"}\n";
      } else if (format_ == "csv") {
        fib::write_csv_failure(os_, n, h.error, columns_);
      } else {
        os_ << n << "  FAILED: " << h.error << '\n';
      }
      return;
    }
    if (format_ == "jsonl")
      fib::write_jsonl(os_, h.record);
    else if (format_ == "csv")
      fib::write_csv_row(os_, h.record, columns_);
    else
      fib::write_table_row(os_, h.record, columns_);
  }
  static std::string escape(const std::string& s) {
    std::string o;
    for (char c : s) {
      if (c == '"' || c == '\\') o += '\\';
      if (static_cast<unsigned char>(c) < 0x20) continue;
      o += c;
    }
    return o;
  }
  std::ostream& os_;
  std::string format_;
  fib::Columns columns_;
  const std::vector<std::uint64_t>& rows_;
  std::vector<std::size_t> row_unique_;
  std::vector<std::size_t> last_row_;
  std::map<std::size_t, Held> held_;
  std::size_t ready_ = 0;
  std::size_t next_row_ = 0;
  std::chrono::steady_clock::time_point last_flush_ = std::chrono::steady_clock::now();
};

}  // namespace

int main(int argc, char** argv) {
  mpi::environment env(argc, argv);
  mpi::communicator world;
  const bool root = world.rank() == 0;

  Args args;
  farm::FarmOptions options;
  try {
    args = parse(argc, argv);
    if (args.help) {
      if (root) std::cout << args.help_text;
      return 0;
    }
    if (args.version) {
      if (root) std::cout << rankpool::apps::mpi_version_text("rankpool-fib");
      return 0;
    }
    options = farm::to_farm_options(args.farm, world.size());
    options.interrupt = rankpool::runtime::catch_interrupts();
  } catch (const std::exception& e) {
    // Every rank parsed the same argv and reached the same verdict; one reports it.
    if (root) std::cerr << "rankpool-fib: " << e.what() << "\n";
    return kExitUsage;
  }

  farm::Registry registry;
  const int my_rank = world.rank();
  const fib::FibOptions fib_options = args.fib;
  const auto fib_task = registry.add("fib", [fib_options, my_rank](std::uint64_t n) {
    const auto t0 = std::chrono::steady_clock::now();
    fib::FibRecord r = fib::compute(n, fib_options);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.rank = my_rank;
    return r;
  });

  farm::Farm pool(world, registry, options);
  fib::Summary summary;
  std::size_t input_count = 0, distinct_count = 0, resumed = 0;
  std::uint64_t torn_bytes = 0;
  bool usage_error = false;
  std::ofstream file;
  std::ostream* out = &std::cout;
  const auto status = pool.run([&](farm::Master& master) {
    // Inputs are read on rank 0 only: mpirun forwards stdin to rank 0.
    fib::InputLimits limits;
    limits.max_n = args.max_n;
    fib::InputList inputs = fib::gather_inputs(args.tokens, args.files, limits);
    if (!inputs.ok()) {
      usage_error = true;
      throw UsageError(inputs.error);
    }
    const std::vector<std::uint64_t> unique = fib::unique_inputs(inputs.values);
    input_count = inputs.values.size();
    distinct_count = unique.size();
    // The journal belongs to this list of distinct inputs and to the options that change a
    // record; the output format does not (the whole output is written again on resume).
    std::unique_ptr<farm::Journal> journal;
    try {
      const std::string config =
          std::string("full=") + (args.fib.full ? "1" : "0") + " mod=" + args.fib.mod.value_or("");
      journal = farm::open_journal(args.farm, farm::journal_key(fib_task, unique, config));
    } catch (const farm::JournalError& e) {
      usage_error = true;
      throw UsageError(e.what());
    }
    if (journal) torn_bytes = journal->torn_bytes();
    // Opened (truncated) only once the journal is known to be usable: a refused rerun must
    // not destroy the previous output.
    if (!args.output.empty()) {
      file.open(args.output, std::ios::trunc);
      if (!file) {
        usage_error = true;
        throw UsageError("cannot write output file '" + args.output + "': " + std::strerror(errno));
      }
      out = &file;
    }
    RowWriter rows(*out, args, inputs.values, unique);
    farm::MapOptions<fib::FibRecord> mo;
    mo.order = farm::Order::input;
    mo.keep_values = false;  // full values stream to the output; none is held longer than needed
    mo.journal = journal.get();
    mo.on_result = [&](farm::Outcome<fib::FibRecord>& o) {
      if (o.ok()) summary.add(*o.value);
      if (o.from_journal) ++resumed;
      rows.add(o.index, o.value, o.error);
    };
    try {
      master.map(fib_task, unique, mo);
    } catch (...) {
      out->flush();  // rows written so far are kept (an interrupt, a journal write error)
      throw;
    }
    out->flush();
  });

  if (!root) return status.exit_code();
  if (torn_bytes) {
    std::cerr << "rankpool-fib: journal '" << args.farm.journal << "': dropped a torn last record (" << torn_bytes
              << " bytes, cut short when the run that wrote it died)\n";
  }
  if (!status.error.empty()) {
    std::cerr << "rankpool-fib: " << status.error;
    if (status.signal && !args.farm.journal.empty()) {
      std::cerr << "; finished tasks are in '" << args.farm.journal << "': run again with --resume to continue";
    }
    std::cerr << "\n";
    return usage_error ? kExitUsage : status.exit_code();
  }
  if (!args.farm.quiet) {
    // With a table the summary follows the rows; machine formats keep stdout clean.
    std::ostream& report = args.format == "table" && args.output.empty() ? std::cout : std::cerr;
    report << "\ninputs: " << input_count << " (" << distinct_count << " distinct, each computed once)\n";
    if (!args.farm.journal.empty()) {
      report << "journal: " << resumed << " read back from '" << args.farm.journal << "', " << distinct_count - resumed
             << " computed in this run\n";
    }
    fib::write_summary(report, summary);
    report << "\nfarm statistics (" << world.size() << " ranks, " << farm::to_string(options.schedule)
           << " schedule)\n";
    pool.stats().print_table(report);
  }
  if (status.failed_tasks) std::cerr << "rankpool-fib: " << status.failed_tasks << " inputs failed\n";
  if (!args.farm.stats_json.empty()) {
    try {
      farm::write_stats_json(pool.stats(), args.farm.stats_json);
    } catch (const std::exception& e) {
      std::cerr << "rankpool-fib: " << e.what() << "\n";
      return 1;
    }
  }
  return status.exit_code();
}
