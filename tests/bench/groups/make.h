/* SPDX-License-Identifier: MIT */
/* The shmbuf side of the creation cases, for any group: one Buffer creation API through a
 * client (default or thin), with its source data, as a rounds contender that creates and
 * releases. Only the public API (shmbuf.h). */
#ifndef BENCH_MAKE_H
#define BENCH_MAKE_H

#include <stddef.h>
#include <stdint.h>

#include "shmbuf.h"

typedef enum make_api {
  MAKE_ALLOC,
  MAKE_ALLOC_UNSAFE,
  MAKE_ALLOC_UNSAFE_SLOW,
  MAKE_FROM_STRING,
  MAKE_FROM_BYTES,
  MAKE_FROM_ARRAY,
  MAKE_FROM_BUFFER,
  MAKE_API_COUNT
} make_api;

typedef struct make_call {
  shmbuf_client *c;
  make_api api;
  int64_t size;
  int64_t grow;      /* added to size after each call: a size the client has not seen lately */
  int64_t first, last; /* sizes go from first to last, then start again */
  char *text;        /* size bytes of ASCII: the string, the bytes */
  double *array;     /* the same as numbers */
  shmbuf_buf *src;   /* the same in a buffer of c's */
} make_call;

/* Prepares calls of api with size bytes through c; with grow > 0, each call asks for grow
 * bytes more than the one before, up to size + grow * 4096, then starts again (the client
 * keeps only a few released ArrayBuffers, so it has long forgotten those sizes). Returns 0
 * or a negative errno. */
int make_prepare(make_call *m, shmbuf_client *c, make_api api, int64_t size, int64_t grow);
void make_done(make_call *m);

/* One call; the size then grows by m->grow. Returns 0 or a negative errno. */
int make_one(make_call *m, shmbuf_buf **out);

/* rounds_fn (ctx: a make_call): n creations, each released at once. */
double make_release(void *ctx, long n);

/* A size in words: "16", "4 KiB", "1 MiB". */
void make_size(int64_t size, char *out, size_t cap);

/* The call in words, e.g. "allocUnsafe(16)", "from(16 B string)", "from(1 MiB Buffer)". */
void make_label(make_api api, int64_t size, char *out, size_t cap);

/* The API as node-peer.js names it. */
const char *make_node_api(make_api api);

#endif
