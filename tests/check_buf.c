/* SPDX-License-Identifier: MIT */
/* The Buffer API of libshmbuf against a real shmbufd, replaying what Node v20 does
 * (tests/vectors/buffer.txt, made by gen-buffer.js; the format is documented there). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "replay.h"
#include "shmbuf.h"

static sbt_daemon D;

static void up(void) { sbt_start(&D, NULL); }
static void down(void) { sbt_stop(&D); }

static shmbuf_client *client(unsigned flags) {
  shmbuf_client *c;
  int rc = shmbuf_connect_ex(D.sock, flags, &c);
  ck_assert_msg(rc == 0, "connect: %s", shmbuf_strerror(rc));
  return c;
}

/* A made buffer whose creation failed must leave *out alone. */
#define UNSET ((shmbuf_buf *)&D)

static shmbuf_buf *made(rp_case *v, int rc, shmbuf_buf *b) {
  if (rc == 0)
    return rp_keep(v, b);
  if (b != UNSET)
    rp_wrong(v, "*out was written by a failing call");
  return NULL;
}

/* ---- the operations -------------------------------------------------------------------------- */

/* alloc INT FILL|- ENC = ok HEX */
static void op_alloc(rp_case *v) {
  int64_t size = rp_integer(v->f[1]);
  const char *fill = v->f[2], *enc = rp_encoding(v->f[3]);
  shmbuf_buf *b = UNSET;
  size_t n;
  int rc;
  if (!rp_expects_ok(v))
    rp_poison(v);
  if (strcmp(fill, "-") == 0) {
    ck_assert_ptr_null(enc);
    rc = shmbuf_alloc(v->c, size, &b);
  } else if (strncmp(fill, "s:", 2) == 0) {
    const uint8_t *s = rp_hex(v, fill + 2, &n);
    rc = shmbuf_alloc_fill_string(v->c, size, (const char *)s, n, enc, &b);
  } else if (strncmp(fill, "b:", 2) == 0) {
    const uint8_t *s = rp_hex(v, fill + 2, &n);
    rc = shmbuf_alloc_fill_bytes(v->c, size, s, n, &b);
  } else {
    ck_assert_msg(strncmp(fill, "n:", 2) == 0, "line %u: bad fill", v->line);
    rc = shmbuf_alloc_fill_number(v->c, size, rp_number(fill + 2), &b);
  }
  if (!rp_outcome(v, rc) || !made(v, rc, b))
    return;
  if (rp_same_bytes(v, "contents", shmbuf_data(b), shmbuf_length(b), v->res[1]) &&
      shmbuf_buffer_byte_length(b) != shmbuf_length(b))
    rp_wrong(v, "buffer.byteLength %zu for a length of %zu", shmbuf_buffer_byte_length(b),
          shmbuf_length(b));
  if (shmbuf_is_pooled(b))
    rp_wrong(v, "Buffer.alloc() is never pooled");
}

/* size alloc|unsafe|slow INT = ok LEN */
static void op_size(rp_case *v) {
  int64_t size = rp_integer(v->f[2]);
  shmbuf_buf *b = UNSET;
  int rc;
  if (!rp_expects_ok(v))
    rp_poison(v);
  if (strcmp(v->f[1], "alloc") == 0)
    rc = shmbuf_alloc(v->c, size, &b);
  else if (strcmp(v->f[1], "unsafe") == 0)
    rc = shmbuf_alloc_unsafe(v->c, size, &b);
  else
    rc = shmbuf_alloc_unsafe_slow(v->c, size, &b);
  if (rp_outcome(v, rc) && made(v, rc, b))
    rp_same_int(v, "length", (int64_t)(shmbuf_length(b)), v->res[1]);
}

