/* SPDX-License-Identifier: MIT */
/* libshmbuf: requests in flight (see flight.h). */
#include "config.h"

#include "flight.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

#define MAX_IN_FLIGHT 4096 /* requests in flight before we stop to read replies */
#define MAX_ERRNO 4095     /* the kernel's bound: an errnum beyond it is no errno */
#define BATCH_RELEASES 512 /* releases waiting in the batch before it goes out by itself */
#define BATCH_RELEASED (1u << 20) /* ... or what they give back, so memory is not sat on */
#define BATCH_FRAME(n) (32 + 8 * (size_t)(n)) /* the most a batch of n values packs to */
#define BATCH_SIZES SB_BATCH_HEAD                           /* where the sizes start in words */
#define BATCH_RELEASES_AT (BATCH_SIZES + SB_BATCH_MAX)  /* ... and the releases */

enum { WAITING, READY, DONE };

struct flight_entry {
  uint64_t id;
  uint8_t state;
  bool batched;              /* a batch creation: answered by a Made frame's part */
  Shmbufwire__Reply__ResultCase answer; /* WAITING: the kind of reply that answers it */
  flight_settle_fn settle;   /* WAITING */
  void *arg;
  shmbuf_cb cb;              /* READY: the callback and what it gets */
  void *cb_arg;
  shmbuf_buf *ready;
  int status;
  char *err_code, *err_message; /* READY with status < 0 */
};

void flight_init(flight *f, wire *w, slab_table *slabs, shmbuf_client *owner) {
  *f = (flight){.w = w, .slabs = slabs, .owner = owner};
  sb_arena_init(&f->arena);
}

/* The ring's capacity is a power of two, so that a position wraps with a mask. */
static flight_entry *at(const flight *f, size_t i) {
  return &f->ring[(f->head + i) & (f->cap - 1)];
}

void flight_fini(flight *f) {
  for (size_t i = 0; i < f->len; i++) {
    free(at(f, i)->err_code);
    free(at(f, i)->err_message);
  }
  free(f->ring);
  free(f->batch.words);
  sb_arena_reset(&f->arena);
  f->ring = NULL;
  f->batch = (flight_batch){0};
  f->len = f->cap = f->head = f->waiting = 0;
}

static int not_connected(void) {
  return errors_fail(-ENOTCONN, "ERR_SHMBUF_DISCONNECTED", "not connected to shmbufd");
}

/* Makes room for one more entry. */
static int reserve(flight *f) {
  if (f->len < f->cap)
    return 0;
  size_t cap = f->cap ? f->cap * 2 : 16; /* a power of two: see at() */
  flight_entry *ring = malloc(cap * sizeof *ring);
  if (ring == NULL)
    return errors_no_memory();
  for (size_t i = 0; i < f->len; i++)
    ring[i] = *at(f, i);
  free(f->ring);
  f->ring = ring;
  f->head = 0;
  f->cap = cap;
  return 0;
}

/* Appends e; room was reserved. */
static inline void push(flight *f, const flight_entry *e) {
  if (e->state == WAITING && f->waiting++ == 0)
    f->next_answer = f->len;
  *at(f, f->len++) = *e;
}

/* A failure kept for its callback: the error code and message are the thread's when the
 * callback runs, not when the failure happened. */
static void keep_error(flight_entry *e, int status) {
  const char *code = shmbuf_error_code(), *msg = shmbuf_error_message();
  e->status = status;
  e->err_code = code ? strdup(code) : NULL;
  e->err_message = msg ? strdup(msg) : NULL;
}

static void keep_outcome(flight_entry *e, const flight_outcome *out) {
  e->state = out->deliver ? READY : DONE;
  e->ready = out->ready;
  e->status = out->status;
  if (out->deliver && out->status < 0)
    keep_error(e, out->status);
}

