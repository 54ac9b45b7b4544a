// Tests of run/tasks.hpp: command lines, templates, quoting and task lists.
//
// Two kinds:
//  * unit tests of each rule, the errors and the file handling, with expectations written
//    out by hand (most taken from `parallel --dry-run` runs);
//  * GnuParallel.*: a table of command lines (ParallelCase) run through build_task_list and
//    compared byte for byte with what `parallel -j1 -k --tag --dry-run` prints for them
//    (each task's --tag prefix, a tab and its command) --
//    live when GNU parallel is installed (Debian package `parallel`; the test is skipped
//    otherwise), and always against the output recorded from it in parallel_dry_run/*.txt
//    (GNU parallel 20221122). RANKPOOL_RECORD_PARALLEL=1 rewrites those files from the live
//    parallel.
#include "rankpool/run/tasks.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fs = std::filesystem;
using rankpool::run::ArgSource;
using rankpool::run::build_task_list;
using rankpool::run::CommandLine;
using rankpool::run::fill_slot;
using rankpool::run::kSlotMarker;
using rankpool::run::shell_quote;
using rankpool::run::split_command_line;
using rankpool::run::TaskLine;
using rankpool::run::TaskListOptions;
using rankpool::run::Template;

using Strings = std::vector<std::string>;

// A fresh directory, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "rankpool-tasks-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  std::string write(const std::string& name, std::string_view content) const {
    const fs::path p = path_ / name;
    std::ofstream out(p, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) throw std::runtime_error("cannot write " + p.string());
    return p.string();
  }

 private:
  fs::path path_;
};

Strings commands_of(const std::vector<TaskLine>& tasks) {
  Strings out;
  for (const TaskLine& t : tasks) out.push_back(t.command);
  return out;
}

Strings origins_of(const std::vector<TaskLine>& tasks) {
  Strings out;
  for (const TaskLine& t : tasks) out.push_back(t.origin);
  return out;
}

std::vector<TaskLine> build(const Strings& positional, const TaskListOptions& options = {}) {
  return build_task_list(split_command_line(positional), options);
}

Strings build_commands(const Strings& positional, const TaskListOptions& options = {}) {
  return commands_of(build(positional, options));
}

// The message of the std::invalid_argument that f throws ("" when it throws none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

std::string expand1(std::string_view templ, const Strings& args, std::uint64_t seq = 1, std::string_view slot = "7") {
  return Template::parse(templ).expand(seq, args, slot);
}

// ---- shell_quote -----------------------------------------------------------------------------

TEST(ShellQuote, MatchesGnuParallelsDefaultQuoting) {
  // Expected values from `parallel --dry-run echo {} ::: VALUE` (shell_quote_scalar_default).
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "''"},
      {"abc", "abc"},
      {"a-b_c.d+e/f", "a-b_c.d+e/f"},
      {"ABC123xyz", "ABC123xyz"},
      {"a b", "'a b'"},
      {"it's", "'it'\"'\"'s'"},
      {"'", "\"'\""},
      {"''", "\"'\"''\"'\""},
      {"'a", "\"'\"'a'"},
      {"a'", "'a'\"'\""},
      {"'a'", "\"'\"'a'\"'\""},
      {"$HOME", "'$HOME'"},
      {"*", "'*'"},
      {"x;|&<>()", "'x;|&<>()'"},
      {"\xC3\xA9", "'\xC3\xA9'"},  // é: bytes >= 0x80 are quoted
      {"\xFF", "'\xFF'"},
      {"a\tb", "'a\tb'"},
      {"a\nb", "'a\nb'"},
      {"~", "'~'"},
      {"a=b", "'a=b'"},
      {"%", "'%'"},
      {"@", "'@'"},
      {",", "','"},
      {":", "':'"},
      {"\\", "'\\'"},
      {"\"", "'\"'"},
      {"`id`", "'`id`'"},
      {"-n", "-n"},
      {"+", "+"},
  };
  for (const auto& [value, quoted] : cases) EXPECT_EQ(shell_quote(value), quoted) << "value: " << value;
}

