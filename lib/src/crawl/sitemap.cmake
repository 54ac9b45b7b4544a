# Sitemaps (sitemaps.org): the parser of <urlset>/<sitemapindex> files, gzip via zlib
# (PkgConfig::rankpool_zlib, found in cmake/RankpoolDependencies.cmake).
target_sources(rankpool_crawl PRIVATE ${CMAKE_CURRENT_LIST_DIR}/sitemap.cpp)
target_link_libraries(rankpool_crawl PRIVATE PkgConfig::rankpool_zlib)
