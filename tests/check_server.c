/* SPDX-License-Identifier: MIT */
/* shmbufd over raw frames: the protocol, hostile input, fd passing, backpressure. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <grp.h>
#include <limits.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "harness.h"
#include "requests.h"
#include "shmbuf.h"

static sbt_daemon D;

static void up(void) { sbt_start(&D, NULL); }
static void down(void) { sbt_stop(&D); }

/* Appends a request frame. */
static void frame(sb_bytes *out, Shmbufwire__Request *q) {
  ck_assert_int_eq(req_append(out, q), 0);
}

static int greeted(void) {
  int fd = sbt_connect(&D);
  sbt_hello(fd);
  return fd;
}

static void assert_error(Shmbufwire__Reply *r, const char *code, int errnum, const char *msg) {
  ck_assert_int_eq(r->result_case, SHMBUFWIRE__REPLY__RESULT_ERROR);
  ck_assert_str_eq(r->error->code, code);
  ck_assert_int_eq(r->error->errnum, errnum);
  if (msg)
    ck_assert_str_eq(r->error->message, msg);
  shmbufwire__reply__free_unpacked(r, NULL);
}

/* Another client is served while something happens to the first. */
static void assert_serving(void) {
  int fd = greeted();
  req r;
  Shmbufwire__Reply *rep = sbt_call(fd, req_sized(&r, 2, SHMBUFWIRE__REQUEST__OP_ALLOC, 3), NULL, NULL);
  ck_assert_int_eq(rep->result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER);
  ck_assert_uint_eq(rep->buffer->length, 3);
  shmbufwire__reply__free_unpacked(rep, NULL);
  close(fd);
}

/* ---- handshake ------------------------------------------------------------------------------- */

START_TEST(welcome_says_the_rules) {
  int fd = sbt_connect(&D);
  req r;
  req_hello(&r, 7, SB_PROTOCOL_VERSION);
  Shmbufwire__Reply *w = sbt_call(fd, &r.q, NULL, NULL);
  ck_assert_int_eq(w->result_case, SHMBUFWIRE__REPLY__RESULT_WELCOME);
  ck_assert_uint_eq(w->welcome->pool_size, 8192);
  ck_assert_uint_eq(w->welcome->max_frame, 16u << 20);
  ck_assert_uint_eq(w->welcome->max_length, 4294967296ull);
  ck_assert_str_eq(w->welcome->server, "shmbufd " PACKAGE_VERSION);
  ck_assert(w->welcome->batches);
  shmbufwire__reply__free_unpacked(w, NULL);
  /* a second hello is an error, not the end */
  r.q.id = 8;
  assert_error(sbt_call(fd, &r.q, NULL, NULL), "ERR_SHMBUF_PROTOCOL", -EPROTO, NULL);
  close(fd);
}
END_TEST

START_TEST(hello_must_come_first) {
  int fd = sbt_connect(&D);
  req r;
  assert_error(sbt_call(fd, req_sized(&r, 5, SHMBUFWIRE__REQUEST__OP_ALLOC, 4), NULL, NULL),
               "ERR_SHMBUF_PROTOCOL", -EPROTO, "the first request must be hello");
  ck_assert(sbt_closed_by_peer(fd, 2000));
  close(fd);
  assert_serving();
}
END_TEST

START_TEST(wrong_version_is_refused) {
  int fd = sbt_connect(&D);
  req r;
  req_hello(&r, 1, 99);
  assert_error(sbt_call(fd, &r.q, NULL, NULL), "ERR_SHMBUF_VERSION", -EPROTONOSUPPORT, NULL);
  ck_assert(sbt_closed_by_peer(fd, 2000));
  close(fd);
}
END_TEST

/* ---- malformed frames ------------------------------------------------------------------------ */

static void assert_notice_then_close(int fd, int errnum) {
  Shmbufwire__Reply *r = sbt_recv(fd, NULL, NULL, 2000);
  ck_assert_ptr_nonnull(r);
  ck_assert_uint_eq(r->id, 0);
  assert_error(r, "ERR_SHMBUF_PROTOCOL", errnum, NULL);
  ck_assert(sbt_closed_by_peer(fd, 2000));
  close(fd);
  assert_serving();
  ck_assert_uint_eq(sbt_stat_wait(&D, "connections", 0, 2000), 0);
}

START_TEST(oversized_length_prefix) {
  int fd = greeted();
  sbt_write(fd, "\xff\xff\xff\xff", 4); /* no payload follows: refused on the header alone */
  assert_notice_then_close(fd, -EMSGSIZE);
}
END_TEST

START_TEST(just_over_the_limit) {
  int fd = greeted();
  uint32_t l = (16u << 20) + 1;
  uint8_t h[4] = {(uint8_t)(l >> 24), (uint8_t)(l >> 16), (uint8_t)(l >> 8), (uint8_t)l};
  sbt_write(fd, h, 4);
  assert_notice_then_close(fd, -EMSGSIZE);
}
END_TEST

START_TEST(zero_length_frame) {
  int fd = greeted();
  sbt_write(fd, "\0\0\0\0", 4);
  assert_notice_then_close(fd, -EBADMSG);
}
END_TEST

