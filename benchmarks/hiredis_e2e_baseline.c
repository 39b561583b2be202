/* Baseline for streamq's end-to-end benchmark: plain hiredis moving N messages through a
 * consumer group with no envelope, no retries and no bookkeeping beyond the protocol itself.
 *
 * One thread multiplexes two non-blocking hiredis connections with poll():
 *  - producer: a sliding window of W outstanding XADDs (as in hiredis-xadd-baseline);
 *  - consumer: one `XREADGROUP GROUP g c COUNT 100 BLOCK 100 STREAMS key >` outstanding at a
 *    time; each batch is acknowledged by a single XACK of all its IDs, written together with
 *    the next XREADGROUP (acks batched, as REDIS-FACTS recommends).
 * One thread rather than two keeps the client on one core, like streamq on one io_context.
 * ops_per_sec = N / (time from the first XADD to the reply of the last XACK).
 *
 * usage: hiredis-e2e-baseline [--host H] [--port P] [--count N] [--payload BYTES] [--window W]
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, getrusage under strict -std=c11 */
#include <hiredis/hiredis.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH 100

static const char* key = "bench:hiredis-e2e";
static const char* group = "g";

enum reply_kind { READ_REPLY, ACK_REPLY };

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

static void die(const redisContext* c, const char* what) {
  const char* why = (c == NULL) ? "out of memory" : (c->errstr[0] ? c->errstr : "unexpected reply");
  fprintf(stderr, "hiredis-e2e-baseline: %s: %s\n", what, why);
  exit(1);
}

static redisContext* connect_nonblocking(const char* host, int port) {
  redisContext* c = redisConnectNonBlock(host, port);
  if (c == NULL || c->err) die(c, "connect");
  struct pollfd p = {c->fd, POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof err;
  if (poll(&p, 1, 5000) != 1 || getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
      err != 0) {
    fprintf(stderr, "hiredis-e2e-baseline: connect to %s:%d: %s\n", host, port,
            err ? strerror(err) : "timeout");
    exit(1);
  }
  return c;
}

/* Writes what the socket takes now; returns 1 when the output buffer is empty. */
static int flush(redisContext* c) {
  int done = 0;
  if (redisBufferWrite(c, &done) != REDIS_OK) die(c, "write");
  return done;
}

static void setup(const char* host, int port) {
  redisContext* c = redisConnect(host, port);
  if (c == NULL || c->err) die(c, "connect");
  redisReply* r = redisCommand(c, "DEL %s", key);
  if (r == NULL) die(c, "DEL");
  freeReplyObject(r);
  r = redisCommand(c, "XGROUP CREATE %s %s $ MKSTREAM", key, group);
  if (r == NULL || r->type == REDIS_REPLY_ERROR) die(c, "XGROUP CREATE");
  freeReplyObject(r);
  redisFree(c);
}

static void append_read(redisContext* c) {
  redisAppendCommand(c, "XREADGROUP GROUP %s c COUNT %d BLOCK 100 STREAMS %s >", group, BATCH, key);
}

/* Appends one XACK for every entry of an XREADGROUP reply; returns how many entries it held. */
static long append_ack(redisContext* c, const redisReply* r) {
  if (r->type == REDIS_REPLY_NIL) return 0; /* BLOCK timed out */
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 || r->element[0]->elements != 2) {
    fprintf(stderr, "unexpected XREADGROUP reply (type %d): %s\n", r->type, r->str ? r->str : "");
    exit(1);
  }
  const redisReply* entries = r->element[0]->element[1];
  if (entries->elements == 0) return 0;
  const char* argv[3 + BATCH];
  size_t lens[3 + BATCH];
  argv[0] = "XACK", lens[0] = 4;
  argv[1] = key, lens[1] = strlen(key);
  argv[2] = group, lens[2] = strlen(group);
  for (size_t i = 0; i < entries->elements && i < BATCH; ++i) {
    const redisReply* id = entries->element[i]->element[0];
    argv[3 + i] = id->str, lens[3 + i] = id->len;
  }
  redisAppendCommandArgv(c, 3 + (int)entries->elements, argv, lens);
  return (long)entries->elements;
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
  char* value = malloc((size_t)payload + 1);
  memset(value, 'x', (size_t)payload);
  value[payload] = '\0';

  setup(host, (int)port);
  redisContext* prod = connect_nonblocking(host, (int)port);
  redisContext* cons = connect_nonblocking(host, (int)port);

  /* Consumer replies arrive in the order requested: a FIFO of what each one answers. */
  enum reply_kind expect[4];
  unsigned head = 0, tail = 0;
  long sent = 0, added = 0, consumed = 0, acked = 0;

  const double t0 = now_seconds(), cpu0 = cpu_seconds();
  while (sent < count && sent < window) {
    redisAppendCommand(prod, "XADD %s * f %b", key, value, (size_t)payload);
    ++sent;
  }
  append_read(cons);
  expect[tail++ % 4] = READ_REPLY;
  int prod_flushed = flush(prod), cons_flushed = flush(cons);

  while (added < count || acked < count) {
    struct pollfd fds[2] = {{prod->fd, (short)(POLLIN | (prod_flushed ? 0 : POLLOUT)), 0},
                            {cons->fd, (short)(POLLIN | (cons_flushed ? 0 : POLLOUT)), 0}};
    errno = 0;
    if (poll(fds, 2, 5000) <= 0) {
      fprintf(stderr, "hiredis-e2e-baseline: stalled (%s)\n", errno ? strerror(errno) : "timeout");
      return 1;
    }
    void* reply = NULL;
    if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
      if (redisBufferRead(prod) != REDIS_OK) die(prod, "producer read");
      for (;;) {
        if (redisGetReplyFromReader(prod, &reply) != REDIS_OK) die(prod, "producer parse");
        if (reply == NULL) break;
        if (((redisReply*)reply)->type != REDIS_REPLY_STRING) die(prod, "XADD");
        freeReplyObject(reply);
        ++added;
        if (sent < count) { /* one reply out, one command in */
          redisAppendCommand(prod, "XADD %s * f %b", key, value, (size_t)payload);
          ++sent;
        }
      }
    }
    if (fds[1].revents & (POLLIN | POLLERR | POLLHUP)) {
      if (redisBufferRead(cons) != REDIS_OK) die(cons, "consumer read");
      for (;;) {
        if (redisGetReplyFromReader(cons, &reply) != REDIS_OK) die(cons, "consumer parse");
        if (reply == NULL) break;
        const redisReply* r = reply;
        if (expect[head++ % 4] == ACK_REPLY) {
          if (r->type != REDIS_REPLY_INTEGER) die(cons, "XACK");
          acked += (long)r->integer;
        } else {
          const long n = append_ack(cons, r);
          if (n > 0) expect[tail++ % 4] = ACK_REPLY;
          consumed += n;
          if (consumed < count) {
            append_read(cons);
            expect[tail++ % 4] = READ_REPLY;
          }
        }
        freeReplyObject(reply);
      }
    }
    prod_flushed = flush(prod);
    cons_flushed = flush(cons);
  }
  const double elapsed = now_seconds() - t0, cpu = cpu_seconds() - cpu0;

  printf(
      "{\"scenario\":\"hiredis_e2e\",\"count\":%ld,\"payload\":%ld,\"window\":%ld,"
      "\"ops_per_sec\":%.0f,\"client_cpu_us_per_op\":%.3f}\n",
      count, payload, window, (double)count / elapsed, cpu * 1e6 / (double)count);
  redisFree(prod);
  redisFree(cons);
  free(value);
  return 0;
}