/* fill HEX FILL INT INT ENC = ok HEX: the target is a view with guard bytes around it. */
static void op_fill(rp_case *v) {
  size_t vn;
  shmbuf_buf *b = rp_guarded(v, v->f[1]);
  const char *fill = v->f[2], *enc = rp_encoding(v->f[5]);
  int64_t offset = rp_integer(v->f[3]), end = rp_integer(v->f[4]);
  int rc;
  if (!rp_expects_ok(v))
    rp_poison(v);
  if (strncmp(fill, "s:", 2) == 0) {
    const uint8_t *s = rp_hex(v, fill + 2, &vn);
    rc = shmbuf_fill_string(b, (const char *)s, vn, offset, end, enc);
  } else if (strncmp(fill, "b:", 2) == 0) {
    const uint8_t *s = rp_hex(v, fill + 2, &vn);
    ck_assert_ptr_null(enc);
    rc = shmbuf_fill_bytes(b, s, vn, offset, end);
  } else {
    ck_assert_ptr_null(enc);
    rc = shmbuf_fill_number(b, rp_number(fill + 2), offset, end);
  }
  bool ok = rp_outcome(v, rc);
  if (rp_guards_intact(v, b))
    rp_same_bytes(v, ok ? "contents" : "contents after a failing fill", shmbuf_data(b),
                  shmbuf_length(b), ok ? v->res[1] : v->f[1]);
}

/* from STR ENC = ok HEX */
static void op_from(rp_case *v) {
  size_t n;
  const uint8_t *s = rp_hex(v, v->f[1], &n);
  shmbuf_buf *b = UNSET;
  if (!rp_expects_ok(v))
    rp_poison(v);
  int rc = shmbuf_from_string(v->c, (const char *)s, n, rp_encoding(v->f[2]), &b);
  if (rp_outcome(v, rc) && made(v, rc, b))
    rp_same_bytes(v, "contents", shmbuf_data(b), shmbuf_length(b), v->res[1]);
}

/* from16 UNITS ENC = ok HEX */
static void op_from16(rp_case *v) {
  size_t n;
  const uint8_t *be = rp_hex(v, v->f[1], &n);
  uint16_t *u = rp_keep_mem(v, malloc(n + 2));
  for (size_t i = 0; i < n / 2; i++)
    u[i] = (uint16_t)(be[2 * i] << 8 | be[2 * i + 1]);
  shmbuf_buf *b = UNSET;
  if (!rp_expects_ok(v))
    rp_poison(v);
  int rc = shmbuf_from_utf16(v->c, u, n / 2, rp_encoding(v->f[2]), &b);
  if (rp_outcome(v, rc) && made(v, rc, b))
    rp_same_bytes(v, "contents", shmbuf_data(b), shmbuf_length(b), v->res[1]);
}

/* array NUM,NUM,...|- = ok HEX */
static void op_array(rp_case *v) {
  double *vals = rp_keep_mem(v, malloc((strlen(v->f[1]) / 16 + 1) * sizeof *vals));
  size_t n = 0;
  if (strcmp(v->f[1], "-") != 0)
    for (char *s2, *t = strtok_r(v->f[1], ",", &s2); t; t = strtok_r(NULL, ",", &s2))
      vals[n++] = rp_number(t);
  shmbuf_buf *b;
  int rc = shmbuf_from_array(v->c, vals, n, &b);
  if (rp_outcome(v, rc) && made(v, rc, b))
    rp_same_bytes(v, "contents", shmbuf_data(b), shmbuf_length(b), v->res[1]);
}

/* bytelen STR ENC = ok N */
static void op_bytelen(rp_case *v) {
  size_t n, len = 12345;
  const uint8_t *s = rp_hex(v, v->f[1], &n);
  int rc = shmbuf_byte_length((const char *)s, n, rp_encoding(v->f[2]), &len);
  if (rp_outcome(v, rc))
    rp_same_int(v, "byteLength", (int64_t)(len), v->res[1]);
}

