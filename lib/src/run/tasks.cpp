// Task lists and GNU-parallel-compatible command templates (run/tasks.hpp). Each rule follows
// GNU parallel 20221122 (Debian 12's /usr/bin/parallel, Perl); the comments quote the Perl
// where the rule is not obvious, and tests/unit/run/tasks_test.cpp compares the results with
// `parallel --dry-run`.
#include "rankpool/run/tasks.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
// GCC 12 with -fsanitize=address warns about std::function members inside libstdc++'s regex
// automaton that it cannot see initialised (a false positive: crawl/options.cpp gets the same).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <stdexcept>
#include <utility>

namespace rankpool::run {
namespace {

using Part = Template::Part;
using Mod = Template::Part::Mod;

constexpr std::string_view kSupported = "{} {.} {/} {//} {/.} {#} {%} {n} {n.} {n/} {n//} {n/.}";

// For messages: control bytes escaped and long text cut, so that every message is one line.
std::string printable(std::string_view s, std::size_t max = 80) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

[[noreturn]] void throw_unsupported(std::string_view rpl) {
  throw std::invalid_argument("unsupported replacement string '" + printable(rpl) +
                              "' in the command template (supported: " + std::string(kSupported) + ")");
}

// A NUL cannot be part of a shell command (execve takes C strings), and \x01 is kSlotMarker's
// first byte: rejecting both in every input makes each \x01 of a command a marker's.
const char* reserved_byte(std::string_view s) {
  bool found = false;
  for (const char c : s) found |= static_cast<unsigned char>(c) <= 1;  // one pass, no branch per byte
  if (!found) return nullptr;
  if (s.find('\0') != std::string_view::npos) return "a NUL byte, which a shell command cannot hold";
  return "the byte \\x01, which rankpool-run reserves for {%}";
}

// ---- quoting -------------------------------------------------------------------------------

// shell_quote_scalar_default: `if(/[^-_.+a-z0-9\/]/i)` -- on bytes, so only ASCII letters.
constexpr std::array<bool, 256> kQuoteSafe = [] {
  std::array<bool, 256> safe{};
  for (int c = 'a'; c <= 'z'; ++c) safe[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) safe[static_cast<std::size_t>(c)] = true;
  for (int c = '0'; c <= '9'; ++c) safe[static_cast<std::size_t>(c)] = true;
  for (const char c : std::string_view("-_.+/")) safe[static_cast<unsigned char>(c)] = true;
  return safe;
}();

void append_quoted(std::string& out, std::string_view v) {
  if (v.empty()) {
    out += "''";
    return;
  }
  bool safe = true;
  for (const char c : v) {
    if (!kQuoteSafe[static_cast<unsigned char>(c)]) {
      safe = false;
      break;
    }
  }
  if (safe) {
    out += v;
    return;
  }
  // s/'/'"'"'/g; $_ = "'$_'"; s/^''//; s/''$//;
  const std::size_t start = out.size();
  out += '\'';
  std::size_t from = 0;
  for (std::size_t q = v.find('\''); q != std::string_view::npos; q = v.find('\'', from)) {
    out.append(v.substr(from, q - from));
    out += "'\"'\"'";
    from = q + 1;
  }
  out.append(v.substr(from));
  out += '\'';
  if (out.compare(start, 2, "''") == 0) out.erase(start, 2);
  if (out.size() - start >= 2 && out.compare(out.size() - 2, 2, "''") == 0) out.resize(out.size() - 2);
}

// ---- modifiers -----------------------------------------------------------------------------

// {/}: s:.*/:: -- Perl's '.' does not match '\n', so the first line with a '/' loses
// everything up to its last '/'. (Values read from files or ::: never hold a '\n'.)
std::string_view basename_of(std::string_view v, std::string& scratch) {
  std::size_t line_start = 0;
  while (true) {
    const std::size_t nl = v.find('\n', line_start);
    const std::size_t line_end = nl == std::string_view::npos ? v.size() : nl;
    const std::size_t slash = v.substr(line_start, line_end - line_start).rfind('/');
    if (slash != std::string_view::npos) {
      const std::size_t cut = line_start + slash + 1;
      if (line_start == 0) return v.substr(cut);
      scratch.assign(v.substr(0, line_start));
      scratch.append(v.substr(cut));
      return scratch;
    }
    if (nl == std::string_view::npos) return v;
    line_start = nl + 1;
  }
}

// {.}: s:\.[^/.]*$:: -- only the last '.' can match, and only with no '/' after it.
std::string_view without_extension(std::string_view v) {
  const std::size_t p = v.find_last_of("./");
  if (p != std::string_view::npos && v[p] == '.') return v.substr(0, p);
  return v;
}

// File::Basename's _strip_trailing_sep: s{(.)/*\z}{$1}s.
std::string_view strip_trailing_slashes(std::string_view d) {
  std::size_t end = d.size();
  while (end > 1 && d[end - 1] == '/') --end;
  return d.substr(0, end);
}

// File::Basename's fileparse (Unix): m{^(.*/)?(.*)}s, and './' for an empty directory part.
std::pair<std::string_view, std::string_view> fileparse(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {"./", path};
  return {path.substr(0, slash + 1), path.substr(slash + 1)};
}

// {//}: File::Basename::dirname (Unix).
std::string_view dirname_of(std::string_view path) {
  auto [dir, base] = fileparse(path);
  dir = strip_trailing_slashes(dir);
  if (base.empty()) dir = strip_trailing_slashes(fileparse(dir).first);
  return dir;
}

std::string_view apply_mod(std::string_view v, Mod mod, std::string& scratch) {
  switch (mod) {
    case Mod::none:
      return v;
    case Mod::no_ext:
      return without_extension(v);
    case Mod::base:
      return basename_of(v, scratch);
    case Mod::dir:
      return dirname_of(v);
    case Mod::base_no_ext:
      return without_extension(basename_of(v, scratch));
  }
  return v;
}

// ---- template parsing ----------------------------------------------------------------------

bool is_perl_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::optional<Mod> mod_of(std::string_view s) {
  if (s.empty()) return Mod::none;
  if (s == ".") return Mod::no_ext;
  if (s == "/") return Mod::base;
  if (s == "//") return Mod::dir;
  if (s == "/.") return Mod::base_no_ext;
  return std::nullopt;
}

// --plus replacement strings that nothing else writes in braces: an error rather than
// literal text, so a user of `parallel --plus` learns they are not supported. (The other
// --plus strings, {#x} {%x} {,x} {slot} ..., stay literal: `${#var}`, `cp f{,.bak}` and
// `${slot}` are ordinary shell, and parallel without --plus keeps them too.)
bool is_plus_only(std::string_view s) {
  for (const std::string_view p : {"+/", "+.", "+..", "+...", "..", "...", "/..", "/..."}) {
    if (s == p) return true;
  }
  return false;
}

enum class Brace { literal, part, unsupported };

// `inner` is the text between a '{' and the next '}' (no brace in it). GNU parallel's default
// replacement strings are {} {.} {/} {//} {/.} {#} {%} and, for each, the positional form
// \{(-?\d+)\s*REST\} where REST is the string without its '{'.
Brace classify(std::string_view inner, Part& part) {
  if (const auto mod = mod_of(inner)) {
    part.kind = Part::Kind::arg;
    part.position = 0;
    part.mod = *mod;
    return Brace::part;
  }
  if (inner == "#") {
    part.kind = Part::Kind::seq;
    return Brace::part;
  }
  if (inner == "%") {
    part.kind = Part::Kind::slot;
    return Brace::part;
  }
  if (inner == "##" || is_plus_only(inner)) return Brace::unsupported;

  std::size_t i = 0;
  const bool negative = !inner.empty() && inner[0] == '-';
  if (negative) ++i;
  const std::size_t digits = i;
  long long value = 0;
  while (i < inner.size() && inner[i] >= '0' && inner[i] <= '9') {
    value = std::min<long long>(value * 10 + (inner[i] - '0'), INT_MAX);  // {99999999999}: no source
    ++i;
  }
  if (i == digits) return Brace::literal;
  while (i < inner.size() && is_perl_space(inner[i])) ++i;
  const std::string_view rest = inner.substr(i);
  if (const auto mod = mod_of(rest)) {
    // parallel takes {0} as {} and {-0} as nothing at all: quirks, not features.
    if (value == 0) return Brace::unsupported;
    part.kind = Part::Kind::arg;
    part.position = static_cast<int>(negative ? -value : value);
    part.mod = *mod;
    return Brace::part;
  }
  // {n#} {n%}: parallel has them (and gets them wrong); {n..} etc.: --plus.
  if (rest == "#" || rest == "%" || is_plus_only(rest)) return Brace::unsupported;
  return Brace::literal;  // {1..3}, {1,2}: shell brace expansion
}

// GNU parallel's {= perl =}: s[\{=((?:(?!\{=|=\}).)*?)=\}]s, the nearest "{=" before the
// first "=}" that does not overlap it.
std::optional<std::string_view> find_perl_expression(std::string_view t) {
  std::size_t open = std::string_view::npos;
  for (std::size_t i = 0; i + 1 < t.size(); ++i) {
    if (t[i] == '{' && t[i + 1] == '=') {
      open = i;
    } else if (t[i] == '=' && t[i + 1] == '}' && open != std::string_view::npos && open + 2 <= i) {
      return t.substr(open, i + 2 - open);
    }
  }
  return std::nullopt;
}

// ---- files and sources ---------------------------------------------------------------------

[[noreturn]] void throw_unreadable(std::string_view what, const std::string& path, int error) {
  throw std::invalid_argument("cannot read " + std::string(what) + " '" + printable(path) +
                              "': " + std::strerror(error));
}

std::string read_whole_file(const std::string& path, std::string_view what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_unreadable(what, path, errno);
  struct Closer {
    int fd_;
    ~Closer() { ::close(fd_); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_unreadable(what, path, errno);
  if (S_ISDIR(st.st_mode)) throw_unreadable(what, path, EISDIR);
  std::string data;
  std::size_t used = 0;
  data.resize(S_ISREG(st.st_mode) && st.st_size > 0 ? static_cast<std::size_t>(st.st_size) + 1 : 65536);
  while (true) {
    if (used == data.size()) data.resize(data.size() * 2);
    const ssize_t n = ::read(fd, data.data() + used, data.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_unreadable(what, path, errno);
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  data.resize(used);
  return data;
}

// Calls f(line, line_number) for each line: split at '\n', a '\r' that ends a line dropped
// (CR-LF files; parallel would keep it), a last line without '\n' counted, and a final '\n'
// not starting another line.
template <class F>
void for_each_line(std::string_view text, F&& f) {
  std::size_t pos = 0;
  std::uint64_t number = 0;
  while (pos < text.size()) {
    const void* nl = std::memchr(text.data() + pos, '\n', text.size() - pos);
    const std::size_t end =
        nl != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nl) - text.data()) : text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    f(line, ++number);
    pos = end + 1;
  }
}

// The number of lines for_each_line calls f for.
std::size_t line_count(std::string_view text) {
  const auto newlines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  return newlines + (!text.empty() && text.back() != '\n' ? 1 : 0);
}

void append_number(std::string& out, std::uint64_t n) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

std::string display_name(const std::string& path) { return path == "-" ? "stdin" : path; }

// libstdc++'s default regex executor recurses once per character it matches, so a long
// match (40 000 spaces for ' +') overflows the stack; its "polynomial" executor (an
// extension) walks the automaton breadth-first in bounded stack. The price: between
// alternatives it takes the longest match, where ECMAScript and Perl take the first
// ('a|ab' on "ab" matches "ab"), and back-references are refused.
#if defined(__GLIBCXX__)
constexpr auto kRegexNoRecursion = std::regex_constants::__polynomial;
#else
constexpr auto kRegexNoRecursion = std::regex_constants::syntax_option_type{};
#endif

// --colsep: Perl's `split /$colsep/, $line, -1` followed by parallel's --trim lr.
class ColumnSplitter {
 public:
  explicit ColumnSplitter(const std::string& pattern) {
    // std::regex is slow: ',', '\t', ' +', '\s+', '[;,]' need no regex engine.
    literal_ = literal_pattern(pattern);
    if (literal_) return;
    byte_class_ = byte_class_pattern(pattern);
    if (byte_class_) return;
    try {
      regex_ = std::regex(pattern, std::regex::ECMAScript | kRegexNoRecursion);
    } catch (const std::regex_error& e) {
      throw std::invalid_argument("--colsep '" + printable(pattern) +
                                  "' is not a valid regular expression (ECMAScript syntax): " + e.what());
    }
  }

  /// Appends the trimmed columns of `line` to `out`.
  void split(std::string_view line, std::vector<std::string_view>& out) const {
    if (literal_) {
      std::size_t start = 0;
      for (std::size_t hit = line.find(*literal_); hit != std::string_view::npos; hit = line.find(*literal_, start)) {
        out.push_back(trim(line.substr(start, hit - start)));
        start = hit + literal_->size();
      }
      out.push_back(trim(line.substr(start)));
      return;
    }
    if (byte_class_) {
      const ByteClass& c = *byte_class_;
      const auto in = [&](std::size_t i) { return c.bytes[static_cast<unsigned char>(line[i])]; };
      std::size_t start = 0;
      for (std::size_t i = 0; i < line.size(); ++i) {
        if (!in(i)) continue;
        out.push_back(trim(line.substr(start, i - start)));
        std::size_t end = i + 1;
        if (c.repeat) {
          while (end < line.size() && in(end)) ++end;
        }
        start = end;
        i = end - 1;
      }
      out.push_back(trim(line.substr(start)));
      return;
    }
    split_regex(line, out);
  }

 private:
  // A pattern of one character class, optionally repeated ("X" or "X+"): never a zero-width
  // match and no alternatives, so splitting at each maximal run is exactly Perl's split.
  struct ByteClass {
    std::array<bool, 256> bytes{};
    bool repeat = false;
  };

  // Adds the escape `e` (after a backslash) to `c`; false when it is none we handle.
  static bool add_escape(char e, ByteClass& c) {
    const auto add_if = [&](auto pred) {
      for (int b = 0; b < 256; ++b) {
        if (pred(b)) c.bytes[static_cast<std::size_t>(b)] = true;
      }
    };
    const auto is_space = [](int b) { return b == ' ' || (b >= '\t' && b <= '\r'); };
    const auto is_digit = [](int b) { return b >= '0' && b <= '9'; };
    const auto is_word = [&](int b) {
      return is_digit(b) || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b == '_';
    };
    switch (e) {
      case 't':
        c.bytes['\t'] = true;
        return true;
      case 'n':
        c.bytes['\n'] = true;
        return true;
      case 'r':
        c.bytes['\r'] = true;
        return true;
      case 'f':
        c.bytes['\f'] = true;
        return true;
      case 'v':
        c.bytes['\v'] = true;
        return true;
      case 's':
        add_if(is_space);
        return true;
      case 'S':
        add_if([&](int b) { return !is_space(b); });
        return true;
      case 'd':
        add_if(is_digit);
        return true;
      case 'D':
        add_if([&](int b) { return !is_digit(b); });
        return true;
      case 'w':
        add_if(is_word);
        return true;
      case 'W':
        add_if([&](int b) { return !is_word(b); });
        return true;
      default:
        if (static_cast<unsigned char>(e) >= 0x80 || std::isalnum(static_cast<unsigned char>(e)) || e == '_') {
          return false;  // \b \x41 \1 \c ...
        }
        c.bytes[static_cast<unsigned char>(e)] = true;  // \, \| \. ...
        return true;
    }
  }

  static std::optional<ByteClass> byte_class_pattern(std::string_view p) {
    ByteClass c;
    std::size_t i = 0;
    if (p.empty()) return std::nullopt;
    if (p[0] == '\\') {
      if (p.size() < 2 || !add_escape(p[1], c)) return std::nullopt;
      i = 2;
    } else if (p[0] == '[') {
      // [abc] [^,;] [a-z] [ \t] [\s,]: ASCII members, no ']' first, no nested syntax.
      i = 1;
      const bool negate = i < p.size() && p[i] == '^';
      if (negate) ++i;
      if (i < p.size() && p[i] == ']') return std::nullopt;
      bool closed = false;
      while (i < p.size()) {
        const char ch = p[i];
        if (ch == ']') {
          closed = true;
          ++i;
          break;
        }
        if (static_cast<unsigned char>(ch) >= 0x80 || ch == '[') return std::nullopt;
        if (ch == '\\') {
          if (i + 1 >= p.size()) return std::nullopt;
          const char e = p[i + 1];
          if (e == 'b' || e == 'B' || !add_escape(e, c)) return std::nullopt;
          i += 2;
          continue;
        }
        if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
          const char hi = p[i + 2];
          if (hi == '\\' || hi == '[' || static_cast<unsigned char>(hi) >= 0x80 || hi < ch) return std::nullopt;
          for (int b = static_cast<unsigned char>(ch); b <= static_cast<unsigned char>(hi); ++b) {
            c.bytes[static_cast<std::size_t>(b)] = true;
          }
          i += 3;
          continue;
        }
        c.bytes[static_cast<unsigned char>(ch)] = true;
        ++i;
      }
      if (!closed) return std::nullopt;
      if (negate) {
        for (bool& b : c.bytes) b = !b;
      }
    } else if (std::string_view("^$.*+?()[]{}|").find(p[0]) == std::string_view::npos) {
      c.bytes[static_cast<unsigned char>(p[0])] = true;  // ' +', ',+'
      i = 1;
    } else {
      return std::nullopt;
    }
    if (i < p.size() && p[i] == '+') {
      c.repeat = true;
      ++i;
    }
    if (i != p.size()) return std::nullopt;
    return c;
  }

  // The pattern as a plain string when it has no regex syntax beyond escaped punctuation
  // and \t \n \r \f \v.
  static std::optional<std::string> literal_pattern(std::string_view p) {
    std::string lit;
    for (std::size_t i = 0; i < p.size(); ++i) {
      const char c = p[i];
      if (c == '\\') {
        if (i + 1 == p.size()) return std::nullopt;
        const char e = p[++i];
        switch (e) {
          case 't':
            lit += '\t';
            break;
          case 'n':
            lit += '\n';
            break;
          case 'r':
            lit += '\r';
            break;
          case 'f':
            lit += '\f';
            break;
          case 'v':
            lit += '\v';
            break;
          default:
            // \d \s \b \1 \x41 ...: regex syntax; \, \| \. ...: the character itself.
            if (static_cast<unsigned char>(e) >= 0x80 || std::isalnum(static_cast<unsigned char>(e)) || e == '_') {
              return std::nullopt;
            }
            lit += e;
        }
      } else if (std::string_view("^$.*+?()[]{}|").find(c) != std::string_view::npos) {
        return std::nullopt;
      } else {
        lit += c;
      }
    }
    if (lit.empty()) return std::nullopt;
    return lit;
  }

  // Perl's split: a zero-width match where a column starts does not end it (Perl then looks
  // for a longer match there, then further on), trailing empty columns are kept (limit -1),
  // and capture groups are columns too (an unmatched group: an empty one).
  void split_regex(std::string_view line, std::vector<std::string_view>& out) const {
    const char* const b = line.data();
    const char* const e = b + line.size();
    const auto flags_at = [](std::size_t pos) {
      return pos > 0 ? std::regex_constants::match_prev_avail : std::regex_constants::match_default;
    };
    std::size_t start = 0;  // where the current column starts
    std::size_t from = 0;   // where to look for the next separator
    std::cmatch m;
    while (from <= line.size()) {
      if (!std::regex_search(b + from, e, m, regex_, flags_at(from))) break;
      if (m.length(0) == 0 && static_cast<std::size_t>(m[0].first - b) == start) {
        std::cmatch longer;
        if (std::regex_search(
                b + start, e, longer, regex_,
                flags_at(start) | std::regex_constants::match_continuous | std::regex_constants::match_not_null)) {
          m = std::move(longer);
        } else {
          from = start + 1;
          continue;
        }
      }
      const auto pos = static_cast<std::size_t>(m[0].first - b);
      out.push_back(trim(line.substr(start, pos - start)));
      for (std::size_t g = 1; g < m.size(); ++g) {
        out.push_back(m[g].matched ? trim(std::string_view(m[g].first, static_cast<std::size_t>(m[g].length())))
                                   : std::string_view());
      }
      start = pos + static_cast<std::size_t>(m.length(0));
      from = start;
    }
    out.push_back(trim(line.substr(start)));
  }

  // parallel's --trim lr (on by default with --colsep): s/^\s+//; s/\s+$// -- ASCII \s.
  static std::string_view trim(std::string_view s) {
    while (!s.empty() && is_perl_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_perl_space(s.back())) s.remove_suffix(1);
    return s;
  }

  std::optional<std::string> literal_;
  std::optional<ByteClass> byte_class_;
  std::regex regex_;
};

// One argument source with its values (views into a file's text or a ::: word) and, with
// --colsep, each value's columns.
struct Source {
  bool is_file = false;
  std::string name;  // file: its name ("stdin" for "-"); list: unused
  std::vector<std::string_view> values;
  std::vector<std::string_view> columns;  // --colsep: all columns, value after value
  std::vector<std::size_t> column_start;  // --colsep: value i has columns [start[i], start[i+1])

  void append_origin(std::string& out, std::size_t i) const {
    if (is_file) {
      out += name;
      out += ':';
      append_number(out, i + 1);
    } else {
      out += "::: ";
      append_number(out, i + 1);
      out += " of ";
      append_number(out, values.size());
    }
  }
};

[[noreturn]] void throw_reserved(const Source& s, std::size_t i, const char* problem) {
  std::string where;
  s.append_origin(where, i);
  throw std::invalid_argument("argument " + where + " ('" + printable(s.values[i], 40) + "') contains " + problem);
}

}  // namespace

// ---- public --------------------------------------------------------------------------------

CommandLine split_command_line(const std::vector<std::string>& positional) {
  const auto is_separator = [](const std::string& w) {
    return w == ":::" || w == "::::" || w == ":::+" || w == "::::+";
  };
  CommandLine cl;
  std::size_t i = 0;
  while (i < positional.size() && !is_separator(positional[i])) cl.template_words.push_back(positional[i++]);
  while (i < positional.size()) {
    const std::string& sep = positional[i++];
    if (sep == ":::+" || sep == "::::+") {
      throw std::invalid_argument("'" + sep + "' (GNU parallel's linked argument sources) is not supported");
    }
    const std::size_t first = i;
    while (i < positional.size() && !is_separator(positional[i])) ++i;
    if (first == i) {
      throw std::invalid_argument(sep == ":::" ? "':::' without values (give the values after it)"
                                               : "'::::' without a file (give the argument file after it)");
    }
    if (sep == ":::") {
      ArgSource s;
      s.kind = ArgSource::Kind::list;
      s.values.assign(positional.begin() + static_cast<std::ptrdiff_t>(first),
                      positional.begin() + static_cast<std::ptrdiff_t>(i));
      cl.sources.push_back(std::move(s));
    } else {
      for (std::size_t f = first; f < i; ++f) {
        ArgSource s;
        s.kind = ArgSource::Kind::file;
        s.path = positional[f];
        cl.sources.push_back(std::move(s));
      }
    }
  }
  return cl;
}

Template Template::parse(std::string_view text) {
  if (const char* problem = reserved_byte(text)) {
    throw std::invalid_argument(std::string("the command template contains ") + problem);
  }
  if (const auto perl = find_perl_expression(text)) throw_unsupported(*perl);

  Template t;
  t.text_ = std::string(text);
  std::string literal;
  const auto flush = [&] {
    if (literal.empty()) return;
    Part p;
    p.text = std::move(literal);
    t.parts_.push_back(std::move(p));
    literal.clear();
  };
  bool any = false;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t open = text.find('{', i);
    if (open == std::string_view::npos) {
      literal.append(text.substr(i));
      break;
    }
    literal.append(text.substr(i, open - i));
    const std::size_t close = text.find_first_of("{}", open + 1);
    if (close == std::string_view::npos || text[close] == '{') {
      literal += '{';
      i = open + 1;
      continue;
    }
    const std::string_view whole = text.substr(open, close - open + 1);
    Part part;
    switch (classify(text.substr(open + 1, close - open - 1), part)) {
      case Brace::literal:
        literal.append(whole);
        break;
      case Brace::unsupported:
        throw_unsupported(whole);
      case Brace::part:
        flush();
        part.text = std::string(whole);
        if (part.kind == Part::Kind::slot) t.uses_slot_ = true;
        if (part.kind == Part::Kind::arg) t.max_position_ = std::max(t.max_position_, std::abs(part.position));
        t.parts_.push_back(std::move(part));
        any = true;
        break;
    }
    i = close + 1;
  }
  if (!any) {
    // GNU parallel appends the word {} to a command without replacement strings.
    t.text_ += " {}";
    literal += ' ';
    flush();
    Part all;
    all.kind = Part::Kind::arg;
    all.text = "{}";
    t.parts_.push_back(std::move(all));
  }
  flush();
  // `if("@command" =~ /^[^ \t\n=]*\257</) { $Global::quote_replace = 0; }`: a replacement
  // string in the first word (before any blank or '=') is (part of) the command itself.
  const Part& first = t.parts_.front();
  t.quote_args_ = first.kind == Part::Kind::literal && first.text.find_first_of(" \t\n=") != std::string::npos;
  return t;
}

std::string Template::expand(std::uint64_t seq, std::span<const std::string_view> args, std::string_view slot) const {
  for (const std::string_view a : args) {
    if (const char* problem = reserved_byte(a)) {
      throw std::invalid_argument("the argument '" + printable(a, 40) + "' contains " + problem);
    }
  }
  return render(seq, args, slot);
}

std::string Template::render(std::uint64_t seq, std::span<const std::string_view> args, std::string_view slot) const {
  // parallel: `if(not @{$self->{'arg_list_flat'}}) { @{$self->{'arg_list_flat'}} = Arg->new(""); }`
  static constexpr std::string_view kOneEmpty[] = {""};
  if (args.empty()) args = kOneEmpty;

  std::string out;
  std::size_t size = text_.size() + 16;
  for (const std::string_view a : args) size += a.size() + 3;
  out.reserve(size);
  std::string scratch;
  const auto append_arg = [&](std::string_view value, Mod mod) {
    const std::string_view v = apply_mod(value, mod, scratch);
    if (quote_args_) {
      append_quoted(out, v);
    } else {
      out += v;
    }
  };
  for (const Part& p : parts_) {
    switch (p.kind) {
      case Part::Kind::literal:
        out += p.text;
        break;
      case Part::Kind::seq:
        append_number(out, seq);
        break;
      case Part::Kind::slot:
        out += slot;
        break;
      case Part::Kind::arg:
        if (p.position == 0) {
          // A non-positional replacement string repeats for every argument, space-separated.
          for (std::size_t i = 0; i < args.size(); ++i) {
            if (i > 0) out += ' ';
            append_arg(args[i], p.mod);
          }
        } else {
          // `$argref->[$1 > 0 ? $1-1 : $n+$1] ? ...->replace(...) : ""`
          const long long n = static_cast<long long>(args.size());
          const long long index = p.position > 0 ? p.position - 1LL : n + p.position;
          if (index >= 0 && index < n) append_arg(args[static_cast<std::size_t>(index)], p.mod);
        }
        break;
    }
  }
  return out;
}

std::string Template::expand(std::uint64_t seq, const std::vector<std::string>& args, std::string_view slot) const {
  std::vector<std::string_view> views(args.begin(), args.end());
  return expand(seq, std::span<const std::string_view>(views), slot);
}

std::string shell_quote(std::string_view value) {
  std::string out;
  append_quoted(out, value);
  return out;
}

std::string fill_slot(std::string_view command, std::string_view slot) {
  std::string out;
  out.reserve(command.size());
  std::size_t from = 0;
  for (std::size_t hit = command.find(kSlotMarker); hit != std::string_view::npos;
       hit = command.find(kSlotMarker, from)) {
    out.append(command.substr(from, hit - from));
    out.append(slot);
    from = hit + kSlotMarker.size();
  }
  out.append(command.substr(from));
  return out;
}

std::vector<TaskLine> build_task_list(const CommandLine& cl, const TaskListOptions& options) {
  const bool has_template = !cl.template_words.empty();
  const bool has_tasks_file = !options.tasks_file.empty();

  int stdin_uses = has_tasks_file && options.tasks_file == "-" ? 1 : 0;
  for (const ArgSource& s : cl.sources) {
    if (s.kind == ArgSource::Kind::file && s.path == "-") ++stdin_uses;
  }
  if (stdin_uses > 1) throw std::invalid_argument("stdin ('-') can be read only once, but is named more than once");

  std::deque<std::string> texts;  // file contents; a deque, so the views into them stay valid
  const auto read = [&](const std::string& path, std::string_view what) -> std::string_view {
    if (path == "-") return options.stdin_text;
    texts.push_back(read_whole_file(path, what));
    return texts.back();
  };

  std::vector<TaskLine> tasks;
  if (!has_template && has_tasks_file) {
    if (!cl.sources.empty()) {
      throw std::invalid_argument(
          "--tasks FILE without a command template is a list of commands; ::: and :::: need a command template");
    }
    if (options.colsep) {
      throw std::invalid_argument("--colsep needs a command template (without one, each line of --tasks is a command)");
    }
    const std::string name = display_name(options.tasks_file);
    const std::string_view text = read(options.tasks_file, "task file");
    tasks.reserve(line_count(text));
    std::uint64_t seq = 0;
    for_each_line(text, [&](std::string_view line, std::uint64_t number) {
      const std::size_t first = line.find_first_not_of(" \t\r\f\v");
      if (first == std::string_view::npos || line[first] == '#') return;
      TaskLine t;
      t.origin = name;
      t.origin += ':';
      append_number(t.origin, number);
      if (const char* problem = reserved_byte(line)) {
        throw std::invalid_argument(t.origin + ": the command contains " + problem);
      }
      t.seq = ++seq;
      t.command = std::string(line);
      t.tag = t.command;
      tasks.push_back(std::move(t));
    });
    return tasks;
  }

  if (!has_template && !has_tasks_file && cl.sources.empty()) {
    throw std::invalid_argument(
        "nothing to run: give --tasks FILE (- for stdin), or ::: / :::: arguments with or without a command template");
  }
  if (has_template && !has_tasks_file && cl.sources.empty()) {
    throw std::invalid_argument(
        "the command template has no arguments: give ::: VALUES, :::: FILE or --tasks FILE (- for stdin)");
  }

  std::string joined;
  for (std::size_t i = 0; i < cl.template_words.size(); ++i) {
    if (i > 0) joined += ' ';
    joined += cl.template_words[i];
  }
  // No template: parallel's command is {} itself, so each value (unquoted) is the command.
  const Template tmpl = Template::parse(has_template ? std::string_view(joined) : std::string_view("{}"));

  std::vector<Source> sources;
  const auto add_file = [&](const std::string& path, std::string_view what) {
    Source s;
    s.is_file = true;
    s.name = display_name(path);
    const std::string_view text = read(path, what);
    s.values.reserve(line_count(text));
    for_each_line(text, [&](std::string_view line, std::uint64_t) { s.values.push_back(line); });
    sources.push_back(std::move(s));
  };
  if (has_tasks_file) add_file(options.tasks_file, "task file");
  for (const ArgSource& a : cl.sources) {
    if (a.kind == ArgSource::Kind::file) {
      add_file(a.path, "argument file");
      continue;
    }
    // parallel reads ::: values as records too: "a\nb" is two values, "a\n" is "a" and "".
    Source s;
    for (const std::string& v : a.values) {
      std::string_view rest = v;
      for (std::size_t nl = rest.find('\n'); nl != std::string_view::npos; nl = rest.find('\n')) {
        s.values.push_back(rest.substr(0, nl));
        rest.remove_prefix(nl + 1);
      }
      s.values.push_back(rest);
    }
    sources.push_back(std::move(s));
  }
  for (const Source& s : sources) {
    for (std::size_t i = 0; i < s.values.size(); ++i) {
      if (const char* problem = reserved_byte(s.values[i])) throw_reserved(s, i, problem);
    }
  }

  if (options.colsep) {
    const ColumnSplitter splitter(*options.colsep);
    for (Source& s : sources) {
      s.column_start.reserve(s.values.size() + 1);
      for (const std::string_view v : s.values) {
        s.column_start.push_back(s.columns.size());
        splitter.split(v, s.columns);
      }
      s.column_start.push_back(s.columns.size());
    }
  } else if (tmpl.max_position() > static_cast<int>(sources.size())) {
    std::string used;
    for (const Part& p : tmpl.parts()) {
      if (p.kind == Part::Kind::arg && std::abs(p.position) == tmpl.max_position()) {
        used = p.text;
        break;
      }
    }
    throw std::invalid_argument("'" + printable(used) + "' in the command template needs " +
                                std::to_string(tmpl.max_position()) + " argument sources, but there " +
                                (sources.size() == 1 ? "is 1" : "are " + std::to_string(sources.size())));
  }

  std::uint64_t total = 1;
  for (const Source& s : sources) {
    if (s.values.empty()) return tasks;
    if (__builtin_mul_overflow(total, static_cast<std::uint64_t>(s.values.size()), &total)) {
      throw std::invalid_argument("the argument sources make more than 2^64 tasks");
    }
  }
  tasks.reserve(total);

  const std::string_view slot = tmpl.uses_slot() ? kSlotMarker : std::string_view();
  std::vector<std::size_t> index(sources.size(), 0);
  std::vector<std::string_view> args;
  for (std::uint64_t seq = 1; seq <= total; ++seq) {
    args.clear();
    TaskLine t;
    t.seq = seq;
    for (std::size_t k = 0; k < sources.size(); ++k) {
      const Source& s = sources[k];
      const std::size_t i = index[k];
      if (options.colsep) {
        args.insert(args.end(), s.columns.begin() + static_cast<std::ptrdiff_t>(s.column_start[i]),
                    s.columns.begin() + static_cast<std::ptrdiff_t>(s.column_start[i + 1]));
      } else {
        args.push_back(s.values[i]);
      }
      if (k > 0) t.origin += ", ";
      s.append_origin(t.origin, i);
    }
    t.command = tmpl.render(seq, std::span<const std::string_view>(args), slot);  // values checked above
    // parallel --tag: replace_placeholders([$opt::tagstring = "{}"], 0, 0), unquoted.
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (i > 0) t.tag += ' ';
      t.tag += args[i];
    }
    tasks.push_back(std::move(t));
    // The last source varies fastest.
    for (std::size_t k = sources.size(); k-- > 0;) {
      if (++index[k] < sources[k].values.size()) break;
      index[k] = 0;
    }
  }
  return tasks;
}

}  // namespace rankpool::run
