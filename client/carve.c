/* SPDX-License-Identifier: MIT */
/* libshmbuf: ArrayBuffers carved out of leased regions (see carve.h). */
#include "config.h"

#include "carve.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_SHIFT 12
#define SMALL_CLASSES 8    /* 16 to 128 in steps of 16; then four per doubling */
#define CHUNKS_MAX (CARVE_PAGE / 16)

struct carve_chunks {
  carve_region *r;
  uint32_t page;
  uint8_t cls;
  bool dirty;              /* the page had held bytes when the class took it */
  uint16_t used, bump;     /* live chunks; chunks handed out at least once */
  uint64_t freed[CHUNKS_MAX / 64]; /* chunks given back and not taken again */
  carve_chunks *prev, *next;
};

static const uint16_t class_size[CARVE_NCLASSES] = {
    16,  32,  48,  64,  80,   96,   112,  128,  160,  192,  224,  256,
    320, 384, 448, 512, 640, 768, 896, 1024, 1280, 1536, 1792, 2048};

unsigned carve_class(uint64_t size) {
  if (size <= 16 * SMALL_CLASSES)
    return (unsigned)(size - 1) / 16;
  unsigned k = 63 - (unsigned)__builtin_clzll(size - 1); /* 2^k < size <= 2^(k+1) */
  return SMALL_CLASSES + (k - 7) * 4 + (unsigned)((size - 1) >> (k - 2)) - 4;
}

static unsigned class_chunks(unsigned cls) { return CARVE_PAGE / class_size[cls]; }

/* The bits [first, first + n) of word w of a map, as a mask of that word. */
static uint64_t mask_of(uint32_t w, uint32_t first, uint32_t n) {
  uint32_t lo = first > w * 64 ? first - w * 64 : 0, hi = first + n - w * 64;
  uint64_t below_hi = hi >= 64 ? ~0ull : (1ull << hi) - 1;
  return below_hi & ~((1ull << lo) - 1);
}

static void set_bits(uint64_t *m, uint32_t first, uint32_t n, bool on) {
  for (uint32_t w = first / 64; w * 64 < first + n; w++)
    m[w] = on ? m[w] | mask_of(w, first, n) : m[w] & ~mask_of(w, first, n);
}

static bool any_bit(const uint64_t *m, uint32_t first, uint32_t n) {
  for (uint32_t w = first / 64; w * 64 < first + n; w++)
    if (m[w] & mask_of(w, first, n))
      return true;
  return false;
}

uint64_t carve_region_for(uint64_t size) {
  uint64_t pages = (size + CARVE_PAGE - 1) / CARVE_PAGE * CARVE_PAGE, r = CARVE_PAGE;
  while (r < pages)
    r *= 2;
  uint64_t step = r / 8 > CARVE_PAGE ? r / 8 : CARVE_PAGE; /* eight sizes a doubling */
  return (pages + step - 1) / step * step;
}

/* ---- regions --------------------------------------------------------------------------------- */

carve_region *carve_region_add(carve_set *s, uint8_t *base, uint64_t size, void *owner) {
  uint32_t npages = (uint32_t)(size / CARVE_PAGE), words = (npages + 63) / 64;
  carve_region *r = calloc(1, sizeof *r);
  uint64_t *maps = calloc(2 * (size_t)words, sizeof *maps);
  carve_chunks **chunks = calloc(npages, sizeof *chunks);
  if (r == NULL || maps == NULL || chunks == NULL) {
    free(r);
    free(maps);
    free(chunks);
    return NULL;
  }
  *r = (carve_region){.base = base, .size = (uint64_t)npages * CARVE_PAGE, .owner = owner,
                      .npages = npages, .busy = maps, .dirty = maps + words, .chunks = chunks,
                      .next = s->regions};
  set_bits(r->busy, npages, words * 64 - npages, true); /* past the end: never free */
  if (s->regions)
    s->regions->prev = r;
  s->regions = r;
  s->nregions++;
  s->leased += r->size;
  return r;
}

void carve_region_remove(carve_set *s, carve_region *r) {
  if (r->prev)
    r->prev->next = r->next;
  else
    s->regions = r->next;
  if (r->next)
    r->next->prev = r->prev;
  s->nregions--;
  s->leased -= r->size;
  free(r->busy);
  free(r->chunks);
  free(r);
}

void carve_fini(carve_set *s) {
  while (s->regions) {
    carve_region *r = s->regions;
    for (uint32_t i = 0; i < r->npages; i++)
      free(r->chunks[i]);
    carve_region_remove(s, r);
  }
  *s = (carve_set){0};
}

/* The first page from `from` on whose busy bit is `busy`, or the end of the map. */
static uint32_t next_page(const carve_region *r, uint32_t from, bool busy) {
  uint32_t words = (r->npages + 63) / 64, w = from / 64;
  if (w >= words)
    return words * 64;
  uint64_t bits = (busy ? r->busy[w] : ~r->busy[w]) & ~((1ull << (from % 64)) - 1);
  while (bits == 0) {
    if (++w == words)
      return words * 64;
    bits = busy ? r->busy[w] : ~r->busy[w];
  }
  return w * 64 + (uint32_t)__builtin_ctzll(bits);
}

/* First fit: the lowest run of n free pages in r, or -1 (the map's padding is busy). */
static int64_t find_run(const carve_region *r, uint32_t n) {
  for (uint32_t start = next_page(r, 0, false); start < r->npages;) {
    uint32_t end = next_page(r, start, true);
    if (end - start >= n)
      return start;
    start = next_page(r, end, false);
  }
  return -1;
}

