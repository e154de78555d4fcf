/* SPDX-License-Identifier: MIT */
/* Buffers made without a round trip, and what becomes of ArrayBuffers nobody uses any more.
 *
 * Small allocUnsafe()/from() calls are carved out of a leased pool with Node's own placement
 * rules: the daemon hands the connection a whole pool (one buffer in its books) and the
 * library plays lib/buffer.js's allocPool/poolOffset over it, giving the pool back when its
 * last view goes and it is no longer current. Pools are leased a few ahead, so starting one
 * waits for no round trip. Big dedicated ArrayBuffers the program releases are kept for
 * reuse, still mapped and faulted in. Everything else a released handle leaves is given back
 * to the daemon, without waiting for the answer.
 *
 * Uses requests in flight (leases, releases) and handles; the public calls above it decide
 * when to come here. */
#ifndef SBC_LOCAL_H
#define SBC_LOCAL_H

#include <stdbool.h>
#include <stdint.h>

#include "handle.h"
#include "node.h"
#include "shmbuf.h"

/* Dedicated ArrayBuffers this big are kept for reuse when released (see shmbuf_trim()). */
#define LOCAL_CACHE_MIN (256u << 10)
#define LOCAL_CACHE_SLOTS 4
#define LOCAL_CACHE_BYTES (16u << 20)

/* Pools leased ahead: asked for in one go, they arrive while the current pool is used. */
#define LOCAL_SPARES 4

typedef struct local_state {
  handle_backing *pool;   /* the current leased pool (Node's allocPool), or NULL */
  sb_pool rule;           /* its poolSize and poolOffset */
  handle_backing *spares[LOCAL_SPARES]; /* leased pools not yet current */
  int nspares;
  int leasing;            /* lease requests in flight */
  int lease_error;        /* why the last lease failed, for when no pool is left */
  handle_backing *cache[LOCAL_CACHE_SLOTS]; /* released dedicated ArrayBuffers, newest first */
  uint64_t cached;        /* their bytes */
} local_state;

/* Node's pooled placement in the leased pool, in two steps, because Buffer.from(string)
 * checks an estimate (`room`) but takes only what it wrote: local_pool_room() makes room bytes
 * available at the pool's offset, leasing a new pool when they do not fit, and returns where
 * they start; local_pool_commit() takes `used` of them as a new buffer. Both return 0 or a
 * negative errno, recorded. */
int local_pool_room(shmbuf_client *c, uint64_t room, uint8_t **at);
int local_pool_commit(shmbuf_client *c, uint64_t used, shmbuf_buf **out);

/* A kept dedicated ArrayBuffer of exactly ab_length bytes, as a new buffer, or NULL. */
shmbuf_buf *local_cache_take(shmbuf_client *c, uint64_t ab_length);

/* Drops one reference to bk: at the last, the ArrayBuffer is kept for reuse when it is worth
 * it, or the daemon is told (without waiting) and bk is freed. */
void local_unref(shmbuf_client *c, handle_backing *bk);

/* Makes a handle for a buffer reply the daemon sent. Returns 0 or a negative errno (the
 * daemon's buffer is given back then; a reply pointing outside its slab breaks the
 * connection). */
int local_adopt(shmbuf_client *c, const Shmbufwire__Buffer *b, shmbuf_buf **out);

/* Tells the daemon that its buffer id is no longer used, without waiting for the answer. */
void local_release(shmbuf_client *c, uint64_t id);

/* Whether anything is held ahead of need (kept ArrayBuffers, spare pools). */
bool local_holds_ahead(const shmbuf_client *c);

/* Gives back the kept ArrayBuffers and the spare pools (those on their way too). */
void local_trim(shmbuf_client *c);

/* Frees what it holds, sending nothing: the connection is closing. */
void local_fini(local_state *l);

#endif
