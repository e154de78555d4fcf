/* SPDX-License-Identifier: MIT */
/* Writes the fuzz seed corpus: well-formed request streams that reach every operation, for
 * libFuzzer to mutate. Run by `make fuzz-corpus`; its output is committed in
 * tests/fuzz/corpus. Buffer ids are predictable: the n-th slot of a fresh session is
 * 1 << 32 | n, and a released slot comes back with the generation bumped. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

#define ID(gen, slot) ((uint64_t)(gen) << 32 | (slot))

static sb_bytes out;
static uint64_t next_id;

static void put(Shmbufwire__Request *q) {
  q->id = ++next_id;
  if (sb_frame_append(&out, &q->base, UINT32_MAX) < 0)
    abort();
}

static void hello(void) {
  Shmbufwire__Request q;
  Shmbufwire__Hello h;
  shmbufwire__request__init(&q);
  shmbufwire__hello__init(&h);
  h.version = SB_PROTOCOL_VERSION;
  q.op_case = SHMBUFWIRE__REQUEST__OP_HELLO;
  q.hello = &h;
  put(&q);
}

static void sized(Shmbufwire__Request__OpCase op, int64_t size) {
  Shmbufwire__Request q;
  Shmbufwire__Size s;
  Shmbufwire__Alloc a;
  shmbufwire__request__init(&q);
  shmbufwire__size__init(&s);
  shmbufwire__alloc__init(&a);
  s.size = a.size = size;
  q.op_case = op;
  if (op == SHMBUFWIRE__REQUEST__OP_ALLOC)
    q.alloc = &a;
  else if (op == SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE)
    q.alloc_unsafe = &s;
  else
    q.alloc_unsafe_slow = &s;
  put(&q);
}

static void alloc_fill(int64_t size, Shmbufwire__Fill__ValueCase kind, const char *value,
                       double number, const char *enc) {
  Shmbufwire__Request q;
  Shmbufwire__Alloc a;
  Shmbufwire__Fill f;
  shmbufwire__request__init(&q);
  shmbufwire__alloc__init(&a);
  shmbufwire__fill__init(&f);
  a.size = size;
  a.fill = &f;
  f.value_case = kind;
  f.number = number;
  f.bytes.data = f.utf8.data = f.utf16.data = (uint8_t *)value;
  f.bytes.len = f.utf8.len = f.utf16.len = value ? strlen(value) : 0;
  f.encoding = (ProtobufCBinaryData){enc ? strlen(enc) : 0, (uint8_t *)enc};
  q.op_case = SHMBUFWIRE__REQUEST__OP_ALLOC;
  q.alloc = &a;
  put(&q);
}

/* text is NUL-terminated, except for UTF-16 sources, which are 6 bytes long */
static void from(Shmbufwire__From__SourceCase kind, const char *text, uint64_t buffer,
                 const char *enc) {
  Shmbufwire__Request q;
  Shmbufwire__From f;
  Shmbufwire__NumberArray arr;
  double values[] = {1, 256, -1, 1.5, 1e300, -0.0, 97, 98};
  shmbufwire__request__init(&q);
  shmbufwire__from__init(&f);
  shmbufwire__number_array__init(&arr);
  arr.values = values;
  arr.n_values = 8;
  f.source_case = kind;
  f.bytes.data = f.utf8.data = f.utf16.data = (uint8_t *)text;
  f.bytes.len = f.utf8.len = f.utf16.len = text ? strlen(text) : 0;
  if (kind == SHMBUFWIRE__FROM__SOURCE_UTF16)
    f.utf16.len = 6;
  f.array = &arr;
  f.buffer = buffer;
  f.encoding = (ProtobufCBinaryData){enc ? strlen(enc) : 0, (uint8_t *)enc};
  q.op_case = SHMBUFWIRE__REQUEST__OP_FROM;
  q.from = &f;
  put(&q);
}

