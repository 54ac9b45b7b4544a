# Install rules (RANKPOOL_INSTALL, on by default for the top-level project), in GNUInstallDirs
# places under the prefix:
#   include/rankpool/...                 the modules' headers and the generated version.hpp
#   lib/librankpool_*.{a,so}             the libraries (RANKPOOL_LIBRARY_TARGETS, lib/CMakeLists.txt)
#   lib/cmake/rankpool/                  the CMake package: find_package(rankpool) -> rankpool::farm, ...
#   lib/pkgconfig/rankpool*.pc           the same for pkg-config: rankpool, rankpool-farm, ...
#   bin/rankpool-*                       the user tools among the apps
#   share/rankpool/jobs/*.sbatch         the Slurm job scripts, pointed at bin/
#   share/doc/rankpool/                  README.md, CHANGELOG.md, LICENSE, docs/
# Components: "runtime" (apps, shared libraries, jobs, docs) and "development" (the rest), for
# packagers who split them.
include(CMakePackageConfigHelpers)

set(RANKPOOL_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/rankpool
    CACHE STRING "Where rankpoolConfig.cmake goes, relative to the prefix")
set(RANKPOOL_INSTALL_PKGCONFIGDIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig
    CACHE STRING "Where rankpool.pc goes, relative to the prefix")
mark_as_advanced(RANKPOOL_INSTALL_CMAKEDIR RANKPOOL_INSTALL_PKGCONFIGDIR)

# --- Headers: a module's directory only when the module is built ----------------------------
foreach(module IN LISTS RANKPOOL_MODULES)
  if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/lib/include/rankpool/${module})
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/lib/include/rankpool/${module}
            DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/rankpool COMPONENT development
            FILES_MATCHING PATTERN "*.hpp")
  endif()
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/lib/include/rankpool/fnv1a.hpp
              ${PROJECT_SOURCE_DIR}/lib/include/rankpool/status.hpp
              ${PROJECT_BINARY_DIR}/include/rankpool/version.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/rankpool COMPONENT development)

# --- Libraries and the CMake package ---------------------------------------------------------
install(TARGETS ${RANKPOOL_LIBRARY_TARGETS} EXPORT rankpoolTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT development
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(EXPORT rankpoolTargets NAMESPACE rankpool:: FILE rankpoolTargets.cmake
        DESTINATION ${RANKPOOL_INSTALL_CMAKEDIR} COMPONENT development)

# What rankpoolConfig.cmake.in needs to find the dependencies again: the Boost release the
# libraries were compiled against (Boost types are in their ABI: boost::mpi::communicator,
# boost::json::value), the minimum versions, static or shared.
if(BUILD_SHARED_LIBS)
  set(RANKPOOL_SHARED_LIBS ON)
else()
  set(RANKPOOL_SHARED_LIBS OFF)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/rankpoolConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/package/rankpoolConfig.cmake
                              INSTALL_DESTINATION ${RANKPOOL_INSTALL_CMAKEDIR}
                              NO_SET_AND_CHECK_MACRO)
# SameMinorVersion while 0.x: in semantic versioning a 0.y release may break the API (0.3 will
# change how tasks are registered), so find_package(rankpool 0.2) accepts 0.2.z only. From 1.0
# on this becomes SameMajorVersion.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_rankpool_compat SameMinorVersion)
else()
  set(_rankpool_compat SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/package/rankpoolConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY ${_rankpool_compat})
install(FILES ${PROJECT_BINARY_DIR}/package/rankpoolConfig.cmake
              ${PROJECT_BINARY_DIR}/package/rankpoolConfigVersion.cmake
        DESTINATION ${RANKPOOL_INSTALL_CMAKEDIR} COMPONENT development)

# --- pkg-config: rankpool-<module>.pc per module, rankpool.pc for all of them ----------------
# Boost and MPI ship no .pc files on most systems, so their flags are written out as this build
# found them; GMP, libcurl, libpsl, libidn2 and zlib are Requires. With static libraries a private
# dependency is still needed at link time, so it goes into Libs/Requires; with shared ones into
# the .private fields.

# rankpool_pc_flags(out item...): -L/-l flags for library files, other flags as they are.
function(rankpool_pc_flags out)
  set(flags)
  foreach(item IN LISTS ARGN)
    if(item MATCHES "^(.*)/lib([^/]+)\\.(so|a|dylib)(\\.[0-9.]+)?$")
      if(NOT CMAKE_MATCH_1 IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
        list(APPEND flags "-L${CMAKE_MATCH_1}")
      endif()
      list(APPEND flags "-l${CMAKE_MATCH_2}")
    elseif(item MATCHES "^-")
      list(APPEND flags "${item}")
    elseif(item)
      list(APPEND flags "-l${item}")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES flags)
  list(JOIN flags " " flags)
  set(${out} "${flags}" PARENT_SCOPE)
endfunction()

