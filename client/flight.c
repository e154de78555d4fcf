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

enum { WAITING, READY, DONE };

struct flight_entry {
  uint64_t id;
  uint8_t state;
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
}

static flight_entry *at(const flight *f, size_t i) { return &f->ring[(f->head + i) % f->cap]; }

void flight_fini(flight *f) {
  for (size_t i = 0; i < f->len; i++) {
    free(at(f, i)->err_code);
    free(at(f, i)->err_message);
  }
  free(f->ring);
  f->ring = NULL;
  f->len = f->cap = f->head = f->waiting = 0;
}

static int not_connected(void) {
  return errors_fail(-ENOTCONN, "ERR_SHMBUF_DISCONNECTED", "not connected to shmbufd");
}

/* Makes room for one more entry. */
static int reserve(flight *f) {
  if (f->len < f->cap)
    return 0;
  size_t cap = f->cap ? f->cap * 2 : 16;
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
static void push(flight *f, flight_entry e) {
  if (e.state == WAITING && f->waiting++ == 0)
    f->next_answer = f->len;
  *at(f, f->len++) = e;
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
static int map_reply_slab(flight *f, Shmbufwire__Reply *r) {
  Shmbufwire__Buffer *b = flight_buffer_of(r);
  if (b == NULL || b->slab_size == 0)
    return 0;
  if (b->slab == 0)
    return wire_broken(f->w, -EPROTO, "a descriptor came for no slab");
  const char *why;
  int fd, rc = wire_take_fd(f->w, &fd);
  if (rc < 0)
    return rc;
  rc = slabs_map(f->slabs, b->slab, b->slab_size, b->read_only, fd, &why);
  if (rc < 0)
    return wire_broken(f->w, rc, why);
  b->slab_size = 0; /* mapped: what settles it only looks the slab up */
  return 0;
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
 * and takes in the slabs it brings and retires. Returns 0, or a negative errno (the stream is
 * broken then). */
static int take_in(flight *f, const flight_entry *e, Shmbufwire__Reply *r) {
  if (r->id != e->id)
    return wire_broken(f->w, -EPROTO, "a reply out of turn");
  if (r->result_case == SHMBUFWIRE__REPLY__RESULT_ERROR && !is_errno(r->error->errnum))
    return wire_broken(f->w, -EPROTO, "an error reply without an errno");
  if (r->result_case != SHMBUFWIRE__REPLY__RESULT_ERROR && r->result_case != e->answer)
    return wire_broken(f->w, -EPROTO, "a reply of the wrong kind");
  if (r->result_case == SHMBUFWIRE__REPLY__RESULT_SHARED && r->shared->buffer == NULL)
    return wire_broken(f->w, -EPROTO, "a share reply without its buffer");
  int rc = map_reply_slab(f, r);
  if (rc == 0 && f->w->nfds > f->waiting) /* one fd per reply at most, none after its reply */
    rc = wire_broken(f->w, -EPROTO, "a descriptor came that no reply claims");
  return rc < 0 ? rc : retire_slabs(f, r);
}

/* Settles the oldest waiting request with r, or with nothing (NULL: the connection is lost).
 * A reply that take_in() refuses settles it with nothing too, and its request fails with the
 * reason. Returns 0 or that reason. */
static int settle_oldest(flight *f, Shmbufwire__Reply *r) {
  size_t i = f->next_answer;
  flight_entry *e = at(f, i);
  flight_entry asked = *e;
  e->state = DONE; /* answered before its settle function runs, which may queue requests */
  if (--f->waiting > 0)
    do
      f->next_answer++;
    while (at(f, f->next_answer)->state != WAITING);
  int rc = r ? take_in(f, &asked, r) : 0;
  if (rc < 0) {
    wire_reply_free(r);
    r = NULL;
  }
  flight_outcome out = {0};
  if (asked.settle)
    asked.settle(f->owner, r, asked.arg, &out);
  else if (r)
    wire_reply_free(r);
  if (rc < 0 && out.deliver) {
    out.status = rc;
    out.ready = NULL;
  }
  keep_outcome(at(f, i), &out); /* the ring may have moved */
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

/* Hands out, in order, every result at the front of the ring. Returns how many callbacks ran. */
static int deliver(flight *f) {
  int n = 0;
  f->delivering++;
  while (f->len > 0 && !f->closing) {
    flight_entry *front = at(f, 0);
    if (front->state == WAITING)
      break;
    flight_entry done = *front;
    f->head = (f->head + 1) % f->cap;
    f->len--;
    if (f->waiting)
      f->next_answer--;
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

int flight_settle_one(flight *f) {
  Shmbufwire__Reply *r;
  int rc = wire_flush(f->w);
  if (rc == 0 && (rc = wire_next_reply(f->w, true, &r)) == 0)
    rc = settle(f, r);
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
  if ((rc = reserve(f)) < 0)
    return rc;
  q->id = f->next_id + 1;
  if ((rc = wire_queue(f->w, &q->base)) < 0)
    return rc;
  f->next_id++;
  push(f, (flight_entry){.id = q->id, .state = WAITING, .answer = answer_to(q->op_case),
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
  push(f, e);
  return 0;
}

static void call_settle(shmbuf_client *c, Shmbufwire__Reply *r, void *arg, flight_outcome *out) {
  (void)c;
  (void)out;
  *(Shmbufwire__Reply **)arg = r;
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
  if (answer->result_case == SHMBUFWIRE__REPLY__RESULT_ERROR) {
    rc = flight_error(answer->error);
    wire_reply_free(answer);
    return rc;
  }
  *out = answer;
  return 0;
}

int flight_process(flight *f) {
  int rc = wire_poll_in(f->w);
  while (!f->w->broken && rc >= 0) {
    Shmbufwire__Reply *r;
    if ((rc = wire_next_reply(f->w, false, &r)) < 0 || r == NULL)
      break;
    rc = settle(f, r);
  }
  if (f->w->broken)
    fail_in_flight(f);
  int n = deliver(f);
  return f->w->broken ? not_connected() : n;
}

int flight_wait(flight *f) {
  int rc = 0;
  while (rc == 0 && !f->closing && (f->waiting > 0 || f->len > 0)) {
    deliver(f);
    if (f->waiting > 0 && !f->w->broken)
      rc = flight_settle_one(f); /* flushes what callbacks queued, too */
    else if (f->waiting == 0 && f->len == 0)
      rc = wire_flush(f->w);
    if (f->w->broken) {
      fail_in_flight(f);
      deliver(f);
      rc = not_connected();
    }
  }
  if (rc == 0 && !f->closing)
    rc = wire_flush(f->w);
  return rc;
}
