#pragma once
// What rankpool-run runs: a list of shell commands, or a command template over argument
// sources, with GNU parallel's syntax for the common cases (see docs/run.md for what is and
// is not supported).
//
//   rankpool-run --tasks commands.txt             one shell command per line
//   rankpool-run 'gzip -9 {}' ::: a.csv b.csv       a template over a ::: list
//   rankpool-run --tasks - 'sim --seed {}'        a template over the lines of stdin
//   rankpool-run cmd {1} {2} ::: a b :::: file      several sources: their cartesian product
//   rankpool-run ::: 'make a' 'make b'            no template: the values are the commands
//
// Everything here is plain data and pure functions, no MPI: the master expands the list once
// and ships each task's final command. Input errors are std::invalid_argument with a one-line
// message that names the problem (and the file and line where there is one).
//
// The commands are the ones `parallel -j1 --dry-run` prints for the same arguments (GNU
// parallel 20221122, compared by tests/unit/run/tasks_test.cpp), except for these
// differences, each explained where it applies: a '\r' ending a file line is dropped;
// ::: or :::: with nothing after it, a template without any source, {n} beyond the last
// source (without --colsep), replacement strings we do not implement, and NUL or \x01
// bytes are errors; the --colsep regex is ECMAScript; {-n} does not wrap around; a command
// list skips blank and '#' lines.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rankpool::run {

/// One argument source of a template, in command-line order.
struct ArgSource {
  enum class Kind { list, file } kind = Kind::list;
  std::vector<std::string> values;  // Kind::list: the words after ":::"
  std::string path;                 // Kind::file: the file after "::::" ("-" = stdin)
  bool operator==(const ArgSource&) const = default;
};

/// The positional part of a rankpool-run command line after the options were taken out:
/// template words, then ::: and :::: sources.
struct CommandLine {
  std::vector<std::string> template_words;  // joined with single spaces, as GNU parallel does
  std::vector<ArgSource> sources;
};

/// Splits positional arguments at ":::" and "::::". The words before the first separator are
/// the template (none: the values are the commands, as in `parallel ::: 'cmd a' 'cmd b'`).
/// ":::" takes the words up to the next separator as one source; "::::" takes one or more
/// files, each its own source (as in parallel: `:::: a b` is two sources).
/// Throws std::invalid_argument for a ":::" without values or a "::::" without a file
/// (unlike parallel, which silently runs nothing: almost always an empty glob or a typo), and
/// for ":::+" / "::::+" (parallel's linked sources, not supported).
CommandLine split_command_line(const std::vector<std::string>& positional);

struct TaskLine;
struct TaskListOptions;

/// A parsed command template. Supported replacement strings, with GNU parallel's meaning:
///   {}  {.}  {/}  {//}  {/.}      every argument of the task (each value of each source, or
///                                 each column with --colsep), each quoted, separated by
///                                 spaces; with a modifier: without the extension / basename /
///                                 dirname / basename without the extension, per argument
///   {n} {n.} {n/} {n//} {n/.}     the same for the n-th argument only, n >= 1 (the n-th source,
///                                 or with --colsep the n-th column, counted across sources);
///                                 {-n} counts from the last; spaces may precede the modifier
///                                 ({1 .}); a missing argument expands to nothing (not '')
///   {#}                           the task's sequence number, 1-based
///   {%}                           the job slot, 1-based, known only when the task starts
/// The modifiers are parallel's Perl rules: {.} drops the last ".xyz" when no '/' follows it
/// (".hidden" -> ""), {/} drops everything up to the last '/', {//} is Perl's
/// File::Basename::dirname ("file" -> ".", "a/b/" -> "a", "/" -> "/").
///
/// Arguments are shell-quoted when substituted (see shell_quote), as GNU parallel does by
/// default, so `rm {}` on "a b" removes one file -- except, as in parallel, when a replacement
/// string occurs in the first word (no space, tab, newline or '=' before it: `{}`,
/// `{1} --flag`, `cmd{}`): then the arguments are inserted as they are, so that
/// `rankpool-run {} ::: 'ls -l'` runs `ls -l`. {#} and {%} are never quoted.
///
/// A template without any replacement string gets " {}" appended (GNU parallel's rule).
/// GNU parallel replacement strings that are not supported are an error naming them:
/// {= perl =}, {n#} {n%} {0} {-0}, and the --plus ones that cannot be anything else
/// ({+/} {+.} {+..} {+...} {..} {...} {/..} {/...} {##} and their {n...} forms). Text in
/// braces that is not a replacement string at all (`awk '{print $1}'`, `${HOME}`,
/// `cp {}{,.bak}`, `{1..3}`) stays as it is -- so do the --plus strings that look like
/// shell syntax (`${#var}`, `${slot}`, `{,x}`), which parallel without --plus keeps too.
class Template {
 public:
  /// Throws std::invalid_argument naming an unsupported replacement string, or for a NUL or
  /// \x01 byte in `text` (\x01 is reserved for kSlotMarker).
  static Template parse(std::string_view text);
  /// The command for task `seq` (1-based) with `args` (one value per source or column; none
  /// is taken as one empty argument, as parallel does). `slot` replaces {%} as it is (a slot
  /// number or kSlotMarker). A {n} beyond `args` expands to nothing, as in parallel
  /// (build_task_list rejects that up front when there is no --colsep). Throws
  /// std::invalid_argument for a NUL or \x01 byte in an argument.
  std::string expand(std::uint64_t seq, std::span<const std::string_view> args, std::string_view slot) const;
  std::string expand(std::uint64_t seq, const std::vector<std::string>& args, std::string_view slot) const;
  /// The template uses {%}: the final command is known only on the worker.
  bool uses_slot() const { return uses_slot_; }
  /// Highest |n| of any {n} or {-n} (0 when none): the template needs that many arguments.
  int max_position() const { return max_position_; }
  /// Arguments are shell-quoted (false when a replacement string is in the first word).
  bool quotes_args() const { return quote_args_; }
  /// The template as it runs: the text given, plus " {}" when it had no replacement string.
  const std::string& text() const { return text_; }