// The quoted form, evaluated by /bin/sh, gives the value back: one sh run prints every value
// NUL-terminated.
TEST(ShellQuote, RoundTripsThroughSh) {
  Strings values = {"",         "plain",
                    "a b",      "it's",
                    "'",        "''",
                    "'''",      "'a'b'",
                    "a\"b",     "$(echo x)",
                    "`x`",      "$HOME",
                    "*",        "?",
                    "[a]",      "~",
                    "~root",    "a\nb",
                    "\n",       "a\tb",
                    "\\",       "\\'",
                    "!",        "#x",
                    "x#",       ";",
                    "&",        "|",
                    "<",        ">",
                    "(",        ")",
                    "{a,b}",    "${x}",
                    "-e",       "--",
                    "\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC",
                    "a=b",      "%s"};
  std::string all;
  for (int c = 1; c < 256; ++c) all += static_cast<char>(c);
  values.push_back(all);
  for (int c = 1; c < 256; ++c) values.push_back(std::string(1, static_cast<char>(c)) + "x'" + static_cast<char>(c));

  std::string script = "printf '%s\\0'";
  for (const std::string& v : values) script += " " + shell_quote(v);
  const TempDir dir;
  const std::string script_path = dir.write("quote.sh", script);
  FILE* p = ::popen(("/bin/sh " + script_path).c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ASSERT_EQ(::pclose(p), 0);
  Strings got;
  std::size_t start = 0;
  for (std::size_t z = out.find('\0'); z != std::string::npos; z = out.find('\0', start)) {
    got.push_back(out.substr(start, z - start));
    start = z + 1;
  }
  EXPECT_EQ(start, out.size());
  ASSERT_EQ(got.size(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(got[i], values[i]) << "quoted: " << shell_quote(values[i]);
}

// ---- Template ------------------------------------------------------------------------------

TEST(Template, ModifiersFollowParallelsPerlRules) {
  // {} {.} {/} {//} {/.} of each path, as `parallel --dry-run` prints them.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"dir/sub/file.tar.gz", "dir/sub/file.tar.gz dir/sub/file.tar file.tar.gz dir/sub file.tar"},
      {"file", "file file file . file"},
      {".hidden", ".hidden '' .hidden . ''"},
      {"a b", "'a b' 'a b' 'a b' . 'a b'"},
      {"", "'' '' '' . ''"},
      {"/", "/ / '' / ''"},
      {"a/", "a/ a/ '' . ''"},
      {"/a", "/a /a a / a"},
      {"a/b/", "a/b/ a/b/ '' a ''"},
      {".", ". '' . . ''"},
      {"..", ".. . .. . ."},
      {"dir/.hidden", "dir/.hidden dir/ .hidden dir ''"},
      {"a.b/c", "a.b/c a.b/c c a.b c"},
      {"//a//b//", "//a//b// //a//b// '' //a ''"},
      {"a//b", "a//b a//b b a b"},
  };
  for (const auto& [path, expected] : cases) {
    EXPECT_EQ(expand1("echo {} {.} {/} {//} {/.}", {path}), "echo " + expected) << "path: " << path;
  }
}

TEST(Template, BasenameStopsAtNewlinesLikePerlsDot) {
  // s:.*/:: -- '.' does not match '\n' (checked with perl). Unquoted: {/} is the first word.
  EXPECT_EQ(expand1("{/}", {"a\nb/c"}), "a\nc");
  EXPECT_EQ(expand1("{/}", {"x/y\nb/c"}), "y\nb/c");
  EXPECT_EQ(expand1("{/}", {"a/b\n"}), "b\n");
}

TEST(Template, PositionsCountFromEitherEnd) {
  const Strings args = {"d/a.b", "c d/e.f", "x/y.z"};
  EXPECT_EQ(expand1("echo {1} {2} {3} {-1} {-3}", args), "echo d/a.b 'c d/e.f' x/y.z x/y.z d/a.b");
  EXPECT_EQ(expand1("echo {1.} {2/} {3//} {-2/.}", args), "echo d/a e.f x e");
  // Spaces before the modifier, and leading zeros, as parallel's \{(-?\d+)\s*REST\}.
  EXPECT_EQ(expand1("echo {1 } {2 .} {1\t/} {01} {-1 //}", args), "echo d/a.b 'c d/e' a.b d/a.b x");
}

TEST(Template, MissingPositionExpandsToNothing) { EXPECT_EQ(expand1("echo {1}<{2}>{-3}", {"a"}), "echo a<>"); }

TEST(Template, AllArgumentsForEveryNonPositionalString) {
  EXPECT_EQ(expand1("echo {} X{.}Y", {"a b.x", "c/d.y"}), "echo 'a b.x' c/d.y X'a b' c/dY");
  EXPECT_EQ(expand1("echo {//}", {"a", "b/c", "/d"}), "echo . b /");
}

TEST(Template, NoArgumentsIsOneEmptyArgument) {
  EXPECT_EQ(Template::parse("echo {} {1} {.}").expand(1, std::vector<std::string>{}, "1"), "echo '' '' ''");
}

TEST(Template, SeqAndSlot) {
  const Template t = Template::parse("run --seq {#} --slot {%} {}");
  EXPECT_TRUE(t.uses_slot());
  EXPECT_EQ(t.expand(42, Strings{"x"}, "3"), "run --seq 42 --slot 3 x");
  EXPECT_EQ(t.expand(18446744073709551615ULL, Strings{"x"}, kSlotMarker),
            "run --seq 18446744073709551615 --slot " + std::string(kSlotMarker) + " x");
  EXPECT_FALSE(Template::parse("run {#} {}").uses_slot());
}

TEST(Template, AppendsArgumentWhenThereIsNoReplacementString) {
  const Template t = Template::parse("gzip -9");
  EXPECT_EQ(t.text(), "gzip -9 {}");
  EXPECT_EQ(t.expand(1, Strings{"a b"}, "1"), "gzip -9 'a b'");
  EXPECT_EQ(Template::parse("").text(), " {}");
  EXPECT_EQ(Template::parse("").expand(1, Strings{"a b"}, "1"), " 'a b'");
  // {#} and {%} are replacement strings: nothing is appended.
  EXPECT_EQ(Template::parse("echo {#}").text(), "echo {#}");
  EXPECT_EQ(Template::parse("echo {%}").expand(1, Strings{"x"}, "2"), "echo 2");
}

TEST(Template, ReplacementStringInTheFirstWordIsNotQuoted) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"{}", false},        {"{} -x", false},  {"cmd{}", false}, {"{1} {2}", false}, {"{#} {}", false}, {"{%}", false},
      {"{//}/x {}", false}, {"echo {}", true}, {" {}", true},    {"V={} env", true}, {"\t{}", true},    {"echo", true},
      {"", true},           {"a=b{}", true},   {"x\n{}", true},  {"{.}{/}", false},
  };
  for (const auto& [text, quoted] : cases) {
    EXPECT_EQ(Template::parse(text).quotes_args(), quoted) << "template: " << text;
  }
  EXPECT_EQ(expand1("{} x", {"echo a b"}), "echo a b x");
  EXPECT_EQ(expand1("cmd{}", {"a b"}), "cmda b");
  EXPECT_EQ(expand1("V={} env", {"a b"}), "V='a b' env");
}

TEST(Template, BracesThatAreNoReplacementStringStayLiteral) {
  const Strings literal = {
      "awk '{print $1}'",
      "echo ${HOME}",
      "echo {a,b}",
      "cp x{,.bak}",
      "echo {1..3}",
      "echo ${#x}",
      "echo ${slot} ${uniq} {host}",
      "echo { }",
      "echo {=}",
      "echo {-}",
      "echo {1,2}",
      "echo {x}",
      "echo {",
      "echo }",
      "echo }{",
      "echo {{",
      "echo {#x} {%x} {/a/b} {^a} {,a} {:-x} {:2}",
      "echo {1.2} {1+} {+1} {-1x} {1/x}",
  };
  for (const std::string& text : literal) {
    const Template t = Template::parse(text);
    EXPECT_EQ(t.text(), text + " {}") << text;
    EXPECT_EQ(t.expand(1, Strings{"v"}, "1"), text + " v") << text;
  }
  // Literal braces around and between replacement strings.
  EXPECT_EQ(expand1("{{}}", {"a b"}), "{a b}");
  EXPECT_EQ(expand1("echo {{}} {x{}}", {"a b"}), "echo {'a b'} {x'a b'}");
  EXPECT_EQ(expand1("awk '{print $1}' {}", {"f g"}), "awk '{print $1}' 'f g'");
}

