#pragma once
// The records rankpool-run writes as tasks end: GNU parallel's joblog, JSON lines, per-task
// result files. Every writer appends one whole record with one write(2) as the task ends, so
// a kill loses nothing that was written; resume() rewrites a file keeping only the tasks the
// journal holds, so a resumed run's files hold every task exactly once.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "record.hpp"

namespace rankpool::run {

/// GNU parallel's joblog header and one line (tab-separated: Seq, Host, Starttime, JobRuntime,
/// Send, Receive, Exitval, Signal, Command), formatted as parallel formats them.
std::string joblog_header();
std::string joblog_line(const TaskResult& r, std::string_view command);

/// One JSON object (and '\n') for the task: task, command, host, rank, slot, attempt, start,
/// seconds, exit, signal, status, out_bytes, err_bytes, stdout, stderr (at most `max_output`
/// bytes each; output that is not UTF-8 goes to stdout_base64 / stderr_base64 instead), and
/// error when it could not be started.
std::string jsonl_record(const TaskResult& r, std::string_view command, std::size_t max_output);

/// DIR/<bucket>/<seq>.<ext> with bucket = seq / 1000, zero-padded to 4 digits ("0012"): at most
/// 1000 files per folder, in an order `ls` sorts.
std::string results_path(const std::string& dir, std::uint64_t seq, std::string_view ext);

/// An append-only file, one record per append(). Throws std::runtime_error (one line, naming
/// the file) when it cannot be opened or written.
class AppendFile {
 public:
  AppendFile() = default;
  /// `truncate`: start empty; otherwise append to what is there.
  AppendFile(const std::string& path, bool truncate);
  AppendFile(AppendFile&&) noexcept;
  AppendFile& operator=(AppendFile&&) noexcept;
  ~AppendFile();
  bool is_open() const { return fd_ >= 0; }
  void append(std::string_view record);
  /// fsync(2), at the end of a run and before a checkpoint.
  void sync();
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

/// For --resume: rewrites `path` keeping the header line (joblog) and the records whose task
/// number `keep` accepts; the task number is the first field of a joblog line or the "task"
/// member of a JSON line. A missing file is fine (nothing to keep). Atomic: written aside,
/// fsynced, renamed. Returns the number of records dropped.
enum class LogKind { joblog, jsonl };
std::uint64_t keep_records(const std::string& path, LogKind kind, const std::function<bool(std::uint64_t)>& keep);

/// Writes `data` to `path` (creating its directory), replacing what was there.
void write_file(const std::string& path, std::string_view data);

}  // namespace rankpool::run
