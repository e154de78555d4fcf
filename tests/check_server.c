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
#include <sys/un.h>
#include <sys/wait.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "harness.h"
#include "shmbuf.h"

static sbt_daemon D;

static void up(void) { sbt_start(&D, NULL); }
static void down(void) { sbt_stop(&D); }

/* ---- request builders ---------------------------------------------------------------------- */

typedef struct req {
  Shmbufwire__Request q;
  Shmbufwire__Size size;
  Shmbufwire__Alloc alloc;
  Shmbufwire__From from;
  Shmbufwire__Release release;
  Shmbufwire__Stats stats;
  Shmbufwire__Hello hello;
} req;

static Shmbufwire__Request *sized(req *r, uint64_t id, Shmbufwire__Request__OpCase op,
                                  int64_t size) {
  shmbufwire__request__init(&r->q);
  shmbufwire__size__init(&r->size);
  shmbufwire__alloc__init(&r->alloc);
  r->q.id = id;
  r->q.op_case = op;
  r->size.size = r->alloc.size = size;
  if (op == SHMBUFWIRE__REQUEST__OP_ALLOC)
    r->q.alloc = &r->alloc;
  else if (op == SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE)
    r->q.alloc_unsafe = &r->size;
  else
    r->q.alloc_unsafe_slow = &r->size;
  return &r->q;
}

static Shmbufwire__Request *from_utf8(req *r, uint64_t id, const char *s, const char *enc) {
  shmbufwire__request__init(&r->q);
  shmbufwire__from__init(&r->from);
  r->q.id = id;
  r->q.op_case = SHMBUFWIRE__REQUEST__OP_FROM;
  r->q.from = &r->from;
  r->from.source_case = SHMBUFWIRE__FROM__SOURCE_UTF8;
  r->from.utf8.data = (uint8_t *)s;
  r->from.utf8.len = strlen(s);
  r->from.encoding = (char *)enc;
  return &r->q;
}

static Shmbufwire__Request *release(req *r, uint64_t id, uint64_t buffer) {
  shmbufwire__request__init(&r->q);
  shmbufwire__release__init(&r->release);
  r->q.id = id;
  r->q.op_case = SHMBUFWIRE__REQUEST__OP_RELEASE;
  r->q.release = &r->release;
  r->release.buffer = buffer;
  return &r->q;
}

static Shmbufwire__Request *stats(req *r, uint64_t id) {
  shmbufwire__request__init(&r->q);
  shmbufwire__stats__init(&r->stats);
  r->q.id = id;
  r->q.op_case = SHMBUFWIRE__REQUEST__OP_STATS;
  r->q.stats = &r->stats;
  return &r->q;
}

static Shmbufwire__Request *hello(req *r, uint64_t id, uint32_t version) {
  shmbufwire__request__init(&r->q);
  shmbufwire__hello__init(&r->hello);
  r->hello.version = version;
  r->q.id = id;
  r->q.op_case = SHMBUFWIRE__REQUEST__OP_HELLO;
  r->q.hello = &r->hello;
  return &r->q;
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
  Shmbufwire__Reply *rep = sbt_call(fd, sized(&r, 2, SHMBUFWIRE__REQUEST__OP_ALLOC, 3), NULL, NULL);
  ck_assert_int_eq(rep->result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER);
  ck_assert_uint_eq(rep->buffer->length, 3);
  shmbufwire__reply__free_unpacked(rep, NULL);
  close(fd);
}

/* ---- handshake ------------------------------------------------------------------------------- */

START_TEST(welcome_says_the_rules) {
  int fd = sbt_connect(&D);
  req r;
  hello(&r, 7, SB_PROTOCOL_VERSION);
  Shmbufwire__Reply *w = sbt_call(fd, &r.q, NULL, NULL);
  ck_assert_int_eq(w->result_case, SHMBUFWIRE__REPLY__RESULT_WELCOME);
  ck_assert_uint_eq(w->welcome->pool_size, 8192);
  ck_assert_uint_eq(w->welcome->max_frame, 16u << 20);
  ck_assert_uint_eq(w->welcome->max_length, 4294967296ull);
  ck_assert_str_eq(w->welcome->server, "shmbufd " PACKAGE_VERSION);
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
  assert_error(sbt_call(fd, sized(&r, 5, SHMBUFWIRE__REQUEST__OP_ALLOC, 4), NULL, NULL),
               "ERR_SHMBUF_PROTOCOL", -EPROTO, "the first request must be hello");
  ck_assert(sbt_closed_by_peer(fd, 2000));
  close(fd);
  assert_serving();
}
END_TEST

