#include "rankpool/fib/inputs.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <unordered_set>

namespace rankpool::fib {
namespace {

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string invalid(std::string_view token, std::string_view where, std::string_view why) {
  std::string message = "invalid input '";
  message.append(token);
  message += "'";
  if (!where.empty()) {
    message += " (";
    message.append(where);
    message += ")";
  }
  message += ": ";
  message.append(why);
  return message;
}

enum class NumberStatus { Ok, Negative, NotANumber, TooLarge };

NumberStatus parse_number(std::string_view text, std::uint64_t& out) {
  if (!text.empty() && text.front() == '-') {
    // "-5" is a negative number; "-x" or "-" is just not a number.
    const std::string_view rest = text.substr(1);
    if (!rest.empty() && rest.find_first_not_of("0123456789") == std::string_view::npos) {
      return NumberStatus::Negative;
    }
    return NumberStatus::NotANumber;
  }
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return NumberStatus::NotANumber;
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec == std::errc::result_out_of_range) return NumberStatus::TooLarge;
  if (ec != std::errc() || end != text.data() + text.size()) return NumberStatus::NotANumber;
  return NumberStatus::Ok;
}

InputList parse_token(std::string_view raw, std::string_view where, const InputLimits& limits) {
  const std::string_view token = trim(raw);
  InputList out;
  const auto fail = [&](std::string_view why) {
    out.values.clear();
    out.error = invalid(token, where, why);
    return out;
  };

  std::string_view parts[3];
  std::size_t count = 0;
  std::string_view rest = token;
  while (true) {
    const auto colon = rest.find(':');
    if (count == 3) return fail("expected n, a:b or a:b:step");
    parts[count++] = rest.substr(0, colon);
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }

  std::uint64_t numbers[3] = {0, 0, 1};
  static constexpr const char* kRole[3] = {"start", "end", "step"};
  for (std::size_t i = 0; i < count; ++i) {
    switch (parse_number(parts[i], numbers[i])) {
      case NumberStatus::Ok:
        break;
      case NumberStatus::Negative:
        if (count == 1) return fail("negative number; n must be a non-negative integer");
        if (i == 2) return fail("range step must be positive");
        return fail(std::string("range ") + kRole[i] + " is negative");
      case NumberStatus::TooLarge:
        return fail("number is too large; the limit is max-n = " + std::to_string(limits.max_n));
      case NumberStatus::NotANumber:
        if (count == 1) return fail("not a non-negative integer or a range a:b[:step]");
        return fail(std::string("range ") + kRole[i] + " '" + std::string(parts[i]) +
                    "' is not a non-negative integer");
    }
  }

  const auto over_limit = [&](std::uint64_t n) {
    return fail("n = " + std::to_string(n) + " is above the limit max-n = " + std::to_string(limits.max_n));
  };
  if (count == 1) {
    if (numbers[0] > limits.max_n) return over_limit(numbers[0]);
    out.values.push_back(numbers[0]);
    return out;
  }

  const std::uint64_t first = numbers[0];
  const std::uint64_t end = numbers[1];
  const std::uint64_t step = numbers[2];
  if (step == 0) return fail("range step must be positive");
  if (end < first) return fail("range end is below its start");
  const std::uint64_t extra = (end - first) / step;  // values after the first
  const std::uint64_t last = first + extra * step;   // <= end, so no overflow
  if (last > limits.max_n) return over_limit(last);
  if (extra >= limits.max_values) {
    return fail("range has " + std::to_string(extra + 1) + " values, more than the limit of " +
                std::to_string(limits.max_values));
  }
  out.values.reserve(static_cast<std::size_t>(extra + 1));
  for (std::uint64_t i = 0; i <= extra; ++i) out.values.push_back(first + i * step);
  return out;
}

// Appends `more` to `into`, enforcing the total cap; `token` names the input that
// crossed it.
bool append_capped(InputList& into, const InputList& more, std::string_view token, std::string_view where,
                   const InputLimits& limits) {
  if (into.values.size() + more.values.size() > limits.max_values) {
    into.values.clear();
    into.error = invalid(trim(token), where,
                         "inputs expand to more than the limit of " + std::to_string(limits.max_values) + " values");
    return false;
  }
  into.values.insert(into.values.end(), more.values.begin(), more.values.end());
  return true;
}

}  // namespace

