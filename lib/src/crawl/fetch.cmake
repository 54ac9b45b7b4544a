# Part 4: the fetcher (libcurl multi implementation + a fake for unit tests).
# libcurl (PkgConfig::rankpool_curl) is found with its minimum version in
# cmake/RankpoolDependencies.cmake.
target_sources(rankpool_crawl PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/fetcher.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fetcher_curl.cpp
  ${CMAKE_CURRENT_LIST_DIR}/digest.cpp
  ${CMAKE_CURRENT_LIST_DIR}/warc.cpp)
target_link_libraries(rankpool_crawl PRIVATE PkgConfig::rankpool_curl PkgConfig::rankpool_zlib PkgConfig::rankpool_crypto
                                     Threads::Threads)
