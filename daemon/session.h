/* SPDX-License-Identifier: MIT */
/* One connection's account with the daemon, and the daemon-wide books every account adds to.
 * A session holds the connection's heap of Node buffers and decides what memory it may have:
 * each reservation its slabs ask for is charged here against the connection's quota and the
 * global cap, and each slab it destroys is retired here so the peer can be told to unmap it.
 * The books keep the limits (a reload changes them in place) and the totals that stats and
 * systemd's status line report.
 *
 * No I/O beyond what the heap's slab backend does (segment.h), no protocol, no sockets. */
#ifndef SBD_SESSION_H
#define SBD_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"

/* Limits that apply to sessions; read when a session starts, except max_memory, read on each
 * reservation (so a reload applies at once). */
typedef struct session_limits {
  uint32_t pool_size;
  uint32_t max_frame;
  uint64_t max_memory;       /* bytes reserved in shm, all sessions together; 0: no cap */
  uint64_t conn_max_bytes;   /* bytes reserved by one session; 0: no cap */
  uint64_t conn_max_buffers; /* live buffers of one session; 0: no cap */
  uint64_t warm_bytes;       /* freed memory a session keeps reserved for reuse */
} session_limits;

/* Daemon-wide gauges and counters, kept up to date by the sessions. */
typedef struct session_totals {
  uint64_t connections, connections_total, refused_total;
  uint64_t buffers, bytes, pools, slabs, reserved, warm;
  uint64_t requests_total, errors_total, enospc_total;
} session_totals;

typedef struct session_books {
  session_limits limits;
  session_totals t;
} session_books;

typedef struct conn_session {
  session_books *books;
  buffer_heap heap;
  uint32_t pool_size;  /* Buffer.poolSize, fixed when the session starts */
  bool greeted;        /* the handshake is done */
  uint32_t *retired;   /* announced slabs destroyed since the peer was last told */
  size_t nretired, cap_retired;
  bool retired_told;   /* the last reply told the peer about them */
} conn_session;

/* Starts a session (one connection) and counts it. */
void session_init(conn_session *s, session_books *b);

/* Ends a session: frees everything it holds and takes it out of the totals. `punch` as in
 * slab_owner_fini(). */
void session_fini(conn_session *s, bool punch);

/* What a session adds to the totals; taken before a request and applied after it, so the
 * heap's own counters are not mirrored call by call. */
typedef struct session_tally {
  uint64_t buffers, bytes, pools, slabs, warm;
} session_tally;

session_tally session_tally_of(const conn_session *s);

/* Adds to the books what the session changed since `before`. */
void session_account(conn_session *s, session_tally before);

/* Whether the session holds as many buffers as it may. */
bool session_at_buffer_cap(const conn_session *s);

/* The slabs retired since the peer was last told (*n of them), for a reply that tells it now:
 * the list stays valid until session_request_starts(). */
uint32_t *session_retired_tell(conn_session *s, size_t *n);

/* A new request begins: what the last reply told is forgotten. */
void session_request_starts(conn_session *s);

#endif