InputList parse_input_token(std::string_view token, const InputLimits& limits) {
  return parse_token(token, {}, limits);
}

InputList parse_inputs(const std::vector<std::string>& tokens, const InputLimits& limits) {
  InputList all;
  for (const std::string& token : tokens) {
    InputList one = parse_token(token, {}, limits);
    if (!one.ok()) return one;
    if (!append_capped(all, one, token, {}, limits)) return all;
  }
  return all;
}

InputList parse_inputs(const std::vector<std::string>& tokens, std::uint64_t max_n) {
  InputLimits limits;
  limits.max_n = max_n;
  return parse_inputs(tokens, limits);
}

InputList read_input_stream(std::istream& in, std::string_view source_name, const InputLimits& limits) {
  InputList all;
  std::string line;
  std::size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    std::string_view text = line;
    if (const auto hash = text.find('#'); hash != std::string_view::npos) text = text.substr(0, hash);
    text = trim(text);
    if (text.empty()) continue;
    const std::string where = std::string(source_name) + ":" + std::to_string(line_number);
    if (text.find_first_of(" \t") != std::string_view::npos) {
      all.values.clear();
      all.error = invalid(text, where, "one input per line");
      return all;
    }
    InputList one = parse_token(text, where, limits);
    if (!one.ok()) return one;
    if (!append_capped(all, one, text, where, limits)) return all;
  }
  if (in.bad()) {
    all.values.clear();
    all.error = "cannot read inputs from '" + std::string(source_name) + "': read error";
  }
  return all;
}

InputList read_input_file(const std::string& path, const InputLimits& limits) {
  if (path == "-") return read_input_stream(std::cin, "<stdin>", limits);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    // A directory opens fine on Linux and then reads as empty: say what it is.
    InputList out;
    out.error = "cannot read inputs from '" + path + "': " + std::strerror(EISDIR);
    return out;
  }
  std::ifstream file(path);
  if (!file) {
    InputList out;
    out.error = "cannot read inputs from '" + path + "': " + std::strerror(errno);
    return out;
  }
  return read_input_stream(file, path, limits);
}

InputList gather_inputs(const std::vector<std::string>& tokens, const std::vector<std::string>& files,
                        const InputLimits& limits) {
  InputList all = parse_inputs(tokens, limits);
  if (!all.ok()) return all;
  for (const std::string& path : files) {
    InputList more = read_input_file(path, limits);
    if (!more.ok()) return more;
    if (all.values.size() + more.values.size() > limits.max_values) {
      all.values.clear();
      all.error = "inputs from '" + path + "' bring the total above the limit of " + std::to_string(limits.max_values) +
                  " values";
      return all;
    }
    all.values.insert(all.values.end(), more.values.begin(), more.values.end());
  }
  if (all.values.empty()) {
    all.error = "no inputs: give at least one n or range a:b[:step], or --inputs FILE";
  }
  return all;
}

std::vector<std::uint64_t> unique_inputs(const std::vector<std::uint64_t>& values) {
  std::vector<std::uint64_t> unique;
  std::unordered_set<std::uint64_t> seen;
  seen.reserve(values.size());
  for (const std::uint64_t v : values) {
    if (seen.insert(v).second) unique.push_back(v);
  }
  return unique;
}

Status check_modulus(std::string_view modulus) {
  const std::string_view text = modulus;
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return Status::error("invalid modulus '" + std::string(modulus) + "': expected a decimal integer >= 1");
  }
  if (text.find_first_not_of('0') == std::string_view::npos) {
    return Status::error("invalid modulus '" + std::string(modulus) + "': must be at least 1");
  }
  return {};
}

}  // namespace rankpool::fib
