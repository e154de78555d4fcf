/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "heap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SLOTS 256u

enum { SLOT_FREE, SLOT_EMPTY, SLOT_DEDICATED, SLOT_POOLED };

struct heap_slot {
  union {
    slab_seg *seg;   /* SLOT_DEDICATED */
    heap_pool *pool; /* SLOT_POOLED */
    uint64_t next;   /* SLOT_FREE: index + 1 of the next free slot */
  } u;
  uint64_t off;       /* dedicated: ArrayBuffer offset in seg; pooled: byte offset in pool */
  uint64_t length;
  uint64_t ab_length; /* dedicated */
  uint64_t view;      /* dedicated: the buffer's byteOffset in its ArrayBuffer */
  uint32_t gen;       /* bumped on release, so stale ids miss */
  uint8_t kind;
  bool pooled;        /* dedicated, shown as pooled (a leased pool) */
  bool region;        /* dedicated, a leased region (HEAP_REGION) */
};

struct heap_pool {
  slab_seg *seg;
  uint64_t off;
  uint64_t refs; /* live buffers, plus one while current */
};

void heap_init(buffer_heap *h, const slab_ops *ops, void *ctx, uint32_t pool_size,
               uint64_t warm_limit) {
  memset(h, 0, sizeof *h);
  slab_owner_init(&h->slab, ops, ctx, warm_limit);
  h->pool.size = pool_size;
}

static heap_slot *slot_at(const buffer_heap *h, uint64_t index) {
  return &h->blocks[index / BLOCK_SLOTS][index % BLOCK_SLOTS];
}

static void pool_unref(buffer_heap *h, heap_pool *p) {
  if (--p->refs > 0)
    return;
  slab_free(&h->slab, p->seg, p->off);
  free(p);
  h->pools--;
}

void heap_fini(buffer_heap *h, bool punch) {
  /* Segments go wholesale; only the bookkeeping around them needs walking. */
  for (uint64_t i = 0; i < h->nslots; i++) {
    heap_slot *s = slot_at(h, i);
    if (s->kind == SLOT_POOLED && --s->u.pool->refs == 0)
      free(s->u.pool);
  }
  if (h->current && --h->current->refs == 0)
    free(h->current);
  for (uint32_t b = 0; b < h->nblocks; b++)
    free(h->blocks[b]);
  free(h->blocks);
  slab_owner_fini(&h->slab, punch);
  h->blocks = NULL;
  h->nblocks = h->nslots = 0;
  h->free_slot = 0; /* the free list lived in the blocks just freed */
  h->current = NULL;
  h->buffers = h->bytes = h->pools = h->leased = 0;
}

/* A free slot, or NULL with -ENOMEM in *rc. */
static heap_slot *slot_new(buffer_heap *h, uint64_t *index, int *rc) {
  if (h->free_slot) {
    *index = h->free_slot - 1;
    heap_slot *s = slot_at(h, *index);
    h->free_slot = s->u.next;
    return s;
  }
  if (h->nslots == (uint64_t)h->nblocks * BLOCK_SLOTS) {
    if (h->nblocks == UINT32_MAX / BLOCK_SLOTS) {
      *rc = -ENOMEM;
      return NULL;
    }
    heap_slot **blocks = realloc(h->blocks, (h->nblocks + 1) * sizeof *blocks);
    if (blocks == NULL) {
      *rc = -ENOMEM;
      return NULL;
    }
    h->blocks = blocks;
    if ((blocks[h->nblocks] = calloc(BLOCK_SLOTS, sizeof **blocks)) == NULL) {
      *rc = -ENOMEM;
      return NULL;
    }
    h->nblocks++;
  }
  *index = h->nslots++;
  heap_slot *s = slot_at(h, *index);
  if (s->gen == 0)
    s->gen = 1;
  return s;
}

static void slot_put(buffer_heap *h, heap_slot *s, uint64_t index) {
  s->kind = SLOT_FREE;
  if (++s->gen == 0)
    s->gen = 1;
  s->u.next = h->free_slot;
  h->free_slot = index + 1;
}

static void view_of(const buffer_heap *h, const heap_slot *s, uint64_t index, heap_view *v) {
  v->id = (uint64_t)s->gen << 32 | (index + 1);
  v->length = s->length;
  switch (s->kind) {
  case SLOT_POOLED:
    v->seg = s->u.pool->seg;
    v->ab_offset = s->u.pool->off;
    v->byte_offset = s->off;
    v->ab_length = h->pool.size;
    v->pooled = true;
    break;
  case SLOT_DEDICATED:
    v->seg = s->u.seg;
    v->ab_offset = s->off;
    v->byte_offset = s->view;
    v->ab_length = s->ab_length;
    v->pooled = s->pooled;
    break;
  default:
    v->seg = NULL;
    v->ab_offset = v->byte_offset = v->ab_length = 0;
    v->pooled = false;
  }
}

static void slot_commit(buffer_heap *h, heap_slot *s, uint64_t index, uint8_t kind, uint64_t length,
                        heap_view *out) {
  s->kind = kind;
  s->length = length;
  h->buffers++;
  h->bytes += length;
  view_of(h, s, index, out);
}