/* tostring HEX ENC INT INT = ok STR UNITS, through both the UTF-8 and the UTF-16 calls */
static void op_tostring(rp_case *v) {
  shmbuf_buf *b = rp_buffer(v, v->f[1]);
  const char *enc = rp_encoding(v->f[2]);
  int64_t start = rp_integer(v->f[3]), end = rp_integer(v->f[4]);
  char *s = NULL;
  size_t len = 0;
  if (!rp_expects_ok(v))
    rp_poison(v);
  int rc = shmbuf_to_string(b, enc, start, end, &s, &len);
  if (rp_outcome(v, rc)) {
    rp_keep_mem(v, s);
    if (s[len] != '\0')
      rp_wrong(v, "the string is not NUL-terminated");
    rp_same_bytes(v, "UTF-8", (const uint8_t *)s, len, v->res[1]);
  }
  if (v->why[0])
    return;
  uint16_t *u = NULL;
  size_t nu = 0;
  if (!rp_expects_ok(v))
    rp_poison(v);
  rc = shmbuf_to_utf16(b, enc, start, end, &u, &nu);
  if (!rp_outcome(v, rc))
    return;
  rp_keep_mem(v, u);
  size_t wn;
  const uint8_t *w = rp_hex(v, v->res[2], &wn);
  bool same = nu * 2 == wn;
  for (size_t i = 0; same && i < nu; i++)
    same = u[i] == (uint16_t)(w[2 * i] << 8 | w[2 * i + 1]);
  if (!same)
    rp_wrong(v, "UTF-16: %zu units differ from Node's %s", nu, v->res[2]);
  else if (u[nu] != 0)
    rp_wrong(v, "the UTF-16 string is not 0-terminated");
}

/* inspect HEX = ok TEXT */
static void op_inspect(rp_case *v) {
  shmbuf_buf *b = rp_buffer(v, v->f[1]);
  char *s;
  int rc = shmbuf_inspect(b, &s);
  if (!rp_outcome(v, rc))
    return;
  rp_keep_mem(v, s);
  const char *want = rp_string(v, v->res[1]);
  if (strcmp(s, want) != 0)
    rp_wrong(v, "inspect\n#   got  %s\n#   Node %s", s, want);
}

/* subarray|slice LEN INT INT = ok OFF LEN: a view on the same memory */
static void op_subarray(rp_case *v) {
  int64_t n = rp_integer(v->f[1]);
  shmbuf_buf *parent, *b = UNSET;
  ck_assert_int_eq(shmbuf_alloc_unsafe(v->c, n, &parent), 0);
  rp_keep(v, parent);
  int rc = shmbuf_subarray(parent, rp_integer(v->f[2]), rp_integer(v->f[3]), &b);
  if (!rp_outcome(v, rc) || !made(v, rc, b))
    return;
  size_t off = shmbuf_byte_offset(b) - shmbuf_byte_offset(parent);
  if (!rp_same_int(v, "relative byteOffset", (int64_t)(off), v->res[1]) ||
      !rp_same_int(v, "length", (int64_t)(shmbuf_length(b)), v->res[2]))
    return;
  if (shmbuf_arraybuffer_id(b) != shmbuf_arraybuffer_id(parent) ||
      shmbuf_buffer_byte_length(b) != shmbuf_buffer_byte_length(parent))
    rp_wrong(v, "the view is not on its parent's ArrayBuffer");
  else if (shmbuf_length(b) > 0) {
    if (shmbuf_data(b) != shmbuf_data(parent) + off)
      rp_wrong(v, "the view's bytes are not its parent's");
    shmbuf_data(b)[0] = 0x5a;
    if (shmbuf_data(parent)[off] != 0x5a)
      rp_wrong(v, "a write through the view does not show in its parent");
  }
}

