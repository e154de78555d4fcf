/* SPDX-License-Identifier: MIT */
/* dispatch in-process, with real shm segments: the memory policy (quotas, the daemon's cap,
 * the buffer count), and the fuzz corpus: the seeds and what the fuzzer kept, minimised,
 * where any crash it finds goes too. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dispatch.h"
#include "frame.h"
#include "fuzz/fuzz.h"
#include "harness.h"

static session_books books;
static share_registry *shares;
static dispatcher dispatch;
static dispatch_reply reply;

static void limits(uint64_t max_memory, uint64_t conn_bytes, uint64_t conn_buffers) {
  share_registry_free(shares);
  memset(&books, 0, sizeof books);
  share_registry_init(&shares, &books);
  dispatch_init(&dispatch, &books, shares);
  books.limits = (session_limits){.pool_size = 8192,
                                     .max_frame = 1u << 20,
                                     .max_memory = max_memory,
                                     .conn_max_bytes = conn_bytes,
                                     .conn_max_buffers = conn_buffers,
                                     .warm_bytes = 0};
}

/* Sends one request through dispatch, as the server would. */
static const dispatch_reply *ask(conn_session *s, Shmbufwire__Request *q) {
  uint8_t buf[256];
  size_t n = shmbufwire__request__pack(q, buf);
  fuzz_answer(&dispatch, s, buf, n, &reply);
  return &reply;
}

static void greet(conn_session *s) {
  Shmbufwire__Request q;
  Shmbufwire__Hello h;
  shmbufwire__request__init(&q);
  shmbufwire__hello__init(&h);
  h.version = SB_PROTOCOL_VERSION;
  q.id = 1;
  q.op_case = SHMBUFWIRE__REQUEST__OP_HELLO;
  q.hello = &h;
  ck_assert_int_eq(ask(s, &q)->msg.result_case, SHMBUFWIRE__REPLY__RESULT_WELCOME);
}

/* allocUnsafeSlow(size): the buffer id, or the negative errnum of the error reply. */
static int64_t slow(conn_session *s, int64_t size) {
  Shmbufwire__Request q;
  Shmbufwire__Size sz;
  shmbufwire__request__init(&q);
  shmbufwire__size__init(&sz);
  sz.size = size;
  q.id = 2;
  q.op_case = SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW;
  q.alloc_unsafe_slow = &sz;
  const dispatch_reply *r = ask(s, &q);
  if (r->msg.result_case == SHMBUFWIRE__REPLY__RESULT_ERROR) {
    ck_assert_str_eq(r->msg.error->code, "ERR_MEMORY_ALLOCATION_FAILED");
    return r->msg.error->errnum;
  }
  ck_assert_int_eq(r->msg.result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER);
  return (int64_t)r->msg.buffer->buffer;
}

static void release(conn_session *s, int64_t id) {
  Shmbufwire__Request q;
  Shmbufwire__Release rel;
  shmbufwire__request__init(&q);
  shmbufwire__release__init(&rel);
  rel.buffer = (uint64_t)id;
  q.id = 3;
  q.op_case = SHMBUFWIRE__REQUEST__OP_RELEASE;
  q.release = &rel;
  ck_assert_int_eq(ask(s, &q)->msg.result_case, SHMBUFWIRE__REPLY__RESULT_RELEASED);
}

START_TEST(connection_quota) {
  limits(0, 1u << 20, 0);
  conn_session s;
  session_init(&s, &books, 0, 0, 0);
  greet(&s);
  int64_t a = slow(&s, 600 << 10);
  ck_assert_int_gt(a, 0);
  ck_assert_int_eq(slow(&s, 600 << 10), -EDQUOT);
  ck_assert_str_eq(reply.err.message, "Array buffer allocation failed: this connection's limit is "
                                      "reached");
  ck_assert_int_gt(slow(&s, 300 << 10), 0); /* what fits still fits */
  release(&s, a);
  ck_assert_int_gt(slow(&s, 600 << 10), 0); /* and what was given back counts no more */
  session_fini(&s, true);
  ck_assert_uint_eq(books.t.reserved, 0);
}
END_TEST

START_TEST(daemon_cap_spans_connections) {
  limits(1u << 20, 0, 0);
  conn_session a, b;
  session_init(&a, &books, 0, 0, 0);
  session_init(&b, &books, 0, 0, 0);
  greet(&a);
  greet(&b);
  int64_t big = slow(&a, 800 << 10);
  ck_assert_int_gt(big, 0);
  ck_assert_int_eq(slow(&b, 400 << 10), -ENOMEM);
  ck_assert_str_eq(reply.err.message, "Array buffer allocation failed: the daemon's memory limit "
                                      "is reached");
  ck_assert_uint_le(books.t.reserved, 1u << 20);
  session_fini(&a, true); /* a connection that ends frees room for the others */
  ck_assert_int_gt(slow(&b, 400 << 10), 0);
  session_fini(&b, true);
  ck_assert_uint_eq(books.t.reserved, 0);
  ck_assert_uint_eq(books.t.connections, 0);
}
END_TEST

START_TEST(buffer_count_limit) {
  limits(0, 0, 100);
  conn_session s;
  session_init(&s, &books, 0, 0, 0);
  greet(&s);
  int64_t ids[100];
  for (int i = 0; i < 100; i++)
    ck_assert_int_gt(ids[i] = slow(&s, 16), 0);
  ck_assert_int_eq(slow(&s, 16), -EDQUOT);
  ck_assert_str_eq(reply.err.message, "Array buffer allocation failed: this connection holds its "
                                      "limit of 100 buffers");
  release(&s, ids[50]);
  ck_assert_int_gt(slow(&s, 16), 0);
  session_fini(&s, true);
  ck_assert_uint_eq(books.t.buffers, 0);
}
END_TEST

