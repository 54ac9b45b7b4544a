#pragma once
// Input lists for the Fibonacci apps: numbers n, inclusive ranges a:b and a:b:step (like
// seq), and files of them. Every failure is a value: a one-line message that names the
// offending input, e.g. "invalid input '5:2': range end is below its start".
#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "rankpool/status.hpp"

#include "rankpool/fib/fib.hpp"

namespace rankpool::fib {

struct InputLimits {
  std::uint64_t max_n = kDefaultMaxN;   // larger n are refused up front (memory; see fib.hpp)
  std::size_t max_values = 10'000'000;  // after range expansion; a typo like 0:1e12-ish
                                        // must fail fast instead of filling memory
                                        // (10^7 uint64 = 80 MB, and far more work than
                                        // any run would finish)
};

/// The inputs in order, ranges expanded, duplicates kept (each occurrence is reported).
struct InputList {
  std::vector<std::uint64_t> values;
  std::string error;  // empty on success; one line naming the offending input
  bool ok() const { return error.empty(); }
};

/// One token: "n", "a:b" or "a:b:step" (step >= 1, b >= a). Leading/trailing blanks
/// are ignored; nothing else is (no signs, no exponents, no hex).
InputList parse_input_token(std::string_view token, const InputLimits& limits = {});

/// All tokens in order. An empty token list is not an error here (inputs may also come
/// from files); gather_inputs checks that the combined list is non-empty.
InputList parse_inputs(const std::vector<std::string>& tokens, const InputLimits& limits = {});
InputList parse_inputs(const std::vector<std::string>& tokens, std::uint64_t max_n);

/// One token per line; blank lines and '#' comments (whole-line or trailing) are
/// skipped. Errors name the source and line: "invalid input 'x' (list.txt:3): ...".
InputList read_input_stream(std::istream& in, std::string_view source_name, const InputLimits& limits = {});

/// Reads a file of inputs; "-" reads standard input.
InputList read_input_file(const std::string& path, const InputLimits& limits = {});

/// Command-line tokens first, then each file in order; fails on an empty result.
InputList gather_inputs(const std::vector<std::string>& tokens, const std::vector<std::string>& files,
                        const InputLimits& limits = {});

/// The distinct values in first-seen order, so duplicates are computed once.
std::vector<std::uint64_t> unique_inputs(const std::vector<std::uint64_t>& values);

/// Checks a --mod argument: a decimal integer >= 1 (leading zeros allowed).
/// Ok when valid, else a one-line message naming it.
[[nodiscard]] Status check_modulus(std::string_view modulus);

}  // namespace rankpool::fib
