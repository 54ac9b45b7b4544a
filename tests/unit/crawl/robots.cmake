rankpool_add_unit_test(crawl_robots_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/robots_test.cpp
                       LIBRARIES rankpool_crawl LABELS crawl)
target_include_directories(crawl_robots_test PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)  # robots_reference.hpp
