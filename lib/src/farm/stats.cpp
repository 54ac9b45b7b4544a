#include "rankpool/farm/stats.hpp"

#include <boost/json.hpp>
#include <cstdio>

#include "rankpool/runtime/stats.hpp"

namespace rankpool::farm {

namespace {

namespace json = boost::json;

// The runtime's per-rank rows (one JSON and one table writer for every app), in the order
// --stats-json has always shown a rank's fields.
std::vector<runtime::RankRow> rank_rows(const std::vector<RankStats>& ranks) {
  std::vector<runtime::RankRow> rows;
  rows.reserve(ranks.size());
  for (const auto& r : ranks) {
    rows.push_back(runtime::RankRow{r.rank, r.host, r.role,
                                    json::object{{"tasks", r.tasks},
                                                 {"failed", r.failed},
                                                 {"batches", r.batches},
                                                 {"busy_s", r.busy_s},
                                                 {"idle_s", r.idle_s()},
                                                 {"wall_s", r.wall_s},
                                                 {"msgs_sent", r.msgs_sent},
                                                 {"msgs_recv", r.msgs_recv},
                                                 {"bytes_sent", r.bytes_sent},
                                                 {"bytes_recv", r.bytes_recv}}});
  }
  return rows;
}

const std::vector<std::string> kHostSums = {"tasks", "failed", "busy_s"};

}  // namespace

std::vector<HostStats> FarmStats::hosts() const {
  std::vector<HostStats> out;
  for (const auto& h : runtime::sum_by_host(rank_rows(ranks), kHostSums)) {
    HostStats s{h.host, h.ranks};
    if (const auto* v = h.sums.if_contains("tasks"); v && v->is_uint64()) s.tasks = v->as_uint64();
    if (const auto* v = h.sums.if_contains("failed"); v && v->is_uint64()) s.failed = v->as_uint64();
    if (const auto* v = h.sums.if_contains("busy_s"); v && v->is_number()) s.busy_s = v->to_number<double>();
    out.push_back(std::move(s));
  }
  return out;
}

void FarmStats::print_table(std::ostream& os) const {
  runtime::write_rank_table(os, rank_rows(ranks),
                            {{"tasks", 10},
                             {"failed", 7},
                             {"batches", 9},
                             {"busy_s", 9},
                             {"idle_s", 9},
                             {"msgs", 9, {"msgs_sent", "msgs_recv"}},
                             {"bytes", 11, {"bytes_sent", "bytes_recv"}}});
  char line[256];
  for (const auto& h : hosts()) {
    std::snprintf(line, sizeof line, "host %-14.14s %d ranks, %llu tasks, %llu failed, %.3f busy s\n", h.host.c_str(),
                  h.ranks, static_cast<unsigned long long>(h.tasks), static_cast<unsigned long long>(h.failed),
                  h.busy_s);
    os << line;
  }
  std::snprintf(line, sizeof line, "tasks: %llu submitted, %llu completed, %llu failed, %llu retries; wall %.3f s\n",
                static_cast<unsigned long long>(tasks_submitted), static_cast<unsigned long long>(tasks_completed),
                static_cast<unsigned long long>(tasks_failed), static_cast<unsigned long long>(retries), wall_s);
  os << line;
  if (tasks_resumed || timeouts || requeued) {
    std::snprintf(line, sizeof line, "tasks: %llu from the journal, %llu timed out, %llu requeued unrun\n",
                  static_cast<unsigned long long>(tasks_resumed), static_cast<unsigned long long>(timeouts),
                  static_cast<unsigned long long>(requeued));
    os << line;
  }
}

boost::json::value FarmStats::to_json() const {
  json::object o;
  o["wall_s"] = wall_s;
  o["tasks_submitted"] = tasks_submitted;
  o["tasks_completed"] = tasks_completed;
  o["tasks_failed"] = tasks_failed;
  o["retries"] = retries;
  o["timeouts"] = timeouts;
  o["requeued"] = requeued;
  o["tasks_resumed"] = tasks_resumed;
  const auto rows = rank_rows(ranks);
  o["ranks"] = runtime::ranks_json(rows);
  o["hosts"] = runtime::hosts_json(runtime::sum_by_host(rows, kHostSums));
  return o;
}

}  // namespace rankpool::farm
