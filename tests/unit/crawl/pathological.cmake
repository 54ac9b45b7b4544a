# Pathological inputs (a 50 MB page, 10^6 links, a 1 MB hostile robots.txt, markup nested
# 10^6 deep, loopback servers that send headers slowly or a body that never ends). The
# TIMEOUT is generous; each scenario also carries its own wall-clock bound, so that a hang
# or a quadratic blow-up fails the test instead of stalling the suite.
rankpool_add_unit_test(crawl_pathological_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/pathological_test.cpp
  LIBRARIES rankpool_crawl
  LABELS crawl TIMEOUT 600)
