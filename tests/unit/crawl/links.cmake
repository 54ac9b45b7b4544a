# Link extraction (links.hpp): targeted tests, and a differential test against gumbo,
# a complete HTML5 parser used here only as an oracle.
rankpool_add_unit_test(links_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/links_test.cpp
  LIBRARIES rankpool_crawl
  LABELS crawl)

if(NOT TARGET PkgConfig::GUMBO)
  pkg_check_modules(GUMBO REQUIRED IMPORTED_TARGET gumbo)
endif()
rankpool_add_unit_test(links_differential_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/links_differential_test.cpp
  LIBRARIES rankpool_crawl PkgConfig::GUMBO
  LABELS crawl)
target_include_directories(links_differential_test PRIVATE ${PROJECT_SOURCE_DIR}/lib/src/crawl)
