/* SPDX-License-Identifier: MIT */
/* Buffers as text (client/text.c) at V8's string limit, against a real shmbufd: toString() of
 * a range whose string would pass buffer.constants.MAX_STRING_LENGTH units fails with
 * ERR_STRING_TOO_LONG, as Node's does (tests/vectors/gen-bufops.js checks the constant and
 * Node's message). The ordinary cases are replayed by check_buf from buffer.txt.
 *
 * The buffers are real (256 MiB and 512 MiB of shared memory) but never written: what fails
 * fails before a string is made, and utf8 reads its bytes only to count the units. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "shmbuf.h"

#define TOO_LONG "Cannot create a string longer than 0x1fffffe8 characters"

static sbt_daemon D;

static void up(void) { sbt_start(&D, NULL); }
static void down(void) { sbt_stop(&D); }

/* toString(enc, start, end) of b fails with ERR_STRING_TOO_LONG, through both calls. */
static void too_long(const shmbuf_buf *b, const char *enc, int64_t start, int64_t end) {
  char *s = NULL;
  uint16_t *u = NULL;
  size_t n;
  ck_assert_int_eq(shmbuf_to_string(b, enc, start, end, &s, &n), -ERANGE);
  ck_assert_str_eq(shmbuf_error_code(), "ERR_STRING_TOO_LONG");
  ck_assert_str_eq(shmbuf_error_message(), TOO_LONG);
  ck_assert_int_eq(shmbuf_to_utf16(b, enc, start, end, &u, &n), -ERANGE);
  ck_assert_str_eq(shmbuf_error_code(), "ERR_STRING_TOO_LONG");
  ck_assert_ptr_null(s);
  ck_assert_ptr_null(u);
}

static void fits(const shmbuf_buf *b, const char *enc, int64_t start, int64_t end,
                 const char *want) {
  char *s;
  int rc = shmbuf_to_string(b, enc, start, end, &s, NULL);
  ck_assert_msg(rc == 0, "%s: %s", shmbuf_error_code(), shmbuf_error_message());
  ck_assert_str_eq(s, want);
  shmbuf_free(s);
}

static void string_limit(unsigned flags) {
  shmbuf_client *c;
  shmbuf_buf *b;
  ck_assert_int_eq(shmbuf_connect_ex(D.sock, flags, &c), 0);
  /* hex doubles: 2 ** 28 - 11 bytes make 2 units more than the limit */
  ck_assert_int_eq(shmbuf_alloc_unsafe_slow(c, SHMBUF_MAX_STRING_LENGTH / 2 + 1, &b), 0);
  too_long(b, "hex", SHMBUF_UNDEFINED, SHMBUF_UNDEFINED);
  too_long(b, "HEX", 0, 1ll << 40);
  memcpy(shmbuf_data(b), "\x01\x02\xff", 3);
  fits(b, "hex", 0, 3, "0102ff");
  fits(b, "base64", 0, 3, "AQL/");
  shmbuf_release(b);
  /* one unit a byte past the limit, whatever one byte stands for */
  ck_assert_int_eq(shmbuf_alloc_unsafe_slow(c, SHMBUF_MAX_STRING_LENGTH + 1, &b), 0);
  ck_assert_int_eq(shmbuf_fill_number(b, 'a', SHMBUF_UNDEFINED, SHMBUF_UNDEFINED), 0);
  too_long(b, "latin1", SHMBUF_UNDEFINED, SHMBUF_UNDEFINED);
  too_long(b, "ascii", 0, SHMBUF_UNDEFINED);
  too_long(b, NULL, SHMBUF_UNDEFINED, SHMBUF_UNDEFINED);
  too_long(b, "utf8", -1, SHMBUF_UNDEFINED); /* toString() takes a negative start as 0 */
  too_long(b, "base64", 0, 402653167); /* 4 * ceil(n / 3) = the limit + 4 */
  too_long(b, "base64url", 0, 402653167); /* ceil(4 * n / 3) = the limit + 2 */
  fits(b, "utf8", 1, 5, "aaaa");
  fits(b, "latin1", SHMBUF_MAX_STRING_LENGTH - 2, SHMBUF_UNDEFINED, "aaa");
  shmbuf_release(b);
  shmbuf_close(c);
}

START_TEST(to_string_stops_at_the_string_limit) { string_limit(0); }
END_TEST

START_TEST(to_string_stops_at_the_string_limit_thin) { string_limit(SHMBUF_THIN); }
END_TEST

static Suite *text_suite(void) {
  Suite *s = suite_create("text");
  TCase *t = tcase_create("limits");
  tcase_add_checked_fixture(t, up, down);
  tcase_set_timeout(t, 120);
  tcase_add_test(t, to_string_stops_at_the_string_limit);
  tcase_add_test(t, to_string_stops_at_the_string_limit_thin);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(text_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
