/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "make.h"
#include "rounds.h"

static const char *const calls[MAKE_API_COUNT] = {
    "alloc", "allocUnsafe", "allocUnsafeSlow", "from", "from", "from", "from"};
static const char *const sources[MAKE_API_COUNT] = {
    "", "", "", " string", " Uint8Array", " array", " Buffer"};
static const char *const node_names[MAKE_API_COUNT] = {
    "alloc", "allocUnsafe", "allocUnsafeSlow", "fromString", "fromBytes", "fromArray",
    "fromBuffer"};

void make_size(int64_t size, char *out, size_t cap) {
  if (size >= 1 << 20 && size % (1 << 20) == 0)
    snprintf(out, cap, "%lld MiB", (long long)size >> 20);
  else if (size >= 1024 && size % 1024 == 0)
    snprintf(out, cap, "%lld KiB", (long long)size >> 10);
  else
    snprintf(out, cap, "%lld", (long long)size);
}

void make_label(make_api api, int64_t size, char *out, size_t cap) {
  char n[32];
  make_size(size, n, sizeof n);
  /* "from(16 B string)", but "alloc(16)" as it is written in JS */
  bool bytes = sources[api][0] && size < 1024;
  snprintf(out, cap, "%s(%s%s%s)", calls[api], n, bytes ? " B" : "", sources[api]);
}
const char *make_node_api(make_api api) { return node_names[api]; }

int make_prepare(make_call *m, shmbuf_client *c, make_api api, int64_t size, int64_t grow) {
  size_t most = (size_t)(size + grow * 4096);
  *m = (make_call){c, api, size, grow, size, (int64_t)most, NULL, NULL, NULL};
  if (api == MAKE_FROM_STRING || api == MAKE_FROM_BYTES || api == MAKE_FROM_BUFFER) {
    if ((m->text = malloc(most + 1)) == NULL)
      return -ENOMEM;
    for (size_t i = 0; i < most; i++)
      m->text[i] = (char)('a' + i % 26); /* as node-peer.js makes them */
    m->text[most] = 0;
  }
  if (api == MAKE_FROM_ARRAY) {
    if ((m->array = malloc(most * sizeof *m->array)) == NULL)
      return -ENOMEM;
    for (size_t i = 0; i < most; i++)
      m->array[i] = 'a' + (double)(i % 26);
  }
  if (api == MAKE_FROM_BUFFER) {
    int rc = shmbuf_from_bytes(c, m->text, (size_t)size, &m->src);
    if (rc < 0) {
      make_done(m);
      return rc;
    }
  }
  return 0;
}

void make_done(make_call *m) {
  shmbuf_release(m->src);
  free(m->text);
  free(m->array);
  m->src = NULL;
  m->text = NULL;
  m->array = NULL;
}

int make_one(make_call *m, shmbuf_buf **out) {
  int64_t size = m->size;
  m->size = m->size + m->grow > m->last ? m->first : m->size + m->grow;
  switch (m->api) {
  case MAKE_ALLOC:
    return shmbuf_alloc(m->c, size, out);
  case MAKE_ALLOC_UNSAFE:
    return shmbuf_alloc_unsafe(m->c, size, out);
  case MAKE_ALLOC_UNSAFE_SLOW:
    return shmbuf_alloc_unsafe_slow(m->c, size, out);
  case MAKE_FROM_STRING:
    return shmbuf_from_string(m->c, m->text, (size_t)size, NULL, out);
  case MAKE_FROM_BYTES:
    return shmbuf_from_bytes(m->c, m->text, (size_t)size, out);
  case MAKE_FROM_ARRAY:
    return shmbuf_from_array(m->c, m->array, (size_t)size, out);
  case MAKE_FROM_BUFFER:
  default:
    return shmbuf_from_buffer(m->c, m->src, out);
  }
}

double make_release(void *ctx, long n) {
  make_call *m = ctx;
  double t0 = rounds_now_ns();
  for (long i = 0; i < n; i++) {
    shmbuf_buf *b;
    int rc = make_one(m, &b);
    if (rc < 0)
      return rc;
    shmbuf_release(b);
  }
  return rounds_now_ns() - t0;
}
