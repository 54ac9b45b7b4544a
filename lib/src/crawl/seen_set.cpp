// PageSpill: fetched pages' links on disk (seen_set.hpp).
#include "rankpool/crawl/seen_set.hpp"

#include "temp_file.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace rankpool::crawl {

namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_str(std::string& out, const std::string& s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out += s;
}

// Entry: u32 length of the rest | i32 recorded depth | str url | str redirect | u32 n | n str.
std::string encode(const SpilledPage& p) {
  std::string body;
  put_u32(body, static_cast<std::uint32_t>(p.recorded_depth));
  put_str(body, p.url);
  put_str(body, p.redirect);
  put_u32(body, static_cast<std::uint32_t>(p.children.size()));
  for (const auto& c : p.children) put_str(body, c);
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(body.size()));
  return out + body;
}

struct Reader {
  std::string_view in;
  bool ok = true;
  std::uint32_t u32() {
    if (in.size() < 4) {
      ok = false;
      return 0;
    }
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
    in.remove_prefix(4);
    return v;
  }
  std::string str() {
    const std::uint32_t n = u32();
    if (!ok || in.size() < n) {
      ok = false;
      return {};
    }
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

Status write_all(int fd, const std::string& data, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::error(std::string("page spill: write failed: ") + std::strerror(n < 0 ? errno : ENOSPC));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Status read_all(int fd, std::string& data, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pread(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return Status::error(std::string("page spill: read failed: ") + (n < 0 ? std::strerror(errno) : "short file"));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

void release_freed_memory() {
#ifdef __GLIBC__
  ::malloc_trim(0);
#endif
}

PageSpill::~PageSpill() {
  if (fd_ >= 0) ::close(fd_);
}

Status PageSpill::open() {
  auto fd = open_unlinked_temp(dir_, "rankpool-pages", "page spill");
  if (!fd) return fd.status();
  fd_ = *fd;
  return {};
}

Status PageSpill::append(std::uint64_t fp, const SpilledPage& page) {
  if (contains(fp)) return {};
  Status s;
  if (!failed_) {
    if (fd_ < 0) s = open();
    const std::string entry = encode(page);
    if (s && fail_writes_) s = Status::error("page spill: write failed: injected");
    if (s) s = write_all(fd_, entry, end_);
    if (s) {
      index_.insert(fp, end_);
      end_ += entry.size();
      return {};
    }
    failed_ = true;  // reported once; later pages go to memory without a word
  }
  memory_.emplace(fp, page);
  return s;
}

Result<SpilledPage> PageSpill::read(std::uint64_t fp) const {
  if (auto it = memory_.find(fp); it != memory_.end()) return it->second;
  const std::uint64_t* offset = index_.find(fp);
  if (!offset) return Status::error("page spill: no such page");
  std::string head(4, '\0');
  if (Status s = read_all(fd_, head, *offset); !s) return s;
  Reader r{head};
  std::string body(r.u32(), '\0');
  if (Status s = read_all(fd_, body, *offset + 4); !s) return s;
  Reader in{body};
  SpilledPage p;
  p.recorded_depth = static_cast<int>(in.u32());
  p.url = in.str();
  p.redirect = in.str();
  const std::uint32_t n = in.u32();
  for (std::uint32_t i = 0; in.ok && i < n; ++i) p.children.push_back(in.str());
  if (!in.ok) return Status::error("page spill: corrupt entry");
  return p;
}

std::size_t PageSpill::memory_bytes() const {
  std::size_t bytes = index_.memory_bytes();
  for (const auto& [fp, p] : memory_) {
    bytes += 64 + p.url.capacity() + p.redirect.capacity();
    for (const auto& c : p.children) bytes += sizeof(std::string) + c.capacity();
  }
  return bytes;
}

}  // namespace rankpool::crawl
