# Runs at install time (install(CODE) in RankpoolInstall.cmake): installs jobs/*.sbatch with the
# default of RANKPOOL_BIN turned from the source tree's build/release/apps/<app> into this
# installation's bin directory. CMAKE_INSTALL_PREFIX is the install-time prefix here (the one
# cmake --install --prefix gives); DESTDIR, if any, is added by file(INSTALL) alone, since the
# scripts run where the prefix ends up, not in the staging directory.
#   in:  RANKPOOL_JOBS (source files), RANKPOOL_JOBS_STAGING (a build directory),
#        RANKPOOL_JOBS_DESTINATION, RANKPOOL_JOBS_BINDIR (relative to the prefix, or absolute)
if(IS_ABSOLUTE "${RANKPOOL_JOBS_BINDIR}")
  set(bindir "${RANKPOOL_JOBS_BINDIR}")
else()
  set(bindir "${CMAKE_INSTALL_PREFIX}/${RANKPOOL_JOBS_BINDIR}")
endif()
# One staging directory per prefix: two installs of one build into two prefixes at once (as the
# tests do) must not write each other's copies.
string(MD5 prefix_hash "${CMAKE_INSTALL_PREFIX}")
string(SUBSTRING "${prefix_hash}" 0 12 prefix_hash)
set(RANKPOOL_JOBS_STAGING "${RANKPOOL_JOBS_STAGING}/${prefix_hash}")
file(MAKE_DIRECTORY "${RANKPOOL_JOBS_STAGING}")
set(staged)
foreach(job IN LISTS RANKPOOL_JOBS)
  get_filename_component(name "${job}" NAME)
  file(READ "${job}" text)
  # The code:     bin="${RANKPOOL_BIN:-${SLURM_SUBMIT_DIR:-.}/build/release/apps/fib}"
  string(REGEX REPLACE "\\\${SLURM_SUBMIT_DIR:-\\.}/build/release/apps/[a-z]+" "${bindir}" text "${text}")
  # The comment:  (default: build/release/apps/fib
  #               #     under the submission directory)
  string(REGEX REPLACE "default:([ \n#]+)build/release/apps/[a-z]+([ \n#]+)under the submission directory\\)"
                       "default:\\1${bindir},\\2the apps of this installation)" text "${text}")
  file(WRITE "${RANKPOOL_JOBS_STAGING}/${name}" "${text}")
  list(APPEND staged "${RANKPOOL_JOBS_STAGING}/${name}")
endforeach()
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/${RANKPOOL_JOBS_DESTINATION}" TYPE PROGRAM FILES ${staged})
