/* SPDX-License-Identifier: MIT */
/* What libshmbuf does with what a daemon says. Replies are settled in flight.c, which maps the
 * slabs they bring (slabs.c) and hands buffer replies to handle.c's checks; whatever a reply
 * says, the library must not crash or touch memory it was not given: the call fails with
 * -EPROTO, the connection is broken (later calls: -ENOTCONN), every view already handed out
 * stays mapped and readable, and no fd is left open once the client closes.
 *
 * The daemon here is a fake (tests/harness.h): a forked child speaking the real framing and
 * protobuf, answering honestly — each buffer in a slab of its own, a real shm object sent by
 * SCM_RIGHTS; a release retires the released buffer's slab — except for the one reply each
 * test tampers with. It takes batch frames when a test says so (its welcome tells), and then
 * answers each creation in a batch with a Made frame of its own (or a Reply, when the tamper
 * makes the answer something else than a buffer); a client then carves what it can itself,
 * out of a region it leases. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "harness.h"
#include "shmbuf.h"

#define SLAB_SIZE (64u << 10)
#define POOL_SIZE 8192u
#define SIZE 8192 /* what the tests ask for: as big as a pool, so that one tamper fits both */

/* One reply of the fake, ready to send, which a tamper function may change. */
typedef struct fake_reply {
  Shmbufwire__Reply r;
  Shmbufwire__Welcome welcome;
  Shmbufwire__Buffer buffer;
  Shmbufwire__Released released;
  Shmbufwire__Error error;
  uint32_t retired[4];
  int fds[2];
  size_t nfds;
  bool hang_up; /* close the connection instead of answering */
  bool as_made; /* a buffer in a Made frame, even for a request that was no batch's */
  unsigned made_copies; /* a Made describes the buffer this many times (0: once) */
  bool made_cut; /* ... and lacks its last word */
} fake_reply;

static bool batching; /* the fake takes batch frames: set before it forks */

/* Changes the honest answer to request number n (0 is hello). */
typedef void (*tamper_fn)(unsigned n, const Shmbufwire__Request *q, fake_reply *f);

static void honest(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  memset(f, 0, sizeof *f);
  shmbufwire__reply__init(&f->r);
  f->r.id = q->id;
  switch (q->op_case) {
  case SHMBUFWIRE__REQUEST__OP_HELLO:
    shmbufwire__welcome__init(&f->welcome);
    f->welcome.version = SB_PROTOCOL_VERSION;
    f->welcome.pool_size = POOL_SIZE;
    f->welcome.max_frame = 16u << 20;
    f->welcome.max_length = 1ull << 32;
    f->welcome.server = (char *)"fake shmbufd";
    f->welcome.batches = batching;
    f->r.result_case = SHMBUFWIRE__REPLY__RESULT_WELCOME;
    f->r.welcome = &f->welcome;
    break;
  case SHMBUFWIRE__REQUEST__OP_RELEASE:
    shmbufwire__released__init(&f->released);
    f->retired[0] = (uint32_t)q->release->buffer; /* one buffer per slab, of the same id */
    f->released.retired_slabs = f->retired;
    f->released.n_retired_slabs = 1;
    f->r.result_case = SHMBUFWIRE__REPLY__RESULT_RELEASED;
    f->r.released = &f->released;
    break;
  case SHMBUFWIRE__REQUEST__OP_ALLOC:
  case SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW:
  case SHMBUFWIRE__REQUEST__OP_LEASE: {
    uint64_t size = q->op_case == SHMBUFWIRE__REQUEST__OP_ALLOC ? (uint64_t)q->alloc->size
                    : q->op_case == SHMBUFWIRE__REQUEST__OP_LEASE
                        ? (q->lease->size ? q->lease->size : POOL_SIZE)
                        : (uint64_t)q->alloc_unsafe_slow->size;
    shmbufwire__buffer__init(&f->buffer);
    f->buffer.buffer = n;
    f->buffer.slab = n;
    f->buffer.slab_size = SLAB_SIZE;
    f->buffer.length = f->buffer.ab_length = size;
    f->buffer.pooled = q->op_case == SHMBUFWIRE__REQUEST__OP_LEASE;
    f->fds[f->nfds++] = sbt_shm(SLAB_SIZE);
    f->r.result_case = SHMBUFWIRE__REPLY__RESULT_BUFFER;
    f->r.buffer = &f->buffer;
    break;
  }
  default:
    shmbufwire__error__init(&f->error);
    f->error.code = (char *)"ERR_FAKE";
    f->error.errnum = -ENOSYS;
    f->error.message = (char *)"the fake daemon does not do that";
    f->r.result_case = SHMBUFWIRE__REPLY__RESULT_ERROR;
    f->r.error = &f->error;
  }
}

