#pragma once
// --version of the MPI apps: version_line() and the MPI library the app runs with, which is the
// one that matters when a cluster has several (Open MPI, MPICH, a vendor's).

#include <mpi.h>

#include <string>

#include "app_version.hpp"

namespace rankpool::apps {

/// version_line(program), then "MPI: <first line of MPI_Get_library_version> (MPI x.y)".
/// MPI allows both queries before MPI_Init and after MPI_Finalize.
inline std::string mpi_version_text(const std::string& program) {
  char library[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  MPI_Get_library_version(library, &length);
  std::string name(library, static_cast<std::size_t>(length > 0 ? length : 0));
  name = name.substr(0, name.find_first_of("\r\n"));
  while (!name.empty() && (name.back() == ' ' || name.back() == '\0')) name.pop_back();
  int major = 0, minor = 0;
  MPI_Get_version(&major, &minor);
  return version_line(program) + "\nMPI: " + name + " (MPI " + std::to_string(major) + "." + std::to_string(minor) +
         ")\n";
}

}  // namespace rankpool::apps
