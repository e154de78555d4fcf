/* SPDX-License-Identifier: MIT */
/* Every Buffer creation API through the default client (small ones carved from leased pools
 * in the process, bigger ones from the daemon or from kept ArrayBuffers), created and
 * released, against the same call in Node with the reference dropped, at sizes from 16 B to
 * 1 MiB. */
#include "config.h"

#include <stdio.h>

#include "groups.h"
#include "make.h"
#include "rounds.h"

static const long sizes[] = {16, 256, 4096, 64 << 10, 1 << 20};

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
      char ours[64], theirs[64];
      make_call m;
      nodejs_call nc = {env->node, make_node_api((make_api)api), sizes[s]};
      if ((rc = make_prepare(&m, c, (make_api)api, sizes[s], 0)) < 0)
        break;
      snprintf(ours, sizeof ours, "%s(%ld)+release", make_api_name((make_api)api), sizes[s]);
      snprintf(theirs, sizeof theirs, "Node %s(%ld)", make_api_name((make_api)api), sizes[s]);
      rounds *r = rounds_new(env->rounds, env->sample_ns);
      int a = rounds_add(r, ours, make_release, &m, 1, 0);
      int b = rounds_add(r, theirs, nodejs_run, &nc, 1, 0);
      if ((rc = rounds_run(r)) == 0)
        report_row(env->rep, "node", r, a, b);
      rounds_free(r);
      make_done(&m);
    }
  shmbuf_close(c);
  return rc;
}

const group group_node_api = {
    "node", "every creation API through the default client against Node's own call", true, run};
