/* SPDX-License-Identifier: MIT */
/* A minimal raw client for request/reply peers over a Unix socket (the echo floor, Redis GET,
 * memcached mg): one fixed request, whose reply has a fixed size, written and read with
 * plain read()/write() and nothing else, so that the peer's client costs next to nothing.
 * It also drives many connections at once from one epoll loop. It starts no server. */
#ifndef BENCH_RAW_H
#define BENCH_RAW_H

#include <stddef.h>
#include <stdint.h>

#include "proc.h"

/* Requests written at once by raw_pipelined(). */
#define RAW_DEPTH 64

/* What a peer is asked and answers. */
typedef struct raw_proto {
  const char *name;     /* e.g. "Redis GET" */
  const void *request;  /* one request */
  size_t request_len;
  const void *reply;    /* its whole reply, checked once on connecting */
  size_t reply_len;
} raw_proto;

typedef struct raw_conn {
  int fd;
  const raw_proto *p;
  uint8_t *out, *in;     /* RAW_DEPTH requests; room for RAW_DEPTH replies */
  size_t have;           /* raw_drive(): reply bytes received so far */
} raw_conn;

/* Connects to path and checks that one request gets exactly the expected reply. Returns 0 or
 * a negative errno (-EPROTO: another reply). */
int raw_open(raw_conn *c, const char *path, const raw_proto *p);
void raw_close(raw_conn *c);

/* rounds_fn (ctx: a raw_conn): n round trips, one request in flight. */
double raw_rtt(void *ctx, long n);

/* rounds_fn: n requests, RAW_DEPTH written at once and their replies read (n a multiple of
 * RAW_DEPTH). */
double raw_pipelined(void *ctx, long n);

/* n requests spread over the k connections, each with one request in flight, from one epoll
 * loop. Returns the nanoseconds it took or a negative errno. */
double raw_drive(raw_conn *conns, int k, long n);

/* Connects to path, sends n requests made by make(i, buf) (returning their length, at most
 * 256 bytes), many at once, and reads their replies, each reply_len bytes. For filling a
 * server. Returns 0 or a negative errno. */
int raw_send_many(const char *path, size_t (*make)(long i, char *buf), long n,
                  size_t reply_len);

/* proc_start(), then raw_ask() with the request that stores the value a peer serves; the
 * server is stopped again when either fails. Returns 0 or a negative errno. */
int raw_start(proc_server *s, char *const argv[], const char *socket_path, const char *log_path,
              const char *store, const char *stored);

/* Connects to path, sends one request and checks that the reply is `reply`. Returns 0 or a
 * negative errno (-EPROTO: another reply). */
int raw_ask(const char *path, const void *request, size_t request_len, const void *reply,
            size_t reply_len);

#endif