/* A request that takes nothing (stats, list_clients) from s. */
static const dispatch_reply *ask_plain(conn_session *s, Shmbufwire__Request__OpCase op) {
  Shmbufwire__Request q;
  Shmbufwire__Stats empty; /* every such request is an empty message */
  shmbufwire__request__init(&q);
  shmbufwire__stats__init(&empty);
  q.id = 4;
  q.op_case = op;
  q.stats = &empty;
  return ask(s, &q);
}

static const Shmbufwire__ClientInfo *row_of(const Shmbufwire__ClientList *l, pid_t pid,
                                            uid_t uid) {
  for (size_t i = 0; i < l->n_clients; i++)
    if (l->clients[i]->pid == pid && l->clients[i]->uid == uid)
      return l->clients[i];
  return NULL;
}

/* Who sees which connections, and what a row says of one. */
START_TEST(connections_listed_by_who_asks) {
  limits(0, 0, 0);
  conn_session root, alice, alice2, quiet;
  dispatch.started_ms = 1000;
  dispatch.now_ms = 5000;
  session_init(&root, &books, 0, 0, getpid());
  session_init(&alice, &books, 1000, 1000, getpid());
  session_init(&alice2, &books, 1000, 1000, 0); /* a peer whose pid is not known */
  session_init(&quiet, &books, 1000, 1000, 77);  /* no hello yet */
  greet(&root);
  greet(&alice);
  greet(&alice2);
  ck_assert_int_gt(slow(&alice, 100), 0);
  ck_assert_int_gt(slow(&alice, 50), 0);
  dispatch.now_ms = 7500;

  const dispatch_reply *r = ask_plain(&alice, SHMBUFWIRE__REQUEST__OP_LIST_CLIENTS);
  ck_assert_int_eq(r->msg.result_case, SHMBUFWIRE__REPLY__RESULT_CLIENTS);
  const Shmbufwire__ClientList *l = r->msg.clients;
  ck_assert_uint_eq(l->n_clients, 2); /* alice's two greeted ones, not root's */
  const Shmbufwire__ClientInfo *a = row_of(l, getpid(), 1000);
  ck_assert_ptr_nonnull(a);
  ck_assert_uint_eq(a->buffers, 2);
  ck_assert_uint_eq(a->bytes, 150);
  ck_assert_uint_ge(a->reserved_bytes, 150);
  ck_assert_uint_ge(a->slabs, 1);
  ck_assert_uint_eq(a->age_ms, 2500);
  ck_assert_uint_eq(a->requests, 4); /* hello, two allocs, and this list */
  char comm[32];
  sbt_proc_comm(getpid(), comm, sizeof comm);
  ck_assert_str_eq(a->command, comm);
  ck_assert_str_eq(row_of(l, 0, 1000)->command, "");

  r = ask_plain(&root, SHMBUFWIRE__REQUEST__OP_LIST_CLIENTS);
  ck_assert_uint_eq(r->msg.clients->n_clients, 3);
  ck_assert_ptr_nonnull(row_of(r->msg.clients, getpid(), 0));

  /* uptime: seconds since serving began, on the dispatcher's clock */
  r = ask_plain(&root, SHMBUFWIRE__REQUEST__OP_STATS);
  const Shmbufwire__StatsReply *st = r->msg.stats;
  bool found = false;
  for (size_t i = 0; i < st->n_counters; i++)
    if (strcmp(st->counters[i]->name, "uptime_seconds") == 0) {
      ck_assert_uint_eq(st->counters[i]->value, 6);
      ck_assert(st->counters[i]->gauge);
      found = true;
    }
  ck_assert(found);
  session_fini(&root, true);
  session_fini(&alice, true);
  session_fini(&alice2, true);
  session_fini(&quiet, true);
  dispatch_fini(&dispatch);
}
END_TEST

/* ---- the fuzz corpus ------------------------------------------------------------------------- */

static unsigned replay_dir(const char *sub) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/../fuzz/%s", sbt_vectors(), sub);
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "cannot open %s", dir);
  unsigned n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.')
      continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static uint8_t data[1 << 21];
    size_t len = fread(data, 1, sizeof data, f);
    fclose(f);
    LLVMFuzzerTestOneInput(data, len); /* aborts on a broken invariant */
    n++;
  }
  closedir(d);
  return n;
}

START_TEST(fuzz_corpus) {
  unsigned n = replay_dir("corpus");
  ck_assert_uint_gt(n, 100);
  printf("# fuzz corpus: %u inputs replayed\n", n);
}
END_TEST

static Suite *dispatch_suite(void) {
  Suite *s = suite_create("dispatch");
  TCase *t = tcase_create("limits");
  tcase_add_test(t, connection_quota);
  tcase_add_test(t, daemon_cap_spans_connections);
  tcase_add_test(t, buffer_count_limit);
  suite_add_tcase(s, t);
  t = tcase_create("reports");
  tcase_add_test(t, connections_listed_by_who_asks);
  suite_add_tcase(s, t);
  t = tcase_create("fuzz");
  tcase_set_timeout(t, 60);
  tcase_add_test(t, fuzz_corpus);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(dispatch_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
