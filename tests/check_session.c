/* SPDX-License-Identifier: MIT */
/* session in-process, with real memfd slabs: what a connection, a user and the daemon may
 * have, who is charged, and what the kernel is measured to hold. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "session.h"

#define KIB 1024ull
#define MIB (1024ull * 1024)

static session_books books;

static void limits(session_limits l) {
  session_books_fini(&books);
  memset(&books, 0, sizeof books);
  books.limits = l;
  books.limits.pool_size = 8192;
}

/* A dedicated buffer of `size` bytes, as dispatch would make it (admission, then memory);
 * returns its id or the negative errno that refused it. */
static int64_t make(conn_session *s, uint64_t size) {
  session_tally before = session_tally_of(s);
  int rc = session_admit_buffer(s);
  heap_view v;
  if (rc == 0)
    rc = heap_dedicated(&s->heap, size, size, 0, &v);
  session_account(s, before);
  return rc < 0 ? rc : (int64_t)v.id;
}

static void drop(conn_session *s, int64_t id) {
  session_tally before = session_tally_of(s);
  ck_assert_int_eq(heap_release(&s->heap, (uint64_t)id), 0);
  session_account(s, before);
}

START_TEST(a_connection_is_charged_memory_and_bookkeeping) {
  limits((session_limits){.conn_max_bytes = 64 * KIB + 2 * SESSION_BUFFER_COST});
  conn_session s;
  ck_assert_int_eq(session_init(&s, &books, 1000, 1000, 0), 0);
  int64_t a = make(&s, 16 * KIB), b = make(&s, 48 * KIB);
  ck_assert_int_gt(a, 0);
  ck_assert_int_gt(b, 0);
  ck_assert_int_eq(make(&s, 1), -EDQUOT); /* even the smallest: bookkeeping is charged */
  ck_assert_str_eq(s.refusal, "this connection's limit is reached");
  drop(&s, a);
  ck_assert_int_gt(make(&s, 16 * KIB), 0);
  session_fini(&s, true);
  ck_assert_uint_eq(books.t.reserved, 0);
  ck_assert_uint_eq(books.t.buffers, 0);
  ck_assert_uint_eq(books.nusers, 0); /* a user that holds nothing is forgotten */
}
END_TEST

/* A region the client carves itself is charged whole, like any buffer of its size, and the
 * books count it among the leased bytes until it goes. */
START_TEST(a_region_is_charged_whole_and_counted_as_leased) {
  limits((session_limits){.conn_max_bytes = 128 * KIB + SESSION_BUFFER_COST});
  conn_session s;
  ck_assert_int_eq(session_init(&s, &books, 1000, 1000, 0), 0);
  session_tally before = session_tally_of(&s);
  heap_view v;
  ck_assert_int_eq(session_admit_buffer(&s), 0);
  ck_assert_int_eq(heap_dedicated(&s.heap, 128 * KIB, 128 * KIB, HEAP_REGION | HEAP_ZERO, &v), 0);
  session_account(&s, before);
  ck_assert_uint_eq(books.t.leased, 128 * KIB);
  ck_assert_uint_eq(books.t.buffers, 1);
  ck_assert_int_eq(make(&s, 1), -EDQUOT); /* the whole region counts against the limit */
  drop(&s, (int64_t)v.id);
  ck_assert_uint_eq(books.t.leased, 0);
  session_fini(&s, true);
  ck_assert_uint_eq(books.t.reserved, 0);
}
END_TEST

