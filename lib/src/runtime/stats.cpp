#include "rankpool/runtime/stats.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <fstream>

namespace rankpool::runtime {

namespace json = boost::json;

json::array ranks_json(const std::vector<RankRow>& rows) {
  json::array out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    json::object o{{"rank", r.rank}, {"host", r.host}, {"role", r.role}};
    for (const auto& f : r.fields) o[f.key()] = f.value();
    out.push_back(std::move(o));
  }
  return out;
}

namespace {
void add_to(json::value& sum, const json::value& v) {
  if (sum.is_null()) {
    sum = v;
  } else if (sum.is_uint64() && v.is_uint64()) {
    sum = sum.as_uint64() + v.as_uint64();
  } else if (sum.is_int64() && v.is_int64()) {
    sum = sum.as_int64() + v.as_int64();
  } else {
    sum = sum.to_number<double>() + v.to_number<double>();
  }
}
}  // namespace

std::vector<HostRow> sum_by_host(const std::vector<RankRow>& rows, const std::vector<std::string>& fields) {
  std::vector<HostRow> out;
  for (const auto& r : rows) {
    auto it = std::find_if(out.begin(), out.end(), [&](const HostRow& h) { return h.host == r.host; });
    if (it == out.end()) {
      out.push_back(HostRow{r.host, 0, {}});
      it = out.end() - 1;
      for (const auto& f : fields) it->sums[f] = nullptr;
    }
    ++it->ranks;
    for (const auto& f : fields) {
      if (const json::value* v = r.fields.if_contains(f)) add_to(it->sums[f], *v);
    }
  }
  return out;
}

json::array hosts_json(const std::vector<HostRow>& hosts) {
  json::array out;
  for (const auto& h : hosts) {
    json::object o{{"host", h.host}, {"ranks", h.ranks}};
    for (const auto& s : h.sums) o[s.key()] = s.value();
    out.push_back(std::move(o));
  }
  return out;
}

void write_rank_table(std::ostream& os, const std::vector<RankRow>& rows, const std::vector<Column>& columns) {
  char cell[128];
  std::string line;
  std::snprintf(cell, sizeof cell, "%-5s %-14s %-13s", "rank", "host", "role");
  line = cell;
  for (const auto& c : columns) {
    std::snprintf(cell, sizeof cell, " %*s", c.width, c.title.c_str());
    line += cell;
  }
  os << line << '\n';
  for (const auto& r : rows) {
    std::snprintf(cell, sizeof cell, "%-5d %-14.14s %-13s", r.rank, r.host.c_str(), r.role.c_str());
    line = cell;
    for (const auto& c : columns) {
      json::value sum;
      if (c.fields.empty()) {
        if (const json::value* v = r.fields.if_contains(c.title)) sum = *v;
      } else {
        for (const auto& f : c.fields)
          if (const json::value* v = r.fields.if_contains(f)) add_to(sum, *v);
      }
      if (sum.is_double()) {
        std::snprintf(cell, sizeof cell, " %*.*f", c.width, c.precision, sum.as_double());
      } else if (sum.is_int64()) {
        std::snprintf(cell, sizeof cell, " %*lld", c.width, static_cast<long long>(sum.as_int64()));
      } else if (sum.is_uint64()) {
        std::snprintf(cell, sizeof cell, " %*llu", c.width, static_cast<unsigned long long>(sum.as_uint64()));
      } else {
        std::snprintf(cell, sizeof cell, " %*s", c.width, "-");
      }
      line += cell;
    }
    os << line << '\n';
  }
}

bool write_json_file(const std::string& path, const json::value& value) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) return false;
  errno = 0;
  out << json::serialize(value) << '\n';
  return static_cast<bool>(out.flush());
}

}  // namespace rankpool::runtime
