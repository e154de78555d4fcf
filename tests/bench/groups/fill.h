/* SPDX-License-Identifier: MIT */
/* Live buffers held on purpose: a thin client pipelines alloc(16) requests until it holds
 * as many as asked, for the cases that measure the daemon beside many live buffers. */
#ifndef BENCH_FILL_H
#define BENCH_FILL_H

#include "shmbuf.h"

typedef struct fill {
  shmbuf_client *c;
  shmbuf_buf **bufs;
  long n;
} fill;

/* Connects a thin client to path. Returns 0 or a negative errno. */
int fill_open(fill *f, const char *path);

/* Makes the client hold `live` alloc(16) buffers in all (more than it holds). Returns 0 or
 * a negative errno. */
int fill_to(fill *f, long live);

/* Releases them and closes the client. */
void fill_close(fill *f);

#endif
