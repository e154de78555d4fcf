/* SPDX-License-Identifier: MIT */
/* Buffer handles and the ArrayBuffers behind them, as data: a handle (shmbuf_buf) is a view
 * (pointer, length, byteOffset) on a backing, which stands for one buffer the daemon made and
 * is shared by every view derived from it (subarrays, the small buffers carved from a leased
 * pool, ...). This module makes, links, recycles and frees them, and checks a buffer reply
 * against the slabs it names. What happens to a backing nobody uses any more is the local
 * allocator's decision (local.h): nothing here sends a request. */
#ifndef SBC_HANDLE_H
#define SBC_HANDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shmbuf.h"
#include "shmbuf.pb-c.h"
#include "slabs.h"

struct carve_region;

typedef struct handle_backing {
  uint64_t id;        /* the daemon's buffer id; 0 for an empty ArrayBuffer made here */
  uint32_t slab;      /* the slab it lives in (counted there: slabs_ref()); 0 when empty */
  uint8_t *ab;        /* the backing ArrayBuffer's first byte; NULL when it is empty */
  uint64_t ab_length;
  uint64_t ab_key;    /* names the ArrayBuffer: slab id << 40 | offset in the slab */
  uint64_t byte_offset, length; /* the daemon buffer's own range in the ArrayBuffer */
  uint32_t refs;      /* views, plus one while it is the current pool */
  bool pooled;
  bool shared;        /* in an object other processes may map: never kept for reuse */
  bool read_only;     /* mapped PROT_READ */
  bool sealed;        /* no process can write it */
  struct carve_region *region; /* a carve: the region cut from the daemon buffer `id` that it
                                * was carved from (local.h), and its ArrayBuffer's place there */
  uint64_t region_off;
  struct handle_backing *next_spare;
} handle_backing;

struct shmbuf_buf {
  shmbuf_client *c;
  handle_backing *bk;
  uint8_t *data;
  size_t length;
  size_t byte_offset;
  shmbuf_buf *prev, *next; /* the client's live handles; next links the spares too */
};

typedef struct handle_set {
  shmbuf_buf *live;   /* every handle not released */
  shmbuf_buf *spare;  /* released handles, kept for reuse */
  size_t nspare;
  handle_backing *spare_backings; /* freed backings, kept for reuse */
  size_t nspare_backings;
  uint64_t empties;   /* empty ArrayBuffers made here, to name each */
} handle_set;

/* A new backing, whose fields are the caller's to set, or NULL (out of memory, recorded). */
handle_backing *handle_backing_new(handle_set *h);

/* The backing for a buffer reply, checked against the slab table: the slab must be mapped
 * and hold the ArrayBuffer, which must hold the buffer; slab 0 holds nothing but an empty
 * buffer. No references yet; the slab counts it until handle_backing_free(). Returns 0,
 * -ENOMEM (recorded), or -EPROTO with the reason in *why (not recorded: the caller decides
 * what a daemon that says such things deserves). */
int handle_backing_of(handle_set *h, slab_table *t, const Shmbufwire__Buffer *b,
                      handle_backing **out, const char **why);

/* Frees bk, which no view uses any more, and uncounts it from its slab (when it has one). */
void handle_backing_free(handle_set *h, slab_table *t, handle_backing *bk);

/* Moves every view of `from` onto `to`, each at the same place in its ArrayBuffer (they move
 * their references along). */
void handle_move_views(handle_set *h, handle_backing *from, handle_backing *to);

/* Moves one view onto `to`, `byte_offset` into its ArrayBuffer (it moves its reference along:
 * the caller drops the one it had on its old backing, returned). */
handle_backing *handle_move_view(shmbuf_buf *b, handle_backing *to, size_t byte_offset);

/* A new view on bk (taking a reference), linked among the live handles. Returns it, or NULL
 * (out of memory, recorded). */
shmbuf_buf *handle_view(handle_set *h, shmbuf_client *c, handle_backing *bk, uint8_t *data,
                        size_t length, size_t byte_offset);

/* A zero-length buffer on an empty ArrayBuffer of its own, made without the daemon. Returns 0
 * or -ENOMEM (recorded). */
int handle_empty(handle_set *h, shmbuf_client *c, shmbuf_buf **out);

/* Unlinks b and keeps it for reuse. Returns its backing, whose reference the caller now
 * holds and must drop. */
handle_backing *handle_drop(handle_set *h, shmbuf_buf *b);

/* Frees every handle, and each backing whose last reference that drops, without uncounting
 * them: the client is closing, and its slabs go next. */
void handle_fini(handle_set *h);

#endif
