# Crawler part 1: URL resolution/normalization (Boost.URL) and registrable domains (libpsl).
pkg_check_modules(PSL REQUIRED IMPORTED_TARGET libpsl)
target_sources(rankpool_crawl PRIVATE ${CMAKE_CURRENT_LIST_DIR}/url.cpp)
target_link_libraries(rankpool_crawl PUBLIC Boost::url PkgConfig::PSL)

if(RANKPOOL_BENCHMARKS)
  # Normalizations per second, against plain parsing measured in the same run.
  add_executable(rankpool-url-bench ${CMAKE_CURRENT_LIST_DIR}/url_bench.cpp)
  target_link_libraries(rankpool-url-bench PRIVATE rankpool_crawl)
  rankpool_warnings(rankpool-url-bench)
endif()
