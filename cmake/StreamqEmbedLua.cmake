# Embeds Lua scripts (files named <name>-<key count>.lua, or <name>-<least key count>+.lua for a
# script taking more keys) into one generated C++ header, so the scripts are kept, read and
# diffed as the .lua files they are, and compiled into the library.
#
#   streamq_embed_lua(TARGET streamq OUT_DIR <dir> SCRIPTS a-2.lua b-3.lua ...)
#
# makes <dir>/streamq_lua_scripts.hpp with, for each script, in namespace
# streamq::streams::detail::lua: `inline constexpr script_source <name>{source, key count,
# file name, SHA-1 of the source, more keys allowed}` (run through lib/streams/commands/script.hpp).
# The header is regenerated when a script changes (at build time, through a custom command).
function(streamq_embed_lua)
  cmake_parse_arguments(ARG "" "TARGET;OUT_DIR" "SCRIPTS" ${ARGN})
  set(header ${ARG_OUT_DIR}/streamq_lua_scripts.hpp)
  add_custom_command(
    OUTPUT ${header}
    COMMAND ${CMAKE_COMMAND} -DOUT=${header} "-DSCRIPTS=${ARG_SCRIPTS}"
            -P ${PROJECT_SOURCE_DIR}/cmake/StreamqEmbedLuaRun.cmake
    DEPENDS ${ARG_SCRIPTS} ${PROJECT_SOURCE_DIR}/cmake/StreamqEmbedLuaRun.cmake
    COMMENT "Embedding Lua scripts"
    VERBATIM)
  target_sources(${ARG_TARGET} PRIVATE ${header})
  target_include_directories(${ARG_TARGET} PRIVATE $<BUILD_INTERFACE:${ARG_OUT_DIR}>)
endfunction()
