#pragma once
// Shared by the fuzz harnesses: a property check that says what failed, with the values
// involved (escaped, so a binary input prints readably), and then traps. libFuzzer saves
// the input as a crash; the replay test (replay_main.cpp) dies on it the same way.

#include <cstdio>
#include <initializer_list>
#include <string_view>

namespace rankpool::fuzz {

inline void print_escaped(std::string_view label, std::string_view value) {
  std::fprintf(stderr, "  %.*s (%zu bytes): \"", static_cast<int>(label.size()), label.data(), value.size());
  for (const char ch : value.substr(0, 600)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      std::fprintf(stderr, "\\%c", c);
    } else if (c >= 0x20 && c < 0x7F) {
      std::fputc(c, stderr);
    } else {
      std::fprintf(stderr, "\\x%02X", c);
    }
  }
  std::fprintf(stderr, "%s\"\n", value.size() > 600 ? "..." : "");
}

struct Value {
  std::string_view label;
  std::string_view value;
};

[[noreturn]] inline void violated(const char* property, const char* file, int line,
                                  std::initializer_list<Value> values) {
  std::fprintf(stderr, "%s:%d: property violated: %s\n", file, line, property);
  for (const Value& v : values) print_escaped(v.label, v.value);
  std::fflush(stderr);
  __builtin_trap();
}

}  // namespace rankpool::fuzz

/// FUZZ_CHECK(condition, {"label", string_view}, ...): traps when the condition is false.
#define FUZZ_CHECK(cond, ...)                                                          \
  do {                                                                                 \
    if (!(cond)) ::rankpool::fuzz::violated(#cond, __FILE__, __LINE__, {__VA_ARGS__}); \
  } while (0)
