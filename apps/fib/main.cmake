add_executable(rankpool-fib main.cpp)
target_link_libraries(rankpool-fib PRIVATE rankpool_fib rankpool_farm rankpool_app_version Boost::program_options)
rankpool_warnings(rankpool-fib)