/* The kind of reply that answers op (an error may answer any request). */
static Shmbufwire__Reply__ResultCase answer_to(Shmbufwire__Request__OpCase op) {
  switch (op) {
  case SHMBUFWIRE__REQUEST__OP_HELLO:
    return SHMBUFWIRE__REPLY__RESULT_WELCOME;
  case SHMBUFWIRE__REQUEST__OP_RELEASE:
    return SHMBUFWIRE__REPLY__RESULT_RELEASED;
  case SHMBUFWIRE__REQUEST__OP_STATS:
    return SHMBUFWIRE__REPLY__RESULT_STATS;
  case SHMBUFWIRE__REQUEST__OP_SHARE:
    return SHMBUFWIRE__REPLY__RESULT_SHARED;
  case SHMBUFWIRE__REQUEST__OP_UNSHARE:
    return SHMBUFWIRE__REPLY__RESULT_DONE;
  case SHMBUFWIRE__REQUEST__OP_LIST_SHARES:
    return SHMBUFWIRE__REPLY__RESULT_SHARES;
  case SHMBUFWIRE__REQUEST__OP_LIST_CLIENTS:
    return SHMBUFWIRE__REPLY__RESULT_CLIENTS;
  default:
    return SHMBUFWIRE__REPLY__RESULT_BUFFER;
  }
}

static bool is_errno(int32_t errnum) { return errnum < 0 && errnum >= -MAX_ERRNO; }

int flight_error(const Shmbufwire__Error *e) {
  return errors_fail(e->errnum, e->code, "%s", e->message);
}

Shmbufwire__Buffer *flight_buffer_of(const Shmbufwire__Reply *r) {
  if (r->result_case == SHMBUFWIRE__REPLY__RESULT_BUFFER)
    return r->buffer;
  if (r->result_case == SHMBUFWIRE__REPLY__RESULT_SHARED && r->shared->buffer)
    return r->shared->buffer;
  return NULL;
}

/* Maps the slab a buffer reply brings, taking its fd now: fds arrive in reply order. */
static int map_slab(flight *f, uint32_t slab, uint64_t slab_size, bool read_only) {
  if (slab_size == 0)
    return 0;
  if (slab == 0)
    return wire_broken(f->w, -EPROTO, "a descriptor came for no slab");
  const char *why;
  int fd, rc = wire_take_fd(f->w, &fd);
  if (rc < 0)
    return rc;
  rc = slabs_map(f->slabs, slab, slab_size, read_only, fd, &why);
  return rc < 0 ? wire_broken(f->w, rc, why) : 0;
}

static int map_reply_slab(flight *f, Shmbufwire__Reply *r) {
  Shmbufwire__Buffer *b = flight_buffer_of(r);
  int rc = b ? map_slab(f, b->slab, b->slab_size, b->read_only) : 0;
  if (rc == 0 && b)
    b->slab_size = 0; /* mapped: what settles it only looks the slab up */
  return rc;
}

/* Unmaps the slabs a reply retires: every reply says which (a daemon that only says it in
 * Released replies, the same list, is understood too). */
static int retire_slabs(flight *f, const Shmbufwire__Reply *r) {
  const uint32_t *ids = r->retired_slabs;
  size_t n = r->n_retired_slabs;
  if (n == 0 && r->result_case == SHMBUFWIRE__REPLY__RESULT_RELEASED) {
    ids = r->released->retired_slabs;
    n = r->released->n_retired_slabs;
  }
  for (size_t k = 0; k < n; k++) {
    const char *why;
    if (slabs_retire(f->slabs, ids[k], &why) < 0)
      return wire_broken(f->w, -EPROTO, why);
  }
  return 0;
}

/* Checks r, the reply to the oldest waiting request e (already counted out of the waiting),
 * and takes in the slabs it brings and retires. A batch creation's reply comes in a Made
 * frame, or as an error. Returns 0, or a negative errno (the stream is broken then). */