static tamper_fn tampering; /* set before the fake forks */

/* The fake's verdict on a client that breaks the protocol: the child exits 1, which
 * sbt_fake_stop() reports. */
static void fake_reject(const char *why) {
  fprintf(stderr, "fake daemon: %s\n", why);
  _exit(1);
}

/* Slabs retired by the releases of batches, told with the next answer. */
static uint32_t retired[64];
static size_t nretired;

/* Answers request number n (q, or a creation of a batch when `batched`). Returns false when
 * the fake hangs up instead. */
static bool answer(int conn, unsigned n, const Shmbufwire__Request *q, bool batched) {
  fake_reply f;
  honest(n, q, &f);
  tampering(n, q, &f);
  if (f.hang_up) {
    shutdown(conn, SHUT_RDWR);
    return false;
  }
  if ((batched || f.as_made) && f.r.result_case == SHMBUFWIRE__REPLY__RESULT_BUFFER) {
    const Shmbufwire__Buffer *b = &f.buffer;
    uint64_t words[1 + 7 * 4] = {f.r.id};
    unsigned copies = f.made_copies ? f.made_copies : 1;
    for (unsigned k = 0; k < copies && k < 4; k++)
      memcpy(words + 1 + 7 * k,
             (uint64_t[]){b->buffer, b->slab | (uint64_t)b->pooled << 32, b->slab_size,
                          b->ab_offset, b->byte_offset, b->length, b->ab_length},
             7 * sizeof *words);
    Shmbufwire__Made m = SHMBUFWIRE__MADE__INIT;
    m.words = words;
    m.n_words = 1 + 7 * copies - f.made_cut;
    m.retired_slabs = retired;
    m.n_retired_slabs = nretired;
    sbt_send_made(conn, &m, f.fds, f.nfds);
  } else {
    if (nretired) {
      f.r.retired_slabs = retired;
      f.r.n_retired_slabs = nretired;
    }
    sbt_send_reply(conn, &f.r, f.fds, f.nfds);
  }
  nretired = 0;
  for (size_t i = 0; i < f.nfds; i++)
    close(f.fds[i]);
  return true;
}

/* Answers each creation of a batch as the request it stands for. */
static bool answer_batch(int conn, unsigned *n, const Shmbufwire__Batch *b) {
  const uint64_t *w = b->words, nsizes = b->n_words >= 3 ? w[2] : 0;
  if (b->n_words < 3 || (nsizes == 0 && (w[0] || w[1])))
    fake_reject("a batch of releases alone names an id or an op");
  for (size_t i = 3 + nsizes; i < b->n_words && nretired < 64; i++)
    retired[nretired++] = (uint32_t)w[i]; /* one buffer per slab, of the same id */
  for (size_t i = 0; i < nsizes; i++) {
    Shmbufwire__Request q = SHMBUFWIRE__REQUEST__INIT;
    Shmbufwire__Size size = SHMBUFWIRE__SIZE__INIT;
    Shmbufwire__Alloc alloc = SHMBUFWIRE__ALLOC__INIT;
    Shmbufwire__Lease lease = SHMBUFWIRE__LEASE__INIT;
    q.id = w[0] + i;
    q.op_case = (Shmbufwire__Request__OpCase)w[1];
    size.size = alloc.size = (int64_t)w[3 + i];
    lease.size = w[3 + i];
    q.alloc = &alloc; /* the member the op names is the one read */
    if (q.op_case == SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW)
      q.alloc_unsafe_slow = &size;
    else if (q.op_case == SHMBUFWIRE__REQUEST__OP_LEASE)
      q.lease = &lease;
    if (!answer(conn, (*n)++, &q, true))
      return false;
  }
  return true;
}

