# Test registration helpers, in the spirit of KaMPIng's kamping_register_mpi_test.
#
#   rankpool_add_unit_test(NAME SOURCES a.cpp b.cpp LIBRARIES x y [LABELS l])
#     A plain GoogleTest executable run without mpirun.
#
#   rankpool_add_mpi_test(NAME SOURCES ... LIBRARIES ... RANKS 1 2 3 5 [TIMEOUT s] [LABELS l])
#     One CTest test per rank count (NAME.3ranks), run under mpirun, labelled `mpi`.
#     --oversubscribe lets 5 ranks run on a 2-core machine; running as root is allowed
#     through the environment (Open MPI refuses root otherwise). A TIMEOUT turns a
#     deadlock into a failure instead of a hung suite.

set(RANKPOOL_MPIEXEC_PREFLAGS --oversubscribe --bind-to none CACHE STRING "Extra mpiexec flags for tests")
set(RANKPOOL_TEST_ENV "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")

function(rankpool_add_unit_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBRARIES;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBRARIES} GTest::gtest GTest::gtest_main)
  rankpool_warnings(${name})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "unit;${T_LABELS}"
                                          ENVIRONMENT "${RANKPOOL_TEST_ENV}")
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
  foreach(n IN LISTS T_RANKS)
    add_test(NAME ${name}.${n}ranks
             COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${n} ${RANKPOOL_MPIEXEC_PREFLAGS}
                     ${MPIEXEC_PREFLAGS} $<TARGET_FILE:${name}> ${MPIEXEC_POSTFLAGS})
    set_tests_properties(${name}.${n}ranks PROPERTIES
      TIMEOUT ${T_TIMEOUT} PROCESSORS ${n} LABELS "mpi;${T_LABELS}"
      ENVIRONMENT "${RANKPOOL_TEST_ENV}")
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
