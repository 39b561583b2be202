# Warning flags shared by every target of this project (not propagated to consumers).
add_library(streamq_warnings INTERFACE)
target_compile_options(streamq_warnings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough>
  # GCC 12 reports coroutine frames freed by Asio's frame allocator as mismatched (a known
  # false positive); Asio's awaitable frames are allocated and freed by the same operators.
  $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete>
  $<$<BOOL:${STREAMQ_WARNINGS_AS_ERRORS}>:-Werror>)
