/* SPDX-License-Identifier: MIT */
/* Buffer.isEncoding(), buffer.isUtf8(), buffer.isAscii() and buffer.transcode() in libshmbuf
 * (client/charset.c) against a real shmbufd, replaying what Node v20 does (the charset module
 * of tests/vectors/bufops.txt), with buffers made both ways. */
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

/* isencoding ENC = ok 0|1 */
static void op_is_encoding(rp_case *v) {
  rp_same_int(v, "isEncoding", shmbuf_is_encoding(rp_encoding(v->f[1])), v->res[1]);
}

/* isutf8|isascii HEX = ok 0|1, on a buffer's bytes */
static void op_is(rp_case *v) {
  shmbuf_buf *b = rp_buffer(v, v->f[1]);
  int r = strcmp(v->f[0], "isutf8") == 0 ? shmbuf_is_utf8(shmbuf_data(b), shmbuf_length(b))
                                         : shmbuf_is_ascii(shmbuf_data(b), shmbuf_length(b));
  rp_same_int(v, v->f[0], r, v->res[1]);
}

/* transcode HEX ENC ENC = ok LEN ABLEN POOLED HEX */
static void op_transcode(rp_case *v) {
  shmbuf_buf *src = rp_buffer(v, v->f[1]), *b = NULL;
  rp_poison(v);
  int rc = shmbuf_transcode(v->c, shmbuf_data(src), shmbuf_length(src), rp_encoding(v->f[2]),
                            rp_encoding(v->f[3]), &b);
  if (!rp_outcome(v, rc)) {
    if (b != NULL)
      rp_wrong(v, "*out was written by a failing call");
    return;
  }
  rp_keep(v, b);
  if (rp_same_int(v, "length", (int64_t)shmbuf_length(b), v->res[1]) &&
      rp_same_int(v, "buffer.byteLength", (int64_t)shmbuf_buffer_byte_length(b), v->res[2]) &&
      rp_same_int(v, "pooled", shmbuf_is_pooled(b), v->res[3]))
    rp_same_bytes(v, "contents", shmbuf_data(b), shmbuf_length(b), v->res[4]);
}

static const rp_op OPS[] = {{"isencoding", op_is_encoding},
                            {"isutf8", op_is},
                            {"isascii", op_is},
                            {"transcode", op_transcode}};

START_TEST(charset_matches_node) {
  ck_assert_uint_gt(rp_replay(&D, "bufops.txt", "charset", OPS, 4, 0), 700);
}
END_TEST

START_TEST(charset_matches_node_thin) {
  ck_assert_uint_gt(rp_replay(&D, "bufops.txt", "charset", OPS, 4, SHMBUF_THIN), 700);
}
END_TEST

/* transcode() makes a dedicated buffer, as Node's binding does: the pool carries on as if it
 * had not run, and the result is the client's like any other buffer. */
START_TEST(transcode_leaves_the_pool_alone) {
  shmbuf_client *c;
  shmbuf_buf *a, *t, *b;
  ck_assert_int_eq(shmbuf_connect(D.sock, &c), 0);
  ck_assert_int_eq(shmbuf_alloc_unsafe(c, 5, &a), 0);
  ck_assert_int_eq(shmbuf_transcode(c, "h\xc3\xa9", 3, "utf8", "ucs2", &t), 0);
  ck_assert_int_eq(shmbuf_alloc_unsafe(c, 5, &b), 0);
  ck_assert_uint_eq(shmbuf_byte_offset(b), shmbuf_byte_offset(a) + 8);
  ck_assert_uint_eq(shmbuf_buffer_byte_length(t), 4);
  ck_assert_int_eq(shmbuf_is_pooled(t), 0);
  ck_assert_mem_eq(shmbuf_data(t), "h\0\xe9\0", 4);
  shmbuf_release(t);
  ck_assert_int_eq(shmbuf_transcode(c, "\xff", 1, "utf8", "utf16le", &t), -EILSEQ);
  ck_assert_str_eq(shmbuf_err_name(-EILSEQ), "EILSEQ");
  ck_assert_str_eq(shmbuf_error_message(), "Unable to transcode Buffer [U_INVALID_CHAR_FOUND]");
  shmbuf_close(c);
}
END_TEST

static Suite *charset_suite(void) {
  Suite *s = suite_create("charset");
  TCase *t = tcase_create("node");
  tcase_add_checked_fixture(t, up, down);
  tcase_set_timeout(t, 300);
  tcase_add_test(t, charset_matches_node);
  tcase_add_test(t, charset_matches_node_thin);
  tcase_add_test(t, transcode_leaves_the_pool_alone);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(charset_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
