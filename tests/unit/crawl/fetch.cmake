# Part 4 and 5: the fetcher against the loopback test web, and the test web itself.
rankpool_add_unit_test(fetch_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fetch_fetcher_test.cpp ${CMAKE_CURRENT_LIST_DIR}/fetch_fake_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/net_options_test.cpp
  LIBRARIES rankpool_crawl rankpool_testweb PkgConfig::rankpool_curl
  LABELS crawl TIMEOUT 180)
rankpool_add_unit_test(testweb_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/testweb_model_test.cpp ${CMAKE_CURRENT_LIST_DIR}/testweb_server_test.cpp
  LIBRARIES rankpool_testweb rankpool_crawl Boost::url
  LABELS crawl TIMEOUT 180)

# rankpool-testweb: starts, prints its origins, writes the ground truth, exits (--once).
if(TARGET rankpool-testweb)
  rankpool_add_app_test(testweb_app_once
    COMMAND $<TARGET_FILE:rankpool-testweb> --port 0 --once --hosts 3
            --truth ${CMAKE_CURRENT_BINARY_DIR}/testweb_truth.json
    PASS_REGULAR_EXPRESSION "origins: http://127\\.0\\.0\\.2:[0-9]+ http://127\\.0\\.0\\.3:[0-9]+ http://127\\.0\\.0\\.4:[0-9]+ http://127\\.0\\.0\\.2:[0-9]+\n"
    LABELS crawl TIMEOUT 60)
  rankpool_add_app_test(testweb_app_bad_hosts
    COMMAND $<TARGET_FILE:rankpool-testweb> --port 0 --once --hosts 0
    PASS_REGULAR_EXPRESSION "need hosts >= 1"
    LABELS crawl TIMEOUT 60)
endif()
