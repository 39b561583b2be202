#pragma once
// Sends what the process writes to stderr (file descriptor 2: libprotobuf's log, streamq's
// default logger) to a temporary file while alive, so that a test can check that nothing was
// printed. One at a time; output of other threads in the meantime is captured too.

#include <doctest/doctest.h>

#include <unistd.h>
#include <cstdio>
#include <string>

namespace streamq::test {

class stderr_capture {
 public:
  stderr_capture() : file_(std::tmpfile()) {
    REQUIRE(file_ != nullptr);
    std::fflush(stderr);
    saved_ = ::dup(2);
    REQUIRE(saved_ >= 0);
    REQUIRE(::dup2(::fileno(file_), 2) == 2);
  }
  ~stderr_capture() {
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    std::fclose(file_);
  }
  stderr_capture(const stderr_capture&) = delete;
  stderr_capture& operator=(const stderr_capture&) = delete;

  // Everything written to stderr so far.
  std::string text() {
    std::fflush(stderr);
    std::string out;
    char buffer[4096];
    for (off_t at = 0;;) {
      const ssize_t n = ::pread(::fileno(file_), buffer, sizeof buffer, at);
      if (n <= 0) break;
      out.append(buffer, static_cast<std::size_t>(n));
      at += n;
    }
    return out;
  }

 private:
  std::FILE* file_;
  int saved_ = -1;
};

}  // namespace streamq::test
