/* SPDX-License-Identifier: MIT */
/* One connection's account with the daemon, and the daemon-wide books every account adds to.
 * A session holds the connection's heap of Node buffers and decides what it may have: each
 * buffer, each shared-memory object (an fd in the daemon) and each byte its slabs reserve is
 * admitted here against the connection's limits, its user's and the daemon's, and each slab
 * it destroys is retired here so the peer can be told to unmap it. What the kernel really
 * holds for a session (its slabs' st_blocks, whoever touched them) is measured here too.
 * The books keep the limits (a reload changes them in place), one entry per user with a
 * connection, and the totals that stats and systemd's status line report.
 *
 * No I/O beyond what the heap's slab backend does (segment.h), no protocol, no sockets. */
#ifndef SBD_SESSION_H
#define SBD_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "heap.h"

/* What one buffer's bookkeeping costs the daemon (its slot, its share of the slot blocks and
 * of a pool record), charged like shared memory so that empty buffers are not free. */
#define SESSION_BUFFER_COST 64u

/* Limits that apply to sessions. pool_size and max_frame are read when a session starts
 * (a connection keeps what its welcome said); the others on each admission, so a reload
 * applies at once. 0 means no cap. */
typedef struct session_limits {
  uint32_t pool_size;
  uint32_t max_frame;
  uint64_t max_memory;       /* shared memory and bookkeeping, all sessions together */
  uint64_t conn_max_bytes;   /* the same, one session */
  uint64_t conn_max_buffers; /* live buffers of one session */
  uint32_t conn_max_slabs;   /* shared-memory objects of one session */
  uint64_t user_max_bytes;   /* shared memory and bookkeeping, every session of one uid */
  uint32_t user_max_slabs;   /* shared-memory objects, every session of one uid */
  uint32_t user_max_connections;
  uint64_t warm_bytes;       /* freed memory a session keeps reserved for reuse */
} session_limits;

/* Daemon-wide gauges and counters, kept up to date by the sessions. */
typedef struct session_totals {
  uint64_t connections, connections_total, refused_total;
  uint64_t buffers, bytes, pools, slabs, reserved, warm;
  uint64_t leased;           /* bytes of regions leased to clients, which carve them themselves */
  uint64_t shared;           /* shared objects (their whole size), each charged to one party */
  uint64_t resident;         /* what the kernel holds for all slabs, as last measured */
  uint64_t input;            /* what partly received requests hold (the server's count) */
  uint64_t requests_total, errors_total, enospc_total;
} session_totals;

/* One user's share, across its connections. */
typedef struct session_user {
  uid_t uid;
  uint32_t connections;      /* 0: the entry is free */
  uint32_t slabs;
  uint64_t reserved;         /* shared memory its sessions reserved */
  uint64_t buffers;          /* their live buffers */
  uint64_t shared;           /* shared objects it pays for */
  uint64_t imported;         /* shared objects its sessions map without paying for them */
  uint64_t input;            /* what its connections' partly received requests hold */
} session_user;

typedef struct session_books {
  session_limits limits;
  session_totals t;
  session_user **users;      /* the users with a connection or a charge */
  size_t nusers, cap_users;
  uint32_t input_users;      /* users whose connections hold partly received requests */
  struct conn_session *sessions; /* every live session */
  /* Told when a session stops mapping a shared object through one of its segments (set by
   * the share registry). */
  void (*unshare)(void *registry, void *object, struct conn_session *s, const slab_seg *seg);
  void *registry;
} session_books;

typedef struct conn_session {
  session_books *books;
  session_user *user;
  gid_t gid;           /* the peer's, as it connected */
  pid_t pid;
  bool leaving;        /* its connection is ending: it can take on nothing more */
  buffer_heap heap;
  uint32_t pool_size;  /* Buffer.poolSize, fixed when the session starts */
  uint32_t max_frame;  /* the frame limit its welcome announced (0: no welcome yet) */
  bool greeted;        /* the handshake is done */
  uint64_t greeted_ms; /* when, on the dispatcher's clock */
  uint64_t requests;   /* requests it sent, the hello included */
  uint64_t shared;     /* shared objects it pays for */
  uint64_t imported;   /* shared objects it maps without paying for them */
  uint64_t resident;   /* what the kernel holds for its slabs, as last measured */
  const char *refusal; /* why memory was last refused, for the message */
  char refusal_text[96];
  struct conn_session *prev, *next; /* the books' sessions */
  uint32_t *retired;   /* announced slabs destroyed since the peer was last told */
  size_t nretired, cap_retired;
  bool retired_told;   /* the last reply told the peer about them */
} conn_session;

/* Frees the users' table. */
void session_books_fini(session_books *b);

/* Whether uid holds as many connections as one user may. */
bool session_user_full(const session_books *b, uid_t uid);

/* Starts a session (one connection of uid, gid and pid) and counts it. Returns 0 or -ENOMEM. */
int session_init(conn_session *s, session_books *b, uid_t uid, gid_t gid, pid_t pid);

/* Ends a session: frees everything it holds and takes it out of the totals and its user's
 * share. `punch` as in slab_owner_fini(). */
void session_fini(conn_session *s, bool punch);

/* What a session adds to the totals; taken before a request and applied after it, so the
 * heap's own counters are not mirrored call by call. */
typedef struct session_tally {
  uint64_t buffers, bytes, pools, slabs, warm, leased;
} session_tally;

session_tally session_tally_of(const conn_session *s);

/* Adds to the books what the session changed since `before`. */
void session_account(conn_session *s, session_tally before);

/* Whether one more buffer may be made: 0, or -EDQUOT (this connection's or its user's
 * limits) or -ENOMEM (the daemon's), with the limit that refused it in s->refusal. */
int session_admit_buffer(conn_session *s);

/* Shared objects. Each is charged to exactly one party (see share.h); an object a session
 * maps without paying for it still counts against the session's and its user's limits (so
 * that whoever may come to pay for it can), but not against the daemon's, which counts it
 * once. */

/* Whether the session may take on an object of `bytes` it would pay for (0, or -EDQUOT /
 * -ENOMEM with s->refusal set), or only map (`pay` false: its own limits only). */
int session_admit_shared(conn_session *s, uint64_t bytes, bool pay);

/* The session (or user) starts (bytes > 0) or stops (< 0) paying for an object. */
void session_pay(conn_session *s, int64_t bytes);
void session_user_pay(session_books *b, session_user *u, int64_t bytes);

/* What the session's partly received requests hold (the server's count, which it shares
 * among users) changes by `bytes`. */
void session_input(conn_session *s, int64_t bytes);

/* The session starts (bytes > 0) or stops (< 0) mapping an object it does not pay for. */
void session_import(conn_session *s, int64_t bytes);

/* Measures what the kernel holds for the session's slabs and updates the totals. Returns
 * the bytes touched beyond what the daemon reserved: memory the client took without being
 * given it (0 for every well-behaved client). */
uint64_t session_measure(conn_session *s);

/* Gives back what the session's peer holds in its slabs without having been given it (see
 * slab_punch_holes()), and measures again. Returns what is still held beyond the
 * reservations (0 unless the kernel refused to punch). */
uint64_t session_reclaim(conn_session *s);

/* session_measure() for every session, so the totals say what the kernel holds now. */
void session_measure_all(session_books *b);

/* The slabs retired since the peer was last told (*n of them), for a reply that tells it now:
 * the list stays valid until session_request_starts(). */
uint32_t *session_retired_tell(conn_session *s, size_t *n);

/* A new request begins: what the last reply told is forgotten. */
void session_request_starts(conn_session *s);

#endif
