/* SPDX-License-Identifier: MIT */
/* The typed reads and writes of libshmbuf (client/typed.c) against a real shmbufd, replaying
 * what Node v20 does (the typed module of tests/vectors/bufops.txt), with buffers made both
 * ways. */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "replay.h"
#include "shmbuf.h"

static sbt_daemon D;

static void up(void) { sbt_start(&D, NULL); }
static void down(void) { sbt_stop(&D); }

/* What a read gives: an integer, or a float or double (`d`). */
typedef struct value {
  double d;
  int64_t i;
  uint64_t u;
} value;

typedef struct typed {
  const char *name;
  int (*read)(const shmbuf_buf *b, int64_t offset, int64_t byte_length, value *out);
  int64_t (*write)(shmbuf_buf *b, const char *value, int64_t offset, int64_t byte_length);
} typed;

/* The fixed-size types (byte_length is "-" in their cases), the value written parsed by
 * `parse`: a JS number's bits, or a BigInt's decimal digits. */
static int64_t big_of(const char *v) { return strtoll(v, NULL, 10); }
static uint64_t ubig_of(const char *v) { return strtoull(v, NULL, 10); }

#define FIXED(fn, type, field, parse)                                                        \
  static int read_##fn(const shmbuf_buf *b, int64_t offset, int64_t byte_length, value *out) { \
    type x = 0;                                                                              \
    ck_assert_int_eq(byte_length, SHMBUF_UNDEFINED);                                          \
    int rc = shmbuf_read_##fn(b, offset, &x);                                                \
    out->field = x;                                                                          \
    return rc;                                                                               \
  }                                                                                          \
  static int64_t write_##fn(shmbuf_buf *b, const char *v, int64_t offset, int64_t byte_length) { \
    ck_assert_int_eq(byte_length, SHMBUF_UNDEFINED);                                          \
    return shmbuf_write_##fn(b, parse(v), offset);                                           \
  }

FIXED(uint8, uint8_t, i, rp_number)
FIXED(int8, int8_t, i, rp_number)
FIXED(uint16_le, uint16_t, i, rp_number)
FIXED(uint16_be, uint16_t, i, rp_number)
FIXED(int16_le, int16_t, i, rp_number)
FIXED(int16_be, int16_t, i, rp_number)
FIXED(uint32_le, uint32_t, i, rp_number)
FIXED(uint32_be, uint32_t, i, rp_number)
FIXED(int32_le, int32_t, i, rp_number)
FIXED(int32_be, int32_t, i, rp_number)
FIXED(float_le, float, d, rp_number)
FIXED(float_be, float, d, rp_number)
FIXED(double_le, double, d, rp_number)
FIXED(double_be, double, d, rp_number)
FIXED(big_int64_le, int64_t, i, big_of)
FIXED(big_int64_be, int64_t, i, big_of)
FIXED(big_uint64_le, uint64_t, u, ubig_of)
FIXED(big_uint64_be, uint64_t, u, ubig_of)

/* readUIntLE(offset, byteLength) and friends */
#define VARIABLE(fn, type, field)                                                            \
  static int read_##fn(const shmbuf_buf *b, int64_t offset, int64_t byte_length, value *out) { \
    type x = 0;                                                                              \
    int rc = shmbuf_read_##fn(b, offset, byte_length, &x);                                   \
    out->field = x;                                                                          \
    return rc;                                                                               \
  }                                                                                          \
  static int64_t write_##fn(shmbuf_buf *b, const char *v, int64_t offset, int64_t byte_length) { \
    return shmbuf_write_##fn(b, rp_number(v), offset, byte_length);                          \
  }

VARIABLE(uint_le, uint64_t, u)
VARIABLE(uint_be, uint64_t, u)
VARIABLE(int_le, int64_t, i)
VARIABLE(int_be, int64_t, i)

static const typed TYPES[] = {
#define T(name, fn) {name, read_##fn, write_##fn}
    T("uint8", uint8),         T("int8", int8),           T("uint16le", uint16_le),
    T("uint16be", uint16_be),  T("int16le", int16_le),    T("int16be", int16_be),
    T("uint32le", uint32_le),  T("uint32be", uint32_be),  T("int32le", int32_le),
    T("int32be", int32_be),    T("uintle", uint_le),      T("uintbe", uint_be),
    T("intle", int_le),        T("intbe", int_be),        T("floatle", float_le),
    T("floatbe", float_be),    T("doublele", double_le),  T("doublebe", double_be),
    T("bigint64le", big_int64_le), T("bigint64be", big_int64_be),
    T("biguint64le", big_uint64_le), T("biguint64be", big_uint64_be),
#undef T
};

static const typed *type_of(rp_case *v, const char *name) {
  for (size_t i = 0; i < sizeof TYPES / sizeof *TYPES; i++)
    if (strcmp(TYPES[i].name, name) == 0)
      return &TYPES[i];
  ck_abort_msg("bufops.txt:%u: unknown type %s", v->line, name);
  return NULL;
}

/* read TYPE HEX INT INT = ok VALUE: a BigInt in decimal, a Number as the bits of the JS
 * number, which the value read must convert to exactly */
