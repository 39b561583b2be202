# The steps of the package tests (test/package/CMakeLists.txt), as `cmake -P` scripts:
#
#   -DSTEP=install   -DBUILD_DIR= -DPREFIX= -DLIBDIR= [-DCONFIG=] [-DKEEP=ON]
#       installs BUILD_DIR into a fresh PREFIX (KEEP: into PREFIX as it is) and checks the
#       layout: what must be there (three libraries, headers, generated headers, config files
#       with the protobuf helper, a per-configuration targets file, streamq.pc, the .proto
#       under share/) and what must not (.proto under include/, BOOST_ASIO_NO_DEPRECATED
#       forced on consumers, the include directory listed more than once).
#   -DSTEP=build     -DSOURCE= -DBINARY= [-DARGS=a|b|c] [-DPKG_CONFIG_PATH=] [-DRUN=prog|arg]
#       configures SOURCE into a fresh BINARY with ARGS, builds it, then runs RUN if given.
#   -DSTEP=configure-fails -DSOURCE= -DBINARY= [-DARGS=a|b] -DEXPECT=<regex>
#       configuring must fail, with EXPECT in its output.
#   -DSTEP=configs   -DSOURCE= -DBINARY= -DPREFIX= [-DARGS=a|b] -DEXPECT_DEBUG=<regex>
#                    -DEXPECT_RELEASE=<regex>
#       configures SOURCE (it writes the library that streamq::streams resolves to) once as
#       Debug and once as Release against PREFIX and matches the paths.
# Lists are passed with | between items (a ; would split the CTest command line).
cmake_minimum_required(VERSION 3.25)

function(split_list var)
  string(REPLACE "|" ";" value "${${var}}")
  set(${var} "${value}" PARENT_SCOPE)
endfunction()

# run(<what> COMMAND...): runs a command, and fails the test with its output if it fails.
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${ARGN}\n${out}")
  endif()
  message(STATUS "${what}: ok")
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

function(expect_file path)
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "not installed: ${path}")
  endif()
endfunction()

if(STEP STREQUAL "install")
  if(NOT KEEP)
    file(REMOVE_RECURSE "${PREFIX}")
  endif()
  set(config_args)
  if(CONFIG)
    set(config_args --config ${CONFIG})
  endif()
  run("cmake --install"
    ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${PREFIX}" ${config_args})

  set(cmakedir "${PREFIX}/${LIBDIR}/cmake/streamq")
  foreach(layer resp redis streams)
    file(GLOB lib "${PREFIX}/${LIBDIR}/libstreamq_${layer}*.a")
    if(NOT lib)
      message(FATAL_ERROR "not installed: ${PREFIX}/${LIBDIR}/libstreamq_${layer}.a")
    endif()
  endforeach()
  foreach(file IN ITEMS
      include/streamq/client.hpp include/streamq/resp/parser.hpp
      include/streamq/streams/consumer.hpp include/streamq/v1/envelope.pb.h
      share/streamq/proto/streamq/v1/envelope.proto ${LIBDIR}/pkgconfig/streamq.pc
      share/doc/streamq/LICENSE)
    expect_file("${PREFIX}/${file}")
  endforeach()
  foreach(file IN ITEMS streamqConfig.cmake streamqConfigVersion.cmake streamqTargets.cmake
                        StreamqProtobuf.cmake)
    expect_file("${cmakedir}/${file}")
  endforeach()
  file(GLOB per_config "${cmakedir}/streamqTargets-*.cmake")
  if(NOT per_config)
    message(FATAL_ERROR "no per-configuration streamqTargets-<config>.cmake in ${cmakedir}")
  endif()
  file(GLOB_RECURSE protos_in_include "${PREFIX}/include/*.proto")
  if(protos_in_include)
    message(FATAL_ERROR ".proto files belong under share/, not include/: ${protos_in_include}")
  endif()

  file(READ "${cmakedir}/streamqTargets.cmake" targets)
  if(targets MATCHES "BOOST_ASIO_NO_DEPRECATED")
    message(FATAL_ERROR "the exported targets force BOOST_ASIO_NO_DEPRECATED on consumers")
  endif()
  string(REGEX MATCHALL "[$]{_IMPORT_PREFIX}/include[\";]" include_dirs "${targets}")
  list(LENGTH include_dirs include_count)
  if(NOT include_count EQUAL 1)
    message(FATAL_ERROR "the include directory is listed ${include_count} times in "
      "streamqTargets.cmake (expected once):\n${targets}")
  endif()
  foreach(target IN ITEMS streamq::resp streamq::redis streamq::streams streamq::streamq)
    if(NOT targets MATCHES "add_library\\(${target} ")
      message(FATAL_ERROR "streamqTargets.cmake does not define ${target}")
    endif()
  endforeach()

elseif(STEP STREQUAL "build")
  split_list(ARGS)
  split_list(RUN)
  if(DEFINED PKG_CONFIG_PATH)
    set(ENV{PKG_CONFIG_PATH} "${PKG_CONFIG_PATH}")
  endif()
  file(REMOVE_RECURSE "${BINARY}")
  run("configure ${SOURCE}" ${CMAKE_COMMAND} -S "${SOURCE}" -B "${BINARY}" ${ARGS})
  run("build ${SOURCE}" ${CMAKE_COMMAND} --build "${BINARY}" -j 2)
  if(RUN)
    execute_process(COMMAND ${RUN} RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${RUN} exited with ${rc}")
    endif()
  endif()

elseif(STEP STREQUAL "configure-fails")
  split_list(ARGS)
  file(REMOVE_RECURSE "${BINARY}")
  execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE}" -B "${BINARY}" ${ARGS}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(rc EQUAL 0)
    message(FATAL_ERROR "configuring ${SOURCE} succeeded; expected it to fail:\n${out}")
  endif()
  string(REGEX REPLACE "[ \t\r\n]+" " " flat "${out}")
  if(NOT flat MATCHES "${EXPECT}")
    message(FATAL_ERROR "configuring ${SOURCE} failed, but without '${EXPECT}':\n${out}")
  endif()
  message(STATUS "configuring failed as expected:\n${out}")

elseif(STEP STREQUAL "configs")
  split_list(ARGS)
  foreach(config IN ITEMS Debug Release)
    set(binary "${BINARY}/${config}")
    file(REMOVE_RECURSE "${binary}")
    run("configure ${config}" ${CMAKE_COMMAND} -S "${SOURCE}" -B "${binary}" ${ARGS}
      "-DCMAKE_PREFIX_PATH=${PREFIX}" -DCMAKE_BUILD_TYPE=${config})
    file(READ "${binary}/streams_library.txt" library)
    string(STRIP "${library}" library)
    if(NOT EXISTS "${library}")
      message(FATAL_ERROR "${config}: streamq::streams is ${library}, which does not exist")
    endif()
    string(TOUPPER ${config} upper)
    if(NOT library MATCHES "${EXPECT_${upper}}")
      message(FATAL_ERROR
        "${config}: streamq::streams is ${library}, expected '${EXPECT_${upper}}'")
    endif()
    message(STATUS "${config} links ${library}")
  endforeach()

else()
  message(FATAL_ERROR "package_test.cmake: unknown STEP '${STEP}'")
endif()
