/* SPDX-License-Identifier: MIT */
/* libshmbuf internals shared by its files: the client, its slabs, handles and requests. */
#ifndef SBC_CONN_H
#define SBC_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "errors.h"
#include "node.h"
#include "shmbuf.h"
#include "shmbuf.pb-c.h"

/* A mapped slab: one shared-memory object of this connection, mapped once. */
typedef struct cl_slab {
  uint8_t *base;
  uint64_t size;
} cl_slab;

/* One buffer the daemon made, shared by every view derived from it (subarray, the small
 * buffers carved from a leased pool, ...). Holding it keeps the backing ArrayBuffer alive in
 * the daemon. */
typedef struct cl_backing {
  uint64_t id;        /* the daemon's buffer id */
  uint8_t *ab;        /* the backing ArrayBuffer's first byte; NULL when it is empty */
  uint64_t ab_length;
  uint64_t ab_key;    /* names the ArrayBuffer: slab id << 40 | offset in the slab */
  uint64_t byte_offset, length; /* the daemon buffer's own range in the ArrayBuffer */
  uint32_t refs;
  bool pooled;
} cl_backing;

struct shmbuf_buf {
  shmbuf_client *c;
  cl_backing *bk;
  uint8_t *data;
  size_t length;
  size_t byte_offset;
  shmbuf_buf *prev, *next; /* the client's live handles; next links the free list too */
};

/* What to do with the reply to a request in flight. */
typedef enum {
  PEND_RELEASE, /* nothing, but unmap the slabs it retires */
  PEND_CALL,    /* hand it to the blocking caller waiting for it */
  PEND_BUFFER,  /* make a handle and run the callback (shmbuf_submit_*) */
  PEND_LEASE,   /* a pool for later: kept among the spares */
  PEND_READY,   /* answered (or made locally): the callback runs in turn */
  PEND_DONE,    /* answered, nothing left to do */
} pend_kind;

typedef struct cl_pending {
  uint64_t id;
  pend_kind kind;
  shmbuf_cb cb;
  void *arg;
  shmbuf_buf *ready;         /* PEND_READY */
  int status;                /* PEND_READY */
  char *err_code, *err_message; /* PEND_READY with status < 0 */
} cl_pending;

/* Dedicated ArrayBuffers this big are kept for reuse when released (see cl_cache_*). */
#define CL_CACHE_MIN (256u << 10)
#define CL_CACHE_SLOTS 4
#define CL_CACHE_BYTES (16u << 20)

/* Pools leased ahead, so that starting a pool waits for no round trip: they are asked for in
 * one go and arrive while the current pool is being used. */
#define CL_SPARES 4

struct shmbuf_client {
  int fd;
  unsigned flags;
  bool broken;          /* the connection failed; requests get -ENOTCONN */
  uint32_t pool_size;
  uint32_t max_frame;
  uint64_t next_id;
  sb_bytes in, out;
  int *fds;             /* fds received and not yet claimed by a reply */
  size_t nfds, cap_fds;
  cl_slab *slabs;       /* by slab id */
  uint32_t nslabs;
  shmbuf_buf *bufs;     /* live handles */
  shmbuf_buf *spare;    /* freed handles, for reuse */
  size_t nspare;
  cl_pending *pend;     /* requests in flight and results to hand out, in request order */
  size_t pend_head, pend_len, pend_cap;
  size_t unanswered;    /* requests in the ring still waiting for their replies */
  size_t next_answer;   /* ring position of the oldest of them */
  int delivering;       /* callbacks are running (nested calls count) */
  bool closing;         /* shmbuf_close() was called from a callback */
  cl_backing *pool;     /* the current leased pool (Node's allocPool), or NULL */
  sb_pool rule;         /* its poolSize and poolOffset */
  cl_backing *spares[CL_SPARES]; /* leased pools not yet current */
  int nspares;
  int leasing;          /* lease requests in flight */
  int lease_error;      /* why the last lease failed, for when no pool is left */
  cl_backing *cache[CL_CACHE_SLOTS]; /* released dedicated ArrayBuffers, newest first */
  uint64_t cached;      /* their bytes */
  uint64_t empties;     /* local empty ArrayBuffers made, to name each */
};


/* ---- conn.c: the wire ---------------------------------------------------------------------- */

