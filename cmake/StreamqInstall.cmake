# `cmake --install` support. Consumers write find_package(streamq) and link streamq::streamq
# (or one layer: streamq::resp, streamq::redis, streamq::streams), or use pkg-config
# (`pkg-config --cflags --libs streamq`). Included last from the top-level CMakeLists.txt.
#
# What goes where, under the install prefix:
#   include/streamq/...                 public headers, and the generated <streamq/v1/*.pb.h>
#   lib/libstreamq_{resp,redis,streams}.a   (a Debug build adds "d": both can share a prefix)
#   lib/cmake/streamq/                  streamqConfig.cmake, the exported targets (one file per
#                                       installed configuration), StreamqProtobuf.cmake
#   lib/pkgconfig/streamq.pc            the last installed configuration's
#   share/streamq/proto/streamq/v1/*.proto   the wire format, for `import` in a user's .proto
#   share/doc/streamq/LICENSE
if(NOT TARGET streamq)
  return()
endif()

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(STREAMQ_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/streamq"
    CACHE STRING "Where streamqConfig.cmake is installed, relative to the prefix")
set(STREAMQ_INSTALL_PROTODIR "${CMAKE_INSTALL_DATADIR}/streamq/proto")

# No INCLUDES DESTINATION: streamq_resp's $<INSTALL_INTERFACE:include> lists it already.
install(TARGETS streamq_resp streamq_redis streamq_streams streamq EXPORT streamqTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The integrations, each in an export set of its own: streamqConfig.cmake loads one only when
# its component is asked for (find_package(streamq COMPONENTS metrics)), after finding the
# package it needs, so a consumer of the core needs neither prometheus-cpp nor spdlog. A
# project that adds streamq as a subdirectory builds only the targets it links, so there they
# are not installed unless asked for.
option(STREAMQ_INSTALL_INTEGRATIONS
  "Install streamq::http, streamq::metrics, streamq::spdlog, streamq::admin and streamq::dashboard (build them first)"
  ${PROJECT_IS_TOP_LEVEL})
foreach(integration IN ITEMS http metrics spdlog admin dashboard)
  if(NOT TARGET streamq_${integration} OR NOT STREAMQ_INSTALL_INTEGRATIONS)
    continue()
  endif()
  install(TARGETS streamq_${integration} EXPORT streamq_${integration}Targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(EXPORT streamq_${integration}Targets
    NAMESPACE streamq::
    FILE streamq_${integration}Targets.cmake
    DESTINATION ${STREAMQ_INSTALL_CMAKEDIR})
endforeach()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/streamq
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# Generated protobuf headers (lib/CMakeLists.txt): <streamq/v1/envelope.pb.h>.
install(DIRECTORY ${PROJECT_BINARY_DIR}/generated/streamq
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.pb.h")
# The .proto files they come from are data, not headers: `import "streamq/v1/envelope.proto";`
# with -I ${streamq_PROTO_DIR} (set by streamqConfig.cmake).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/proto/streamq
  DESTINATION ${STREAMQ_INSTALL_PROTODIR}
  FILES_MATCHING PATTERN "*.proto")
# One export set for the four targets; CMake writes streamqTargets-<config>.cmake beside it
# for each configuration installed into the prefix, so Debug and Release can live side by side.
install(EXPORT streamqTargets
  NAMESPACE streamq::
  FILE streamqTargets.cmake
  DESTINATION ${STREAMQ_INSTALL_CMAKEDIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/streamqConfig.cmake.in
  ${PROJECT_BINARY_DIR}/streamqConfig.cmake
  INSTALL_DESTINATION ${STREAMQ_INSTALL_CMAKEDIR}
  PATH_VARS STREAMQ_INSTALL_PROTODIR)
# Before 1.0 a new minor version may break the API, so only the same minor version matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/streamqConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES
  ${PROJECT_BINARY_DIR}/streamqConfig.cmake
  ${PROJECT_BINARY_DIR}/streamqConfigVersion.cmake
  ${CMAKE_CURRENT_LIST_DIR}/StreamqProtobuf.cmake
  DESTINATION ${STREAMQ_INSTALL_CMAKEDIR})

# pkg-config. The libraries are static, so everything they need is in Requires and Libs (not
# the .private fields, which `pkg-config --libs` leaves out). protobuf is required at exactly
# the version streamq was built with: its generated headers accept no other.
set(pc_prefix "${CMAKE_INSTALL_PREFIX}")
if(NOT IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  # Relocatable: the prefix is found from the .pc file's own directory (lib/pkgconfig, or
  # lib/<multiarch>/pkgconfig), so an installed tree can be moved or packaged.
  set(pc_prefix "\${pcfiledir}")
  string(REPLACE "/" ";" pc_parts "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
  foreach(part IN LISTS pc_parts)
    string(APPEND pc_prefix "/..")
  endforeach()
endif()
# date-tz (linked privately, but a static library's users link it): -L<dir> -l<name> of the
# library CMake found, rather than its versioned file.
get_target_property(pc_date_file date::date-tz LOCATION)
get_filename_component(pc_date_dir "${pc_date_file}" DIRECTORY)
get_filename_component(pc_date_name "${pc_date_file}" NAME)
string(REGEX REPLACE "^lib([^.]+)\\..*$" "\\1" pc_date_name "${pc_date_name}")
set(pc_boost_cflags "")
foreach(dir IN LISTS Boost_INCLUDE_DIRS)
  string(APPEND pc_boost_cflags " -I${dir}")
endforeach()
string(CONCAT pc_text
  "prefix=${pc_prefix}\n"
  "libdir=\${prefix}/${CMAKE_INSTALL_LIBDIR}\n"
  "includedir=\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}\n"
  "protodir=\${prefix}/${STREAMQ_INSTALL_PROTODIR}\n"
  "\n"
  "Name: streamq\n"
  "Description: Redis Streams task queue on Boost.Asio C++20 coroutines\n"
  "Version: ${PROJECT_VERSION}\n"
  "Requires: protobuf = ${Protobuf_VERSION}, openssl\n"
  "Cflags: -I\${includedir}${pc_boost_cflags}\n"
  "Libs: -L\${libdir} -l$<TARGET_FILE_BASE_NAME:streamq_streams>"
  " -l$<TARGET_FILE_BASE_NAME:streamq_redis> -l$<TARGET_FILE_BASE_NAME:streamq_resp>"
  " -L${pc_date_dir} -l${pc_date_name} -pthread\n")
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/pkgconfig/$<CONFIG>/streamq.pc CONTENT "${pc_text}")
install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/$<CONFIG>/streamq.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
