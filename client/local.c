/* SPDX-License-Identifier: MIT */
/* libshmbuf: buffers made without a round trip.
 *
 * Small allocUnsafe()/from() calls are carved out of a leased pool with Node's own placement
 * rules: the daemon hands the connection a whole pool (8 KiB, one buffer in its books) and the
 * library plays lib/buffer.js's allocPool/poolOffset over it, giving the pool back when its
 * last view goes and it is no longer current. Big dedicated ArrayBuffers that the program
 * releases are kept for reuse, still mapped and faulted in: alloc() zeroes one with memset in
 * this process's own mapping, which is the cheapest correct means (the memory never leaves the
 * connection, and a truncation by this process can only hurt this process). */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

/* Asks for pools until CL_SPARES are here or on their way, in one write. */
static int refill(shmbuf_client *c) {
  while (c->nspares + c->leasing < CL_SPARES) {
    Shmbufwire__Request q;
    Shmbufwire__Lease l;
    shmbufwire__request__init(&q);
    shmbufwire__lease__init(&l);
    q.op_case = SHMBUFWIRE__REQUEST__OP_LEASE;
    q.lease = &l;
    int rc = cl_submit_lease(c, &q);
    if (rc < 0)
      return rc;
    c->leasing++;
  }
  return shmbuf_flush(c);
}

void cl_pool_leased(shmbuf_client *c, int status, const Shmbufwire__Buffer *b) {
  cl_backing *bk;
  c->leasing--;
  if (status == 0 && (status = cl_backing_new(c, b, &bk)) == 0) { /* takes the slab's fd */
    if (bk->ab_length == c->pool_size && c->nspares < CL_SPARES) {
      c->spares[c->nspares++] = bk;
      return;
    }
    bk->refs = 1; /* not a pool this client can use: give it back */
    cl_unref(c, bk);
    status = cl_fail(-EPROTO, "ERR_SHMBUF_PROTOCOL", "the daemon leased a pool of the wrong size");
  }
  c->lease_error = status;
}

void cl_pool_drop_spares(shmbuf_client *c) {
  while (c->leasing > 0 && cl_settle_one(c) == 0) /* the ones on their way too */
    ;
  while (c->nspares > 0) {
    cl_backing *bk = c->spares[--c->nspares];
    bk->refs = 1;
    cl_unref(c, bk);
  }
}

/* Lets the current pool go: it leaves when its last view does. */
static void pool_drop_current(shmbuf_client *c) {
  if (c->pool) {
    cl_backing *old = c->pool;
    c->pool = NULL;
    cl_unref(c, old);
  }
}

/* A spare pool, waiting for one when none has arrived yet. A lease refused for want of
 * memory is asked again once the ArrayBuffers kept for reuse are given back. */
static int next_pool(shmbuf_client *c, cl_backing **out) {
  for (bool retried = false;;) {
    int rc = refill(c);
    while (rc == 0 && c->nspares == 0 && c->leasing > 0)
      rc = cl_settle_one(c);
    if (rc < 0)
      return rc;
    if (c->nspares > 0)
      break;
    rc = c->lease_error ? c->lease_error : -EPROTO;
    c->lease_error = 0;
    if (retried || !(rc == -ENOMEM || rc == -EDQUOT || rc == -ENOSPC) || !c->cache[0])
      return rc;
    cl_cache_drop(c);
    retried = true;
  }
  *out = c->spares[0];
  memmove(c->spares, c->spares + 1, (size_t)--c->nspares * sizeof *c->spares);
  refill(c); /* the next one is on its way while this one is used */
  return 0;
}

int cl_pool_room(shmbuf_client *c, uint64_t room, uint8_t **at) {
  if (c->pool == NULL || sb_pool_full(&c->rule, room)) { /* createPool() */
    cl_backing *bk = NULL;
    int rc = next_pool(c, &bk);
    if (rc < 0)
      return rc;
    pool_drop_current(c);
    bk->refs = 1; /* being current holds it */
    c->pool = bk;
    c->rule = (sb_pool){c->pool_size, 0};
  }
  *at = c->pool->ab + c->rule.offset;
  return 0;
}

int cl_pool_commit(shmbuf_client *c, uint64_t used, shmbuf_buf **out) {
  uint32_t at = sb_pool_take(&c->rule, (uint32_t)used);
  shmbuf_buf *b = cl_view(c, c->pool, c->pool->ab + at, used, at);
  if (b == NULL)
    return cl_fail(-ENOMEM, "ERR_SHMBUF_NO_MEMORY", "out of memory");
  *out = b;
  return 0;
}

int cl_empty(shmbuf_client *c, shmbuf_buf **out) {
  cl_backing *bk = malloc(sizeof *bk);
  shmbuf_buf *b = bk ? (*bk = (cl_backing){.ab_key = 1ull << 62 | ++c->empties},
                        cl_view(c, bk, NULL, 0, 0))
                     : NULL;
  if (b == NULL) {
    free(bk);
    return cl_fail(-ENOMEM, "ERR_SHMBUF_NO_MEMORY", "out of memory");
  }
  *out = b;
  return 0;
}

/* ---- released dedicated ArrayBuffers --------------------------------------------------------- */

static void cache_remove(shmbuf_client *c, size_t i) {
  c->cached -= c->cache[i]->ab_length;
  memmove(c->cache + i, c->cache + i + 1, (CL_CACHE_SLOTS - 1 - i) * sizeof *c->cache);
  c->cache[CL_CACHE_SLOTS - 1] = NULL;
}

static void cache_evict_oldest(shmbuf_client *c) {
  size_t i = CL_CACHE_SLOTS;
  while (i > 0 && c->cache[i - 1] == NULL)
    i--;
  if (i == 0)
    return;
  cl_backing *bk = c->cache[i - 1];
  cache_remove(c, i - 1);
  cl_send_release(c, bk->id);
  free(bk);
}

bool cl_cache_keep(shmbuf_client *c, cl_backing *bk) {
  if ((c->flags & SHMBUF_THIN) || c->broken || bk->pooled || bk->ab == NULL ||
      bk->ab_length < CL_CACHE_MIN || bk->ab_length > CL_CACHE_BYTES || bk->byte_offset != 0 ||
      bk->length != bk->ab_length)
    return false;
  while (c->cache[CL_CACHE_SLOTS - 1] || c->cached + bk->ab_length > CL_CACHE_BYTES)
    cache_evict_oldest(c);
  memmove(c->cache + 1, c->cache, (CL_CACHE_SLOTS - 1) * sizeof *c->cache);
  c->cache[0] = bk;
  c->cached += bk->ab_length;
  return true;
}

shmbuf_buf *cl_cache_take(shmbuf_client *c, uint64_t ab_length) {
  for (size_t i = 0; i < CL_CACHE_SLOTS && c->cache[i]; i++) {
    cl_backing *bk = c->cache[i];
    if (bk->ab_length != ab_length)
      continue;
    shmbuf_buf *b = cl_view(c, bk, bk->ab, ab_length, 0);
    if (b)
      cache_remove(c, i);
    return b;
  }
  return NULL;
}

void cl_cache_drop(shmbuf_client *c) {
  while (c->cache[0])
    cache_evict_oldest(c);
}
