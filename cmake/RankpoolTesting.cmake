# Test registration helpers, in the spirit of KaMPIng's kamping_register_mpi_test.
#
#   rankpool_add_unit_test(NAME SOURCES a.cpp b.cpp LIBRARIES x y [LABELS l])
#     A plain GoogleTest executable run without mpirun; one CTest test per test case
#     (NAME.Suite.Case, discovered when ctest runs), so that a failure names its test.
#
#   rankpool_add_mpi_test(NAME SOURCES ... LIBRARIES ... RANKS 1 2 3 5 [TIMEOUT s] [LABELS l])
#     One CTest test per test case and rank count (NAME.Suite.Case.3ranks, the cases read
#     from the sources' TEST/TEST_F lines), run under mpirun, labelled `mpi`.
#     --oversubscribe lets 5 ranks run on a 2-core machine; running as root is allowed
#     through the environment (Open MPI refuses root otherwise). A TIMEOUT turns a
#     deadlock into a failure instead of a hung suite.

set(RANKPOOL_MPIEXEC_PREFLAGS --oversubscribe --bind-to none CACHE STRING "Extra mpiexec flags for tests")
set(RANKPOOL_TEST_ENV "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
# Tests talk to loopback only: a CI machine's proxy and CA-bundle variables must not send test
# traffic to a proxy or change what is trusted. Empty counts as unset for curl, rankpool-crawl
# and Python alike (ENVIRONMENT cannot unset; tests/support/rankpool_testing.py also removes them).
foreach(var http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
            CURL_CA_BUNDLE SSL_CERT_FILE)
  list(APPEND RANKPOOL_TEST_ENV "${var}=")
endforeach()
include(GoogleTest)

function(rankpool_add_unit_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBRARIES;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBRARIES} GTest::gtest GTest::gtest_main)
  rankpool_warnings(${name})
  # PRE_TEST: the list is taken when ctest runs, not at every link (keeps builds fast).
  gtest_discover_tests(${name} TEST_PREFIX "${name}." DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
                       PROPERTIES TIMEOUT ${T_TIMEOUT})
  # List-valued properties (labels, environment) do not survive gtest_discover_tests'
  # PROPERTIES: set them from a script that ctest reads after the discovered list.
  set(script ${CMAKE_CURRENT_BINARY_DIR}/${name}_properties.cmake)
  file(WRITE ${script}
       "foreach(t IN LISTS ${name}_TESTS)\n"
       "  set_tests_properties(\"\${t}\" PROPERTIES LABELS \"unit;${T_LABELS}\"\n"
       "                       ENVIRONMENT \"${RANKPOOL_TEST_ENV}\")\n"
       "endforeach()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${script})
endfunction()

# The test cases of gtest sources, as Suite.Case (TEST and TEST_F; TEST_P is not used here).
function(rankpool_gtest_cases out)
  set(cases)
  foreach(src IN LISTS ARGN)
    get_filename_component(path ${src} ABSOLUTE)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${path})
    file(STRINGS ${path} lines REGEX "^TEST(_F)?\\(")
    foreach(line IN LISTS lines)
      if(line MATCHES "^TEST(_F)?\\(([A-Za-z0-9_]+), *([A-Za-z0-9_]+)\\)")
        list(APPEND cases "${CMAKE_MATCH_2}.${CMAKE_MATCH_3}")
      endif()
    endforeach()
  endforeach()
  set(${out} ${cases} PARENT_SCOPE)
endfunction()

function(rankpool_add_mpi_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBRARIES;RANKS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  if(NOT T_RANKS)
    set(T_RANKS 1 2 3)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBRARIES} rankpool_gtest_mpi_main)
  rankpool_warnings(${name})
  rankpool_gtest_cases(cases ${T_SOURCES})
  if(NOT cases)
    message(FATAL_ERROR "${name}: no TEST() found in ${T_SOURCES}")
  endif()
  foreach(case IN LISTS cases)
    foreach(n IN LISTS T_RANKS)
      add_test(NAME ${name}.${case}.${n}ranks
               COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${n} ${RANKPOOL_MPIEXEC_PREFLAGS}
                       ${MPIEXEC_PREFLAGS} $<TARGET_FILE:${name}> ${MPIEXEC_POSTFLAGS}
                       --gtest_filter=${case})
      # A filter that matches nothing would pass silently: the main fails it.
      set_tests_properties(${name}.${case}.${n}ranks PROPERTIES
        TIMEOUT ${T_TIMEOUT} PROCESSORS ${n} LABELS "mpi;${T_LABELS}"
        ENVIRONMENT "RANKPOOL_GTEST_EXPECT_TESTS=1;${RANKPOOL_TEST_ENV}")
    endforeach()
  endforeach()
endfunction()

# Runs a command (an app under mpirun, a script) and checks it with a CMake script;
# used for the apps' smoke and bad-input tests.
function(rankpool_add_app_test name)
  cmake_parse_arguments(T "" "TIMEOUT;RANKS" "COMMAND;LABELS;PASS_REGULAR_EXPRESSION;FAIL_REGULAR_EXPRESSION" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_test(NAME ${name} COMMAND ${T_COMMAND})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "app;${T_LABELS}"
                                          ENVIRONMENT "${RANKPOOL_TEST_ENV}")
  if(T_PASS_REGULAR_EXPRESSION)
    set_tests_properties(${name} PROPERTIES PASS_REGULAR_EXPRESSION "${T_PASS_REGULAR_EXPRESSION}")
  endif()
  if(T_FAIL_REGULAR_EXPRESSION)
    set_tests_properties(${name} PROPERTIES FAIL_REGULAR_EXPRESSION "${T_FAIL_REGULAR_EXPRESSION}")
  endif()
endfunction()
