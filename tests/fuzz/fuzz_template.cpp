// Fuzz target: rankpool-run's command templates and task lists (run/tasks.hpp).
//
// Input: a command template, optionally followed by a NUL byte and a body. The template goes
// to Template::parse and is expanded over the body's lines; the body is also read as a
// command list (--tasks -), as an argument file under the template (with a --colsep picked
// by the input's last byte from a fixed list: fuzzing the regex engine is not the point),
// and as one ::: value. Properties:
//   * every std::invalid_argument message is one line, and parse throws nothing else;
//   * text() is the template, plus " {}" when it had no replacement string; parsing text()
//     again gives the same template;
//   * kSlotMarker: an expansion contains it only where {%} was expanded with it, so a
//     template without {%} never yields it, and fill_slot(expand(marker), s) equals
//     expand(s);
//   * shell_quote: a value of [-_.+/A-Za-z0-9] stays as it is, "" becomes '', and anything
//     else is a sequence of '...' (no ' inside) and "'" pieces that reads back as the value
//     under sh's rules (a cheap stand-in for running /bin/sh);
//   * a template of plain text (no braces) expands to text + " " + shell_quote(value);
//   * command lists: each command is a line of the body with a final '\r' dropped, never
//     blank nor a '#' comment, numbered 1..n with "stdin:LINE" origins in order, tagged
//     with itself;
//   * argument files: one task per line, in order, each expand(seq, {line}) of the template
//     (without --colsep), or of the line's ','-separated trimmed columns (--colsep ,), and
//     tagged with those arguments joined by spaces;
//   * a ::: value holding newlines is one value per line.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "rankpool/run/tasks.hpp"

namespace {

using rankpool::run::build_task_list;
using rankpool::run::CommandLine;
using rankpool::run::fill_slot;
using rankpool::run::kSlotMarker;
using rankpool::run::shell_quote;
using rankpool::run::TaskLine;
using rankpool::run::TaskListOptions;
using rankpool::run::Template;

bool is_safe(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '+' || c == '/';
}

bool has_reserved_byte(std::string_view s) {
  return s.find('\0') != std::string_view::npos || s.find('\x01') != std::string_view::npos;
}

// Reads back a shell_quote() result that uses only '...' and "'" pieces, as sh would; false
// when it has any other form.
bool unquote(std::string_view q, std::string& out) {
  out.clear();
  std::size_t i = 0;
  while (i < q.size()) {
    if (q[i] == '\'') {
      const std::size_t end = q.find('\'', i + 1);
      if (end == std::string_view::npos) return false;
      out.append(q.substr(i + 1, end - i - 1));
      i = end + 1;
    } else if (q.substr(i, 3) == "\"'\"") {
      out += '\'';
      i += 3;
    } else {
      return false;
    }
  }
  return true;
}

void check_quote(std::string_view v) {
  const std::string q = shell_quote(v);
  if (v.empty()) {
    FUZZ_CHECK(q == "''", {"value", v}, {"quoted", q});
    return;
  }
  bool safe = true;
  for (const char c : v) safe = safe && is_safe(c);
  if (safe) {
    FUZZ_CHECK(q == v, {"value", v}, {"quoted", q});
    return;
  }
  std::string back;
  FUZZ_CHECK(unquote(q, back) && back == v, {"value", v}, {"quoted", q}, {"read back", back});
}

void check_message(const std::invalid_argument& e, std::string_view input) {
  const std::string_view m = e.what();
  FUZZ_CHECK(!m.empty() && m.find('\n') == std::string_view::npos, {"input", input}, {"message", m});
}

// The body's lines as build_task_list reads a file: split at '\n', a final '\r' dropped,
// no extra line after a final '\n'.
std::vector<std::string_view> file_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = end + 1;
  }
  return lines;
}

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

void check_template(const Template& t, std::string_view text, const std::vector<std::string_view>& lines) {
  FUZZ_CHECK(t.text() == text || t.text() == std::string(text) + " {}", {"template", text}, {"text", t.text()});
  const Template again = Template::parse(t.text());
  FUZZ_CHECK(again.text() == t.text() && again.quotes_args() == t.quotes_args() && again.uses_slot() == t.uses_slot() &&
                 again.max_position() == t.max_position(),
             {"template", text});

  std::vector<std::string_view> args;
  for (std::size_t i = 0; i < lines.size() && i < 4; ++i) {
    if (!has_reserved_byte(lines[i])) args.push_back(lines[i]);
  }
  const std::span<const std::string_view> span(args);
  const std::string with_marker = t.expand(3, span, kSlotMarker);
  const std::string with_slot = t.expand(3, span, "12");
  FUZZ_CHECK(again.expand(3, span, "12") == with_slot, {"template", text});
  if (t.uses_slot()) {
    FUZZ_CHECK(fill_slot(with_marker, "12") == with_slot, {"template", text}, {"expanded", with_marker});
  } else {
    FUZZ_CHECK(with_marker == with_slot, {"template", text});
    FUZZ_CHECK(with_marker.find(kSlotMarker) == std::string::npos, {"template", text}, {"expanded", with_marker});
  }
  FUZZ_CHECK(with_slot.find('\x01') == std::string::npos, {"template", text}, {"expanded", with_slot});
  if (text.find_first_of("{}") == std::string_view::npos && args.size() == 1) {
    FUZZ_CHECK(with_slot == std::string(text) + " " + shell_quote(args[0]), {"template", text},
               {"expanded", with_slot});
  }
}