static void serve(int conn, void *arg) {
  (void)arg;
  Shmbufwire__Request *q;
  Shmbufwire__Batch *b;
  unsigned n = 0;
  bool open = true;
  while (open && sbt_recv_request(conn, 30000, &q, &b)) {
    if (q) {
      open = answer(conn, n++, q, false);
      shmbufwire__request__free_unpacked(q, NULL);
    } else {
      open = answer_batch(conn, &n, b);
      shmbufwire__batch__free_unpacked(b, NULL);
    }
  }
}

/* ---- the client's side ------------------------------------------------------------------ */

static sbt_fake F;
static int fds_before; /* the test process's fds before the fake and the client */

/* A client of a fake that tampers with replies as `tamper` says, and takes batch frames when
 * `batches`; a thin client when `thin`. */
static shmbuf_client *client_ex(tamper_fn tamper, bool batches, bool thin) {
  fds_before = sbt_count_fds(getpid());
  tampering = tamper;
  batching = batches;
  sbt_fake_start(&F, serve, NULL);
  shmbuf_client *c;
  int rc = shmbuf_connect_ex(F.sock, thin ? SHMBUF_THIN : 0, &c);
  ck_assert_msg(rc == 0, "connect: %s", shmbuf_strerror(rc));
  return c;
}

static shmbuf_client *client_of(tamper_fn tamper) { return client_ex(tamper, false, false); }

/* A call failed with rc, recorded with code: first, views made before it are still mapped
 * (written and read back); then it must be a protocol error, the connection is broken, and
 * closing leaves no fd and no mapping behind. */
static void assert_refused(shmbuf_client *c, int rc, const char *code, shmbuf_buf *const *held,
                           size_t n) {
  for (size_t i = 0; i < n; i++) {
    memset(shmbuf_data(held[i]), 0x5a, shmbuf_length(held[i]));
    ck_assert_uint_eq(shmbuf_data(held[i])[shmbuf_length(held[i]) - 1], 0x5a);
  }
  ck_assert_msg(rc == -EPROTO, "%s (%s)", shmbuf_err_name(rc), shmbuf_error_message());
  ck_assert_str_eq(code, "ERR_SHMBUF_PROTOCOL");
  shmbuf_buf *b = NULL;
  ck_assert_int_eq(shmbuf_alloc(c, SIZE, &b), -ENOTCONN);
  ck_assert_ptr_null(b);
  /* nothing but the socket is open while the client lives on */
  ck_assert_int_le(sbt_count_fds(getpid()), fds_before + 1);
  shmbuf_close(c);
  ck_assert_int_eq(sbt_count_fds(getpid()), fds_before);
  ck_assert_int_eq(sbt_count_shm_maps(getpid()), 0);
  sbt_fake_stop(&F);
}

/* assert_refused() for a blocking call's rc. */
static void assert_call_refused(shmbuf_client *c, int rc, shmbuf_buf *const *held, size_t n) {
  const char *code = shmbuf_error_code();
  assert_refused(c, rc, code ? code : "", held, n);
}

/* ---- one tampered reply, through each way a reply comes in ------------------------------ */

