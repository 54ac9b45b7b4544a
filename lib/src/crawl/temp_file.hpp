// Private to the crawl library: the unlinked scratch files of the engine's disk spills.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "rankpool/status.hpp"

namespace rankpool::crawl {

/// Creates DIR/NAME-XXXXXX (DIR: `dir`, else $TMPDIR, else /tmp) and unlinks it at once, so the
/// file is gone with the process whatever happens. The descriptor, or an error naming `what`.
inline Result<int> open_unlinked_temp(std::string dir, const std::string& name, const std::string& what) {
  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    dir = tmp && *tmp ? tmp : "/tmp";
  }
  std::string path = dir + "/" + name + "-XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0) return Status::error(what + ": cannot create a file in " + dir + ": " + std::strerror(errno));
  ::unlink(path.c_str());
  return fd;
}

}  // namespace rankpool::crawl
