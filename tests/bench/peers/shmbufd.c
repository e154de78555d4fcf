/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "shmbuf.h"
#include "shmbufd.h"

int shmbufd_start(proc_server *s, const char *bin, const char *dir, const char *name) {
  char sock[512], log[512];
  snprintf(sock, sizeof sock, "%s/%s.sock", dir, name);
  snprintf(log, sizeof log, "%s/%s.log", dir, name);
  char *argv[] = {(char *)bin, "--socket", sock, "--config", "/dev/null", "--log-level",
                  "warning", "--max-connections", "4096", "--max-connections-per-user", "4096",
                  "--connection-max-buffers", "4000000", NULL};
  return proc_start(s, argv, sock, log);
}

int shmbufd_counter(const proc_server *s, const char *name, uint64_t *out) {
  shmbuf_client *c;
  shmbuf_counter *v;
  size_t n;
  int rc = shmbuf_connect(s->path, &c);
  if (rc < 0)
    return rc;
  if ((rc = shmbuf_stats(c, &v, &n)) == 0) {
    rc = -ENOENT;
    for (size_t i = 0; i < n; i++)
      if (strcmp(v[i].name, name) == 0) {
        *out = v[i].value;
        rc = 0;
      }
    shmbuf_free(v);
  }
  shmbuf_close(c);
  return rc;
}