/* The first buffer reply, however the client asked for it: a blocking alloc, a pipelined one
 * (each as a Request, or in a batch), or the region lease that a small allocUnsafe waits for. */
enum { BY_CALL, BY_SUBMIT, BY_BATCHED_CALL, BY_BATCHED_SUBMIT, BY_LEASE, WAYS };

static void slab_bigger_than_its_fd(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 1) {
    close(f->fds[0]);
    f->fds[0] = sbt_shm(4096);
    f->buffer.ab_offset = 32u << 10; /* inside what is announced, past what is there */
  }
}

static void arraybuffer_past_its_slab(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 1)
    f->buffer.ab_offset = SLAB_SIZE - 4096;
}

static void arraybuffer_offset_wraps(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 1)
    f->buffer.ab_offset = UINT64_MAX - 100;
}

static void view_past_its_arraybuffer(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 1)
    f->buffer.byte_offset = 100;
}

static void bytes_without_a_slab(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 1) {
    close(f->fds[0]);
    f->nfds = 0;
    f->buffer.slab = 0;
    f->buffer.slab_size = 0;
  }
}

static void slab_without_its_fd(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 1) {
    close(f->fds[0]);
    f->nfds = 0;
  }
}

static void fd_for_no_slab(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 1)
    f->buffer.slab = 0;
}

static void fd_not_shared_memory(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  int p[2];
  if (n == 1 && pipe2(p, O_CLOEXEC) == 0) {
    close(f->fds[0]);
    close(p[1]);
    f->fds[0] = p[0];
  }
}

static void fd_read_only(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  char path[64];
  if (n == 1) {
    snprintf(path, sizeof path, "/proc/self/fd/%d", f->fds[0]);
    int ro = open(path, O_RDONLY | O_CLOEXEC);
    close(f->fds[0]);
    f->fds[0] = ro;
  }
}

static void slab_id_out_of_range(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 1)
    f->buffer.slab = 1u << 30;
}

static void error_without_an_errno(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 1) {
    close(f->fds[0]);
    f->nfds = 0;
    shmbufwire__error__init(&f->error);
    f->error.code = (char *)"ERR_OUT_OF_RANGE";
    f->error.errnum = INT32_MIN;
    f->error.message = (char *)"out of range";
    f->r.result_case = SHMBUFWIRE__REPLY__RESULT_ERROR;
    f->r.error = &f->error;
  }
}

static void released_for_a_buffer(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 1) {
    close(f->fds[0]);
    f->nfds = 0;
    shmbufwire__released__init(&f->released);
    f->r.result_case = SHMBUFWIRE__REPLY__RESULT_RELEASED;
    f->r.released = &f->released;
  }
}

static void reply_out_of_turn(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 1)
    f->r.id += 1000;
}

static void stray_fd(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 1)
    f->fds[f->nfds++] = sbt_shm(SLAB_SIZE);
}

static const struct {
  const char *name;
  tamper_fn tamper;
} one_reply[] = {
    {"slab bigger than its fd", slab_bigger_than_its_fd},
    {"ArrayBuffer past its slab", arraybuffer_past_its_slab},
    {"ArrayBuffer offset that wraps", arraybuffer_offset_wraps},
    {"view past its ArrayBuffer", view_past_its_arraybuffer},
    {"bytes without a slab", bytes_without_a_slab},
    {"slab without its fd", slab_without_its_fd},
    {"fd for no slab", fd_for_no_slab},
    {"fd that is not shared memory", fd_not_shared_memory},
    {"read-only fd", fd_read_only},
    {"slab id out of range", slab_id_out_of_range},
    {"error without an errno", error_without_an_errno},
    {"Released for a buffer", released_for_a_buffer},
    {"reply out of turn", reply_out_of_turn},
    {"fd that no reply claims", stray_fd},
};
#define ONE_REPLY_CASES (int)(sizeof one_reply / sizeof *one_reply)

typedef struct outcome {
  int status;
  char code[48];
} outcome;