START_TEST(garbage_payload) {
  int fd = greeted();
  sbt_write(fd, "\0\0\0\x0b\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 15);
  assert_notice_then_close(fd, -EPROTO);
}
END_TEST

START_TEST(garbage_before_hello) {
  int fd = sbt_connect(&D);
  sbt_write(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
  Shmbufwire__Reply *r = sbt_recv(fd, NULL, NULL, 2000);
  ck_assert_ptr_nonnull(r);
  ck_assert_int_eq(r->result_case, SHMBUFWIRE__REPLY__RESULT_ERROR);
  shmbufwire__reply__free_unpacked(r, NULL);
  ck_assert(sbt_closed_by_peer(fd, 2000));
  close(fd);
  assert_serving();
}
END_TEST

START_TEST(frame_cut_then_eof) {
  int fd = greeted();
  sbt_write(fd, "\0\0\0\x20\x08\x02", 6);
  close(fd);
  ck_assert_uint_eq(sbt_stat_wait(&D, "connections", 0, 2000), 0);
  assert_serving();
}
END_TEST

static void send_reply_as_request(int fd, Shmbufwire__Reply *rep) {
  sb_bytes out = {0};
  ck_assert_int_eq(sb_frame_append(&out, &rep->base, UINT32_MAX), 0);
  sbt_write(fd, sb_bytes_head(&out), out.len);
  sb_bytes_free(&out);
}

START_TEST(wrong_message_type) {
  /* A Reply where a Request belongs. An empty Released reads as allocUnsafeSlow(0), a
   * request like any other: it gets its answer and the connection goes on. */
  int fd = greeted();
  Shmbufwire__Reply rep;
  Shmbufwire__Released rel;
  shmbufwire__reply__init(&rep);
  shmbufwire__released__init(&rel);
  rep.id = 9;
  rep.result_case = SHMBUFWIRE__REPLY__RESULT_RELEASED;
  rep.released = &rel;
  send_reply_as_request(fd, &rep);
  Shmbufwire__Reply *r = sbt_recv(fd, NULL, NULL, 2000);
  ck_assert_ptr_nonnull(r);
  ck_assert_uint_eq(r->id, 9);
  shmbufwire__reply__free_unpacked(r, NULL);
  req q;
  r = sbt_call(fd, req_stats(&q, 10), NULL, NULL);
  ck_assert_int_eq(r->result_case, SHMBUFWIRE__REPLY__RESULT_STATS);
  shmbufwire__reply__free_unpacked(r, NULL);
  /* A Buffer reply's fields clash in wire type with Alloc's: undecodable, so the
   * connection ends with a notice, and only this one. */
  Shmbufwire__Buffer b;
  shmbufwire__buffer__init(&b);
  rep.result_case = SHMBUFWIRE__REPLY__RESULT_BUFFER;
  rep.buffer = &b;
  b.buffer = 77;
  b.slab = 3;
  send_reply_as_request(fd, &rep);
  assert_notice_then_close(fd, -EPROTO);
}
END_TEST

START_TEST(unknown_fields_are_ignored) {
  int fd = greeted();
  req r;
  sb_bytes out = {0};
  frame(&out, req_sized(&r, 3, SHMBUFWIRE__REQUEST__OP_ALLOC, 2));
  /* field 100, varint 1, appended to the message; the length grows by 3 */
  uint8_t *p = sb_bytes_head(&out);
  p[3] += 3;
  sbt_write(fd, sb_bytes_head(&out), out.len);
  sbt_write(fd, "\xa0\x06\x01", 3);
  sb_bytes_free(&out);
  Shmbufwire__Reply *rep = sbt_recv(fd, NULL, NULL, 2000);
  ck_assert_int_eq(rep->result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER);
  ck_assert_uint_eq(rep->buffer->length, 2);
  shmbufwire__reply__free_unpacked(rep, NULL);
  close(fd);
}
END_TEST

START_TEST(bad_sizes) {
  int fd = greeted();
  req r;
  assert_error(sbt_call(fd, req_sized(&r, 2, SHMBUFWIRE__REQUEST__OP_ALLOC, -1), NULL, NULL),
               "ERR_OUT_OF_RANGE", -ERANGE,
               "The value of \"size\" is out of range. It must be >= 0 && <= 4294967296. "
               "Received -1");
  assert_error(sbt_call(fd, req_sized(&r, 3, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE, INT64_MAX), NULL,
                        NULL),
               "ERR_OUT_OF_RANGE", -ERANGE,
               "The value of \"size\" is out of range. It must be >= 0 && <= 4294967296. "
               "Received 9_223_372_036_854_776_000");
  assert_error(sbt_call(fd, req_sized(&r, 4, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, INT64_MIN),
                        NULL, NULL),
               "ERR_OUT_OF_RANGE", -ERANGE, NULL);
  Shmbufwire__Reply *rep = sbt_call(fd, req_sized(&r, 5, SHMBUFWIRE__REQUEST__OP_ALLOC, 0), NULL, NULL);
  ck_assert_int_eq(rep->result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER);
  ck_assert_uint_eq(rep->buffer->length, 0);
  ck_assert_uint_eq(rep->buffer->ab_length, 0);
  ck_assert_uint_eq(rep->buffer->slab, 0);
  shmbufwire__reply__free_unpacked(rep, NULL);
  assert_error(sbt_call(fd, req_from_utf8(&r, 6, "abc", "utf9"), NULL, NULL), "ERR_UNKNOWN_ENCODING",
               -EINVAL, "Unknown encoding: utf9");
  shmbufwire__request__init(&r.q);
  r.q.id = 7; /* no operation at all */
  assert_error(sbt_call(fd, &r.q, NULL, NULL), "ERR_SHMBUF_PROTOCOL", -EPROTO, NULL);
  close(fd);
}
END_TEST

/* ---- buffers and ids --------------------------------------------------------------------------- */

START_TEST(release_checks_ids) {
  int a = greeted(), b = greeted();
  req r;
  Shmbufwire__Reply *rep = sbt_call(a, req_sized(&r, 2, SHMBUFWIRE__REQUEST__OP_ALLOC, 10), NULL, NULL);
  uint64_t id = rep->buffer->buffer;
  shmbufwire__reply__free_unpacked(rep, NULL);
  /* B cannot release A's buffer, nor a guessed one */
  assert_error(sbt_call(b, req_release(&r, 2, id), NULL, NULL), "ERR_INVALID_ARG_VALUE", -ENOENT, NULL);
  assert_error(sbt_call(b, req_release(&r, 3, 12345), NULL, NULL), "ERR_INVALID_ARG_VALUE", -ENOENT,
               NULL);
  assert_error(sbt_call(a, req_release(&r, 3, id + 1), NULL, NULL), "ERR_INVALID_ARG_VALUE", -ENOENT,
               NULL);
  rep = sbt_call(a, req_release(&r, 4, id), NULL, NULL);
  ck_assert_int_eq(rep->result_case, SHMBUFWIRE__REPLY__RESULT_RELEASED);
  shmbufwire__reply__free_unpacked(rep, NULL);
  /* twice is once too many, and the slot's next tenant does not answer to the old id */
  assert_error(sbt_call(a, req_release(&r, 5, id), NULL, NULL), "ERR_INVALID_ARG_VALUE", -ENOENT,
               NULL);
  rep = sbt_call(a, req_sized(&r, 6, SHMBUFWIRE__REQUEST__OP_ALLOC, 10), NULL, NULL);
  ck_assert_uint_ne(rep->buffer->buffer, id);
  shmbufwire__reply__free_unpacked(rep, NULL);
  assert_error(sbt_call(a, req_release(&r, 7, id), NULL, NULL), "ERR_INVALID_ARG_VALUE", -ENOENT, NULL);
  /* from(buffer) with a foreign id is refused too */
  shmbufwire__request__init(&r.q);
  shmbufwire__from__init(&r.from);
  r.q.id = 8;
  r.q.op_case = SHMBUFWIRE__REQUEST__OP_FROM;
  r.q.from = &r.from;
  r.from.source_case = SHMBUFWIRE__FROM__SOURCE_BUFFER;
  r.from.buffer = id;
  assert_error(sbt_call(b, &r.q, NULL, NULL), "ERR_INVALID_ARG_VALUE", -ENOENT, NULL);
  close(a);
  close(b);
}
END_TEST

/* Each reply tells the slabs destroyed since the one before it, and only those: however many
 * a client destroys, the list a reply carries (and the daemon keeps) does not grow. */
START_TEST(retired_slabs_are_told_once_each) {
  int fd = greeted();
  req r;
  sb_bytes out = {0};
  enum { PAIRS = 300 };
  for (uint64_t i = 0; i < PAIRS; i++) { /* a slab each, destroyed by its release */
    frame(&out, req_sized(&r, 10 + 2 * i, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, 3 << 20));
    frame(&out, req_release(&r, 11 + 2 * i, req_predicted_id(0, i + 1)));
  }
  sbt_write(fd, sb_bytes_head(&out), out.len);
  sb_bytes_free(&out);
  size_t told = 0;
  for (uint64_t i = 0; i < 2 * PAIRS; i++) {
    Shmbufwire__Reply *rep = sbt_recv(fd, NULL, NULL, 5000);
    ck_assert_ptr_nonnull(rep);
    ck_assert_uint_eq(rep->id, 10 + i);
    ck_assert_uint_le(rep->n_retired_slabs, 1);
    told += rep->n_retired_slabs;
    shmbufwire__reply__free_unpacked(rep, NULL);
  }
  ck_assert_uint_eq(told, PAIRS);
  close(fd);
}
END_TEST

/* ---- batches -------------------------------------------------------------------------------- */

/* Sends a batch: creations of op with the sizes (ids from id), after the releases. */
static void send_batch(int fd, uint64_t id, uint64_t op, const int64_t *sizes, size_t n,
                       const uint64_t *releases, size_t nreleases) {
  uint64_t words[3 + 64 + 64] = {id, op, n};
  ck_assert_uint_le(n, 64);
  ck_assert_uint_le(nreleases, 64);
  for (size_t i = 0; i < n; i++)
    words[3 + i] = (uint64_t)sizes[i];
  for (size_t i = 0; i < nreleases; i++)
    words[3 + n + i] = releases[i];
  Shmbufwire__Batch b = SHMBUFWIRE__BATCH__INIT;
  b.words = words;
  b.n_words = 3 + n + nreleases;
  sbt_send_batch(fd, &b);
}

/* Reads a Made frame answering n buffers from request id on. */
static Shmbufwire__Made *recv_made(int fd, uint64_t id, size_t n, int *fds, size_t *nfds) {
  Shmbufwire__Reply *r;
  Shmbufwire__Made *m;
  ck_assert(sbt_recv_frame(fd, fds, nfds, 2000, &r, &m));
  ck_assert_msg(m != NULL, "a Reply frame where a Made was due");
  ck_assert_uint_eq(m->n_words, 1 + 7 * n);
  ck_assert_uint_eq(m->words[0], id);
  return m;
}

/* The seven words that describe buffer k of a Made frame. */
#define MADE_BUFFER(m, k) ((m)->words + 1 + 7 * (k))
enum { W_BUFFER, W_SLAB, W_SLAB_SIZE, W_AB_OFFSET, W_BYTE_OFFSET, W_LENGTH, W_AB_LENGTH };

START_TEST(batches_make_buffers_and_release_without_a_reply) {
  int fd = greeted(), fds[4];
  size_t nfds = 0;
  send_batch(fd, 10, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE, (int64_t[]){16, 100, 5000}, 3, NULL, 0);
  Shmbufwire__Made *m = recv_made(fd, 10, 3, fds, &nfds);
  const uint64_t *a = MADE_BUFFER(m, 0), *b = MADE_BUFFER(m, 1), *c = MADE_BUFFER(m, 2);
  ck_assert_uint_eq(nfds, 1); /* one slab, announced by the first buffer in it */
  ck_assert_uint_gt(a[W_SLAB_SIZE], 0);
  ck_assert_uint_eq(b[W_SLAB_SIZE], 0);
  ck_assert_uint_eq(a[W_SLAB] >> 32, 1); /* pooled */
  ck_assert_uint_eq(a[W_LENGTH], 16);
  ck_assert_uint_eq(a[W_AB_LENGTH], 8192);
  ck_assert_uint_eq(b[W_BYTE_OFFSET], 16); /* Node's placement */
  ck_assert_uint_eq(b[W_LENGTH], 100);
  ck_assert_uint_eq(c[W_SLAB] >> 32, 0); /* 5000 bytes: dedicated */
  ck_assert_uint_eq(c[W_AB_LENGTH], 5000);
  ck_assert_uint_eq(sbt_stat(&D, "buffers"), 3);
  /* releases alone: no frame comes back */
  uint64_t ids[3] = {a[W_BUFFER], b[W_BUFFER], c[W_BUFFER]};
  send_batch(fd, 0, 0, NULL, 0, ids, 2);
  ck_assert_ptr_null(sbt_recv_within(fd, NULL, NULL, 300));
  ck_assert_uint_eq(sbt_stat(&D, "buffers"), 1);
  /* releases first, then the creations: alloc is zero-filled */
  send_batch(fd, 13, SHMBUFWIRE__REQUEST__OP_ALLOC, (int64_t[]){7}, 1, ids + 2, 1);
  shmbufwire__made__free_unpacked(m, NULL);
  m = recv_made(fd, 13, 1, fds, &nfds);
  ck_assert_uint_eq(MADE_BUFFER(m, 0)[W_AB_LENGTH], 7);
  ck_assert_uint_eq(sbt_stat(&D, "buffers"), 1);
  /* a release the connection cannot make is counted, and that is all */
  uint64_t errors = sbt_stat(&D, "errors_total");
  send_batch(fd, 0, 0, NULL, 0, ids, 1);
  ck_assert_uint_eq(sbt_stat_wait(&D, "errors_total", errors + 1, 2000), errors + 1);
  shmbufwire__made__free_unpacked(m, NULL);
  for (size_t i = 0; i < nfds; i++)
    close(fds[i]);
  close(fd);
}
END_TEST

/* A creation that fails is answered by an error Reply in its turn, between the Made frames of
 * the creations around it. */
START_TEST(batch_creations_fail_one_by_one) {
  int fd = greeted();
  Shmbufwire__Made *m;
  send_batch(fd, 20, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW,
             (int64_t[]){8, -1, 8, 3 << 20, 9}, 5, NULL, 0);
  m = recv_made(fd, 20, 1, NULL, NULL);
  shmbufwire__made__free_unpacked(m, NULL);
  Shmbufwire__Reply *r = sbt_recv(fd, NULL, NULL, 2000);
  ck_assert_uint_eq(r->id, 21);
  assert_error(r, "ERR_OUT_OF_RANGE", -ERANGE,
               "The value of \"size\" is out of range. It must be >= 0 && <= 4294967296. "
               "Received -1");
  m = recv_made(fd, 22, 1, NULL, NULL);
  shmbufwire__made__free_unpacked(m, NULL);
  r = sbt_recv(fd, NULL, NULL, 2000);
  ck_assert_uint_eq(r->id, 23); /* more than a batch may make at once */
  assert_error(r, "ERR_SHMBUF_PROTOCOL", -EPROTO, "a creation in a batch is at most 2097152 bytes");
  m = recv_made(fd, 24, 1, NULL, NULL);
  shmbufwire__made__free_unpacked(m, NULL);
  close(fd);
}
END_TEST

/* Frames that are no batch: a notice, and the connection ends. */
START_TEST(invalid_batches_end_the_connection) {
  int64_t sizes[65] = {0};
  int fd = greeted();
  send_batch(fd, 1, SHMBUFWIRE__REQUEST__OP_FROM, sizes, 1, NULL, 0); /* no batch op */
  assert_notice_then_close(fd, -EPROTO);
  fd = greeted();
  uint64_t words[3 + 65] = {1, SHMBUFWIRE__REQUEST__OP_ALLOC, 65};
  Shmbufwire__Batch b = SHMBUFWIRE__BATCH__INIT;
  b.words = words;
  b.n_words = 3 + 65; /* more creations than a batch holds */
  sbt_send_batch(fd, &b);
  assert_notice_then_close(fd, -EPROTO);
  fd = greeted();
  b.n_words = 3 + 2; /* fewer sizes than it says */
  words[2] = 3;
  sbt_send_batch(fd, &b);
  assert_notice_then_close(fd, -EPROTO);
  fd = greeted();
  sbt_write(fd, (const uint8_t[]){0x80, 0, 0, 3, 0xff, 0xff, 0xff}, 7); /* no protobuf */
  assert_notice_then_close(fd, -EPROTO);
}
END_TEST

START_TEST(a_batch_before_hello_is_refused) {
  int fd = sbt_connect(&D);
  send_batch(fd, 5, SHMBUFWIRE__REQUEST__OP_ALLOC, (int64_t[]){4}, 1, NULL, 0);
  Shmbufwire__Reply *r = sbt_recv(fd, NULL, NULL, 2000);
  ck_assert_uint_eq(r->id, 5);
  assert_error(r, "ERR_SHMBUF_PROTOCOL", -EPROTO, "the first request must be hello");
  ck_assert(sbt_closed_by_peer(fd, 2000));
  close(fd);
  assert_serving();
}
END_TEST

/* A lease of a size is a region the client carves itself: zero-filled even when the daemon
 * reuses this connection's memory, counted in leased_bytes, and by a Request as well. */
START_TEST(leased_regions_are_zero_filled) {
  int fd = greeted(), fds[4];
  size_t nfds = 0;
  for (int round = 0; round < 2; round++) {
    send_batch(fd, 30 + (uint64_t)round, SHMBUFWIRE__REQUEST__OP_LEASE, (int64_t[]){64 << 10}, 1,
               NULL, 0);
    Shmbufwire__Made *m = recv_made(fd, 30 + (uint64_t)round, 1, fds, &nfds);
    const uint64_t *w = MADE_BUFFER(m, 0);
    ck_assert_uint_eq(w[W_AB_LENGTH], 64u << 10);
    ck_assert_uint_eq(w[W_SLAB] >> 32, 0);
    ck_assert_uint_eq(sbt_stat(&D, "leased_bytes"), 64u << 10);
    ck_assert_uint_eq(nfds, 1); /* the first round's slab, mapped here both rounds */
    uint8_t *slab = mmap(NULL, 4u << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
    ck_assert_ptr_ne(slab, MAP_FAILED);
    uint8_t *region = slab + w[W_AB_OFFSET];
    for (size_t i = 0; i < 64u << 10; i++)
      ck_assert_msg(region[i] == 0, "round %d: byte %zu of the region is not zero", round, i);
    memset(region, 0x5a, 64u << 10);
    munmap(slab, 4u << 20);
    uint64_t id = w[W_BUFFER];
    shmbufwire__made__free_unpacked(m, NULL);
    send_batch(fd, 0, 0, NULL, 0, &id, 1);
    ck_assert_uint_eq(sbt_stat_wait(&D, "leased_bytes", 0, 2000), 0);
  }
  /* the same by a Request */
  Shmbufwire__Request q = SHMBUFWIRE__REQUEST__INIT;
  Shmbufwire__Lease lease = SHMBUFWIRE__LEASE__INIT;
  lease.size = 12288;
  q.id = 40;
  q.op_case = SHMBUFWIRE__REQUEST__OP_LEASE;
  q.lease = &lease;
  Shmbufwire__Reply *r = sbt_call(fd, &q, NULL, NULL);
  ck_assert_int_eq(r->result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER);
  ck_assert_uint_eq(r->buffer->ab_length, 12288);
  ck_assert(!r->buffer->pooled);
  ck_assert_uint_eq(sbt_stat(&D, "leased_bytes"), 12288);
  shmbufwire__reply__free_unpacked(r, NULL);
  for (size_t i = 0; i < nfds; i++)
    close(fds[i]);
  close(fd);
}
END_TEST

/* A batch's releases destroy a slab: the Made frame that answers it says so. */
START_TEST(slabs_released_by_a_batch_retire_with_its_answer) {
  int fd = greeted();
  int64_t two = 2 << 20;
  send_batch(fd, 10, SHMBUFWIRE__REQUEST__OP_LEASE, (int64_t[]){two, two, two}, 3, NULL, 0);
  Shmbufwire__Made *m = recv_made(fd, 10, 3, NULL, NULL);
  uint64_t ids[3];
  for (int k = 0; k < 3; k++)
    ids[k] = MADE_BUFFER(m, k)[W_BUFFER];
  uint32_t last = (uint32_t)MADE_BUFFER(m, 2)[W_SLAB];
  ck_assert_uint_ne(last, (uint32_t)MADE_BUFFER(m, 0)[W_SLAB]); /* two regions a segment */
  shmbufwire__made__free_unpacked(m, NULL);
  /* both segments empty: one is kept as a spare, the other destroyed */
  send_batch(fd, 13, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE, (int64_t[]){8}, 1, ids, 3);
  m = recv_made(fd, 13, 1, NULL, NULL);
  ck_assert_uint_eq(m->n_retired_slabs, 1);
  shmbufwire__made__free_unpacked(m, NULL);
  close(fd);
}
END_TEST

START_TEST(slab_fd_comes_once) {
  int fd = greeted();
  req r;
  int fds[8];
  size_t nfds = 0;
  Shmbufwire__Reply *one = sbt_call(fd, req_from_utf8(&r, 2, "hello", NULL), fds, &nfds);
  ck_assert_uint_eq(nfds, 1);
  ck_assert_uint_gt(one->buffer->slab_size, 0);
  Shmbufwire__Reply *two = sbt_call(fd, req_from_utf8(&r, 3, "world", NULL), fds, &nfds);
  ck_assert_uint_eq(nfds, 1);
  ck_assert_uint_eq(two->buffer->slab, one->buffer->slab);
  ck_assert_uint_eq(two->buffer->slab_size, 0);
  /* what the fd maps is what the descriptors say */
  uint8_t *m = mmap(NULL, one->buffer->slab_size, PROT_READ, MAP_SHARED, fds[0], 0);
  ck_assert_ptr_ne(m, MAP_FAILED);
  ck_assert_int_eq(memcmp(m + one->buffer->ab_offset + one->buffer->byte_offset, "hello", 5), 0);
  ck_assert_int_eq(memcmp(m + two->buffer->ab_offset + two->buffer->byte_offset, "world", 5), 0);
  ck_assert_uint_eq(two->buffer->byte_offset, 8);
  munmap(m, one->buffer->slab_size);
  /* the object is an anonymous memfd, its size sealed, and the fd the peer's own */
  char link[64], target[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fds[0]);
  ssize_t l = readlink(link, target, sizeof target - 1);
  ck_assert_int_gt(l, 0);
  target[l] = '\0';
  ck_assert_msg(strncmp(target, "/memfd:shmbuf", 13) == 0, "the slab is %s", target);
  ck_assert_int_eq(fcntl(fds[0], F_GET_SEALS) & (F_SEAL_GROW | F_SEAL_SHRINK),
                   F_SEAL_GROW | F_SEAL_SHRINK);
  shmbufwire__reply__free_unpacked(one, NULL);
  shmbufwire__reply__free_unpacked(two, NULL);
  close(fds[0]);
  close(fd);
}
END_TEST

START_TEST(pipelined_requests) {
  int fd = greeted();
  req r;
  sb_bytes out = {0};
  for (uint64_t i = 0; i < 300; i++)
    frame(&out, req_sized(&r, 100 + i, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE, 16));
  sbt_write(fd, sb_bytes_head(&out), out.len);
  sb_bytes_free(&out);
  int fds[8];
  size_t nfds = 0;
  for (uint64_t i = 0; i < 300; i++) {
    Shmbufwire__Reply *rep = sbt_recv(fd, fds, &nfds, 2000);
    ck_assert_ptr_nonnull(rep);
    ck_assert_uint_eq(rep->id, 100 + i);
    ck_assert_uint_eq(rep->buffer->byte_offset, (i % 512) * 16);
    shmbufwire__reply__free_unpacked(rep, NULL);
  }
  ck_assert_uint_eq(nfds, 1);
  close(fds[0]);
  close(fd);
}
END_TEST

START_TEST(punched_slab_hurts_only_its_owner) {
  int fd = greeted();
  req r;
  int fds[8];
  size_t nfds = 0;
  Shmbufwire__Reply *rep = sbt_call(fd, req_sized(&r, 2, SHMBUFWIRE__REQUEST__OP_ALLOC, 100), fds, &nfds);
  ck_assert_uint_eq(nfds, 1);
  shmbufwire__reply__free_unpacked(rep, NULL);
  /* a client may give back its own pages (it cannot truncate: see slabs_cannot_grow_or_shrink);
   * the daemon writes through its fd, never a mapping, so nothing faults */
  ck_assert_int_eq(fallocate(fds[0], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1 << 20), 0);
  for (uint64_t i = 0; i < 200; i++) {
    Shmbufwire__Request *q = i % 3 == 0   ? req_from_utf8(&r, 10 + i, "after truncation", NULL)
                             : i % 3 == 1 ? req_sized(&r, 10 + i, SHMBUFWIRE__REQUEST__OP_ALLOC, 3000)
                                          : req_sized(&r, 10 + i, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE, 9);
    rep = sbt_call(fd, q, NULL, NULL);
    ck_assert_int_eq(rep->result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER);
    shmbufwire__reply__free_unpacked(rep, NULL);
  }
  close(fds[0]);
  close(fd);
  assert_serving();
  ck_assert_uint_eq(sbt_stat_wait(&D, "reserved_bytes", 0, 2000), 0);
}
END_TEST

START_TEST(unread_replies_are_bounded) {
  /* A client that writes and never reads: the daemon stops reading it, and serves others. */
  int fd = greeted();
  fcntl(fd, F_SETFL, O_NONBLOCK);
  req r;
  sb_bytes out = {0};
  for (uint64_t i = 0; i < 1000; i++)
    sb_frame_append(&out, &req_stats(&r, 10 + i)->base, UINT32_MAX);
  size_t sent = 0;
  for (int rounds = 0; rounds < 100000; rounds++) {
    ssize_t w = send(fd, sb_bytes_head(&out), out.len, MSG_NOSIGNAL);
    if (w < 0) {
      ck_assert_int_eq(errno, EAGAIN);
      struct pollfd p = {fd, POLLOUT, 0};
      if (poll(&p, 1, 300) == 0)
        break; /* the daemon stopped reading us */
      continue;
    }
    sent += (size_t)w;
    if ((size_t)w == out.len)
      continue; /* resend the same batch */
    sb_bytes_consume(&out, (size_t)w);
  }
  sb_bytes_free(&out);
  printf("# a client that never reads got %zu bytes of requests in before the daemon stopped "
         "reading it\n", sent);
  ck_assert_uint_lt(sent, 64u << 20);
  assert_serving();
  close(fd);
  ck_assert_uint_eq(sbt_stat_wait(&D, "connections", 0, 2000), 0);
}
END_TEST

/* ---- startup ----------------------------------------------------------------------------------- */

static int run_daemon(const char *sock, char *err, size_t cap) {
  const char *bin = getenv("SHMBUFD") ? getenv("SHMBUFD") : "./shmbufd";
  const char *argv[] = {bin, "--socket", sock, "--config", "/dev/null", NULL};
  char out[256];
  return sbt_run(argv, NULL, out, sizeof out, err, cap);
}

START_TEST(live_instance_is_refused) {
  char err[1024];
  ck_assert_int_eq(run_daemon(D.sock, err, sizeof err), 1);
  ck_assert_ptr_nonnull(strstr(err, "another shmbufd is already listening on"));
  assert_serving(); /* and the first one is untouched */
}
END_TEST

START_TEST(stale_socket_is_replaced) {
  kill(D.pid, SIGKILL); /* leaves its socket file behind */
  waitpid(D.pid, NULL, 0);
  D.pid = 0;
  struct stat st;
  ck_assert_int_eq(stat(D.sock, &st), 0);
  sbt_start(&D, NULL);
  assert_serving();
}
END_TEST

START_TEST(not_a_socket_is_left_alone) {
  char path[256], err[1024];
  snprintf(path, sizeof path, "%s/file", D.dir);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs("precious", f);
  fclose(f);
  ck_assert_int_eq(run_daemon(path, err, sizeof err), 1);
  ck_assert_ptr_nonnull(strstr(err, "exists and is not a socket"));
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(st.st_size, 8);
  unlink(path);
}
END_TEST

/* ---- limits and access ------------------------------------------------------------------------ */

/* Starts D with extra arguments (the fixture-less TCases start their own daemon). */
static void start_with(const char *const *args) { sbt_start(&D, args); }

/* A raw connection made as another user and group, from a child; returns what happened:
 * 1 welcomed, 0 refused with ERR_SHMBUF_ACCESS then closed, -1 anything else. */
static int connect_as(uid_t uid, gid_t gid) {
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
      _exit(10);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%.100s", D.sock);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
      _exit(11);
    req r;
    req_hello(&r, 1, SB_PROTOCOL_VERSION);
    sbt_send(fd, &r.q);
    Shmbufwire__Reply *rep = sbt_recv(fd, NULL, NULL, 3000);
    if (rep == NULL)
      _exit(12);
    int code = rep->result_case == SHMBUFWIRE__REPLY__RESULT_WELCOME ? 0
               : rep->id == 0 && rep->result_case == SHMBUFWIRE__REPLY__RESULT_ERROR &&
                       strcmp(rep->error->code, "ERR_SHMBUF_ACCESS") == 0 &&
                       rep->error->errnum == -EACCES && sbt_closed_by_peer(fd, 2000)
                   ? 1
                   : 13;
    shmbufwire__reply__free_unpacked(rep, NULL);
    close(fd);
    _exit(code);
  }
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status));
  return WEXITSTATUS(status) == 0 ? 1 : WEXITSTATUS(status) == 1 ? 0 : -WEXITSTATUS(status);
}

