# Plain-hiredis baselines that benchmarks/run.sh compares streamq against in the same run.
# Included from benchmarks/CMakeLists.txt. Without hiredis the baselines are skipped (with a
# message), so a machine lacking libhiredis-dev can still build streamq-bench.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(HIREDIS IMPORTED_TARGET hiredis)
endif()

if(TARGET PkgConfig::HIREDIS)
  foreach(name IN ITEMS xadd e2e)
    add_executable(hiredis-${name}-baseline ${CMAKE_CURRENT_LIST_DIR}/hiredis_${name}_baseline.c)
    target_link_libraries(hiredis-${name}-baseline PRIVATE PkgConfig::HIREDIS)
    set_target_properties(hiredis-${name}-baseline PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON)
    target_compile_options(hiredis-${name}-baseline PRIVATE
      $<$<C_COMPILER_ID:GNU,Clang>:-Wall -Wextra>
      $<$<BOOL:${STREAMQ_WARNINGS_AS_ERRORS}>:-Werror>)
  endforeach()
else()
  message(STATUS "hiredis not found with pkg-config: hiredis baselines are not built")
endif()
