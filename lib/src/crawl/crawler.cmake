# The distributed crawler (engine in rankpool_crawl; coordination over the farm's mesh in
# rankpool_crawler, which is where the crawler meets MPI — through the runtime's Mesh only).
target_sources(rankpool_crawl PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/engine.cpp
  ${CMAKE_CURRENT_LIST_DIR}/seen_set.cpp
  ${CMAKE_CURRENT_LIST_DIR}/frontier.cpp
  ${CMAKE_CURRENT_LIST_DIR}/options.cpp)
if(TARGET rankpool_farm)
  add_library(rankpool_crawler
    ${CMAKE_CURRENT_LIST_DIR}/crawler.cpp
    ${CMAKE_CURRENT_LIST_DIR}/event_loop.cpp
    ${CMAKE_CURRENT_LIST_DIR}/coordinator.cpp
    ${CMAKE_CURRENT_LIST_DIR}/worker.cpp
    ${CMAKE_CURRENT_LIST_DIR}/outputs.cpp
    ${CMAKE_CURRENT_LIST_DIR}/checkpoint.cpp
    ${CMAKE_CURRENT_LIST_DIR}/protocol.cpp
    ${CMAKE_CURRENT_LIST_DIR}/records.cpp
    ${CMAKE_CURRENT_LIST_DIR}/termination.cpp
    ${CMAKE_CURRENT_LIST_DIR}/cli.cpp)
  # PUBLIC: crawler.hpp includes the crawl headers and runtime/mesh.hpp; the farm for its byte
  # codec (farm/detail/protocol.hpp); Boost only in the sources.
  target_link_libraries(rankpool_crawler PUBLIC rankpool_crawl rankpool_runtime rankpool_farm
                                         PRIVATE Boost::serialization Boost::json Boost::program_options)
  target_include_directories(rankpool_crawler PRIVATE ${PROJECT_SOURCE_DIR}/lib/src)  # crawl/*.hpp
  rankpool_warnings(rankpool_crawler)
  # The crawler's private headers (lib/src/crawl/*.hpp: coordinator, worker, outputs, roles),
  # for its unit tests, as #include "crawl/worker.hpp". Not exported.
  add_library(rankpool_crawler_internals INTERFACE)
  target_include_directories(rankpool_crawler_internals INTERFACE ${PROJECT_SOURCE_DIR}/lib/src)
  target_link_libraries(rankpool_crawler_internals INTERFACE rankpool_crawler)
endif()

if(RANKPOOL_BUILD_BENCHMARKS)
  # Bytes per seen URL and per queued URL, before and after issue #16 (docs/scale.md).
  add_executable(rankpool-seen-bench ${CMAKE_CURRENT_LIST_DIR}/seen_bench.cpp)
  target_link_libraries(rankpool-seen-bench PRIVATE rankpool_crawl)
  rankpool_warnings(rankpool-seen-bench)
endif()
