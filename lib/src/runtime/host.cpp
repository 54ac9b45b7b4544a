#include "rankpool/runtime/host.hpp"

#include <unistd.h>

namespace rankpool::runtime {

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace rankpool::runtime
