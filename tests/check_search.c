/* SPDX-License-Identifier: MIT */
/* buf.indexOf(), lastIndexOf() and includes() in libshmbuf (client/search.c) against a real
 * shmbufd, replaying what Node v20 does (the search module of tests/vectors/bufops.txt), with
 * buffers made both ways. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "replay.h"
#include "shmbuf.h"

static sbt_daemon D;

static void up(void) { sbt_start(&D, NULL); }
static void down(void) { sbt_stop(&D); }

typedef enum { INDEX_OF, LAST_INDEX_OF, INCLUDES } direction;

/* One search, whichever the needle: *result is the index, or 1/0 for includes. */
static int search(rp_case *v, direction dir, const shmbuf_buf *b, const char *needle,
                  int64_t offset, const char *enc, int64_t *result) {
  size_t n;
  if (strncmp(needle, "n:", 2) == 0) {
    double x = rp_number(needle + 2); /* an encoding does not matter to a number */
    if (dir == INCLUDES)
      return (int)(*result = shmbuf_includes_number(b, x, offset));
    return dir == INDEX_OF ? shmbuf_index_of_number(b, x, offset, result)
                           : shmbuf_last_index_of_number(b, x, offset, result);
  }
  if (strncmp(needle, "b:", 2) == 0) {
    const uint8_t *p = rp_hex(v, needle + 2, &n);
    if (dir == INCLUDES)
      return (int)(*result = shmbuf_includes_bytes(b, p, n, offset, enc));
    return dir == INDEX_OF ? shmbuf_index_of_bytes(b, p, n, offset, enc, result)
                           : shmbuf_last_index_of_bytes(b, p, n, offset, enc, result);
  }
  rp_text s = rp_text_of(v, needle);
  int rc;
  if (s.utf16 && dir == INCLUDES)
    rc = shmbuf_includes_utf16(b, s.p, s.n, offset, enc);
  else if (dir == INCLUDES)
    rc = shmbuf_includes_string(b, s.p, s.n, offset, enc);
  else if (s.utf16)
    rc = dir == INDEX_OF ? shmbuf_index_of_utf16(b, s.p, s.n, offset, enc, result)
                         : shmbuf_last_index_of_utf16(b, s.p, s.n, offset, enc, result);
  else
    rc = dir == INDEX_OF ? shmbuf_index_of_string(b, s.p, s.n, offset, enc, result)
                         : shmbuf_last_index_of_string(b, s.p, s.n, offset, enc, result);
  if (dir == INCLUDES && rc >= 0)
    *result = rc;
  return rc;
}

/* indexof|lastindexof|includes HEX NEEDLE INT ENC = ok N */
static void run(rp_case *v, direction dir) {
  shmbuf_buf *b = rp_buffer(v, v->f[1]);
  int64_t result = -99;
  rp_poison(v);
  int rc = search(v, dir, b, v->f[2], rp_integer(v->f[3]), rp_encoding(v->f[4]), &result);
  if (rp_outcome(v, rc))
    rp_same_int(v, dir == INCLUDES ? "includes" : "index", result, v->res[1]);
}

static void op_index_of(rp_case *v) { run(v, INDEX_OF); }
static void op_last_index_of(rp_case *v) { run(v, LAST_INDEX_OF); }
static void op_includes(rp_case *v) { run(v, INCLUDES); }

static const rp_op OPS[] = {
    {"indexof", op_index_of}, {"lastindexof", op_last_index_of}, {"includes", op_includes}};

START_TEST(search_matches_node) {
  ck_assert_uint_gt(rp_replay(&D, "bufops.txt", "search", OPS, 3, 0), 15000);
}
END_TEST

START_TEST(search_matches_node_thin) {
  ck_assert_uint_gt(rp_replay(&D, "bufops.txt", "search", OPS, 3, SHMBUF_THIN), 15000);
}
END_TEST

/* Searching reads through views and takes nothing from the pool: the next small buffer lands
 * where it would have without the searches, even with a hex needle, which in Node would have
 * taken pool room. */
START_TEST(search_takes_no_pool_room) {
  shmbuf_client *c;
  shmbuf_buf *hay, *view, *next;
  int64_t at;
  ck_assert_int_eq(shmbuf_connect(D.sock, &c), 0);
  ck_assert_int_eq(shmbuf_from_string(c, "xxabcxxabc", SHMBUF_CSTR, NULL, &hay), 0);
  ck_assert_int_eq(shmbuf_subarray(hay, 3, SHMBUF_UNDEFINED, &view), 0);
  ck_assert_int_eq(shmbuf_index_of_string(view, "616263", SHMBUF_CSTR, SHMBUF_UNDEFINED, "hex",
                                          &at),
                   0);
  ck_assert_int_eq(at, 4);
  ck_assert_int_eq(shmbuf_last_index_of_string(hay, "abc", SHMBUF_CSTR, -4, NULL, &at), 0);
  ck_assert_int_eq(at, 2);
  ck_assert_int_eq(shmbuf_includes_number(view, 'a' + 256.5, 5), 0);
  ck_assert_int_eq(shmbuf_alloc_unsafe(c, 1, &next), 0);
  ck_assert_uint_eq(shmbuf_byte_offset(next), shmbuf_byte_offset(hay) + 16);
  shmbuf_close(c);
}
END_TEST

static Suite *search_suite(void) {
  Suite *s = suite_create("search");
  TCase *t = tcase_create("node");
  tcase_add_checked_fixture(t, up, down);
  tcase_set_timeout(t, 300);
  tcase_add_test(t, search_matches_node);
  tcase_add_test(t, search_matches_node_thin);
  tcase_add_test(t, search_takes_no_pool_room);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(search_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