/* Takes n free pages from the newest region that has them. */
static int pages_take(carve_set *s, uint32_t n, carve *out) {
  for (carve_region *r = s->regions; r; r = r->next) {
    int64_t at = r->npages - r->used >= n ? find_run(r, n) : -1;
    if (at < 0)
      continue;
    set_bits(r->busy, (uint32_t)at, n, true);
    r->used += n;
    *out = (carve){r, (uint64_t)at * CARVE_PAGE, any_bit(r->dirty, (uint32_t)at, n)};
    return 0;
  }
  return -ENOSPC;
}

/* Gives n pages back; they have held bytes now. Returns r when it holds nothing and is not
 * the newest. */
static carve_region *pages_put(carve_set *s, carve_region *r, uint32_t first, uint32_t n) {
  set_bits(r->busy, first, n, false);
  set_bits(r->dirty, first, n, true);
  r->used -= n;
  return r->used == 0 && r != s->regions ? r : NULL;
}

/* ---- chunks ------------------------------------------------------------------------------------ */

static void partial_push(carve_set *s, carve_chunks *p) {
  p->prev = NULL;
  p->next = s->partial[p->cls];
  if (p->next)
    p->next->prev = p;
  s->partial[p->cls] = p;
}

static void partial_remove(carve_set *s, carve_chunks *p) {
  if (p->prev)
    p->prev->next = p->next;
  else
    s->partial[p->cls] = p->next;
  if (p->next)
    p->next->prev = p->prev;
  p->prev = p->next = NULL;
}

static int chunk_take(carve_set *s, unsigned cls, carve *out) {
  carve_chunks *p = s->partial[cls];
  if (p == NULL) {
    carve page;
    if ((p = calloc(1, sizeof *p)) == NULL)
      return -ENOMEM;
    int rc = pages_take(s, 1, &page);
    if (rc < 0) {
      free(p);
      return rc;
    }
    p->r = page.region;
    p->page = (uint32_t)(page.off / CARVE_PAGE);
    p->cls = (uint8_t)cls;
    p->dirty = page.dirty;
    p->r->chunks[p->page] = p;
    partial_push(s, p);
  }
  unsigned i;
  bool dirty;
  if (p->bump > p->used) { /* a chunk given back before one never touched */
    unsigned w = 0;
    while (p->freed[w] == 0)
      w++;
    i = w * 64 + (unsigned)__builtin_ctzll(p->freed[w]);
    p->freed[w] &= p->freed[w] - 1;
    dirty = true;
  } else {
    i = p->bump++;
    dirty = p->dirty;
  }
  if (++p->used == class_chunks(cls))
    partial_remove(s, p);
  *out = (carve){p->r, (uint64_t)p->page * CARVE_PAGE + (uint64_t)i * class_size[cls], dirty};
  return 0;
}

/* Gives an empty chunk page back to its region. */
static carve_region *chunks_free(carve_set *s, carve_chunks *p) {
  partial_remove(s, p);
  carve_region *r = p->r;
  uint32_t page = p->page;
  r->chunks[page] = NULL;
  free(p);
  return pages_put(s, r, page, 1);
}

/* An empty chunk page the class keeps (so that taking and giving back one chunk does not
 * churn pages): the only one of its class with room, in the newest region. */
static bool chunks_kept(const carve_set *s, const carve_chunks *p) {
  return s->partial[p->cls] == p && p->next == NULL && p->r == s->regions;
}

static carve_region *chunk_put(carve_set *s, carve_chunks *p, uint64_t off) {
  unsigned i = (unsigned)(off % CARVE_PAGE) / class_size[p->cls];
  if (p->used == class_chunks(p->cls))
    partial_push(s, p);
  p->freed[i / 64] |= 1ull << (i % 64);
  if (--p->used > 0 || chunks_kept(s, p))
    return NULL;
  return chunks_free(s, p);
}

void carve_shed(carve_set *s, bool all) {
  for (unsigned cls = 0; cls < CARVE_NCLASSES; cls++) {
    carve_chunks *p = s->partial[cls];
    if (p && p->used == 0 && (all || !chunks_kept(s, p)))
      chunks_free(s, p);
  }
}

bool carve_spare(const carve_set *s) {
  for (const carve_region *r = s->regions; r; r = r->next)
    if (r->used == 0)
      return true;
  for (unsigned cls = 0; cls < CARVE_NCLASSES; cls++)
    if (s->partial[cls] && s->partial[cls]->used == 0)
      return true;
  return false;
}

/* ---- carves ------------------------------------------------------------------------------------ */

void carve_count(carve_set *s, uint64_t size, bool live) {
  s->carves += live ? 1 : -1ull;
  s->carved += live ? size : -size;
}

int carve_take(carve_set *s, uint64_t size, carve *out) {
  int rc = size <= CARVE_SMALL_MAX
               ? chunk_take(s, carve_class(size), out)
               : pages_take(s, (uint32_t)((size + CARVE_PAGE - 1) >> PAGE_SHIFT), out);
  if (rc == 0)
    carve_count(s, size, true);
  return rc;
}

carve_region *carve_put(carve_set *s, carve_region *r, uint64_t off, uint64_t size) {
  carve_count(s, size, false);
  if (size <= CARVE_SMALL_MAX)
    return chunk_put(s, r->chunks[off / CARVE_PAGE], off);
  return pages_put(s, r, (uint32_t)(off / CARVE_PAGE),
                   (uint32_t)((size + CARVE_PAGE - 1) >> PAGE_SHIFT));
}
