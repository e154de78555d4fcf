/* SPDX-License-Identifier: MIT */
/* Raw requests (see requests.h). */
#include "config.h"

#include "requests.h"

#include <stdint.h>
#include <string.h>

#include "frame.h"

Shmbufwire__Request *req_sized(req *r, uint64_t id, Shmbufwire__Request__OpCase op,
                               int64_t size) {
  shmbufwire__request__init(&r->q);
  shmbufwire__size__init(&r->size);
  shmbufwire__alloc__init(&r->alloc);
  r->q.id = id;
  r->q.op_case = op;
  r->size.size = r->alloc.size = size;
  if (op == SHMBUFWIRE__REQUEST__OP_ALLOC)
    r->q.alloc = &r->alloc;
  else if (op == SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE)
    r->q.alloc_unsafe = &r->size;
  else
    r->q.alloc_unsafe_slow = &r->size;
  return &r->q;
}

static Shmbufwire__Request *from(req *r, uint64_t id, Shmbufwire__From__SourceCase source) {
  shmbufwire__request__init(&r->q);
  shmbufwire__from__init(&r->from);
  r->q.id = id;
  r->q.op_case = SHMBUFWIRE__REQUEST__OP_FROM;
  r->q.from = &r->from;
  r->from.source_case = source;
  return &r->q;
}

Shmbufwire__Request *req_from_utf8(req *r, uint64_t id, const char *s, const char *enc) {
  from(r, id, SHMBUFWIRE__FROM__SOURCE_UTF8);
  r->from.utf8.data = (uint8_t *)s;
  r->from.utf8.len = strlen(s);
  r->from.encoding = (ProtobufCBinaryData){enc ? strlen(enc) : 0, (uint8_t *)enc};
  return &r->q;
}

Shmbufwire__Request *req_from_buffer(req *r, uint64_t id, uint64_t buffer) {
  from(r, id, SHMBUFWIRE__FROM__SOURCE_BUFFER);
  r->from.buffer = buffer;
  return &r->q;
}

Shmbufwire__Request *req_release(req *r, uint64_t id, uint64_t buffer) {
  shmbufwire__request__init(&r->q);
  shmbufwire__release__init(&r->release);
  r->q.id = id;
  r->q.op_case = SHMBUFWIRE__REQUEST__OP_RELEASE;
  r->q.release = &r->release;
  r->release.buffer = buffer;
  return &r->q;
}

Shmbufwire__Request *req_stats(req *r, uint64_t id) {
  shmbufwire__request__init(&r->q);
  shmbufwire__stats__init(&r->stats);
  r->q.id = id;
  r->q.op_case = SHMBUFWIRE__REQUEST__OP_STATS;
  r->q.stats = &r->stats;
  return &r->q;
}

Shmbufwire__Request *req_hello(req *r, uint64_t id, uint32_t version) {
  shmbufwire__request__init(&r->q);
  shmbufwire__hello__init(&r->hello);
  r->hello.version = version;
  r->q.id = id;
  r->q.op_case = SHMBUFWIRE__REQUEST__OP_HELLO;
  r->q.hello = &r->hello;
  return &r->q;
}

int req_append(sb_bytes *out, Shmbufwire__Request *q) {
  return sb_frame_append(out, &q->base, UINT32_MAX);
}
