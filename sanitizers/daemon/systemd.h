/* SPDX-License-Identifier: MIT */
/* systemd glue: socket activation, readiness, status, stopping and the watchdog. Without
 * systemd (no LISTEN_FDS, no NOTIFY_SOCKET, no WATCHDOG_USEC) each call does nothing. */
#ifndef SBD_SYSTEMD_H
#define SBD_SYSTEMD_H

#include <uv.h>

#include "session.h"

typedef struct systemd_notifier {
  uv_timer_t status;   /* STATUS= refresh, every few seconds at most */
  uv_timer_t watchdog; /* WATCHDOG=1 at half of WATCHDOG_USEC, from the loop itself */
  const session_books *books;
  char last[256];
  int open;
} systemd_notifier;

/* The listening socket systemd passed, checked to be one Unix stream socket that listens.
 * Returns 0 with *fd = -1 when none was passed, 0 with the fd and the path it is bound to (for
 * messages) in path, or -EINVAL (more than one fd, or the wrong kind), with the reason logged.
 * LISTEN_* are unset either way, so nothing the daemon starts inherits them. */
int systemd_listen_fd(int *fd, char *path, size_t cap);

/* Says READY=1 with a first STATUS=, and starts the status and watchdog timers. */
void systemd_ready(systemd_notifier *n, uv_loop_t *loop, const session_books *books, const char *where);

/* RELOADING=1 ... READY=1 around a configuration reload. */
void systemd_reloading(void);
void systemd_reloaded(systemd_notifier *n);

/* Says STOPPING=1 and closes the timers. */
void systemd_stopping(systemd_notifier *n);

#endif
