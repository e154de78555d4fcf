/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "bytes.h"
#include "frame.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------------- */

/* A frame with an arbitrary header value and `n` payload bytes (i & 0xff) in a fresh buffer. */
static uint8_t *frame_raw(uint32_t announced, size_t n, size_t *total) {
  uint8_t *p = malloc(SB_FRAME_HEADER + n + 1);
  ck_assert_ptr_nonnull(p);
  p[0] = (uint8_t)(announced >> 24);
  p[1] = (uint8_t)(announced >> 16);
  p[2] = (uint8_t)(announced >> 8);
  p[3] = (uint8_t)announced;
  for (size_t i = 0; i < n; i++)
    p[SB_FRAME_HEADER + i] = (uint8_t)i;
  *total = SB_FRAME_HEADER + n;
  return p;
}

/* sb_frame_next with sentinels in the outputs, so a call that claims "not yet" can be
 * checked not to have pretended otherwise. */
static long next(const uint8_t *p, size_t n, uint32_t max, const uint8_t **payload,
                 uint32_t *len) {
  *payload = NULL;
  *len = 0xdeadbeef;
  return sb_frame_next(p, n, max, payload, len);
}

/* ---- sb_bytes ------------------------------------------------------------------------------ */

/* Appends n bytes the way the queues do: reserve, then write at the tail. */
static int append(sb_bytes *b, const void *data, size_t n) {
  int rc = sb_bytes_reserve(b, n);
  if (rc < 0 || n == 0)
    return rc;
  memcpy(sb_bytes_tail(b), data, n);
  b->len += n;
  return 0;
}

