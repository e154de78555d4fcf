/* SPDX-License-Identifier: MIT */
/* One request in, one reply out. Validates arguments the way Node validates them, asks the
 * connection's heap for memory, writes buffer contents through segment calls, and builds the
 * reply. No sockets, no libuv; memory policy lives in the charge callback. */
#ifndef SBD_DISPATCH_H
#define SBD_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "heap.h"
#include "node.h"
#include "shmbuf.pb-c.h"

/* Limits that apply to a session; read when it starts, except max_memory, read on each
 * reservation (so a reload applies at once). */
typedef struct dsp_limits {
  uint32_t pool_size;
  uint32_t max_frame;
  uint64_t max_memory;       /* bytes reserved in shm, all sessions together; 0: no cap */
  uint64_t conn_max_bytes;   /* bytes reserved by one session; 0: no cap */
  uint64_t conn_max_buffers; /* live buffers of one session; 0: no cap */
  uint64_t warm_bytes;       /* freed memory a session keeps reserved for reuse */
} dsp_limits;

/* Daemon-wide gauges and counters, kept up to date by the sessions. */
typedef struct dsp_totals {
  uint64_t connections, connections_total, refused_total;
  uint64_t buffers, bytes, pools, slabs, reserved, warm;
  uint64_t requests_total, errors_total, enospc_total;
} dsp_totals;

typedef struct dsp_daemon {
  dsp_limits limits;
  dsp_totals t;
  sb_arena arena; /* what the request being handled unpacks into */
} dsp_daemon;

typedef struct dsp_session {
  dsp_daemon *d;
  heap heap;
  uint32_t pool_size;
  bool greeted;
  uint32_t *retired; /* announced slabs destroyed since the last Released reply */
  size_t nretired, cap_retired;
  bool retired_sent;
  uint8_t *scratch;  /* encode buffer, kept between requests while small */
  size_t cap_scratch;
} dsp_session;

#define DSP_MAX_COUNTERS 24

/* A reply ready to pack; valid until the session's next call. */
typedef struct dsp_reply {
  Shmbufwire__Reply msg;
  union {
    Shmbufwire__Welcome welcome;
    Shmbufwire__Buffer buffer;
    Shmbufwire__Error error;
    Shmbufwire__Released released;
    Shmbufwire__StatsReply stats;
  } u;
  sb_error err;
  Shmbufwire__Counter counters[DSP_MAX_COUNTERS];
  Shmbufwire__Counter *counter_ptrs[DSP_MAX_COUNTERS];
  int fd;     /* -1, or a slab fd the peer has not seen: send it with this reply */
  bool close; /* the connection ends after this reply */
} dsp_reply;

/* Starts a session (one connection) and counts it. */
void dsp_session_init(dsp_session *s, dsp_daemon *d);

/* Ends a session: frees everything it holds and takes it out of the totals. `punch` as in
 * slab_owner_fini(). */
void dsp_session_fini(dsp_session *s, bool punch);

/* Handles one frame's payload into *r. Sets r->close for violations that end the
 * connection (no handshake, undecodable frame, wrong version). */
void dsp_handle(dsp_session *s, const uint8_t *payload, size_t len, dsp_reply *r);

/* A notice that is not an answer to any request (id 0), for framing violations and refused
 * connections; r->close is set. */
void dsp_notice(dsp_reply *r, int errnum, const char *code, const char *message);

#endif
