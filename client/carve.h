/* SPDX-License-Identifier: MIT */
/* ArrayBuffers carved out of regions: memory the connection leased from the daemon in big
 * pieces, given out again here, each carve exactly as long as asked, the way memcached's
 * slabs.c gives out a slab's memory. A region is cut into 4 KiB pages; a carve of more than
 * 2 KiB takes a run of whole pages (first fit), a smaller one a chunk of a page given to its
 * size class (four classes per doubling). A region reads as zeros when leased: the pages and
 * chunks never handed out since are still zero, and a carve says whether it may hold old
 * bytes (the connection's own, never another's).
 *
 * Bookkeeping only: no I/O and no protocol. Which regions to lease and when to give one back
 * is the local allocator's business (local.h). */
#ifndef SBC_CARVE_H
#define SBC_CARVE_H

#include <stdbool.h>
#include <stdint.h>

#define CARVE_PAGE 4096u
#define CARVE_SMALL_MAX 2048u        /* larger carves take runs of pages */
#define CARVE_REGION_MAX (2u << 20)  /* the largest region, and so the largest carve */
#define CARVE_NCLASSES 24

typedef struct carve_chunks carve_chunks;

typedef struct carve_region {
  uint8_t *base;
  uint64_t size;           /* a multiple of CARVE_PAGE, at most CARVE_REGION_MAX */
  void *owner;             /* the caller's: the lease this region is */
  uint32_t npages, used;   /* pages, and pages holding carves */
  uint64_t *busy, *dirty;  /* page maps: holds a carve; has held one since the lease */
  carve_chunks **chunks;   /* by page: the size class's page it is, or NULL */
  struct carve_region *prev, *next;
} carve_region;

typedef struct carve_set {
  carve_region *regions;   /* newest first */
  carve_chunks *partial[CARVE_NCLASSES]; /* per class, its pages with a free chunk */
  uint64_t nregions, leased; /* the regions, and their bytes */
  uint64_t carves, carved; /* the live carves, and their bytes (as asked, not as rounded) */
} carve_set;

/* Where a carve is. */
typedef struct carve {
  carve_region *region;
  uint64_t off;            /* from the region's base */
  bool dirty;              /* it may hold old bytes (otherwise it reads as zeros) */
} carve;

/* Adds a zero-filled region of `size` bytes at base, the newest. Returns it, or NULL when out
 * of memory (not recorded). */
carve_region *carve_region_add(carve_set *s, uint8_t *base, uint64_t size, void *owner);

/* Takes the region out of the set; it holds no carve. */
void carve_region_remove(carve_set *s, carve_region *r);

/* A carve of `size` bytes (0 < size <= CARVE_REGION_MAX) from the newest region with room.
 * Returns 0, -ENOSPC when no region has room, or -ENOMEM. */
int carve_take(carve_set *s, uint64_t size, carve *out);

/* Gives a carve of `size` bytes back. Returns its region when that now holds nothing and is
 * not the newest (the caller may give it back), else NULL. */
carve_region *carve_put(carve_set *s, carve_region *r, uint64_t off, uint64_t size);

/* The size class of a small carve (0 < size <= CARVE_SMALL_MAX): every carve of one class
 * takes a chunk of the same size, so a chunk taken for one size holds any other of its class. */
unsigned carve_class(uint64_t size);

/* Counts a carve of `size` bytes among the live ones (`live`) or takes it out of them, as
 * carve_take() and carve_put() do. A caller that keeps a carve for reuse instead of giving it
 * back takes it out, and counts it again when it reuses it (as its new size, which must be of
 * the same class when small). */
void carve_count(carve_set *s, uint64_t size, bool live);

/* Gives back the empty chunk pages kept for their class (carve_put() keeps one in the newest
 * region): all of them, or those a newer region took the place of. Regions may hold nothing
 * afterwards. */
void carve_shed(carve_set *s, bool all);

/* Whether a region holds nothing, or would once carve_shed() ran. */
bool carve_spare(const carve_set *s);

/* The region size that holds a carve of `size` bytes: the pages it takes, rounded up to one
 * of eight sizes between two powers of two (so that a carve a little bigger than the last
 * still finds room in the region its predecessor leaves). */
uint64_t carve_region_for(uint64_t size);

/* Frees the bookkeeping of every region (their memory is the caller's). */
void carve_fini(carve_set *s);

#endif
