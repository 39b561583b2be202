# The CLI contract of streamq-bench, checked by CTest (label `bench`): runs one scenario and
# checks that it succeeded and printed the JSON lines that scripts rely on. Figures are not
# judged here, only their presence and form.
#
#   cmake -DBENCH=path/to/streamq-bench "-DARGS=fanout --groups 3" -DLINES=3
#         "-DKEYS=group handled ..." "-DCOUNTS=handled ..." [-DDISTINCT=group]
#         ["-DLAST_KEYS=routing_ratio ..."] -P bench_smoke.cmake
#
#   ARGS      the command line after the program (space-separated)
#   LINES     how many JSON lines stdout must hold
#   KEYS      keys every line must have
#   COUNTS    keys (among KEYS) whose values must be non-negative integers
#   DISTINCT  a key whose value must differ on every line (e.g. fanout's group)
#   LAST_KEYS keys the last line must have too (e.g. routing's summary line)
cmake_minimum_required(VERSION 3.25)

foreach(var BENCH ARGS LINES KEYS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "bench_smoke.cmake: -D${var}=... is required")
  endif()
endforeach()
separate_arguments(args UNIX_COMMAND "${ARGS}")
separate_arguments(keys UNIX_COMMAND "${KEYS}")
separate_arguments(counts UNIX_COMMAND "${COUNTS}")
separate_arguments(last_keys UNIX_COMMAND "${LAST_KEYS}")

execute_process(COMMAND "${BENCH}" ${args}
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE status)
message(STATUS "streamq-bench ${ARGS}: exit status ${status}\n${out}")
if(NOT status EQUAL 0)
  message(FATAL_ERROR "streamq-bench ${ARGS} failed (exit status ${status}):\n${err}")
endif()

# One JSON object per line; anything else on stdout breaks the contract too.
string(REPLACE ";" "\\;" out "${out}")
string(REGEX REPLACE "\n$" "" out "${out}")
string(REPLACE "\n" ";" lines "${out}")
list(LENGTH lines found)
if(NOT found EQUAL LINES)
  message(FATAL_ERROR "expected ${LINES} JSON line(s) on stdout, got ${found}:\n${out}")
endif()
set(seen "")
foreach(line IN LISTS lines)
  string(JSON type ERROR_VARIABLE json_error TYPE "${line}")
  if(json_error OR NOT type STREQUAL "OBJECT")
    message(FATAL_ERROR "not a JSON object: ${line}\n${json_error}")
  endif()
  foreach(key IN LISTS keys)
    string(JSON value ERROR_VARIABLE json_error GET "${line}" "${key}")
    if(json_error)
      message(FATAL_ERROR "key '${key}' missing in: ${line}")
    endif()
    if(key IN_LIST counts AND NOT value MATCHES "^[0-9]+$")
      message(FATAL_ERROR "'${key}' is not a count (${value}) in: ${line}")
    endif()
    if(DISTINCT AND key STREQUAL "${DISTINCT}")
      if(value IN_LIST seen)
        message(FATAL_ERROR "'${key}' = ${value} appears on more than one line:\n${out}")
      endif()
      list(APPEND seen "${value}")
    endif()
  endforeach()
endforeach()
list(GET lines -1 last)
foreach(key IN LISTS last_keys)
  string(JSON value ERROR_VARIABLE json_error GET "${last}" "${key}")
  if(json_error)
    message(FATAL_ERROR "key '${key}' missing in the last line: ${last}")
  endif()
endforeach()
