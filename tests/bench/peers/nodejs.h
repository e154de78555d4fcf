/* SPDX-License-Identifier: MIT */
/* Node as the in-process peer: `node` (or $NODE) running node-peer.js as a coprocess that
 * times Node's own Buffer calls on request, so that they can be interleaved round by round
 * with the same calls made through libshmbuf. */
#ifndef BENCH_NODEJS_H
#define BENCH_NODEJS_H

#include <stdio.h>
#include <sys/types.h>

typedef struct nodejs_peer {
  pid_t pid;
  FILE *to, *from;
  char version[32]; /* "v20.20.2" */
} nodejs_peer;

/* One Node call to time: Buffer.<api>(size) (api as node-peer.js names it). */
typedef struct nodejs_call {
  nodejs_peer *node;
  const char *api;
  long size;
} nodejs_call;

/* Starts node on script. Returns 0, -ENOENT when node is not installed, or another negative
 * errno. */
int nodejs_start(nodejs_peer *n, const char *script);
void nodejs_stop(nodejs_peer *n);

/* rounds_fn (ctx: a nodejs_call): the nanoseconds n calls took inside Node. */
double nodejs_run(void *ctx, long n);

#endif
