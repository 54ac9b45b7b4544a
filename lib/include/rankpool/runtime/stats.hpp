#pragma once
// Per-rank statistics as every app reports them: one row per rank (who: rank, host, role;
// then the app's own figures, named and in the order its output shows them), gathered to
// rank 0 by the stop protocol (stop.hpp). One JSON writer and one table writer for all apps,
// so that the farm's --stats-json and the crawler's summary.json spell a rank the same way.

#include <boost/describe/members.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/mp11/algorithm.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "rankpool/runtime/bytes.hpp"

namespace rankpool::runtime {

// Figures as described records (BOOST_DESCRIBE_STRUCT): the description lists the fields once,
// and their JSON, their sums and their wire bytes (bytes.hpp) follow from it, so a new
// figure is one member and one name in the description.

/// The members of `v` as JSON fields, named and ordered as the description lists them.
template <DescribedStruct T>
boost::json::object fields_json(const T& v) {
  boost::json::object out;
  boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
      [&](auto d) { out[d.name] = boost::json::value_from(v.*d.pointer); });
  return out;
}

/// Adds every member of `from` to the same member of `into` (every member a number).
template <DescribedStruct T>
void add_fields(T& into, const T& from) {
  boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
      [&](auto d) { into.*d.pointer += from.*d.pointer; });
}

struct RankRow {
  int rank = 0;
  std::string host;
  std::string role;            // "master", "worker", "master+worker", ...
  boost::json::object fields;  // the app's figures, in output order (numbers)
};

/// [{"rank", "host", "role", fields...}, ...] in the order of `rows`.
boost::json::array ranks_json(const std::vector<RankRow>& rows);

/// Per host, in order of first appearance: the number of ranks and the sums of `fields`
/// (each summed as the rows hold it: integers stay integers).
struct HostRow {
  std::string host;
  int ranks = 0;
  boost::json::object sums;
};
std::vector<HostRow> sum_by_host(const std::vector<RankRow>& rows, const std::vector<std::string>& fields);
/// [{"host", "ranks", sums...}, ...].
boost::json::array hosts_json(const std::vector<HostRow>& hosts);

/// A column of the rank table: `title` over the sum of `fields` of a row (just `title` when
/// empty), right-aligned in `width`; doubles with `precision` decimals.
struct Column {
  std::string title;
  int width = 9;
  std::vector<std::string> fields = {};
  int precision = 3;
};
/// One header line, then one line per rank: rank, host and role first, then the columns.
void write_rank_table(std::ostream& os, const std::vector<RankRow>& rows, const std::vector<Column>& columns);

/// Writes `value` and a newline to `path`, replacing it. False when it cannot be written
/// (errno tells why when the file could not be opened).
[[nodiscard]] bool write_json_file(const std::string& path, const boost::json::value& value);

}  // namespace rankpool::runtime