static void got(shmbuf_client *c, int status, shmbuf_buf *buf, void *arg) {
  outcome *o = arg;
  (void)c;
  ck_assert_ptr_null(buf);
  o->status = status;
  snprintf(o->code, sizeof o->code, "%s", shmbuf_error_code());
}

START_TEST(a_false_reply_fails_its_call) {
  int k = _i / WAYS, way = _i % WAYS;
  bool batches = way >= BY_BATCHED_CALL;
  shmbuf_client *c = client_ex(one_reply[k].tamper, batches, batches && way != BY_LEASE);
  shmbuf_buf *b = NULL;
  outcome o = {1, ""};
  if (way == BY_SUBMIT || way == BY_BATCHED_SUBMIT) {
    ck_assert_int_eq(shmbuf_submit_alloc(c, SIZE, got, &o), 0);
    ck_assert_int_lt(shmbuf_wait(c), 0);
  } else {
    o.status = way != BY_LEASE ? shmbuf_alloc(c, SIZE, &b) : shmbuf_alloc_unsafe(c, 16, &b);
    snprintf(o.code, sizeof o.code, "%s", shmbuf_error_code() ? shmbuf_error_code() : "");
  }
  ck_assert_msg(o.status == -EPROTO, "%s, way %d: %s (%s)", one_reply[k].name, way,
                shmbuf_err_name(o.status), shmbuf_error_message());
  ck_assert_ptr_null(b);
  assert_refused(c, o.status, o.code, NULL, 0);
}
END_TEST

/* ---- batch answers ------------------------------------------------------------------------ */

static void no_tamper(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)n, (void)q, (void)f;
}

static void made_for_a_request(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  f->as_made = n == 1;
}

static void made_of_the_wrong_shape(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  f->made_cut = n == 1;
}

static void made_for_more_than_asked(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  f->made_copies = n == 1 ? 2 : 0;
}

/* A Made frame that is not the answer it claims to be: for a request that was no batch's,
 * short of a word, or describing more buffers than were asked for. */
START_TEST(a_false_batch_answer_fails_its_call) {
  static const tamper_fn tampers[] = {made_for_a_request, made_of_the_wrong_shape,
                                      made_for_more_than_asked};
  shmbuf_client *c = client_ex(tampers[_i], _i > 0, true);
  shmbuf_buf *b = NULL;
  int rc = shmbuf_alloc(c, SIZE, &b);
  ck_assert_ptr_null(b);
  assert_call_refused(c, rc, NULL, 0);
}
END_TEST

/* The fake's slabs this process maps. */
static int fake_maps(void) {
  char line[512];
  int n = 0;
  FILE *f = fopen("/proc/self/maps", "re");
  ck_assert_ptr_nonnull(f);
  while (fgets(line, sizeof line, f))
    n += strstr(line, "/shmbuf-fake-") != NULL;
  fclose(f);
  return n;
}

/* Batched releases have no reply: the slabs they retire are told with the next answer, a Made
 * frame, and unmapped then. */
START_TEST(a_batch_answer_retires_what_batches_released) {
  shmbuf_client *c = client_ex(no_tamper, true, true);
  shmbuf_buf *b1, *b2, *b3;
  ck_assert_int_eq(shmbuf_alloc(c, SIZE, &b1), 0);
  ck_assert_int_eq(shmbuf_alloc(c, SIZE, &b2), 0);
  ck_assert_int_eq(fake_maps(), 2);
  shmbuf_release(b1); /* rides with the next request, retiring slab 1 */
  ck_assert_int_eq(fake_maps(), 2);
  ck_assert_int_eq(shmbuf_alloc(c, SIZE, &b3), 0);
  ck_assert_int_eq(fake_maps(), 2);
  shmbuf_release(b2);
  shmbuf_release(b3);
  ck_assert_int_eq(shmbuf_wait(c), 0);
  shmbuf_close(c);
  ck_assert_int_eq(sbt_count_fds(getpid()), fds_before);
  sbt_fake_stop(&F);
}
END_TEST

