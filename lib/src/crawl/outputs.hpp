#pragma once
// Private to the distributed crawler: the coordinator's files in the output directory —
// pages.jsonl (one JSON record per page), links.tsv and summary.json — and, with
// --output-shards, the crawling ranks' shards of the first two and their merge. The logs are
// the crawl's write-ahead log: links are flushed before the records of their pages.

#include <boost/json/object.hpp>
#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "rankpool/crawl/protocol.hpp"
#include "rankpool/crawl/records.hpp"
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
  /// --output-shards: the crawling ranks' shards appended to pages.jsonl and links.tsv
  /// (merge_shards), before the depth fixes. `expect_ranks`: ranks that wrote a shard.
  [[nodiscard]] Status merge_shards(const std::vector<int>& expect_ranks);
  void close_links() { links_.close(); }
  [[nodiscard]] bool write_summary(const boost::json::object& summary);

 private:
  std::string dir_;
  std::ofstream pages_, links_;
};

/// OUT/shards: where the crawling ranks' shards go (--output-shards).
std::string shard_dir(const std::string& out_dir);

/// One crawling rank's shard of the logs (--output-shards): OUT/shards/links.R.tsv and
/// OUT/shards/pages.R.jsonl (R: the rank), in the formats and the order of links.tsv and
/// pages.jsonl — a page's links written and flushed before its record, so that a shard is a
/// write-ahead log just as the coordinator's files are.
class ShardWriter {
 public:
  /// Creates (truncates) the rank's two files: a run's shards hold that run's records only
  /// (a resume merged the earlier ones first).
  [[nodiscard]] Status open(const std::string& out_dir, int rank);
  [[nodiscard]] Status write(const std::vector<PageRecord>& records, const std::string& edges);
  /// fsync of the links, then of the records.
  [[nodiscard]] Status sync();

 private:
  std::string links_path_, pages_path_;
  std::ofstream pages_, links_;
};

struct MergedShards {
  std::uint64_t files = 0, bytes = 0;
};

/// Appends the shards in OUT/shards/ to OUT/links.tsv and OUT/pages.jsonl (links first; ranks
/// in ascending order; each shard up to its last newline: a line a kill left torn is dropped,
/// as a resume drops it from pages.jsonl), syncs both and removes the shards. A crash at any
/// point leaves a state that merging again completes exactly once: the files' sizes before the
/// merge are recorded first (OUT/shards/merging) and a merge that finds them cuts the files
/// back to them; the shards go with one rename. Nothing to do without OUT/shards/.
/// `expect_ranks`: ranks whose pages shard must be there — missing, OUT is not shared by the
/// ranks' hosts (or was changed under the crawl): an error naming the file.
[[nodiscard]] Result<MergedShards> merge_shards(const std::string& out_dir, const std::vector<int>& expect_ranks = {});

}  // namespace rankpool::crawl