static int take_in(flight *f, const flight_entry *e, Shmbufwire__Reply *r) {
  if (r->id != e->id)
    return wire_broken(f->w, -EPROTO, "a reply out of turn");
  if (r->result_case == SHMBUFWIRE__REPLY__RESULT_ERROR && !is_errno(r->error->errnum))
    return wire_broken(f->w, -EPROTO, "an error reply without an errno");
  if (r->result_case != SHMBUFWIRE__REPLY__RESULT_ERROR &&
      (e->batched || r->result_case != e->answer))
    return wire_broken(f->w, -EPROTO, "a reply of the wrong kind");
  if (r->result_case == SHMBUFWIRE__REPLY__RESULT_SHARED && r->shared->buffer == NULL)
    return wire_broken(f->w, -EPROTO, "a share reply without its buffer");
  int rc = map_reply_slab(f, r);
  if (rc == 0 && f->w->nfds > f->waiting) /* one fd per reply at most, none after its reply */
    rc = wire_broken(f->w, -EPROTO, "a descriptor came that no reply claims");
  return rc < 0 ? rc : retire_slabs(f, r);
}

/* Takes the oldest waiting request out of the waiting ones: it is answered from now on,
 * before its settle function runs, which may queue requests and read more replies. Returns
 * its ring position, and the entry as it was in *asked. */
static size_t answer_oldest(flight *f, flight_entry *asked) {
  size_t i = f->next_answer;
  flight_entry *e = at(f, i);
  *asked = *e;
  e->state = DONE;
  if (--f->waiting > 0)
    do
      f->next_answer++;
    while (at(f, f->next_answer)->state != WAITING);
  return i;
}

/* Runs the settle function of `asked` (at ring position i) with r, which is freed afterwards
 * when it was unpacked (`unpacked`) and not kept, and keeps the outcome. rc < 0: the reply
 * was refused for that reason (r is NULL then). */
static void run_settle(flight *f, size_t i, const flight_entry *asked, Shmbufwire__Reply *r,
                       bool unpacked, int rc) {
  flight_outcome out = {0};
  if (asked->settle)
    asked->settle(f->owner, r, asked->arg, &out);
  if (r && unpacked && !out.kept)
    wire_reply_free(r);
  if (rc < 0 && out.deliver) {
    out.status = rc;
    out.ready = NULL;
  }
  keep_outcome(at(f, i), &out); /* the ring may have moved */
}

/* Settles the oldest waiting request with r, or with nothing (NULL: the connection is lost).
 * A reply that take_in() refuses settles it with nothing too, and its request fails with the
 * reason. Returns 0 or that reason. */
static int settle_oldest(flight *f, Shmbufwire__Reply *r) {
  flight_entry asked;
  size_t i = answer_oldest(f, &asked);
  int rc = r ? take_in(f, &asked, r) : 0;
  if (rc < 0) {
    wire_reply_free(r);
    r = NULL;
  }
  run_settle(f, i, &asked, r, true, rc);
  return rc;
}

/* The buffer described by words w of a Made frame, as a Buffer reply carries it. */
static void made_buffer(const uint64_t *w, Shmbufwire__Buffer *b) {
  static const Shmbufwire__Buffer blank = SHMBUFWIRE__BUFFER__INIT;
  *b = blank;
  b->buffer = w[0];
  b->slab = (uint32_t)w[1];
  b->pooled = w[1] >> 32 & 1;
  b->slab_size = w[2];
  b->ab_offset = w[3];
  b->byte_offset = w[4];
  b->length = w[5];
  b->ab_length = w[6];
}

/* A request a Made frame answers, between its checks and its settle function. */
typedef struct made_part {
  size_t at;          /* ring position */
  flight_entry asked;
  uint64_t words[SB_MADE_WORDS];
} made_part;

/* Checks a Made frame and settles the requests it answers, each as a Buffer reply would:
 * their slabs are mapped and the frame's retired slabs unmapped first, and all of them are
 * answered before any settle function runs (which may read further replies). A frame that
 * fails a check fails every request it answers with the reason, and breaks the connection.
 * Returns 0 or that reason. */