START_TEST(a_user_is_charged_across_its_connections) {
  limits((session_limits){.user_max_bytes = 1 * MIB});
  conn_session a, b, other;
  ck_assert_int_eq(session_init(&a, &books, 1000, 1000, 0), 0);
  ck_assert_int_eq(session_init(&b, &books, 1000, 1000, 0), 0);
  ck_assert_int_eq(session_init(&other, &books, 2000, 2000, 0), 0);
  ck_assert_ptr_eq(a.user, b.user);
  ck_assert_int_gt(make(&a, 600 * KIB), 0);
  ck_assert_int_eq(make(&b, 600 * KIB), -EDQUOT); /* the same user, another connection */
  ck_assert_str_eq(b.refusal, "this user's limit is reached");
  ck_assert_int_gt(make(&other, 600 * KIB), 0); /* another user is not held to it */
  session_fini(&a, true);
  ck_assert_int_gt(make(&b, 600 * KIB), 0);
  session_fini(&b, true);
  session_fini(&other, true);
  ck_assert_uint_eq(books.t.reserved, 0);
}
END_TEST

START_TEST(the_daemon_cap_spans_users) {
  limits((session_limits){.max_memory = 1 * MIB});
  conn_session a, b;
  ck_assert_int_eq(session_init(&a, &books, 1, 1, 0), 0);
  ck_assert_int_eq(session_init(&b, &books, 2, 2, 0), 0);
  ck_assert_int_gt(make(&a, 800 * KIB), 0);
  ck_assert_int_eq(make(&b, 400 * KIB), -ENOMEM);
  ck_assert_str_eq(b.refusal, "the daemon's memory limit is reached");
  session_fini(&a, true);
  session_fini(&b, true);
}
END_TEST

START_TEST(connections_per_user) {
  limits((session_limits){.user_max_connections = 2});
  conn_session s[3];
  ck_assert(!session_user_full(&books, 7));
  ck_assert_int_eq(session_init(&s[0], &books, 7, 7, 0), 0);
  ck_assert_int_eq(session_init(&s[1], &books, 7, 7, 0), 0);
  ck_assert(session_user_full(&books, 7));
  ck_assert(!session_user_full(&books, 8));
  ck_assert_int_eq(session_init(&s[2], &books, 8, 8, 0), 0);
  session_fini(&s[0], true);
  ck_assert(!session_user_full(&books, 7));
  session_fini(&s[1], true);
  session_fini(&s[2], true);
  ck_assert_uint_eq(books.t.connections, 0);
}
END_TEST

START_TEST(slabs_are_capped) {
  limits((session_limits){.conn_max_slabs = 2});
  conn_session s;
  ck_assert_int_eq(session_init(&s, &books, 1, 1, 0), 0);
  /* over 2 MiB, each buffer is a slab of its own */
  ck_assert_int_gt(make(&s, 3 * MIB), 0);
  ck_assert_int_gt(make(&s, 3 * MIB), 0);
  ck_assert_int_eq(make(&s, 3 * MIB), -EDQUOT);
  ck_assert_str_eq(s.refusal, "this connection holds its limit of shared-memory objects");
  session_fini(&s, true);
  limits((session_limits){.user_max_slabs = 2});
  conn_session a, b;
  ck_assert_int_eq(session_init(&a, &books, 1, 1, 0), 0);
  ck_assert_int_eq(session_init(&b, &books, 1, 1, 0), 0);
  ck_assert_int_gt(make(&a, 3 * MIB), 0);
  ck_assert_int_gt(make(&b, 3 * MIB), 0);
  ck_assert_int_eq(make(&a, 3 * MIB), -EDQUOT);
  ck_assert_str_eq(a.refusal, "this user holds its limit of shared-memory objects");
  session_fini(&a, true);
  session_fini(&b, true);
}
END_TEST

START_TEST(the_buffer_count_is_capped) {
  limits((session_limits){.conn_max_buffers = 3});
  conn_session s;
  ck_assert_int_eq(session_init(&s, &books, 1, 1, 0), 0);
  for (int i = 0; i < 3; i++)
    ck_assert_int_gt(make(&s, 16), 0);
  ck_assert_int_eq(make(&s, 16), -EDQUOT);
  ck_assert_str_eq(s.refusal, "this connection holds its limit of 3 buffers");
  session_fini(&s, true);
}
END_TEST

/* What the kernel holds is measured whoever touched it: a peer that writes into the holes
 * of its slab is found out. */
