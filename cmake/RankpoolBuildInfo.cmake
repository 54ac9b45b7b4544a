# Runs at every build (apps/common/CMakeLists.txt): writes OUTPUT, a C++ file holding
# `git describe --tags --always --dirty` of SOURCE_DIR, when SOURCE_DIR is the top of a git
# checkout (not a tarball, nor a directory inside someone else's repository); an empty
# description otherwise. OUTPUT is left alone when its content would not change, so that
# nothing is recompiled.
#   cmake -DSOURCE_DIR=... -DOUTPUT=... [-DGIT=git] -P RankpoolBuildInfo.cmake
set(description "")
if(GIT AND EXISTS "${SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT}" -C "${SOURCE_DIR}" describe --tags --always --dirty
                  OUTPUT_VARIABLE description RESULT_VARIABLE rc
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT rc EQUAL 0 OR NOT description MATCHES "^[A-Za-z0-9._+-]+$")
    set(description "")
  endif()
endif()
set(content "// Generated at build time by cmake/RankpoolBuildInfo.cmake.
namespace rankpool::apps {
extern const char* const git_description;
const char* const git_description = \"${description}\";
}  // namespace rankpool::apps
")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
  if(old STREQUAL content)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${content}")