static int settle_made(flight *f, const wire_frame *fr) {
  made_part parts[SB_BATCH_MAX];
  size_t n = 0, answered = 0;
  int rc = 0;
  const char *why = NULL;
  Shmbufwire__Made *m = shmbufwire__made__unpack(&f->arena.allocator, fr->len, fr->payload);
  wire_frame_done(f->w, fr);
  if (m == NULL)
    why = "the daemon sent an undecodable reply";
  else if (m->n_words < 1 + SB_MADE_WORDS ||
           (n = (m->n_words - 1) / SB_MADE_WORDS) > SB_BATCH_MAX ||
           1 + n * SB_MADE_WORDS != m->n_words)
    why = "a batch answer of the wrong shape";
  else if (n > f->waiting)
    why = "a reply to no request";
  if (why) {
    sb_arena_reset(&f->arena);
    return wire_broken(f->w, -EPROTO, why);
  }
  for (; answered < n && rc == 0; answered++) {
    made_part *p = &parts[answered];
    p->at = answer_oldest(f, &p->asked);
    memcpy(p->words, m->words + 1 + answered * SB_MADE_WORDS, sizeof p->words);
    if (!p->asked.batched)
      rc = wire_broken(f->w, -EPROTO, "a reply of the wrong kind");
    else if (m->words[0] + answered != p->asked.id)
      rc = wire_broken(f->w, -EPROTO, "a reply out of turn");
    else if ((rc = map_slab(f, (uint32_t)p->words[1], p->words[2], false)) == 0)
      p->words[2] = 0; /* mapped: what settles it only looks the slab up */
  }
  if (rc == 0 && f->w->nfds > f->waiting)
    rc = wire_broken(f->w, -EPROTO, "a descriptor came that no reply claims");
  for (size_t k = 0; rc == 0 && k < m->n_retired_slabs; k++)
    if (slabs_retire(f->slabs, m->retired_slabs[k], &why) < 0)
      rc = wire_broken(f->w, -EPROTO, why);
  sb_arena_reset(&f->arena);
  for (size_t k = 0; k < answered; k++) {
    Shmbufwire__Buffer b;
    Shmbufwire__Reply r = SHMBUFWIRE__REPLY__INIT;
    made_buffer(parts[k].words, &b);
    r.id = parts[k].asked.id;
    r.result_case = SHMBUFWIRE__REPLY__RESULT_BUFFER;
    r.buffer = &b;
    run_settle(f, parts[k].at, &parts[k].asked, rc < 0 ? NULL : &r, false, rc);
  }
  return rc;
}

/* A reply with id 0 speaks for the connection (a refusal, a violation) before a close. */
static int notice(flight *f, Shmbufwire__Reply *r) {
  int rc = -EPROTO;
  if (r->result_case == SHMBUFWIRE__REPLY__RESULT_ERROR) {
    rc = is_errno(r->error->errnum) ? r->error->errnum : -EPROTO;
    errors_fail(rc, r->error->code, "%s", r->error->message);
  } else
    errors_fail(rc, "ERR_SHMBUF_PROTOCOL", "unexpected reply from the daemon");
  wire_stop(f->w, rc);
  wire_reply_free(r);
  return rc;
}

/* Gives a reply to the request it answers: the oldest still waiting, which fails when the
 * reply is refused. Returns 0, or a negative errno when the connection broke (-EPROTO when the
 * reply broke it). */
static int settle(flight *f, Shmbufwire__Reply *r) {
  if (r->id == 0)
    return notice(f, r);
  if (f->waiting == 0) {
    wire_reply_free(r);
    return wire_broken(f->w, -EPROTO, "a reply to no request");
  }
  int rc = settle_oldest(f, r);
  return rc < 0 || !f->w->broken ? rc : f->w->error;
}

/* The connection is lost: requests that will never be answered settle with nothing. */
static void fail_in_flight(flight *f) {
  not_connected();
  while (f->waiting)
    settle_oldest(f, NULL);
}

/* Moves the front of the ring past its first entry. */
static void drop_front(flight *f) {
  f->head = (f->head + 1) & (f->cap - 1);
  f->len--;
  if (f->waiting)
    f->next_answer--;
}

