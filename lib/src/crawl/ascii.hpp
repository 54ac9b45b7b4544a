#pragma once
// ASCII and percent-encoding helpers shared by URL normalization and robots.txt
// matching (both compare percent-encoded octets the RFC 3986 way). Private to the module.

#include <algorithm>
#include <string_view>

namespace rankpool::crawl::ascii {

inline constexpr char kHex[] = "0123456789ABCDEF";

/// The value of a hex digit, or -1.
inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// RFC 3986 §2.3 unreserved characters: never need escaping, and decoding them is safe.
inline bool is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

inline char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return to_lower(x) == to_lower(y); });
}

}  // namespace rankpool::crawl::ascii
