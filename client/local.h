/* SPDX-License-Identifier: MIT */
/* Buffers made without a round trip, and what becomes of ArrayBuffers nobody uses any more.
 *
 * The connection leases regions from the daemon (zero-filled, each one buffer in the
 * daemon's books, charged whole against the connection's limits), and carves ArrayBuffers
 * out of them here (carve.h): dedicated ones of exactly the size asked for, and Node's pools,
 * which small allocUnsafe()/from() calls are placed in with lib/buffer.js's own rules. A
 * carve goes back to its region when its last view goes, except that a few small dedicated
 * ones are kept, per size class, for the next carve of their class. A region goes back to the
 * daemon once it holds nothing and a newer one took its place (the kept carves go back to it
 * first). Regions double in size from LOCAL_REGION_FIRST up to CARVE_REGION_MAX, so a
 * connection that makes few buffers leases little. Bigger dedicated ArrayBuffers come from
 * the daemon; released ones are kept for reuse, still mapped and faulted in. Everything else
 * a released handle leaves is given back to the daemon, without waiting for the answer.
 *
 * Uses requests in flight (leases, releases), handles and carves; the public calls above it
 * decide when to come here. */
#ifndef SBC_LOCAL_H
#define SBC_LOCAL_H

#include <stdbool.h>
#include <stdint.h>

#include "carve.h"
#include "handle.h"
#include "node.h"
#include "shmbuf.h"

#define LOCAL_REGION_FIRST (64u << 10)

/* Dedicated ArrayBuffers from the daemon (bigger than a region) are kept for reuse when
 * released (see shmbuf_trim()). */
#define LOCAL_CACHE_SLOTS 4
#define LOCAL_CACHE_BYTES (16u << 20)

/* Small dedicated carves of the newest region are kept when released, with their backings,
 * this many per size class: the next alloc() of their class takes one back at once. */
#define LOCAL_KEPT_PER_CLASS 8

typedef struct local_state {
  carve_set carves;       /* the regions and what is carved of them */
  uint64_t next_region;   /* the size of the next region to lease */
  handle_backing *pool;   /* the current pool (Node's allocPool), or NULL */
  sb_pool rule;           /* its poolSize and poolOffset */
  handle_backing *cache[LOCAL_CACHE_SLOTS]; /* released big ArrayBuffers, newest first */
  uint64_t cached;        /* their bytes */
  handle_backing *kept[CARVE_NCLASSES]; /* released small carves by class, newest first */
  uint8_t nkept[CARVE_NCLASSES];
} local_state;

/* Node's pooled placement in the current pool, in two steps, because Buffer.from(string)
 * checks an estimate (`room`) but takes only what it wrote: local_pool_room() makes room bytes
 * available at the pool's offset, starting a new pool when they do not fit, and returns where
 * they start; local_pool_commit() takes `used` of them as a new buffer. Both return 0 or a
 * negative errno, recorded. */
int local_pool_room(shmbuf_client *c, uint64_t room, uint8_t **at);
int local_pool_commit(shmbuf_client *c, uint64_t used, shmbuf_buf **out);

/* A new buffer over a dedicated ArrayBuffer of `size` bytes (0 < size <= CARVE_REGION_MAX),
 * carved here; zero-filled when `zero` (memset only when the carve may hold old bytes).
 * Returns 0 or a negative errno, recorded. */
int local_carve(shmbuf_client *c, uint64_t size, bool zero, shmbuf_buf **out);

/* A kept dedicated ArrayBuffer of exactly ab_length bytes, as a new buffer, or NULL. */
shmbuf_buf *local_cache_take(shmbuf_client *c, uint64_t ab_length);

/* Drops one reference to bk: at the last, a carve goes back to its region, and a daemon's
 * ArrayBuffer is kept for reuse when it is worth it, or the daemon is told (without waiting);
 * bk is freed. */
void local_unref(shmbuf_client *c, handle_backing *bk);

/* Makes a handle for a buffer reply the daemon sent. Returns 0 or a negative errno (the
 * daemon's buffer is given back then; a reply pointing outside its slab breaks the
 * connection). */
int local_adopt(shmbuf_client *c, const Shmbufwire__Buffer *b, shmbuf_buf **out);

/* Tells the daemon that its buffer id, which gives back `bytes`, is no longer used, without
 * waiting for the answer. */
void local_release(shmbuf_client *c, uint64_t id, uint64_t bytes);

/* After a request failed with rc: when the daemon had no memory left (-ENOMEM, -EDQUOT,
 * -ENOSPC) and this client holds some ahead of need, which counts against its limits too,
 * gives that back (local_trim()) and returns true: the request is worth making once more. */
bool local_trim_to_retry(shmbuf_client *c, int rc);

/* Gives back the kept ArrayBuffers and the regions that hold nothing, and sends the releases
 * waiting for a request to ride with. */
void local_trim(shmbuf_client *c);

/* Frees what it holds, sending nothing: the connection is closing. */
void local_fini(local_state *l);

#endif
