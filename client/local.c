/* SPDX-License-Identifier: MIT */
/* libshmbuf: buffers made without a round trip (see local.h). alloc() zeroes a carve that may
 * hold old bytes, and a kept ArrayBuffer, with memset in this process's own mapping, which is
 * the cheapest correct means: the memory never leaves the connection, and a truncation by this
 * process can only hurt this process. */
#include "config.h"

#include "local.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "client.h"
#include "errors.h"

void local_release(shmbuf_client *c, uint64_t id, uint64_t bytes) {
  /* A thin client's release rides with its next request (unless what is waiting gives back a
   * lot); the library's own (regions, kept ArrayBuffers) are worth a write of their own, so
   * that the memory is free for everyone now */
  if (flight_release(&c->flight, id, bytes) == 0 && client_local(c))
    flight_flush(&c->flight);
}

/* local_release() of what backing bk stands for in the daemon: a pooled view gives back its
 * own bytes (its pool lives on), anything else its whole ArrayBuffer. */
static void release_backing(shmbuf_client *c, const handle_backing *bk) {
  local_release(c, bk->id, bk->pooled ? bk->length : bk->ab_length);
}

int local_adopt(shmbuf_client *c, const Shmbufwire__Buffer *b, shmbuf_buf **out) {
  handle_backing *bk;
  const char *why;
  int rc = handle_backing_of(&c->handles, &c->slabs, b, &bk, &why);
  if (rc == -EPROTO)
    return wire_broken(&c->wire, rc, why);
  if (rc < 0) {
    local_release(c, b->buffer, b->ab_length);
    return rc;
  }
  shmbuf_buf *v = handle_view(&c->handles, c, bk, bk->ab ? bk->ab + b->byte_offset : NULL,
                              b->length, b->byte_offset);
  if (v == NULL) {
    local_release(c, b->buffer, b->ab_length);
    handle_backing_free(&c->handles, &c->slabs, bk);
    return -ENOMEM;
  }
  *out = v;
  return 0;
}

/* ---- released dedicated ArrayBuffers of the daemon's ------------------------------------------ */

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
  release_backing(c, bk);
  handle_backing_free(&c->handles, &c->slabs, bk);
}

static void cache_drop(shmbuf_client *c) {
  while (c->local.cache[0])
    cache_evict_oldest(c);
}

