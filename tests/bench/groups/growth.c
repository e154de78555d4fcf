/* SPDX-License-Identifier: MIT */
/* Whether a request's cost grows with what the daemon holds: RAW_DEPTH pipelined thin
 * alloc(16) + release on connections that hold 1k, 10k, 100k and 1M live buffers, against
 * the same on the one that holds 1k, interleaved round by round. */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "fill.h"
#include "groups.h"
#include "raw.h"
#include "rounds.h"

static const long lives[] = {1000, 10000, 100000, 1000000};
#define NLIVES (int)(sizeof lives / sizeof lives[0])

static void keep(shmbuf_client *c, int status, shmbuf_buf *buf, void *arg) {
  (void)c;
  *(shmbuf_buf **)arg = status < 0 ? NULL : buf;
}

static double churn(void *ctx, long n) {
  shmbuf_client *c = ((fill *)ctx)->c;
  shmbuf_buf *b[RAW_DEPTH] = {0};
  int rc = 0;
  double t0 = rounds_now_ns();
  for (long i = 0; i < n && rc == 0; i += RAW_DEPTH) {
    for (int k = 0; k < RAW_DEPTH && rc == 0; k++)
      rc = shmbuf_submit_alloc(c, 16, keep, &b[k]);
    if (rc == 0)
      rc = shmbuf_wait(c);
    for (int k = 0; k < RAW_DEPTH; k++)
      shmbuf_release(b[k]), b[k] = NULL;
  }
  if (rc == 0)
    rc = shmbuf_wait(c);
  return rc < 0 ? rc : rounds_now_ns() - t0;
}

static int run(const group_env *env) {
  fill f[NLIVES];
  char names[NLIVES][64];
  int n = env->quick ? NLIVES - 1 : NLIVES, opened = 0, rc = 0;
  rounds *r = rounds_new(env->rounds, env->sample_ns);
  if (r == NULL)
    return -ENOMEM;
  for (; opened < n && rc == 0; opened++)
    if ((rc = fill_open(&f[opened], env->daemon->path)) == 0 &&
        (rc = fill_to(&f[opened], lives[opened])) == 0) {
      snprintf(names[opened], sizeof names[opened],
               "64 alloc(16)+release pipelined, %ld live", lives[opened]);
      rounds_add(r, names[opened], churn, &f[opened], RAW_DEPTH, 0);
    }
  if (rc == 0 && (rc = rounds_run(r)) == 0)
    for (int i = 1; i < n; i++)
      report_row(env->rep, "growth", r, i, 0);
  rounds_free(r);
  while (opened-- > 0)
    fill_close(&f[opened]);
  return rc;
}

const group group_growth = {"growth", "request cost beside 1k .. 1M live buffers", false, run};
