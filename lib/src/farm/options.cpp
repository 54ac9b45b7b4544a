#include <charconv>
#include <stdexcept>
#include <string>

#include "rankpool/farm/options.hpp"

namespace rankpool::farm {
namespace {

int parse_rank(std::string_view s, std::string_view spec) {
  int v = -1;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) {
    throw std::invalid_argument("invalid queue assignment '" + std::string(spec) + "': '" + std::string(s) +
                                "' is not a rank");
  }
  return v;
}

}  // namespace

const char* to_string(Hierarchy h) {
  switch (h) {
    case Hierarchy::automatic:
      return "automatic";
    case Hierarchy::off:
      return "off";
    case Hierarchy::on:
      return "on";
  }
  return "?";
}

Hierarchy parse_hierarchy(std::string_view s) {
  for (Hierarchy h : {Hierarchy::automatic, Hierarchy::off, Hierarchy::on})
    if (s == to_string(h)) return h;
  throw std::invalid_argument("invalid --hierarchy '" + std::string(s) + "': expected off, on or automatic");
}

int parse_node_size(std::string_view s, std::string_view what) {
  int v = -1;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0) {
    throw std::invalid_argument("invalid " + std::string(what) + " '" + std::string(s) +
                                "': expected a number of ranks per node (0: the real nodes)");
  }
  return v;
}

QueueAssignment parse_queue_assignment(std::string_view spec, int world_size) {
  const auto eq = spec.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == spec.size()) {
    throw std::invalid_argument("invalid queue assignment '" + std::string(spec) +
                                "': expected NAME=RANKS, e.g. fib=1-2 or crawl=3-");
  }
  QueueAssignment qa;
  qa.queue = std::string(spec.substr(0, eq));
  std::string_view list = spec.substr(eq + 1);
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (item.empty()) {
      throw std::invalid_argument("invalid queue assignment '" + std::string(spec) + "': empty rank");
    }
    const auto dash = item.find('-');
    int lo, hi;
    if (dash == std::string_view::npos) {
      lo = hi = parse_rank(item, spec);
    } else {
      lo = parse_rank(item.substr(0, dash), spec);
      hi = dash + 1 == item.size() ? world_size - 1 : parse_rank(item.substr(dash + 1), spec);
    }
    if (hi < lo) {
      throw std::invalid_argument("invalid queue assignment '" + std::string(spec) + "': range ends before it starts");
    }
    for (int r = lo; r <= hi; ++r) qa.ranks.push_back(r);
  }
  return qa;
}

}  // namespace rankpool::farm
