#pragma once
// Output formats for FibRecord: JSON lines, CSV and an aligned table, plus parsers back
// from JSONL and CSV so tests can check that what was written reads back the same.
#include <cstddef>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "rankpool/fib/fib.hpp"

namespace rankpool::fib {

/// Which optional columns a CSV or table carries; fixed for a whole run.
struct Columns {
  bool value = false;  // with --full
  bool mod = false;    // with --mod
};

/// The columns a run with these options produces.
Columns columns_for(const FibOptions& options);

/// One line, e.g. {"n": 1000, "digits": 209, "head": "…", "tail": "…", "rank": 2,
/// "seconds": 0.00001}, then "value" and "mod" when present. Ends with '\n'.
/// Seconds are printed in the shortest fixed notation that reads back exactly.
void write_jsonl(std::ostream& os, const FibRecord& record);

/// "n,digits,head,tail,rank,seconds[,value][,mod],error\n". The error column is empty on
/// success rows and says why on the rows of inputs that failed.
void write_csv_header(std::ostream& os, const Columns& columns);
/// One row in the header's column order; fields are quoted per RFC 4180 when needed (a comma,
/// a quote, CR or LF: the field is quoted and its quotes doubled).
void write_csv_row(std::ostream& os, const FibRecord& record, const Columns& columns);
/// The row of an input whose task failed: n, the other columns empty, the error (quoted per
/// RFC 4180 when needed); as many fields as the header.
void write_csv_failure(std::ostream& os, std::uint64_t n, const std::string& error, const Columns& columns);

/// Aligned columns for people; the value column (with --full) comes last, unpadded.
void write_table_header(std::ostream& os, const Columns& columns);
void write_table_row(std::ostream& os, const FibRecord& record, const Columns& columns);

/// A parsed line: the record, or an error saying what is wrong with the line.
struct RecordParse {
  FibRecord record;
  std::string failure;  // CSV: the row of a failed input (only record.n is set), its error
  std::string error;    // empty on success
  bool ok() const { return error.empty(); }
};

RecordParse parse_jsonl_line(std::string_view line);

/// Reads a CSV header line back into its columns; error when it is not one we write.
struct ColumnsParse {
  Columns columns;
  std::string error;  // empty on success
  bool ok() const { return error.empty(); }
};
ColumnsParse parse_csv_header(std::string_view line);
RecordParse parse_csv_line(std::string_view line, const Columns& columns);

struct RankStats {
  std::size_t count = 0;  // records this rank computed
  double seconds = 0;     // sum of their compute times
};

/// What the app prints after the rows. Feed each computed record once (duplicated
/// inputs share one computation, so adding them again would double-count time).
struct Summary {
  std::size_t count = 0;
  std::uint64_t max_n = 0;       // the highest n seen, i.e. the largest F(n)
  std::uint64_t max_digits = 0;  // digits of F(max_n)
  double total_seconds = 0;      // compute time summed over ranks (not wall time)
  std::map<int, RankStats> per_rank;

  void add(const FibRecord& record);
};

Summary summarize(const std::vector<FibRecord>& records);

/// A few human-readable lines: count, highest F(n), total and per-rank time.
void write_summary(std::ostream& os, const Summary& summary);

}  // namespace rankpool::fib
