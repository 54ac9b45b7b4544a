rankpool_add_unit_test(crawl_url_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/url_test.cpp
                       LIBRARIES rankpool_crawl LABELS crawl)
# Differential test against the WHATWG URL parser as browsers run it (node's URL, run once
# on a written corpus); skipped, saying so, when node is missing.
rankpool_add_unit_test(crawl_url_differential_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/url_differential_test.cpp
                       LIBRARIES rankpool_crawl Boost::json LABELS crawl)
