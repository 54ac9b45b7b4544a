#include "app_version.hpp"

#include "rankpool/version.hpp"

namespace rankpool::apps {

extern const char* const git_description;  // build_info.cpp, written at build time

std::string version_line(const std::string& program) {
  std::string line = program + " " + RANKPOOL_VERSION_STRING;
  if (*git_description != '\0') line += std::string(" (git ") + git_description + ")";
  return line;
}

}  // namespace rankpool::apps