START_TEST(anyone_who_reaches_the_socket_gets_in) {
  start_with((const char *const[]){"--socket-mode", "0666", NULL});
  chmod(D.dir, 0755);
  ck_assert_int_eq(connect_as(65534, 65534), 1);
  sbt_stop(&D);
}
END_TEST

START_TEST(allow_lists_admit_by_credentials) {
  start_with((const char *const[]){"--socket-mode", "0666", "--allow-users", "12345",
                                   "--allow-groups", "4242", NULL});
  chmod(D.dir, 0755);
  ck_assert_int_eq(connect_as(12345, 65534), 1);   /* a listed user */
  ck_assert_int_eq(connect_as(23456, 4242), 1);    /* a listed group */
  ck_assert_int_eq(connect_as(65534, 65534), 0);   /* neither */
  ck_assert_int_eq(connect_as(23456, 65534), 0);
  assert_serving();                                /* root always */
  ck_assert_uint_eq(sbt_stat(&D, "connections_refused_total"), 2);
  sbt_stop(&D);
}
END_TEST

START_TEST(connection_cap_waits_then_admits) {
  start_with((const char *const[]){"--max-connections", "2", NULL});
  int a = greeted(), b = greeted();
  int c = sbt_connect(&D); /* accepted by the kernel, not by the daemon */
  req r;
  req_hello(&r, 1, SB_PROTOCOL_VERSION);
  sbt_send(c, &r.q);
  struct pollfd p = {c, POLLIN, 0};
  ck_assert_int_eq(poll(&p, 1, 300), 0); /* no answer while two are served */
  close(a);
  Shmbufwire__Reply *w = sbt_recv(c, NULL, NULL, 3000);
  ck_assert_ptr_nonnull(w);
  ck_assert_int_eq(w->result_case, SHMBUFWIRE__REPLY__RESULT_WELCOME);
  shmbufwire__reply__free_unpacked(w, NULL);
  close(b);
  close(c);
  sbt_stop(&D);
}
END_TEST