static void simple(Shmbufwire__Request__OpCase op, uint64_t buffer) {
  Shmbufwire__Request q;
  Shmbufwire__Release rel;
  Shmbufwire__Stats st;
  Shmbufwire__Lease le;
  shmbufwire__request__init(&q);
  shmbufwire__release__init(&rel);
  shmbufwire__stats__init(&st);
  shmbufwire__lease__init(&le);
  rel.buffer = buffer;
  q.op_case = op;
  q.release = &rel;
  q.stats = &st;
  q.lease = &le;
  put(&q);
}

/* share (seal false) or seal (seal true) of a range of buffer `buffer`. */
static void share_range(bool seal, uint64_t buffer, uint64_t ab_offset, uint64_t ab_length,
                        uint64_t byte_offset, uint64_t length, bool writable, bool persist,
                        uint64_t ttl_ms, uint32_t allow_uid) {
  Shmbufwire__Request q;
  Shmbufwire__Share s;
  Shmbufwire__Seal se;
  Shmbufwire__ShareRange r;
  shmbufwire__request__init(&q);
  shmbufwire__share__init(&s);
  shmbufwire__seal__init(&se);
  shmbufwire__share_range__init(&r);
  r.buffer = buffer;
  r.ab_offset = ab_offset;
  r.ab_length = ab_length;
  r.byte_offset = byte_offset;
  r.length = length;
  s.range = se.range = &r;
  s.writable = writable;
  s.persist = persist;
  s.ttl_ms = ttl_ms;
  s.n_allow_uids = allow_uid ? 1 : 0;
  s.allow_uids = &allow_uid;
  q.op_case = seal ? SHMBUFWIRE__REQUEST__OP_SEAL : SHMBUFWIRE__REQUEST__OP_SHARE;
  q.share = &s;
  q.seal = &se;
  put(&q);
}

/* import or unshare of a token, or the list of shares (token NULL). */
static void by_token(Shmbufwire__Request__OpCase op, const char *token) {
  Shmbufwire__Request q;
  Shmbufwire__Import im;
  Shmbufwire__Unshare un;
  Shmbufwire__ListShares ls;
  shmbufwire__request__init(&q);
  shmbufwire__import__init(&im);
  shmbufwire__unshare__init(&un);
  shmbufwire__list_shares__init(&ls);
  im.token = un.token = (char *)token;
  q.op_case = op;
  q.import = &im;
  q.unshare = &un;
  q.list_shares = &ls;
  put(&q);
}

/* A batch frame: releases, then creations of op with the sizes. */
static void batch(uint64_t op, const int64_t *sizes, size_t n, const uint64_t *releases,
                  size_t nreleases) {
  uint64_t words[3 + 16 + 16] = {next_id + 1, op, n};
  Shmbufwire__Batch b;
  shmbufwire__batch__init(&b);
  for (size_t i = 0; i < n; i++)
    words[3 + i] = (uint64_t)sizes[i];
  for (size_t i = 0; i < nreleases; i++)
    words[3 + n + i] = releases[i];
  b.words = words;
  b.n_words = 3 + n + nreleases;
  next_id += n;
  if (sb_frame_append_batch(&out, &b.base, UINT32_MAX) < 0)
    abort();
}