int heap_dedicated(buffer_heap *h, uint64_t ab_length, uint64_t length, unsigned flags,
                   heap_view *out) {
  bool pooled = flags & HEAP_LEASED;
  uint64_t index;
  int rc;
  heap_slot *s = slot_new(h, &index, &rc);
  if (s == NULL)
    return rc;
  rc = slab_alloc(&h->slab, ab_length,
                  (flags & HEAP_ZERO ? SLAB_ZERO : 0) | (flags & HEAP_UNRESERVED ? SLAB_UNRESERVED : 0),
                  &s->u.seg, &s->off);
  if (rc < 0) {
    slot_put(h, s, index);
    return rc;
  }
  s->ab_length = ab_length;
  s->view = 0;
  s->pooled = pooled;
  s->region = flags & HEAP_REGION;
  h->pools += pooled; /* a leased pool is one of this connection's pools */
  h->leased += s->region ? ab_length : 0;
  slot_commit(h, s, index, SLOT_DEDICATED, length, out);
  return 0;
}

/* Starts a new pool, as createPool() does; the old one lives on while buffers use it. */
static int pool_new(buffer_heap *h) {
  heap_pool *p = malloc(sizeof *p);
  if (p == NULL)
    return -ENOMEM;
  int rc = slab_alloc(&h->slab, h->pool.size, 0, &p->seg, &p->off);
  if (rc < 0) {
    free(p);
    return rc;
  }
  p->refs = 1;
  h->pools++;
  if (h->current)
    pool_unref(h, h->current);
  h->current = p;
  h->pool.offset = 0;
  return 0;
}

int heap_pooled(buffer_heap *h, uint64_t room, uint64_t used, heap_view *out) {
  uint64_t index;
  int rc;
  heap_slot *s = slot_new(h, &index, &rc);
  if (s == NULL)
    return rc;
  if (h->current == NULL || sb_pool_full(&h->pool, room)) {
    rc = pool_new(h);
    if (rc < 0) {
      slot_put(h, s, index);
      return rc;
    }
  }
  s->u.pool = h->current;
  s->u.pool->refs++;
  s->off = sb_pool_take(&h->pool, (uint32_t)used);
  slot_commit(h, s, index, SLOT_POOLED, used, out);
  return 0;
}

int heap_empty(buffer_heap *h, heap_view *out) {
  uint64_t index;
  int rc;
  heap_slot *s = slot_new(h, &index, &rc);
  if (s == NULL)
    return rc;
  slot_commit(h, s, index, SLOT_EMPTY, 0, out);
  return 0;
}

/* The live slot an id names, or NULL. */
static heap_slot *slot_find(const buffer_heap *h, uint64_t id, uint64_t *index) {
  uint64_t i = (id & 0xffffffffu);
  if (i == 0 || i > h->nslots)
    return NULL;
  heap_slot *s = slot_at(h, i - 1);
  if (s->kind == SLOT_FREE || s->gen != (uint32_t)(id >> 32))
    return NULL;
  *index = i - 1;
  return s;
}

int heap_get(const buffer_heap *h, uint64_t id, heap_view *out) {
  uint64_t index;
  const heap_slot *s = slot_find(h, id, &index);
  if (s == NULL)
    return -ENOENT;
  view_of(h, s, index, out);
  return 0;
}

int heap_release(buffer_heap *h, uint64_t id) {
  uint64_t index;
  heap_slot *s = slot_find(h, id, &index);
  if (s == NULL)
    return -ENOENT;
  if (s->kind == SLOT_POOLED)
    pool_unref(h, s->u.pool);
  else if (s->kind == SLOT_DEDICATED) {
    slab_free(&h->slab, s->u.seg, s->off);
    h->pools -= s->pooled;
    h->leased -= s->region ? s->ab_length : 0;
  }
  h->buffers--;
  h->bytes -= s->length;
  slot_put(h, s, index);
  return 0;
}

int heap_adopt(buffer_heap *h, slab_seg *seg, uint64_t ab_length, uint64_t byte_offset,
               uint64_t length, heap_view *out) {
  uint64_t index;
  int rc;
  heap_slot *s = slot_new(h, &index, &rc);
  if (s == NULL)
    return rc;
  s->u.seg = seg;
  s->off = 0;
  s->ab_length = ab_length;
  s->view = byte_offset;
  s->pooled = s->region = false;
  slot_commit(h, s, index, SLOT_DEDICATED, length, out);
  return 0;
}

slab_seg *heap_own_segment(const buffer_heap *h, uint64_t id) {
  uint64_t index;
  const heap_slot *s = slot_find(h, id, &index);
  /* an object made for sharing is sized to its ArrayBuffer's pages, not to a chunk */
  return s && s->kind == SLOT_DEDICATED && !s->region && s->u.seg->solo && s->off == 0 &&
                 (s->u.seg->shared || s->u.seg->size == slab_chunk_size(s->ab_length))
             ? s->u.seg
             : NULL;
}
