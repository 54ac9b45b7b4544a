#include "rankpool/farm/journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/crc.hpp>
#include <cerrno>
#include <cstring>

#include "rankpool/runtime/bytes.hpp"

namespace rankpool::farm {

namespace {

using runtime::ByteReader;
using runtime::ByteWriter;

constexpr std::string_view kMagic = "rankpool-journal 2\n";
constexpr char kKeyRecord = 'K';
constexpr char kTaskRecord = 'T';
constexpr std::size_t kRecordHeader = 12;                  // length, CRC of the body, CRC of these 8 bytes
constexpr std::size_t kTaskFixed = 1 + 4 + 1 + 4 + 4 + 4;  // kind, index, ok, attempts, rank, seconds

std::uint32_t crc32(std::string_view bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

std::string errno_text() { return std::strerror(errno); }

void put_header(std::string& out, std::uint32_t length, std::uint32_t body_crc) {
  const std::size_t at = out.size();
  ByteWriter w(out);
  w.put(length);
  w.put(body_crc);
  w.put(crc32(std::string_view(out).substr(at, 8)));
}

void frame(std::string& out, std::string_view body) {
  put_header(out, static_cast<std::uint32_t>(body.size()), crc32(body));
  out.append(body);
}

std::string encode_key(const JournalKey& k) {
  std::string body(1, kKeyRecord);
  ByteWriter(body).write(k);
  return body;
}

/// False for a body that is not exactly a key record (a torn or foreign record).
bool decode_key(std::string_view body, JournalKey& k) {
  if (body.empty() || body[0] != kKeyRecord) return false;
  try {
    k = runtime::decode<JournalKey>(body.substr(1), "journal key record");
    return true;
  } catch (const runtime::DecodeError&) {
    return false;
  }
}

/// False for a body that is not a task record; the output or message is the rest of it.
bool decode_task(std::string_view body, JournalRecord& r) {
  if (body.size() < kTaskFixed || body[0] != kTaskRecord) return false;
  ByteReader in(body.substr(1), "journal task record");
  r.index = in.get<std::uint32_t>();
  r.ok = in.get<std::uint8_t>() != 0;
  r.attempts = in.get<std::int32_t>();
  r.rank = in.get<std::int32_t>();
  r.seconds = in.get<float>();
  r.data.assign(in.rest());
  return true;
}

/// Reads exactly n bytes at the current offset; returns how many it got (short at EOF).
std::size_t read_full(int fd, char* buf, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, buf + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return got;
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

}  // namespace

void Journal::encode(std::string& buf, std::uint32_t index, bool ok, std::int32_t attempts, std::int32_t rank,
                     float seconds, std::string_view data) {
  const std::size_t body = kTaskFixed + data.size();
  const std::size_t start = buf.size();
  buf.append(kRecordHeader, '\0');  // filled in below, once the body's CRC is known
  ByteWriter w(buf);
  w.put(kTaskRecord);
  w.put(index);
  w.put(ok);
  w.put(attempts);
  w.put(rank);
  w.put(seconds);
  w.put_bytes(data.data(), data.size());
  const std::uint32_t crc = crc32(std::string_view(buf).substr(start + kRecordHeader, body));
  std::string header;
  put_header(header, static_cast<std::uint32_t>(body), crc);
  std::memcpy(buf.data() + start, header.data(), kRecordHeader);
}

void Journal::encode(std::string& buf, const JournalRecord& r) {
  encode(buf, r.index, r.ok, r.attempts, r.rank, r.seconds, r.data);
}

Journal::Journal(JournalOptions options, JournalKey key)
    : options_(std::move(options)), key_(std::move(key)), last_sync_(std::chrono::steady_clock::now()) {
  const std::string& p = options_.path;
  if (p.empty()) throw JournalError("journal: empty file name");
  struct stat st {};
  const bool exists = ::stat(p.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode)) throw JournalError("journal '" + p + "' is not a regular file");
  if (exists && st.st_size > 0 && !options_.resume) {
    throw JournalError("journal '" + p + "' already exists: pass --resume to continue it, or remove it");
  }
  fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw JournalError("cannot open journal '" + p + "': " + errno_text());
  // One writer at a time: a rerun started while the killed run's ranks are still dying (or
  // a second job given the same file) must not interleave its records with theirs.
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) throw JournalError("journal '" + p + "' is in use by another running job");
    errno = err;
    throw JournalError("cannot lock journal '" + p + "': " + errno_text());
  }
  try {
    load();
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

Journal::~Journal() {
  if (fd_ < 0) return;
  if (dirty_) ::fsync(fd_);
  ::close(fd_);
}

bool Journal::zeros_from(std::uint64_t offset, std::uint64_t total) {
  char buf[4096];
  const off_t keep = ::lseek(fd_, 0, SEEK_CUR);
  ::lseek(fd_, static_cast<off_t>(offset), SEEK_SET);
  bool zeros = true;
  for (std::uint64_t left = total - offset; left > 0 && zeros;) {
    const std::size_t n = read_full(fd_, buf, std::min<std::uint64_t>(left, sizeof buf));
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) zeros = zeros && buf[i] == 0;
    left -= n;
  }
  ::lseek(fd_, keep, SEEK_SET);
  return zeros;
}

void Journal::load() {
  const std::string& p = options_.path;
  const off_t size = ::lseek(fd_, 0, SEEK_END);
  if (size < 0) throw JournalError("cannot read journal '" + p + "': " + errno_text());
  ::lseek(fd_, 0, SEEK_SET);

  // A new journal, or one torn before its key was whole: (re)write the start.
  auto start_fresh = [&](std::uint64_t dropped) {
    torn_bytes_ = dropped;
    if (::ftruncate(fd_, 0) != 0) throw JournalError("cannot truncate journal '" + p + "': " + errno_text());
    ::lseek(fd_, 0, SEEK_SET);
    std::string head(kMagic);
    frame(head, encode_key(key_));
    write_all(head);
    sync();
  };

  std::string magic(kMagic.size(), '\0');
  const std::size_t got = read_full(fd_, magic.data(), magic.size());
  if (got < kMagic.size()) {
    if (std::string_view(magic).substr(0, got) != kMagic.substr(0, got)) {
      throw JournalError("'" + p + "' is not a rankpool journal");
    }
    return start_fresh(static_cast<std::uint64_t>(size));
  }
  if (magic != kMagic) throw JournalError("'" + p + "' is not a rankpool journal (or of another version)");

  std::uint64_t offset = kMagic.size();
  const auto total = static_cast<std::uint64_t>(size);
  bool have_key = false;
  std::string body;
  std::vector<JournalRecord> records;
  for (;;) {
    if (offset == total) break;
    char hdr[kRecordHeader];
    const std::size_t h = read_full(fd_, hdr, sizeof hdr);
    std::uint32_t len = 0, crc = 0, hcrc = 0;
    if (h == sizeof hdr) {
      ByteReader in(std::string_view(hdr, sizeof hdr), "journal record header");
      len = in.get<std::uint32_t>();
      crc = in.get<std::uint32_t>();
      hcrc = in.get<std::uint32_t>();
    }
    if (h == sizeof hdr && crc32(std::string_view(hdr, 8)) != hcrc && !zeros_from(offset, total)) {
      // A write leaves a prefix of its bytes, never a whole header that does not check:
      // this was changed after it was written. (Zeros to the end are blocks a machine crash
      // allocated but never wrote: a torn tail.)
      throw JournalError("journal '" + p + "' has a damaged record at byte " + std::to_string(offset) +
                         " (its header): the file was modified; remove it to start over");
    }
    const bool torn = h < sizeof hdr || crc32(std::string_view(hdr, 8)) != hcrc || len > total - offset - kRecordHeader;
    if (!torn) {
      body.resize(len);
      if (read_full(fd_, body.data(), len) != len)
        throw JournalError("cannot read journal '" + p + "': " + errno_text());
    }
    const bool last = torn || offset + kRecordHeader + len == total;
    bool valid = !torn && crc32(body) == crc;
    JournalRecord r;
    const bool key_record = !have_key;
    if (valid && key_record) {
      JournalKey k;
      valid = decode_key(body, k);
      if (valid) {
        if (k.task_type != key_.task_type) {
          throw JournalError("journal '" + p + "' belongs to task type '" + k.task_type + "', not '" + key_.task_type +
                             "': use another journal file or remove it");
        }
        if (k.tasks != key_.tasks || k.inputs_hash != key_.inputs_hash) {
          throw JournalError("journal '" + p + "' was written for a different task list (" + std::to_string(k.tasks) +
                             " tasks, this run has " + std::to_string(key_.tasks) +
                             (k.tasks == key_.tasks ? ", other values" : "") +
                             "): use another journal file or remove it");
        }
        if (k.config != key_.config) {
          throw JournalError("journal '" + p + "' was written with other options ('" + k.config + "', now '" +
                             key_.config + "'): use another journal file or remove it");
        }
        have_key = true;
      }
    } else if (valid) {
      valid = decode_task(body, r) && r.index < key_.tasks;
    }
    if (!valid) {
      if (!last) {
        throw JournalError("journal '" + p + "' has a damaged record at byte " + std::to_string(offset) +
                           " followed by more data: the file was modified; remove it to start over");
      }
      // A torn tail: whatever was being written when the run died. Keep what precedes it.
      if (!have_key) return start_fresh(total - kMagic.size());
      torn_bytes_ = total - offset;
      if (::ftruncate(fd_, static_cast<off_t>(offset)) != 0) {
        throw JournalError("cannot truncate journal '" + p + "': " + errno_text());
      }
      break;
    }
    if (!key_record) records.push_back(std::move(r));
    offset += kRecordHeader + len;
  }
  if (!have_key) return start_fresh(total - kMagic.size());
  ::lseek(fd_, 0, SEEK_END);

  // One record per index: the last success, else the last failure.
  std::stable_sort(records.begin(), records.end(),
                   [](const JournalRecord& a, const JournalRecord& b) { return a.index < b.index; });
  for (std::size_t i = 0; i < records.size();) {
    std::size_t j = i, pick = i;
    for (; j < records.size() && records[j].index == records[i].index; ++j) {
      if (records[j].ok || !records[pick].ok) pick = j;
    }
    loaded_.push_back(std::move(records[pick]));
    i = j;
  }
}

void Journal::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t w = ::write(fd_, bytes.data(), bytes.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      throw JournalError("cannot write journal '" + options_.path + "': " + errno_text());
    }
    bytes.remove_prefix(static_cast<std::size_t>(w));
  }
  dirty_ = true;
}

void Journal::commit(std::string& buf, std::uint64_t records) {
  if (buf.empty()) return;
  write_all(buf);
  buf.clear();
  appended_ += records;
  if (std::chrono::steady_clock::now() - last_sync_ >= options_.sync_interval) sync();
}

void Journal::sync() {
  if (fd_ >= 0 && ::fsync(fd_) != 0 && errno != EINVAL) {
    throw JournalError("cannot sync journal '" + options_.path + "': " + errno_text());
  }
  dirty_ = false;
  last_sync_ = std::chrono::steady_clock::now();
}

}  // namespace rankpool::farm
