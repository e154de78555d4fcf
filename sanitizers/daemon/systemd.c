/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "systemd.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"

#define STATUS_MS 5000

/* The path an inherited socket is bound to, for messages: systemd chose it, not our settings. */
static void socket_path(int fd, char *out, size_t cap) {
  struct sockaddr_un a = {0};
  socklen_t len = sizeof a;
  const socklen_t head = offsetof(struct sockaddr_un, sun_path);
  if (getsockname(fd, (struct sockaddr *)&a, &len) == 0 && len > head && a.sun_path[0])
    snprintf(out, cap, "%.*s", (int)(len - head), a.sun_path);
  else
    snprintf(out, cap, "the socket systemd passed");
}

/* What is wrong with an inherited fd for listening on, or NULL: a clear startup error beats
 * a loop that fails on its first accept. */
static const char *wrong_kind(int fd) {
  if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0)
    return NULL;
  if (sd_is_socket(fd, AF_UNSPEC, 0, -1) <= 0)
    return "not a socket";
  if (sd_is_socket(fd, AF_UNIX, 0, -1) <= 0)
    return "not a Unix socket";
  if (sd_is_socket(fd, AF_UNIX, SOCK_STREAM, -1) <= 0)
    return "not a stream socket";
  return "not listening";
}

int systemd_listen_fd(int *fd, char *path, size_t cap) {
  *fd = -1;
  int n = sd_listen_fds(1);
  if (n < 0) {
    log_err("LISTEN_FDS: %s", strerror(-n));
    return n;
  }
  if (n == 0)
    return 0;
  if (n > 1) {
    log_err("systemd passed %d sockets; shmbufd takes exactly one Unix stream socket", n);
    return -EINVAL;
  }
  int fd0 = SD_LISTEN_FDS_START;
  const char *problem = wrong_kind(fd0);
  if (problem) {
    log_err("the socket systemd passed (fd %d) is %s; shmbufd takes one listening Unix stream "
            "socket", fd0, problem);
    return -EINVAL;
  }
  *fd = fd0;
  socket_path(fd0, path, cap);
  return 0;
}

static void status_line(const session_books *b, char *out, size_t cap) {
  const session_totals *t = &b->t;
  snprintf(out, cap,
           "STATUS=%llu connections, %llu buffers, %llu bytes in %llu slabs, %.1f MiB reserved",
           (unsigned long long)t->connections, (unsigned long long)t->buffers,
           (unsigned long long)t->bytes, (unsigned long long)t->slabs,
           (double)t->reserved / (1024.0 * 1024.0));
}

static void on_status(uv_timer_t *t) {
  systemd_notifier *n = t->data;
  char line[sizeof n->last];
  status_line(n->books, line, sizeof line);
  if (strcmp(line, n->last) != 0) {
    memcpy(n->last, line, sizeof line);
    sd_notify(0, line);
  }
}

static void on_watchdog(uv_timer_t *t) {
  (void)t;
  sd_notify(0, "WATCHDOG=1");
}

void systemd_ready(systemd_notifier *n, uv_loop_t *loop, const session_books *books, const char *where) {
  memset(n, 0, sizeof *n);
  n->books = books;
  status_line(books, n->last, sizeof n->last);
  char msg[sizeof n->last + 64];
  snprintf(msg, sizeof msg, "READY=1\n%s, on %s", n->last, where);
  sd_notify(0, msg);
  uv_timer_init(loop, &n->status);
  n->status.data = n;
  uv_timer_start(&n->status, on_status, STATUS_MS, STATUS_MS);
  uv_unref((uv_handle_t *)&n->status);
  n->open = 1;
  uint64_t usec;
  if (sd_watchdog_enabled(0, &usec) > 0) {
    uint64_t ms = usec / 2000;
    uv_timer_init(loop, &n->watchdog);
    uv_timer_start(&n->watchdog, on_watchdog, 0, ms ? ms : 1);
    uv_unref((uv_handle_t *)&n->watchdog);
    n->open = 2;
    log_info("watchdog: pinging every %llu ms", (unsigned long long)(ms ? ms : 1));
  }
}

void systemd_reloading(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  char msg[96];
  snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
           (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
  sd_notify(0, msg);
}

void systemd_reloaded(systemd_notifier *n) {
  char msg[sizeof n->last + 16];
  status_line(n->books, n->last, sizeof n->last);
  snprintf(msg, sizeof msg, "READY=1\n%s", n->last);
  sd_notify(0, msg);
}

void systemd_stopping(systemd_notifier *n) {
  sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
  if (n->open >= 1)
    uv_close((uv_handle_t *)&n->status, NULL);
  if (n->open >= 2)
    uv_close((uv_handle_t *)&n->watchdog, NULL);
  n->open = 0;
}
