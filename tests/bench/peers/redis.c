/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "redis.h"

#define VALUE "0123456789abcdef"

static const char get[] = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
static const char value[] = "$16\r\n" VALUE "\r\n";
const raw_proto redis_get = {"Redis GET", get, sizeof get - 1, value, sizeof value - 1};

static size_t make_set(long i, char *buf) {
  return (size_t)sprintf(buf, "*3\r\n$3\r\nSET\r\n$8\r\nk%07ld\r\n$16\r\n" VALUE "\r\n",
                         i);
}

int redis_fill(const proc_server *s, long n) {
  return raw_send_many(s->path, make_set, n, 5); /* each answered "+OK\r\n" */
}

int redis_start(proc_server *s, const char *dir, const char *name) {
  char sock[512], log[512];
  snprintf(sock, sizeof sock, "%s/%s.sock", dir, name);
  snprintf(log, sizeof log, "%s/%s.log", dir, name);
  char *argv[] = {"redis-server", "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
                  "--save", "", "--appendonly", "no", "--maxclients", "10000", "--logfile", "",
                  NULL};
  return raw_start(s, argv, sock, log, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$16\r\n" VALUE "\r\n",
                   "+OK\r\n");
}

void redis_version(char *out, size_t cap) {
  char line[256];
  const char *v = proc_first_line("redis-server --version", line, sizeof line)
                      ? strstr(line, "v=")
                      : NULL;
  snprintf(out, cap, "%.*s", v ? (int)strcspn(v + 2, " ") : 0, v ? v + 2 : "");
}
