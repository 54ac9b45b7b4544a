# The install tests' driver (tests/install/CMakeLists.txt says what each STEP proves).
#   cmake -DSTEP=install.prefix -DSOURCE_DIR=... -DBUILD_DIR=... -DWORK_DIR=... ... -P check_install.cmake
# Lists arrive with "|" for ";" (add_test would split them).
cmake_minimum_required(VERSION 3.25)
foreach(var COMPONENTS APPS MPIEXEC_FLAGS)
  string(REPLACE "|" ";" ${var} "${${var}}")
endforeach()
set(prefix ${WORK_DIR}/prefix)
set(example ${SOURCE_DIR}/examples/farm_square)

function(fail)
  string(JOIN "" text ${ARGN})
  message(FATAL_ERROR "${STEP}: ${text}")
endfunction()

# run(OUTPUT var COMMAND ...): runs a command, fails with its output unless it exits 0.
function(run)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "OUTPUT" "COMMAND")
  execute_process(COMMAND ${arg_COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    list(JOIN arg_COMMAND " " shown)
    fail("failed (${rc}): ${shown}\n--- stdout\n${out}\n--- stderr\n${err}")
  endif()
  if(arg_OUTPUT)
    set(${arg_OUTPUT} "${out}" PARENT_SCOPE)
  endif()
endfunction()

# mpirun(var ranks program args...): stdout of the program under mpirun.
function(mpirun var ranks)
  run(OUTPUT out COMMAND ${MPIEXEC} ${NUMPROC_FLAG} ${ranks} ${MPIEXEC_FLAGS} ${ARGN})
  set(${var} "${out}" PARENT_SCOPE)
endfunction()

# check_farm_square(program ranks...): examples/farm_square's answer at each rank count.
function(check_farm_square program)
  foreach(ranks IN LISTS ARGN)
    mpirun(out ${ranks} ${program})
    if(NOT out MATCHES "rankpool ${VERSION} on ${ranks} ranks\n")
      fail("farm_square at ${ranks} ranks does not name version ${VERSION} and ${ranks} ranks:\n${out}")
    endif()
    if(NOT out MATCHES "sum of squares below 10000: 333283335000\n")
      fail("farm_square at ${ranks} ranks: wrong sum:\n${out}")
    endif()
    # One rank computes alone; with more, the master hands out and only workers compute.
    if(ranks EQUAL 1)
      set(expected "computed on ranks: 0\n")
    else()
      set(expected "computed on ranks:( [1-9][0-9]*)+\n")
    endif()
    if(NOT out MATCHES "${expected}")
      fail("farm_square at ${ranks} ranks: unexpected ranks:\n${out}")
    endif()
    message(STATUS "farm_square at ${ranks} ranks: ok")
  endforeach()
endfunction()

# configure(build_dir source_dir args...): a fresh build directory, configured.
function(configure build_dir source_dir)
  file(REMOVE_RECURSE ${build_dir})
  run(COMMAND ${CMAKE_COMMAND} -S ${source_dir} -B ${build_dir} -G ${GENERATOR}
              -DCMAKE_CXX_COMPILER=${CXX} ${ARGN})
endfunction()

# The compile commands of a build must not reach into this source or build tree: whatever the
# consumer compiles against comes from the prefix.
function(check_only_prefix build_dir)
  file(READ ${build_dir}/compile_commands.json commands)
  foreach(forbidden ${SOURCE_DIR}/lib ${BUILD_DIR}/include)
    string(FIND "${commands}" "${forbidden}" at)
    if(NOT at EQUAL -1)
      fail("${build_dir} compiles with ${forbidden}, not only the prefix:\n${commands}")
    endif()
  endforeach()
endfunction()

if(SHARED)
  set(lib_suffix .so)
else()
  set(lib_suffix .a)
endif()
set(library_files)
foreach(c IN LISTS COMPONENTS)
  if(c STREQUAL "crawl_core")
    list(APPEND library_files librankpool_crawl${lib_suffix})
  elseif(c STREQUAL "crawl")
    list(APPEND library_files librankpool_crawler${lib_suffix})
  else()
    list(APPEND library_files librankpool_${c}${lib_suffix})
  endif()
endforeach()

# ------------------------------------------------------------------------------------------
if(STEP STREQUAL "install.prefix")
  file(REMOVE_RECURSE ${prefix})
  run(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

  # Headers: exactly the modules' public headers, the shared ones (fnv1a.hpp, status.hpp, the
  # byte codec runtime/bytes.hpp) and the generated version.hpp.
  set(expected_headers rankpool/fnv1a.hpp rankpool/status.hpp rankpool/runtime/bytes.hpp rankpool/version.hpp)
  foreach(module farm fib crawl run)
    if(module IN_LIST COMPONENTS)
      file(GLOB_RECURSE module_headers RELATIVE ${SOURCE_DIR}/lib/include
           ${SOURCE_DIR}/lib/include/rankpool/${module}/*.hpp)
      list(APPEND expected_headers ${module_headers})
    endif()
  endforeach()
  file(GLOB_RECURSE installed_headers RELATIVE ${prefix}/include ${prefix}/include/*)
  list(SORT expected_headers)
  list(SORT installed_headers)
  if(NOT installed_headers STREQUAL expected_headers)
    fail("installed headers differ from the public ones.\ninstalled: ${installed_headers}\n"
         "expected:  ${expected_headers}")
  endif()

  set(expected_files
      ${LIBDIR}/cmake/rankpool/rankpoolConfig.cmake ${LIBDIR}/cmake/rankpool/rankpoolConfigVersion.cmake
      ${LIBDIR}/cmake/rankpool/rankpoolTargets.cmake ${LIBDIR}/pkgconfig/rankpool.pc
      share/doc/rankpool/README.md share/doc/rankpool/CHANGELOG.md share/doc/rankpool/LICENSE)
  foreach(f IN LISTS library_files)
    list(APPEND expected_files ${LIBDIR}/${f})
  endforeach()
  foreach(module farm fib crawl run)
    if(module IN_LIST COMPONENTS)
      list(APPEND expected_files ${LIBDIR}/pkgconfig/rankpool-${module}.pc)
    endif()
  endforeach()
  # The user tools among the apps built here; never the test web or a test program.
  set(installed_apps)
  foreach(entry IN LISTS APPS)
    string(REGEX REPLACE "=.*" "" app "${entry}")
    if(NOT app STREQUAL "rankpool-testweb")
      list(APPEND expected_files bin/${app})
      list(APPEND installed_apps ${app})
    endif()
  endforeach()
  file(GLOB jobs RELATIVE ${SOURCE_DIR}/jobs ${SOURCE_DIR}/jobs/*.sbatch)
  foreach(job IN LISTS jobs)
    list(APPEND expected_files share/rankpool/jobs/${job})
  endforeach()
  foreach(f IN LISTS expected_files)
    if(NOT EXISTS ${prefix}/${f})
      fail("${f} is not installed")
    endif()
  endforeach()
  file(GLOB bin_files RELATIVE ${prefix}/bin ${prefix}/bin/*)
  list(SORT bin_files)
  list(SORT installed_apps)
  if(NOT bin_files STREQUAL installed_apps)
    fail("bin/ holds ${bin_files}, expected ${installed_apps}")
  endif()

  # Installed job scripts run this installation's apps: no build tree left in them, and the
  # fib job run outside Slurm without RANKPOOL_BIN computes with the installed rankpool-fib.
  foreach(job IN LISTS jobs)
    file(READ ${prefix}/share/rankpool/jobs/${job} text)
    if(text MATCHES "build/release/apps" OR NOT text MATCHES "RANKPOOL_BIN:-${prefix}/bin}")
      fail("share/rankpool/jobs/${job} does not point at ${prefix}/bin:\n${text}")
    endif()
    run(COMMAND bash -n ${prefix}/share/rankpool/jobs/${job})
  endforeach()
  if("fib.sbatch" IN_LIST jobs AND "rankpool-fib" IN_LIST installed_apps)
    set(out ${WORK_DIR}/installed-fib-job.jsonl)
    file(REMOVE ${out})
    run(COMMAND ${CMAKE_COMMAND} -E env --unset=RANKPOOL_BIN FIB_OUTPUT=${out} FIB_JOURNAL=none
                bash ${prefix}/share/rankpool/jobs/fib.sbatch 0:30 --quiet)
    file(STRINGS ${out} rows)
    list(LENGTH rows count)
    list(GET rows 30 last)
    if(NOT count EQUAL 31 OR NOT last MATCHES "\"n\": *30,.*\"head\": *\"832040\"")
      fail("the installed fib job wrote ${count} rows, last: ${last}")
    endif()
  endif()
  message(STATUS "installed into ${prefix}: ${installed_headers}")

# ------------------------------------------------------------------------------------------
elseif(STEP STREQUAL "install.find_package")
  set(build ${WORK_DIR}/find_package)
  configure(${build} ${example} -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
            -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)
  file(STRINGS ${build}/CMakeCache.txt found REGEX "^rankpool_DIR:")
  if(NOT found STREQUAL "rankpool_DIR:PATH=${prefix}/${LIBDIR}/cmake/rankpool")
    fail("the example found rankpool elsewhere: ${found}")
  endif()
  check_only_prefix(${build})
  run(COMMAND ${CMAKE_COMMAND} --build ${build})
  check_farm_square(${build}/farm_square 1 3)

# ------------------------------------------------------------------------------------------
elseif(STEP STREQUAL "install.consumer")
  set(build ${WORK_DIR}/consumer)
  string(REPLACE ";" "|" components_bars "${COMPONENTS}")  # one argument through execute_process
  configure(${build} ${SOURCE_DIR}/tests/install/consumer -DCMAKE_PREFIX_PATH=${prefix}
            -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
            -DEXPECT_VERSION=${VERSION} "-DEXPECT_COMPONENTS=${components_bars}")
  check_only_prefix(${build})
  run(COMMAND ${CMAKE_COMMAND} --build ${build})
  run(OUTPUT out COMMAND ${build}/consumer)
  set(expected "version ${VERSION}\n")
  if("farm" IN_LIST COMPONENTS)
    string(APPEND expected "farm 1\n")
  endif()
  if("fib" IN_LIST COMPONENTS)
    string(APPEND expected "fib 2880067194370816120\n")
  endif()
  if("crawl_core" IN_LIST COMPONENTS)
    string(APPEND expected "crawl_core http://example.com/b example.co.uk 1\n")
  endif()
  if("crawl" IN_LIST COMPONENTS)
    string(APPEND expected "crawl 1\n")
  endif()
  if("run" IN_LIST COMPONENTS)
    string(APPEND expected "run 'a b'\n")
  endif()
  if(NOT out STREQUAL expected)
    fail("the consumer printed\n${out}\nexpected\n${expected}")
  endif()

# ------------------------------------------------------------------------------------------
elseif(STEP STREQUAL "install.pkg_config")
  find_program(PKG_CONFIG NAMES pkg-config pkgconf REQUIRED)
  set(ENV{PKG_CONFIG_PATH} ${prefix}/${LIBDIR}/pkgconfig)
  run(OUTPUT version COMMAND ${PKG_CONFIG} --modversion rankpool)
  string(STRIP "${version}" version)
  if(NOT version STREQUAL VERSION)
    fail("pkg-config --modversion rankpool says ${version}, expected ${VERSION}")
  endif()
  run(OUTPUT flags COMMAND ${PKG_CONFIG} --cflags --libs rankpool)
  string(STRIP "${flags}" flags)
  message(STATUS "pkg-config --cflags --libs rankpool: ${flags}")
  if(NOT flags MATCHES "-I${prefix}/${LIBDIR}/pkgconfig/[./]*include" AND NOT flags MATCHES "-I${prefix}/include")
    fail("the include directory is not the prefix's: ${flags}")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  set(rpath)
  if(SHARED)
    set(rpath -Wl,-rpath,${prefix}/${LIBDIR})
  endif()
  set(build ${WORK_DIR}/pkg_config)
  file(REMOVE_RECURSE ${build})
  file(MAKE_DIRECTORY ${build})
  run(COMMAND ${CXX} -std=c++20 -O1 ${example}/main.cpp -o ${build}/farm_square ${flags} ${rpath})
  check_farm_square(${build}/farm_square 2)

# ------------------------------------------------------------------------------------------
elseif(STEP STREQUAL "install.subproject")
  set(build ${WORK_DIR}/subproject)
  configure(${build} ${SOURCE_DIR}/tests/install/subproject -DRANKPOOL_SOURCE_DIR=${SOURCE_DIR}
            -DBUILD_SHARED_LIBS=ON)
  run(COMMAND ${CMAKE_COMMAND} --build ${build} --parallel 2)
  file(GLOB shared ${build}/rankpool/lib/src/farm/librankpool_farm.so*)
  if(NOT shared)
    fail("BUILD_SHARED_LIBS=ON built no librankpool_farm.so")
  endif()
  check_farm_square(${build}/farm_square 1 3)

# ------------------------------------------------------------------------------------------
elseif(STEP STREQUAL "install.min_versions")
  # A too old GMP or libcurl (a fake .pc file first on PKG_CONFIG_PATH) stops the configure
  # with rankpool's message: what was found, what is needed and why.
  foreach(case "gmp|6.1.0|rankpool needs gmp >= 6.2 \\(.*\\): found gmp 6.1.0, too old"
               "libcurl|7.80.0|rankpool needs libcurl >= 7.85.0 \\(.*\\): found libcurl 7.80.0, too old")
    string(REPLACE "|" ";" case "${case}")
    list(GET case 0 module)
    list(GET case 1 version)
    list(GET case 2 expected)
    set(fake ${WORK_DIR}/min_versions/pc)
    file(REMOVE_RECURSE ${WORK_DIR}/min_versions)
    file(WRITE ${fake}/${module}.pc "Name: ${module}\nDescription: too old\nVersion: ${version}\nLibs: -l${module}\n")
    execute_process(COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${fake}
                            ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/min_versions/build -G ${GENERATOR}
                            -DCMAKE_CXX_COMPILER=${CXX} -DRANKPOOL_BUILD_TESTS=OFF -DRANKPOOL_BUILD_APPS=OFF
                            -DRANKPOOL_BUILD_BENCHMARKS=OFF
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    string(REGEX REPLACE "\n *" " " err_one_line "${err}")  # CMake wraps long messages
    if(rc EQUAL 0 OR NOT err_one_line MATCHES "${expected}")
      fail("with ${module} ${version} the configure exited ${rc}, stderr:\n${err}")
    endif()
    message(STATUS "${module} ${version}: refused")
  endforeach()

# ------------------------------------------------------------------------------------------
elseif(STEP STREQUAL "apps_version")
  foreach(entry IN LISTS APPS)
    string(REGEX REPLACE "=.*" "" app "${entry}")
    string(REGEX REPLACE "^[^=]*=" "" program "${entry}")
    # The MPI apps print once (rank 0) and name their MPI library; rankpool-run (its own
    # option parser, lib/src/run) prints the version line only.
    if(app MATCHES "^rankpool-(fib|crawl|bench)$")
      mpirun(out 2 ${program} --version)
      set(expected "^${app} ${VERSION}( \\(git [^)\n]+\\))?\nMPI: [^\n]+ \\(MPI [0-9]+\\.[0-9]+\\)\n$")
    elseif(app STREQUAL "rankpool-run")
      mpirun(out 1 ${program} --version)
      set(expected "^${app} ${VERSION}[^\n]*\n$")
    else()
      run(OUTPUT out COMMAND ${program} --version)
      set(expected "^${app} ${VERSION}( \\(git [^)\n]+\\))?\n$")
    endif()
    if(NOT out MATCHES "${expected}")
      fail("${app} --version printed\n${out}")
    endif()
    string(REGEX REPLACE "\n.*" "" first "${out}")
    message(STATUS "${first}")
  endforeach()
else()
  fail("unknown STEP")
endif()
