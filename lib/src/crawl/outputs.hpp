#pragma once
// Private to the distributed crawler: the coordinator's files in the output directory —
// pages.jsonl (one JSON record per page), links.tsv and summary.json. The logs are the
// crawl's write-ahead log: links are flushed before the records of their pages.

#include <boost/json/object.hpp>
#include <fstream>
#include <map>
#include <string>

#include "rankpool/crawl/protocol.hpp"
#include "rankpool/status.hpp"

namespace rankpool::crawl {

/// pages.jsonl, links.tsv and summary.json in the output directory.
class Outputs {
 public:
  /// `append`: a resumed crawl adds to what earlier runs wrote (load_resume() already cut
  /// off what a kill left torn).
  [[nodiscard]] Status open(const std::string& dir, bool append);
  void write(const RecordsMessage& m);
  /// The logs on disk, links first (the order a resume relies on): called before each
  /// checkpoint, so that the pages a checkpoint counts survive a crash of the machine too.
  [[nodiscard]] Status sync();
  /// Rewrites the depth of records whose URL was later reached by a shorter path: a new
  /// file put in place by replace_file() (a crash leaves one or the other).
  [[nodiscard]] Status apply_depth_fixes(const std::map<std::string, int>& fixes);
  void close_links() { links_.close(); }
  [[nodiscard]] bool write_summary(const boost::json::object& summary);

 private:
  std::string dir_;
  std::ofstream pages_, links_;
};

}  // namespace rankpool::crawl