static void save(const char *dir, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(sb_bytes_head(&out), 1, out.len, f) != out.len || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
  sb_bytes_consume(&out, out.len);
  next_id = 0;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : ".";
  static const int64_t sizes[] = {1, 7, 8, 4095, 4096, 0, 100, 4000, 4000, 193, 9, 20000};
  const size_t nsizes = sizeof sizes / sizeof *sizes;

  hello();
  save(dir, "hello");

  hello();
  sized(SHMBUFWIRE__REQUEST__OP_ALLOC, 4);
  simple(SHMBUFWIRE__REQUEST__OP_RELEASE, ID(1, 1));
  sized(SHMBUFWIRE__REQUEST__OP_ALLOC, 4);
  simple(SHMBUFWIRE__REQUEST__OP_RELEASE, ID(1, 1)); /* stale: the slot is at generation 2 */
  simple(SHMBUFWIRE__REQUEST__OP_RELEASE, ID(2, 1));
  save(dir, "alloc-release");

  hello();
  for (size_t i = 0; i < nsizes; i++)
    sized(SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE, sizes[i]);
  for (size_t i = 0; i < nsizes; i++)
    sized(SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, sizes[i]);
  for (size_t i = 1; i <= 2 * nsizes; i += 2)
    simple(SHMBUFWIRE__REQUEST__OP_RELEASE, ID(1, i));
  simple(SHMBUFWIRE__REQUEST__OP_STATS, 0);
  save(dir, "pool-sequence");

  hello();
  from(SHMBUFWIRE__FROM__SOURCE_UTF8, "abcd", 0, "");
  from(SHMBUFWIRE__FROM__SOURCE_UTF8, "t\xc3\xa9st", 0, "latin1");
  from(SHMBUFWIRE__FROM__SOURCE_UTF8, "616263zz", 0, "hex");
  from(SHMBUFWIRE__FROM__SOURCE_UTF8, "aGVs bG8=x", 0, "base64");
  from(SHMBUFWIRE__FROM__SOURCE_UTF8, "_-8", 0, "base64url");
  from(SHMBUFWIRE__FROM__SOURCE_UTF16, "h\0i\0\x3d\xd8", 0, "ucs2");
  from(SHMBUFWIRE__FROM__SOURCE_UTF8, "\xed\xa0\x80\xff", 0, "utf-8");
  from(SHMBUFWIRE__FROM__SOURCE_UTF8, "x", 0, "utf9");
  from(SHMBUFWIRE__FROM__SOURCE_UTF8, "", 0, "ascii");
  save(dir, "from-string");

  hello();
  from(SHMBUFWIRE__FROM__SOURCE_ARRAY, NULL, 0, "");
  from(SHMBUFWIRE__FROM__SOURCE_BYTES, "raw bytes", 0, "");
  from(SHMBUFWIRE__FROM__SOURCE_BUFFER, NULL, ID(1, 1), "");
  from(SHMBUFWIRE__FROM__SOURCE_BUFFER, NULL, ID(1, 9), "");
  sized(SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, 5000);
  from(SHMBUFWIRE__FROM__SOURCE_BUFFER, NULL, ID(1, 4), "");
  save(dir, "from-other");

  hello();
  alloc_fill(10, SHMBUFWIRE__FILL__VALUE_UTF8, "ab", 0, "");
  alloc_fill(10, SHMBUFWIRE__FILL__VALUE_UTF8, "zz", 0, "hex");
  alloc_fill(10, SHMBUFWIRE__FILL__VALUE_UTF8, "", 0, "base64");
  alloc_fill(70000, SHMBUFWIRE__FILL__VALUE_BYTES, "xyz", 0, "");
  alloc_fill(10, SHMBUFWIRE__FILL__VALUE_BYTES, "", 0, "");
  alloc_fill(10, SHMBUFWIRE__FILL__VALUE_NUMBER, NULL, 257.5, "");
  alloc_fill(0, SHMBUFWIRE__FILL__VALUE_UTF8, "x", 0, "utf9");
  alloc_fill(3 << 20, SHMBUFWIRE__FILL__VALUE_NUMBER, NULL, 1, "");
  save(dir, "alloc-fill");

  hello();
  simple(SHMBUFWIRE__REQUEST__OP_LEASE, 0);
  simple(SHMBUFWIRE__REQUEST__OP_LEASE, 0);
  simple(SHMBUFWIRE__REQUEST__OP_RELEASE, ID(1, 1));
  simple(SHMBUFWIRE__REQUEST__OP_STATS, 0);
  save(dir, "lease");

  hello();
  batch(SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE, (int64_t[]){16, 100, 5000, -1, 3 << 20, 0}, 6,
        NULL, 0);
  batch(SHMBUFWIRE__REQUEST__OP_LEASE, (int64_t[]){65536, 0}, 2, NULL, 0);
  batch(SHMBUFWIRE__REQUEST__OP_ALLOC, (int64_t[]){7}, 1, (uint64_t[]){ID(1, 1), ID(1, 9)}, 2);
  batch(0, NULL, 0, (uint64_t[]){ID(1, 2), ID(1, 3)}, 2);
  share_range(false, ID(1, 5), 4096, 100, 0, 100, false, false, 0, 0); /* a carve of a region */
  batch(SHMBUFWIRE__REQUEST__OP_FROM, (int64_t[]){1}, 1, NULL, 0); /* no batch: a violation */
  save(dir, "batch");

  batch(SHMBUFWIRE__REQUEST__OP_ALLOC, (int64_t[]){4}, 1, NULL, 0);
  save(dir, "batch-before-hello");

  hello();
  sized(SHMBUFWIRE__REQUEST__OP_ALLOC, 100);
  sized(SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE, 10);
  sized(SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, 3 << 20);
  share_range(false, ID(1, 1), 0, 100, 10, 20, false, false, 0, 0);
  share_range(false, ID(1, 2), 16, 10, 0, 10, true, false, 1000, 0);
  share_range(false, ID(1, 3), 0, 3 << 20, 0, 3 << 20, false, true, 60000, 4242);
  share_range(true, ID(1, 1), 0, 100, 0, 100, false, false, 0, 0);
  share_range(false, ID(1, 4), 0, 100, 0, 100, false, false, 0, 0);
  share_range(false, ID(1, 1), 0, 101, 0, 1, false, false, 0, 0);
  share_range(false, ID(1, 1), 0, 100, 0, 100, false, true, 0, 0);
  by_token(SHMBUFWIRE__REQUEST__OP_LIST_SHARES, NULL);
  by_token(SHMBUFWIRE__REQUEST__OP_IMPORT, "sb1_AAAAAAAAAAAAAAAAAAAAAA");
  by_token(SHMBUFWIRE__REQUEST__OP_UNSHARE, "sb1_AAAAAAAAAAAAAAAAAAAAAA");
  by_token(SHMBUFWIRE__REQUEST__OP_IMPORT, "");
  simple(SHMBUFWIRE__REQUEST__OP_RELEASE, ID(1, 5));
  simple(SHMBUFWIRE__REQUEST__OP_RELEASE, ID(1, 1));
  simple(SHMBUFWIRE__REQUEST__OP_STATS, 0);
  save(dir, "share");

  hello();
  sized(SHMBUFWIRE__REQUEST__OP_ALLOC, -1);
  sized(SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE, INT64_MAX);
  sized(SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, (int64_t)1 << 40);
  simple(SHMBUFWIRE__REQUEST__OP_RELEASE, 12345);
  hello();
  simple(SHMBUFWIRE__REQUEST__OP__NOT_SET, 0);
  save(dir, "errors");

  sized(SHMBUFWIRE__REQUEST__OP_ALLOC, 4);
  save(dir, "no-hello");

  hello();
  for (int i = 0; i < 64; i++)
    sized(i % 2 ? SHMBUFWIRE__REQUEST__OP_ALLOC : SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE,
          (int64_t)(i * 997 % 70000));
  for (int i = 1; i <= 64; i += 3)
    simple(SHMBUFWIRE__REQUEST__OP_RELEASE, ID(1, i));
  for (int i = 0; i < 16; i++)
    sized(SHMBUFWIRE__REQUEST__OP_ALLOC, (int64_t)(i * 131));
  save(dir, "churn");

  hello();
  sized(SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE, 10);
  simple(SHMBUFWIRE__REQUEST__OP_LIST_CLIENTS, 0);
  simple(SHMBUFWIRE__REQUEST__OP_STATS, 0);
  save(dir, "reports");
  return 0;
}
