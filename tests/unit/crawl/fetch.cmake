# Part 4 and 5: the fetcher against the loopback test web, and the test web itself.
rankpool_add_unit_test(fetch_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fetch_fetcher_test.cpp ${CMAKE_CURRENT_LIST_DIR}/fetch_fake_test.cpp
  LIBRARIES rankpool_crawl rankpool_testweb PkgConfig::CURL
  LABELS crawl TIMEOUT 180)
rankpool_add_unit_test(testweb_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/testweb_model_test.cpp ${CMAKE_CURRENT_LIST_DIR}/testweb_server_test.cpp
  LIBRARIES rankpool_testweb rankpool_crawl Boost::url
  LABELS crawl TIMEOUT 180)
