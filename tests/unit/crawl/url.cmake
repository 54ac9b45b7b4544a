rankpool_add_unit_test(crawl_url_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/url_test.cpp
                       LIBRARIES rankpool_crawl LABELS crawl)
