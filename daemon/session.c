/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment.h"

/* ---- users ---------------------------------------------------------------------------------- */

static session_user *user_find(const session_books *b, uid_t uid) {
  for (size_t i = 0; i < b->nusers; i++)
    if (b->users[i]->uid == uid)
      return b->users[i];
  return NULL;
}

bool session_user_full(const session_books *b, uid_t uid) {
  const session_user *u = user_find(b, uid);
  uint32_t cap = b->limits.user_max_connections;
  return cap && u && u->connections >= cap;
}

/* The entry of uid, made when missing (each entry has a place of its own, which sessions
 * point at). Returns NULL when out of memory. */
static session_user *user_join(session_books *b, uid_t uid) {
  session_user *u = user_find(b, uid);
  if (u)
    return u;
  if (b->nusers == b->cap_users) {
    size_t cap = b->cap_users ? b->cap_users * 2 : 16;
    session_user **users = realloc(b->users, cap * sizeof *users);
    if (users == NULL)
      return NULL;
    b->users = users;
    b->cap_users = cap;
  }
  if ((u = calloc(1, sizeof *u)) == NULL)
    return NULL;
  u->uid = uid;
  b->users[b->nusers++] = u;
  return u;
}

/* Forgets a user that holds nothing any more. */
static void user_leave(session_books *b, session_user *u) {
  if (u->connections || u->reserved || u->buffers || u->slabs || u->shared || u->imported ||
      u->input)
    return;
  for (size_t i = 0; i < b->nusers; i++)
    if (b->users[i] == u) {
      b->users[i] = b->users[--b->nusers];
      free(u);
      return;
    }
}

void session_books_fini(session_books *b) {
  for (size_t i = 0; i < b->nusers; i++)
    free(b->users[i]);
  free(b->users);
  b->users = NULL;
  b->nusers = b->cap_users = 0;
}

/* ---- memory policy: the slab backend, with quotas ------------------------------------------ */

/* What a session, a user, the daemon are charged: shared memory plus bookkeeping. */
static uint64_t conn_charged(const conn_session *s) {
  return s->heap.slab.reserved + s->shared + s->imported + s->heap.buffers * SESSION_BUFFER_COST;
}

static uint64_t user_charged(const session_user *u) {
  return u->reserved + u->shared + u->imported + u->buffers * SESSION_BUFFER_COST;
}

static uint64_t all_charged(const session_totals *t) {
  return t->reserved + t->shared + t->buffers * SESSION_BUFFER_COST;
}

/* Whether `more` bytes fit under every limit (the daemon's only when `global`); the one that
 * refuses says why. */
static int admit(const conn_session *s, uint64_t more, bool global, const char **why) {
  const session_limits *l = &s->books->limits;
  if (l->conn_max_bytes && conn_charged(s) + more > l->conn_max_bytes) {
    *why = "this connection's limit is reached";
    return -EDQUOT;
  }
  if (l->user_max_bytes && user_charged(s->user) + more > l->user_max_bytes) {
    *why = "this user's limit is reached";
    return -EDQUOT;
  }
  if (global && l->max_memory && all_charged(&s->books->t) + more > l->max_memory) {
    *why = "the daemon's memory limit is reached";
    return -ENOMEM;
  }
  return 0;
}

int session_admit_buffer(conn_session *s) {
  uint64_t max = s->books->limits.conn_max_buffers;
  if (max && s->heap.buffers >= max) {
    snprintf(s->refusal_text, sizeof s->refusal_text,
             "this connection holds its limit of %llu buffers", (unsigned long long)max);
    s->refusal = s->refusal_text;
    return -EDQUOT;
  }
  return admit(s, SESSION_BUFFER_COST, true, &s->refusal);
}

static int create(void *ctx, uint64_t size, int *fd) {
  conn_session *s = ctx;
  const session_limits *l = &s->books->limits;
  if (l->conn_max_slabs && s->heap.slab.nsegs >= l->conn_max_slabs) {
    s->refusal = "this connection holds its limit of shared-memory objects";
    return -EDQUOT;
  }
  if (l->user_max_slabs && s->user->slabs >= l->user_max_slabs) {
    s->refusal = "this user holds its limit of shared-memory objects";
    return -EDQUOT;
  }
  return segment_create(size, fd);
}

static int charge(void *ctx, int64_t bytes) {
  conn_session *s = ctx;
  if (bytes > 0) {
    int rc = admit(s, (uint64_t)bytes, true, &s->refusal);
    if (rc < 0)
      return rc;
  }
  s->books->t.reserved += (uint64_t)bytes;
  s->user->reserved += (uint64_t)bytes;
  return 0;
}

