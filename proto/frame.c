/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "frame.h"

#include <errno.h>
#include <stdlib.h>

uint32_t sb_frame_length(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Cuts a frame of length l (the length word, less the kind bit). */
static long cut(const uint8_t *p, size_t n, uint32_t l, uint32_t max, const uint8_t **payload,
                uint32_t *len) {
  if (l == 0)
    return -EBADMSG;
  if (l > max)
    return -EMSGSIZE;
  if (n - SB_FRAME_HEADER < l)
    return 0;
  *payload = p + SB_FRAME_HEADER;
  *len = l;
  return (long)SB_FRAME_HEADER + l;
}

long sb_frame_next(const uint8_t *p, size_t n, uint32_t max, const uint8_t **payload,
                   uint32_t *len) {
  return n < SB_FRAME_HEADER ? 0 : cut(p, n, sb_frame_length(p), max, payload, len);
}

long sb_frame_next_kind(const uint8_t *p, size_t n, uint32_t max, const uint8_t **payload,
                        uint32_t *len, bool *batch) {
  if (n < SB_FRAME_HEADER)
    return 0;
  uint32_t word = sb_frame_length(p);
  *batch = word & SB_FRAME_BATCH;
  return cut(p, n, word & ~SB_FRAME_BATCH, max, payload, len);
}

static int append(sb_bytes *out, const ProtobufCMessage *msg, uint32_t max, uint32_t kind) {
  size_t l = protobuf_c_message_get_packed_size(msg);
  if (l > max || l >= SB_FRAME_BATCH)
    return -EMSGSIZE;
  int rc = sb_bytes_reserve(out, SB_FRAME_HEADER + l);
  if (rc < 0)
    return rc;
  uint8_t *h = sb_bytes_tail(out);
  h[0] = (uint8_t)((l | kind) >> 24);
  h[1] = (uint8_t)(l >> 16);
  h[2] = (uint8_t)(l >> 8);
  h[3] = (uint8_t)l;
  protobuf_c_message_pack(msg, h + SB_FRAME_HEADER);
  out->len += SB_FRAME_HEADER + l;
  return 0;
}

int sb_frame_append(sb_bytes *out, const ProtobufCMessage *msg, uint32_t max) {
  return append(out, msg, max, 0);
}

int sb_frame_append_batch(sb_bytes *out, const ProtobufCMessage *msg, uint32_t max) {
  return append(out, msg, max, SB_FRAME_BATCH);
}

#define ARENA_ALIGN 16u

static void *arena_alloc(void *data, size_t n) {
  sb_arena *a = data;
  n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
  if (n <= sizeof a->block - a->used) {
    void *p = a->block + a->used;
    a->used += n;
    return p;
  }
  if (n > SIZE_MAX - ARENA_ALIGN || (a->limit && n + ARENA_ALIGN > a->limit - a->spilled))
    return NULL;
  void **block = malloc(n + ARENA_ALIGN);
  if (block == NULL)
    return NULL;
  *block = a->spill;
  a->spill = block;
  a->spilled += n + ARENA_ALIGN;
  return (uint8_t *)block + ARENA_ALIGN;
}

static void arena_free(void *data, void *p) {
  (void)data;
  (void)p; /* everything goes at the reset */
}

void sb_arena_init(sb_arena *a) {
  a->allocator = (ProtobufCAllocator){arena_alloc, arena_free, a};
  a->used = 0;
  a->spill = NULL;
  a->spilled = a->limit = 0;
}

void sb_arena_limit(sb_arena *a, size_t bytes) { a->limit = bytes; }

void sb_arena_reset(sb_arena *a) {
  while (a->spill) {
    void *next = *(void **)a->spill;
    free(a->spill);
    a->spill = next;
  }
  a->used = a->spilled = 0;
}