START_TEST(half_frames_time_out) {
  start_with((const char *const[]){"--frame-timeout", "300ms", NULL});
  int slow = greeted();
  sbt_write(slow, "\0\0\0\x20\x08", 5);
  assert_serving(); /* others are served meanwhile */
  ck_assert(sbt_closed_by_peer(slow, 3000));
  close(slow);
  int idle = greeted(); /* a connection between frames is not slow, just quiet */
  struct pollfd p = {idle, POLLIN, 0};
  ck_assert_int_eq(poll(&p, 1, 800), 0);
  close(idle);
  sbt_stop(&D);
}
END_TEST

/* Runs shmbufd in a new memory cgroup limited to `limit` bytes (v1, or v2 where the memory
 * controller can be enabled under the root), the way MemoryMax= of a service limits it. The
 * cgroup's path is left in `cg` for cgroup_remove(). */
static void start_in_memory_cgroup(const char *limit, const char *const *args, char *cg,
                                   size_t cap) {
  const char *v1 = "/sys/fs/cgroup/memory", *v2 = "/sys/fs/cgroup";
  char file[PATH_MAX + 64], wrapper[256], cmd[PATH_MAX + 256];
  snprintf(cg, cap, "%s/shmbuf-test-%d", v1, (int)getpid());
  const char *limit_file = "memory.limit_in_bytes";
  if (mkdir(cg, 0755) < 0) { /* v2: the controller must be on for the root's children */
    snprintf(file, sizeof file, "%s/cgroup.subtree_control", v2);
    FILE *f = fopen(file, "w");
    if (f) {
      fputs("+memory", f);
      fclose(f);
    }
    snprintf(cg, cap, "%s/shmbuf-test-%d", v2, (int)getpid());
    limit_file = "memory.max";
    ck_assert_msg(mkdir(cg, 0755) == 0, "no memory cgroup can be made here (v1 or v2): %s",
                  strerror(errno));
  }
  snprintf(file, sizeof file, "%s/%s", cg, limit_file);
  FILE *f = fopen(file, "w");
  ck_assert_msg(f != NULL, "%s: %s", file, strerror(errno));
  fputs(limit, f);
  ck_assert_int_eq(fclose(f), 0);
  snprintf(wrapper, sizeof wrapper, "/tmp/shmbuf-cgroup-%d.sh", (int)getpid());
  const char *bin = getenv("SHMBUFD") ? getenv("SHMBUFD") : "./shmbufd";
  snprintf(cmd, sizeof cmd, "#!/bin/sh\necho $$ > %s/cgroup.procs && exec %s \"$@\"\n", cg, bin);
  f = fopen(wrapper, "w");
  ck_assert_ptr_nonnull(f);
  fputs(cmd, f);
  fclose(f);
  chmod(wrapper, 0755);
  setenv("SHMBUFD", wrapper, 1);
  sbt_start(&D, args);
  unlink(wrapper);
  setenv("SHMBUFD", bin, 1);
}

/* After exhaustion: giving memory back makes room again, on the same connection. */
static void assert_serving_after_release(shmbuf_client *c, shmbuf_buf **bufs, int n) {
  for (int i = 0; i < n; i++)
    shmbuf_release(bufs[i]);
  shmbuf_buf *b;
  ck_assert_int_eq(shmbuf_alloc(c, 256 << 10, &b), 0);
  shmbuf_release(b);
  assert_serving();
}

/* Allocates `size`-byte buffers of one kind until a request fails; returns how many worked
 * and checks the failure. Every byte handed out is then written: none may SIGBUS. */
static int fill_up(shmbuf_client *c, int64_t size, bool dedicated, int errnum, shmbuf_buf **bufs,
                   int max) {
  int n = 0, rc = 0;
  while (n < max && (rc = dedicated ? shmbuf_alloc(c, size, &bufs[n])
                                    : shmbuf_alloc_unsafe(c, size, &bufs[n])) == 0)
    n++;
  ck_assert_int_eq(rc, errnum);
  ck_assert_str_eq(shmbuf_error_code(), "ERR_MEMORY_ALLOCATION_FAILED");
  for (int i = 0; i < n; i++)
    memset(shmbuf_data(bufs[i]), 0x5a, shmbuf_length(bufs[i]));
  return n;
}

/* memfd memory is bounded by no filesystem: only the daemon's own cap keeps it below what the
 * kernel will give (past a cgroup's limit the kernel kills rather than fails). The cap
 * derives from the cgroup's limit, and filling up to it is an error, never a kill or a SIGBUS. */
START_TEST(memory_cap_follows_the_cgroup_limit) {
  static shmbuf_buf *bufs[512];
  char cg[PATH_MAX];
  start_in_memory_cgroup("268435456", (const char *const[]){"--connection-max-bytes", "0",
                                                             "--user-max-bytes", "0",
                                                             "--warm-bytes", "0", NULL},
                         cg, sizeof cg);
  ck_assert_uint_eq(sbt_stat(&D, "max_memory_bytes"), 128u << 20); /* half of 256 MiB */
  shmbuf_client *c;
  ck_assert_int_eq(shmbuf_connect(D.sock, &c), 0);
  int n = fill_up(c, 1 << 20, true, -ENOMEM, bufs, 512);
  ck_assert_str_eq(shmbuf_error_message(),
                   "Array buffer allocation failed: the daemon's memory limit is reached");
  printf("# in a cgroup of 256 MiB: %d buffers of 1 MiB, then ENOMEM; every byte written\n", n);
  ck_assert_int_ge(n, 120);
  ck_assert_int_le(n, 128);
  assert_serving_after_release(c, bufs, n);
  shmbuf_close(c);
  ck_assert_uint_eq(sbt_stat_wait(&D, "reserved_bytes", 0, 2000), 0);
  sbt_stop(&D);
  ck_assert_int_eq(rmdir(cg), 0);
}
END_TEST

