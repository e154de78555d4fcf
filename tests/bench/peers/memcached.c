/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "memcached.h"

#define VALUE "0123456789abcdef"

static const char mg[] = "mg k v\r\n";
static const char value[] = "VA 16\r\n" VALUE "\r\n";
const raw_proto memcached_mg = {"memcached mg", mg, sizeof mg - 1, value, sizeof value - 1};

static size_t make_ms(long i, char *buf) {
  return (size_t)sprintf(buf, "ms k%07ld 16\r\n" VALUE "\r\n", i);
}

int memcached_fill(const proc_server *s, long n) {
  return raw_send_many(s->path, make_ms, n, 4); /* each answered "HD\r\n" */
}

int memcached_start(proc_server *s, const char *dir, const char *name, long conns) {
  char sock[512], log[512], c[32];
  snprintf(c, sizeof c, "%ld", conns);
  snprintf(sock, sizeof sock, "%s/%s.sock", dir, name);
  snprintf(log, sizeof log, "%s/%s.log", dir, name);
  /* memcached refuses to run as root unless told which user to be */
  char *argv[] = {"memcached", "-s", sock, "-a", "0700", "-t", "1", "-c", c, "-m", "4096",
                  geteuid() == 0 ? "-u" : NULL, "root", NULL};
  return raw_start(s, argv, sock, log, "ms k 16\r\n" VALUE "\r\n", "HD\r\n");
}

void memcached_version(char *out, size_t cap) {
  char line[256];
  const char *v = proc_first_line("memcached -V", line, sizeof line) ? strchr(line, ' ') : NULL;
  snprintf(out, cap, "%s", v ? v + 1 : "");
}