TEST(Template, UnsupportedReplacementStringsAreErrorsNamingThem) {
  const std::string supported = "(supported: {} {.} {/} {//} {/.} {#} {%} {n} {n.} {n/} {n//} {n/.})";
  EXPECT_EQ(error_of([] { Template::parse("echo {..}"); }),
            "unsupported replacement string '{..}' in the command template " + supported);
  EXPECT_EQ(error_of([] { Template::parse("echo {= s/a/b/ =} x"); }),
            "unsupported replacement string '{= s/a/b/ =}' in the command template " + supported);
  const Strings unsupported = {"{==}", "{=1=}", "{= {= =}", "{=} =}", "{...}", "{/..}", "{/...}",  "{+/}",
                               "{+.}", "{+..}", "{+...}",   "{##}",   "{0}",   "{-0}",  "{00}",    "{0.}",
                               "{1#}", "{2%}",  "{0%}",     "{0#}",   "{1..}", "{2+/}", "{1/...}", "{-1 ...}"};
  for (const std::string& rpl : unsupported) {
    const std::string message = error_of([&] { Template::parse("echo " + rpl + " {}"); });
    EXPECT_NE(message.find("unsupported replacement string '"), std::string::npos) << rpl << ": " << message;
  }
  // The message names the string as written, on one line.
  EXPECT_NE(error_of([] { Template::parse("x {= a\nb =}"); }).find("'{= a\\nb =}'"), std::string::npos);
  EXPECT_NE(error_of([] { Template::parse("x {= {= 1 =}"); }).find("'{= 1 =}'"), std::string::npos);
}

TEST(Template, MaxPosition) {
  EXPECT_EQ(Template::parse("{}").max_position(), 0);
  EXPECT_EQ(Template::parse("{2} {1.} {#}").max_position(), 2);
  EXPECT_EQ(Template::parse("{-3/} {1}").max_position(), 3);
}

TEST(Template, RejectsReservedBytes) {
  EXPECT_NE(error_of([] { Template::parse(std::string("echo \x01 {}")); }).find("\\x01"), std::string::npos);
  EXPECT_NE(error_of([] { Template::parse(std::string("echo \0 {}", 9)); }).find("NUL"), std::string::npos);
  const Template t = Template::parse("echo {}");
  EXPECT_NE(error_of([&] { t.expand(1, Strings{std::string("a\0b", 3)}, "1"); }).find("NUL"), std::string::npos);
  EXPECT_NE(error_of([&] { t.expand(1, Strings{std::string(kSlotMarker)}, "1"); }).find("\\x01"), std::string::npos);
}

TEST(FillSlot, ReplacesEveryMarker) {
  const std::string m(kSlotMarker);
  EXPECT_EQ(fill_slot("a " + m + " b" + m, "12"), "a 12 b12");
  EXPECT_EQ(fill_slot("no marker {%}", "1"), "no marker {%}");
  EXPECT_EQ(fill_slot("", "1"), "");
  EXPECT_EQ(fill_slot(m + m, ""), "");
}

// ---- split_command_line ----------------------------------------------------------------------

TEST(SplitCommandLine, TemplateAndSources) {
  const CommandLine cl = split_command_line({"echo", "a b", "{}", ":::", "x", "y", "::::", "f1", "f2", ":::", "z"});
  EXPECT_EQ(cl.template_words, (Strings{"echo", "a b", "{}"}));
  ASSERT_EQ(cl.sources.size(), 4u);
  EXPECT_EQ(cl.sources[0], (ArgSource{ArgSource::Kind::list, {"x", "y"}, ""}));
  EXPECT_EQ(cl.sources[1], (ArgSource{ArgSource::Kind::file, {}, "f1"}));
  EXPECT_EQ(cl.sources[2], (ArgSource{ArgSource::Kind::file, {}, "f2"}));
  EXPECT_EQ(cl.sources[3], (ArgSource{ArgSource::Kind::list, {"z"}, ""}));
}

TEST(SplitCommandLine, NoTemplateOrNoSources) {
  const CommandLine a = split_command_line({":::", "echo a"});
  EXPECT_TRUE(a.template_words.empty());
  EXPECT_EQ(a.sources.size(), 1u);
  const CommandLine b = split_command_line({"echo", "{}"});
  EXPECT_EQ(b.template_words.size(), 2u);
  EXPECT_TRUE(b.sources.empty());
  EXPECT_TRUE(split_command_line({}).template_words.empty());
}

TEST(SplitCommandLine, Errors) {
  EXPECT_EQ(error_of([] { split_command_line({"echo", ":::"}); }), "':::' without values (give the values after it)");
  EXPECT_EQ(error_of([] {
              split_command_line({"echo", ":::", ":::", "a"});
            }),
            "':::' without values (give the values after it)");
  EXPECT_EQ(error_of([] {
              split_command_line({"echo", ":::", "a", ":::"});
            }),
            "':::' without values (give the values after it)");
  EXPECT_EQ(error_of([] {
              split_command_line({"echo", "::::"});
            }),
            "'::::' without a file (give the argument file after it)");
  EXPECT_EQ(error_of([] {
              split_command_line({"echo", "::::", ":::", "a"});
            }),
            "'::::' without a file (give the argument file after it)");
  EXPECT_EQ(error_of([] {
              split_command_line({"echo", ":::", "a", ":::+", "b"});
            }),
            "':::+' (GNU parallel's linked argument sources) is not supported");
  EXPECT_EQ(error_of([] {
              split_command_line({"echo", "::::+", "f"});
            }),
            "'::::+' (GNU parallel's linked argument sources) is not supported");
}

// ---- build_task_list -------------------------------------------------------------------------

TEST(BuildTaskList, CommandListSkipsBlankAndCommentLines) {
  const TempDir dir;
  const std::string path =
      dir.write("cmds.txt", "echo 1\n\n   \n# comment\n  # indented comment\n\techo 2 # not skipped\necho 3");
  TaskListOptions o;
  o.tasks_file = path;
  const auto tasks = build({}, o);
  EXPECT_EQ(commands_of(tasks), (Strings{"echo 1", "\techo 2 # not skipped", "echo 3"}));
  EXPECT_EQ(origins_of(tasks), (Strings{path + ":1", path + ":6", path + ":7"}));
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_EQ(tasks[0].seq, 1u);
  EXPECT_EQ(tasks[2].seq, 3u);
}