/* Takes the entry at the front of the ring off it. */
static flight_entry pop(flight *f) {
  flight_entry e = *at(f, 0);
  drop_front(f);
  return e;
}

/* Drops the answered requests at the front of the ring that hand nothing out: a program that
 * only makes blocking calls never has results delivered, and its ring must not grow. */
static void drop_done(flight *f) {
  while (f->len > 0 && at(f, 0)->state == DONE)
    drop_front(f);
}

/* Hands out, in order, every result at the front of the ring. Returns how many callbacks ran. */
static int deliver(flight *f) {
  int n = 0;
  f->delivering++;
  while (f->len > 0 && !f->closing) {
    if (at(f, 0)->state == WAITING)
      break;
    flight_entry done = pop(f);
    if (done.state != READY)
      continue;
    if (done.err_code) {
      errors_fail(done.status, done.err_code, "%s", done.err_message ? done.err_message : "");
      free(done.err_code);
      free(done.err_message);
    }
    done.cb(f->owner, done.status, done.ready, done.cb_arg);
    n++;
  }
  f->delivering--;
  return n;
}

/* Settles what a whole frame answers. Returns 0, or a negative errno when the connection
 * broke (-EPROTO when the frame broke it). */
static int settle_frame(flight *f, const wire_frame *fr) {
  if (fr->batch) {
    int rc = settle_made(f, fr);
    return rc < 0 || !f->w->broken ? rc : f->w->error;
  }
  Shmbufwire__Reply *r = shmbufwire__reply__unpack(NULL, fr->len, fr->payload);
  wire_frame_done(f->w, fr);
  if (r == NULL)
    return wire_broken(f->w, -EPROTO, "the daemon sent an undecodable reply");
  return settle(f, r);
}

/* ---- the batch being built ---------------------------------------------------------------- */

static uint32_t max_frame(const flight *f) {
  return f->w->max_frame ? f->w->max_frame : SB_FRAME_MAX_DEFAULT;
}

/* Queues the batch being built as one frame: its releases move up to follow its sizes.
 * Returns 0 or a negative errno, recorded: the connection is broken then, since its
 * creations will never be answered. */
static int batch_queue(flight *f) {
  flight_batch *b = &f->batch;
  if (b->nsizes == 0 && b->nreleases == 0)
    return 0;
  uint64_t *w = b->words;
  if (b->nsizes == 0) /* releases only: no id, no op */
    w[0] = w[1] = 0;
  w[2] = b->nsizes;
  for (size_t k = 0; k < b->nreleases; k++) /* forwards: they move down, usually a few */
    w[BATCH_SIZES + b->nsizes + k] = w[BATCH_RELEASES_AT + k];
  Shmbufwire__Batch m = SHMBUFWIRE__BATCH__INIT;
  m.words = w;
  m.n_words = BATCH_SIZES + b->nsizes + b->nreleases;
  int rc = wire_queue(f->w, &m.base, true);
  b->nsizes = b->nreleases = 0;
  b->bytes = b->released = 0;
  return rc < 0 ? wire_stop(f->w, rc) : 0;
}

/* Makes room in the batch for one more word: a creation of `op` and `size`, or a release
 * (op 0). */
static int batch_room(flight *f, uint32_t op, uint64_t size) {
  flight_batch *b = &f->batch;
  int rc = 0;
  if ((op && b->nsizes && b->words[1] != op) || (op && b->nsizes == SB_BATCH_MAX) ||
      (op && b->bytes + size > SB_BATCH_BYTES_MAX) ||
      BATCH_FRAME(b->nsizes + b->nreleases + 1) > max_frame(f))
    rc = batch_queue(f);
  size_t need = BATCH_RELEASES_AT + b->nreleases + 1;
  if (rc == 0 && need > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : BATCH_RELEASES_AT + 16;
    uint64_t *w = realloc(b->words, cap * sizeof *w);
    if (w == NULL)
      return errors_no_memory();
    b->words = w;
    b->cap = cap;
  }
  return rc;
}