/* Sends q (its id is assigned here) and waits for its reply, settling the replies to earlier
 * requests on the way (their callbacks wait for shmbuf_process() or shmbuf_wait()). Returns 0 and a reply to free with
 * cl_reply_free(), or a negative errno; an error reply is turned into its errnum, recorded
 * with its code. */
int cl_call(shmbuf_client *c, Shmbufwire__Request *q, Shmbufwire__Reply **out);
void cl_reply_free(Shmbufwire__Reply *r);

/* cl_call() for a request that takes memory: when the daemon has none left, the ArrayBuffers
 * this client keeps for reuse are given back and the request is made once more. */
int cl_call_room(shmbuf_client *c, Shmbufwire__Request *q, Shmbufwire__Reply **out);

/* Queues q to be answered by a handle for callback cb (see shmbuf_submit_alloc()). */
int cl_submit(shmbuf_client *c, Shmbufwire__Request *q, shmbuf_cb cb, void *arg);

/* Queues a request for a pool ahead of need (PEND_LEASE). Returns 0 or a negative errno. */
int cl_submit_lease(shmbuf_client *c, Shmbufwire__Request *q);

/* Sends what is queued, then blocks until one more reply is settled (no callback runs). */
int cl_settle_one(shmbuf_client *c);

/* Queues a buffer made without the daemon (or a failure), for callback cb in its turn. */
int cl_submit_ready(shmbuf_client *c, int status, shmbuf_buf *buf, shmbuf_cb cb, void *arg);

/* The record of a buffer reply (no handle yet, no references): maps a new slab when the
 * reply brings one. Returns 0 or a negative errno (the daemon's buffer is released then). */
int cl_backing_new(shmbuf_client *c, const Shmbufwire__Buffer *b, cl_backing **out);

/* Makes a handle for a buffer reply, `length` bytes long (the reply's own length when it is
 * UINT64_MAX): maps a new slab when the reply brings one. Returns 0 or a negative errno (the
 * daemon's buffer is released then). */
int cl_adopt(shmbuf_client *c, const Shmbufwire__Buffer *b, uint64_t length, shmbuf_buf **out);

/* A request that makes one buffer: sends q, adopts the reply. */
int cl_make(shmbuf_client *c, Shmbufwire__Request *q, shmbuf_buf **out);

/* A new view on bk (whose reference count it takes), linked into c's handles. */
shmbuf_buf *cl_view(shmbuf_client *c, cl_backing *bk, uint8_t *data, size_t length,
                    size_t byte_offset);

/* Drops one reference to bk: at the last, the daemon is told (or bk is cached). */
void cl_unref(shmbuf_client *c, cl_backing *bk);

/* Tells the daemon a buffer is no longer used, without waiting for the answer. */
void cl_send_release(shmbuf_client *c, uint64_t id);

/* ---- local.c: buffers made without a round trip ---------------------------------------------- */

/* Node's pooled placement in the leased pool, in two steps, because Buffer.from(string)
 * checks an estimate (`room`) but takes only what it wrote: cl_pool_room() makes room bytes
 * available at the pool's offset, leasing a new pool when they do not fit, and returns where
 * they start; cl_pool_commit() takes `used` of them as a new buffer. Both return 0 or a
 * negative errno. */
int cl_pool_room(shmbuf_client *c, uint64_t room, uint8_t **at);
int cl_pool_commit(shmbuf_client *c, uint64_t used, shmbuf_buf **out);

/* A zero-length buffer on its own empty ArrayBuffer, made without the daemon. */
int cl_empty(shmbuf_client *c, shmbuf_buf **out);

/* A pool lease answered: keeps the pool among the spares, or the failure for later. */
void cl_pool_leased(shmbuf_client *c, int status, const Shmbufwire__Buffer *b);

/* Gives back the spare pools, once those asked for have come. */
void cl_pool_drop_spares(shmbuf_client *c);

/* A released dedicated ArrayBuffer of exactly ab_length bytes, as a new buffer, or NULL. */
shmbuf_buf *cl_cache_take(shmbuf_client *c, uint64_t ab_length);

/* Keeps bk (no references left) for reuse when it is worth it. Returns true if kept. */
bool cl_cache_keep(shmbuf_client *c, cl_backing *bk);

/* Releases every cached ArrayBuffer. */
void cl_cache_drop(shmbuf_client *c);

#endif
