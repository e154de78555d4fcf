/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nodejs.h"

int nodejs_start(nodejs_peer *n, const char *script) {
  int to[2], from[2];
  const char *bin = getenv("NODE") ? getenv("NODE") : "node";
  *n = (nodejs_peer){0, NULL, NULL, ""};
  if (pipe2(to, O_CLOEXEC) < 0)
    return -errno;
  if (pipe2(from, O_CLOEXEC) < 0) {
    int e = -errno;
    close(to[0]), close(to[1]);
    return e;
  }
  pid_t parent = getpid(), pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent || dup2(to[0], 0) < 0 || dup2(from[1], 1) < 0)
      _exit(126);
    execlp(bin, bin, script, (char *)NULL);
    _exit(127);
  }
  close(to[0]);
  close(from[1]);
  n->to = fdopen(to[1], "w");
  n->from = fdopen(from[0], "r");
  n->pid = pid;
  if (pid < 0 || n->to == NULL || n->from == NULL ||
      fscanf(n->from, "ready %31s", n->version) != 1) {
    nodejs_stop(n);
    return pid < 0 ? -errno : -ENOENT;
  }
  return 0;
}

void nodejs_stop(nodejs_peer *n) {
  if (n->to)
    fclose(n->to); /* node exits at the end of its input */
  if (n->from)
    fclose(n->from);
  if (n->pid > 0)
    waitpid(n->pid, NULL, 0);
  *n = (nodejs_peer){0, NULL, NULL, ""};
}

double nodejs_run(void *ctx, long n) {
  const nodejs_call *c = ctx;
  double ns;
  fprintf(c->node->to, "%s %ld %ld\n", c->api, c->size, n);
  fflush(c->node->to);
  if (fscanf(c->node->from, "%lf", &ns) != 1 || ns < 0)
    return -EPROTO;
  return ns;
}