/* ---- slabs: announced, used, retired ---------------------------------------------------- */

/* The second buffer names slab 1 again, with another fd. */
static void slab_announced_twice(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 2)
    f->buffer.slab = 1;
}

START_TEST(a_slab_is_announced_once) {
  shmbuf_client *c = client_of(slab_announced_twice);
  shmbuf_buf *b1, *b2 = NULL;
  ck_assert_int_eq(shmbuf_alloc(c, SIZE, &b1), 0);
  assert_call_refused(c, shmbuf_alloc(c, SIZE, &b2), &b1, 1);
}
END_TEST

/* The release of buffer 2 retires slab 1, where buffer 1 still is. */
static void retire_of_a_slab_in_use(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 3)
    f->retired[0] = 1;
}

START_TEST(a_slab_in_use_stays_mapped) {
  shmbuf_client *c = client_of(retire_of_a_slab_in_use);
  shmbuf_buf *b1, *b2, *b3 = NULL;
  ck_assert_int_eq(shmbuf_alloc(c, SIZE, &b1), 0);
  ck_assert_int_eq(shmbuf_alloc(c, SIZE, &b2), 0);
  shmbuf_release(b2); /* answered with the retirement, read by the next call */
  assert_call_refused(c, shmbuf_alloc(c, SIZE, &b3), &b1, 1);
}
END_TEST

/* A Released reply retiring slab 1 answers the second alloc. */
static void released_retires_for_an_alloc(unsigned n, const Shmbufwire__Request *q,
                                          fake_reply *f) {
  if (n == 2) {
    released_for_a_buffer(1, q, f);
    f->retired[0] = 1;
    f->released.retired_slabs = f->retired;
    f->released.n_retired_slabs = 1;
  }
}

START_TEST(only_a_release_retires) {
  shmbuf_client *c = client_of(released_retires_for_an_alloc);
  shmbuf_buf *b1, *b2 = NULL;
  ck_assert_int_eq(shmbuf_alloc(c, SIZE, &b1), 0);
  assert_call_refused(c, shmbuf_alloc(c, SIZE, &b2), &b1, 1);
}
END_TEST

/* Slab 1 is retired honestly; the next buffer names it, with (_i 1) or without (_i 0) an fd. */
static void retired_slab_named(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 4) {
    f->buffer.slab = 1;
    close(f->fds[0]);
    f->nfds = 0;
    f->buffer.slab_size = 0;
  }
}

static void retired_slab_announced_again(unsigned n, const Shmbufwire__Request *q,
                                         fake_reply *f) {
  (void)q;
  if (n == 4)
    f->buffer.slab = 1;
}

START_TEST(a_retired_slab_is_gone) {
  shmbuf_client *c = client_of(_i ? retired_slab_announced_again : retired_slab_named);
  shmbuf_buf *b1, *b2, *b3 = NULL;
  ck_assert_int_eq(shmbuf_alloc(c, SIZE, &b1), 0);
  ck_assert_int_eq(shmbuf_alloc(c, SIZE, &b2), 0);
  shmbuf_release(b1);
  assert_call_refused(c, shmbuf_alloc(c, SIZE, &b3), &b2, 1);
}
END_TEST

static void retire_of_an_unknown_slab(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 2)
    f->retired[0] = 42;
}

START_TEST(only_a_known_slab_retires) {
  shmbuf_client *c = client_of(retire_of_an_unknown_slab);
  shmbuf_buf *b1, *b2 = NULL;
  ck_assert_int_eq(shmbuf_alloc(c, SIZE, &b1), 0);
  shmbuf_release(b1);
  assert_call_refused(c, shmbuf_alloc(c, SIZE, &b2), NULL, 0);
}
END_TEST