  struct Part {
    enum class Kind { literal, arg, seq, slot } kind = Kind::literal;
    std::string text;  // literal: the text; otherwise the replacement string as written
    int position = 0;  // arg: 0 = {} (all of them), n > 0 = {n}, n < 0 = {-n} (from the end)
    enum class Mod { none, no_ext, base, dir, base_no_ext } mod = Mod::none;
  };
  const std::vector<Part>& parts() const { return parts_; }

 private:
  friend std::vector<TaskLine> build_task_list(const CommandLine&, const TaskListOptions&);
  // expand() without the check of the arguments (build_task_list checks each value once).
  std::string render(std::uint64_t seq, std::span<const std::string_view> args, std::string_view slot) const;

  std::string text_;
  std::vector<Part> parts_;
  bool uses_slot_ = false;
  bool quote_args_ = true;
  int max_position_ = 0;
};

/// GNU parallel's default quoting of a value for /bin/sh (its Q(), shell_quote_scalar_default):
/// a value of only [-_.+/A-Za-z0-9] stays as it is; the empty string becomes ''; anything else
/// is put in single quotes, each ' inside written as '"'"', and a leading or trailing '' that
/// this leaves is dropped ("it's" -> 'it'"'"'s', "'" -> "'"). Bytes >= 0x80 (UTF-8) are
/// quoted too. `parallel --dry-run` prints the same.
std::string shell_quote(std::string_view value);

/// One task of the list: its sequence number (1-based, {#}), the final command, where it came
/// from (for messages) and its --tag prefix.
struct TaskLine {
  std::uint64_t seq = 0;
  std::string command;  // for a template using {%}: expanded with kSlotMarker in its place
  std::string origin;   // "commands.txt:17", "::: 3 of 8", "args.txt:5, ::: 2 of 3", ...
  std::string tag;      // what --tag prefixes: the task's arguments (columns with --colsep)
                        // joined by spaces, unquoted, as parallel --tag; a command list's
                        // line itself
};

/// Stands for {%} in TaskLine::command until the worker knows the slot. It cannot occur
/// otherwise: build_task_list and Template reject a \x01 byte in templates, values and
/// command lines, so every \x01 in a command comes from this marker.
inline constexpr std::string_view kSlotMarker = "\x01{%}\x01";
/// Replaces every kSlotMarker in `command` by `slot`.
std::string fill_slot(std::string_view command, std::string_view slot);

struct TaskListOptions {
  std::string tasks_file;             // --tasks FILE ("-" = stdin); empty: none
  std::optional<std::string> colsep;  // --colsep REGEX (ECMAScript regex): split each input
                                      // line into columns {1} {2} ...
  std::string stdin_text;             // what "-" reads (the caller reads stdin once, on rank 0)
};

/// Builds the task list.
///  - No template, --tasks: `tasks_file` holds one shell command per line, taken verbatim;
///    blank lines and lines whose first non-blank character is '#' are skipped (unlike
///    `parallel -a FILE`, which runs them as no-op commands and counts them in {#}); a last
///    line without '\n' counts. --colsep or ::: / :::: sources with it are an error.
///  - No template, ::: / :::: sources: the template is `{}` (unquoted, see Template), so each
///    value is a command, as in `parallel ::: 'cmd a' 'cmd b'`.
///  - A template: the tasks are the cartesian product of the sources in order (the last
///    source varies fastest, like GNU parallel), where `tasks_file` (if given) is a source
///    before the ::: / :::: ones (like parallel's -a); each line of a file source is one
///    value (empty and '#' lines are values too, as in parallel; a trailing '\n' does not
///    make an extra one); a ::: value containing '\n' is several values, one per line, as
///    in parallel. A template needs at least one source (unlike parallel, which would read
///    stdin: say `--tasks -`). An empty file source gives no tasks.
///  - Every file (command list or source): a '\r' ending a line is dropped, so CR-LF files
///    work (unlike parallel, which keeps it, quoted, and warns).
///  - --colsep: every value of every source is split at the regex with Perl's split rules
///    (trailing empty columns kept; no empty column from a zero-width match where a column
///    starts; capture groups are columns too), and each column is trimmed of ASCII
///    whitespace (parallel trims with --colsep); {n} counts the columns of all sources in
///    order. A {n} that a line lacks expands to nothing, as in parallel; a {-n} beyond the
///    first column too (parallel wraps it around once more: a Perl negative index).
///    The regex is ECMAScript, not Perl: the common separators (',', '\t', ' +', '\s+',
///    '[;,]', '\|') mean the same in both; Perl-only syntax ((?<=...), \h, possessive
///    quantifiers) is an error; back-references are refused, and between alternatives the
///    longest match wins ('a|ab'), where Perl takes the first -- std::regex's non-recursive
///    executor, because the recursive one overflows the stack on long matches.
///  - Without --colsep, a {n} or {-n} beyond the number of sources is an error (parallel
///    would expand it to nothing in every task).
/// Throws std::invalid_argument for an unreadable file ("cannot read task file 'X': No such
/// file or directory"; "argument file" for ::::), stdin named twice, a template error, an
/// invalid --colsep regex, or a NUL or \x01 byte in a value or command line (a shell command
/// cannot hold NUL; \x01 is reserved for kSlotMarker), naming the file and line.
std::vector<TaskLine> build_task_list(const CommandLine& cl, const TaskListOptions& options);

}  // namespace rankpool::run
