/* SPDX-License-Identifier: MIT */
/* libshmbuf: buffers made without a round trip (see local.h). alloc() zeroes a kept
 * ArrayBuffer with memset in this process's own mapping, which is the cheapest correct means:
 * the memory never leaves the connection, and a truncation by this process can only hurt this
 * process. */
#include "config.h"

#include "local.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "errors.h"

void local_release(shmbuf_client *c, uint64_t id) {
  /* A thin client's release rides with its next request; the library's own (pools, kept
   * ArrayBuffers) are worth a write of their own, so that the memory is free for everyone now */
  if (flight_release(&c->flight, id) == 0 && client_local(c))
    flight_flush(&c->flight);
}

int local_adopt(shmbuf_client *c, const Shmbufwire__Buffer *b, shmbuf_buf **out) {
  handle_backing *bk;
  const char *why;
  int rc = handle_backing_of(&c->slabs, b, &bk, &why);
  if (rc == -EPROTO)
    return wire_broken(&c->wire, rc, why);
  if (rc < 0) {
    local_release(c, b->buffer);
    return rc;
  }
  shmbuf_buf *v = handle_view(&c->handles, c, bk, bk->ab ? bk->ab + b->byte_offset : NULL,
                              b->length, b->byte_offset);
  if (v == NULL) {
    local_release(c, b->buffer);
    handle_backing_free(&c->slabs, bk);
    return -ENOMEM;
  }
  *out = v;
  return 0;
}

/* ---- released dedicated ArrayBuffers --------------------------------------------------------- */

static void cache_remove(local_state *l, size_t i) {
  l->cached -= l->cache[i]->ab_length;
  memmove(l->cache + i, l->cache + i + 1, (LOCAL_CACHE_SLOTS - 1 - i) * sizeof *l->cache);
  l->cache[LOCAL_CACHE_SLOTS - 1] = NULL;
}

static void cache_evict_oldest(shmbuf_client *c) {
  local_state *l = &c->local;
  size_t i = LOCAL_CACHE_SLOTS;
  while (i > 0 && l->cache[i - 1] == NULL)
    i--;
  if (i == 0)
    return;
  handle_backing *bk = l->cache[i - 1];
  cache_remove(l, i - 1);
  local_release(c, bk->id);
  handle_backing_free(&c->slabs, bk);
}

static void cache_drop(shmbuf_client *c) {
  while (c->local.cache[0])
    cache_evict_oldest(c);
}

/* Keeps bk (no references left) for reuse when it is worth it. Returns true if kept. */
static bool cache_keep(shmbuf_client *c, handle_backing *bk) {
  local_state *l = &c->local;
  if ((c->flags & SHMBUF_THIN) || c->wire.broken || bk->pooled || bk->shared || bk->ab == NULL ||
      bk->ab_length < LOCAL_CACHE_MIN || bk->ab_length > LOCAL_CACHE_BYTES ||
      bk->byte_offset != 0 || bk->length != bk->ab_length)
    return false;
  while (l->cache[LOCAL_CACHE_SLOTS - 1] || l->cached + bk->ab_length > LOCAL_CACHE_BYTES)
    cache_evict_oldest(c);
  memmove(l->cache + 1, l->cache, (LOCAL_CACHE_SLOTS - 1) * sizeof *l->cache);
  l->cache[0] = bk;
  l->cached += bk->ab_length;
  return true;
}

shmbuf_buf *local_cache_take(shmbuf_client *c, uint64_t ab_length) {
  local_state *l = &c->local;
  for (size_t i = 0; i < LOCAL_CACHE_SLOTS && l->cache[i]; i++) {
    handle_backing *bk = l->cache[i];
    if (bk->ab_length != ab_length)
      continue;
    shmbuf_buf *b = handle_view(&c->handles, c, bk, bk->ab, ab_length, 0);
    if (b)
      cache_remove(l, i);
    return b;
  }
  return NULL;
}

void local_unref(shmbuf_client *c, handle_backing *bk) {
  if (--bk->refs > 0 || cache_keep(c, bk))
    return;
  if (bk->id)
    local_release(c, bk->id);
  handle_backing_free(&c->slabs, bk);
}

/* ---- leased pools ------------------------------------------------------------------------------ */

/* A pool lease answered: keeps the pool among the spares, or the failure for later. */
static void lease_settled(shmbuf_client *c, Shmbufwire__Reply *r, void *arg, flight_outcome *out) {
  local_state *l = &c->local;
  handle_backing *bk;
  const char *why;
  int status;
  (void)arg;
  (void)out;
  l->leasing--;
  if (r == NULL)
    status = -ENOTCONN;
  else if (r->result_case == SHMBUFWIRE__REPLY__RESULT_ERROR)
    status = flight_error(r->error);
  else if ((status = handle_backing_of(&c->slabs, r->buffer, &bk, &why)) == -EPROTO)
    wire_broken(&c->wire, status, why);
  else if (status < 0)
    local_release(c, r->buffer->buffer);
  else if (bk->ab_length == c->pool_size && l->nspares < LOCAL_SPARES) {
    l->spares[l->nspares++] = bk;
    return;
  } else {
    bk->refs = 1; /* not a pool this client can use: give it back */
    local_unref(c, bk);
    status = errors_fail(-EPROTO, "ERR_SHMBUF_PROTOCOL", "the daemon leased a pool of the wrong size");
  }
  l->lease_error = status;
}

