/* SPDX-License-Identifier: MIT */
/* The socket side of shmbufd: listens on a Unix stream socket, admits peers by their
 * credentials, cuts frames (size checked before buffering), hands each one to dispatch, and
 * writes replies with slab fds attached (SCM_RIGHTS). One libuv loop, one thread.
 *
 * Listening uses a uv_pipe_t (bind, chmod, accept and the pause past max_connections come
 * from libuv). Each accepted socket is then driven by a uv_poll_t with our own
 * recvmsg/sendmsg and buffering, because libuv cannot send shm fds (uv_write2 sends only
 * stream handles).
 *
 * Fairness is the server's: no connection's input, output, fds or work can stall or starve
 * another. Reading stops while a peer's unread replies exceed a high-water mark, while the fds
 * it has not read yet reach a bound, and while its share of the input budget (all partly
 * received frames together) is used up; work is done a bounded amount per connection per loop
 * turn (a bulk job runs in slices, other connections served in between); and peers that never
 * say hello, hold nothing and say nothing, or touch memory they were not given are let go. */
#ifndef SBD_SERVER_H
#define SBD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "dispatch.h"

typedef struct server server;

typedef struct server_options {
  const char *path;            /* socket path to bind; also shown in messages */
  int fd;                      /* an inherited listening socket (socket activation), or -1 */
  unsigned mode;               /* file mode of a socket we bind */
  uint32_t max_connections;    /* past it, stop accepting until one closes; 0: no cap */
  uint32_t frame_timeout_ms;   /* longest a frame may take to arrive, waiting time only; 0: forever */
  uint32_t handshake_timeout_ms; /* longest a new peer may take to say hello; 0: forever */
  uint32_t idle_timeout_ms;    /* a peer that holds nothing and sends nothing this long goes; 0: never */
  uint64_t input_budget;       /* bytes all partly received frames may hold together */
  const uid_t *allow_uids;     /* with allow_gids: when either list is non-empty, only */
  size_t n_allow_uids;         /* these, root and the daemon's own uid get in */
  const gid_t *allow_gids;
  size_t n_allow_gids;
} server_options;

/* Binds (or adopts o->fd) and starts serving on loop. A stale socket file left by a dead
 * instance is replaced; a live instance on the same path is refused with -EADDRINUSE.
 * Returns 0 or a negative errno; a message naming the problem goes to the log. */
int server_start(server **out, uv_loop_t *loop, dispatcher *d, const server_options *o);

/* Applies options that can change at run time (limits and allow-lists; not path or fd).
 * The lists are copied. Returns 0 or -ENOMEM (the old options stay). */
int server_update(server *s, const server_options *o);

/* Stops accepting, answers every request already received, flushes, closes every
 * connection (leaving clients their mappings), then calls done. Connections that cannot
 * be flushed within a few seconds are closed anyway. */
void server_shutdown(server *s, void (*done)(server *s, void *arg), void *arg);

/* Frees a server whose shutdown has completed, removing the socket file it bound (only
 * while that path is still the socket it bound: a successor's is left alone). */
void server_free(server *s);

#endif
