/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "echo.h"

static const uint8_t zeros[ECHO_REPLY * 4096];

const raw_proto echo_proto = {"Unix socket echo", zeros, ECHO_REQUEST, zeros, ECHO_REPLY};

/* One epoll loop; per connection, only how many bytes of a partial frame it has sent. */
static void serve(void *arg) {
  int l = *(int *)arg, ep = epoll_create1(0);
  struct epoll_event e = {.events = EPOLLIN, .data.u64 = (uint64_t)l}, ev[64];
  static uint8_t in[ECHO_REQUEST * 4096];
  static uint8_t partial[65536];
  epoll_ctl(ep, EPOLL_CTL_ADD, l, &e);
  for (;;) {
    int m = epoll_wait(ep, ev, 64, -1);
    for (int j = 0; j < m; j++) {
      int fd = (int)ev[j].data.u64;
      if (fd == l) {
        int c = accept(l, NULL, NULL);
        if (c >= 0 && c < (int)sizeof partial) {
          struct epoll_event ce = {.events = EPOLLIN, .data.u64 = (uint64_t)c};
          partial[c] = 0;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
        }
        else if (c >= 0)
          close(c);
        continue;
      }
      ssize_t n = read(fd, in, sizeof in);
      if (n <= 0) {
        close(fd);
        continue;
      }
      size_t have = partial[fd] + (size_t)n, frames = have / ECHO_REQUEST;
      partial[fd] = (uint8_t)(have % ECHO_REQUEST);
      if (frames && write(fd, zeros, frames * ECHO_REPLY) < 0)
        close(fd);
    }
  }
}

int echo_start(proc_server *s, const char *socket_path) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  *s = (proc_server){0, ""};
  if (strlen(socket_path) >= sizeof a.sun_path)
    return -ENAMETOOLONG;
  snprintf(s->path, sizeof s->path, "%s", socket_path);
  memcpy(a.sun_path, socket_path, strlen(socket_path) + 1);
  int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l < 0)
    return -errno;
  if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 4096) < 0) {
    int e = -errno;
    close(l);
    return e;
  }
  pid_t pid = proc_fork(serve, &l);
  close(l);
  if (pid < 0)
    return (int)pid;
  s->pid = pid;
  return 0;
}