/* ---- one client never hurts another ----------------------------------------------------------- */

/* Pipelines n x (allocUnsafeSlow(size) + release of it) on fd, without reading a reply, until
 * the daemon stops reading. Each allocation over 2 MiB makes a slab, and so an fd to send. */
static void churn_slabs_unread(int fd, int n, int64_t size) {
  req r;
  sb_bytes out = {0};
  for (int i = 0; i < n; i++) {
    frame(&out, req_sized(&r, 10 + 2 * (uint64_t)i, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, size));
    frame(&out, req_release(&r, 11 + 2 * (uint64_t)i, req_predicted_id(0, (uint64_t)i + 1)));
  }
  sbt_send_until_stalled(fd, sb_bytes_head(&out), out.len, 1000);
  sb_bytes_free(&out);
}

/* Starts D as user nobody (so the kernel counts the fds it has in flight against its fd
 * limit, as it does for the shmbuf user under systemd), under `prlimit --nofile=N:N`. */
static void start_unprivileged(int nofile, const char *const *args) {
  char wrapper[256], cmd[512];
  snprintf(wrapper, sizeof wrapper, "/tmp/shmbuf-nobody-%d.sh", (int)getpid());
  const char *bin = getenv("SHMBUFD") ? getenv("SHMBUFD") : "./shmbufd";
  snprintf(cmd, sizeof cmd,
           "#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups "
           "prlimit --nofile=%d:%d %s \"$@\"\n", nofile, nofile, bin);
  FILE *f = fopen(wrapper, "w");
  ck_assert_ptr_nonnull(f);
  fputs(cmd, f);
  fclose(f);
  chmod(wrapper, 0755);
  snprintf(D.dir, sizeof D.dir, "/tmp/shmbuf-test-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(D.dir));
  chmod(D.dir, 0777);
  setenv("SHMBUFD", wrapper, 1);
  sbt_start(&D, args);
  unlink(wrapper);
  setenv("SHMBUFD", bin, 1);
}

START_TEST(fds_in_flight_are_bounded) {
  start_unprivileged(4096, (const char *const[]){"--socket-mode", "0666", NULL});
  int hog = greeted();
  churn_slabs_unread(hog, 3000, 3 << 20);
  usleep(1500000); /* the daemon did all it would for a peer that reads nothing */
  size_t got = 0;
  for (;;) {
    static uint8_t junk[1 << 16];
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(sizeof(int) * 253)];
    } ctl;
    struct iovec iov = {junk, sizeof junk};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                       .msg_controllen = sizeof ctl.buf};
    if (recvmsg(hog, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT) <= 0) /* what is in flight now */
      break;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
      for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++, got++) {
        int f;
        memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof f);
        close(f);
      }
  }
  printf("# a client that makes slabs and never reads was sent %zu fds meanwhile\n", got);
  ck_assert_uint_le(got, 64);
  assert_serving();
  close(hog);
  sbt_stop(&D);
}
END_TEST

/* A client pipelines makes and releases of slabs and reads nothing; run unprivileged, the
 * kernel refuses fds past the daemon's fd limit, so replies wait in the daemon with their fds
 * while the releases behind them destroy the slabs: those fds are let go at once (a
 * placeholder goes in their place), or each would keep a destroyed slab's memory alive,
 * uncounted. */
START_TEST(no_fd_is_held_for_a_destroyed_slab) {
  start_unprivileged(48, (const char *const[]){"--socket-mode", "0666", NULL});
  int hog = greeted();
  int before = sbt_count_fds_settled(D.pid);
  churn_slabs_unread(hog, 400, 3 << 20);
  usleep(500000); /* the daemon did all it would for a peer that reads nothing */
  int after = sbt_count_fds_settled(D.pid);
  /* the daemon pauses the peer wherever its turn ended: a slab made last may still be live,
   * its release behind the pause, with its own fd and the one queued for the peer */
  int live = (int)sbt_stat(&D, "slabs");
  printf("# the daemon's fds before and after 400 slabs made and destroyed unread: %d, %d "
         "(%d still live)\n", before, after, live);
  ck_assert_int_le(live, 1);
  ck_assert_int_le(after, before + 1 + 2 * live);
  close(hog);
  assert_serving();
  sbt_stop(&D);
}
END_TEST

/* The daemon runs out of fds for a client's new slabs: that request fails, with Node's code,
 * and the connection goes on; once slabs are given back, the next one is made. */
START_TEST(an_fd_that_cannot_be_made_fails_only_its_request) {
  start_unprivileged(40, (const char *const[]){"--socket-mode", "0666", "--connection-max-slabs",
                                               "0", "--user-max-slabs", "0", NULL});
  shmbuf_client *c;
  ck_assert_int_eq(shmbuf_connect_ex(D.sock, SHMBUF_THIN, &c), 0);
  shmbuf_buf *held[64];
  int n = 0, rc;
  while (n < 64 && (rc = shmbuf_alloc(c, 3 << 20, &held[n])) == 0) /* a slab, and an fd, each */
    n++;
  printf("# under an fd limit of 40 the daemon made %d slabs, then: %s\n", n,
         shmbuf_error_message());
  ck_assert_msg(rc == -EMFILE || rc == -ENFILE, "%s", shmbuf_err_name(rc));
  ck_assert_str_eq(shmbuf_error_code(), "ERR_MEMORY_ALLOCATION_FAILED");
  ck_assert_int_gt(n, 2);
  shmbuf_release(held[--n]);
  shmbuf_release(held[--n]);
  ck_assert_int_eq(shmbuf_alloc(c, 3 << 20, &held[n]), 0); /* on the same connection */
  n++;
  while (n > 0)
    shmbuf_release(held[--n]);
  shmbuf_close(c);
  sbt_stop(&D);
}
END_TEST

START_TEST(running_out_of_fds_closes_no_one_else) {
  start_unprivileged(96, (const char *const[]){"--socket-mode", "0666", NULL});
  shmbuf_client *victim;
  shmbuf_buf *canary, *more[40];
  ck_assert_int_eq(shmbuf_connect_ex(D.sock, SHMBUF_THIN, &victim), 0);
  ck_assert_int_eq(shmbuf_from_string(victim, "canary", SHMBUF_CSTR, NULL, &canary), 0);
  int hog = greeted();
  req r;
  for (uint64_t i = 0; i < 200; i++) { /* one slab at a time: each reply goes out with its fd */
    sb_bytes out = {0};
    frame(&out, req_sized(&r, 10 + 2 * i, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, 3 << 20));
    frame(&out, req_release(&r, 11 + 2 * i, req_predicted_id(0, i + 1)));
    if (send(hog, sb_bytes_head(&out), out.len, MSG_NOSIGNAL) < 0)
      i = 200; /* the daemon let the hog go: what matters is the victim */
    sb_bytes_free(&out);
    usleep(2000);
  }
  /* each dedicated 3 MiB is a slab of its own: the victim needs fds the hog may have taken */
  int made = 0, failed = 0;
  for (int i = 0; i < 40; i++) {
    int rc = shmbuf_alloc(victim, 3 << 20, &more[made]);
    if (rc == 0) {
      made++;
      continue;
    }
    ck_assert_msg(rc != -ENOTCONN, "the victim lost its connection: %s", shmbuf_error_message());
    failed++;
  }
  printf("# beside a client hoarding slab fds, %d of 40 new slabs were made, %d refused\n", made,
         failed);
  ck_assert_int_gt(made, 0);
  char *text;
  ck_assert_int_eq(shmbuf_to_string(canary, NULL, SHMBUF_UNDEFINED, SHMBUF_UNDEFINED, &text, NULL),
                   0);
  ck_assert_str_eq(text, "canary");
  shmbuf_free(text);
  shmbuf_stats *k;
  ck_assert_int_eq(shmbuf_stats_get(victim, &k), 0); /* still connected */
  shmbuf_stats_free(k);
  shmbuf_close(victim);
  close(hog);
  sbt_stop(&D);
}
END_TEST

/* Frames that can be read from fd right now, without waiting (each is dropped). */
static int replies_waiting(int fd) {
  int n = 0;
  Shmbufwire__Reply *r;
  while ((r = sbt_recv_within(fd, NULL, NULL, 0)) != NULL) {
    shmbufwire__reply__free_unpacked(r, NULL);
    n++;
  }
  return n;
}

START_TEST(big_copies_do_not_stall_others) {
  start_with((const char *const[]){"--connection-max-bytes", "0", NULL});
  int a = greeted();
  req r;
  Shmbufwire__Reply *src =
      sbt_call(a, req_sized(&r, 2, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, 256 << 20), NULL, NULL);
  ck_assert_int_eq(src->result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER);
  uint64_t src_id = src->buffer->buffer;
  shmbufwire__reply__free_unpacked(src, NULL);
  sb_bytes out = {0};
  for (uint64_t i = 0; i < 30; i++) { /* 30 copies of 256 MiB, each released after */
    frame(&out, req_from_buffer(&r, 10 + 2 * i, src_id));
    frame(&out, req_release(&r, 11 + 2 * i, req_predicted_id(1, i + 1)));
  }
  sbt_write(a, sb_bytes_head(&out), out.len);
  sb_bytes_free(&out);
  Shmbufwire__Reply *first = sbt_recv(a, NULL, NULL, 20000); /* the first copy is done */
  ck_assert_ptr_nonnull(first);
  ck_assert_int_eq(first->result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER);
  shmbufwire__reply__free_unpacked(first, NULL);
  int b = greeted();
  Shmbufwire__Reply *st = sbt_call(b, req_stats(&r, 2), NULL, NULL);
  ck_assert_int_eq(st->result_case, SHMBUFWIRE__REPLY__RESULT_STATS);
  shmbufwire__reply__free_unpacked(st, NULL);
  Shmbufwire__Reply *small = sbt_call(b, req_sized(&r, 3, SHMBUFWIRE__REQUEST__OP_ALLOC, 64), NULL, NULL);
  ck_assert_int_eq(small->result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER);
  shmbufwire__reply__free_unpacked(small, NULL);
  /* by now A may have its first release answered and its second copy, not more */
  int done = replies_waiting(a);
  printf("# replies A had when B was answered twice: 1 + %d of 60\n", done);
  ck_assert_int_le(done, 2);
  close(a);
  close(b);
  sbt_stop(&D);
}
END_TEST

