# Crawler part 1: URL resolution/normalization (Boost.URL) and registrable domains (libpsl).
# PRIVATE: url.hpp shows neither (strings in and out), so users of the library need
# neither Boost.URL's headers nor libpsl's.
target_sources(rankpool_crawl PRIVATE ${CMAKE_CURRENT_LIST_DIR}/url.cpp)
target_link_libraries(rankpool_crawl PRIVATE Boost::url PkgConfig::rankpool_psl)

if(RANKPOOL_BUILD_BENCHMARKS)
  # Normalizations per second, against plain parsing measured in the same run.
  add_executable(rankpool-url-bench ${CMAKE_CURRENT_LIST_DIR}/url_bench.cpp)
  target_link_libraries(rankpool-url-bench PRIVATE rankpool_crawl Boost::url)
  rankpool_warnings(rankpool-url-bench)
endif()
