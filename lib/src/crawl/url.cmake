# Crawler part 1: URL resolution/normalization (Boost.URL for IP literals, libidn2 for
# international names) and registrable domains (libpsl). PRIVATE: url.hpp shows none of them
# (strings in and out), so users of the library need none of their headers.
target_sources(rankpool_crawl PRIVATE ${CMAKE_CURRENT_LIST_DIR}/url.cpp)
target_link_libraries(rankpool_crawl PRIVATE Boost::url PkgConfig::rankpool_psl PkgConfig::rankpool_idn2)

if(RANKPOOL_BUILD_BENCHMARKS)
  # Normalizations per second, against plain parsing measured in the same run.
  add_executable(rankpool-url-bench ${CMAKE_CURRENT_LIST_DIR}/url_bench.cpp)
  target_link_libraries(rankpool-url-bench PRIVATE rankpool_crawl Boost::url)
  rankpool_warnings(rankpool-url-bench)
endif()