START_TEST(bytes_append_consume) {
  sb_bytes b = {0};
  ck_assert_int_eq(append(&b, "hello", 5), 0);
  ck_assert_uint_eq(b.len, 5);
  ck_assert_uint_ge(b.cap, 5);
  ck_assert_mem_eq(sb_bytes_head(&b), "hello", 5);
  ck_assert_ptr_eq(sb_bytes_tail(&b), sb_bytes_head(&b) + 5);
  ck_assert_uint_eq(sb_bytes_room(&b), b.cap - 5);
  ck_assert_int_eq(append(&b, " world", 6), 0);
  ck_assert_mem_eq(sb_bytes_head(&b), "hello world", 11);

  sb_bytes_consume(&b, 6);
  ck_assert_uint_eq(b.len, 5);
  ck_assert_uint_eq(b.off, 6);
  ck_assert_mem_eq(sb_bytes_head(&b), "world", 5);

  /* consuming everything rewinds to the front */
  sb_bytes_consume(&b, 5);
  ck_assert_uint_eq(b.len, 0);
  ck_assert_uint_eq(b.off, 0);
  ck_assert_uint_eq(sb_bytes_room(&b), b.cap);
  sb_bytes_free(&b);
  ck_assert_ptr_null(b.p);
  ck_assert_uint_eq(b.cap, 0);
  ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(bytes_grow_keeps_content) {
  sb_bytes b = {0};
  uint8_t chunk[1000];
  for (unsigned round = 0; round < 300; round++) {
    memset(chunk, (int)(round & 0xff), sizeof chunk);
    ck_assert_int_eq(append(&b, chunk, sizeof chunk), 0);
  }
  ck_assert_uint_eq(b.len, 300000);
  ck_assert_uint_ge(b.cap, 300000);
  size_t bad = 0;
  for (size_t i = 0; i < b.len; i++)
    bad += sb_bytes_head(&b)[i] != ((i / 1000) & 0xff);
  ck_assert_uint_eq(bad, 0);
  sb_bytes_free(&b);
}
END_TEST

START_TEST(bytes_reserve_moves_to_front) {
  sb_bytes b = {0};
  ck_assert_int_eq(sb_bytes_reserve(&b, 1), 0);
  size_t cap = b.cap;
  ck_assert_uint_gt(cap, 8);
  uint8_t *full = malloc(cap);
  for (size_t i = 0; i < cap; i++)
    full[i] = (uint8_t)(i * 7);
  ck_assert_int_eq(append(&b, full, cap), 0);
  ck_assert_uint_eq(b.cap, cap);
  sb_bytes_consume(&b, cap - 4);
  /* room for cap - 4 more exists only once the 4 held bytes move to the front */
  ck_assert_uint_eq(sb_bytes_room(&b), 0);
  ck_assert_int_eq(sb_bytes_reserve(&b, cap - 4), 0);
  ck_assert_uint_eq(b.cap, cap);
  ck_assert_uint_eq(b.off, 0);
  ck_assert_uint_eq(b.len, 4);
  ck_assert_uint_ge(sb_bytes_room(&b), cap - 4);
  ck_assert_mem_eq(sb_bytes_head(&b), full + cap - 4, 4);
  /* more than that has to grow, still keeping the held bytes */
  sb_bytes_consume(&b, 1);
  ck_assert_int_eq(sb_bytes_reserve(&b, cap), 0);
  ck_assert_uint_gt(b.cap, cap);
  ck_assert_uint_ge(sb_bytes_room(&b), cap);
  ck_assert_uint_eq(b.len, 3);
  ck_assert_mem_eq(sb_bytes_head(&b), full + cap - 3, 3);
  free(full);
  sb_bytes_free(&b);
}
END_TEST

START_TEST(bytes_reserve_too_much) {
  sb_bytes b = {0};
  ck_assert_int_eq(append(&b, "abc", 3), 0);
  uint8_t *p = b.p;
  size_t cap = b.cap;
  ck_assert_int_eq(sb_bytes_reserve(&b, SIZE_MAX), -ENOMEM);
  ck_assert_int_eq(sb_bytes_reserve(&b, SIZE_MAX / 2), -ENOMEM);
  ck_assert_int_eq(sb_bytes_reserve(&b, SIZE_MAX - 1), -ENOMEM);
  ck_assert_ptr_eq(b.p, p);
  ck_assert_uint_eq(b.cap, cap);
  ck_assert_uint_eq(b.len, 3);
  ck_assert_mem_eq(sb_bytes_head(&b), "abc", 3);
  sb_bytes_free(&b);
}
END_TEST

START_TEST(bytes_trim) {
  sb_bytes b = {0};
  uint8_t big[4096] = {0};
  ck_assert_int_eq(append(&b, big, sizeof big), 0);
  /* holding bytes: never freed */
  sb_bytes_trim(&b, 0);
  ck_assert_ptr_nonnull(b.p);
  ck_assert_uint_eq(b.len, sizeof big);
  sb_bytes_consume(&b, sizeof big);
  /* idle but within keep: kept */
  sb_bytes_trim(&b, b.cap);
  ck_assert_ptr_nonnull(b.p);
  /* idle and past keep: freed */
  sb_bytes_trim(&b, 1024);
  ck_assert_ptr_null(b.p);
  ck_assert_uint_eq(b.cap, 0);
  /* and usable again */
  ck_assert_int_eq(append(&b, "z", 1), 0);
  ck_assert_mem_eq(sb_bytes_head(&b), "z", 1);
  sb_bytes_free(&b);
  sb_bytes_free(&b); /* twice is fine */
}
END_TEST

/* ---- sb_frame_next ------------------------------------------------------------------------- */

START_TEST(next_partial_header) {
  size_t total;
  uint8_t *p = frame_raw(5, 5, &total);
  const uint8_t *payload;
  uint32_t len;
  for (size_t n = 0; n < SB_FRAME_HEADER; n++) {
    ck_assert_int_eq(next(p, n, SB_FRAME_MAX_DEFAULT, &payload, &len), 0);
    ck_assert_ptr_null(payload);
  }
  free(p);
  /* even a header that will turn out to be bad needs all four bytes first */
  uint8_t zero[3] = {0, 0, 0};
  ck_assert_int_eq(next(zero, 3, SB_FRAME_MAX_DEFAULT, &payload, &len), 0);
  uint8_t huge[3] = {0xff, 0xff, 0xff};
  ck_assert_int_eq(next(huge, 3, 16, &payload, &len), 0);
}
END_TEST

START_TEST(next_partial_payload) {
  size_t total;
  uint8_t *p = frame_raw(300, 300, &total);
  const uint8_t *payload;
  uint32_t len;
  for (size_t n = SB_FRAME_HEADER; n < total; n++) {
    ck_assert_int_eq(next(p, n, SB_FRAME_MAX_DEFAULT, &payload, &len), 0);
    ck_assert_ptr_null(payload);
  }
  ck_assert_int_eq(next(p, total, SB_FRAME_MAX_DEFAULT, &payload, &len), (long)total);
  free(p);
}
END_TEST

START_TEST(next_exact_frame) {
  size_t total;
  uint8_t *p = frame_raw(0x010203, 0x010203, &total); /* all header bytes matter */
  const uint8_t *payload;
  uint32_t len;
  ck_assert_int_eq(next(p, total, SB_FRAME_MAX_DEFAULT, &payload, &len), (long)total);
  ck_assert_ptr_eq(payload, p + SB_FRAME_HEADER);
  ck_assert_uint_eq(len, 0x010203);
  ck_assert_uint_eq(payload[0], 0);
  ck_assert_uint_eq(payload[len - 1], (len - 1) & 0xff);
  free(p);

  uint8_t one[5] = {0, 0, 0, 1, 0x42};
  ck_assert_int_eq(next(one, 5, 1, &payload, &len), 5);
  ck_assert_ptr_eq(payload, one + 4);
  ck_assert_uint_eq(len, 1);
}
END_TEST

START_TEST(next_back_to_back) {
  /* [len 3][a b c][len 2][d e] + the first two bytes of a third header */
  uint8_t s[] = {0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 2, 'd', 'e', 0, 0};
  const uint8_t *payload;
  uint32_t len;
  long r = next(s, sizeof s, 100, &payload, &len);
  ck_assert_int_eq(r, 7);
  ck_assert_uint_eq(len, 3);
  ck_assert_mem_eq(payload, "abc", 3);
  /* the first frame is cut out the same way whatever follows it */
  ck_assert_int_eq(next(s, 7, 100, &payload, &len), 7);
  ck_assert_int_eq(next(s, 8, 100, &payload, &len), 7);
  r = next(s + 7, sizeof s - 7, 100, &payload, &len);
  ck_assert_int_eq(r, 6);
  ck_assert_uint_eq(len, 2);
  ck_assert_mem_eq(payload, "de", 2);
  ck_assert_int_eq(next(s + 13, sizeof s - 13, 100, &payload, &len), 0);
}
END_TEST

START_TEST(next_zero_length) {
  uint8_t z[8] = {0, 0, 0, 0, 1, 2, 3, 4};
  const uint8_t *payload;
  uint32_t len;
  ck_assert_int_eq(next(z, 4, SB_FRAME_MAX_DEFAULT, &payload, &len), -EBADMSG);
  ck_assert_int_eq(next(z, sizeof z, SB_FRAME_MAX_DEFAULT, &payload, &len), -EBADMSG);
  ck_assert_int_eq(next(z, sizeof z, 0, &payload, &len), -EBADMSG);
  ck_assert_ptr_null(payload);
}
END_TEST

START_TEST(next_limits) {
  const uint8_t *payload;
  uint32_t len;
  size_t total;
  uint8_t *p = frame_raw(1000, 1000, &total);
  /* exactly max is fine */
  ck_assert_int_eq(next(p, total, 1000, &payload, &len), (long)total);
  ck_assert_uint_eq(len, 1000);
  /* one over is refused from the header alone, whatever else has arrived */
  for (size_t n = SB_FRAME_HEADER; n <= total; n++)
    ck_assert_int_eq(next(p, n, 999, &payload, &len), -EMSGSIZE);
  free(p);

  uint8_t h[4] = {0xff, 0xff, 0xff, 0xff};
  ck_assert_int_eq(next(h, 4, SB_FRAME_MAX_DEFAULT, &payload, &len), -EMSGSIZE);
  ck_assert_int_eq(next(h, 4, UINT32_MAX - 1, &payload, &len), -EMSGSIZE);
  /* under max (UINT32_MAX) but the payload has not come */
  ck_assert_int_eq(next(h, 4, UINT32_MAX, &payload, &len), 0);

  uint8_t d[4] = {(uint8_t)(SB_FRAME_MAX_DEFAULT >> 24), (uint8_t)(SB_FRAME_MAX_DEFAULT >> 16),
                  (uint8_t)(SB_FRAME_MAX_DEFAULT >> 8), (uint8_t)SB_FRAME_MAX_DEFAULT};
  ck_assert_int_eq(next(d, 4, SB_FRAME_MAX_DEFAULT, &payload, &len), 0);
  d[3] = (uint8_t)(d[3] + 1);
  ck_assert_int_eq(next(d, 4, SB_FRAME_MAX_DEFAULT, &payload, &len), -EMSGSIZE);
}
END_TEST

/* ---- sb_frame_append ----------------------------------------------------------------------- */

/* Cuts the next frame from b, unpacks it and consumes it. */
static Shmbufwire__Request *pop_request(sb_bytes *b) {
  const uint8_t *payload;
  uint32_t len;
  long r = sb_frame_next(sb_bytes_head(b), b->len, SB_FRAME_MAX_DEFAULT, &payload, &len);
  ck_assert_int_gt(r, 0);
  ck_assert_int_eq(r, (long)SB_FRAME_HEADER + (long)len);
  Shmbufwire__Request *q = shmbufwire__request__unpack(NULL, len, payload);
  ck_assert_ptr_nonnull(q);
  sb_bytes_consume(b, (size_t)r);
  return q;
}

START_TEST(append_round_trip) {
  sb_bytes b = {0};

  Shmbufwire__Hello hello = SHMBUFWIRE__HELLO__INIT;
  hello.version = SB_PROTOCOL_VERSION;
  hello.client = "check_frame";
  Shmbufwire__Request q1 = SHMBUFWIRE__REQUEST__INIT;
  q1.id = 1;
  q1.op_case = SHMBUFWIRE__REQUEST__OP_HELLO;
  q1.hello = &hello;

  Shmbufwire__Size size = SHMBUFWIRE__SIZE__INIT;
  size.size = -12345678901;
  Shmbufwire__Request q2 = SHMBUFWIRE__REQUEST__INIT;
  q2.id = UINT64_MAX;
  q2.op_case = SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE;
  q2.alloc_unsafe = &size;

  uint8_t blob[70000];
  for (size_t i = 0; i < sizeof blob; i++)
    blob[i] = (uint8_t)(i * 31 + 7);
  Shmbufwire__From from;
  shmbufwire__from__init(&from); /* the _INIT macro trips -Wmissing-braces */
  from.source_case = SHMBUFWIRE__FROM__SOURCE_UTF16;
  from.utf16.data = blob;
  from.utf16.len = sizeof blob;
  from.encoding = (ProtobufCBinaryData){3, (uint8_t *)"hex"};
  Shmbufwire__Request q3 = SHMBUFWIRE__REQUEST__INIT;
  q3.id = 3;
  q3.op_case = SHMBUFWIRE__REQUEST__OP_FROM;
  q3.from = &from;

  ck_assert_int_eq(sb_frame_append(&b, &q1.base, SB_FRAME_MAX_DEFAULT), 0);
  size_t l1 = shmbufwire__request__get_packed_size(&q1);
  ck_assert_uint_eq(b.len, SB_FRAME_HEADER + l1);
  ck_assert_uint_eq(sb_bytes_head(&b)[0], 0);
  ck_assert_uint_eq(sb_bytes_head(&b)[3], l1);
  ck_assert_int_eq(sb_frame_append(&b, &q2.base, SB_FRAME_MAX_DEFAULT), 0);
  ck_assert_int_eq(sb_frame_append(&b, &q3.base, SB_FRAME_MAX_DEFAULT), 0);
  size_t l3 = shmbufwire__request__get_packed_size(&q3);
  ck_assert_uint_gt(l3, 65536); /* the header's upper bytes are used */
  ck_assert_uint_eq(b.len, SB_FRAME_HEADER * 3 + l1 + shmbufwire__request__get_packed_size(&q2) +
                               l3);

  Shmbufwire__Request *r = pop_request(&b);
  ck_assert_uint_eq(r->id, 1);
  ck_assert_int_eq(r->op_case, SHMBUFWIRE__REQUEST__OP_HELLO);
  ck_assert_uint_eq(r->hello->version, SB_PROTOCOL_VERSION);
  ck_assert_str_eq(r->hello->client, "check_frame");
  shmbufwire__request__free_unpacked(r, NULL);

  /* a frame appended after some were consumed lands after the held ones */
  Shmbufwire__Request q4 = SHMBUFWIRE__REQUEST__INIT;
  Shmbufwire__Stats stats = SHMBUFWIRE__STATS__INIT;
  q4.id = 4;
  q4.op_case = SHMBUFWIRE__REQUEST__OP_STATS;
  q4.stats = &stats;
  ck_assert_int_eq(sb_frame_append(&b, &q4.base, SB_FRAME_MAX_DEFAULT), 0);

  r = pop_request(&b);
  ck_assert_uint_eq(r->id, UINT64_MAX);
  ck_assert_int_eq(r->op_case, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE);
  ck_assert_int_eq(r->alloc_unsafe->size, -12345678901);
  shmbufwire__request__free_unpacked(r, NULL);

  r = pop_request(&b);
  ck_assert_uint_eq(r->id, 3);
  ck_assert_int_eq(r->op_case, SHMBUFWIRE__REQUEST__OP_FROM);
  ck_assert_int_eq(r->from->source_case, SHMBUFWIRE__FROM__SOURCE_UTF16);
  ck_assert_uint_eq(r->from->encoding.len, 3);
  ck_assert_int_eq(memcmp(r->from->encoding.data, "hex", 3), 0);
  ck_assert_uint_eq(r->from->utf16.len, sizeof blob);
  ck_assert_mem_eq(r->from->utf16.data, blob, sizeof blob);
  shmbufwire__request__free_unpacked(r, NULL);

  r = pop_request(&b);
  ck_assert_uint_eq(r->id, 4);
  ck_assert_int_eq(r->op_case, SHMBUFWIRE__REQUEST__OP_STATS);
  shmbufwire__request__free_unpacked(r, NULL);

  ck_assert_uint_eq(b.len, 0);
  sb_bytes_free(&b);
}
END_TEST

START_TEST(append_limit) {
  sb_bytes b = {0};
  ck_assert_int_eq(append(&b, "xy", 2), 0);
  Shmbufwire__Hello hello = SHMBUFWIRE__HELLO__INIT;
  hello.client = "0123456789";
  Shmbufwire__Request q = SHMBUFWIRE__REQUEST__INIT;
  q.id = 9;
  q.op_case = SHMBUFWIRE__REQUEST__OP_HELLO;
  q.hello = &hello;
  size_t l = shmbufwire__request__get_packed_size(&q);

  ck_assert_int_eq(sb_frame_append(&b, &q.base, (uint32_t)l - 1), -EMSGSIZE);
  ck_assert_uint_eq(b.len, 2); /* nothing appended */
  ck_assert_mem_eq(sb_bytes_head(&b), "xy", 2);

  ck_assert_int_eq(sb_frame_append(&b, &q.base, (uint32_t)l), 0);
  ck_assert_uint_eq(b.len, 2 + SB_FRAME_HEADER + l);
  const uint8_t *payload;
  uint32_t len;
  ck_assert_int_eq(sb_frame_next(sb_bytes_head(&b) + 2, b.len - 2, (uint32_t)l, &payload, &len),
                   (long)(SB_FRAME_HEADER + l));
  ck_assert_uint_eq(len, l);
  /* the reader with a smaller limit refuses what the writer's limit let through */
  ck_assert_int_eq(
      sb_frame_next(sb_bytes_head(&b) + 2, SB_FRAME_HEADER, (uint32_t)l - 1, &payload, &len),
      -EMSGSIZE);
  sb_bytes_free(&b);
}
END_TEST

/* No frame of any kind reaches 2 GiB, whatever limit its writer has: the length word's top
 * bit says "batch", so a longer reply would read as one. */
START_TEST(append_stops_below_the_batch_bit) {
  sb_bytes b = {0};
  static const uint8_t byte = 'x';
  Shmbufwire__From from;
  shmbufwire__from__init(&from);
  from.source_case = SHMBUFWIRE__FROM__SOURCE_BYTES;
  from.bytes.data = (uint8_t *)&byte; /* only its length is looked at: it is refused first */
  from.bytes.len = SB_FRAME_BATCH;
  Shmbufwire__Request q = SHMBUFWIRE__REQUEST__INIT;
  q.op_case = SHMBUFWIRE__REQUEST__OP_FROM;
  q.from = &from;
  ck_assert_int_eq(sb_frame_append(&b, &q.base, UINT32_MAX), -EMSGSIZE);
  ck_assert_int_eq(sb_frame_append_batch(&b, &q.base, UINT32_MAX), -EMSGSIZE);
  ck_assert_uint_eq(b.len, 0);
  sb_bytes_free(&b);
}
END_TEST

/* Frames fed to the reader one byte at a time come out whole and in order. */
START_TEST(append_bytewise_stream) {
  sb_bytes out = {0}, in = {0};
  for (uint64_t id = 1; id <= 50; id++) {
    Shmbufwire__Release rel = SHMBUFWIRE__RELEASE__INIT;
    rel.buffer = id * 1000003;
    Shmbufwire__Request q = SHMBUFWIRE__REQUEST__INIT;
    q.id = id;
    q.op_case = SHMBUFWIRE__REQUEST__OP_RELEASE;
    q.release = &rel;
    ck_assert_int_eq(sb_frame_append(&out, &q.base, SB_FRAME_MAX_DEFAULT), 0);
  }
  uint64_t want = 1;
  for (size_t i = 0; i < out.len; i++) {
    ck_assert_int_eq(append(&in, sb_bytes_head(&out) + i, 1), 0);
    const uint8_t *payload;
    uint32_t len;
    long r = sb_frame_next(sb_bytes_head(&in), in.len, SB_FRAME_MAX_DEFAULT, &payload, &len);
    ck_assert_int_ge(r, 0);
    if (r == 0)
      continue;
    Shmbufwire__Request *q = shmbufwire__request__unpack(NULL, len, payload);
    ck_assert_ptr_nonnull(q);
    ck_assert_uint_eq(q->id, want);
    ck_assert_int_eq(q->op_case, SHMBUFWIRE__REQUEST__OP_RELEASE);
    ck_assert_uint_eq(q->release->buffer, want * 1000003);
    shmbufwire__request__free_unpacked(q, NULL);
    sb_bytes_consume(&in, (size_t)r);
    want++;
  }
  ck_assert_uint_eq(want, 51);
  ck_assert_uint_eq(in.len, 0);
  sb_bytes_free(&in);
  sb_bytes_free(&out);
}
END_TEST

/* ---- batch frames -------------------------------------------------------------------------- */

/* A batch frame's length word has its top bit set: the kind-aware cut reads it off, and the
 * plain cut sees a length over any limit. */
START_TEST(batch_frames_say_so) {
  sb_bytes b = {0};
  uint64_t words[] = {7, 4, 1, 16};
  Shmbufwire__Batch batch = SHMBUFWIRE__BATCH__INIT;
  batch.words = words;
  batch.n_words = 4;
  Shmbufwire__Request q = SHMBUFWIRE__REQUEST__INIT;
  q.id = 8;
  ck_assert_int_eq(sb_frame_append_batch(&b, &batch.base, SB_FRAME_MAX_DEFAULT), 0);
  ck_assert_int_eq(sb_frame_append(&b, &q.base, SB_FRAME_MAX_DEFAULT), 0);
  size_t l = shmbufwire__batch__get_packed_size(&batch);
  ck_assert_uint_eq(sb_bytes_head(&b)[0], 0x80);
  ck_assert_uint_eq(sb_bytes_head(&b)[3], l);
  const uint8_t *payload;
  uint32_t len;
  bool batched = false;
  ck_assert_int_eq(next(sb_bytes_head(&b), b.len, SB_FRAME_MAX_DEFAULT, &payload, &len),
                   -EMSGSIZE);
  for (size_t n = 0; n < SB_FRAME_HEADER + l; n++) /* whole frames only, whatever the kind */
    ck_assert_int_eq(sb_frame_next_kind(sb_bytes_head(&b), n, SB_FRAME_MAX_DEFAULT, &payload,
                                        &len, &batched), 0);
  long n = sb_frame_next_kind(sb_bytes_head(&b), b.len, SB_FRAME_MAX_DEFAULT, &payload, &len,
                              &batched);
  ck_assert_int_eq(n, (long)(SB_FRAME_HEADER + l));
  ck_assert(batched);
  ck_assert_uint_eq(len, l);
  Shmbufwire__Batch *back = shmbufwire__batch__unpack(NULL, len, payload);
  ck_assert_ptr_nonnull(back);
  ck_assert_uint_eq(back->n_words, 4);
  ck_assert_mem_eq(back->words, words, sizeof words);
  shmbufwire__batch__free_unpacked(back, NULL);
  sb_bytes_consume(&b, (size_t)n);
  ck_assert_int_gt(sb_frame_next_kind(sb_bytes_head(&b), b.len, SB_FRAME_MAX_DEFAULT, &payload,
                                      &len, &batched), 0);
  ck_assert(!batched);
  /* the limit holds for the length without the bit */
  sb_bytes_consume(&b, b.len);
  ck_assert_int_eq(sb_frame_append_batch(&b, &batch.base, (uint32_t)l - 1), -EMSGSIZE);
  ck_assert_int_eq(sb_frame_append_batch(&b, &batch.base, (uint32_t)l), 0);
  ck_assert_int_eq(sb_frame_next_kind(sb_bytes_head(&b), b.len, (uint32_t)l - 1, &payload, &len,
                                      &batched), -EMSGSIZE);
  uint8_t empty[4] = {0x80, 0, 0, 0};
  ck_assert_int_eq(sb_frame_next_kind(empty, 4, SB_FRAME_MAX_DEFAULT, &payload, &len, &batched),
                   -EBADMSG);
  sb_bytes_free(&b);
}
END_TEST

static Suite *frame_suite(void) {
  Suite *s = suite_create("frame");
  TCase *tc = tcase_create("bytes");
  tcase_add_test(tc, bytes_append_consume);
  tcase_add_test(tc, bytes_grow_keeps_content);
  tcase_add_test(tc, bytes_reserve_moves_to_front);
  tcase_add_test(tc, bytes_reserve_too_much);
  tcase_add_test(tc, bytes_trim);
  suite_add_tcase(s, tc);

  tc = tcase_create("next");
  tcase_add_test(tc, next_partial_header);
  tcase_add_test(tc, next_partial_payload);
  tcase_add_test(tc, next_exact_frame);
  tcase_add_test(tc, next_back_to_back);
  tcase_add_test(tc, next_zero_length);
  tcase_add_test(tc, next_limits);
  suite_add_tcase(s, tc);

  tc = tcase_create("append");
  tcase_add_test(tc, append_round_trip);
  tcase_add_test(tc, append_limit);
  tcase_add_test(tc, append_stops_below_the_batch_bit);
  tcase_add_test(tc, append_bytewise_stream);
  tcase_add_test(tc, batch_frames_say_so);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(frame_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