/* Keeps bk (no references left) for reuse when it is worth it. Returns true if kept. */
static bool cache_keep(shmbuf_client *c, handle_backing *bk) {
  local_state *l = &c->local;
  if (!client_local(c) || c->wire.broken || bk->region || bk->pooled || bk->shared ||
      bk->ab == NULL || bk->ab_length <= CARVE_REGION_MAX || bk->ab_length > LOCAL_CACHE_BYTES ||
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

/* ---- regions ------------------------------------------------------------------------------------ */

/* Gives a region that holds nothing back to the daemon. */
static void region_drop(shmbuf_client *c, carve_region *r) {
  handle_backing *bk = r->owner;
  carve_region_remove(&c->local.carves, r);
  release_backing(c, bk);
  handle_backing_free(&c->handles, &c->slabs, bk);
}

/* Gives a carve back; its region goes back to the daemon when that empties it. */
static void put(shmbuf_client *c, carve_region *r, uint64_t off, uint64_t size) {
  carve_region *idle = carve_put(&c->local.carves, r, off, size);
  if (idle)
    region_drop(c, idle);
}

/* Keeps bk (a carve, no references left) for the next carve of its class, when it is small,
 * plain (no pool, never shared), in the newest region (so that keeping it never holds an older
 * region back), and its class has room. Returns true if kept. */
static bool kept_keep(local_state *l, handle_backing *bk) {
  if (bk->pooled || bk->shared || bk->read_only || bk->sealed ||
      bk->ab_length > CARVE_SMALL_MAX || bk->region != l->carves.regions)
    return false;
  unsigned cls = carve_class(bk->ab_length);
  if (l->nkept[cls] == LOCAL_KEPT_PER_CLASS)
    return false;
  carve_count(&l->carves, bk->ab_length, false);
  bk->next_spare = l->kept[cls];
  l->kept[cls] = bk;
  l->nkept[cls]++;
  return true;
}

/* A kept carve of size's class, as a new buffer of `size` bytes (which may hold old bytes), or
 * NULL. */
static shmbuf_buf *kept_take(shmbuf_client *c, uint64_t size) {
  local_state *l = &c->local;
  unsigned cls = carve_class(size);
  handle_backing *bk = l->kept[cls];
  if (bk == NULL)
    return NULL;
  shmbuf_buf *b = handle_view(&c->handles, c, bk, bk->ab, size, 0);
  if (b == NULL)
    return NULL;
  l->kept[cls] = bk->next_spare;
  l->nkept[cls]--;
  bk->ab_length = bk->length = size;
  carve_count(&l->carves, size, true);
  return b;
}

/* Gives every kept carve back to its region. */
static void kept_drop(shmbuf_client *c) {
  local_state *l = &c->local;
  for (unsigned cls = 0; cls < CARVE_NCLASSES; cls++)
    while (l->kept[cls]) {
      handle_backing *bk = l->kept[cls];
      l->kept[cls] = bk->next_spare;
      l->nkept[cls]--;
      carve_count(&l->carves, bk->ab_length, true); /* put() uncounts it */
      put(c, bk->region, bk->region_off, bk->ab_length);
      handle_backing_free(&c->handles, &c->slabs, bk);
    }
}

/* Gives back the regions that hold nothing: all of them (`all`), or those a newer one took
 * the place of. */
static void regions_drop_idle(shmbuf_client *c, bool all) {
  carve_set *s = &c->local.carves;
  kept_drop(c);
  carve_shed(s, all);
  for (carve_region *r = s->regions, *next; r; r = next) {
    next = r->next;
    if (r->used == 0 && (all || r != s->regions))
      region_drop(c, r);
  }
}

static bool out_of_memory(int rc) { return rc == -ENOMEM || rc == -EDQUOT || rc == -ENOSPC; }

/* Whether anything is held ahead of need (kept ArrayBuffers and carves, regions holding
 * nothing). */
static bool holds_ahead(const shmbuf_client *c) {
  for (unsigned cls = 0; cls < CARVE_NCLASSES; cls++)
    if (c->local.kept[cls])
      return true;
  return c->local.cache[0] || carve_spare(&c->local.carves);
}

/* Leases a region for a carve of `size` bytes: the next size in the doubling, or what the
 * carve takes when that is more. When the daemon has no memory for it, what is held ahead
 * of need goes back and the least that holds the carve is asked for. Returns 0 or a negative
 * errno, recorded. */
static int lease(shmbuf_client *c, uint64_t size) {
  local_state *l = &c->local;
  uint64_t least = carve_region_for(size), want = least > l->next_region ? least : l->next_region;
  Shmbufwire__Buffer b;
  int rc = flight_call_batched(&c->flight, SHMBUFWIRE__REQUEST__OP_LEASE, (int64_t)want, &b);
  if (out_of_memory(rc) && (want > least || holds_ahead(c))) {
    local_trim(c);
    want = least;
    rc = flight_call_batched(&c->flight, SHMBUFWIRE__REQUEST__OP_LEASE, (int64_t)want, &b);
  }
  if (rc < 0)
    return rc;
  handle_backing *bk;
  const char *why;
  if ((rc = handle_backing_of(&c->handles, &c->slabs, &b, &bk, &why)) == -EPROTO)
    return wire_broken(&c->wire, rc, why);
  if (rc < 0) {
    local_release(c, b.buffer, b.ab_length);
    return rc;
  }
  carve_region *r = NULL;
  if (bk->ab_length != want || bk->byte_offset != 0 || bk->length != want)
    rc = wire_broken(&c->wire, -EPROTO, "the daemon leased a region of the wrong size");
  else if ((r = carve_region_add(&l->carves, bk->ab, want, bk)) == NULL)
    rc = errors_no_memory();
  if (rc < 0) {
    release_backing(c, bk);
    handle_backing_free(&c->handles, &c->slabs, bk);
    return rc;
  }
  bk->refs = 1;
  l->next_region = want * 2 < CARVE_REGION_MAX ? want * 2 : CARVE_REGION_MAX;
  regions_drop_idle(c, false);
  /* The daemon reserved the pages; mapping them all in one call costs less than half of what
   * faulting them in one by one does (BENCHMARKS.md). A kernel without it faults them later. */
  madvise(bk->ab, want, MADV_POPULATE_WRITE);
  return 0;
}

/* A carve of `size` bytes, leasing a region when none has room. Returns 0 or a negative
 * errno, recorded. */
static int take(shmbuf_client *c, uint64_t size, carve *k) {
  if (c->local.next_region == 0)
    c->local.next_region = LOCAL_REGION_FIRST;
  int rc = carve_take(&c->local.carves, size, k);
  if (rc == -ENOSPC) {
    if ((rc = lease(c, size)) < 0)
      return rc; /* recorded */
    rc = carve_take(&c->local.carves, size, k);
  }
  return rc == -ENOMEM ? errors_no_memory() : rc;
}

/* A backing for carve k of `size` bytes, with no reference yet, or NULL (out of memory,
 * recorded; the carve is given back). */
static handle_backing *carved(shmbuf_client *c, const carve *k, uint64_t size, bool pooled) {
  const handle_backing *rb = k->region->owner;
  handle_backing *bk = handle_backing_new(&c->handles);
  if (bk == NULL) {
    put(c, k->region, k->off, size);
    return NULL;
  }
  /* the ArrayBuffer is named by its place in the slab, as the daemon's own are */
  *bk = (handle_backing){.id = rb->id, .slab = rb->slab, .ab = rb->ab + k->off,
                         .ab_length = size, .ab_key = rb->ab_key + k->off, .length = size,
                         .pooled = pooled, .region = k->region, .region_off = k->off};
  slabs_ref(&c->slabs, rb->slab);
  return bk;
}

int local_carve(shmbuf_client *c, uint64_t size, bool zero, shmbuf_buf **out) {
  shmbuf_buf *kept = size <= CARVE_SMALL_MAX ? kept_take(c, size) : NULL;
  if (kept) {
    if (zero)
      memset(kept->data, 0, size);
    *out = kept;
    return 0;
  }
  carve k;
  int rc = take(c, size, &k);
  if (rc < 0)
    return rc;
  handle_backing *bk = carved(c, &k, size, false);
  shmbuf_buf *b = bk ? handle_view(&c->handles, c, bk, bk->ab, size, 0) : NULL;
  if (b == NULL) {
    if (bk) {
      put(c, k.region, k.off, size);
      handle_backing_free(&c->handles, &c->slabs, bk);
    }
    return -ENOMEM;
  }
  if (zero && k.dirty)
    memset(bk->ab, 0, size);
  *out = b;
  return 0;
}

void local_unref(shmbuf_client *c, handle_backing *bk) {
  if (--bk->refs > 0 || cache_keep(c, bk) || (bk->region && kept_keep(&c->local, bk)))
    return;
  if (bk->region)
    put(c, bk->region, bk->region_off, bk->ab_length);
  else if (bk->id)
    release_backing(c, bk);
  handle_backing_free(&c->handles, &c->slabs, bk);
}

/* ---- pools --------------------------------------------------------------------------------------- */

/* Lets the current pool go: it leaves when its last view does. */
static void drop_current(shmbuf_client *c) {
  handle_backing *old = c->local.pool;
  if (old) {
    c->local.pool = NULL;
    local_unref(c, old);
  }
}

int local_pool_room(shmbuf_client *c, uint64_t room, uint8_t **at) {
  local_state *l = &c->local;
  if (l->pool == NULL || sb_pool_full(&l->rule, room)) { /* createPool() */
    carve k;
    handle_backing *bk;
    int rc = take(c, c->pool_size, &k);
    if (rc < 0)
      return rc;
    if ((bk = carved(c, &k, c->pool_size, true)) == NULL)
      return -ENOMEM;
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

/* ---- what is held ahead of need ------------------------------------------------------------------ */

bool local_trim_to_retry(shmbuf_client *c, int rc) {
  if (!out_of_memory(rc) || !holds_ahead(c))
    return false;
  local_trim(c);
  return true;
}

void local_trim(shmbuf_client *c) {
  cache_drop(c);
  regions_drop_idle(c, true);
  c->local.next_region = LOCAL_REGION_FIRST; /* what comes next starts small again */
  flight_flush(&c->flight); /* releases waiting for a request to ride with go now */
}

void local_fini(local_state *l) {
  if (l->pool && --l->pool->refs == 0)
    free(l->pool);
  for (size_t i = 0; i < LOCAL_CACHE_SLOTS; i++)
    free(l->cache[i]);
  for (unsigned cls = 0; cls < CARVE_NCLASSES; cls++)
    while (l->kept[cls]) {
      handle_backing *bk = l->kept[cls];
      l->kept[cls] = bk->next_spare;
      free(bk);
    }
  for (carve_region *r = l->carves.regions; r; r = r->next)
    free(r->owner);
  carve_fini(&l->carves);
  *l = (local_state){0};
}
