/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "rounds.h"

#define ROUNDS_MAX_CONTENDERS 16
#define ROUNDS_MAX_ROUNDS 64

typedef struct contender {
  const char *name;
  rounds_fn fn;
  void *ctx;
  long batch, n;
  double bytes;
  double ns[ROUNDS_MAX_ROUNDS]; /* per operation, one per round */
} contender;

struct rounds {
  int nrounds, count, ran;
  double sample_ns;
  contender c[ROUNDS_MAX_CONTENDERS];
};

double rounds_now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

rounds *rounds_new(int nrounds, double sample_ns) {
  rounds *r = calloc(1, sizeof *r);
  if (r == NULL)
    return NULL;
  r->nrounds = nrounds < 1 ? 1 : nrounds > ROUNDS_MAX_ROUNDS ? ROUNDS_MAX_ROUNDS : nrounds;
  r->sample_ns = sample_ns;
  return r;
}

void rounds_free(rounds *r) { free(r); }

int rounds_add(rounds *r, const char *name, rounds_fn fn, void *ctx, long batch,
               double bytes_per_op) {
  if (r->count == ROUNDS_MAX_CONTENDERS)
    return -ENOSPC;
  r->c[r->count] = (contender){name, fn, ctx, batch < 1 ? 1 : batch, 0, bytes_per_op, {0}};
  return r->count++;
}

/* Doubles n from one batch until a run takes a quarter of a sample (which also warms up
 * caches, the JIT of a Node peer, and the servers' buffers), then scales it to a sample. */
static int calibrate(rounds *r, contender *c) {
  long n = c->batch;
  double t;
  for (;;) {
    if ((t = c->fn(c->ctx, n)) < 0)
      return (int)t;
    if (t >= r->sample_ns / 4 || n >= (1L << 40) / c->batch)
      break;
    n *= 2;
  }
  double want = (double)n * r->sample_ns / (t > 1 ? t : 1);
  long batches = (long)(want / (double)c->batch);
  c->n = (batches < 1 ? 1 : batches) * c->batch;
  return 0;
}

int rounds_run(rounds *r) {
  int rc;
  r->ran = 0;
  for (int i = 0; i < r->count; i++)
    if ((rc = calibrate(r, &r->c[i])) < 0)
      return rc;
  for (int round = 0; round < r->nrounds; round++) {
    for (int k = 0; k < r->count; k++) {
      contender *c = &r->c[(round + k) % r->count];
      double t = c->fn(c->ctx, c->n);
      if (t < 0)
        return (int)t;
      c->ns[round] = t / (double)c->n;
    }
    r->ran = round + 1;
  }
  return 0;
}

int rounds_count(const rounds *r) { return r->ran; }
const double *rounds_ns(const rounds *r, int i) { return r->c[i].ns; }
const char *rounds_name(const rounds *r, int i) { return r->c[i].name; }
double rounds_bytes(const rounds *r, int i) { return r->c[i].bytes; }