static void retire(void *ctx, const slab_seg *seg) {
  conn_session *s = ctx;
  if (!seg->announced)
    return;
  if (s->nretired == s->cap_retired) {
    size_t cap = s->cap_retired ? s->cap_retired * 2 : 8;
    uint32_t *r = realloc(s->retired, cap * sizeof *r);
    if (r == NULL)
      return; /* the peer keeps a stale mapping until it closes: harmless */
    s->retired = r;
    s->cap_retired = cap;
  }
  s->retired[s->nretired++] = seg->id;
}

static void unshare(void *ctx, void *shared, const slab_seg *seg) {
  conn_session *s = ctx;
  s->books->unshare(s->books->registry, shared, s, seg);
}

static const slab_ops shm_ops = {
    .create = create,
    .reserve = segment_reserve,
    .punch = segment_punch,
    .zero = segment_zero,
    .destroy = segment_close,
    .charge = charge,
    .retire = retire,
    .unshare = unshare,
};

int session_admit_shared(conn_session *s, uint64_t bytes, bool pay) {
  return admit(s, bytes, pay, &s->refusal);
}

void session_user_pay(session_books *b, session_user *u, int64_t bytes) {
  u->shared += (uint64_t)bytes;
  b->t.shared += (uint64_t)bytes;
  if (bytes < 0)
    user_leave(b, u);
}

void session_pay(conn_session *s, int64_t bytes) {
  s->shared += (uint64_t)bytes;
  session_user_pay(s->books, s->user, bytes);
}

void session_input(conn_session *s, int64_t bytes) {
  session_user *u = s->user;
  bool held = u->input > 0;
  u->input += (uint64_t)bytes;
  if (!held && u->input > 0)
    s->books->input_users++;
  else if (held && u->input == 0)
    s->books->input_users--;
}

void session_import(conn_session *s, int64_t bytes) {
  s->imported += (uint64_t)bytes;
  s->user->imported += (uint64_t)bytes;
}

/* ---- sessions ---------------------------------------------------------------------------- */

session_tally session_tally_of(const conn_session *s) {
  return (session_tally){s->heap.buffers, s->heap.bytes, s->heap.pools, s->heap.slab.nsegs,
                         s->heap.slab.warm, s->heap.leased};
}

void session_account(conn_session *s, session_tally before) {
  session_tally after = session_tally_of(s);
  session_totals *t = &s->books->t;
  t->buffers += after.buffers - before.buffers;
  t->bytes += after.bytes - before.bytes;
  t->pools += after.pools - before.pools;
  t->slabs += after.slabs - before.slabs;
  t->warm += after.warm - before.warm;
  t->leased += after.leased - before.leased;
  s->user->buffers += after.buffers - before.buffers;
  s->user->slabs += (uint32_t)(after.slabs - before.slabs);
}

int session_init(conn_session *s, session_books *b, uid_t uid, gid_t gid, pid_t pid) {
  memset(s, 0, sizeof *s);
  s->gid = gid;
  s->pid = pid;
  if ((s->user = user_join(b, uid)) == NULL)
    return -ENOMEM;
  s->books = b;
  s->pool_size = b->limits.pool_size;
  heap_init(&s->heap, &shm_ops, s, s->pool_size, b->limits.warm_bytes);
  s->user->connections++;
  s->next = b->sessions;
  if (b->sessions)
    b->sessions->prev = s;
  b->sessions = s;
  b->t.connections++;
  b->t.connections_total++;
  return 0;
}

void session_fini(conn_session *s, bool punch) {
  session_tally before = session_tally_of(s);
  heap_fini(&s->heap, punch);
  session_account(s, before);
  s->books->t.resident -= s->resident;
  if (s->prev)
    s->prev->next = s->next;
  else
    s->books->sessions = s->next;
  if (s->next)
    s->next->prev = s->prev;
  s->books->t.connections--;
  s->user->connections--;
  user_leave(s->books, s->user);
  free(s->retired);
  s->retired = NULL;
}

uint64_t session_measure(conn_session *s) {
  uint64_t held = 0;
  for (const slab_seg *seg = s->heap.slab.segs; seg; seg = seg->next) {
    uint64_t bytes; /* a shared object is wholly reserved, and not this session's to measure */
    if (seg->shared == NULL && segment_resident(seg->fd, &bytes) == 0)
      held += bytes;
  }
  s->books->t.resident += held - s->resident;
  s->resident = held;
  return held > s->heap.slab.reserved ? held - s->heap.slab.reserved : 0;
}

uint64_t session_reclaim(conn_session *s) {
  slab_punch_holes(&s->heap.slab);
  return session_measure(s);
}

void session_measure_all(session_books *b) {
  for (conn_session *s = b->sessions; s; s = s->next)
    session_measure(s);
}

uint32_t *session_retired_tell(conn_session *s, size_t *n) {
  *n = s->nretired;
  s->retired_told = true;
  return s->retired;
}

void session_request_starts(conn_session *s) {
  if (s->retired_told) {
    s->nretired = 0;
    s->retired_told = false;
  }
}