// The body as a command list: --tasks - without a template.
void check_command_list(std::string_view body) {
  TaskListOptions o;
  o.tasks_file = "-";
  o.stdin_text = std::string(body);
  std::vector<TaskLine> tasks;
  try {
    tasks = build_task_list(CommandLine{}, o);
  } catch (const std::invalid_argument& e) {
    check_message(e, body);
    FUZZ_CHECK(has_reserved_byte(body), {"body", body}, {"message", e.what()});
    return;
  }
  const std::vector<std::string_view> lines = file_lines(body);
  std::size_t line = 0;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const TaskLine& t = tasks[i];
    FUZZ_CHECK(t.seq == i + 1, {"body", body}, {"command", t.command});
    // The next line that is no blank line nor a comment must be this command.
    while (line < lines.size()) {
      const std::size_t first = lines[line].find_first_not_of(" \t\r\f\v");
      if (first != std::string_view::npos && lines[line][first] != '#') break;
      ++line;
    }
    FUZZ_CHECK(line < lines.size() && t.command == lines[line] && t.tag == t.command, {"body", body},
               {"command", t.command}, {"tag", t.tag});
    FUZZ_CHECK(t.origin == "stdin:" + std::to_string(line + 1), {"body", body}, {"origin", t.origin});
    ++line;
  }
  for (; line < lines.size(); ++line) {
    const std::size_t first = lines[line].find_first_not_of(" \t\r\f\v");
    FUZZ_CHECK(first == std::string_view::npos || lines[line][first] == '#', {"body", body},
               {"line left out", lines[line]});
  }
}

// The body as the argument file of the template (--tasks - TEMPLATE), with --colsep.
void check_argument_file(const Template& t, std::string_view text, std::string_view body, unsigned selector) {
  static const char* const kColseps[] = {nullptr, ",", "\\t", "[;,]+", "(,)", "x*", "\\b", "", " +"};
  const char* colsep = kColseps[selector % (sizeof kColseps / sizeof kColseps[0])];
  TaskListOptions o;
  o.tasks_file = "-";
  o.stdin_text = std::string(body);
  if (colsep != nullptr) o.colsep = colsep;
  CommandLine cl;
  cl.template_words.emplace_back(text);
  std::vector<TaskLine> tasks;
  try {
    tasks = build_task_list(cl, o);
  } catch (const std::invalid_argument& e) {
    check_message(e, body);
    // Only a reserved byte, or a {n} beyond the one source without --colsep.
    FUZZ_CHECK(has_reserved_byte(body) || (colsep == nullptr && t.max_position() > 1), {"template", text},
               {"body", body}, {"message", e.what()});
    return;
  }
  const std::vector<std::string_view> lines = file_lines(body);
  FUZZ_CHECK(tasks.size() == lines.size(), {"template", text}, {"body", body});
  const std::string_view slot = t.uses_slot() ? kSlotMarker : std::string_view();
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    FUZZ_CHECK(tasks[i].seq == i + 1 && tasks[i].origin == "stdin:" + std::to_string(i + 1), {"template", text},
               {"body", body}, {"origin", tasks[i].origin});
    FUZZ_CHECK(t.uses_slot() || tasks[i].command.find(kSlotMarker) == std::string::npos, {"template", text},
               {"command", tasks[i].command});
    std::vector<std::string_view> args;
    if (colsep == nullptr) {
      args.push_back(lines[i]);
    } else if (std::string_view(colsep) == ",") {
      std::string_view rest = lines[i];
      for (std::size_t comma = rest.find(','); comma != std::string_view::npos; comma = rest.find(',')) {
        args.push_back(trim(rest.substr(0, comma)));
        rest.remove_prefix(comma + 1);
      }
      args.push_back(trim(rest));
    } else {
      continue;
    }
    const std::string expected = t.expand(i + 1, std::span<const std::string_view>(args), slot);
    FUZZ_CHECK(tasks[i].command == expected, {"template", text}, {"line", lines[i]}, {"command", tasks[i].command},
               {"expected", expected});
    std::string tag;
    for (std::size_t a = 0; a < args.size(); ++a) tag += (a > 0 ? " " : "") + std::string(args[a]);
    FUZZ_CHECK(tasks[i].tag == tag, {"line", lines[i]}, {"tag", tasks[i].tag}, {"expected", tag});
  }
}

// The body as one ::: value: one task per line, a final '\n' making an empty last value.
void check_list_value(const Template& t, std::string_view text, std::string_view body) {
  CommandLine cl;
  cl.template_words.emplace_back(text);
  cl.sources.push_back({rankpool::run::ArgSource::Kind::list, {std::string(body)}, ""});
  std::vector<TaskLine> tasks;
  try {
    tasks = build_task_list(cl, TaskListOptions{});
  } catch (const std::invalid_argument& e) {
    check_message(e, body);
    FUZZ_CHECK(has_reserved_byte(body) || t.max_position() > 1, {"template", text}, {"body", body});
    return;
  }
  std::size_t newlines = 0;
  for (const char c : body) newlines += c == '\n' ? 1 : 0;
  FUZZ_CHECK(tasks.size() == newlines + 1, {"template", text}, {"body", body});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string_view text = input.substr(0, nul);
  const std::string_view body = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  const std::vector<std::string_view> lines = file_lines(body);

  check_quote(text);
  for (std::size_t i = 0; i < lines.size() && i < 8; ++i) check_quote(lines[i]);
  check_command_list(body);

  std::optional<Template> t;
  try {
    t = Template::parse(text);
  } catch (const std::invalid_argument& e) {
    check_message(e, text);
    return 0;
  }
  check_template(*t, text, lines);
  if (nul != std::string_view::npos) {
    check_argument_file(*t, text, body, size > 0 ? static_cast<unsigned char>(input.back()) : 0u);
    check_list_value(*t, text, body);
  }
  return 0;
}
