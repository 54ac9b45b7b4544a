#include "rankpool/fib/format.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <system_error>

namespace rankpool::fib {
namespace {

// Shortest fixed notation that reads back to the same double: 1e-05 -> "0.00001",
// so the output looks like the spec's example and round-trips exactly.
std::string format_seconds(double seconds) {
  if (!std::isfinite(seconds)) return "0";  // JSON has no inf/nan; times are never that
  char buf[512];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, seconds, std::chars_format::fixed);
  if (ec != std::errc()) return "0";
  return std::string(buf, end);
}

bool parse_double(std::string_view text, double& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

template <class T>
bool parse_integer(std::string_view text, T& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// The raw text of a number stored under `key` in a top-level object of valid JSON.
// Boost.JSON 1.81 parses about one double in ten one ulp off; reading the digits with
// from_chars instead keeps "seconds" exact through a write/parse round trip.
std::string_view raw_top_level_number(std::string_view json, std::string_view key) {
  int depth = 0;
  std::size_t i = 0;
  while (i < json.size()) {
    const char c = json[i];
    if (c == '"') {
      const std::size_t start = ++i;
      while (i < json.size() && json[i] != '"') i += json[i] == '\\' ? 2 : 1;
      const std::string_view text = json.substr(start, i - start);
      ++i;
      std::size_t j = i;
      while (j < json.size() && (json[j] == ' ' || json[j] == '\t' || json[j] == '\r' || json[j] == '\n')) ++j;
      if (depth == 1 && j < json.size() && json[j] == ':' && text == key) {
        ++j;
        while (j < json.size() && (json[j] == ' ' || json[j] == '\t' || json[j] == '\r' || json[j] == '\n')) ++j;
        const std::size_t end = json.find_first_not_of("+-0123456789.eE", j);
        return json.substr(j, (end == std::string_view::npos ? json.size() : end) - j);
      }
      continue;
    }
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') --depth;
    ++i;
  }
  return {};
}

std::string json_string(const std::string& s) { return boost::json::serialize(boost::json::string(s)); }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string quoted = "\"";
  for (const char c : s) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

// RFC 4180 split of one record that holds no line breaks.
bool split_csv(std::string_view line, std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  std::size_t i = 0;
  while (true) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) return false;  // unterminated quote
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != ',') return false;  // text after a closing quote
    } else {
      while (i < line.size() && line[i] != ',') {
        if (line[i] == '"') return false;  // a quote inside an unquoted field
        field += line[i++];
      }
    }
    fields.push_back(field);
    if (i >= line.size()) return true;
    ++i;  // the comma
  }
}

std::vector<std::string> csv_columns(const Columns& columns) {
  std::vector<std::string> names{"n", "digits", "head", "tail", "rank", "seconds"};
  if (columns.value) names.emplace_back("value");
  if (columns.mod) names.emplace_back("mod");
  names.emplace_back("error");  // empty on success rows; the reason on failure rows
  return names;
}

std::string_view strip_eol(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  return line;
}

}  // namespace

Columns columns_for(const FibOptions& options) { return Columns{options.full, options.mod.has_value()}; }

void write_jsonl(std::ostream& os, const FibRecord& r) {
  std::string line = "{\"n\": " + std::to_string(r.n) + ", \"digits\": " + std::to_string(r.digits) +
                     ", \"head\": " + json_string(r.head) + ", \"tail\": " + json_string(r.tail) +
                     ", \"rank\": " + std::to_string(r.rank) + ", \"seconds\": " + format_seconds(r.seconds);
  if (r.value) line += ", \"value\": " + json_string(*r.value);
  if (r.mod) line += ", \"mod\": " + json_string(*r.mod);
  line += "}\n";
  os << line;
}

RecordParse parse_jsonl_line(std::string_view line) {
  RecordParse out;
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(strip_eol(line), ec);
  if (ec) {
    out.error = "not JSON: " + ec.message();
    return out;
  }
  if (!doc.is_object()) {
    out.error = "not a JSON object";
    return out;
  }
  FibRecord& r = out.record;
  bool seen[6] = {};
  for (const auto& [key, val] : doc.as_object()) {
    boost::system::error_code nec;
    const auto need_string = [&](std::string& into) {
      if (!val.is_string()) return false;
      into.assign(val.as_string().begin(), val.as_string().end());
      return true;
    };
    bool good = true;
    if (key == "n") {
      r.n = val.to_number<std::uint64_t>(nec);
      good = !nec && (val.is_int64() || val.is_uint64());
      seen[0] = true;
    } else if (key == "digits") {
      r.digits = val.to_number<std::uint64_t>(nec);
      good = !nec && (val.is_int64() || val.is_uint64());
      seen[1] = true;
    } else if (key == "head") {
      good = need_string(r.head);
      seen[2] = true;
    } else if (key == "tail") {
      good = need_string(r.tail);
      seen[3] = true;
    } else if (key == "rank") {
      r.rank = val.to_number<int>(nec);
      good = !nec && val.is_int64();
      seen[4] = true;
    } else if (key == "seconds") {
      good = val.is_number() && parse_double(raw_top_level_number(strip_eol(line), "seconds"), r.seconds);
      seen[5] = true;
    } else if (key == "value") {
      good = need_string(r.value.emplace());
    } else if (key == "mod") {
      good = need_string(r.mod.emplace());
    } else {
      out.error = "unknown field '" + std::string(key) + "'";
      return out;
    }
    if (!good) {
      out.error = "field '" + std::string(key) + "' has the wrong type";
      return out;
    }
  }
  static constexpr const char* kRequired[6] = {"n", "digits", "head", "tail", "rank", "seconds"};
  for (int i = 0; i < 6; ++i) {
    if (!seen[i]) {
      out.error = std::string("missing field '") + kRequired[i] + "'";
      return out;
    }
  }
  return out;
}