START_TEST(wrong_version_is_refused) {
  int fd = sbt_connect(&D);
  req r;
  hello(&r, 1, 99);
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
  r = sbt_call(fd, stats(&q, 10), NULL, NULL);
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
  ck_assert_int_eq(sb_frame_append(&out, &sized(&r, 3, SHMBUFWIRE__REQUEST__OP_ALLOC, 2)->base,
                                   UINT32_MAX),
                   0);
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
  assert_error(sbt_call(fd, sized(&r, 2, SHMBUFWIRE__REQUEST__OP_ALLOC, -1), NULL, NULL),
               "ERR_OUT_OF_RANGE", -ERANGE,
               "The value of \"size\" is out of range. It must be >= 0 && <= 4294967296. "
               "Received -1");
  assert_error(sbt_call(fd, sized(&r, 3, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE, INT64_MAX), NULL,
                        NULL),
               "ERR_OUT_OF_RANGE", -ERANGE,
               "The value of \"size\" is out of range. It must be >= 0 && <= 4294967296. "
               "Received 9_223_372_036_854_776_000");
  assert_error(sbt_call(fd, sized(&r, 4, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, INT64_MIN),
                        NULL, NULL),
               "ERR_OUT_OF_RANGE", -ERANGE, NULL);
  Shmbufwire__Reply *rep = sbt_call(fd, sized(&r, 5, SHMBUFWIRE__REQUEST__OP_ALLOC, 0), NULL, NULL);
  ck_assert_int_eq(rep->result_case, SHMBUFWIRE__REPLY__RESULT_BUFFER);
  ck_assert_uint_eq(rep->buffer->length, 0);
  ck_assert_uint_eq(rep->buffer->ab_length, 0);
  ck_assert_uint_eq(rep->buffer->slab, 0);
  shmbufwire__reply__free_unpacked(rep, NULL);
  assert_error(sbt_call(fd, from_utf8(&r, 6, "abc", "utf9"), NULL, NULL), "ERR_UNKNOWN_ENCODING",
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
  Shmbufwire__Reply *rep = sbt_call(a, sized(&r, 2, SHMBUFWIRE__REQUEST__OP_ALLOC, 10), NULL, NULL);
  uint64_t id = rep->buffer->buffer;
  shmbufwire__reply__free_unpacked(rep, NULL);
  /* B cannot release A's buffer, nor a guessed one */
  assert_error(sbt_call(b, release(&r, 2, id), NULL, NULL), "ERR_INVALID_ARG_VALUE", -ENOENT, NULL);
  assert_error(sbt_call(b, release(&r, 3, 12345), NULL, NULL), "ERR_INVALID_ARG_VALUE", -ENOENT,
               NULL);
  assert_error(sbt_call(a, release(&r, 3, id + 1), NULL, NULL), "ERR_INVALID_ARG_VALUE", -ENOENT,
               NULL);
  rep = sbt_call(a, release(&r, 4, id), NULL, NULL);
  ck_assert_int_eq(rep->result_case, SHMBUFWIRE__REPLY__RESULT_RELEASED);
  shmbufwire__reply__free_unpacked(rep, NULL);
  /* twice is once too many, and the slot's next tenant does not answer to the old id */
  assert_error(sbt_call(a, release(&r, 5, id), NULL, NULL), "ERR_INVALID_ARG_VALUE", -ENOENT,
               NULL);
  rep = sbt_call(a, sized(&r, 6, SHMBUFWIRE__REQUEST__OP_ALLOC, 10), NULL, NULL);
  ck_assert_uint_ne(rep->buffer->buffer, id);
  shmbufwire__reply__free_unpacked(rep, NULL);
  assert_error(sbt_call(a, release(&r, 7, id), NULL, NULL), "ERR_INVALID_ARG_VALUE", -ENOENT, NULL);
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

START_TEST(slab_fd_comes_once) {
  int fd = greeted();
  req r;
  int fds[8];
  size_t nfds = 0;
  Shmbufwire__Reply *one = sbt_call(fd, from_utf8(&r, 2, "hello", NULL), fds, &nfds);
  ck_assert_uint_eq(nfds, 1);
  ck_assert_uint_gt(one->buffer->slab_size, 0);
  Shmbufwire__Reply *two = sbt_call(fd, from_utf8(&r, 3, "world", NULL), fds, &nfds);
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
  /* the object is private: mode 0600, and nothing of it is left in /dev/shm */
  struct stat st;
  ck_assert_int_eq(fstat(fds[0], &st), 0);
  ck_assert_uint_eq(st.st_mode & 0777, 0600);
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
    ck_assert_int_eq(sb_frame_append(&out, &sized(&r, 100 + i, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE,
                                                  16)->base,
                                     UINT32_MAX),
                     0);
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

START_TEST(truncated_slab_does_not_hurt) {
  int fd = greeted();
  req r;
  int fds[8];
  size_t nfds = 0;
  Shmbufwire__Reply *rep = sbt_call(fd, sized(&r, 2, SHMBUFWIRE__REQUEST__OP_ALLOC, 100), fds, &nfds);
  ck_assert_uint_eq(nfds, 1);
  shmbufwire__reply__free_unpacked(rep, NULL);
  ck_assert_int_eq(ftruncate(fds[0], 0), 0);
  /* the daemon writes through the fd, never a mapping, so it cannot fault */
  for (uint64_t i = 0; i < 200; i++) {
    Shmbufwire__Request *q = i % 3 == 0   ? from_utf8(&r, 10 + i, "after truncation", NULL)
                             : i % 3 == 1 ? sized(&r, 10 + i, SHMBUFWIRE__REQUEST__OP_ALLOC, 3000)
                                          : sized(&r, 10 + i, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE, 9);
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
    sb_frame_append(&out, &stats(&r, 10 + i)->base, UINT32_MAX);
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
    hello(&r, 1, SB_PROTOCOL_VERSION);
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
  hello(&r, 1, SB_PROTOCOL_VERSION);
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

/* Runs shmbufd in its own mount namespace whose /dev/shm is a tmpfs of `size`. */
static void start_in_small_shm(const char *size, const char *const *args) {
  char wrapper[256], cmd[1024];
  snprintf(wrapper, sizeof wrapper, "/tmp/shmbuf-small-shm-%d.sh", (int)getpid());
  const char *bin = getenv("SHMBUFD") ? getenv("SHMBUFD") : "./shmbufd";
  snprintf(cmd, sizeof cmd,
           "#!/bin/sh\nexec unshare -m sh -c 'mount -t tmpfs -o size=%s tmpfs /dev/shm && "
           "exec \"$0\" \"$@\"' %s \"$@\"\n",
           size, bin);
  FILE *f = fopen(wrapper, "w");
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

START_TEST(full_dev_shm_is_an_error_not_sigbus) {
  static shmbuf_buf *bufs[16384];
  start_in_small_shm("4m", (const char *const[]){"--max-memory", "1G", "--warm-bytes", "0",
                                                 NULL});
  shmbuf_client *c;
  ck_assert_int_eq(shmbuf_connect(D.sock, &c), 0);
  int big = fill_up(c, 256 << 10, true, -ENOSPC, bufs, 16384);
  ck_assert_str_eq(shmbuf_error_message(), "Array buffer allocation failed: /dev/shm is full");
  ck_assert_int_ge(big, 12); /* most of the 4 MiB was usable, and not more */
  ck_assert_int_le(big, 16);
  shmbuf_release(bufs[--big]); /* room for pools of small buffers */
  shmbuf_release(bufs[--big]);
  int small = fill_up(c, 100, false, -ENOSPC, bufs + big, 16384 - big);
  ck_assert_int_gt(small, 1000);
  printf("# /dev/shm of 4 MiB: %d+2 buffers of 256 KiB, then ENOSPC; two released, %d pooled "
         "ones of 100 bytes, then ENOSPC; every byte written, no SIGBUS\n", big, small);
  assert_serving_after_release(c, bufs, big + small);
  shmbuf_close(c);
  ck_assert_uint_eq(sbt_stat_wait(&D, "reserved_bytes", 0, 2000), 0);
  sbt_stop(&D);
}
END_TEST

START_TEST(default_cap_is_half_of_free_dev_shm) {
  static shmbuf_buf *bufs[64];
  start_in_small_shm("4m", NULL);
  ck_assert_uint_eq(sbt_stat(&D, "max_memory_bytes"), 2u << 20);
  shmbuf_client *c;
  ck_assert_int_eq(shmbuf_connect(D.sock, &c), 0);
  int n = fill_up(c, 256 << 10, true, -ENOMEM, bufs, 64);
  ck_assert_int_eq(n, 8);
  ck_assert_str_eq(shmbuf_error_message(),
                   "Array buffer allocation failed: the daemon's memory limit is reached");
  shmbuf_close(c);
  sbt_stop(&D);
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
  tcase_add_test(t, slab_fd_comes_once);
  tcase_add_test(t, pipelined_requests);
  tcase_add_test(t, truncated_slab_does_not_hurt);
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
  tcase_add_test(t, full_dev_shm_is_an_error_not_sigbus);
  tcase_add_test(t, default_cap_is_half_of_free_dev_shm);
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