int flight_flush(flight *f) {
  int rc = batch_queue(f);
  return rc < 0 ? rc : wire_flush(f->w);
}

bool flight_batch_full(const flight *f) {
  return f->batch.nsizes == SB_BATCH_MAX || f->batch.bytes >= SB_BATCH_BYTES_MAX;
}

bool flight_batchable(const flight *f, int64_t size) {
  return f->batches && size >= 0 && size <= SB_BATCH_SIZE_MAX &&
         BATCH_FRAME(1) <= max_frame(f);
}

int flight_submit_batched(flight *f, uint32_t op, int64_t size, flight_settle_fn settle_fn,
                          void *arg, shmbuf_cb cb, void *cb_arg) {
  if (f->w->broken || f->closing)
    return not_connected();
  int rc;
  while (f->waiting >= MAX_IN_FLIGHT)
    if ((rc = flight_settle_one(f)) < 0)
      return rc;
  if ((rc = reserve(f)) < 0 || (rc = batch_room(f, op, (uint64_t)size)) < 0)
    return rc;
  flight_batch *b = &f->batch;
  if (b->nsizes == 0) {
    b->words[0] = f->next_id + 1;
    b->words[1] = op;
  }
  b->words[BATCH_SIZES + b->nsizes++] = (uint64_t)size;
  b->bytes += (uint64_t)size;
  f->next_id++;
  push(f, &(flight_entry){.id = f->next_id, .state = WAITING, .batched = true,
                          .settle = settle_fn, .arg = arg, .cb = cb, .cb_arg = cb_arg});
  return 0;
}

int flight_release(flight *f, uint64_t id, uint64_t bytes) {
  if (f->w->broken || f->closing)
    return -ENOTCONN;
  if (!f->batches) {
    Shmbufwire__Request q = SHMBUFWIRE__REQUEST__INIT;
    Shmbufwire__Release rel = SHMBUFWIRE__RELEASE__INIT;
    rel.buffer = id;
    q.op_case = SHMBUFWIRE__REQUEST__OP_RELEASE;
    q.release = &rel;
    return flight_submit(f, &q, NULL, NULL, NULL, NULL);
  }
  flight_batch *b = &f->batch;
  int rc = batch_room(f, 0, 0);
  if (rc < 0)
    return rc;
  b->words[BATCH_RELEASES_AT + b->nreleases++] = id;
  b->released += bytes;
  return b->nreleases < BATCH_RELEASES && b->released < BATCH_RELEASED ? 0 : flight_flush(f);
}

int flight_settle_one(flight *f) {
  wire_frame fr;
  int rc = flight_flush(f);
  if (rc == 0 && (rc = wire_next_frame(f->w, true, &fr)) == 0)
    rc = settle_frame(f, &fr);
  return rc;
}

int flight_submit(flight *f, Shmbufwire__Request *q, flight_settle_fn settle_fn, void *arg,
                  shmbuf_cb cb, void *cb_arg) {
  if (f->w->broken || f->closing)
    return not_connected();
  int rc;
  while (f->waiting >= MAX_IN_FLIGHT) /* bound what both sides hold: read some answers */
    if ((rc = flight_settle_one(f)) < 0)
      return rc;
  if ((rc = reserve(f)) < 0 || (rc = batch_queue(f)) < 0) /* the batch goes first */
    return rc;
  q->id = f->next_id + 1;
  if ((rc = wire_queue(f->w, &q->base, false)) < 0)
    return rc;
  f->next_id++;
  push(f, &(flight_entry){.id = q->id, .state = WAITING, .answer = answer_to(q->op_case),
                          .settle = settle_fn, .arg = arg, .cb = cb, .cb_arg = cb_arg});
  return 0;
}

int flight_ready(flight *f, int status, shmbuf_buf *b, shmbuf_cb cb, void *cb_arg) {
  flight_entry e = {.state = READY, .cb = cb, .cb_arg = cb_arg, .ready = b, .status = status};
  int rc = reserve(f);
  if (rc < 0)
    return rc;
  if (status < 0)
    keep_error(&e, status);
  push(f, &e);
  return 0;
}