TEST(BuildTaskList, CommandListEndings) {
  TaskListOptions o;
  o.tasks_file = "-";
  o.stdin_text = "a\r\nb \r\n\r\nc\rd\r\ne\r";
  EXPECT_EQ(build_commands({}, o), (Strings{"a", "b ", "c\rd", "e"}));
  o.stdin_text = "a\n";
  EXPECT_EQ(build_commands({}, o), (Strings{"a"}));
  o.stdin_text = "a";
  EXPECT_EQ(build_commands({}, o), (Strings{"a"}));
  o.stdin_text = "";
  EXPECT_TRUE(build_commands({}, o).empty());
  o.stdin_text = "x\ny\n";
  EXPECT_EQ(origins_of(build({}, o)), (Strings{"stdin:1", "stdin:2"}));
}

TEST(BuildTaskList, CommandListErrors) {
  TaskListOptions o;
  o.tasks_file = "-";
  o.stdin_text = "echo a\n";
  o.colsep = ",";
  EXPECT_EQ(error_of([&] { build({}, o); }),
            "--colsep needs a command template (without one, each line of --tasks is a command)");
  o.colsep.reset();
  EXPECT_EQ(error_of([&] {
              build({":::", "x"}, o);
            }),
            "--tasks FILE without a command template is a list of commands; ::: and :::: need a command template");
  o.stdin_text = std::string("ok\necho \0\n", 10);
  EXPECT_EQ(error_of([&] { build({}, o); }),
            "stdin:2: the command contains a NUL byte, which a shell command cannot hold");
  o.stdin_text = "ok\n\n\x01\n";
  EXPECT_EQ(error_of([&] { build({}, o); }),
            "stdin:3: the command contains the byte \\x01, which rankpool-run reserves for {%}");
}

TEST(BuildTaskList, UnreadableFiles) {
  const TempDir dir;
  const std::string missing = (dir.path() / "missing.txt").string();
  TaskListOptions o;
  o.tasks_file = missing;
  EXPECT_EQ(error_of([&] { build({}, o); }), "cannot read task file '" + missing + "': No such file or directory");
  EXPECT_EQ(error_of([&] { build({"echo"}, o); }),
            "cannot read task file '" + missing + "': No such file or directory");
  EXPECT_EQ(error_of([&] {
              build({"echo", "::::", missing});
            }),
            "cannot read argument file '" + missing + "': No such file or directory");
  o.tasks_file = dir.path().string();
  EXPECT_EQ(error_of([&] { build({}, o); }), "cannot read task file '" + o.tasks_file + "': Is a directory");
}

TEST(BuildTaskList, NothingToRun) {
  EXPECT_EQ(
      error_of([] { build({}); }),
      "nothing to run: give --tasks FILE (- for stdin), or ::: / :::: arguments with or without a command template");
  EXPECT_EQ(error_of([] {
              build({"echo", "{}"});
            }),
            "the command template has no arguments: give ::: VALUES, :::: FILE or --tasks FILE (- for stdin)");
}

TEST(BuildTaskList, CartesianProductLastSourceFastest) {
  const auto tasks =
      build({"echo", "{#}", "{1}", "{2}", "{3}", ":::", "a", "b", ":::", "1", "2", "3", ":::", "x", "y"});
  Strings expected;
  int seq = 0;
  for (const char* a : {"a", "b"}) {
    for (const char* n : {"1", "2", "3"}) {
      for (const char* x : {"x", "y"}) {
        expected.push_back("echo " + std::to_string(++seq) + " " + a + " " + n + " " + x);
      }
    }
  }
  EXPECT_EQ(commands_of(tasks), expected);
  EXPECT_EQ(tasks[4].origin, "::: 1 of 2, ::: 3 of 3, ::: 1 of 2");
  for (std::size_t i = 0; i < tasks.size(); ++i) EXPECT_EQ(tasks[i].seq, i + 1);
}

TEST(BuildTaskList, TasksFileIsTheFirstSourceAndEveryLineAValue) {
  const TempDir dir;
  const std::string path = dir.write("args.txt", "a b\n\n# c\r\nlast");
  TaskListOptions o;
  o.tasks_file = path;
  const auto tasks = build({"echo", "{1}", "{2}", ":::", "p", "q"}, o);
  EXPECT_EQ(commands_of(tasks), (Strings{"echo 'a b' p", "echo 'a b' q", "echo '' p", "echo '' q", "echo '# c' p",
                                         "echo '# c' q", "echo last p", "echo last q"}));
  EXPECT_EQ(tasks[5].origin, path + ":3, ::: 2 of 2");
}

TEST(BuildTaskList, ArgumentFilesAndStdin) {
  const TempDir dir;
  const std::string f = dir.write("f.txt", "1\r\n2\n");
  TaskListOptions o;
  o.stdin_text = "s1\ns2";
  EXPECT_EQ(build_commands({"echo", ":::", "a", "::::", f, "-"}, o),
            (Strings{"echo a 1 s1", "echo a 1 s2", "echo a 2 s1", "echo a 2 s2"}));
  o.tasks_file = "-";
  EXPECT_EQ(error_of([&] {
              build({"echo", "::::", "-"}, o);
            }),
            "stdin ('-') can be read only once, but is named more than once");
  const std::string empty = dir.write("empty.txt", "");
  EXPECT_TRUE(build_commands({"echo", ":::", "a", "::::", empty}).empty());
  const std::string one_empty_line = dir.write("nl.txt", "\n");
  EXPECT_EQ(build_commands({"echo", "::::", one_empty_line}), (Strings{"echo ''"}));
}

TEST(BuildTaskList, CrLfIsDroppedFromFilesOnly) {
  const TempDir dir;
  const std::string f = dir.write("crlf.txt", "a\r\nb c\r\n\r\nmid\rdle\r\nlast\r");
  EXPECT_EQ(build_commands({"echo", "::::", f}),
            (Strings{"echo a", "echo 'b c'", "echo ''", "echo 'mid\rdle'", "echo last"}));
  // A ::: value keeps its '\r', as in parallel.
  EXPECT_EQ(build_commands({"echo", ":::", "a\r"}), (Strings{"echo 'a\r'"}));
}