/* Asks for pools until LOCAL_SPARES are here or on their way, in one write. */
static int refill(shmbuf_client *c) {
  local_state *l = &c->local;
  while (l->nspares + l->leasing < LOCAL_SPARES) {
    int rc;
    if (flight_batchable(&c->flight, 0))
      rc = flight_submit_batched(&c->flight, SHMBUFWIRE__REQUEST__OP_LEASE, 0, lease_settled, NULL,
                                 NULL, NULL);
    else {
      Shmbufwire__Request q = SHMBUFWIRE__REQUEST__INIT;
      Shmbufwire__Lease lease = SHMBUFWIRE__LEASE__INIT;
      q.op_case = SHMBUFWIRE__REQUEST__OP_LEASE;
      q.lease = &lease;
      rc = flight_submit(&c->flight, &q, lease_settled, NULL, NULL, NULL);
    }
    if (rc < 0)
      return rc;
    l->leasing++;
  }
  return flight_flush(&c->flight);
}

static void drop_spares(shmbuf_client *c) {
  local_state *l = &c->local;
  while (l->leasing > 0 && flight_settle_one(&c->flight) == 0) /* the ones on their way too */
    ;
  while (l->nspares > 0) {
    handle_backing *bk = l->spares[--l->nspares];
    bk->refs = 1;
    local_unref(c, bk);
  }
}

/* Lets the current pool go: it leaves when its last view does. */
static void drop_current(shmbuf_client *c) {
  handle_backing *old = c->local.pool;
  if (old) {
    c->local.pool = NULL;
    local_unref(c, old);
  }
}

/* A spare pool, waiting for one when none has arrived yet. A lease refused for want of
 * memory is asked again once the ArrayBuffers kept for reuse are given back. */
static int next_pool(shmbuf_client *c, handle_backing **out) {
  local_state *l = &c->local;
  for (bool retried = false;;) {
    int rc = refill(c);
    while (rc == 0 && l->nspares == 0 && l->leasing > 0)
      rc = flight_settle_one(&c->flight);
    if (rc < 0)
      return rc;
    if (l->nspares > 0)
      break;
    rc = l->lease_error ? l->lease_error : -EPROTO;
    l->lease_error = 0;
    if (retried || !(rc == -ENOMEM || rc == -EDQUOT || rc == -ENOSPC) || !l->cache[0])
      return rc;
    cache_drop(c);
    retried = true;
  }
  *out = l->spares[0];
  memmove(l->spares, l->spares + 1, (size_t)--l->nspares * sizeof *l->spares);
  refill(c); /* the next one is on its way while this one is used */
  return 0;
}

int local_pool_room(shmbuf_client *c, uint64_t room, uint8_t **at) {
  local_state *l = &c->local;
  if (l->pool == NULL || sb_pool_full(&l->rule, room)) { /* createPool() */
    handle_backing *bk = NULL;
    int rc = next_pool(c, &bk);
    if (rc < 0)
      return rc;
    drop_current(c);
    bk->refs = 1; /* being current holds it */
    l->pool = bk;
    l->rule = (sb_pool){c->pool_size, 0};
  }
  *at = l->pool->ab + l->rule.offset;
  return 0;
}

int local_pool_commit(shmbuf_client *c, uint64_t used, shmbuf_buf **out) {
  local_state *l = &c->local;
  uint32_t at = sb_pool_take(&l->rule, (uint32_t)used);
  shmbuf_buf *b = handle_view(&c->handles, c, l->pool, l->pool->ab + at, used, at);
  if (b == NULL)
    return -ENOMEM;
  *out = b;
  return 0;
}

bool local_holds_ahead(const shmbuf_client *c) {
  return c->local.cache[0] || c->local.nspares;
}

void local_trim(shmbuf_client *c) {
  cache_drop(c);
  drop_spares(c);
  flight_flush(&c->flight); /* releases waiting for a request to ride with go now */
}

void local_fini(local_state *l) {
  if (l->pool && --l->pool->refs == 0)
    free(l->pool);
  for (int i = 0; i < l->nspares; i++)
    free(l->spares[i]);
  for (size_t i = 0; i < LOCAL_CACHE_SLOTS; i++)
    free(l->cache[i]);
  *l = (local_state){0};
}