/* requests_total in a stats reply, which it frees. */
static uint64_t requests_total_in(Shmbufwire__Reply *st) {
  ck_assert_ptr_nonnull(st);
  ck_assert_int_eq(st->result_case, SHMBUFWIRE__REPLY__RESULT_STATS);
  uint64_t v = UINT64_MAX;
  for (size_t i = 0; i < st->stats->n_counters; i++)
    if (strcmp(st->stats->counters[i]->name, "requests_total") == 0)
      v = st->stats->counters[i]->value;
  shmbufwire__reply__free_unpacked(st, NULL);
  ck_assert_uint_ne(v, UINT64_MAX);
  return v;
}

/* A's frames make memory the daemon must clear (each 2 MiB buffer reuses what the one before
 * it released). With the daemon stopped, A sends them all (send_a) and then B asks for the
 * counters, so that both wait at once, A first; the daemon goes on. Whatever the machine's
 * scheduling, B's answer says how many of A's requests the daemon handled before it: a
 * turn's worth, not all of them, however small A's frames are. */
static void b_is_answered_while_a_makes(void (*send_a)(int a), int a_requests) {
  int a = greeted(), b = greeted();
  req q;
  uint64_t before = requests_total_in(sbt_call(b, req_stats(&q, 2), NULL, NULL));
  ck_assert_int_eq(kill(D.pid, SIGSTOP), 0);
  send_a(a);
  sb_bytes out = {0};
  frame(&out, req_stats(&q, 3));
  sbt_write(b, sb_bytes_head(&out), out.len);
  sb_bytes_free(&out);
  usleep(50000); /* both are in the daemon's sockets before it runs again */
  ck_assert_int_eq(kill(D.pid, SIGCONT), 0);
  /* what was handled before B's second stats, B's first one aside */
  uint64_t handled = requests_total_in(sbt_recv(b, NULL, NULL, 20000)) - before - 1;
  printf("# A's requests handled before B's were: %llu of %d\n", (unsigned long long)handled,
         a_requests);
  ck_assert_uint_le(handled, 16);
  close(a);
  close(b);
}

/* 64 pipelined alloc(2 MiB) + release: 128 MiB to clear in frames of a few bytes. */
static void small_requests_for_big_buffers(int a) {
  req r;
  sb_bytes out = {0};
  for (uint64_t i = 0; i < 64; i++) {
    frame(&out, req_sized(&r, 10 + 2 * i, SHMBUFWIRE__REQUEST__OP_ALLOC, 2 << 20));
    frame(&out, req_release(&r, 11 + 2 * i, req_predicted_id(0, i + 1)));
  }
  sbt_write(a, sb_bytes_head(&out), out.len);
  sb_bytes_free(&out);
}

/* The bytes a turn serves a connection count what its requests make, not only what they
 * weigh. */
START_TEST(small_requests_for_big_buffers_do_not_stall_others) {
  start_with((const char *const[]){NULL});
  b_is_answered_while_a_makes(small_requests_for_big_buffers, 128);
  sbt_stop(&D);
}
END_TEST

/* 32 batches of 4 leases of 2 MiB, each releasing the 4 before them, in one write. */
static void batches_of_big_buffers(int a) {
  const uint64_t two = 2 << 20;
  sb_bytes out = {0};
  for (uint64_t g = 1; g <= 32; g++) {
    uint64_t words[3 + 4 + 4] = {10 + 4 * (g - 1), SHMBUFWIRE__REQUEST__OP_LEASE, 4,
                                 two, two, two, two};
    for (uint64_t k = 0; k < 4; k++)
      words[7 + k] = req_predicted_id(k, g - 1);
    Shmbufwire__Batch b = SHMBUFWIRE__BATCH__INIT;
    b.words = words;
    b.n_words = g > 1 ? 11 : 7;
    ck_assert_int_eq(sb_frame_append_batch(&out, &b.base, UINT32_MAX), 0);
  }
  sbt_write(a, sb_bytes_head(&out), out.len);
  sb_bytes_free(&out);
}

/* The same through batches: the creations of one batch may add up to 8 MiB, and they count
 * against the turn like requests. */
START_TEST(batches_of_big_buffers_do_not_stall_others) {
  start_with((const char *const[]){NULL});
  b_is_answered_while_a_makes(batches_of_big_buffers, 32 * 8 - 4);
  sbt_stop(&D);
}
END_TEST

/* More than 8 MiB of creations in one batch is not a valid batch. */
START_TEST(a_batch_makes_at_most_8_mib) {
  int fd = greeted();
  const int64_t two = 2 << 20;
  send_batch(fd, 10, SHMBUFWIRE__REQUEST__OP_LEASE, (int64_t[]){two, two, two, two}, 4, NULL, 0);
  Shmbufwire__Made *m = recv_made(fd, 10, 4, NULL, NULL);
  shmbufwire__made__free_unpacked(m, NULL);
  send_batch(fd, 14, SHMBUFWIRE__REQUEST__OP_ALLOC, (int64_t[]){two, two, two, two, 1}, 5, NULL, 0);
  assert_notice_then_close(fd, -EPROTO);
}
END_TEST

START_TEST(a_slow_reader_is_not_timed_out) {
  start_with((const char *const[]){"--frame-timeout", "300ms", NULL});
  int fd = greeted();
  req r;
  sb_bytes out = {0};
  uint64_t n = 40000;
  for (uint64_t i = 0; i < n; i++)
    frame(&out, req_stats(&r, 10 + i));
  /* every byte goes out, but the daemon pauses: its replies are not read */
  size_t sent = sbt_send_until_stalled(fd, sb_bytes_head(&out), out.len, 1500);
  ck_assert_uint_lt(sent, out.len);
  uint64_t answered = 0;
  size_t off = sent; /* then read slowly, and send the rest as the daemon takes it */
  while (answered < n) {
    Shmbufwire__Reply *rep = sbt_recv(fd, NULL, NULL, 3000);
    ck_assert_msg(rep != NULL, "closed after %llu of %llu replies", (unsigned long long)answered,
                  (unsigned long long)n);
    ck_assert_uint_eq(rep->id, 10 + answered);
    shmbufwire__reply__free_unpacked(rep, NULL);
    answered++;
    if (off < out.len && answered % 1000 == 0)
      off += sbt_send_until_stalled(fd, sb_bytes_head(&out) + off, out.len - off, 10);
  }
  sb_bytes_free(&out);
  close(fd);
  sbt_stop(&D);
}
END_TEST

START_TEST(input_memory_is_bounded) {
  start_with(NULL);
  uint64_t before = sbt_proc_kib(D.pid, "VmRSS");
  enum { CONNS = 40 };
  int fds[CONNS];
  static uint8_t chunk[4 << 20];
  for (int i = 0; i < CONNS; i++) { /* half of a 16 MiB frame each, never finished */
    fds[i] = greeted();
    uint8_t header[4] = {1, 0, 0, 0};
    sbt_write(fds[i], header, 4);
    sbt_send_until_stalled(fds[i], chunk, sizeof chunk, 200);
  }
  uint64_t grown = sbt_proc_kib(D.pid, "VmRSS") - before, held = sbt_stat(&D, "input_bytes");
  printf("# %d half-sent 16 MiB frames: they hold %llu KiB, the daemon grew by %llu KiB\n", CONNS,
         (unsigned long long)held >> 10, (unsigned long long)grown);
  ck_assert_uint_le(held, (64u << 20) + CONNS * (64u << 10)); /* the budget, and 64 KiB each */
  ck_assert_uint_lt(grown, 128u << 10); /* ASan's own bookkeeping included */
  assert_serving();
  for (int i = 0; i < CONNS; i++)
    close(fds[i]);
  sbt_stop(&D);
}
END_TEST

/* One user fills the input budget with frames it never finishes; another user's big request
 * goes through at once (not after the first user's frames time out), and all of them hold at
 * most twice the budget. */
START_TEST(one_users_half_frames_hold_up_no_other_user) {
  start_with((const char *const[]){"--socket-mode", "0666", "--input-budget", "8M", NULL});
  chmod(D.dir, 0755);
  enum { CONNS = 8 };
  int ready[2];
  ck_assert_int_eq(pipe(ready), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) { /* user nobody: half of a 4 MiB frame on each connection, and no more */
    if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
        setresuid(65534, 65534, 65534) < 0)
      _exit(10);
    static uint8_t half[2 << 20];
    for (int i = 0; i < CONNS; i++) {
      int fd = sbt_connect(&D);
      sbt_hello(fd);
      static const uint8_t header[4] = {0, 0x40, 0, 0};
      sbt_write(fd, header, sizeof header);
      sbt_send_until_stalled(fd, half, sizeof half, 200);
    }
    if (write(ready[1], "", 1) != 1)
      _exit(12);
    pause();
    _exit(0);
  }
  char go;
  ck_assert_int_eq(read(ready[0], &go, 1), 1);
  uint64_t held = sbt_stat(&D, "input_bytes");
  int fd = greeted();
  static char big[1 << 20];
  memset(big, 'x', sizeof big - 1);
  req r;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  sbt_send(fd, req_from_utf8(&r, 2, big, NULL)); /* blocks while the daemon does not read it */
  Shmbufwire__Reply *rep = sbt_recv(fd, NULL, NULL, 15000);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
  uint64_t peak = sbt_stat(&D, "input_bytes");
  printf("# another user's half frames hold %llu KiB of an 8 MiB budget: a 1 MiB request took "
         "%.0f ms\n", (unsigned long long)held >> 10, ms);
  ck_assert_uint_gt(held + (1u << 20), 8u << 20); /* the request did not fit in the budget */
  ck_assert_ptr_nonnull(rep);
  ck_assert_int_eq(rep->result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER);
  shmbufwire__reply__free_unpacked(rep, NULL);
  ck_assert_msg(ms < 5000, "held up for %.0f ms, until the other user's frames timed out", ms);
  ck_assert_uint_le(peak, (16u << 20) + (CONNS + 2) * (64u << 10));
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  close(fd);
  close(ready[0]);
  close(ready[1]);
  sbt_stop(&D);
}
END_TEST