TEST(BuildTaskList, NewlinesSplitListValues) {
  const auto tasks = build({"echo", "{#}", "{}", ":::", "a\nb", "c\n", "\n", ""});
  EXPECT_EQ(commands_of(tasks),
            (Strings{"echo 1 a", "echo 2 b", "echo 3 c", "echo 4 ''", "echo 5 ''", "echo 6 ''", "echo 7 ''"}));
  EXPECT_EQ(tasks[6].origin, "::: 7 of 7");
}

TEST(BuildTaskList, PositionBeyondTheSourcesIsAnError) {
  EXPECT_EQ(error_of([] {
              build({"echo", "{1}", "{3}", ":::", "a", ":::", "b"});
            }),
            "'{3}' in the command template needs 3 argument sources, but there are 2");
  EXPECT_EQ(error_of([] {
              build({"echo", "{-2/}", ":::", "a"});
            }),
            "'{-2/}' in the command template needs 2 argument sources, but there is 1");
  EXPECT_EQ(build_commands({"echo", "{2}", "{-1}", ":::", "a", ":::", "b"}), (Strings{"echo b b"}));
}

TEST(BuildTaskList, NoTemplateRunsTheValues) {
  EXPECT_EQ(build_commands({":::", "echo 'a b'", "ls -l"}), (Strings{"echo 'a b'", "ls -l"}));
  EXPECT_EQ(build_commands({":::", "echo", "printf", ":::", "a b"}), (Strings{"echo a b", "printf a b"}));
}

Strings tags_of(const std::vector<TaskLine>& tasks) {
  Strings out;
  for (const TaskLine& t : tasks) out.push_back(t.tag);
  return out;
}

// The --tag prefix: the arguments joined by spaces, unquoted (`parallel --tag`).
TEST(BuildTaskList, Tags) {
  EXPECT_EQ(tags_of(build({"echo", "{1}", ":::", "a b", "c", ":::", "'d'"})), (Strings{"a b 'd'", "c 'd'"}));
  TaskListOptions o;
  o.tasks_file = "-";
  o.stdin_text = " x , y\n";
  o.colsep = ",";
  EXPECT_EQ(tags_of(build({"echo"}, o)), (Strings{"x y"}));
  o.colsep.reset();
  o.stdin_text = "echo 1 # c\n# skipped\n";
  EXPECT_EQ(tags_of(build({}, o)), (Strings{"echo 1 # c"}));
  EXPECT_EQ(tags_of(build({":::", "ls -l"})), (Strings{"ls -l"}));
}

TEST(BuildTaskList, SlotMarker) {
  const auto tasks = build({"echo", "{%}", "{}", ":::", "a", "b"});
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[1].command, "echo " + std::string(kSlotMarker) + " b");
  EXPECT_EQ(fill_slot(tasks[1].command, "3"), "echo 3 b");
  EXPECT_EQ(build_commands({"echo", "{}", ":::", "{%}"}), (Strings{"echo '{%}'"}));
}

TEST(BuildTaskList, ReservedBytesInValuesNameTheirOrigin) {
  const TempDir dir;
  const std::string f = dir.write("bin.txt", std::string("ok\nbad\0x\n", 9));
  EXPECT_EQ(error_of([&] {
              build({"echo", "::::", f});
            }),
            "argument " + f + ":2 ('bad\\x00x') contains a NUL byte, which a shell command cannot hold");
  EXPECT_EQ(error_of([] {
              build({"echo", ":::", "a", "b\x01"});
            }),
            "argument ::: 2 of 2 ('b\\x01') contains the byte \\x01, which rankpool-run reserves for {%}");
}

TEST(BuildTaskList, Colsep) {
  TaskListOptions o;
  o.tasks_file = "-";
  o.colsep = ",";
  o.stdin_text = "a b,c.d/e,\nf, g h \n\n,lead\n";
  // {} is every column; a missing column is nothing; columns are trimmed; {-1} is the last.
  EXPECT_EQ(build_commands({"echo", "{}", "|", "{1}", "{2.}", "{3}", "{-1}"}, o),
            (Strings{"echo 'a b' c.d/e '' | 'a b' c.d/e '' ''", "echo f 'g h' | f 'g h'  'g h'", "echo '' | ''   ''",
                     "echo '' lead | '' lead  lead"}));
  // Columns count across sources; ::: values are split too.
  o.stdin_text = "a,b\nc\n";
  EXPECT_EQ(build_commands({"echo", "{1}", "{2}", "{3}", "{4}", ":::", "x,y"}, o),
            (Strings{"echo a b x y", "echo c x y "}));
  // Without a template.
  o.stdin_text = "";
  o.tasks_file.clear();
  EXPECT_EQ(build_commands({":::", "echo,a b"}, o), (Strings{"echo a b"}));
}

// Unlike parallel: there, {-n} on a line of m < n columns is column 2m - n + 1 when that is
// >= 1 (Perl indexes @args with m - n, a negative index, which counts from the end again).
TEST(BuildTaskList, NegativePositionDoesNotWrap) {
  TaskListOptions o;
  o.tasks_file = "-";
  o.colsep = ",";
  o.stdin_text = "a,b\na,b,c\n";
  EXPECT_EQ(build_commands({"echo", "<{-4}>", "<{-3}>"}, o), (Strings{"echo <> <>", "echo <> <a>"}));
}

