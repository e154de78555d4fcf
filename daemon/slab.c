/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "slab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct slab_page {
  slab_seg *seg;
  slab_page *prev, *next; /* the class's list of pages with free chunks */
  uint64_t *freed;        /* small: chunk i was freed and not reused yet */
  uint32_t run;           /* run head: pages in the run */
  uint16_t used;          /* small: live chunks */
  uint16_t bump;          /* small: chunks handed out at least once */
  uint16_t index;         /* position in the segment */
  uint8_t cls;            /* small: class + 1; 0 otherwise */
  bool dirty;             /* small: the page held old bytes when its class took it */
};

/* Four classes per doubling, as jemalloc spaces them: at most 25% waste above 128 bytes. */
static const uint16_t class_size[SLAB_NCLASSES] = {
    16,   32,   48,   64,   80,   96,   112,  128,  160,  192,  224,
    256,  320,  384,  448,  512,  640,  768,  896,  1024, 1280, 1536,
    1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192};

static unsigned class_of(uint64_t size) {
  unsigned lo = 0, hi = SLAB_NCLASSES - 1;
  while (lo < hi) {
    unsigned mid = (lo + hi) / 2;
    if (class_size[mid] >= size)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

static unsigned class_chunks(unsigned cls) { return SLAB_PAGE / class_size[cls]; }

static uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

uint64_t slab_chunk_size(uint64_t size) {
  if (size <= SLAB_SMALL_MAX)
    return class_size[class_of(size)];
  if (size <= SLAB_RUN_MAX)
    return round_up(size, SLAB_PAGE);
  return round_up(size, SLAB_SOLO_ALIGN);
}

/* ---- bitmaps ----------------------------------------------------------------------------- */

static bool bit_get(const uint64_t *m, unsigned i) { return m[i / 64] >> (i % 64) & 1; }
static void bit_set(uint64_t *m, unsigned i) { m[i / 64] |= 1ull << (i % 64); }
static void bit_clear(uint64_t *m, unsigned i) { m[i / 64] &= ~(1ull << (i % 64)); }

/* Pages [first, first + n) of a segment's map. */
static void map_range(uint64_t *m, unsigned first, unsigned n, bool on) {
  for (unsigned i = first; i < first + n; i++)
    on ? bit_set(m, i) : bit_clear(m, i);
}

static unsigned map_count(const uint64_t *m, unsigned first, unsigned n) {
  unsigned c = 0;
  for (unsigned i = first; i < first + n; i++)
    c += bit_get(m, i);
  return c;
}

/* First fit: the lowest run of n clear bits among SLAB_SEG_PAGES, or -1. */
static int map_find_run(const uint64_t *m, unsigned n) {
  unsigned len = 0;
  for (unsigned i = 0; i < SLAB_SEG_PAGES; i++) {
    if (len == 0 && i % 64 == 0 && m[i / 64] == ~0ull) {
      i += 63;
      continue;
    }
    len = bit_get(m, i) ? 0 : len + 1;
    if (len == n)
      return (int)(i + 1 - n);
  }
  return -1;
}

/* ---- segments ---------------------------------------------------------------------------- */

static void slab_seg_link(slab_owner *o, slab_seg *s) {
  s->prev = NULL;
  s->next = o->segs;
  if (o->segs)
    o->segs->prev = s;
  o->segs = s;
  o->nsegs++;
}

static void slab_seg_unlink(slab_owner *o, slab_seg *s) {
  if (s->prev)
    s->prev->next = s->next;
  else
    o->segs = s->next;
  if (s->next)
    s->next->prev = s->prev;
  o->nsegs--;
}

static int slab_seg_new(slab_owner *o, uint64_t size, bool solo, slab_seg **out) {
  slab_seg *s = calloc(1, sizeof *s);
  if (s == NULL)
    return -ENOMEM;
  if (!solo) {
    s->pages = calloc(SLAB_SEG_PAGES, sizeof *s->pages);
    if (s->pages == NULL) {
      free(s);
      return -ENOMEM;
    }
    for (unsigned i = 0; i < SLAB_SEG_PAGES; i++) {
      s->pages[i].seg = s;
      s->pages[i].index = (uint16_t)i;
    }
  }
  int rc = o->ops->create(o->ctx, size, &s->fd);
  if (rc < 0) {
    free(s->pages);
    free(s);
    return rc;
  }
  s->id = ++o->next_id;
  s->size = size;
  s->solo = solo;
  slab_seg_link(o, s);
  *out = s;
  return 0;
}

/* Destroys a segment that holds nothing reserved. */
static void slab_seg_discard(slab_owner *o, slab_seg *s) {
  if (s->shared == NULL)
    o->ops->destroy(s->fd);
  slab_seg_unlink(o, s);
  free(s->pages);
  free(s);
}

/* Gives a segment's reserved bytes back and destroys it. */
static void slab_seg_destroy(slab_owner *o, slab_seg *s, bool punch) {
  uint64_t bytes;
  if (s->shared) { /* not ours to punch or pay for */
    o->ops->retire(o->ctx, s);
    o->ops->unshare(o->ctx, s->shared, s);
    slab_seg_discard(o, s);
    return;
  }
  if (s->solo)
    bytes = s->size;
  else {
    unsigned warm = map_count(s->warm_map, 0, SLAB_SEG_PAGES);
    bytes = ((uint64_t)warm + s->used_pages) * SLAB_PAGE;
    o->warm -= (uint64_t)warm * SLAB_PAGE;
    for (unsigned i = 0; i < SLAB_SEG_PAGES; i++)
      free(s->pages[i].freed);
  }
  if (punch && bytes > 0)
    o->ops->punch(s->fd, 0, s->size);
  o->reserved -= bytes;
  if (bytes > 0) /* charge() takes a request (> 0) or a refund (< 0), never nothing */
    o->ops->charge(o->ctx, -(int64_t)bytes);
  o->ops->retire(o->ctx, s);
  slab_seg_discard(o, s);
}

static bool slab_seg_empty(const slab_seg *s) { return s->used_pages == 0; }

/* Keeps one empty segment as a spare, so an owner that frees and allocates around a
 * segment boundary does not create, send and map a segment each time. */
static void slab_seg_maybe_destroy(slab_owner *o, slab_seg *s) {
  for (slab_seg *t = o->segs; t; t = t->next)
    if (t != s && !t->solo && slab_seg_empty(t)) {
      slab_seg_destroy(o, s, true);
      return;
    }
}

/* ---- pages and runs ---------------------------------------------------------------------- */

/* Takes n pages at `first` of s: reserves the ones that are holes, keeps the warm ones.
 * Sets *dirty when any page held old bytes. */
static int run_take(slab_owner *o, slab_seg *s, unsigned first, unsigned n, bool *dirty) {
  unsigned warm = map_count(s->warm_map, first, n);
  uint64_t fresh = (uint64_t)(n - warm) * SLAB_PAGE;
  if (fresh > 0) {
    int rc = o->ops->charge(o->ctx, (int64_t)fresh);
    if (rc < 0)
      return rc;
    rc = o->ops->reserve(s->fd, (uint64_t)first * SLAB_PAGE, (uint64_t)n * SLAB_PAGE);
    if (rc < 0) {
      o->ops->charge(o->ctx, -(int64_t)fresh);
      return rc;
    }
    o->reserved += fresh;
  }
  o->warm -= (uint64_t)warm * SLAB_PAGE;
  map_range(s->warm_map, first, n, false);
  map_range(s->used_map, first, n, true);
  s->used_pages += n;
  *dirty = warm > 0;
  return 0;
}

/* Frees n pages at `first` of s: they stay reserved while the warm reserve has room. */
static void run_put(slab_owner *o, slab_seg *s, unsigned first, unsigned n) {
  uint64_t bytes = (uint64_t)n * SLAB_PAGE;
  map_range(s->used_map, first, n, false);
  s->used_pages -= n;
  if (o->warm + bytes <= o->warm_limit) {
    map_range(s->warm_map, first, n, true);
    o->warm += bytes;
  } else {
    o->ops->punch(s->fd, (uint64_t)first * SLAB_PAGE, bytes);
    o->reserved -= bytes;
    o->ops->charge(o->ctx, -(int64_t)bytes);
  }
  if (slab_seg_empty(s))
    slab_seg_maybe_destroy(o, s);
}

/* Finds n free pages in some segment, making a new segment when none has room. */
static int run_alloc(slab_owner *o, unsigned n, slab_seg **seg, unsigned *first, bool *dirty) {
  for (slab_seg *s = o->segs; s; s = s->next) {
    if (s->solo || SLAB_SEG_PAGES - s->used_pages < n)
      continue;
    int at = map_find_run(s->used_map, n);
    if (at >= 0) {
      int rc = run_take(o, s, (unsigned)at, n, dirty);
      if (rc < 0)
        return rc;
      *seg = s;
      *first = (unsigned)at;
      return 0;
    }
  }
  slab_seg *s;
  int rc = slab_seg_new(o, SLAB_SEG_SIZE, false, &s);
  if (rc < 0)
    return rc;
  rc = run_take(o, s, 0, n, dirty);
  if (rc < 0)
    return rc; /* the new, empty segment stays as the spare */
  *seg = s;
  *first = 0;
  return 0;
}

/* ---- small chunks ------------------------------------------------------------------------ */

static void partial_push(slab_owner *o, slab_page *p) {
  unsigned c = p->cls - 1u;
  p->prev = NULL;
  p->next = o->partial[c];
  if (p->next)
    p->next->prev = p;
  o->partial[c] = p;
}

static void partial_remove(slab_owner *o, slab_page *p) {
  if (p->prev)
    p->prev->next = p->next;
  else
    o->partial[p->cls - 1u] = p->next;
  if (p->next)
    p->next->prev = p->prev;
  p->prev = p->next = NULL;
}

static int small_alloc(slab_owner *o, unsigned cls, slab_seg **seg, uint64_t *off, bool *dirty) {
  slab_page *p = o->partial[cls];
  unsigned cap = class_chunks(cls);
  if (p == NULL) {
    slab_seg *s;
    unsigned first;
    bool page_dirty;
    uint64_t *freed = calloc((cap + 63) / 64, sizeof *freed);
    if (freed == NULL)
      return -ENOMEM;
    int rc = run_alloc(o, 1, &s, &first, &page_dirty);
    if (rc < 0) {
      free(freed);
      return rc;
    }
    p = &s->pages[first];
    p->freed = freed;
    p->cls = (uint8_t)(cls + 1);
    p->used = p->bump = 0;
    p->dirty = page_dirty;
    partial_push(o, p);
  }
  unsigned i;
  if (p->bump > p->used) { /* reuse a freed chunk before touching new ones */
    unsigned w = 0;
    while (p->freed[w] == 0)
      w++;
    i = w * 64 + (unsigned)__builtin_ctzll(p->freed[w]);
    bit_clear(p->freed, i);
    *dirty = true;
  } else {
    i = p->bump++;
    *dirty = p->dirty;
  }
  if (++p->used == cap)
    partial_remove(o, p);
  *seg = p->seg;
  *off = (uint64_t)p->index * SLAB_PAGE + (uint64_t)i * class_size[cls];
  return 0;
}

static void small_free(slab_owner *o, slab_page *p, uint64_t off) {
  unsigned cls = p->cls - 1u;
  unsigned i = (unsigned)(off % SLAB_PAGE) / class_size[cls];
  if (p->used == class_chunks(cls))
    partial_push(o, p);
  bit_set(p->freed, i);
  if (--p->used > 0)
    return;
  partial_remove(o, p);
  free(p->freed);
  p->freed = NULL;
  p->cls = 0;
  run_put(o, p->seg, p->index, 1);
}

/* ---- public ------------------------------------------------------------------------------ */

void slab_owner_init(slab_owner *o, const slab_ops *ops, void *ctx, uint64_t warm_limit) {
  memset(o, 0, sizeof *o);
  o->ops = ops;
  o->ctx = ctx;
  o->warm_limit = warm_limit;
}

void slab_owner_fini(slab_owner *o, bool punch) {
  while (o->segs)
    slab_seg_destroy(o, o->segs, punch);
  memset(o->partial, 0, sizeof o->partial);
}

static int solo_alloc(slab_owner *o, uint64_t size, bool reserve, slab_seg **seg, uint64_t *off,
                      bool *dirty) {
  uint64_t bytes = round_up(size, SLAB_SOLO_ALIGN);
  int rc = o->ops->charge(o->ctx, (int64_t)bytes);
  if (rc < 0)
    return rc;
  slab_seg *s;
  rc = slab_seg_new(o, bytes, true, &s);
  if (rc == 0 && reserve) {
    rc = o->ops->reserve(s->fd, 0, bytes);
    if (rc < 0)
      slab_seg_discard(o, s);
  }
  if (rc < 0) {
    o->ops->charge(o->ctx, -(int64_t)bytes);
    return rc;
  }
  o->reserved += bytes;
  s->used_pages = 1;
  *seg = s;
  *off = 0;
  *dirty = false;
  return 0;
}

static int alloc_once(slab_owner *o, uint64_t size, unsigned flags, slab_seg **seg, uint64_t *off,
                      bool *dirty) {
  if (size <= SLAB_SMALL_MAX)
    return small_alloc(o, class_of(size), seg, off, dirty);
  if (size <= SLAB_RUN_MAX) {
    unsigned n = (unsigned)(round_up(size, SLAB_PAGE) / SLAB_PAGE), first;
    int rc = run_alloc(o, n, seg, &first, dirty);
    if (rc < 0)
      return rc;
    (*seg)->pages[first].run = n;
    *off = (uint64_t)first * SLAB_PAGE;
    return 0;
  }
  return solo_alloc(o, size, !(flags & SLAB_UNRESERVED), seg, off, dirty);
}

int slab_alloc(slab_owner *o, uint64_t size, unsigned flags, slab_seg **seg, uint64_t *off) {
  if (size == 0 || size > ((uint64_t)1 << 46))
    return -EFBIG;
  bool dirty;
  int rc = alloc_once(o, size, flags, seg, off, &dirty);
  if ((rc == -EDQUOT || rc == -ENOMEM || rc == -ENOSPC) && slab_drop_warm(o) > 0)
    rc = alloc_once(o, size, flags, seg, off, &dirty);
  if (rc < 0)
    return rc;
  if ((flags & SLAB_ZERO) && dirty) {
    rc = o->ops->zero((*seg)->fd, *off, size);
    if (rc < 0) {
      slab_free(o, *seg, *off);
      return rc;
    }
  }
  return 0;
}

void slab_free(slab_owner *o, slab_seg *s, uint64_t off) {
  if (s->solo) {
    s->used_pages = 0;
    slab_seg_destroy(o, s, true);
    return;
  }
  slab_page *p = &s->pages[off / SLAB_PAGE];
  if (p->cls)
    small_free(o, p, off);
  else {
    unsigned n = p->run;
    p->run = 0;
    run_put(o, s, p->index, n);
  }
}

uint64_t slab_drop_warm(slab_owner *o) {
  uint64_t dropped = 0;
  for (slab_seg *s = o->segs, *next; s; s = next) {
    next = s->next;
    if (s->solo)
      continue;
    for (unsigned i = 0; i < SLAB_SEG_PAGES; i++) {
      if (!bit_get(s->warm_map, i))
        continue;
      unsigned n = 1;
      while (i + n < SLAB_SEG_PAGES && bit_get(s->warm_map, i + n))
        n++;
      o->ops->punch(s->fd, (uint64_t)i * SLAB_PAGE, (uint64_t)n * SLAB_PAGE);
      map_range(s->warm_map, i, n, false);
      dropped += (uint64_t)n * SLAB_PAGE;
      i += n - 1;
    }
  }
  o->warm -= dropped;
  o->reserved -= dropped;
  if (dropped > 0)
    o->ops->charge(o->ctx, -(int64_t)dropped);
  return dropped;
}

void slab_punch_holes(slab_owner *o) {
  for (slab_seg *s = o->segs; s; s = s->next) {
    if (s->solo) /* wholly reserved, or an object owned elsewhere */
      continue;
    for (unsigned i = 0; i < SLAB_SEG_PAGES; i++) {
      unsigned n = 0;
      while (i + n < SLAB_SEG_PAGES && !bit_get(s->used_map, i + n) && !bit_get(s->warm_map, i + n))
        n++;
      if (n > 0)
        o->ops->punch(s->fd, (uint64_t)i * SLAB_PAGE, (uint64_t)n * SLAB_PAGE);
      i += n;
    }
  }
}

int slab_adopt(slab_owner *o, void *shared, int fd, uint64_t size, bool read_only,
               slab_seg **out) {
  slab_seg *s = calloc(1, sizeof *s);
  if (s == NULL)
    return -ENOMEM;
  s->id = ++o->next_id;
  s->fd = fd;
  s->size = size;
  s->solo = true;
  s->used_pages = 1;
  s->read_only = read_only;
  s->shared = shared;
  slab_seg_link(o, s);
  *out = s;
  return 0;
}

void slab_hand_over(slab_owner *o, slab_seg *s, void *shared) {
  o->reserved -= s->size;
  o->ops->charge(o->ctx, -(int64_t)s->size);
  s->shared = shared;
}
