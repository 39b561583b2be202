# scripts/check-layers passes on SOURCE_DIR, and on a tree made in WORK_DIR it reports exactly
# the three includes that cross a layer and the three Redis commands spelled outside
# lib/streams/commands, and none of the allowed lines next to them.
#   cmake -DSOURCE_DIR=<repo> -DWORK_DIR=<scratch dir> -P check_layers_test.cmake
cmake_minimum_required(VERSION 3.25)
set(check bash ${SOURCE_DIR}/scripts/check-layers)

execute_process(COMMAND ${check} ${SOURCE_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "scripts/check-layers fails on the source tree:\n${out}")
endif()

file(REMOVE_RECURSE ${WORK_DIR})
file(WRITE ${WORK_DIR}/lib/resp/allowed.cpp
  "#include <streamq/resp/value.hpp>\n#include <vector>\n")
file(WRITE ${WORK_DIR}/lib/resp/asio.cpp "#include <vector>\n#include <boost/asio/buffer.hpp>\n")
file(WRITE ${WORK_DIR}/include/streamq/resp/upward.hpp
  "#pragma once\n  #  include \"streamq/redis/connection.hpp\"\n")
file(WRITE ${WORK_DIR}/lib/redis/allowed.cpp "#include <boost/asio/post.hpp>\n"
  "#include <streamq/resp/parser.hpp>\n#include \"transport.hpp\"\n")
file(WRITE ${WORK_DIR}/lib/redis/upward.cpp "#include \"../streams/script.hpp\"\n")
file(WRITE ${WORK_DIR}/lib/streams/allowed.cpp
  "#include <streamq/redis/connection.hpp>\n#include <google/protobuf/message.h>\n")
# Commands: built in commands/ only. Comments may name them; other literals may contain them.
file(WRITE ${WORK_DIR}/lib/streams/commands/allowed.cpp
  "void build(request& req) { req.push(\"XADD\", key{s}, \"*\", f); }\n")
file(WRITE ${WORK_DIR}/lib/streams/publish/inline.cpp
  "// One XADD, built here: req.push(\"XADD\") is what the check finds.\n"
  "void send(request& req) { req.push(\"xadd\", key{s}, \"*\", f); }\n")
file(WRITE ${WORK_DIR}/lib/streams/schedule/literal.cpp
  "/* \"HGETALL\" in a block comment\n   is no command */ const char* url = \"redis://h\";\n"
  "const std::string_view name = \"HGETALL\";  // \"ZCARD\" in a comment\n"
  "const char* text = \"HGETALL of the cron hash\"; v.push_back(\"ZCARD\" + s);\n")

execute_process(COMMAND ${check} ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "scripts/check-layers passed a tree with layer violations:\n${out}${err}")
endif()
# One report a line; counted by its newlines (reported code may hold ';', a CMake list separator).
string(REGEX REPLACE "[^\n]" "" newlines "${out}")
string(LENGTH "${newlines}" count)
if(NOT count EQUAL 6)
  message(FATAL_ERROR "expected 6 violations, got ${count}:\n${out}")
endif()
foreach(expected IN ITEMS
    "lib/resp/asio.cpp:2: .*standard library"
    "include/streamq/resp/upward.hpp:2: .*redis-layer"
    "lib/redis/upward.cpp:1: .*streams-layer"
    "lib/streams/publish/inline.cpp:2: .*Redis command outside lib/streams/commands"
    "lib/streams/schedule/literal.cpp:3: .*Redis command outside lib/streams/commands"
    "lib/streams/schedule/literal.cpp:4: .*Redis command outside lib/streams/commands")
  if(NOT out MATCHES "${expected}")
    message(FATAL_ERROR "scripts/check-layers did not report '${expected}':\n${out}")
  endif()
endforeach()
message(STATUS "scripts/check-layers reported:\n${out}")