/* The honest fake, end to end: slabs come and go, and everything goes back. */

START_TEST(an_honest_daemon_is_believed) {
  shmbuf_client *c = client_of(no_tamper);
  shmbuf_buf *b[8];
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 8; i++)
      ck_assert_int_eq(shmbuf_alloc(c, SIZE, &b[i]), 0);
    for (int i = 0; i < 8; i++)
      shmbuf_release(b[i]);
  }
  ck_assert_int_eq(shmbuf_wait(c), 0);
  ck_assert_int_eq(sbt_count_shm_maps(getpid()), 0); /* every slab retired and unmapped */
  shmbuf_close(c);
  ck_assert_int_eq(sbt_count_fds(getpid()), fds_before);
  sbt_fake_stop(&F);
}
END_TEST

/* ---- the handshake ---------------------------------------------------------------------- */

static void welcome_version_2(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 0)
    f->welcome.version = 2;
}

static void welcome_pool_too_small(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 0)
    f->welcome.pool_size = 4;
}

static void welcome_pool_too_big(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 0)
    f->welcome.pool_size = UINT32_MAX;
}

static void welcome_tiny_frames(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 0)
    f->welcome.max_frame = 16;
}

static void welcome_with_an_fd(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 0)
    f->fds[f->nfds++] = sbt_shm(SLAB_SIZE);
}

static const tamper_fn welcomes[] = {welcome_version_2, welcome_pool_too_small,
                                     welcome_pool_too_big, welcome_tiny_frames,
                                     welcome_with_an_fd};

START_TEST(an_absurd_welcome_is_refused) {
  fds_before = sbt_count_fds(getpid());
  tampering = welcomes[_i];
  sbt_fake_start(&F, serve, NULL);
  shmbuf_client *c = NULL;
  ck_assert_int_eq(shmbuf_connect(F.sock, &c), -EPROTO);
  ck_assert_ptr_null(c);
  ck_assert_str_eq(shmbuf_error_code(), "ERR_SHMBUF_PROTOCOL");
  ck_assert_int_eq(sbt_count_fds(getpid()), fds_before);
  sbt_fake_stop(&F);
}
END_TEST

/* ---- how long a reply may be ------------------------------------------------------------ */

/* An error message quotes what the request carried, and invalid UTF-8 in it comes back as
 * three-byte U+FFFD, so a reply may be 3 x the frame limit the welcome announced, plus 64 KiB
 * for the rest; what is longer is no reply the daemon sends. */
static uint32_t announced_frame;
static size_t message_len;
static char *long_message; /* the child's; a global, so that it is not a leak */

static void long_error_reply(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  if (n == 0)
    f->welcome.max_frame = announced_frame;
  if (n == 1) {
    close(f->fds[0]);
    f->nfds = 0;
    long_message = malloc(message_len + 1);
    memset(long_message, 'x', message_len);
    long_message[message_len] = '\0';
    shmbufwire__error__init(&f->error);
    f->error.code = (char *)"ERR_UNKNOWN_ENCODING";
    f->error.errnum = -EINVAL;
    f->error.message = long_message;
    f->r.result_case = SHMBUFWIRE__REPLY__RESULT_ERROR;
    f->r.error = &f->error;
  }
}

/* Under a frame limit of 8 MiB, an error reply of 24 MiB (all but 64 KiB of what it may be)
 * is believed, and the connection goes on. */
START_TEST(a_reply_may_be_three_frames_long) {
  announced_frame = 8u << 20;
  message_len = 3 * (size_t)announced_frame;
  shmbuf_client *c = client_of(long_error_reply);
  shmbuf_buf *b = NULL;
  int rc = shmbuf_alloc(c, SIZE, &b);
  ck_assert_msg(rc == -EINVAL, "%s (%s)", shmbuf_err_name(rc), shmbuf_error_message());
  ck_assert_str_eq(shmbuf_error_code(), "ERR_UNKNOWN_ENCODING");
  ck_assert_uint_eq(strlen(shmbuf_error_message()), message_len);
  ck_assert_int_eq(shmbuf_alloc(c, SIZE, &b), 0);
  shmbuf_release(b);
  shmbuf_close(c);
  ck_assert_int_eq(sbt_count_fds(getpid()), fds_before);
  sbt_fake_stop(&F);
}
END_TEST

