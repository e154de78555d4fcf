/* SPDX-License-Identifier: MIT */
/* One request in, one reply out. Validates arguments the way Node validates them, asks the
 * connection's session for memory, writes buffer contents through segment calls, and builds
 * the reply. No sockets, no libuv; memory policy lives in the session. */
#ifndef SBD_DISPATCH_H
#define SBD_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "node.h"
#include "session.h"
#include "shmbuf.pb-c.h"

/* What every request is handled with: the books (limits and totals) and the scratch space of
 * the one request being handled. */
typedef struct dispatcher {
  session_books *books;
  sb_arena arena;     /* what the request being handled unpacks into */
  uint8_t *scratch;   /* encode buffer, kept between requests while small */
  size_t cap_scratch;
} dispatcher;

#define DISPATCH_MAX_COUNTERS 24

/* A reply ready to pack; valid until the session's next call. */
typedef struct dispatch_reply {
  Shmbufwire__Reply msg;
  union {
    Shmbufwire__Welcome welcome;
    Shmbufwire__Buffer buffer;
    Shmbufwire__Error error;
    Shmbufwire__Released released;
    Shmbufwire__StatsReply stats;
  } u;
  sb_error err;
  Shmbufwire__Counter counters[DISPATCH_MAX_COUNTERS];
  Shmbufwire__Counter *counter_ptrs[DISPATCH_MAX_COUNTERS];
  int fd;     /* -1, or a slab fd the peer has not seen: send it with this reply */
  bool close; /* the connection ends after this reply */
} dispatch_reply;

/* Sets up the dispatcher for sessions that report to `books`. */
void dispatch_init(dispatcher *d, session_books *books);

/* Frees what the dispatcher keeps between requests. */
void dispatch_fini(dispatcher *d);

/* Handles one frame's payload into *r. Sets r->close for violations that end the
 * connection (no handshake, undecodable frame, wrong version). */
void dispatch_handle(dispatcher *d, conn_session *s, const uint8_t *payload, size_t len,
                     dispatch_reply *r);

/* A notice that is not an answer to any request (id 0), for framing violations and refused
 * connections; r->close is set. */
void dispatch_notice(dispatch_reply *r, int errnum, const char *code, const char *message);

#endif
