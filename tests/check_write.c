/* SPDX-License-Identifier: MIT */
/* buf.write() in libshmbuf (client/write.c) against a real shmbufd, replaying what Node v20
 * does (the write module of tests/vectors/bufops.txt), with buffers made both ways. */
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

/* write HEX TEXT INT INT ENC = ok N HEX: into a view with guard bytes around it */
static void op_write(rp_case *v) {
  shmbuf_buf *b = rp_guarded(v, v->f[1]);
  rp_text s = rp_text_of(v, v->f[2]);
  int64_t offset = rp_integer(v->f[3]), length = rp_integer(v->f[4]);
  const char *enc = rp_encoding(v->f[5]);
  uint8_t *before = rp_hex(v, v->f[1], &(size_t){0});
  rp_poison(v);
  int64_t n = s.utf16 ? shmbuf_write_utf16(b, s.p, s.n, offset, length, enc)
                      : shmbuf_write_string(b, s.p, s.n, offset, length, enc);
  bool ok = rp_outcome(v, n);
  if (rp_guards_intact(v, b) && ok && rp_same_int(v, "bytes written", n, v->res[1]))
    rp_same_bytes(v, "contents", shmbuf_data(b), shmbuf_length(b), v->res[2]);
  else if (!ok && shmbuf_length(b) && memcmp(shmbuf_data(b), before, shmbuf_length(b)) != 0)
    rp_wrong(v, "a failing write changed the buffer");
}

static const rp_op OPS[] = {{"write", op_write}};

START_TEST(write_matches_node) {
  ck_assert_uint_gt(rp_replay(&D, "bufops.txt", "write", OPS, 1, 0), 3000);
}
END_TEST

START_TEST(write_matches_node_thin) {
  ck_assert_uint_gt(rp_replay(&D, "bufops.txt", "write", OPS, 1, SHMBUF_THIN), 3000);
}
END_TEST

/* A NUL-terminated string, and a write through one view that another view of the same pool
 * sees while its neighbours in the pool are untouched. */
START_TEST(write_through_shared_memory) {
  shmbuf_client *c;
  shmbuf_buf *a, *b, *z, *view;
  ck_assert_int_eq(shmbuf_connect(D.sock, &c), 0);
  ck_assert_int_eq(shmbuf_from_string(c, "aaaa", SHMBUF_CSTR, NULL, &a), 0);
  ck_assert_int_eq(shmbuf_alloc_unsafe(c, 6, &b), 0);
  ck_assert_int_eq(shmbuf_from_string(c, "zzzz", SHMBUF_CSTR, NULL, &z), 0);
  ck_assert_uint_eq(shmbuf_arraybuffer_id(a), shmbuf_arraybuffer_id(z));
  ck_assert_int_eq(shmbuf_fill_number(b, '.', SHMBUF_UNDEFINED, SHMBUF_UNDEFINED), 0);
  ck_assert_int_eq(shmbuf_from_arraybuffer(b, (int64_t)shmbuf_byte_offset(b), 6, &view), 0);
  ck_assert_int_eq(shmbuf_write_string(view, "t\xc3\xa9st!", SHMBUF_CSTR, 1, SHMBUF_UNDEFINED,
                                       "latin1"),
                   5);
  ck_assert_mem_eq(shmbuf_data(b), ".t\xe9st!", 6);
  ck_assert_mem_eq(shmbuf_data(a), "aaaa", 4);
  ck_assert_mem_eq(shmbuf_data(z), "zzzz", 4);
  /* buf.write(string): utf8 from the start, whole characters only */
  ck_assert_int_eq(shmbuf_write_string(b, "\xe2\x82\xac\xe2\x82\xac", SHMBUF_CSTR,
                                       SHMBUF_UNDEFINED, SHMBUF_UNDEFINED, NULL),
                   6);
  ck_assert_int_eq(shmbuf_write_string(view, "ab\xe2\x82\xac", SHMBUF_CSTR, 2, 4, NULL), 2);
  ck_assert_mem_eq(shmbuf_data(b), "\xe2\x82" "ab\x82\xac", 6);
  shmbuf_close(c);
}
END_TEST

static Suite *write_suite(void) {
  Suite *s = suite_create("write");
  TCase *t = tcase_create("node");
  tcase_add_checked_fixture(t, up, down);
  tcase_set_timeout(t, 300);
  tcase_add_test(t, write_matches_node);
  tcase_add_test(t, write_matches_node_thin);
  tcase_add_test(t, write_through_shared_memory);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(write_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
