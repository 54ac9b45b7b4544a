// rankpool-run's records (joblog, JSON lines, results paths), its options and its placement.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "logs.hpp"
#include "placement.hpp"
#include "rankpool/run/options.hpp"

using namespace rankpool::run;
namespace fs = std::filesystem;

namespace {

TaskResult sample() {
  TaskResult r;
  r.seq = 12;
  r.host = "node7";
  r.start_unix = 1733300000.1234;
  r.seconds = 1.5;
  r.exit_code = 3;
  r.signal = 0;
  r.status = TaskStatus::failed;
  r.out = "hello\n";
  r.out_bytes = 6;
  r.err = "oops\n";
  r.err_bytes = 5;
  r.rank = 2;
  r.slot = 4;
  r.attempt = 2;
  return r;
}

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path temp_dir() {
  auto d = fs::temp_directory_path() / ("rankpool-logs-test-" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

std::vector<const char*> argv_of(const std::vector<std::string>& v) {
  std::vector<const char*> a{"rankpool-run"};
  for (auto& s : v) a.push_back(s.c_str());
  return a;
}

ParsedCommand parse(const std::vector<std::string>& v) {
  auto a = argv_of(v);
  return parse_command_line(static_cast<int>(a.size()), a.data());
}

}  // namespace

TEST(Joblog, LinesHaveGnuParallelsColumnsAndNumberFormats) {
  EXPECT_EQ(joblog_header(), "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n");
  // parallel: Starttime "%.3f", JobRuntime "%10.3f", newlines of the command as NUL.
  EXPECT_EQ(joblog_line(sample(), "echo a\necho b"),
            std::string("12\tnode7\t1733300000.123\t     1.500\t0\t6\t3\t0\techo a") + '\0' + "echo b\n");
  TaskResult killed = sample();
  killed.exit_code = -1;
  killed.signal = 15;
  EXPECT_EQ(joblog_line(killed, "sleep 9"), "12\tnode7\t1733300000.123\t     1.500\t0\t6\t-1\t15\tsleep 9\n");
}

TEST(Jsonl, RecordHasEveryFieldAndFallsBackToBase64ForBinaryOutput) {
  TaskResult r = sample();
  auto v = boost::json::parse(jsonl_record(r, "false", 1024)).as_object();
  EXPECT_EQ(v["task"].as_int64(), 12);
  EXPECT_EQ(v["command"].as_string(), "false");
  EXPECT_EQ(v["host"].as_string(), "node7");
  EXPECT_EQ(v["rank"].as_int64(), 2);
  EXPECT_EQ(v["slot"].as_int64(), 4);
  EXPECT_EQ(v["attempt"].as_int64(), 2);
  EXPECT_EQ(v["exit"].as_int64(), 3);
  EXPECT_EQ(v["signal"].as_int64(), 0);
  EXPECT_EQ(v["status"].as_string(), "failed");
  EXPECT_EQ(v["stdout"].as_string(), "hello\n");
  EXPECT_EQ(v["stderr"].as_string(), "oops\n");
  EXPECT_EQ(v["out_bytes"].as_int64(), 6);
  EXPECT_DOUBLE_EQ(v["seconds"].as_double(), 1.5);

  r.out = std::string("\xff\x00\x01", 3);
  auto b = boost::json::parse(jsonl_record(r, "x", 1024)).as_object();
  EXPECT_FALSE(b.contains("stdout"));
  EXPECT_EQ(b["stdout_base64"].as_string(), "/wAB");

  // Cut at max_output, and a cut inside a UTF-8 character does not make it binary.
  r.out =
      "ab\xc3\xa9"
      "cd";
  auto c = boost::json::parse(jsonl_record(r, "x", 3)).as_object();
  EXPECT_EQ(c["stdout"].as_string(), "ab");
  auto d = boost::json::parse(jsonl_record(r, "x", 4)).as_object();
  EXPECT_EQ(d["stdout"].as_string(), "ab\xc3\xa9");
}

TEST(Results, PathsAreBucketedByThousands) {
  EXPECT_EQ(results_path("out", 7, "out"), "out/0000/7.out");
  EXPECT_EQ(results_path("out", 12345, "err"), "out/0012/12345.err");
}

TEST(Logs, KeepRecordsKeepsTheHeaderAndTheChosenTasksAndDropsATornTail) {
  const auto dir = temp_dir();
  const std::string joblog = (dir / "run.log").string();
  {
    AppendFile f(joblog, true);
    f.append(joblog_header());
    for (std::uint64_t s : {1, 2, 3, 4}) {
      TaskResult r = sample();
      r.seq = s;
      f.append(joblog_line(r, "cmd " + std::to_string(s)));
    }
    f.append("5\tnode7\t17333");  // a kill in the middle of a line
  }
  EXPECT_EQ(keep_records(joblog, LogKind::joblog, [](std::uint64_t s) { return s % 2 == 0; }), 3u);
  const std::string kept = slurp(joblog);
  EXPECT_EQ(kept.rfind(joblog_header(), 0), 0u);
  EXPECT_NE(kept.find("\tcmd 2\n"), std::string::npos);
  EXPECT_NE(kept.find("\tcmd 4\n"), std::string::npos);
  EXPECT_EQ(kept.find("\tcmd 1\n"), std::string::npos);
  EXPECT_EQ(kept.find("17333\n"), std::string::npos);

  const std::string jsonl = (dir / "run.jsonl").string();
  {
    AppendFile f(jsonl, true);
    for (std::uint64_t s : {1, 2, 3}) {
      TaskResult r = sample();
      r.seq = s;
      f.append(jsonl_record(r, "c", 10));
    }
  }
  EXPECT_EQ(keep_records(jsonl, LogKind::jsonl, [](std::uint64_t s) { return s != 2; }), 1u);
  std::istringstream lines(slurp(jsonl));
  std::vector<std::int64_t> seqs;
  for (std::string l; std::getline(lines, l);) seqs.push_back(boost::json::parse(l).as_object()["task"].as_int64());
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{1, 3}));
  EXPECT_EQ(keep_records((dir / "missing").string(), LogKind::jsonl, [](std::uint64_t) { return true; }), 0u);
  fs::remove_all(dir);
}

