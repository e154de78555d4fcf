/* SPDX-License-Identifier: MIT */
/* What libshmbuf hands out of the daemon's reports (client/reports.c), against a real shmbufd:
 * the counters and the connections as opaque snapshots, every accessor, and the daemon's
 * version from its welcome. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "shmbuf.h"

static sbt_daemon D;
static shmbuf_client *C;

static void up(void) {
  sbt_start(&D, NULL);
  ck_assert_int_eq(shmbuf_connect_ex(D.sock, SHMBUF_THIN, &C), 0);
}

static void down(void) {
  shmbuf_close(C);
  sbt_stop(&D);
}

START_TEST(counters) {
  shmbuf_buf *b;
  shmbuf_stats *st;
  ck_assert_int_eq(shmbuf_alloc(C, 1000, &b), 0);
  ck_assert_int_eq(shmbuf_stats_get(C, &st), 0);
  size_t n = shmbuf_stats_count(st);
  ck_assert_uint_ge(n, 20);
  bool buffers = false, requests = false;
  for (size_t i = 0; i < n; i++) {
    const char *name = shmbuf_stats_name(st, i);
    ck_assert_ptr_nonnull(name);
    ck_assert_ptr_nonnull(shmbuf_stats_help(st, i));
    ck_assert_msg(shmbuf_stats_help(st, i)[0] != '\0', "%s has no help", name);
    if (strcmp(name, "buffers") == 0) {
      buffers = true;
      ck_assert_uint_eq(shmbuf_stats_value(st, i), 1);
      ck_assert_int_eq(shmbuf_stats_is_gauge(st, i), 1);
    } else if (strcmp(name, "requests_total") == 0) {
      requests = true;
      ck_assert_uint_eq(shmbuf_stats_value(st, i), 3); /* hello, alloc, stats */
      ck_assert_int_eq(shmbuf_stats_is_gauge(st, i), 0);
    }
  }
  ck_assert(buffers && requests);
  uint64_t v = 7;
  ck_assert_int_eq(shmbuf_stats_find(st, "bytes", &v), 0);
  ck_assert_uint_eq(v, 1000);
  ck_assert_int_eq(shmbuf_stats_find(st, "no_such_counter", &v), -ENOENT);
  ck_assert_uint_eq(v, 1000);
  /* past the end, and no snapshot at all */
  ck_assert_ptr_null(shmbuf_stats_name(st, n));
  ck_assert_ptr_null(shmbuf_stats_help(st, n));
  ck_assert_uint_eq(shmbuf_stats_value(st, n), 0);
  ck_assert_int_eq(shmbuf_stats_is_gauge(st, n), 0);
  ck_assert_uint_eq(shmbuf_stats_count(NULL), 0);
  ck_assert_int_eq(shmbuf_stats_find(NULL, "bytes", &v), -ENOENT);
  shmbuf_stats_free(st);
  shmbuf_stats_free(NULL);
}
END_TEST

START_TEST(connections) {
  shmbuf_client *other;
  shmbuf_buf *b;
  shmbuf_clients *l;
  ck_assert_int_eq(shmbuf_connect_ex(D.sock, SHMBUF_THIN, &other), 0);
  ck_assert_int_eq(shmbuf_alloc(other, 300, &b), 0);
  ck_assert_int_eq(shmbuf_from_string(other, "abc", SHMBUF_CSTR, NULL, &b), 0);
  usleep(20000);
  ck_assert_int_eq(shmbuf_clients_get(C, &l), 0);
  size_t n = shmbuf_clients_count(l);
  ck_assert_uint_eq(n, 2);
  char comm[32];
  sbt_proc_comm(getpid(), comm, sizeof comm);
  size_t busy = n;
  for (size_t i = 0; i < n; i++) {
    ck_assert_int_eq(shmbuf_clients_pid(l, i), getpid());
    ck_assert_uint_eq(shmbuf_clients_uid(l, i), getuid());
    ck_assert_str_eq(shmbuf_clients_command(l, i), comm);
    if (shmbuf_clients_buffers(l, i))
      busy = i;
  }
  ck_assert_uint_lt(busy, n); /* the other connection */
  ck_assert_uint_eq(shmbuf_clients_buffers(l, busy), 2);
  ck_assert_uint_eq(shmbuf_clients_bytes(l, busy), 303);
  ck_assert_uint_ge(shmbuf_clients_reserved_bytes(l, busy), 303);
  ck_assert_uint_ge(shmbuf_clients_slabs(l, busy), 1);
  ck_assert_uint_ge(shmbuf_clients_age_ms(l, busy), 20);
  ck_assert_uint_eq(shmbuf_clients_requests(l, busy), 3);
  ck_assert_uint_eq(shmbuf_clients_requests(l, 1 - busy), 2); /* hello and this list */
  /* past the end, and no snapshot at all */
  ck_assert_ptr_null(shmbuf_clients_command(l, n));
  ck_assert_int_eq(shmbuf_clients_pid(l, n), 0);
  ck_assert_uint_eq(shmbuf_clients_requests(l, n), 0);
  ck_assert_uint_eq(shmbuf_clients_count(NULL), 0);
  shmbuf_clients_free(l);
  shmbuf_clients_free(NULL);
  shmbuf_close(other);
}
END_TEST

START_TEST(daemon_version) {
  ck_assert_str_eq(shmbuf_daemon_version(C), "shmbufd " PACKAGE_VERSION);
  ck_assert_uint_eq(shmbuf_protocol_version(C), 1);
  ck_assert_str_eq(shmbuf_version(), PACKAGE_VERSION);
}
END_TEST

static Suite *reports_suite(void) {
  Suite *s = suite_create("reports");
  TCase *t = tcase_create("daemon");
  tcase_add_checked_fixture(t, up, down);
  tcase_add_test(t, counters);
  tcase_add_test(t, connections);
  tcase_add_test(t, daemon_version);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(reports_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
