# Warning flags shared by every target of this project (not propagated to consumers).
add_library(streamq_warnings INTERFACE)
target_compile_options(streamq_warnings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough>
  $<$<BOOL:${STREAMQ_WARNINGS_AS_ERRORS}>:-Werror>)
