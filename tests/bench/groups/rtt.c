/* SPDX-License-Identifier: MIT */
/* Requests that cross the socket: a thin client's allocUnsafe(16) + release, one blocking
 * client, against the raw Unix-socket echo (the floor), a Redis GET and a memcached mg of a
 * 16-byte value; then RAW_DEPTH of them pipelined, with and without their releases, against
 * as many echo frames, GETs and mgs written at once. The peers are driven by raw clients
 * that cost next to nothing; shmbuf by libshmbuf, as a program would. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "groups.h"
#include "raw.h"
#include "rounds.h"
#include "shmbuf.h"

typedef struct thin {
  shmbuf_client *c;
  shmbuf_buf **kept; /* the pipelined buffers of one sample */
  long cap;
  bool release;      /* release each batch inside the timed part */
} thin;

static double thin_rtt(void *ctx, long n) {
  thin *t = ctx;
  double t0 = rounds_now_ns();
  for (long i = 0; i < n; i++) {
    shmbuf_buf *b;
    int rc = shmbuf_alloc_unsafe(t->c, 16, &b);
    if (rc < 0)
      return rc;
    shmbuf_release(b);
  }
  return rounds_now_ns() - t0;
}

static void keep(shmbuf_client *c, int status, shmbuf_buf *buf, void *arg) {
  (void)c;
  *(shmbuf_buf **)arg = status < 0 ? NULL : buf;
}

static double thin_pipelined(void *ctx, long n) {
  thin *t = ctx;
  int rc = 0;
  if (n > t->cap) {
    shmbuf_buf **k = realloc(t->kept, (size_t)n * sizeof *k);
    if (k == NULL)
      return -ENOMEM;
    t->kept = k;
    t->cap = n;
  }
  double t0 = rounds_now_ns();
  for (long i = 0; i < n && rc == 0; i += RAW_DEPTH) {
    for (long k = i; k < i + RAW_DEPTH && rc == 0; k++)
      rc = shmbuf_submit_alloc_unsafe(t->c, 16, keep, &t->kept[k]);
    if (rc == 0)
      rc = shmbuf_wait(t->c);
    for (long k = i; k < i + RAW_DEPTH && t->release; k++)
      shmbuf_release(t->kept[k]);
  }
  double elapsed = rounds_now_ns() - t0;
  for (long k = 0; k < n && !t->release; k++)
    shmbuf_release(t->kept[k]);
  int drained = shmbuf_wait(t->c); /* the releases' answers, outside the clock */
  return rc < 0 ? rc : drained < 0 ? drained : elapsed;
}

/* Contenders: shmbuf's cases first (ncases of them), then each running peer; rows: each case
 * against each peer, then each peer but the first (the echo floor) against the first. */
static int compare(const group_env *env, const char *const *names, rounds_fn fn, thin *cases,
                   int ncases, rounds_fn peer_fn, raw_conn *conns, long batch) {
  rounds *r = rounds_new(env->rounds, env->sample_ns);
  if (r == NULL)
    return -ENOMEM;
  for (int i = 0; i < ncases; i++)
    rounds_add(r, names[i], fn, &cases[i], batch, 0);
  for (int p = 0; p < env->npeers; p++)
    rounds_add(r, names[ncases + p], peer_fn, &conns[p], batch, 0);
  int rc = rounds_run(r);
  for (int i = 0; i < ncases && rc == 0; i++)
    for (int p = 0; p < env->npeers; p++)
      report_row(env->rep, "rtt", r, i, ncases + p);
  for (int p = 1; p < env->npeers && rc == 0; p++)
    report_row(env->rep, "rtt", r, ncases + p, ncases);
  rounds_free(r);
  return rc;
}

static int run(const group_env *env) {
  raw_conn conns[3];
  thin t[2] = {{NULL, NULL, 0, false}, {NULL, NULL, 0, true}};
  int rc = 0, opened = 0;
  for (; opened < env->npeers && rc == 0; opened++)
    rc = raw_open(&conns[opened], env->peers[opened].path, env->peers[opened].proto);
  if (rc == 0)
    rc = shmbuf_connect_ex(env->daemon->path, SHMBUF_THIN, &t[0].c);
  if (rc == 0) {
    t[1].c = t[0].c;
    const char *single[4] = {"thin allocUnsafe(16)+release"}, *piped[5] = {
        "64 thin allocUnsafe(16) pipelined", "64 thin allocUnsafe(16)+release pipelined"};
    char many[3][64];
    for (int p = 0; p < env->npeers; p++) {
      single[1 + p] = env->peers[p].proto->name;
      snprintf(many[p], sizeof many[p], "64 %s pipelined", env->peers[p].proto->name);
      piped[2 + p] = many[p];
    }
    rc = compare(env, single, thin_rtt, t, 1, raw_rtt, conns, 1);
    if (rc == 0)
      rc = compare(env, piped, thin_pipelined, t, 2, raw_pipelined, conns, RAW_DEPTH);
  }
  shmbuf_close(t[0].c);
  free(t[0].kept);
  free(t[1].kept);
  while (opened-- > 0)
    raw_close(&conns[opened]);
  return rc;
}

const group group_rtt = {
    "rtt", "requests over the socket: thin shmbuf against the echo floor, Redis and memcached",
    true, run};
