/* SPDX-License-Identifier: MIT */
/* One connection's Buffers, laid out the way Node lays them out: each buffer is a view on a
 * backing ArrayBuffer, which is either dedicated (alloc, allocUnsafeSlow, big ones) or one
 * of the connection's pools, shared by small buffers with Node's placement rules. ArrayBuffer
 * memory comes from the connection's slab_owner. Buffer ids are only meaningful on the
 * connection that made them. No I/O beyond what slab_ops does; no protocol. */
#ifndef SBD_HEAP_H
#define SBD_HEAP_H

#include <stdbool.h>
#include <stdint.h>

#include "node.h"
#include "slab.h"

typedef struct heap_slot heap_slot;
typedef struct heap_pool heap_pool;

/* A buffer as a reply describes it. seg is NULL for an empty buffer (no memory). */
typedef struct heap_view {
  uint64_t id;
  slab_seg *seg;
  uint64_t ab_offset;   /* where the backing ArrayBuffer starts in seg */
  uint64_t byte_offset; /* buf.byteOffset */
  uint64_t length;      /* buf.length */
  uint64_t ab_length;   /* buf.buffer.byteLength */
  bool pooled;
} heap_view;

typedef struct buffer_heap {
  slab_owner slab;
  sb_pool pool;         /* Node's poolSize and poolOffset for the current pool */
  heap_pool *current;   /* NULL until the first pooled buffer */
  heap_slot **blocks;   /* buffer slots, in fixed blocks so they never move */
  uint32_t nblocks;
  uint32_t nslots;      /* slots ever used */
  uint64_t free_slot;   /* index + 1 of the first free slot, 0 for none */
  uint64_t buffers;     /* live buffers */
  uint64_t bytes;       /* sum of their lengths */
  uint64_t pools;       /* live pools, the current one and leased ones included */
  uint64_t leased;      /* bytes of live leased regions (HEAP_REGION) */
} buffer_heap;

/* Sets up an empty heap whose pools are pool_size bytes. Memory policy comes with ops/ctx
 * (see slab.h). */
void heap_init(buffer_heap *h, const slab_ops *ops, void *ctx, uint32_t pool_size,
               uint64_t warm_limit);

/* Frees every buffer and segment; `punch` as in slab_owner_fini(). */
void heap_fini(buffer_heap *h, bool punch);

/* Flags for heap_dedicated(). */
#define HEAP_ZERO 1u       /* the bytes read as zeros */
#define HEAP_LEASED 2u     /* a whole pool leased to the client: the view is marked pooled */
#define HEAP_UNRESERVED 4u /* SLAB_UNRESERVED for the ArrayBuffer's chunk */
#define HEAP_REGION 8u     /* a region leased to the client, which carves ArrayBuffers out of it
                            * itself: counted in `leased`, and never an object of its own to
                            * share as it is (heap_own_segment()) */

/* A buffer of `length` bytes over a new dedicated ArrayBuffer of ab_length >= length bytes
 * (Node's createUnsafeBuffer), with HEAP_* flags. Returns 0, -ENOMEM, or an error from
 * slab_alloc(). */
int heap_dedicated(buffer_heap *h, uint64_t ab_length, uint64_t length, unsigned flags,
                   heap_view *out);

/* A buffer of `used` bytes in the current pool, starting a new pool first when `room` bytes
 * do not fit in the rest of it (Node's allocate(), fromArrayLike() and fromStringFast()).
 * room < pool size / 2. Returns as heap_dedicated(). */
int heap_pooled(buffer_heap *h, uint64_t room, uint64_t used, heap_view *out);

/* A zero-length buffer over a zero-length ArrayBuffer (Node's new FastBuffer()). */
int heap_empty(buffer_heap *h, heap_view *out);

/* Looks a buffer up. Returns 0 or -ENOENT (unknown, released, or another connection's). */
int heap_get(const buffer_heap *h, uint64_t id, heap_view *out);

/* Releases a buffer; its ArrayBuffer goes when no buffer uses it and it is not the current
 * pool. Returns 0 or -ENOENT. */
int heap_release(buffer_heap *h, uint64_t id);

/* A buffer over a dedicated ArrayBuffer of ab_length bytes that fills `seg` (adopted with
 * slab_adopt(); freeing the buffer frees the segment), its view at byte_offset, `length`
 * long. Returns 0 or -ENOMEM. */
int heap_adopt(buffer_heap *h, slab_seg *seg, uint64_t ab_length, uint64_t byte_offset,
               uint64_t length, heap_view *out);

/* The segment that buffer id's ArrayBuffer has to itself (a solo segment, or one adopted),
 * or NULL when the ArrayBuffer shares its segment, is a leased region, or there is no such
 * buffer. */
slab_seg *heap_own_segment(const buffer_heap *h, uint64_t id);

/* Where a view's first byte is in its segment. */
static inline uint64_t heap_view_pos(const heap_view *v) { return v->ab_offset + v->byte_offset; }

#endif
