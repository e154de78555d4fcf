/* SPDX-License-Identifier: MIT */
/* buf.copy(), ranged buf.compare() and buf.swap16/32/64() in libshmbuf (client/range.c)
 * against a real shmbufd, replaying what Node v20 does (the range module of
 * tests/vectors/bufops.txt), with buffers made both ways. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "replay.h"
#include "shmbuf.h"

static sbt_daemon D;

static void up(void) { sbt_start(&D, NULL); }
static void down(void) { sbt_stop(&D); }

/* Checks a buffer an operation changed (or, failing, left alone) against the case. */
static void changed(rp_case *v, const shmbuf_buf *b, const uint8_t *before, int64_t rc,
                    const char *result) {
  bool ok = rp_outcome(v, rc);
  if (!rp_guards_intact(v, b))
    return;
  if (ok && (result == NULL || rp_same_int(v, "bytes copied", rc, result)))
    rp_same_bytes(v, "contents", shmbuf_data(b), shmbuf_length(b), v->res[result ? 2 : 1]);
  else if (!ok && shmbuf_length(b) && memcmp(shmbuf_data(b), before, shmbuf_length(b)) != 0)
    rp_wrong(v, "a failing call changed the buffer");
}

/* copy HEX HEX INT INT INT = ok N HEX */
static void op_copy(rp_case *v) {
  shmbuf_buf *src = rp_buffer(v, v->f[1]), *dst = rp_guarded(v, v->f[2]);
  const uint8_t *before = rp_hex(v, v->f[2], &(size_t){0});
  rp_poison(v);
  int64_t n = shmbuf_copy(src, dst, rp_integer(v->f[3]), rp_integer(v->f[4]),
                          rp_integer(v->f[5]));
  changed(v, dst, before, n, v->res[1]);
}

/* copyself HEX INT INT INT = ok N HEX: source and target are one buffer */
static void op_copy_self(rp_case *v) {
  shmbuf_buf *b = rp_guarded(v, v->f[1]);
  const uint8_t *before = rp_hex(v, v->f[1], &(size_t){0});
  rp_poison(v);
  int64_t n = shmbuf_copy(b, b, rp_integer(v->f[2]), rp_integer(v->f[3]), rp_integer(v->f[4]));
  changed(v, b, before, n, v->res[1]);
}

/* compare HEX HEX INT INT INT INT = ok -1|0|1 */
static void op_compare(rp_case *v) {
  shmbuf_buf *src = rp_buffer(v, v->f[1]), *dst = rp_buffer(v, v->f[2]);
  int order = 99;
  rp_poison(v);
  int rc = shmbuf_compare_range(src, dst, rp_integer(v->f[3]), rp_integer(v->f[4]),
                                rp_integer(v->f[5]), rp_integer(v->f[6]), &order);
  if (rp_outcome(v, rc))
    rp_same_int(v, "the order", order, v->res[1]);
}

/* swap16|swap32|swap64 HEX = ok HEX */
static void op_swap(rp_case *v) {
  shmbuf_buf *b = rp_guarded(v, v->f[1]);
  const uint8_t *before = rp_hex(v, v->f[1], &(size_t){0});
  rp_poison(v);
  int rc = strcmp(v->f[0], "swap16") == 0   ? shmbuf_swap16(b)
           : strcmp(v->f[0], "swap32") == 0 ? shmbuf_swap32(b)
                                            : shmbuf_swap64(b);
  changed(v, b, before, rc, NULL);
}

static const rp_op OPS[] = {{"copy", op_copy},     {"copyself", op_copy_self},
                            {"compare", op_compare}, {"swap16", op_swap},
                            {"swap32", op_swap},   {"swap64", op_swap}};

START_TEST(range_matches_node) {
  ck_assert_uint_gt(rp_replay(&D, "bufops.txt", "range", OPS, 6, 0), 6000);
}
END_TEST

START_TEST(range_matches_node_thin) {
  ck_assert_uint_gt(rp_replay(&D, "bufops.txt", "range", OPS, 6, SHMBUF_THIN), 6000);
}
END_TEST

/* Copies between the memory of two connections, one of each mode, and between overlapping
 * views of one pool, as memmove would. */
START_TEST(copy_across_clients_and_views) {
  shmbuf_client *a, *t;
  shmbuf_buf *src, *dst, *left, *right;
  ck_assert_int_eq(shmbuf_connect(D.sock, &a), 0);
  ck_assert_int_eq(shmbuf_connect_ex(D.sock, SHMBUF_THIN, &t), 0);
  ck_assert_int_eq(shmbuf_from_string(a, "0123456789", SHMBUF_CSTR, NULL, &src), 0);
  ck_assert_int_eq(shmbuf_alloc(t, 6, &dst), 0);
  ck_assert_int_eq(shmbuf_copy(src, dst, 1, 2, SHMBUF_UNDEFINED), 5);
  ck_assert_mem_eq(shmbuf_data(dst), "\0" "23456", 6);
  ck_assert_int_eq(shmbuf_subarray(src, 0, 8, &left), 0);
  ck_assert_int_eq(shmbuf_subarray(src, 3, SHMBUF_UNDEFINED, &right), 0);
  ck_assert_int_eq(shmbuf_copy(left, right, SHMBUF_UNDEFINED, SHMBUF_UNDEFINED,
                               SHMBUF_UNDEFINED),
                   7);
  ck_assert_mem_eq(shmbuf_data(src), "0120123456", 10);
  int order;
  ck_assert_int_eq(shmbuf_compare_range(right, dst, 2, 6, 1, 5, &order), 0);
  ck_assert_int_eq(order, -1); /* "1234" against "3456" */
  ck_assert_int_eq(shmbuf_swap32(left), 0);
  ck_assert_mem_eq(shmbuf_data(src), "0210432156", 10);
  ck_assert_int_eq(shmbuf_swap64(src), -EINVAL);
  ck_assert_str_eq(shmbuf_error_code(), "ERR_INVALID_BUFFER_SIZE");
  shmbuf_close(a);
  shmbuf_close(t);
}
END_TEST

static Suite *range_suite(void) {
  Suite *s = suite_create("range");
  TCase *t = tcase_create("node");
  tcase_add_checked_fixture(t, up, down);
  tcase_set_timeout(t, 300);
  tcase_add_test(t, range_matches_node);
  tcase_add_test(t, range_matches_node_thin);
  tcase_add_test(t, copy_across_clients_and_views);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(range_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
