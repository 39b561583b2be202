# streamq_protobuf_generate(TARGET <target> PROTO_ROOT <dir> OUT_DIR <dir> PROTOS <file>...
#                           [IMPORT_DIRS <dir>...])
#
# Runs protoc on each .proto (a path under PROTO_ROOT) and compiles the generated .pb.cc into
# TARGET. Outputs keep the path relative to PROTO_ROOT: PROTO_ROOT/streamq/v1/envelope.proto
# gives OUT_DIR/streamq/v1/envelope.pb.{h,cc}, included as <streamq/v1/envelope.pb.h> and
# registered in protobuf's descriptor pool as "streamq/v1/envelope.proto", which is what
# other .proto files import. IMPORT_DIRS are further directories that imports are looked up
# in, compiled elsewhere: an application's .proto that imports "streamq/v1/envelope.proto"
# passes IMPORT_DIRS ${streamq_PROTO_DIR} and links streamq::streamq, which holds that file's
# compiled code. Generated sources are compiled without warnings (-w): protoc's output is not
# ours to fix. Must be called in the directory that defines TARGET; TARGET still needs
# OUT_DIR on its include path and protobuf::libprotobuf (or streamq::streamq) linked.
#
# Installed with the CMake package (find_package(streamq) defines it), so an application
# compiles its own messages as streamq's examples do; README.md, "Using streamq from your
# project", shows it.
#
# Why not FindProtobuf's protobuf_generate(): in CMake 3.25 (Debian 12) it names the outputs
# relative to CMAKE_CURRENT_SOURCE_DIR, not to the import directory, so a .proto outside the
# calling directory (proto/, called from lib/) is expected where protoc never writes it.
function(streamq_protobuf_generate)
  cmake_parse_arguments(arg "" "TARGET;PROTO_ROOT;OUT_DIR" "PROTOS;IMPORT_DIRS" ${ARGN})
  if(NOT arg_TARGET OR NOT arg_PROTO_ROOT OR NOT arg_OUT_DIR OR NOT arg_PROTOS)
    message(FATAL_ERROR "streamq_protobuf_generate: TARGET, PROTO_ROOT, OUT_DIR, PROTOS needed")
  endif()
  if(TARGET protobuf::protoc)
    set(protoc protobuf::protoc)
  elseif(Protobuf_PROTOC_EXECUTABLE)
    set(protoc ${Protobuf_PROTOC_EXECUTABLE})
  else()
    message(FATAL_ERROR "streamq_protobuf_generate: no protoc (find_package(Protobuf) found "
      "none; Debian: protobuf-compiler, of the same version as libprotobuf)")
  endif()
  get_filename_component(root ${arg_PROTO_ROOT} ABSOLUTE)
  set(import_flags)
  foreach(dir IN LISTS arg_IMPORT_DIRS)
    get_filename_component(dir ${dir} ABSOLUTE)
    list(APPEND import_flags -I ${dir})
  endforeach()
  set(sources)
  foreach(proto IN LISTS arg_PROTOS)
    get_filename_component(abs ${proto} ABSOLUTE)
    file(RELATIVE_PATH rel ${root} ${abs})
    if(rel MATCHES "^\\.\\./")
      message(FATAL_ERROR "streamq_protobuf_generate: ${proto} is not under ${root}")
    endif()
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    set(header ${arg_OUT_DIR}/${stem}.pb.h)
    set(source ${arg_OUT_DIR}/${stem}.pb.cc)
    add_custom_command(
      OUTPUT ${header} ${source}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${arg_OUT_DIR}
      COMMAND ${protoc} --cpp_out=${arg_OUT_DIR} -I ${root} ${import_flags} ${abs}
      DEPENDS ${abs} ${protoc}
      COMMENT "protoc ${rel}"
      VERBATIM)
    list(APPEND sources ${header} ${source})
    set_source_files_properties(${source} PROPERTIES COMPILE_OPTIONS -w)
  endforeach()
  target_sources(${arg_TARGET} PRIVATE ${sources})
endfunction()