START_TEST(decoding_is_bounded) {
  start_with(NULL);
  uint64_t before = sbt_proc_kib(D.pid, "VmHWM");
  size_t len = (16u << 20) - 16; /* a request of nothing but 2-byte unknown fields */
  uint8_t *f = malloc(len + 4);
  f[0] = (uint8_t)(len >> 24), f[1] = (uint8_t)(len >> 16), f[2] = (uint8_t)(len >> 8);
  f[3] = (uint8_t)len;
  for (size_t i = 0; i < len; i += 2) {
    f[4 + i] = 15 << 3; /* field 15, varint */
    f[5 + i] = 0;
  }
  int fd = greeted();
  sbt_write(fd, f, len + 4);
  free(f);
  Shmbufwire__Reply *rep = sbt_recv(fd, NULL, NULL, 10000);
  ck_assert_ptr_nonnull(rep);
  ck_assert_int_eq(rep->result_case, SHMBUFWIRE__REPLY__RESULT_ERROR);
  ck_assert_str_eq(rep->error->code, "ERR_SHMBUF_PROTOCOL");
  shmbufwire__reply__free_unpacked(rep, NULL);
  uint64_t grown = sbt_proc_kib(D.pid, "VmHWM") - before;
  printf("# a 16 MiB request of unknown fields: peak grew by %llu KiB\n", (unsigned long long)grown);
  ck_assert_uint_lt(grown, 192u << 10); /* a frame, the decoder's cap, and ASan's shadow */
  close(fd);
  assert_serving();
  sbt_stop(&D);
}
END_TEST

START_TEST(bookkeeping_is_charged) {
  start_with((const char *const[]){"--connection-max-bytes", "1M", NULL});
  int fd = greeted();
  req r;
  enum { N = 100000, BATCH = 1000 };
  uint64_t made = 0, refused = 0;
  for (uint64_t i = 0; i < N; i += BATCH) { /* alloc(0) x N, pipelined a batch at a time */
    sb_bytes out = {0};
    for (uint64_t k = i; k < i + BATCH; k++)
      frame(&out, req_sized(&r, 10 + k, SHMBUFWIRE__REQUEST__OP_ALLOC, 0));
    sbt_write(fd, sb_bytes_head(&out), out.len);
    sb_bytes_free(&out);
    for (uint64_t k = 0; k < BATCH; k++) {
      Shmbufwire__Reply *rep = sbt_recv(fd, NULL, NULL, 5000);
      ck_assert_ptr_nonnull(rep);
      if (rep->result_case == SHMBUFWIRE__REPLY__RESULT_BUFFER)
        made++;
      else {
        ck_assert_int_eq(rep->error->errnum, -EDQUOT);
        refused++;
      }
      shmbufwire__reply__free_unpacked(rep, NULL);
    }
  }
  printf("# empty buffers one connection could hold under a 1 MiB limit: %llu\n",
         (unsigned long long)made);
  ck_assert_uint_gt(refused, 0);
  ck_assert_uint_lt(made, 40000);
  ck_assert_uint_gt(sbt_stat(&D, "metadata_bytes"), 0);
  close(fd);
  ck_assert_uint_eq(sbt_stat_wait(&D, "metadata_bytes", 0, 2000), 0);
  sbt_stop(&D);
}
END_TEST

START_TEST(silent_connections_end) {
  start_with((const char *const[]){"--handshake-timeout", "300ms", NULL});
  int mute = sbt_connect(&D);
  ck_assert(sbt_closed_by_peer(mute, 3000));
  close(mute);
  assert_serving();
  sbt_stop(&D);
}
END_TEST

START_TEST(idle_connections_holding_nothing_end) {
  start_with((const char *const[]){"--idle-timeout", "400ms", NULL});
  int idle = greeted(), holder = greeted();
  req r;
  Shmbufwire__Reply *rep = sbt_call(holder, req_sized(&r, 2, SHMBUFWIRE__REQUEST__OP_ALLOC, 8), NULL, NULL);
  ck_assert_int_eq(rep->result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER);
  shmbufwire__reply__free_unpacked(rep, NULL);
  ck_assert(sbt_closed_by_peer(idle, 3000));
  struct pollfd p = {holder, POLLIN, 0};
  ck_assert_int_eq(poll(&p, 1, 1200), 0); /* one that holds a buffer stays */
  close(idle);
  close(holder);
  sbt_stop(&D);
}
END_TEST

START_TEST(connections_per_user_are_capped) {
  start_with((const char *const[]){"--socket-mode", "0666", "--max-connections-per-user", "3",
                                   NULL});
  chmod(D.dir, 0755);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
        setresuid(65534, 65534, 65534) < 0)
      _exit(10);
    int fds[4];
    for (int i = 0; i < 4; i++) {
      fds[i] = socket(AF_UNIX, SOCK_STREAM, 0);
      struct sockaddr_un a = {.sun_family = AF_UNIX};
      snprintf(a.sun_path, sizeof a.sun_path, "%.100s", D.sock);
      if (connect(fds[i], (struct sockaddr *)&a, sizeof a) < 0)
        _exit(11);
      req r;
      sb_bytes out = {0};
      frame(&out, req_hello(&r, 1, SB_PROTOCOL_VERSION));
      send(fds[i], sb_bytes_head(&out), out.len, MSG_NOSIGNAL); /* a refused one may be gone */
      sb_bytes_free(&out);
      Shmbufwire__Reply *rep = sbt_recv(fds[i], NULL, NULL, 3000);
      bool welcomed = rep && rep->result_case == SHMBUFWIRE__REPLY__RESULT_WELCOME;
      bool refused = rep && rep->id == 0 && rep->result_case == SHMBUFWIRE__REPLY__RESULT_ERROR &&
                     strcmp(rep->error->code, "ERR_SHMBUF_LIMIT") == 0;
      if (rep)
        shmbufwire__reply__free_unpacked(rep, NULL);
      if (i < 3 && !welcomed)
        _exit(12 + i);
      if (i == 3 && !(refused && sbt_closed_by_peer(fds[i], 2000)))
        _exit(20);
    }
    _exit(0);
  }
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_int_eq(WEXITSTATUS(status), 0);
  assert_serving(); /* another user still gets in */
  sbt_stop(&D);
}
END_TEST

START_TEST(reload_keeps_the_welcome_promise) {
  char conf[256];
  snprintf(conf, sizeof conf, "/tmp/shmbuf-reload-%d.conf", (int)getpid());
  FILE *f = fopen(conf, "w");
  ck_assert_ptr_nonnull(f);
  fputs("max_frame = 1M\n", f);
  fclose(f);
  start_with((const char *const[]){"--config", conf, NULL});
  int old = greeted(); /* welcomed with 1 MiB */
  f = fopen(conf, "w");
  fputs("max_frame = 64K\n", f);
  fclose(f);
  kill(D.pid, SIGHUP);
  int fresh = -1;
  for (int i = 0; i < 100; i++) { /* until new connections are told 64 KiB */
    fresh = sbt_connect(&D);
    req r;
    sbt_send(fresh, req_hello(&r, 1, SB_PROTOCOL_VERSION));
    Shmbufwire__Reply *w = sbt_recv(fresh, NULL, NULL, 2000);
    bool now = w->welcome->max_frame == 64u << 10;
    shmbufwire__reply__free_unpacked(w, NULL);
    if (now)
      break;
    close(fresh);
    fresh = -1;
    usleep(20000);
  }
  ck_assert_int_ge(fresh, 0);
  static char big[100 << 10];
  memset(big, 'x', sizeof big - 1);
  req r;
  Shmbufwire__Reply *rep = sbt_call(old, req_from_utf8(&r, 2, big, NULL), NULL, NULL);
  ck_assert_int_eq(rep->result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER); /* its promise holds */
  shmbufwire__reply__free_unpacked(rep, NULL);
  sbt_send(fresh, req_from_utf8(&r, 2, big, NULL));
  rep = sbt_recv(fresh, NULL, NULL, 2000);
  ck_assert_ptr_nonnull(rep);
  assert_error(rep, "ERR_SHMBUF_PROTOCOL", -EMSGSIZE, NULL);
  close(old);
  close(fresh);
  unlink(conf);
  sbt_stop(&D);
}
END_TEST

START_TEST(a_successors_socket_is_left_alone) {
  start_with(NULL);
  ck_assert_int_eq(unlink(D.sock), 0); /* someone removed it, and a successor bound the path */
  sbt_daemon next = D;
  next.pid = 0;
  sbt_start(&next, NULL);
  kill(D.pid, SIGTERM); /* the first one stops: the path is not its socket any more */
  ck_assert_int_eq(sbt_wait(D.pid, 5000), 0);
  D.pid = 0;
  int fd = sbt_connect(&next);
  sbt_hello(fd);
  close(fd);
  sbt_stop(&next);
}
END_TEST

/* ---- what a client can do to the memory it maps ---------------------------------------------- */

START_TEST(slabs_cannot_grow_or_shrink) {
  int fd = greeted();
  req r;
  int fds[4];
  size_t nfds = 0;
  Shmbufwire__Reply *rep = sbt_call(fd, req_sized(&r, 2, SHMBUFWIRE__REQUEST__OP_ALLOC, 100), fds, &nfds);
  ck_assert_uint_eq(nfds, 1);
  uint64_t size = rep->buffer->slab_size;
  shmbufwire__reply__free_unpacked(rep, NULL);
  ck_assert_int_eq(ftruncate(fds[0], (off_t)size * 2), -1);
  ck_assert_int_eq(ftruncate(fds[0], 0), -1);
  ck_assert_int_eq(fallocate(fds[0], 0, (off_t)size, 4096), -1);
  struct stat st;
  ck_assert_int_eq(fstat(fds[0], &st), 0);
  ck_assert_uint_eq((uint64_t)st.st_size, size);
  close(fds[0]);
  close(fd);
}
END_TEST

/* Memory a client takes in its slab's holes, never handed out, by writing it through a
 * mapping (_i 0), by fallocate() on its fd (_i 1), or only by reading it (_i 2: a debugger, a
 * core dump, a forked child's leak check): the kernel's st_blocks count it every way, and so
 * does the daemon, which then punches it out again; the connection and its buffers stay. */
