/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>

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
  shmbuf_stats *stats;
  int rc = shmbuf_connect(s->path, &c);
  if (rc < 0)
    return rc;
  if ((rc = shmbuf_stats_get(c, &stats)) == 0) {
    rc = shmbuf_stats_find(stats, name, out);
    shmbuf_stats_free(stats);
  }
  shmbuf_close(c);
  return rc;
}
