# Embeds the dashboard's static files (lib/dashboard/assets/: HTML, JavaScript, CSS, images)
# into one generated C++ header, so the library serves them from memory: an application that
# embeds the dashboard ships no files next to its binary, and nothing is read from disk at
# run time (no path from a request ever reaches the file system).
#
#   streamq_embed_assets(TARGET streamq_dashboard OUT_DIR <dir> BASE_DIR <assets dir>
#                        FILES a.html b.js ...)
#
# makes <dir>/streamq_dashboard_assets.hpp with, in namespace streamq::dashboard::detail::embedded,
# `inline constexpr asset_source files[]`: each file's path relative to BASE_DIR ("app.js",
# "img/logo.svg"), its Content-Type (from its extension; an extension without one fails the
# build, naming the file) and its bytes. The header is regenerated when a file changes (at
# build time, through a custom command), which rebuilds the one source that includes it.
function(streamq_embed_assets)
  cmake_parse_arguments(ARG "" "TARGET;OUT_DIR;BASE_DIR" "FILES" ${ARGN})
  set(header ${ARG_OUT_DIR}/streamq_dashboard_assets.hpp)
  add_custom_command(
    OUTPUT ${header}
    COMMAND ${CMAKE_COMMAND} -DOUT=${header} -DBASE_DIR=${ARG_BASE_DIR} "-DFILES=${ARG_FILES}"
            -P ${PROJECT_SOURCE_DIR}/cmake/StreamqEmbedAssetsRun.cmake
    DEPENDS ${ARG_FILES} ${PROJECT_SOURCE_DIR}/cmake/StreamqEmbedAssetsRun.cmake
    COMMENT "Embedding the dashboard's assets"
    VERBATIM)
  target_sources(${ARG_TARGET} PRIVATE ${header})
  target_include_directories(${ARG_TARGET} PRIVATE $<BUILD_INTERFACE:${ARG_OUT_DIR}>)
endfunction()
