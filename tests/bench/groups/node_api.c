/* SPDX-License-Identifier: MIT */
/* Every Buffer creation API through the default client (small ones carved from leased pools
 * in the process, bigger ones from the daemon or from kept ArrayBuffers), created and
 * released, against the same call in Node with the reference dropped, at sizes from 16 B to
 * 1 MiB; allocUnsafe also against malloc + free of the same size, the C program's floor. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "groups.h"
#include "make.h"
#include "rounds.h"

static const long sizes[] = {16, 256, 4096, 64 << 10, 1 << 20};

static double malloc_free(void *ctx, long n) {
  size_t size = (size_t)*(const long *)ctx;
  double t0 = rounds_now_ns();
  for (long i = 0; i < n; i++) {
    void *volatile p = malloc(size);
    free(p);
  }
  return rounds_now_ns() - t0;
}

static int run(const group_env *env) {
  if (env->node->pid <= 0) {
    report_note(env->rep, "node: not installed, no Node rows");
    return 0;
  }
  shmbuf_client *c;
  int rc = shmbuf_connect(env->daemon->path, &c);
  if (rc < 0)
    return rc;
  for (int api = 0; api < MAKE_API_COUNT && rc == 0; api++)
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0] && rc == 0; s++) {
      char call[48], ours[64], theirs[64], floor[64];
      make_call m;
      nodejs_call nc = {env->node, make_node_api((make_api)api), sizes[s]};
      if ((rc = make_prepare(&m, c, (make_api)api, sizes[s], 0)) < 0)
        break;
      make_label((make_api)api, sizes[s], call, sizeof call);
      snprintf(ours, sizeof ours, "%s+release", call);
      snprintf(theirs, sizeof theirs, "Node Buffer.%s", call);
      rounds *r = rounds_new(env->rounds, env->sample_ns);
      if (r == NULL) {
        make_done(&m);
        rc = -ENOMEM;
        break;
      }
      int a = rounds_add(r, ours, make_release, &m, 1, 0);
      int b = rounds_add(r, theirs, nodejs_run, &nc, 1, 0), f = -1;
      if (api == MAKE_ALLOC_UNSAFE) {
        char n[32];
        make_size(sizes[s], n, sizeof n);
        snprintf(floor, sizeof floor, "malloc(%s)+free", n);
        f = rounds_add(r, floor, malloc_free, (void *)&sizes[s], 1, 0);
      }
      if ((rc = rounds_run(r)) == 0)
        report_row(env->rep, "node", r, a, b);
      if (rc == 0 && f >= 0)
        report_row(env->rep, "node", r, a, f);
      rounds_free(r);
      make_done(&m);
    }
  shmbuf_close(c);
  return rc;
}

const group group_node_api = {
    "node", "every creation API through the default client against Node's own call", true, run};
