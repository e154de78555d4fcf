/* SPDX-License-Identifier: MIT */
/* Stream framing: a 4-byte big-endian payload length, then one protobuf message of that
 * length; the length word's top bit (SB_FRAME_BATCH) says which message. A zero length is not
 * a frame. Both ends check the length against their limit before buffering the payload. */
#ifndef SB_FRAME_H
#define SB_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "shmbuf.pb-c.h"

#define SB_PROTOCOL_VERSION 1u
#define SB_FRAME_HEADER 4u
#define SB_FRAME_MAX_DEFAULT (16u << 20)

/* The top bit of a frame's length word: the frame holds a Batch (client to daemon) or a Made
 * (daemon to client) instead of a Request or a Reply. No length reaches it: requests are at
 * most 1 GiB, and no frame of any kind, a reply quoting a request included, is written at
 * 2 GiB or more. */
#define SB_FRAME_BATCH 0x80000000u

/* A batch's shape (proto/README.md, Batches): the words before its sizes (id, op, n); the
 * creations one batch holds, the size of each, and what their sizes may add up to (so that
 * a frame of a few hundred bytes makes, and may have the daemon clear, at most that much);
 * and the words that describe each buffer in a Made. */
#define SB_BATCH_HEAD 3u
#define SB_BATCH_MAX 64u
#define SB_BATCH_SIZE_MAX (2u << 20)
#define SB_BATCH_BYTES_MAX (8u << 20)
#define SB_MADE_WORDS 7u

/* The payload length a frame header announces; p holds at least SB_FRAME_HEADER bytes. */
uint32_t sb_frame_length(const uint8_t *p);

/* Looks for one frame at the start of [p, p + n).
 * Returns the frame's total size (header included) and sets *payload and *len when the whole
 * frame is there; 0 when more bytes are needed; -EMSGSIZE when the header announces more
 * than max bytes; -EBADMSG for a zero length. */
long sb_frame_next(const uint8_t *p, size_t n, uint32_t max, const uint8_t **payload,
                   uint32_t *len);

/* sb_frame_next() on a stream that may carry batch frames: the length is the word without
 * SB_FRAME_BATCH, and *batch tells whether the bit was set (when the frame is whole). */
long sb_frame_next_kind(const uint8_t *p, size_t n, uint32_t max, const uint8_t **payload,
                        uint32_t *len, bool *batch);

/* A bump allocator for protobuf-c: a message unpacks into one block and is thrown away whole
 * by sb_arena_reset(), instead of costing a malloc and a free per field (a fifth of a small
 * request's cost, by callgrind). What does not fit (a from() with megabytes of bytes) spills
 * into malloc'd blocks that the reset frees too. */
typedef struct sb_arena {
  ProtobufCAllocator allocator; /* pass &arena.allocator to *__unpack(); never free_unpacked */
  size_t used;
  void *spill;                  /* malloc'd blocks, linked through their first word */
  size_t spilled, limit;        /* bytes spilled, and how many may be (0: no limit) */
  _Alignas(16) uint8_t block[8192];
} sb_arena;

void sb_arena_init(sb_arena *a);

/* Frees everything unpacked into the arena. */
void sb_arena_reset(sb_arena *a);

/* Caps what the next unpacks may spill beyond the block (0: no cap); past it, allocations
 * fail and so does the unpack. Stays until changed. */
void sb_arena_limit(sb_arena *a, size_t bytes);

/* Appends msg to out as one frame. Returns 0, -EMSGSIZE when it is larger than max or
 * reaches SB_FRAME_BATCH, or -ENOMEM. */
int sb_frame_append(sb_bytes *out, const ProtobufCMessage *msg, uint32_t max);

/* sb_frame_append() of a batch frame (a Batch or a Made): its length word has SB_FRAME_BATCH
 * set. */
int sb_frame_append_batch(sb_bytes *out, const ProtobufCMessage *msg, uint32_t max);

#endif