static void call_settle(shmbuf_client *c, Shmbufwire__Reply *r, void *arg, flight_outcome *out) {
  (void)c;
  *(Shmbufwire__Reply **)arg = r;
  out->kept = true;
}

/* Request id settles with nothing into its settle function any more: the call that waited for
 * it has given up, and its argument lived on that call's stack. */
static void forget(flight *f, uint64_t id) {
  for (size_t i = 0; i < f->len; i++)
    if (at(f, i)->id == id && at(f, i)->state == WAITING) {
      at(f, i)->settle = NULL;
      at(f, i)->arg = NULL;
    }
}

int flight_call(flight *f, Shmbufwire__Request *q, Shmbufwire__Reply **out) {
  Shmbufwire__Reply *answer = NULL;
  int rc = flight_submit(f, q, call_settle, &answer, NULL, NULL);
  if (rc < 0)
    return rc; /* nothing went out */
  while (rc == 0 && answer == NULL)
    rc = flight_settle_one(f);
  if (rc < 0) {
    forget(f, q->id);
    if (answer)
      wire_reply_free(answer);
    return rc;
  }
  drop_done(f);
  if (answer->result_case == SHMBUFWIRE__REPLY__RESULT_ERROR) {
    rc = flight_error(answer->error);
    wire_reply_free(answer);
    return rc;
  }
  *out = answer;
  return 0;
}

/* What a batched creation's blocking call waits for. */
typedef struct batched_answer {
  bool settled;
  int status;
  Shmbufwire__Buffer *out;
} batched_answer;

static void call_batched_settle(shmbuf_client *c, Shmbufwire__Reply *r, void *arg,
                                flight_outcome *out) {
  batched_answer *a = arg;
  (void)c;
  (void)out;
  a->settled = true;
  if (r == NULL)
    a->status = -ENOTCONN; /* the reason is what settling returned */
  else if (r->result_case == SHMBUFWIRE__REPLY__RESULT_ERROR)
    a->status = flight_error(r->error);
  else
    *a->out = *r->buffer;
}

int flight_call_batched(flight *f, uint32_t op, int64_t size, Shmbufwire__Buffer *out) {
  batched_answer a = {false, 0, out};
  int rc = flight_submit_batched(f, op, size, call_batched_settle, &a, NULL, NULL);
  if (rc < 0)
    return rc;
  uint64_t id = f->next_id;
  while (rc == 0 && !a.settled)
    rc = flight_settle_one(f);
  if (rc < 0) {
    forget(f, id);
    return rc;
  }
  drop_done(f);
  return a.status;
}

int flight_process(flight *f) {
  int n = 0, rc = wire_poll_in(f->w);
  for (;;) {
    wire_frame fr;
    while (!f->w->broken && rc >= 0 && (rc = wire_next_frame(f->w, false, &fr)) == 0 &&
           fr.payload)
      rc = settle_frame(f, &fr);
    if (f->w->broken)
      fail_in_flight(f);
    n += deliver(f);
    /* Callbacks may have read replies (wire_flush() does while the socket is full): none may
     * stay behind in the buffer, where the socket no longer tells of them. */
    if (f->w->broken || f->closing || wire_next_frame(f->w, false, &fr) < 0 || !fr.payload)
      break;
    rc = 0;
  }
  return f->w->broken ? not_connected() : n;
}

int flight_wait(flight *f) {
  int rc = 0;
  while (rc == 0 && !f->closing && (f->waiting > 0 || f->len > 0)) {
    deliver(f);
    if (f->waiting > 0 && !f->w->broken)
      rc = flight_settle_one(f); /* flushes what callbacks queued, too */
    else if (f->waiting == 0 && f->len == 0)
      rc = flight_flush(f);
    if (f->w->broken) {
      fail_in_flight(f);
      deliver(f);
      rc = not_connected();
    }
  }
  if (rc == 0 && !f->closing)
    rc = flight_flush(f);
  return rc;
}
