# The libraries' and apps' dependencies, found once here with their minimum versions, for the
# modules being built only (RANKPOOL_MODULES=fib needs no MPI). A missing or too old one stops
# the configure with one message that names it, the version needed and why, and the Debian
# package. The installed package (rankpoolConfig.cmake.in) finds the same ones again.
#
#   Boost >= 1.81   Boost.URL first shipped in 1.81 (crawl); mpi, serialization, json and
#                   program_options are compiled components of the same release
#   libcurl >= 7.85 CURLOPT_PROTOCOLS_STR / CURLOPT_REDIR_PROTOCOLS_STR (crawl's fetcher)
#   GMP >= 6.2      the first GMP that installs gmp.pc, which is how it is found; the mpz calls
#                   used are older
#   libpsl          any (psl_builtin, psl_registrable_domain)
#   libidn2         any (idn2_to_ascii_8z with IDN2_NONTRANSITIONAL, in libidn2 since 2.0)
#   zlib            any (inflate of gzip-compressed sitemaps, .xml.gz)
#   MPI             any implementation with the C++ compiler wrapper flags CMake finds (MPI-3
#                   for MPI_Get_library_version in the apps' --version)
#
# The pkg-config ones become PkgConfig::rankpool_<name>, a prefix of our own so that they meet
# no GMP_* or CURL_* variable or PkgConfig::GMP target of a parent project's.

set(RANKPOOL_BOOST_MIN_VERSION 1.81)
set(RANKPOOL_CURL_MIN_VERSION 7.85.0)
set(RANKPOOL_GMP_MIN_VERSION 6.2)

set(_rankpool_boost_components)
if("runtime" IN_LIST RANKPOOL_MODULES)
  list(APPEND _rankpool_boost_components mpi json)
endif()
if("farm" IN_LIST RANKPOOL_MODULES)
  list(APPEND _rankpool_boost_components mpi serialization json program_options)
endif()
if("fib" IN_LIST RANKPOOL_MODULES)
  list(APPEND _rankpool_boost_components serialization json)
endif()
if("crawl" IN_LIST RANKPOOL_MODULES)
  list(APPEND _rankpool_boost_components url serialization json program_options)
endif()
if(RANKPOOL_BUILD_APPS)
  list(APPEND _rankpool_boost_components program_options)
endif()
if(RANKPOOL_BUILD_TESTS)
  list(APPEND _rankpool_boost_components mpi json url)
endif()
list(REMOVE_DUPLICATES _rankpool_boost_components)

# Not REQUIRED: CMake's own warning (which versions it considered) comes first, then ours.
find_package(Boost ${RANKPOOL_BOOST_MIN_VERSION} CONFIG COMPONENTS ${_rankpool_boost_components})
if(NOT Boost_FOUND)
  list(JOIN _rankpool_boost_components ", " _rankpool_list)
  message(FATAL_ERROR
    "rankpool needs Boost >= ${RANKPOOL_BOOST_MIN_VERSION} (Boost.URL first shipped in 1.81) with "
    "the compiled components ${_rankpool_list}; none was found (see CMake's warning above for the "
    "versions it considered). Debian 12: apt-get install libboost-mpi1.81-dev "
    "libboost-serialization1.81-dev libboost-json1.81-dev libboost-url1.81-dev "
    "libboost-program-options1.81-dev (scripts/setup.sh); elsewhere set Boost_ROOT or "
    "CMAKE_PREFIX_PATH to a Boost >= 1.81 installation.")
endif()

if("runtime" IN_LIST RANKPOOL_MODULES OR "farm" IN_LIST RANKPOOL_MODULES OR RANKPOOL_BUILD_TESTS)
  find_package(MPI COMPONENTS CXX)
  if(NOT MPI_CXX_FOUND)
    message(FATAL_ERROR "rankpool's farm needs MPI for C++ (found by CMake's FindMPI through mpicxx). "
                        "Debian 12: apt-get install openmpi-bin libopenmpi-dev; elsewhere load your "
                        "MPI module or set MPI_HOME.")
  endif()
endif()
find_package(Threads REQUIRED)

find_package(PkgConfig)
# rankpool_find_pkg(name module [min_version] REASON text DEBIAN package)
#   pkg-config module `module` (at least min_version) as the GLOBAL imported target
#   PkgConfig::rankpool_<name> (GLOBAL: the tests and a parent project link it from other
#   directories), or a FATAL_ERROR that says what was found and what to install.
function(rankpool_find_pkg name module)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "REASON;DEBIAN" "")
  set(min "${arg_UNPARSED_ARGUMENTS}")
  set(spec ${module})
  set(need ${module})
  if(min)
    set(spec "${module}>=${min}")
    set(need "${module} >= ${min}")
  endif()
  if(NOT PKG_CONFIG_FOUND)
    message(FATAL_ERROR "rankpool finds ${module} with pkg-config, which is missing. "
                        "Debian 12: apt-get install pkgconf")
  endif()
  pkg_check_modules(rankpool_${name} QUIET IMPORTED_TARGET GLOBAL "${spec}")
  if(rankpool_${name}_FOUND)
    return()
  endif()
  pkg_check_modules(_rankpool_any_${name} QUIET ${module})
  if(_rankpool_any_${name}_FOUND)
    set(found "found ${module} ${_rankpool_any_${name}_VERSION}, too old")
  else()
    set(found "pkg-config finds no ${module}.pc")
  endif()
  message(FATAL_ERROR "rankpool needs ${need} (${arg_REASON}): ${found}. "
                      "Debian 12: apt-get install ${arg_DEBIAN} (scripts/setup.sh); elsewhere add "
                      "its lib/pkgconfig directory to PKG_CONFIG_PATH.")
endfunction()

if("fib" IN_LIST RANKPOOL_MODULES)
  rankpool_find_pkg(gmp gmp ${RANKPOOL_GMP_MIN_VERSION}
                    REASON "exact Fibonacci; 6.2 is the first GMP with gmp.pc" DEBIAN libgmp-dev)
endif()
if("crawl" IN_LIST RANKPOOL_MODULES)
  rankpool_find_pkg(curl libcurl ${RANKPOOL_CURL_MIN_VERSION}
                    REASON "the crawler's fetcher uses CURLOPT_PROTOCOLS_STR" DEBIAN libcurl4-openssl-dev)
  rankpool_find_pkg(psl libpsl REASON "registrable domains" DEBIAN libpsl-dev)
  rankpool_find_pkg(idn2 libidn2 REASON "international domain names in URLs (IDNA)" DEBIAN libidn2-dev)
  rankpool_find_pkg(crypto libcrypto REASON "SHA-1 digests of WARC records and payloads" DEBIAN libssl-dev)
  rankpool_find_pkg(zlib zlib REASON "gzip: sitemaps, WARC files and the fetcher's own decoding" DEBIAN zlib1g-dev)
endif()
