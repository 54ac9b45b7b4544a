#pragma once
// The robots.txt pattern semantics of RFC 9309 written the slow, obvious way (a DP over
// pattern and path prefixes), for differential tests and the fuzz harness to hold the real
// matcher against.

#include <string_view>
#include <vector>

namespace rankpool::testing {

/// Whether `pattern` ('*' any run of octets; '$' already stripped, see `anchored`) matches
/// a prefix of `path`, or, when `anchored`, the whole of it.
inline bool reference_match(std::string_view pattern, bool anchored, std::string_view path) {
  // m[i][j]: pattern[0,i) matches path[0,j) exactly.
  std::vector<std::vector<bool>> m(pattern.size() + 1, std::vector<bool>(path.size() + 1));
  m[0][0] = true;
  for (std::size_t i = 1; i <= pattern.size(); ++i) {
    for (std::size_t j = 0; j <= path.size(); ++j) {
      if (pattern[i - 1] == '*') {
        m[i][j] = m[i - 1][j] || (j > 0 && m[i][j - 1]);
      } else {
        m[i][j] = j > 0 && m[i - 1][j - 1] && pattern[i - 1] == path[j - 1];
      }
    }
  }
  if (anchored) return m[pattern.size()][path.size()];
  for (std::size_t j = 0; j <= path.size(); ++j) {
    if (m[pattern.size()][j]) return true;  // a prefix of the path matches
  }
  return false;
}

/// The same for a pattern as written in robots.txt: a trailing '$' anchors it.
inline bool reference_match(std::string_view pattern, std::string_view path) {
  const bool anchored = !pattern.empty() && pattern.back() == '$';
  if (anchored) pattern.remove_suffix(1);
  return reference_match(pattern, anchored, path);
}

}  // namespace rankpool::testing