void write_csv_header(std::ostream& os, const Columns& columns) {
  std::string line;
  for (const std::string& name : csv_columns(columns)) {
    if (!line.empty()) line += ',';
    line += name;
  }
  os << line << '\n';
}

void write_csv_row(std::ostream& os, const FibRecord& r, const Columns& columns) {
  std::string line = std::to_string(r.n) + ',' + std::to_string(r.digits) + ',' + csv_field(r.head) + ',' +
                     csv_field(r.tail) + ',' + std::to_string(r.rank) + ',' + format_seconds(r.seconds);
  if (columns.value) line += ',' + csv_field(r.value.value_or(""));
  if (columns.mod) line += ',' + csv_field(r.mod.value_or(""));
  line += ',';  // error: none
  os << line << '\n';
}

void write_csv_failure(std::ostream& os, std::uint64_t n, const std::string& error, const Columns& columns) {
  // n, then every other column empty, then the error: as many fields as the header.
  std::string line = std::to_string(n);
  line.append(csv_columns(columns).size() - 2, ',');
  line += ',' + csv_field(error);
  os << line << '\n';
}

ColumnsParse parse_csv_header(std::string_view line) {
  ColumnsParse out;
  std::vector<std::string> fields;
  if (!split_csv(strip_eol(line), fields)) {
    out.error = "malformed CSV header";
    return out;
  }
  for (const Columns candidate :
       {Columns{false, false}, Columns{true, false}, Columns{false, true}, Columns{true, true}}) {
    if (fields == csv_columns(candidate)) {
      out.columns = candidate;
      return out;
    }
  }
  out.error = "unexpected CSV header '" + std::string(strip_eol(line)) + "'";
  return out;
}

RecordParse parse_csv_line(std::string_view line, const Columns& columns) {
  RecordParse out;
  std::vector<std::string> fields;
  if (!split_csv(strip_eol(line), fields)) {
    out.error = "malformed CSV row";
    return out;
  }
  const std::vector<std::string> names = csv_columns(columns);
  if (fields.size() != names.size()) {
    out.error = "expected " + std::to_string(names.size()) + " fields, got " + std::to_string(fields.size());
    return out;
  }
  FibRecord& r = out.record;
  if (!fields.back().empty()) {  // a failure row: n and the error
    if (!parse_integer(fields[0], r.n)) {
      out.error = "field 'n' is not valid: '" + fields[0] + "'";
    }
    out.failure = fields.back();
    return out;
  }
  const auto bad = [&](std::size_t i) {
    out.error = "field '" + names[i] + "' is not valid: '" + fields[i] + "'";
    return out;
  };
  if (!parse_integer(fields[0], r.n)) return bad(0);
  if (!parse_integer(fields[1], r.digits)) return bad(1);
  r.head = fields[2];
  r.tail = fields[3];
  if (!parse_integer(fields[4], r.rank)) return bad(4);
  if (!parse_double(fields[5], r.seconds)) return bad(5);
  std::size_t next = 6;
  if (columns.value) r.value = fields[next++];
  if (columns.mod) r.mod = fields[next++];
  return out;
}

void write_table_header(std::ostream& os, const Columns& columns) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%10s %9s  %20s  %20s %5s %12s", "n", "digits", "head", "tail", "rank", "seconds");
  std::string line = buf;
  if (columns.mod) line += "  mod";
  if (columns.value) line += "  value";
  os << line << '\n';
}

void write_table_row(std::ostream& os, const FibRecord& r, const Columns& columns) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%10llu %9llu  %20s  %20s %5d %12.6f", static_cast<unsigned long long>(r.n),
                static_cast<unsigned long long>(r.digits), r.head.c_str(), r.tail.c_str(), r.rank, r.seconds);
  std::string line = buf;
  if (columns.mod) line += "  " + r.mod.value_or("");
  if (columns.value) line += "  " + r.value.value_or("");
  os << line << '\n';
}

void Summary::add(const FibRecord& r) {
  if (count == 0 || r.n > max_n) {
    max_n = r.n;
    max_digits = r.digits;
  }
  ++count;
  total_seconds += r.seconds;
  RankStats& stats = per_rank[r.rank];
  ++stats.count;
  stats.seconds += r.seconds;
}

Summary summarize(const std::vector<FibRecord>& records) {
  Summary summary;
  for (const FibRecord& r : records) summary.add(r);
  return summary;
}

void write_summary(std::ostream& os, const Summary& s) {
  char buf[200];
  std::string text = "count: " + std::to_string(s.count) + '\n';
  if (s.count > 0) {
    text += "highest: F(" + std::to_string(s.max_n) + ") with " + std::to_string(s.max_digits) +
            (s.max_digits == 1 ? " digit\n" : " digits\n");
  }
  std::snprintf(buf, sizeof buf, "compute time: %.6f s summed over ranks\n", s.total_seconds);
  text += buf;
  for (const auto& [rank, stats] : s.per_rank) {
    std::snprintf(buf, sizeof buf, "  rank %d: %zu computed, %.6f s\n", rank, stats.count, stats.seconds);
    text += buf;
  }
  os << text;
}

}  // namespace rankpool::fib
