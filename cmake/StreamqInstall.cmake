# `cmake --install` support: consumers write find_package(streamq) and link streamq::streamq.
# Included last from the top-level CMakeLists.txt; does nothing until lib/ defines `streamq`.
if(NOT TARGET streamq)
  return()
endif()

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(STREAMQ_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/streamq"
    CACHE STRING "Where streamqConfig.cmake is installed, relative to the prefix")

install(TARGETS streamq EXPORT streamqTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/streamq
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# Generated protobuf headers (lib/CMakeLists.txt) and the .proto files they come from, side by
# side: <streamq/v1/envelope.pb.h>, and `import "streamq/v1/envelope.proto";` with -I include.
install(DIRECTORY ${PROJECT_BINARY_DIR}/generated/streamq
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.pb.h")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/proto/streamq
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.proto")
install(EXPORT streamqTargets
  NAMESPACE streamq::
  FILE streamqTargets.cmake
  DESTINATION ${STREAMQ_INSTALL_CMAKEDIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/streamqConfig.cmake.in
  ${PROJECT_BINARY_DIR}/streamqConfig.cmake
  INSTALL_DESTINATION ${STREAMQ_INSTALL_CMAKEDIR})
# Before 1.0 a new minor version may break the API, so only the same minor version matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/streamqConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/streamqConfig.cmake
  ${PROJECT_BINARY_DIR}/streamqConfigVersion.cmake
  DESTINATION ${STREAMQ_INSTALL_CMAKEDIR})
