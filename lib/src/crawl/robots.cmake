# Crawler part 2: robots.txt parsing and matching (RFC 9309). Uses url.cpp for robots_url().
target_sources(rankpool_crawl PRIVATE ${CMAKE_CURRENT_LIST_DIR}/robots.cpp)
