/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "segment.h"

/* ---- memory policy: the slab backend, with quotas ------------------------------------------ */

static int charge(void *ctx, int64_t bytes) {
  conn_session *s = ctx;
  session_books *b = s->books;
  if (bytes > 0) {
    uint64_t want = (uint64_t)bytes;
    uint64_t quota = b->limits.conn_max_bytes;
    if (quota && s->heap.slab.reserved + want > quota)
      return -EDQUOT;
    if (b->limits.max_memory && b->t.reserved + want > b->limits.max_memory)
      return -ENOMEM;
  }
  b->t.reserved += (uint64_t)bytes;
  return 0;
}

static void retire(void *ctx, const slab_seg *seg) {
  conn_session *s = ctx;
  if (!seg->announced)
    return;
  if (s->nretired == s->cap_retired) {
    size_t cap = s->cap_retired ? s->cap_retired * 2 : 8;
    uint32_t *r = realloc(s->retired, cap * sizeof *r);
    if (r == NULL)
      return; /* the peer keeps a stale mapping until it closes: harmless */
    s->retired = r;
    s->cap_retired = cap;
  }
  s->retired[s->nretired++] = seg->id;
}

static const slab_ops shm_ops = {
    .create = segment_create,
    .reserve = segment_reserve,
    .punch = segment_punch,
    .zero = segment_zero,
    .destroy = segment_close,
    .charge = charge,
    .retire = retire,
};

/* ---- sessions ---------------------------------------------------------------------------- */

session_tally session_tally_of(const conn_session *s) {
  return (session_tally){s->heap.buffers, s->heap.bytes, s->heap.pools, s->heap.slab.nsegs,
                         s->heap.slab.warm};
}

void session_account(conn_session *s, session_tally before) {
  session_tally after = session_tally_of(s);
  session_totals *t = &s->books->t;
  t->buffers += after.buffers - before.buffers;
  t->bytes += after.bytes - before.bytes;
  t->pools += after.pools - before.pools;
  t->slabs += after.slabs - before.slabs;
  t->warm += after.warm - before.warm;
}

void session_init(conn_session *s, session_books *b) {
  memset(s, 0, sizeof *s);
  s->books = b;
  s->pool_size = b->limits.pool_size;
  heap_init(&s->heap, &shm_ops, s, s->pool_size, b->limits.warm_bytes);
  b->t.connections++;
  b->t.connections_total++;
}

void session_fini(conn_session *s, bool punch) {
  session_tally before = session_tally_of(s);
  heap_fini(&s->heap, punch);
  session_account(s, before);
  s->books->t.connections--;
  free(s->retired);
  s->retired = NULL;
}

bool session_at_buffer_cap(const conn_session *s) {
  uint64_t max = s->books->limits.conn_max_buffers;
  return max && s->heap.buffers >= max;
}

uint32_t *session_retired_tell(conn_session *s, size_t *n) {
  *n = s->nretired;
  s->retired_told = true;
  return s->retired;
}

void session_request_starts(conn_session *s) {
  if (s->retired_told) {
    s->nretired = 0;
    s->retired_told = false;
  }
}
