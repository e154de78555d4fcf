/* SPDX-License-Identifier: MIT */
/* Raw requests for tests and hostile clients that speak to shmbufd without libshmbuf: one
 * Request message at a time, built in caller-owned storage, and appended to a byte queue as a
 * frame. Pure message building: no sockets, no Check, so that programs outside the test suite
 * (make chaos) build their requests the same way. */
#ifndef SBT_REQUESTS_H
#define SBT_REQUESTS_H

#include <stdint.h>

#include "bytes.h"
#include "shmbuf.pb-c.h"

/* Room for one request of any kind below; valid until it is built again. */
typedef struct req {
  Shmbufwire__Request q;
  Shmbufwire__Size size;
  Shmbufwire__Alloc alloc;
  Shmbufwire__From from;
  Shmbufwire__Release release;
  Shmbufwire__Stats stats;
  Shmbufwire__Hello hello;
} req;

/* alloc(size), allocUnsafe(size) or allocUnsafeSlow(size), by op. */
Shmbufwire__Request *req_sized(req *r, uint64_t id, Shmbufwire__Request__OpCase op,
                               int64_t size);

/* Buffer.from(s, enc): s as UTF-8, enc NULL for none. */
Shmbufwire__Request *req_from_utf8(req *r, uint64_t id, const char *s, const char *enc);

/* Buffer.from(buffer): a copy of one of the connection's buffers. */
Shmbufwire__Request *req_from_buffer(req *r, uint64_t id, uint64_t buffer);

Shmbufwire__Request *req_release(req *r, uint64_t id, uint64_t buffer);
Shmbufwire__Request *req_stats(req *r, uint64_t id);
Shmbufwire__Request *req_hello(req *r, uint64_t id, uint32_t version);

/* Appends q to out as one frame, whatever its size. Returns 0 or -ENOMEM. */
int req_append(sb_bytes *out, Shmbufwire__Request *q);

/* The id the daemon gives the buffer in slot `slot` (from 0) at its `gen`th use (from 1): ids
 * are meant to be opaque, but a hostile client can predict them, and so pipeline a release
 * behind the request that makes the buffer. */
static inline uint64_t req_predicted_id(uint64_t slot, uint64_t gen) {
  return gen << 32 | (slot + 1);
}

#endif
