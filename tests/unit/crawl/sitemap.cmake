# Sitemaps: the parser (plain and gzip, indexes, limits, malformed files).
rankpool_add_unit_test(crawl_sitemap_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/sitemap_test.cpp
                       LIBRARIES rankpool_crawl PkgConfig::rankpool_zlib LABELS crawl)