/* fromab alloc:N|unsafe:N INT INT = ok OFF LEN */
static void op_fromab(rp_case *v) {
  int64_t n = strtoll(strchr(v->f[1], ':') + 1, NULL, 10);
  shmbuf_buf *src, *b = UNSET;
  ck_assert_int_eq(strncmp(v->f[1], "alloc:", 6) == 0 ? shmbuf_alloc(v->c, n, &src)
                                                       : shmbuf_alloc_unsafe(v->c, n, &src),
                   0);
  rp_keep(v, src);
  if (!rp_expects_ok(v))
    rp_poison(v);
  int rc = shmbuf_from_arraybuffer(src, rp_integer(v->f[2]), rp_integer(v->f[3]), &b);
  if (!rp_outcome(v, rc) || !made(v, rc, b))
    return;
  if (!rp_same_int(v, "byteOffset", (int64_t)(shmbuf_byte_offset(b)), v->res[1]) ||
      !rp_same_int(v, "length", (int64_t)(shmbuf_length(b)), v->res[2]))
    return;
  if (shmbuf_arraybuffer_id(b) != shmbuf_arraybuffer_id(src) ||
      shmbuf_buffer_byte_length(b) != shmbuf_buffer_byte_length(src))
    rp_wrong(v, "not a view on the source's ArrayBuffer");
  else if (shmbuf_length(b) > 0 && shmbuf_data(b) - shmbuf_byte_offset(b) !=
                                       shmbuf_data(src) - shmbuf_byte_offset(src))
    rp_wrong(v, "the view's bytes are not in the source's ArrayBuffer");
}

/* concat HEX,...|- INT = ok LEN OFF ABLEN POOLED HEX, on a connection of its own (a fresh
 * pool, as the generator starts from) */
static void op_concat(rp_case *v) {
  shmbuf_client *outer = v->c;
  v->c = client(v->flags);
  const shmbuf_buf *list[16];
  size_t n = 0;
  if (strcmp(v->f[1], "-") != 0)
    for (char *s2, *t = strtok_r(v->f[1], ",", &s2); t; t = strtok_r(NULL, ",", &s2)) {
      ck_assert_uint_lt(n, 16);
      list[n++] = rp_buffer(v, t);
    }
  shmbuf_buf *b = UNSET;
  if (!rp_expects_ok(v))
    rp_poison(v);
  int rc = shmbuf_concat(v->c, list, n, rp_integer(v->f[2]), &b);
  if (rp_outcome(v, rc) && made(v, rc, b) && rp_same_int(v, "length", (int64_t)(shmbuf_length(b)), v->res[1]) &&
      rp_same_int(v, "byteOffset", (int64_t)(shmbuf_byte_offset(b)), v->res[2]) &&
      rp_same_int(v, "buffer.byteLength", (int64_t)(shmbuf_buffer_byte_length(b)), v->res[3]) &&
      rp_same_int(v, "pooled", (int64_t)((size_t)shmbuf_is_pooled(b)), v->res[4]))
    rp_same_bytes(v, "contents", shmbuf_data(b), shmbuf_length(b), v->res[5]);
  for (size_t i = 0; i < v->nmade; i++)
    shmbuf_release(v->made[i]);
  v->nmade = 0;
  shmbuf_close(v->c);
  v->c = outer;
}

/* compare|equals HEX HEX = ok N */
static void op_compare(rp_case *v) {
  shmbuf_buf *a = rp_buffer(v, v->f[1]), *b = rp_buffer(v, v->f[2]);
  int r = strcmp(v->f[0], "compare") == 0 ? shmbuf_compare(a, b) : shmbuf_equals(a, b);
  if (r != atoi(v->res[1]))
    rp_wrong(v, "%s gives %d, Node: %s", v->f[0], r, v->res[1]);
}

static const rp_op OPS[] = {
    {"alloc", op_alloc},       {"size", op_size},       {"fill", op_fill},
    {"from", op_from},         {"from16", op_from16},   {"array", op_array},
    {"bytelen", op_bytelen},
    {"tostring", op_tostring}, {"inspect", op_inspect}, {"subarray", op_subarray},
    {"slice", op_subarray},    {"fromab", op_fromab},   {"concat", op_concat},
    {"compare", op_compare},   {"equals", op_compare},
};


/* ---- the replay ------------------------------------------------------------------------------ */

START_TEST(buffer_api_matches_node) {
  ck_assert_uint_gt(rp_replay(&D, "buffer.txt", NULL, OPS, sizeof OPS / sizeof *OPS, 0), 5000);
}
END_TEST

