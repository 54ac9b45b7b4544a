// Runs the real rankpool-fib-seq binary and checks its exit codes, its stderr messages,
// and that its stdout parses back to exactly what fib::compute gives.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "rankpool/fib/fib.hpp"
#include "rankpool/fib/format.hpp"

namespace fib = rankpool::fib;

namespace {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// `args` is passed through the shell; tests only use plain tokens.
RunResult run_seq(const std::string& args, const std::string& stdin_text = "") {
  char dir[] = "/tmp/rankpool_fib_seq_XXXXXX";
  if (!mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
  const std::string base = dir;
  std::ofstream(base + "/in") << stdin_text;
  const std::string command =
      std::string(RANKPOOL_FIB_SEQ) + " " + args + " <" + base + "/in >" + base + "/out 2>" + base + "/err";
  const int status = std::system(command.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(base + "/out");
  r.err = slurp(base + "/err");
  for (const char* f : {"/in", "/out", "/err"}) std::remove((base + f).c_str());
  rmdir(dir);
  return r;
}

std::vector<fib::FibRecord> parse_lines(const std::string& text) {
  std::vector<fib::FibRecord> records;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const fib::RecordParse parsed = fib::parse_jsonl_line(line);
    EXPECT_TRUE(parsed.ok()) << parsed.error << " in " << line;
    records.push_back(parsed.record);
  }
  return records;
}

}  // namespace

TEST(SeqApp, PrintsOneRecordPerInputInOrderWithDuplicates) {
  const RunResult r = run_seq("7 1000 1:3 7 --print-time");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto records = parse_lines(r.out);
  const std::vector<std::uint64_t> expected_n{7, 1000, 1, 2, 3, 7};
  ASSERT_EQ(records.size(), expected_n.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    fib::FibRecord expected = fib::compute(expected_n[i]);
    expected.seconds = records[i].seconds;  // the one field a rerun cannot reproduce
    EXPECT_EQ(records[i], expected);
    EXPECT_EQ(records[i].rank, 0);
    EXPECT_GE(records[i].seconds, 0.0);
  }
  // The duplicate is the same computation reported twice, not a second one.
  EXPECT_EQ(records[0].seconds, records[5].seconds);
  EXPECT_EQ(r.err.rfind("seconds=", 0), 0u) << r.err;
}

TEST(SeqApp, FullModAndInputsFromStdin) {
  const RunResult r = run_seq("--full --mod 97 --inputs - 12", "# list\n\n30\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto records = parse_lines(r.out);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].n, 12u);
  EXPECT_EQ(records[0].value, "144");
  EXPECT_EQ(records[0].mod, std::to_string(144 % 97));
  EXPECT_EQ(records[1].n, 30u);
  EXPECT_EQ(records[1].value, "832040");
  EXPECT_EQ(records[1].mod, std::to_string(832040 % 97));
  EXPECT_TRUE(r.err.empty()) << r.err;  // no --print-time, nothing on stderr
}

TEST(SeqApp, BadInputsFailWithOneLineNamingThem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"-- -5", "'-5'"},
      {"3 -5", "'-5'"},
      {"abc", "'abc'"},
      {"5:2", "'5:2': range end is below its start"},
      {"1:9:0", "'1:9:0': range step must be positive"},
      {"", "no inputs"},
      {"--inputs /nonexistent/list", "cannot read inputs from '/nonexistent/list'"},
      {"300000000", "'300000000': n = 300000000 is above the limit max-n = 200000000"},
      {"--max-n 10 11", "'11': n = 11 is above the limit max-n = 10"},
      {"--mod 0 5", "invalid modulus '0'"},
      {"--frobnicate 5", "unknown option '--frobnicate'"},
  };
  for (const auto& [args, message] : cases) {
    const RunResult r = run_seq(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_TRUE(r.out.empty()) << args;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << " -> " << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  }
}