/* Under the smallest frame limit, 64 bytes, a reply of 128 KiB is past 3 x 64 + 64 KiB. */
START_TEST(a_reply_past_three_frames_is_refused) {
  announced_frame = 64;
  message_len = 128u << 10;
  shmbuf_client *c = client_of(long_error_reply);
  shmbuf_buf *b = NULL;
  assert_call_refused(c, shmbuf_alloc(c, SIZE, &b), NULL, 0);
  ck_assert_ptr_null(b);
}
END_TEST

/* ---- a call that gives up --------------------------------------------------------------- */

/* Runs shmbuf_wait() beneath 64 KiB of stack filled with a pattern, where the frames of the
 * calls the test made before it lay. Returns whether the pattern is intact: nothing may write
 * into the frames of calls that have returned. */
static __attribute__((noinline)) bool wait_leaves_dead_frames_alone(shmbuf_client *c, int *rc) {
  volatile uint8_t dead[64 << 10];
  for (size_t i = 0; i < sizeof dead; i++)
    dead[i] = 0xa5;
  *rc = shmbuf_wait(c);
  for (size_t i = 0; i < sizeof dead; i++)
    if (dead[i] != 0xa5)
      return false;
  return true;
}

static void hang_up_at_once(unsigned n, const Shmbufwire__Request *q, fake_reply *f) {
  (void)q;
  f->hang_up = n == 1;
}

/* A blocking call fails (the daemon hangs up, or answers out of turn); what is still in flight
 * settles later, and must not settle into the call that gave up. */
START_TEST(a_failed_call_is_forgotten) {
  shmbuf_client *c = client_of(_i ? reply_out_of_turn : hang_up_at_once);
  shmbuf_buf *b = NULL;
  int rc = shmbuf_alloc(c, SIZE, &b);
  ck_assert_int_eq(rc, _i ? -EPROTO : -ENOTCONN);
  ck_assert(wait_leaves_dead_frames_alone(c, &rc));
  ck_assert_int_eq(rc, -ENOTCONN);
  shmbuf_close(c);
  ck_assert_int_eq(sbt_count_fds(getpid()), fds_before);
  sbt_fake_stop(&F);
}
END_TEST

static Suite *flight_suite(void) {
  Suite *s = suite_create("flight");
  TCase *t = tcase_create("replies");
  tcase_set_timeout(t, 30);
  tcase_add_loop_test(t, a_false_reply_fails_its_call, 0, ONE_REPLY_CASES * WAYS);
  tcase_add_loop_test(t, a_false_batch_answer_fails_its_call, 0, 3);
  tcase_add_test(t, a_batch_answer_retires_what_batches_released);
  tcase_add_test(t, a_slab_is_announced_once);
  tcase_add_test(t, a_slab_in_use_stays_mapped);
  tcase_add_test(t, only_a_release_retires);
  tcase_add_loop_test(t, a_retired_slab_is_gone, 0, 2);
  tcase_add_test(t, only_a_known_slab_retires);
  tcase_add_test(t, an_honest_daemon_is_believed);
  tcase_add_loop_test(t, an_absurd_welcome_is_refused, 0,
                      (int)(sizeof welcomes / sizeof *welcomes));
  tcase_add_loop_test(t, a_failed_call_is_forgotten, 0, 2);
  tcase_add_test(t, a_reply_may_be_three_frames_long);
  tcase_add_test(t, a_reply_past_three_frames_is_refused);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(flight_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
