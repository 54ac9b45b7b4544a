# Part 3 of the crawler: streaming link extraction (links.hpp). No third-party code in the
# library; gumbo is only the benchmark's baseline (and the tests' oracle).
target_sources(rankpool_crawl PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/links.cpp
  ${CMAKE_CURRENT_LIST_DIR}/links_entities.cpp)

if(RANKPOOL_BUILD_BENCHMARKS)
  if(NOT TARGET PkgConfig::GUMBO)
    pkg_check_modules(GUMBO REQUIRED IMPORTED_TARGET gumbo)
  endif()
  add_executable(rankpool-links-bench ${CMAKE_CURRENT_LIST_DIR}/links_bench.cpp)
  target_include_directories(rankpool-links-bench PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(rankpool-links-bench PRIVATE rankpool_crawl PkgConfig::GUMBO)
  rankpool_warnings(rankpool-links-bench)
endif()
