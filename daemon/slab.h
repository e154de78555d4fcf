/* SPDX-License-Identifier: MIT */
/* One owner's shared memory (the owner is a connection): byte ranges ("chunks") carved out
 * of shm segments that belong to that owner alone, so no owner can ever map another's bytes.
 *
 * The shape is memcached's slabs.c: small chunks come from size classes, each class keeping
 * the 16 KiB pages that still have free chunks; medium chunks are runs of pages inside a
 * 4 MiB segment (a 256-bit page map, first fit); big chunks get a segment of their own.
 * Segments are sparse: a page is reserved (posix_fallocate, so a touch never SIGBUSes) when
 * first used and punched out when freed, except for a small warm reserve kept for reuse, so
 * `reserved` is what the owner really costs /dev/shm. Every reservation is charged to the
 * owner's callback first, which is where quotas and the global cap live.
 *
 * Knows nothing of sockets, libuv or protobuf: segment I/O goes through slab_ops. All
 * operations are O(1) in the number of live chunks. */
#ifndef SBD_SLAB_H
#define SBD_SLAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SLAB_PAGE_SHIFT 14
#define SLAB_PAGE (1u << SLAB_PAGE_SHIFT)                      /* 16 KiB */
#define SLAB_SEG_PAGES 256u                                    /* pages per segment */
#define SLAB_SEG_SIZE ((uint64_t)SLAB_PAGE * SLAB_SEG_PAGES)  /* 4 MiB */
#define SLAB_SMALL_MAX (SLAB_PAGE / 2)     /* larger chunks are runs of pages */
#define SLAB_RUN_MAX (SLAB_SEG_SIZE / 2)   /* larger chunks get a segment of their own */
#define SLAB_SOLO_ALIGN 4096u
#define SLAB_NCLASSES 32

typedef struct slab_seg slab_seg;
typedef struct slab_page slab_page;

/* The backend: segment.c in the daemon, counting fakes in unit tests. */
typedef struct slab_ops {
  /* Makes a segment of `size` bytes; ctx may refuse it (-EDQUOT, -EMFILE). */
  int (*create)(void *ctx, uint64_t size, int *fd);
  int (*reserve)(int fd, uint64_t off, uint64_t len);
  int (*punch)(int fd, uint64_t off, uint64_t len);
  int (*zero)(int fd, uint64_t off, uint64_t len);
  void (*destroy)(int fd);
  /* Asks to reserve `bytes` more (> 0) or reports bytes given back (< 0, never refused).
   * Returns 0 or a negative errno (-EDQUOT, -ENOMEM) that fails the allocation. */
  int (*charge)(void *ctx, int64_t bytes);
  /* Tells that a segment is about to be destroyed, so its id can be retired with peers. */
  void (*retire)(void *ctx, const slab_seg *seg);
  /* Tells that the owner no longer maps a shared object through seg, a segment it adopted or
   * handed over (still valid during the call). */
  void (*unshare)(void *ctx, void *shared, const slab_seg *seg);
} slab_ops;

struct slab_seg {
  uint32_t id;        /* unique within the owner, never reused */
  int fd;
  uint64_t size;
  bool announced;     /* the fd has been sent to the owner's peer */
  bool solo;          /* holds one big chunk at offset 0 */
  bool read_only;     /* the peer gets a read-only fd */
  void *shared;       /* an object owned elsewhere (a share): nothing here reserved, charged,
                       * punched or closed; solo */
  uint32_t used_pages;
  uint64_t used_map[SLAB_SEG_PAGES / 64];  /* pages holding chunks */
  uint64_t warm_map[SLAB_SEG_PAGES / 64];  /* free pages still reserved (dirty) */
  slab_page *pages;                        /* SLAB_SEG_PAGES entries; NULL when solo */
  slab_seg *prev, *next;
};

typedef struct slab_owner {
  const slab_ops *ops;
  void *ctx;
  slab_seg *segs;     /* newest first */
  uint32_t nsegs;
  uint32_t next_id;
  slab_page *partial[SLAB_NCLASSES];
  uint64_t reserved;  /* bytes reserved in shm, warm ones included */
  uint64_t warm;      /* reserved bytes in free pages */
  uint64_t warm_limit;
} slab_owner;

/* Flags for slab_alloc(). */
#define SLAB_ZERO 1u       /* the chunk must read as zeros */
#define SLAB_UNRESERVED 2u /* a chunk over SLAB_RUN_MAX (a segment of its own) is charged but left
                            * unreserved: the caller reserves [0, slab_chunk_size(size)) of it,
                            * in slices if it likes, before anyone may touch it */

/* Sets up an owner with no memory. `warm_limit` bounds the freed-but-reserved bytes kept
 * for reuse. */
void slab_owner_init(slab_owner *o, const slab_ops *ops, void *ctx, uint64_t warm_limit);

/* Destroys every segment. With `punch`, their memory is given back to the kernel first, so
 * a peer that still maps them holds nothing; without it, existing mappings stay readable
 * (a daemon shutting down leaves its clients their data). Charges everything back. */
void slab_owner_fini(slab_owner *o, bool punch);

/* Allocates a chunk of at least `size` (> 0) bytes. Returns 0 with the segment and offset
 * (16-byte aligned), or -ENOMEM/-EDQUOT (charge refused), -ENOSPC (/dev/shm full), -EFBIG
 * (size too large) or another negative errno. With SLAB_ZERO the first `size` bytes read as
 * zeros; otherwise they may hold this owner's old bytes, never anyone else's. */
int slab_alloc(slab_owner *o, uint64_t size, unsigned flags, slab_seg **seg, uint64_t *off);

/* Frees a chunk that slab_alloc() returned. Pages and segments that become empty are given
 * back (the retire callback names segments before they go). */
void slab_free(slab_owner *o, slab_seg *seg, uint64_t off);

/* The usable size of a chunk for `size` bytes: what the allocator really sets aside. */
uint64_t slab_chunk_size(uint64_t size);

/* Gives back every warm page. Returns the bytes released. */
uint64_t slab_drop_warm(slab_owner *o);

/* Punches every page of the owner's segments that is neither handed out nor warm: memory
 * nobody was given, which a peer (or a process it forked, or a debugger) may have faulted in
 * through its mapping by reading or writing it. It reads as zeros again and is the kernel's
 * once more; nothing reserved changes. */
void slab_punch_holes(slab_owner *o);

/* A segment over `shared`, an object of `size` bytes owned elsewhere, reached through fd (not
 * taken): one chunk at offset 0 that the owner maps but neither reserved nor pays for. Freeing
 * the chunk destroys the segment and calls ops->unshare. Returns 0 or -ENOMEM. */
int slab_adopt(slab_owner *o, void *shared, int fd, uint64_t size, bool read_only,
               slab_seg **out);

/* Hands a solo segment's object over to `shared`, which takes its fd and its memory: the
 * owner's reservation of it is given back (charged no more here), and the segment now maps an
 * object owned elsewhere, as slab_adopt() makes them. */
void slab_hand_over(slab_owner *o, slab_seg *s, void *shared);

#endif
