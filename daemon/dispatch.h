/* SPDX-License-Identifier: MIT */
/* One request in, one reply out; one batch frame in, its Made and Reply frames out.
 * Validates arguments the way Node validates them, asks the
 * connection's session for memory, writes buffer contents through segment calls, and builds
 * the reply, with an fd of the peer's own for a slab it has not seen yet. Bulk work — reserving,
 * filling or copying more than a slice of memory — is not done here and now but handed back as
 * a job, which the caller runs slice by slice (dispatch_job_run()) while it serves others,
 * holding the reply until the job is done. No sockets, no libuv; memory policy lives in the
 * session. */
#ifndef SBD_DISPATCH_H
#define SBD_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "frame.h"
#include "node.h"
#include "session.h"
#include "share.h"
#include "shmbuf.pb-c.h"

/* One row of a list of connections being answered: the message and the name it points to. */
typedef struct dispatch_client_row {
  Shmbufwire__ClientInfo info;
  char command[16];   /* the kernel's TASK_COMM_LEN */
} dispatch_client_row;

/* What every request is handled with: the books (limits and totals) and the scratch space of
 * the one request being handled. */
typedef struct dispatcher {
  session_books *books;
  share_registry *shares;
  uint64_t now_ms;    /* the time requests are handled at (its owner's clock, kept current) */
  uint64_t started_ms; /* when the daemon started serving, on the same clock (for uptime) */
  sb_arena arena;     /* what the request being handled unpacks into */
  uint8_t *scratch;   /* encode buffer, kept between requests while small */
  size_t cap_scratch;
  Shmbufwire__ShareInfo *infos; /* a list of shares being answered */
  Shmbufwire__ShareInfo **info_ptrs;
  size_t ninfos, cap_infos;
  dispatch_client_row *rows; /* a list of connections being answered */
  Shmbufwire__ClientInfo **row_ptrs;
  size_t cap_rows;
  uint32_t *retired;  /* slabs a batch's frames told the peer about */
  size_t nretired, cap_retired;
} dispatcher;

#define DISPATCH_MAX_COUNTERS 32

/* Bulk work a request left to do before its reply may go: first reserve [dst_off, dst_off +
 * reserve) of a new ArrayBuffer's own segment, then fill or copy `len` bytes into it. The fds
 * belong to the session's segments, which live as long as the request's connection. */
typedef enum dispatch_job_kind {
  DISPATCH_JOB_NONE,
  DISPATCH_JOB_RESERVE, /* reserve only (an allocation zeroed by being fresh) */
  DISPATCH_JOB_FILL,    /* then repeat pattern over len bytes */
  DISPATCH_JOB_COPY,    /* then copy len bytes from (src, src_off) */
} dispatch_job_kind;

typedef struct dispatch_job {
  dispatch_job_kind kind;
  share_object *seal;   /* sealed once filled */
  uint64_t request;     /* the request's id, for the error reply if the job fails */
  uint64_t buffer;      /* the buffer it makes, given back if the job fails */
  int dst, src;
  uint64_t dst_off, src_off;
  uint64_t reserve, reserved;
  uint64_t len, done;
  uint8_t *pattern;     /* FILL: owned */
  size_t npattern;
} dispatch_job;

/* A reply ready to pack; valid until the dispatcher handles the next request. */
typedef struct dispatch_reply {
  Shmbufwire__Reply msg;
  union {
    Shmbufwire__Welcome welcome;
    Shmbufwire__Buffer buffer;
    Shmbufwire__Error error;
    Shmbufwire__Released released;
    Shmbufwire__StatsReply stats;
    Shmbufwire__Shared shared;
    Shmbufwire__Done done;
    Shmbufwire__ShareList shares;
    Shmbufwire__ClientList clients;
  } u;
  Shmbufwire__Buffer buffer; /* a Shared reply's */
  char token[SHARE_TOKEN_LEN + 1];
  sb_error err;
  Shmbufwire__Counter counters[DISPATCH_MAX_COUNTERS];
  Shmbufwire__Counter *counter_ptrs[DISPATCH_MAX_COUNTERS];
  int fd;           /* -1, or an fd for the peer (its own, owned by the reply): send it with it */
  bool close;       /* the connection ends after this reply */
  dispatch_job job; /* kind NONE, or the work to finish before the reply goes (owned) */
} dispatch_reply;

/* Sets up the dispatcher for sessions that report to `books`, with their shares in `shares`. */
void dispatch_init(dispatcher *d, session_books *books, share_registry *shares);

/* Frees what the dispatcher keeps between requests. */
void dispatch_fini(dispatcher *d);

/* Handles one frame's payload into *r (which must be zeroed before its first use). Sets
 * r->close for violations that end the connection (no handshake, undecodable frame, wrong
 * version), and r->job for bulk work still to do. The frame limit the request is held to is
 * the caller's business; decoding never takes more than a few times the payload's size. */
void dispatch_handle(dispatcher *d, conn_session *s, const uint8_t *payload, size_t len,
                     dispatch_reply *r);

/* What a batch frame leaves to send: its answer, packed at the end of the caller's bytes
 * (Made frames, and a Reply for each creation that failed), and the peer's fds for the new
 * slabs the answer announces, each to ride with the frame that starts `at` bytes into the
 * caller's bytes (the fds are the caller's to send or close). */
typedef struct dispatch_batch_fd {
  size_t at;
  int fd;
  uint32_t slab;
} dispatch_batch_fd;

typedef struct dispatch_batch_out {
  size_t nfds;
  dispatch_batch_fd fds[SB_BATCH_MAX];
  const uint32_t *retired; /* the slabs the answer says are destroyed (valid until the next
                            * frame is handled) */
  size_t nretired;
  bool close;              /* the connection ends after the answer (a batch before hello) */
  uint64_t made_bytes;     /* what its creations asked for: the work it stands for */
} dispatch_batch_out;

/* Handles one batch frame's payload (a Batch), appending its answer to `out`. Returns 0;
 * -EPROTO when the payload is not a valid batch (nothing was done or appended: the caller
 * sends a notice and closes); or -ENOMEM when the answer could not be appended (the caller
 * closes; the fds were closed). */
int dispatch_batch(dispatcher *d, conn_session *s, const uint8_t *payload, size_t len,
                   sb_bytes *out, dispatch_batch_out *o);

/* A notice that is not an answer to any request (id 0), for framing violations and refused
 * connections; r->close is set. */
void dispatch_notice(dispatch_reply *r, int errnum, const char *code, const char *message);

/* Does up to `budget` bytes of a job's work. Returns 1 when it is done (the held reply may
 * go), 0 when there is more, or a negative errno when it failed: the buffer is given back and
 * *r is the error reply to send instead (its fd is -1). */
int dispatch_job_run(dispatcher *d, conn_session *s, dispatch_job *j, uint64_t budget,
                     dispatch_reply *r);

/* Frees a job's own memory (the session it works for may be gone). */
void dispatch_job_drop(dispatch_job *j);

#endif