TEST(Options, ParsesOptionsUntilTheTemplateAndValidatesThem) {
  auto p = parse({"-j", "3", "--joblog", "x.log", "--halt", "soon,fail=10%", "gzip", "-9", "{}", ":::", "a", "--b"});
  EXPECT_EQ(p.options.slots, 3);
  EXPECT_EQ(p.options.joblog, "x.log");
  EXPECT_EQ(p.options.halt.when, HaltPolicy::When::soon);
  EXPECT_DOUBLE_EQ(p.options.halt.percent, 10);
  // Everything from the template on is the command line, options-looking words included.
  EXPECT_EQ(p.options.command_line.template_words, (std::vector<std::string>{"gzip", "-9", "{}"}));
  ASSERT_EQ(p.options.command_line.sources.size(), 1u);
  EXPECT_EQ(p.options.command_line.sources[0].values, (std::vector<std::string>{"a", "--b"}));

  auto t = parse({"--tasks=-", "--timeout", "2.5", "--retries", "1"});
  EXPECT_EQ(t.options.list.tasks_file, "-");
  EXPECT_EQ(t.options.timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(t.options.retries, 1);

  EXPECT_NE(parse({"--version"}).print.find("rankpool-run "), std::string::npos);
  EXPECT_NE(parse({"--help"}).print.find("--joblog"), std::string::npos);
}

TEST(Options, FarmOptionsComeFromTheSharedDefinitionWithRunsDefaults) {
  auto p = parse({"--journal", "j", "--resume", "--retry-failed", "--stats-json", "s.json", "--no-progress",
                  "--retries", "3", "--tasks", "f"});
  EXPECT_EQ(p.options.journal, "j");
  EXPECT_TRUE(p.options.resume);
  EXPECT_TRUE(p.options.retry_failed);
  EXPECT_EQ(p.options.stats_json, "s.json");
  EXPECT_FALSE(p.options.progress);
  EXPECT_FALSE(p.options.quiet);
  EXPECT_EQ(p.options.retries, 3);
  auto q = parse({"-q", "--tasks", "f"});
  EXPECT_TRUE(q.options.quiet);
  EXPECT_FALSE(q.options.progress);
  EXPECT_EQ(q.options.retries, 0);  // rankpool-run's default, not the farm's 2
  const std::string help = parse({"--help"}).print;
  EXPECT_NE(help.find("Farm options"), std::string::npos);
  EXPECT_NE(help.find("--retries arg (=0)"), std::string::npos);
  EXPECT_TRUE(parse({"--version"}).version);
}

TEST(Options, BadInputIsOneLineNamingTheProblem) {
  auto message = [](const std::vector<std::string>& v) {
    try {
      parse(v);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(message({"--slots", "0", "--tasks", "f"}).find("--slots 0"), std::string::npos);
  EXPECT_NE(message({"--halt", "later", "--tasks", "f"}).find("invalid --halt 'later'"), std::string::npos);
  EXPECT_NE(message({"--halt", "now,fail=0", "--tasks", "f"}).find("--halt"), std::string::npos);
  EXPECT_NE(message({"--frobnicate", "--tasks", "f"}).find("frobnicate"), std::string::npos);
  EXPECT_NE(message({}).find("nothing to run"), std::string::npos);
  EXPECT_NE(message({"echo"}).find("no arguments"), std::string::npos);
  EXPECT_NE(message({"--resume", "--tasks", "f"}).find("--resume needs --journal"), std::string::npos);
  EXPECT_NE(message({"--deadline", "tomorrow", "--tasks", "f"}).find("--deadline 'tomorrow'"), std::string::npos);
  for (auto& v :
       std::vector<std::vector<std::string>>{{"--slots", "0", "--tasks", "f"}, {"--halt", "x", "--tasks", "f"}})
    EXPECT_EQ(message(v).find('\n'), std::string::npos);
}

TEST(Options, DeadlinesAreRelativeOrAbsolute) {
  EXPECT_DOUBLE_EQ(*parse_deadline("+90m", 1000), 1000 + 5400);
  EXPECT_DOUBLE_EQ(*parse_deadline("+30", 1000), 1030);
  EXPECT_DOUBLE_EQ(*parse_deadline("@5000", 1000), 5000);
  EXPECT_FALSE(parse_deadline("none", 1000));
  EXPECT_THROW(parse_deadline("+", 0), std::invalid_argument);
  EXPECT_THROW(parse_deadline("90m", 0), std::invalid_argument);
}

TEST(Placement, SlotsComeFromSlurmOrTheOptionAndCoresAreSplitPerSlot) {
  EXPECT_EQ(plan_placement(0, 0, 0, {0, 1, 2, 3}, nullptr, nullptr).slots, 1);
  EXPECT_EQ(plan_placement(0, 0, 0, {0, 1, 2, 3}, "8", nullptr).slots, 8);
  EXPECT_EQ(plan_placement(0, 2, 0, {0, 1, 2, 3}, "8", nullptr).slots, 4);
  auto p = plan_placement(0, 2, 0, {4, 5, 6, 7}, nullptr, nullptr);
  ASSERT_EQ(p.slots, 2);  // the rank's 4 cores, 2 per task
  EXPECT_EQ(p.plan[0].cpus, (std::vector<int>{4, 5}));
  EXPECT_EQ(p.plan[1].cpus, (std::vector<int>{6, 7}));
  EXPECT_TRUE(p.error.empty());
  // More slots than cores: shared round-robin rather than refused.
  auto q = plan_placement(3, 1, 0, {0, 1}, nullptr, nullptr);
  EXPECT_EQ(q.plan[2].cpus, (std::vector<int>{0}));
}

TEST(Placement, GpusAreHandedOutFromTheRanksDeviceList) {
  auto p = plan_placement(2, 0, 2, {0}, nullptr, "3,5,GPU-aa,7");
  ASSERT_TRUE(p.error.empty()) << p.error;
  EXPECT_EQ(p.plan[0].gpus, "3,5");
  EXPECT_EQ(p.plan[1].gpus, "GPU-aa,7");
  auto few = plan_placement(3, 0, 2, {0}, nullptr, "0,1");
  EXPECT_NE(few.error.find("needs 6 devices, CUDA_VISIBLE_DEVICES lists 2"), std::string::npos);
  EXPECT_NE(plan_placement(1, 0, 1, {0}, nullptr, nullptr).error.find("not set"), std::string::npos);
}
