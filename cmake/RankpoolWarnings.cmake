# rankpool_warnings(target): the project's warning set, applied per target so that
# third-party code (gtest, Boost headers pulled in as SYSTEM) is not affected.
function(rankpool_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow=local
                                           -Wnon-virtual-dtor -Wno-unused-parameter)
  # GCC 12 reports -Wrestrict inside libstdc++'s own char_traits::copy for ordinary
  # std::string appends at -O2 (GCC bug 105651, fixed in 13): noise, not our code.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
     AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
endfunction()
