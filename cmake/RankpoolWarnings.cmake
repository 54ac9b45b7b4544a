# rankpool_warnings(target): the project's warning set, applied per target so that
# third-party code (gtest, Boost headers pulled in as SYSTEM) is not affected.
function(rankpool_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow=local
                                           -Wnon-virtual-dtor -Wno-unused-parameter)
endfunction()
