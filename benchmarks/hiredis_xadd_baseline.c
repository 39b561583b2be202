/* Baseline for `streamq-bench xadd`: the fastest plain hiredis can add stream entries on one
 * connection, so streamq's numbers have something honest to be compared with in the same run.
 *
 * A sliding window, not batches: up to W XADDs are outstanding; every reply that comes back
 * frees one slot, which is refilled with one new command at once. Writes are flushed with
 * redisBufferWrite after each read, so the syscall cost is that of a real pipelining client.
 *
 * usage: hiredis-xadd-baseline [--host H] [--port P] [--count N] [--payload BYTES] [--window W]
 * prints: {"scenario":"hiredis_xadd","count":N,...,"ops_per_sec":X,"client_cpu_us_per_op":Y}
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, getrusage under strict -std=c11 */
#include <hiredis/hiredis.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const char* key = "bench:hiredis";

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void die(redisContext* c, const char* what) {
  const char* why = (c == NULL) ? "out of memory" : (c->errstr[0] ? c->errstr : "unexpected reply");
  fprintf(stderr, "hiredis-xadd-baseline: %s: %s\n", what, why);
  exit(1);
}

static long arg_long(int argc, char** argv, int* i) {
  if (*i + 1 >= argc) {
    fprintf(stderr, "missing value for %s\n", argv[*i]);
    exit(2);
  }
  return strtol(argv[++*i], NULL, 10);
}

int main(int argc, char** argv) {
  const char* host = "127.0.0.1";
  long port = 6379, count = 1000000, payload = 100, window = 256;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
      host = argv[++i];
    else if (strcmp(argv[i], "--port") == 0)
      port = arg_long(argc, argv, &i);
    else if (strcmp(argv[i], "--count") == 0)
      count = arg_long(argc, argv, &i);
    else if (strcmp(argv[i], "--payload") == 0)
      payload = arg_long(argc, argv, &i);
    else if (strcmp(argv[i], "--window") == 0)
      window = arg_long(argc, argv, &i);
    else {
      fprintf(stderr,
              "usage: %s [--host H] [--port P] [--count N] [--payload BYTES] [--window W]\n",
              argv[0]);
      return 2;
    }
  }
  if (count <= 0 || payload < 0 || window <= 0) {
    fprintf(stderr, "count and window must be > 0, payload >= 0\n");
    return 2;
  }

  redisContext* c = redisConnect(host, (int)port);
  if (c == NULL || c->err) die(c, "connect");
  char* value = malloc((size_t)payload + 1);
  memset(value, 'x', (size_t)payload);
  value[payload] = '\0';

  redisReply* r = redisCommand(c, "DEL %s", key); /* start from an empty stream */
  if (r == NULL) die(c, "DEL");
  freeReplyObject(r);

  const double t0 = now_seconds(), cpu0 = cpu_seconds();
  long sent = 0, done = 0;
  while (sent < count && sent < window) {
    redisAppendCommand(c, "XADD %s * f %b", key, value, (size_t)payload);
    ++sent;
  }
  while (done < count) {
    int flushed = 0;
    while (!flushed)
      if (redisBufferWrite(c, &flushed) != REDIS_OK) die(c, "write");
    if (redisBufferRead(c) != REDIS_OK) die(c, "read"); /* blocks until some replies arrived */
    void* reply = NULL;
    for (;;) {
      if (redisGetReplyFromReader(c, &reply) != REDIS_OK) die(c, "parse");
      if (reply == NULL) break;
      if (((redisReply*)reply)->type != REDIS_REPLY_STRING) {
        fprintf(stderr, "XADD failed: %s\n", ((redisReply*)reply)->str);
        return 1;
      }
      freeReplyObject(reply);
      ++done;
      if (sent < count) { /* one reply out, one command in: the window slides */
        redisAppendCommand(c, "XADD %s * f %b", key, value, (size_t)payload);
        ++sent;
      }
    }
  }
  const double elapsed = now_seconds() - t0, cpu = cpu_seconds() - cpu0;

  printf(
      "{\"scenario\":\"hiredis_xadd\",\"count\":%ld,\"payload\":%ld,\"window\":%ld,"
      "\"ops_per_sec\":%.0f,\"client_cpu_us_per_op\":%.3f}\n",
      count, payload, window, (double)count / elapsed, cpu * 1e6 / (double)count);
  free(value);
  redisFree(c);
  return 0;
}
