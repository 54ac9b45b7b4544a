# Part 4: the fetcher (libcurl multi implementation + a fake for unit tests).
if(NOT TARGET PkgConfig::CURL)
  # GLOBAL: the tests link PkgConfig::CURL too, from another directory.
  pkg_check_modules(CURL REQUIRED IMPORTED_TARGET GLOBAL libcurl)
endif()
target_sources(rankpool_crawl PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/fetcher.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fetcher_curl.cpp)
target_link_libraries(rankpool_crawl PRIVATE PkgConfig::CURL)
