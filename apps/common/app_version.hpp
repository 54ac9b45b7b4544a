#pragma once
// --version for the apps, one format for all:
//   rankpool-fib 0.2.0 (git v0.2.0-3-gabc1234)
//   MPI: Open MPI v4.1.4, ... (MPI 3.1)        <- MPI apps only, app_version_mpi.hpp
// The version comes from project() in CMakeLists.txt; the git part only when built from a
// checkout.

#include <string>

namespace rankpool::apps {

/// "PROGRAM VERSION", plus " (git DESCRIPTION)" when built from a git checkout; no newline.
std::string version_line(const std::string& program);

}  // namespace rankpool::apps
