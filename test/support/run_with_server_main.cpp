// streamq-run-with-server PROGRAM [ARGS...]: starts a throwaway redis-server (the test
// fixture), runs PROGRAM with STREAMQ_REDIS_URL pointing at it, and exits with its status.
// Lets CTest run the examples against a real server.
#include "redis_server.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PROGRAM [ARGS...]\n", argv[0]);
    return 2;
  }
  try {
    streamq::test::redis_server server;
    const pid_t child = ::fork();
    if (child < 0) return 3;
    if (child == 0) {
      ::setenv("STREAMQ_REDIS_URL", server.url().c_str(), 1);
      ::execv(argv[1], argv + 1);
      std::perror("exec");
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "streamq-run-with-server: %s\n", e.what());
    return 3;
  }
}