static void op_read(rp_case *v) {
  const typed *t = type_of(v, v->f[1]);
  shmbuf_buf *b = rp_buffer(v, v->f[2]);
  value got = {0};
  rp_poison(v);
  if (!rp_outcome(v, t->read(b, rp_integer(v->f[3]), rp_integer(v->f[4]), &got)))
    return;
  const char *want = v->res[1];
  bool is_unsigned = t->read == read_uint_le || t->read == read_uint_be ||
                     t->read == read_big_uint64_le || t->read == read_big_uint64_be;
  if (strncmp(t->name, "big", 3) == 0) {
    if (is_unsigned && got.u != strtoull(want, NULL, 10))
      rp_wrong(v, "read %" PRIu64 ", Node: %s", got.u, want);
    else if (!is_unsigned)
      rp_same_int(v, "the value", got.i, want);
    return;
  }
  double d = strstr(t->name, "float") || strstr(t->name, "double") ? got.d
             : is_unsigned                                          ? (double)got.u
                                                                    : (double)got.i;
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  if (bits != strtoull(want, NULL, 16))
    rp_wrong(v, "read %.17g (bits %016" PRIx64 "), Node: %.17g (bits %s)", d, bits,
             rp_number(want), want);
}

/* write TYPE HEX VALUE INT INT = ok N HEX, into a view with guard bytes around it */
static void op_write(rp_case *v) {
  const typed *t = type_of(v, v->f[1]);
  shmbuf_buf *b = rp_guarded(v, v->f[2]);
  uint8_t *before = rp_hex(v, v->f[2], &(size_t){0});
  rp_poison(v);
  int64_t n = t->write(b, v->f[3], rp_integer(v->f[4]), rp_integer(v->f[5]));
  bool ok = rp_outcome(v, n);
  if (rp_guards_intact(v, b) && ok && rp_same_int(v, "the offset returned", n, v->res[1]))
    rp_same_bytes(v, "contents", shmbuf_data(b), shmbuf_length(b), v->res[2]);
  else if (!ok && shmbuf_length(b) && memcmp(shmbuf_data(b), before, shmbuf_length(b)) != 0)
    rp_wrong(v, "a failing write changed the buffer");
}

static const rp_op OPS[] = {{"read", op_read}, {"write", op_write}};

START_TEST(typed_matches_node) {
  ck_assert_uint_gt(rp_replay(&D, "bufops.txt", "typed", OPS, 2, 0), 10000);
}
END_TEST

START_TEST(typed_matches_node_thin) {
  ck_assert_uint_gt(rp_replay(&D, "bufops.txt", "typed", OPS, 2, SHMBUF_THIN), 10000);
}
END_TEST

/* A round trip of every width through a view at an odd byte offset of a pool: what one write
 * stores, the matching read gives back, and the offsets chain. */
START_TEST(typed_round_trip_unaligned) {
  shmbuf_client *c;
  shmbuf_buf *pool, *b;
  ck_assert_int_eq(shmbuf_connect(D.sock, &c), 0);
  ck_assert_int_eq(shmbuf_alloc_unsafe(c, 64, &pool), 0);
  ck_assert_int_eq(shmbuf_subarray(pool, 3, SHMBUF_UNDEFINED, &b), 0);
  int64_t at = shmbuf_write_int16_be(b, -2, SHMBUF_UNDEFINED);
  at = shmbuf_write_uint32_le(b, 4000000000.0, at);
  at = shmbuf_write_int_be(b, -(double)(1ll << 46), at, 6);
  at = shmbuf_write_double_be(b, -0.0, at);
  at = shmbuf_write_float_le(b, 0.1, at);
  at = shmbuf_write_big_uint64_be(b, UINT64_MAX - 1, at);
  ck_assert_int_eq(at, 2 + 4 + 6 + 8 + 4 + 8);
  int16_t i16;
  uint32_t u32;
  int64_t i48, big;
  double d;
  float f;
  uint64_t u64;
  ck_assert_int_eq(shmbuf_read_int16_be(b, 0, &i16), 0);
  ck_assert_int_eq(shmbuf_read_uint32_le(b, 2, &u32), 0);
  ck_assert_int_eq(shmbuf_read_int_be(b, 6, 6, &i48), 0);
  ck_assert_int_eq(shmbuf_read_double_be(b, 12, &d), 0);
  ck_assert_int_eq(shmbuf_read_float_le(b, 20, &f), 0);
  ck_assert_int_eq(shmbuf_read_big_uint64_be(b, 24, &u64), 0);
  ck_assert_int_eq(shmbuf_read_big_int64_be(b, 24, &big), 0);
  ck_assert_int_eq(i16, -2);
  ck_assert_uint_eq(u32, 4000000000u);
  ck_assert_int_eq(i48, -(1ll << 46));
  ck_assert(d == 0 && signbit(d));
  ck_assert(f == 0.1f);
  ck_assert_uint_eq(u64, UINT64_MAX - 1);
  ck_assert_int_eq(big, -2);
  ck_assert_int_eq(shmbuf_data(pool)[3], 0xff);
  shmbuf_close(c);
}
END_TEST

static Suite *typed_suite(void) {
  Suite *s = suite_create("typed");
  TCase *t = tcase_create("node");
  tcase_add_checked_fixture(t, up, down);
  tcase_set_timeout(t, 300);
  tcase_add_test(t, typed_matches_node);
  tcase_add_test(t, typed_matches_node_thin);
  tcase_add_test(t, typed_round_trip_unaligned);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(typed_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