TEST(BuildTaskList, ColsepRegexFollowsPerlSplit) {
  TaskListOptions o;
  o.tasks_file = "-";
  o.stdin_text = "a1b22c\n,x,\n\n";
  const auto split = [&](const std::string& re) {
    o.colsep = re;
    return build_commands({"echo"}, o);
  };
  // Expected: `parallel --colsep RE --dry-run echo :::: file`.
  EXPECT_EQ(split("(\\d)"), (Strings{"echo a 1 b 2 '' 2 c", "echo ',x,'", "echo ''"}));
  EXPECT_EQ(split("x*"), (Strings{"echo a 1 b 2 2 c ''", "echo ',' ',' ''", "echo ''"}));
  EXPECT_EQ(split(""), (Strings{"echo a 1 b 2 2 c ''", "echo ',' x ',' ''", "echo ''"}));
  EXPECT_EQ(split("\\d+"), (Strings{"echo a b c", "echo ',x,'", "echo ''"}));
  EXPECT_EQ(split("^"), (Strings{"echo a1b22c", "echo ',x,'", "echo ''"}));
  EXPECT_EQ(split("\\b"), (Strings{"echo a1b22c ''", "echo ',' x ','", "echo ''"}));
  EXPECT_EQ(split("\\,"), (Strings{"echo a1b22c", "echo '' x ''", "echo ''"}));
  o.stdin_text = "a\tb\t\tc\n";
  EXPECT_EQ(split("\\t"), (Strings{"echo a b '' c"}));
  EXPECT_EQ(split("\\s+"), (Strings{"echo a b c"}));
  o.stdin_text = "a,b\n";
  EXPECT_EQ(split("(x)?,"), (Strings{"echo a '' b"}));
  // One character class, optionally repeated (split without std::regex).
  o.stdin_text = " a, b;;c\t d ,\n";
  EXPECT_EQ(split("[;,]"), (Strings{"echo a b '' 'c\t d' ''"}));
  EXPECT_EQ(split("[;,]+"), (Strings{"echo a b 'c\t d' ''"}));
  EXPECT_EQ(split("[^a-c]+"), (Strings{"echo '' a b c ''"}));
  EXPECT_EQ(split("[\\s,]+"), (Strings{"echo '' a 'b;;c' d ''"}));
  EXPECT_EQ(split(" +"), (Strings{"echo '' 'a,' 'b;;c' d ','"}));
  EXPECT_EQ(split("\\W"), (Strings{"echo '' a '' b '' c '' d '' ''"}));
  EXPECT_EQ(split("\\;+"), (Strings{"echo 'a, b' 'c\t d ,'"}));
  // Long separator runs: std::regex's default executor would overflow the stack here.
  o.stdin_text = "a" + std::string(200000, ' ') + "b\n";
  EXPECT_EQ(split(" +"), (Strings{"echo a b"}));
  EXPECT_EQ(split("( )+"), (Strings{"echo a '' b"}));  // the captured ' ', trimmed
  o.stdin_text = "a" + std::string(200000, 'x') + "b\n";
  EXPECT_EQ(split("x*"), (Strings{"echo a b ''"}));
  EXPECT_EQ(error_of([&] { split("(unclosed"); }).rfind("--colsep '(unclosed' is not a valid regular expression", 0),
            0u);
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// 10^6 lines (2 * 10^5 under the sanitizers): the list must build in well under a second
// in a release build. Printed, not asserted (a loaded machine is slower); the contents are.
TEST(BuildTaskList, MillionLines) {
  const int lines = kSanitized ? 200'000 : 1'000'000;
  std::string text;
  text.reserve(static_cast<std::size_t>(lines) * 24);
  for (int i = 0; i < lines; ++i) text += "sim --seed " + std::to_string(i) + "\n";
  const std::string last = "sim --seed " + std::to_string(lines - 1);
  TaskListOptions o;
  o.tasks_file = "-";
  o.stdin_text = text;

  auto start = std::chrono::steady_clock::now();
  const auto list = build({}, o);
  const double list_s = seconds_since(start);
  ASSERT_EQ(list.size(), static_cast<std::size_t>(lines));
  EXPECT_EQ(list.back().command, last);
  EXPECT_EQ(list.back().origin, "stdin:" + std::to_string(lines));

  start = std::chrono::steady_clock::now();
  const auto templ = build({"sim", "--input", "{/.}", "--seq", "{#}", "--out", "out/{}.log"}, o);
  const double templ_s = seconds_since(start);
  ASSERT_EQ(templ.size(), static_cast<std::size_t>(lines));
  EXPECT_EQ(templ.back().command,
            "sim --input '" + last + "' --seq " + std::to_string(lines) + " --out out/'" + last + "'.log");

  const auto time_colsep = [&](const char* colsep, const std::string& expected_last) {
    o.colsep = colsep;
    const auto t0 = std::chrono::steady_clock::now();
    const auto tasks = build({"{1}", "{2}", "{3}"}, o);
    const double s = seconds_since(t0);
    EXPECT_EQ(tasks.back().command, expected_last) << colsep;
    return s;
  };
  const double literal_s = time_colsep(" ", last);
  const double class_s = time_colsep(" +", last);
  // std::regex is an order of magnitude slower: a tenth of the lines.
  const int regex_lines = lines / 10;
  o.stdin_text = text.substr(0, text.find("sim --seed " + std::to_string(regex_lines) + "\n"));
  const double regex_s = time_colsep(" |;", "sim --seed " + std::to_string(regex_lines - 1));

  std::printf(
      "%d lines: command list %.3f s, template %.3f s, --colsep ' ' %.3f s, ' +' %.3f s; "
      "%d lines, --colsep ' |;' (std::regex) %.3f s\n",
      lines, list_s, templ_s, literal_s, class_s, regex_lines, regex_s);
}

// ---- comparison with GNU parallel --------------------------------------------------------------

struct ParallelCase {
  std::string name;
  Strings words;                             // template and sources; "@NAME" = the file NAME
  std::map<std::string, std::string> files;  // written to a temporary directory
  std::optional<std::string> colsep;
  std::string tasks_file;  // a file NAME: our --tasks, parallel's -a
};

std::ostream& operator<<(std::ostream& os, const ParallelCase& c) { return os << c.name; }

const std::vector<ParallelCase>& parallel_cases() {
  static const std::vector<ParallelCase> cases = [] {
    const Strings paths = {
        "dir/sub/file.tar.gz",
        "file",
        ".hidden",
        "a b",
        "it's",
        "$HOME",
        "*",
        "\xC3\xA9",
        "",
        "x;|&<>()",
        "'",
        "a'",
        "'a",
        "''",
        "/",
        "a/",
        "/a",
        "a/b/",
        "//a//b//",
        ".",
        "..",
        "dir/.hidden",
        "a.b/c",
        "~user",
        "a=b",
        "-n",
        "+x",
        "#c",
        "!x",
        "\\",
        "\"q\"",
        "`id`",
        "tab\there",
        "\xE6\x97\xA5\xE6\x9C\xAC.txt",
        "cr\rinside",
        "a.",
        ".a.b",
        "x/y.z/w",
        "many...dots",
        "naïve café.tar",
        "\xFF\xFE",
        "{}",
        "{.}",
        "a\\b",
    };
    std::vector<ParallelCase> c;
    auto with_values = [](Strings words, const Strings& values) {
      words.insert(words.end(), values.begin(), values.end());
      return words;
    };
    c.push_back({"modifiers", with_values({"echo", "{}", "{.}", "{/}", "{//}", "{/.}", ":::"}, paths), {}, {}, ""});
    c.push_back(
        {"positional",
         {"echo",  "{1}",    "{2}",    "{1.}", "{2/}",    "{1//}",   "{2/.}", "{-1}",  "{-2/}", "{1 .}",    "{01}",
          "{-1.}", "{-1/.}", "{-2//}", ":::",  "dir/a.b", "c d/e.f", ":::",   "x/y.z", "'q'",   "d/e.f/g.h"},
         {},
         {},
         ""});
    c.push_back({"cartesian",
                 {"echo", "{#}", "{1}", "{2}", "{3}", ":::", "a", "b", ":::", "1", "2", "3", ":::", "x", "y"},
                 {},
                 {},
                 ""});
    c.push_back(
        {"all_args", {"echo", "{#}", "{}", "X{}Y", "{.}", ":::", "a b.x", "c", ":::", "d/e.f", "'e'"}, {}, {}, ""});
    c.push_back({"slot", {"echo", "slot={%}", "seq={#}", "{}", ":::", "a", "b", "c"}, {}, {}, ""});
    c.push_back({"arg_files",
                 {"echo", "{1}", "{2}", "::::", "@f1", "@f2"},
                 {{"f1", "one\n\n# not a comment\n  spaced  \nlast-no-newline"}, {"f2", "x\ny\n"}},
                 {},
                 ""});
    c.push_back({"mixed_sources", {"echo", ":::", "a", "b", "::::", "@f", ":::", "c"}, {{"f", "1\n2\n"}}, {}, ""});
    c.push_back({"tasks_file_first", {"echo", "{1}", "{2}", ":::", "p", "q"}, {{"t", "a b\nc\n"}}, {}, "t"});
    c.push_back({"command_list", {}, {{"c", "echo one\nprintf '%s\\n' \"a b\"\nls -l | wc -l\n"}}, {}, "c"});
    c.push_back({"colsep_comma",
                 {"echo", "{}", "{1}", "{2}", "{3}", "{-1}", "{2.}", "::::", "@f"},
                 {{"f", "a b,c.d/e,\nf, g h \n,lead\n\nsingle\n x , y ,z\n"}},
                 ",",
                 ""});
    c.push_back(
        {"colsep_tab", {"echo", "{1}", "{2}", "{3}", "::::", "@f"}, {{"f", "a\tb c\n\tx\t\n1\t2\t3\n"}}, "\\t", ""});
    c.push_back({"colsep_sources",
                 {"echo", "{1}", "{2}", "{3}", "{4}", "::::", "@f", ":::", "x,y", "z"},
                 {{"f", "a,b\nc\n"}},
                 ",",
                 ""});
    c.push_back({"colsep_tasks_file", {"echo", "{2}", "{1}"}, {{"t", "a,b\nc,d\n"}}, ",", "t"});
    const std::map<std::string, std::string> split_file = {{"f", "a1b22c\n,x,\n\n;x;;y,\n"}};
    c.push_back({"colsep_class", {"echo", "{}", "::::", "@f"}, split_file, "[;,]+", ""});
    c.push_back({"colsep_captures", {"echo", "::::", "@f"}, split_file, "(\\d)", ""});
    c.push_back({"colsep_zero_width", {"echo", "::::", "@f"}, split_file, "x*", ""});
    c.push_back({"colsep_word_boundary", {"echo", "::::", "@f"}, split_file, "\\b", ""});
    c.push_back({"colsep_empty", {"echo", "::::", "@f"}, split_file, "", ""});
    c.push_back({"colsep_whitespace", {"echo", "::::", "@f"}, {{"f", "  a  b\tc  \n"}}, "\\s+", ""});
    const std::map<std::string, std::string> class_file = {{"f", " a, b;;c\t d ,\nx\n\n,,\n"}};
    c.push_back({"colsep_class_spaces", {"echo", "::::", "@f"}, class_file, " +", ""});
    c.push_back({"colsep_class_set", {"echo", "::::", "@f"}, class_file, "[\\s,]+", ""});
    c.push_back({"colsep_class_negated", {"echo", "::::", "@f"}, class_file, "[^a-c]", ""});
    c.push_back({"colsep_class_nonword", {"echo", "::::", "@f"}, class_file, "\\W", ""});
    c.push_back({"colsep_capture_repeat", {"echo", "::::", "@f"}, class_file, "(;)+", ""});
    c.push_back({"no_replacement_string", {"echo", ":::", "a b", "c"}, {}, {}, ""});
    c.push_back({"no_replacement_string_words", {"echo", "x y", "z", ":::", "a b"}, {}, {}, ""});
    c.push_back({"first_word_unquoted", {"{}", ":::", "echo a b", "printf %s\\n 'x y'"}, {}, {}, ""});
    c.push_back({"first_word_prefix", {"cmd{}", "{}", ":::", "a b"}, {}, {}, ""});
    c.push_back({"first_word_seq", {"{#}", "{}", ":::", "a b"}, {}, {}, ""});
    c.push_back({"assignment_quoted", {"V={}", "env", ":::", "a b"}, {}, {}, ""});
    c.push_back({"no_template", {":::", "echo a", "echo 'b c'", ":::", "d e"}, {}, {}, ""});
    c.push_back({"literal_braces",
                 {"awk '{print $1}'", "${HOME}", "{a,b}", "cp", "x{,.bak}", "{1..3}", "${#x}", "${slot}", "{x}", "{=}",
                  "{ }", "{1,2}", ":::", "f g"},
                 {},
                 {},
                 ""});
    c.push_back({"literal_braces_with_rpl", {"echo", "{{}}", "{x{}}", "${HOME}{}", ":::", "f g"}, {}, {}, ""});
    c.push_back({"template_newline", {"echo {}\necho {.}", ":::", "x.y", "a b.c"}, {}, {}, ""});
    c.push_back({"empty_template_word", {"", ":::", "a b"}, {}, {}, ""});
    c.push_back({"empty_word_inside", {"echo", "", "{}", ":::", "x"}, {}, {}, ""});
    c.push_back({"newline_in_value", {"echo", "{#}", "{}", ":::", "a\nb", "c\n", "\n", ""}, {}, {}, ""});
    // {-9}, not {-4}: parallel indexes its argument array with n - 4, and Perl takes a
    // negative index from the end again (see BuildTaskList.NegativePositionDoesNotWrap).
    c.push_back({"missing_position_with_colsep",
                 {"echo", "<{3}>", "{-9}", "{-1}", "::::", "@f"},
                 {{"f", "a,b\na,b,c\n"}},
                 ",",
                 ""});
    return c;
  }();
  return cases;
}

// GNU parallel's path, or "" when it is not installed (moreutils' `parallel` does not count).
const std::string& gnu_parallel() {
  static const std::string path = [] {
    const char* env_path = std::getenv("PATH");
    std::stringstream dirs(env_path != nullptr ? env_path : "/usr/bin:/bin");
    for (std::string d; std::getline(dirs, d, ':');) {
      const fs::path p = fs::path(d.empty() ? "." : d) / "parallel";
      if (::access(p.c_str(), X_OK) != 0) continue;
      FILE* f = ::popen(("'" + p.string() + "' --version 2>/dev/null").c_str(), "r");
      if (f == nullptr) continue;
      char buf[256] = {};
      const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
      ::pclose(f);
      if (std::string_view(buf, n).find("GNU parallel") != std::string_view::npos) return p.string();
    }
    return std::string();
  }();
  return path;
}

// Runs argv (no shell) with stdin from /dev/null; returns stdout, and stderr in *err.
std::string run_capture(const Strings& argv, const fs::path& home, std::string* err) {
  int out_pipe[2];
  if (::pipe(out_pipe) != 0) throw std::runtime_error("pipe failed");
  const fs::path err_path = home / "stderr.txt";
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int in = ::open("/dev/null", O_RDONLY);
    const int errfd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(in, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(errfd, 2);
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    // parallel's configuration ($PARALLEL, ~/.parallel/config) must not change the result.
    ::unsetenv("PARALLEL");
    ::setenv("PARALLEL_HOME", home.c_str(), 1);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = ::read(out_pipe[0], buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out_pipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::ifstream e(err_path, std::ios::binary);
  *err = std::string((std::istreambuf_iterator<char>(e)), std::istreambuf_iterator<char>());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *err += "\n(exit status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")";
  }
  return out;
}

class GnuParallel : public ::testing::TestWithParam<ParallelCase> {
 protected:
  // The case's positional words with "@NAME" replaced by the path of file NAME.
  Strings words(const TempDir& dir) const {
    const ParallelCase& c = GetParam();
    Strings out;
    for (const std::string& w : c.words) {
      if (w.size() > 1 && w[0] == '@' && c.files.count(w.substr(1)) != 0) {
        out.push_back((dir.path() / w.substr(1)).string());
      } else {
        out.push_back(w);
      }
    }
    return out;
  }

  // What rankpool-run would run, one task per line as `parallel --tag --dry-run` prints them
  // (the --tag prefix, a tab, the command), with {%} as slot 1 (parallel -j1).
  std::string ours(const TempDir& dir) const {
    const ParallelCase& c = GetParam();
    for (const auto& [name, content] : c.files) dir.write(name, content);
    TaskListOptions o;
    o.colsep = c.colsep;
    if (!c.tasks_file.empty()) o.tasks_file = (dir.path() / c.tasks_file).string();
    std::string out;
    for (const TaskLine& t : build(words(dir), o)) {
      // parallel tags the dry run's output like a job's: at the start of every line, and
      // after every '\r' (for progress bars).
      out += t.tag + "\t";
      for (const char ch : fill_slot(t.command, "1")) {
        out += ch;
        if (ch == '\n' || ch == '\r') out += t.tag + "\t";
      }
      out += "\n";
    }
    return out;
  }

  static fs::path recorded_path(const std::string& name) {
    return fs::path(RANKPOOL_PARALLEL_DRY_RUN_DIR) / (name + ".txt");
  }
};

TEST_P(GnuParallel, MatchesDryRun) {
  if (gnu_parallel().empty()) GTEST_SKIP() << "GNU parallel is not installed (Debian package: parallel)";
  const ParallelCase& c = GetParam();
  const TempDir dir;
  const std::string expected = ours(dir);
  Strings argv = {gnu_parallel(), "--will-cite", "-j1", "-k", "--tag", "--dry-run"};
  if (c.colsep) {
    argv.push_back("--colsep");
    argv.push_back(*c.colsep);
  }
  if (!c.tasks_file.empty()) {
    argv.push_back("-a");
    argv.push_back((dir.path() / c.tasks_file).string());
  }
  const Strings w = words(dir);
  argv.insert(argv.end(), w.begin(), w.end());
  std::string err;
  const std::string got = run_capture(argv, dir.path(), &err);
  EXPECT_EQ(got, expected) << "parallel's stderr: " << err;
  if (std::getenv("RANKPOOL_RECORD_PARALLEL") != nullptr) {
    std::ofstream out(recorded_path(c.name), std::ios::binary);
    out << got;
    ASSERT_TRUE(out.good()) << "cannot write " << recorded_path(c.name);
  } else {
    std::ifstream in(recorded_path(c.name), std::ios::binary);
    const std::string recorded((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(got, recorded) << "this parallel differs from the one recorded in " << recorded_path(c.name)
                             << " (RANKPOOL_RECORD_PARALLEL=1 rewrites it)";
  }
}

TEST_P(GnuParallel, MatchesRecordedDryRun) {
  const ParallelCase& c = GetParam();
  std::ifstream in(recorded_path(c.name), std::ios::binary);
  ASSERT_TRUE(in.good()) << "missing " << recorded_path(c.name)
                         << ": record it with RANKPOOL_RECORD_PARALLEL=1 and GNU parallel installed";
  const std::string recorded((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const TempDir dir;
  EXPECT_EQ(ours(dir), recorded);
}

INSTANTIATE_TEST_SUITE_P(Cases, GnuParallel, ::testing::ValuesIn(parallel_cases()),
                         [](const ::testing::TestParamInfo<ParallelCase>& param_info) {
                           return param_info.param.name;
                         });

}  // namespace