# rankpool_pc_boost(out component...): link flags for Boost's compiled components.
function(rankpool_pc_boost out)
  set(files)
  foreach(c IN LISTS ARGN)
    get_target_property(location Boost::${c} LOCATION)
    list(APPEND files ${location})
  endforeach()
  rankpool_pc_flags(flags ${files})
  set(${out} "${flags}" PARENT_SCOPE)
endfunction()

set(_rankpool_cflags_extra)
foreach(dir IN LISTS Boost_INCLUDE_DIRS)
  if(NOT dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    list(APPEND _rankpool_cflags_extra "-I${dir}")
  endif()
endforeach()

set(_pc_runtime_cflags "")
set(_pc_runtime_libs "")
if("runtime" IN_LIST RANKPOOL_COMPONENTS)
  set(_mpi_cflags ${MPI_CXX_COMPILE_OPTIONS})
  foreach(def IN LISTS MPI_CXX_COMPILE_DEFINITIONS)
    list(APPEND _mpi_cflags "-D${def}")
  endforeach()
  foreach(dir IN LISTS MPI_CXX_INCLUDE_DIRS)
    if(NOT dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
      list(APPEND _mpi_cflags "-I${dir}")
    endif()
  endforeach()
  list(JOIN _mpi_cflags " " _pc_runtime_cflags)
  rankpool_pc_boost(_boost mpi json)
  string(REPLACE ";" " " _mpi_link_flags "${MPI_CXX_LINK_FLAGS}")
  rankpool_pc_flags(_mpi_libs ${MPI_CXX_LIBRARIES})
  set(_pc_runtime_libs "-lrankpool_runtime ${_boost} ${_mpi_link_flags} ${_mpi_libs}")
endif()

# rankpool_pc(module DESCRIPTION text LIBS flags [LIBS_PRIVATE flags] [REQUIRES mods]
#             [REQUIRES_PRIVATE mods] [CFLAGS flags])
function(rankpool_pc module)
  cmake_parse_arguments(PARSE_ARGV 1 pc "" "DESCRIPTION;LIBS;LIBS_PRIVATE;CFLAGS" "REQUIRES;REQUIRES_PRIVATE")
  list(JOIN pc_REQUIRES ", " pc_REQUIRES)
  list(JOIN pc_REQUIRES_PRIVATE ", " pc_REQUIRES_PRIVATE)
  set(RANKPOOL_PC_NAME ${module})
  set(RANKPOOL_PC_DESCRIPTION "${pc_DESCRIPTION}")
  set(RANKPOOL_PC_REQUIRES "${pc_REQUIRES}")
  set(RANKPOOL_PC_REQUIRES_PRIVATE "${pc_REQUIRES_PRIVATE}")
  foreach(field LIBS LIBS_PRIVATE CFLAGS)
    string(REGEX REPLACE "  +" " " value "${pc_${field}}")
    string(STRIP "${value}" RANKPOOL_PC_${field})
  endforeach()
  configure_file(${PROJECT_SOURCE_DIR}/cmake/rankpool.pc.in
                 ${PROJECT_BINARY_DIR}/package/${module}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/package/${module}.pc
          DESTINATION ${RANKPOOL_INSTALL_PKGCONFIGDIR} COMPONENT development)
endfunction()

# The .pc files find the prefix from where they are (${pcfiledir}), so an installation that is
# moved, or installed with cmake --install --prefix elsewhere, still points at itself.
file(RELATIVE_PATH RANKPOOL_PC_PREFIX_FROM_PCFILEDIR
     /p/${RANKPOOL_INSTALL_PKGCONFIGDIR} /p)
string(REGEX REPLACE "/$" "" RANKPOOL_PC_PREFIX_FROM_PCFILEDIR "${RANKPOOL_PC_PREFIX_FROM_PCFILEDIR}")
foreach(dir INCLUDEDIR LIBDIR)
  if(IS_ABSOLUTE ${CMAKE_INSTALL_${dir}})
    set(RANKPOOL_PC_${dir} ${CMAKE_INSTALL_${dir}})
  else()
    set(RANKPOOL_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()

set(_pc_all)
if("runtime" IN_LIST RANKPOOL_COMPONENTS)
  rankpool_pc(rankpool-runtime DESCRIPTION "rankpool's MPI runtime (mesh, interrupts, progress, statistics)"
              CFLAGS "${_rankpool_cflags_extra} ${_pc_runtime_cflags}" LIBS "${_pc_runtime_libs}")
  list(APPEND _pc_all rankpool-runtime)
endif()
if("farm" IN_LIST RANKPOOL_COMPONENTS)
  rankpool_pc_boost(_boost serialization json program_options)
  rankpool_pc(rankpool-farm DESCRIPTION "rankpool's task farm over MPI ranks"
              REQUIRES rankpool-runtime LIBS "-lrankpool_farm ${_boost}")
  list(APPEND _pc_all rankpool-farm)
endif()
if("fib" IN_LIST RANKPOOL_COMPONENTS)
  rankpool_pc_boost(_public serialization)
  rankpool_pc_boost(_private json)
  if(RANKPOOL_SHARED_LIBS)
    rankpool_pc(rankpool-fib DESCRIPTION "rankpool's exact Fibonacci numbers (GMP)"
                CFLAGS "${_rankpool_cflags_extra}" REQUIRES "gmp >= ${RANKPOOL_GMP_MIN_VERSION}"
                LIBS "-lrankpool_fib ${_public}" LIBS_PRIVATE "${_private}")
  else()
    rankpool_pc(rankpool-fib DESCRIPTION "rankpool's exact Fibonacci numbers (GMP)"
                CFLAGS "${_rankpool_cflags_extra}" REQUIRES "gmp >= ${RANKPOOL_GMP_MIN_VERSION}"
                LIBS "-lrankpool_fib ${_public} ${_private}")
  endif()
  list(APPEND _pc_all rankpool-fib)
endif()
if("crawl_core" IN_LIST RANKPOOL_COMPONENTS)
  set(_libs -lrankpool_crawl)
  set(_requires)
  set(_boost url)
  if("crawl" IN_LIST RANKPOOL_COMPONENTS)
    set(_libs -lrankpool_crawler -lrankpool_crawl)
    set(_requires rankpool-farm)
    list(APPEND _boost serialization json program_options)
  endif()
  list(JOIN _libs " " _libs)
  rankpool_pc_boost(_private ${_boost})
  set(_private_requires "libcurl >= ${RANKPOOL_CURL_MIN_VERSION}" libpsl libidn2 zlib libcrypto)
  if(RANKPOOL_SHARED_LIBS)
    rankpool_pc(rankpool-crawl DESCRIPTION "rankpool's polite distributed web crawler"
                CFLAGS "${_rankpool_cflags_extra}" REQUIRES ${_requires}
                REQUIRES_PRIVATE ${_private_requires} LIBS "${_libs}" LIBS_PRIVATE "${_private}")
  else()
    rankpool_pc(rankpool-crawl DESCRIPTION "rankpool's polite distributed web crawler"
                CFLAGS "${_rankpool_cflags_extra}" REQUIRES ${_requires} ${_private_requires}
                LIBS "${_libs} ${_private}")
  endif()
  list(APPEND _pc_all rankpool-crawl)
endif()
if("run" IN_LIST RANKPOOL_COMPONENTS)
  rankpool_pc(rankpool-run DESCRIPTION "rankpool's command farm (rankpool-run as a library)"
              REQUIRES rankpool-farm LIBS "-lrankpool_run ${CMAKE_THREAD_LIBS_INIT}")
  list(APPEND _pc_all rankpool-run)
endif()
rankpool_pc(rankpool DESCRIPTION "rankpool, every module of this installation"
            REQUIRES ${_pc_all})

# --- Apps: the user tools ----------------------------------------------------------------------
# rankpool-run, rankpool-fib, rankpool-crawl: the tools the README documents; rankpool-fib-seq:
# the single-process F(n) and the baseline of the fib benchmark; rankpool-bench (when benchmarks
# are built): the farm's overhead on the user's own machine and interconnect. Not installed:
# rankpool-testweb (the tests' and demo's synthetic web on loopback, built only with the tests),
# rankpool-links-bench and rankpool-url-bench (parser micro-benchmarks for developers), the test
# programs.
set(_rankpool_apps)
foreach(app rankpool-run rankpool-fib rankpool-fib-seq rankpool-crawl rankpool-bench)
  if(TARGET ${app})
    list(APPEND _rankpool_apps ${app})
  endif()
endforeach()
if(_rankpool_apps)
  install(TARGETS ${_rankpool_apps} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
endif()

# --- Slurm job scripts -------------------------------------------------------------------------
# In the source tree they default to the apps in build/release (RANKPOOL_BIN overrides); an
# installed copy defaults to this installation's bin/, decided at install time so that
# cmake --install --prefix elsewhere gets it right.
file(GLOB _rankpool_jobs ${PROJECT_SOURCE_DIR}/jobs/*.sbatch)
install(CODE "
  set(RANKPOOL_JOBS \"${_rankpool_jobs}\")
  set(RANKPOOL_JOBS_STAGING \"${PROJECT_BINARY_DIR}/package/jobs\")
  set(RANKPOOL_JOBS_DESTINATION \"${CMAKE_INSTALL_DATADIR}/rankpool/jobs\")
  set(RANKPOOL_JOBS_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  include(\"${PROJECT_SOURCE_DIR}/cmake/RankpoolInstallJobs.cmake\")
  " COMPONENT runtime)

# --- Documentation -----------------------------------------------------------------------------
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/CHANGELOG.md
              ${PROJECT_SOURCE_DIR}/LICENSE
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/docs)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
endif()
