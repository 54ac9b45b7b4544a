#include "rankpool/farm/stats.hpp"

#include <boost/json.hpp>
#include <cstdio>

namespace rankpool::farm {

std::vector<HostStats> FarmStats::hosts() const {
  std::vector<HostStats> out;
  for (const auto& r : ranks) {
    auto it = std::find_if(out.begin(), out.end(), [&](const HostStats& h) { return h.host == r.host; });
    if (it == out.end()) {
      out.push_back(HostStats{r.host});
      it = out.end() - 1;
    }
    ++it->ranks;
    it->tasks += r.tasks;
    it->failed += r.failed;
    it->busy_s += r.busy_s;
  }
  return out;
}

void FarmStats::print_table(std::ostream& os) const {
  char line[256];
  std::snprintf(line, sizeof line, "%-5s %-14s %-13s %10s %7s %9s %9s %9s %9s %11s\n", "rank",
                "host", "role", "tasks", "failed", "batches", "busy_s", "idle_s", "msgs", "bytes");
  os << line;
  for (const auto& r : ranks) {
    std::snprintf(line, sizeof line, "%-5d %-14.14s %-13s %10llu %7llu %9llu %9.3f %9.3f %9llu %11llu\n",
                  r.rank, r.host.c_str(), r.role.c_str(), static_cast<unsigned long long>(r.tasks),
                  static_cast<unsigned long long>(r.failed), static_cast<unsigned long long>(r.batches),
                  r.busy_s, r.idle_s(), static_cast<unsigned long long>(r.msgs_sent + r.msgs_recv),
                  static_cast<unsigned long long>(r.bytes_sent + r.bytes_recv));
    os << line;
  }
  for (const auto& h : hosts()) {
    std::snprintf(line, sizeof line, "host %-14.14s %d ranks, %llu tasks, %llu failed, %.3f busy s\n",
                  h.host.c_str(), h.ranks, static_cast<unsigned long long>(h.tasks),
                  static_cast<unsigned long long>(h.failed), h.busy_s);
    os << line;
  }
  std::snprintf(line, sizeof line,
                "tasks: %llu submitted, %llu completed, %llu failed, %llu retries; wall %.3f s\n",
                static_cast<unsigned long long>(tasks_submitted),
                static_cast<unsigned long long>(tasks_completed),
                static_cast<unsigned long long>(tasks_failed), static_cast<unsigned long long>(retries),
                wall_s);
  os << line;
  if (tasks_resumed || timeouts || requeued) {
    std::snprintf(line, sizeof line, "tasks: %llu from the journal, %llu timed out, %llu requeued unrun\n",
                  static_cast<unsigned long long>(tasks_resumed), static_cast<unsigned long long>(timeouts),
                  static_cast<unsigned long long>(requeued));
    os << line;
  }
}

boost::json::value FarmStats::to_json() const {
  boost::json::object o;
  o["wall_s"] = wall_s;
  o["tasks_submitted"] = tasks_submitted;
  o["tasks_completed"] = tasks_completed;
  o["tasks_failed"] = tasks_failed;
  o["retries"] = retries;
  o["timeouts"] = timeouts;
  o["requeued"] = requeued;
  o["tasks_resumed"] = tasks_resumed;
  boost::json::array rs;
  for (const auto& r : ranks) {
    rs.push_back(boost::json::object{{"rank", r.rank},
                                     {"host", r.host},
                                     {"role", r.role},
                                     {"tasks", r.tasks},
                                     {"failed", r.failed},
                                     {"batches", r.batches},
                                     {"busy_s", r.busy_s},
                                     {"idle_s", r.idle_s()},
                                     {"wall_s", r.wall_s},
                                     {"msgs_sent", r.msgs_sent},
                                     {"msgs_recv", r.msgs_recv},
                                     {"bytes_sent", r.bytes_sent},
                                     {"bytes_recv", r.bytes_recv}});
  }
  o["ranks"] = std::move(rs);
  boost::json::array hs;
  for (const auto& h : hosts()) {
    hs.push_back(boost::json::object{
        {"host", h.host}, {"ranks", h.ranks}, {"tasks", h.tasks}, {"failed", h.failed}, {"busy_s", h.busy_s}});
  }
  o["hosts"] = std::move(hs);
  return o;
}

}  // namespace rankpool::farm