START_TEST(memory_not_given_is_charged_and_taken_back) {
  int fd = greeted();
  req r;
  int fds[4];
  size_t nfds = 0;
  Shmbufwire__Reply *rep = sbt_call(fd, req_from_utf8(&r, 2, "kept", NULL), fds, &nfds);
  ck_assert_uint_eq(nfds, 1);
  uint64_t size = rep->buffer->slab_size, at = rep->buffer->ab_offset + rep->buffer->byte_offset;
  shmbufwire__reply__free_unpacked(rep, NULL);
  uint8_t *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
  ck_assert_ptr_ne(m, MAP_FAILED);
  volatile uint8_t sum = 0;
  if (_i == 0) {
    for (uint64_t i = 0; i < size; i += 4096) /* every hole of the slab, never handed out */
      if (i / 16384 != at / 16384)
        m[i] = 1;
  } else if (_i == 1)
    ck_assert_int_eq(fallocate(fds[0], 0, 0, (off_t)size), 0); /* within the sealed size */
  else
    for (uint64_t i = 0; i < size; i += 4096)
      sum += m[i];
  (void)sum;
  ck_assert_uint_ge(sbt_stat(&D, "resident_bytes"), size - 65536);
  /* the daemon takes back what nobody was given, within a few sweeps */
  uint64_t resident = 0, reserved = 1;
  for (int waited = 0; waited < 5000; waited += 50) {
    resident = sbt_stat(&D, "resident_bytes");
    reserved = sbt_stat(&D, "reserved_bytes");
    if (resident <= reserved)
      break;
    usleep(50 * 1000);
  }
  ck_assert_msg(resident <= reserved, "resident %llu, reserved %llu", (unsigned long long)resident,
                (unsigned long long)reserved);
  /* what it was given is as it was, the holes read as zeros again, and it is still served */
  ck_assert_int_eq(memcmp(m + at, "kept", 4), 0);
  ck_assert_uint_eq(m[at < 16384 ? size - 4096 : 0], 0);
  ck_assert(!sbt_closed_by_peer(fd, 100));
  rep = sbt_call(fd, req_from_utf8(&r, 3, "more", NULL), NULL, NULL);
  ck_assert_int_eq(rep->result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER);
  shmbufwire__reply__free_unpacked(rep, NULL);
  munmap(m, size);
  close(fds[0]);
  close(fd);
  ck_assert_uint_eq(sbt_stat_wait(&D, "resident_bytes", 0, 2000), 0);
}
END_TEST

START_TEST(o_append_on_a_slab_fd_changes_nothing) {
  int fd = greeted();
  req r;
  int fds[4];
  size_t nfds = 0;
  Shmbufwire__Reply *rep = sbt_call(fd, req_from_utf8(&r, 2, "first", NULL), fds, &nfds);
  ck_assert_uint_eq(nfds, 1);
  uint64_t size = rep->buffer->slab_size;
  shmbufwire__reply__free_unpacked(rep, NULL);
  ck_assert_int_eq(fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_APPEND), 0);
  rep = sbt_call(fd, req_from_utf8(&r, 3, "second", NULL), NULL, NULL);
  ck_assert_int_eq(rep->result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER);
  uint8_t *m = mmap(NULL, size, PROT_READ, MAP_SHARED, fds[0], 0);
  ck_assert_ptr_ne(m, MAP_FAILED);
  ck_assert_int_eq(memcmp(m + rep->buffer->ab_offset + rep->buffer->byte_offset, "second", 6), 0);
  munmap(m, size);
  shmbufwire__reply__free_unpacked(rep, NULL);
  close(fds[0]);
  close(fd);
}
END_TEST

/* Whether [p, p + n) is well-formed UTF-8, as protobuf requires of a string. */
static bool utf8_valid(const char *p, size_t n) {
  const uint8_t *s = (const uint8_t *)p;
  for (size_t i = 0; i < n;) {
    uint8_t c = s[i];
    size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (k == 0 || i + k > n)
      return false;
    for (size_t j = 1; j < k; j++)
      if ((s[i + j] & 0xc0) != 0x80)
        return false;
    i += k;
  }
  return true;
}

START_TEST(unknown_encoding_names_come_back_whole) {
  int fd = greeted();
  char name[2001] = "";
  for (int i = 0; i < 1000; i++)
    strcat(name, "\xc3\xa9"); /* é: a cut could split one */
  req r;
  Shmbufwire__Reply *rep = sbt_call(fd, req_from_utf8(&r, 2, "ab", name), NULL, NULL);
  ck_assert_int_eq(rep->result_case, SHMBUFWIRE__REPLY__RESULT_ERROR);
  ck_assert_str_eq(rep->error->code, "ERR_UNKNOWN_ENCODING");
  ck_assert(utf8_valid(rep->error->message, strlen(rep->error->message)));
  char want[2100];
  snprintf(want, sizeof want, "Unknown encoding: %s", name);
  ck_assert_str_eq(rep->error->message, want);
  shmbufwire__reply__free_unpacked(rep, NULL);
  close(fd);
}
END_TEST

START_TEST(encoding_names_with_nul_are_unknown) {
  int fd = greeted();
  /* From{utf8 "ab", encoding "utf8\0x"}, by hand: protobuf-c's strings stop at a NUL */
  static const uint8_t payload[] = {0x08, 0x02, 0x32, 0x0c, 0x12, 0x02, 'a', 'b',
                                    0x32, 0x06, 'u',  't',  'f',  '8',  0,   'x'};
  uint8_t f[4 + sizeof payload] = {0, 0, 0, sizeof payload};
  memcpy(f + 4, payload, sizeof payload);
  sbt_write(fd, f, sizeof f);
  Shmbufwire__Reply *rep = sbt_recv(fd, NULL, NULL, 2000);
  ck_assert_ptr_nonnull(rep);
  ck_assert_int_eq(rep->result_case, SHMBUFWIRE__REPLY__RESULT_ERROR);
  ck_assert_str_eq(rep->error->code, "ERR_UNKNOWN_ENCODING");
  /* Node prints the whole name, NUL included; a C string stops at it */
  ck_assert_str_eq(rep->error->message, "Unknown encoding: utf8");
  shmbufwire__reply__free_unpacked(rep, NULL);
  close(fd);
}
END_TEST

START_TEST(startup_probe_does_not_hang) {
  char path[256], err[1024];
  snprintf(path, sizeof path, "%s/busy.sock", D.dir);
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%.100s", path);
  ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(listen(l, 0), 0);
  int queued[8]; /* a listener that never accepts, its backlog full */
  for (int i = 0; i < 8; i++) {
    queued[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(queued[i], (struct sockaddr *)&a, sizeof a);
  }
  const char *bin = getenv("SHMBUFD") ? getenv("SHMBUFD") : "./shmbufd";
  const char *argv[] = {bin, "--socket", path, "--config", "/dev/null", NULL};
  char log[256];
  snprintf(log, sizeof log, "%s/probe.log", D.dir);
  pid_t pid = sbt_spawn(argv, NULL, log);
  ck_assert_int_eq(sbt_wait(pid, 5000), 1);
  FILE *f = fopen(log, "r");
  size_t n = fread(err, 1, sizeof err - 1, f);
  err[n] = '\0';
  fclose(f);
  ck_assert_ptr_nonnull(strstr(err, "another shmbufd is already listening on"));
  for (int i = 0; i < 8; i++)
    close(queued[i]);
  close(l);
  unlink(path);
}
END_TEST

static Suite *server_suite(void) {
  Suite *s = suite_create("server");
  TCase *t = tcase_create("protocol");
  tcase_add_checked_fixture(t, up, down);
  tcase_set_timeout(t, 30);
  tcase_add_test(t, welcome_says_the_rules);
  tcase_add_test(t, hello_must_come_first);
  tcase_add_test(t, wrong_version_is_refused);
  tcase_add_test(t, oversized_length_prefix);
  tcase_add_test(t, just_over_the_limit);
  tcase_add_test(t, zero_length_frame);
  tcase_add_test(t, garbage_payload);
  tcase_add_test(t, garbage_before_hello);
  tcase_add_test(t, frame_cut_then_eof);
  tcase_add_test(t, wrong_message_type);
  tcase_add_test(t, unknown_fields_are_ignored);
  tcase_add_test(t, bad_sizes);
  tcase_add_test(t, release_checks_ids);
  tcase_add_test(t, batches_make_buffers_and_release_without_a_reply);
  tcase_add_test(t, batch_creations_fail_one_by_one);
  tcase_add_test(t, invalid_batches_end_the_connection);
  tcase_add_test(t, a_batch_before_hello_is_refused);
  tcase_add_test(t, a_batch_makes_at_most_8_mib);
  tcase_add_test(t, leased_regions_are_zero_filled);
  tcase_add_test(t, slabs_released_by_a_batch_retire_with_its_answer);
  tcase_add_test(t, slab_fd_comes_once);
  tcase_add_test(t, retired_slabs_are_told_once_each);
  tcase_add_test(t, pipelined_requests);
  tcase_add_test(t, punched_slab_hurts_only_its_owner);
  tcase_add_test(t, unread_replies_are_bounded);
  tcase_add_test(t, live_instance_is_refused);
  tcase_add_test(t, stale_socket_is_replaced);
  tcase_add_test(t, not_a_socket_is_left_alone);
  suite_add_tcase(s, t);
  t = tcase_create("limits"); /* each test starts its own daemon */
  tcase_set_timeout(t, 30);
  tcase_add_test(t, anyone_who_reaches_the_socket_gets_in);
  tcase_add_test(t, allow_lists_admit_by_credentials);
  tcase_add_test(t, connection_cap_waits_then_admits);
  tcase_add_test(t, half_frames_time_out);
  tcase_add_test(t, memory_cap_follows_the_cgroup_limit);
  suite_add_tcase(s, t);
  t = tcase_create("fairness"); /* hostile clients beside well-behaved ones */
  tcase_set_timeout(t, 60);
  tcase_add_test(t, fds_in_flight_are_bounded);
  tcase_add_test(t, no_fd_is_held_for_a_destroyed_slab);
  tcase_add_test(t, an_fd_that_cannot_be_made_fails_only_its_request);
  tcase_add_test(t, running_out_of_fds_closes_no_one_else);
  tcase_add_test(t, big_copies_do_not_stall_others);
  tcase_add_test(t, small_requests_for_big_buffers_do_not_stall_others);
  tcase_add_test(t, batches_of_big_buffers_do_not_stall_others);
  tcase_add_test(t, a_slow_reader_is_not_timed_out);
  tcase_add_test(t, input_memory_is_bounded);
  tcase_add_test(t, one_users_half_frames_hold_up_no_other_user);
  tcase_add_test(t, decoding_is_bounded);
  tcase_add_test(t, bookkeeping_is_charged);
  tcase_add_test(t, silent_connections_end);
  tcase_add_test(t, idle_connections_holding_nothing_end);
  tcase_add_test(t, connections_per_user_are_capped);
  tcase_add_test(t, reload_keeps_the_welcome_promise);
  tcase_add_test(t, a_successors_socket_is_left_alone);
  suite_add_tcase(s, t);
  t = tcase_create("kernel"); /* what a client can do to the memory it maps */
  tcase_add_checked_fixture(t, up, down);
  tcase_add_test(t, slabs_cannot_grow_or_shrink);
  tcase_add_loop_test(t, memory_not_given_is_charged_and_taken_back, 0, 3);
  tcase_add_test(t, o_append_on_a_slab_fd_changes_nothing);
  tcase_add_test(t, unknown_encoding_names_come_back_whole);
  tcase_add_test(t, encoding_names_with_nul_are_unknown);
  tcase_add_test(t, startup_probe_does_not_hang);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(server_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
