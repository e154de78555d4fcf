/* SPDX-License-Identifier: MIT */
/* errors.c: the names and descriptions of the errors libshmbuf returns, and the calling
 * thread's record of its last failure. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "shmbuf.h"

/* Every errno the API returns: its own, the daemon's, and those of the system calls it passes
 * on (socket(), connect(), mmap(), sendmsg()). */
static const struct {
  int err;
  const char *name;
} named[] = {
    {ECANCELED, "ECANCELED"},     {ETOOMANYREFS, "ETOOMANYREFS"},
    {EMFILE, "EMFILE"},           {ENFILE, "ENFILE"},
    {ENOTSUP, "EOPNOTSUPP"},      /* the same number on Linux; glibc's name */
    {ENOTCONN, "ENOTCONN"},       {EPROTO, "EPROTO"},
    {EPROTONOSUPPORT, "EPROTONOSUPPORT"},
    {ECONNREFUSED, "ECONNREFUSED"}, {ENOENT, "ENOENT"},
    {EACCES, "EACCES"},           {ENAMETOOLONG, "ENAMETOOLONG"},
    {ENOMEM, "ENOMEM"},           {EDQUOT, "EDQUOT"},
    {ENOSPC, "ENOSPC"},           {ERANGE, "ERANGE"},
    {EINVAL, "EINVAL"},           {E2BIG, "E2BIG"},
    {EMSGSIZE, "EMSGSIZE"},       {EBADMSG, "EBADMSG"},
    {ECONNRESET, "ECONNRESET"},   {EPIPE, "EPIPE"},
    {EAGAIN, "EAGAIN"},           {ETIMEDOUT, "ETIMEDOUT"},
    {ENOBUFS, "ENOBUFS"},         {EAFNOSUPPORT, "EAFNOSUPPORT"},
    {ENODEV, "ENODEV"},           {EOVERFLOW, "EOVERFLOW"},
};

START_TEST(every_errno_has_its_name) {
  for (size_t i = 0; i < sizeof named / sizeof *named; i++) {
    ck_assert_str_eq(shmbuf_err_name(-named[i].err), named[i].name);
    ck_assert_str_ne(shmbuf_strerror(-named[i].err), "");
  }
  ck_assert_str_eq(shmbuf_err_name(0), "OK");
}
END_TEST

/* Anything else is no errno, whatever its sign or size (INT_MIN cannot be negated). */
START_TEST(other_numbers_are_unknown) {
  const int others[] = {1, 42, INT_MAX, -4096, -100000, INT_MIN};
  for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
    ck_assert_str_eq(shmbuf_err_name(others[i]), "UNKNOWN");
    ck_assert_ptr_nonnull(shmbuf_strerror(others[i]));
  }
  ck_assert_str_eq(shmbuf_strerror(1), "not an error code");
}
END_TEST

static Suite *errors_suite(void) {
  Suite *s = suite_create("errors");
  TCase *t = tcase_create("names");
  tcase_add_test(t, every_errno_has_its_name);
  tcase_add_test(t, other_numbers_are_unknown);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(errors_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
