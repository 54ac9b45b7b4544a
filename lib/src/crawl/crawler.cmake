# The distributed crawler (engine in rankpool_crawl; coordination over the farm's mesh in
# rankpool_crawler, which is where the crawler meets MPI — through farm::Mesh only).
target_sources(rankpool_crawl PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/engine.cpp
  ${CMAKE_CURRENT_LIST_DIR}/options.cpp)
if(TARGET rankpool_farm)
  add_library(rankpool_crawler
    ${CMAKE_CURRENT_LIST_DIR}/crawler.cpp
    ${CMAKE_CURRENT_LIST_DIR}/checkpoint.cpp
    ${CMAKE_CURRENT_LIST_DIR}/protocol.cpp
    ${CMAKE_CURRENT_LIST_DIR}/records.cpp
    ${CMAKE_CURRENT_LIST_DIR}/termination.cpp
    ${CMAKE_CURRENT_LIST_DIR}/cli.cpp)
  # PUBLIC: crawler.hpp includes the crawl headers and farm/mesh.hpp; Boost only in the sources.
  target_link_libraries(rankpool_crawler PUBLIC rankpool_crawl rankpool_farm
                                         PRIVATE Boost::serialization Boost::json Boost::program_options)
  target_include_directories(rankpool_crawler PRIVATE ${PROJECT_SOURCE_DIR}/lib/src)  # farm/terminal.hpp
  rankpool_warnings(rankpool_crawler)
endif()
