# The build-time half of streamq_embed_assets (StreamqEmbedAssets.cmake): cmake -P with OUT,
# BASE_DIR and FILES (a ;-list of paths under BASE_DIR).
set(text "// Generated from lib/dashboard/assets/ by cmake/StreamqEmbedAssetsRun.cmake: edit those.\n")
string(APPEND text "#pragma once\n#include <cstddef>\n#include <string_view>\n\n")
string(APPEND text "namespace streamq::dashboard::detail::embedded {\n\n")
# bytes: the file's bytes plus a trailing 0 (an empty file still makes a valid array); size:
# the file's size without it.
string(APPEND text "struct asset_source {\n  std::string_view path;\n  std::string_view content_type;\n  const unsigned char* bytes;\n  std::size_t size;\n};\n\n")
# Content types by extension (lower case). Text types say their charset: the browser must not
# guess it (nosniff forbids guessing the type; the charset is a separate guess).
set(type_html "text/html; charset=utf-8")
set(type_js "text/javascript; charset=utf-8")
set(type_mjs "text/javascript; charset=utf-8")
set(type_css "text/css; charset=utf-8")
set(type_json "application/json")
set(type_svg "image/svg+xml")
set(type_png "image/png")
set(type_ico "image/x-icon")
set(type_woff2 "font/woff2")
set(type_txt "text/plain; charset=utf-8")
set(type_map "application/json")
list(SORT FILES)
set(entries "")
set(index 0)
foreach(file IN LISTS FILES)
  file(RELATIVE_PATH path ${BASE_DIR} ${file})
  if(NOT path MATCHES "^[A-Za-z0-9_][A-Za-z0-9_./-]*$" OR path MATCHES "\\.\\.")
    message(FATAL_ERROR "dashboard asset ${file}: its path must use only A-Z a-z 0-9 _ . - /")
  endif()
  get_filename_component(ext ${file} LAST_EXT)
  string(TOLOWER "${ext}" ext)
  string(REPLACE "." "" ext "${ext}")
  if(NOT DEFINED type_${ext})
    message(FATAL_ERROR "dashboard asset ${file}: no Content-Type known for '.${ext}' "
                        "(cmake/StreamqEmbedAssetsRun.cmake lists them)")
  endif()
  file(READ ${file} hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  # Lines of 32 bytes, so the generated header stays readable in a diff of the build.
  string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){32})" "\\1\n  " bytes "${bytes}")
  string(APPEND text "inline constexpr unsigned char file_${index}[] = {\n  ${bytes}0x00};\n\n")
  string(APPEND entries "    {\"${path}\", \"${type_${ext}}\", file_${index}, ${size}},\n")
  math(EXPR index "${index} + 1")
endforeach()
string(APPEND text "inline constexpr std::size_t file_count = ${index};\n")
if(index EQUAL 0)
  # No asset yet: one placeholder entry keeps the array valid; file_count says it is not one.
  string(APPEND entries "    {\"\", \"\", nullptr, 0},\n")
endif()
string(APPEND text "inline constexpr asset_source files[] = {\n${entries}};\n\n")
string(APPEND text "}  // namespace streamq::dashboard::detail::embedded\n")
# configure_file writes OUT only when its content changes, so the library is not rebuilt for
# nothing.
file(WRITE ${OUT}.new "${text}")
configure_file(${OUT}.new ${OUT} COPYONLY)
file(REMOVE ${OUT}.new)
