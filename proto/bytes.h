/* SPDX-License-Identifier: MIT */
/* A growable byte buffer with a consumed prefix: the read and write queues of both ends. */
#ifndef SB_BYTES_H
#define SB_BYTES_H

#include <stddef.h>
#include <stdint.h>

typedef struct sb_bytes {
  uint8_t *p;
  size_t off; /* bytes before off are consumed */
  size_t len; /* bytes after off that are still held */
  size_t cap;
} sb_bytes;

/* sb_bytes_reserve() when the room after the held bytes is short of n. */
int sb_bytes_make_room(sb_bytes *b, size_t n);

void sb_bytes_free(sb_bytes *b);

/* Drops n held bytes from the front. */
static inline void sb_bytes_consume(sb_bytes *b, size_t n) {
  b->off += n;
  b->len -= n;
  if (b->len == 0)
    b->off = 0;
}

/* Frees the storage when nothing is held and it has grown past keep bytes, so an idle
 * connection costs no more than keep. */
static inline void sb_bytes_trim(sb_bytes *b, size_t keep) {
  if (b->len == 0 && b->cap > keep)
    sb_bytes_free(b);
}

static inline uint8_t *sb_bytes_head(const sb_bytes *b) { return b->p + b->off; }
static inline uint8_t *sb_bytes_tail(const sb_bytes *b) { return b->p + b->off + b->len; }
static inline size_t sb_bytes_room(const sb_bytes *b) { return b->cap - b->off - b->len; }

/* Makes room for n more bytes after the held ones; may move them to the front.
 * Returns 0 or -ENOMEM (the buffer is unchanged then). */
static inline int sb_bytes_reserve(sb_bytes *b, size_t n) {
  return sb_bytes_room(b) >= n ? 0 : sb_bytes_make_room(b, n);
}

#endif