START_TEST(buffer_api_matches_node_thin) {
  ck_assert_uint_gt(
      rp_replay(&D, "buffer.txt", NULL, OPS, sizeof OPS / sizeof *OPS, SHMBUF_THIN), 5000);
}
END_TEST

/* ---- beyond the vectors: sharing and lifetimes ---------------------------------------------- */

START_TEST(views_of_views_share_memory) {
  shmbuf_client *c = client(0);
  shmbuf_buf *b, *v, *w, *ab;
  ck_assert_int_eq(shmbuf_from_string(c, "0123456789", SHMBUF_CSTR, NULL, &b), 0);
  ck_assert_int_eq(shmbuf_subarray(b, 2, -2, &v), 0);     /* "234567" */
  ck_assert_int_eq(shmbuf_subarray(v, -3, SHMBUF_UNDEFINED, &w), 0); /* "567" */
  ck_assert_uint_eq(shmbuf_byte_offset(w), shmbuf_byte_offset(b) + 5);
  ck_assert_int_eq(shmbuf_fill_string(w, "xy", SHMBUF_CSTR, 1, SHMBUF_UNDEFINED, NULL), 0);
  char *s;
  ck_assert_int_eq(shmbuf_to_string(b, NULL, SHMBUF_UNDEFINED, SHMBUF_UNDEFINED, &s, NULL), 0);
  ck_assert_str_eq(s, "012345xy89");
  shmbuf_free(s);
  /* Buffer.from(w.buffer, w.byteOffset, 2) is the same memory again */
  ck_assert_int_eq(shmbuf_from_arraybuffer(w, (int64_t)shmbuf_byte_offset(w), 2, &ab), 0);
  ck_assert_ptr_eq(shmbuf_data(ab), shmbuf_data(w));
  ck_assert_int_eq(shmbuf_equals(ab, w), 0);
  ck_assert_int_eq(shmbuf_compare(ab, w), -1);
  shmbuf_release(b);
  shmbuf_release(v);
  ck_assert_int_eq(shmbuf_to_string(w, "latin1", SHMBUF_UNDEFINED, SHMBUF_UNDEFINED, &s, NULL),
                   0);
  ck_assert_str_eq(s, "5xy");
  shmbuf_free(s);
  shmbuf_close(c);
}
END_TEST

/* concat copies: later writes to its sources do not show, and a source may be a view on the
 * pool the result goes into. */
START_TEST(concat_copies) {
  shmbuf_client *c = client(0);
  shmbuf_buf *a, *v, *r;
  ck_assert_int_eq(shmbuf_from_string(c, "abcdef", SHMBUF_CSTR, NULL, &a), 0);
  ck_assert_int_eq(shmbuf_subarray(a, 1, 3, &v), 0);
  const shmbuf_buf *list[] = {v, a, v};
  ck_assert_int_eq(shmbuf_concat(c, list, 3, SHMBUF_UNDEFINED, &r), 0);
  shmbuf_data(a)[1] = 'X';
  char *s;
  ck_assert_int_eq(shmbuf_to_string(r, NULL, SHMBUF_UNDEFINED, SHMBUF_UNDEFINED, &s, NULL), 0);
  ck_assert_str_eq(s, "bcabcdefbc");
  shmbuf_free(s);
  ck_assert_uint_eq(shmbuf_arraybuffer_id(r), shmbuf_arraybuffer_id(a));
  shmbuf_close(c);
}
END_TEST

static Suite *buf_suite(void) {
  Suite *s = suite_create("buf");
  TCase *t = tcase_create("node");
  tcase_add_checked_fixture(t, up, down);
  tcase_set_timeout(t, 300);
  tcase_add_test(t, buffer_api_matches_node);
  tcase_add_test(t, buffer_api_matches_node_thin);
  tcase_add_test(t, views_of_views_share_memory);
  tcase_add_test(t, concat_copies);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(buf_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