START_TEST(measuring_finds_memory_not_given) {
  limits((session_limits){0});
  conn_session s;
  ck_assert_int_eq(session_init(&s, &books, 1, 1, 0), 0);
  ck_assert_int_gt(make(&s, 100), 0); /* a small chunk of a sparse 4 MiB segment */
  ck_assert_uint_eq(session_measure(&s), 0);
  ck_assert_uint_eq(books.t.resident, s.heap.slab.reserved);
  slab_seg *seg = s.heap.slab.segs;
  uint8_t *m = mmap(NULL, seg->size, PROT_READ | PROT_WRITE, MAP_SHARED, seg->fd, 0);
  ck_assert_ptr_ne(m, MAP_FAILED);
  memset(m, 1, seg->size);
  munmap(m, seg->size);
  ck_assert_uint_eq(session_measure(&s), seg->size - s.heap.slab.reserved);
  ck_assert_uint_eq(books.t.resident, seg->size);
  session_fini(&s, true);
  ck_assert_uint_eq(books.t.resident, 0);
}
END_TEST

START_TEST(retired_slabs_are_told_once) {
  limits((session_limits){0});
  conn_session s;
  ck_assert_int_eq(session_init(&s, &books, 1, 1, 0), 0);
  int64_t a = make(&s, 3 * MIB);
  s.heap.slab.segs->announced = true; /* the peer was sent its fd */
  uint32_t id = s.heap.slab.segs->id;
  drop(&s, a);
  size_t n;
  uint32_t *ids = session_retired_tell(&s, &n);
  ck_assert_uint_eq(n, 1);
  ck_assert_uint_eq(ids[0], id);
  session_request_starts(&s);
  session_retired_tell(&s, &n);
  ck_assert_uint_eq(n, 0);
  session_fini(&s, true);
}
END_TEST

/* The server's input counts go to each user, and the books know how many users hold some. */
START_TEST(input_is_counted_per_user) {
  limits((session_limits){0});
  conn_session a1, a2, b;
  ck_assert_int_eq(session_init(&a1, &books, 1, 1, 0), 0);
  ck_assert_int_eq(session_init(&a2, &books, 1, 1, 0), 0);
  ck_assert_int_eq(session_init(&b, &books, 2, 2, 0), 0);
  session_input(&a1, 1000);
  session_input(&a2, 500);
  ck_assert_uint_eq(a1.user->input, 1500);
  ck_assert_uint_eq(books.input_users, 1);
  session_input(&b, 64);
  ck_assert_uint_eq(books.input_users, 2);
  session_input(&a1, -1000);
  ck_assert_uint_eq(books.input_users, 2); /* a2 still holds some */
  session_input(&a2, -500);
  ck_assert_uint_eq(a1.user->input, 0);
  ck_assert_uint_eq(books.input_users, 1);
  session_input(&b, -64);
  ck_assert_uint_eq(books.input_users, 0);
  session_fini(&a1, true);
  session_fini(&a2, true);
  session_fini(&b, true);
  ck_assert_uint_eq(books.nusers, 0);
}
END_TEST

static Suite *session_suite(void) {
  Suite *s = suite_create("session");
  TCase *tc = tcase_create("session");
  tcase_add_test(tc, a_connection_is_charged_memory_and_bookkeeping);
  tcase_add_test(tc, a_region_is_charged_whole_and_counted_as_leased);
  tcase_add_test(tc, a_user_is_charged_across_its_connections);
  tcase_add_test(tc, the_daemon_cap_spans_users);
  tcase_add_test(tc, connections_per_user);
  tcase_add_test(tc, slabs_are_capped);
  tcase_add_test(tc, the_buffer_count_is_capped);
  tcase_add_test(tc, measuring_finds_memory_not_given);
  tcase_add_test(tc, retired_slabs_are_told_once);
  tcase_add_test(tc, input_is_counted_per_user);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(session_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  session_books_fini(&books);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
