/* SPDX-License-Identifier: MIT */
/* libshmbuf: the connection, the wire, and the slab mappings. */
#include "config.h"

#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "frame.h"

#define REPLY_MAX (16u << 20) /* no reply is near this; a larger header is a broken stream */
#define READ_MIN 4096u
#define MAX_IN_FLIGHT 4096 /* requests in flight before we stop to read replies */
#define SEND_BATCH (64u << 10) /* queued submissions go out once this much is waiting */
#define MAX_FDS 253        /* SCM_MAX_FD */
#define SPARE_HANDLES 256
#define MAX_SLAB_ID (1u << 24) /* ids count up from 1; a daemon never gets near this */

/* ---- the byte stream ---------------------------------------------------------------------- */

static int broken(shmbuf_client *c, int errnum, const char *why) {
  c->broken = true;
  return cl_fail(errnum, "ERR_SHMBUF_DISCONNECTED", "connection to shmbufd lost: %s", why);
}

static int push_fd(shmbuf_client *c, int fd) {
  if (c->nfds == c->cap_fds) {
    size_t cap = c->cap_fds ? c->cap_fds * 2 : 8;
    int *f = realloc(c->fds, cap * sizeof *f);
    if (f == NULL)
      return -ENOMEM;
    c->fds = f;
    c->cap_fds = cap;
  }
  c->fds[c->nfds++] = fd;
  return 0;
}

/* Reads once from the socket, keeping any fds that ride along. Returns 1 after reading, 0
 * when nothing is there and `wait` is false, or a negative errno (the connection is broken). */
static int recv_some(shmbuf_client *c, size_t want, bool wait) {
  if (sb_bytes_reserve(&c->in, want < READ_MIN ? READ_MIN : want) < 0)
    return broken(c, -ENOMEM, "out of memory for a reply");
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
  } ctl;
  struct iovec iov = {sb_bytes_tail(&c->in), sb_bytes_room(&c->in)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                       .msg_controllen = sizeof ctl.buf};
  ssize_t n;
  do
    n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC | (wait ? 0 : MSG_DONTWAIT));
  while (n < 0 && errno == EINTR);
  if (n < 0 && !wait && (errno == EAGAIN || errno == EWOULDBLOCK))
    return 0;
  if (n < 0)
    return broken(c, -ENOTCONN, strerror(errno));
  if (n == 0)
    return broken(c, -ENOTCONN, "the daemon closed the connection");
  int rc = 0;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
      continue;
    size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < nfd; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
      if (rc < 0 || (rc = push_fd(c, fd)) < 0)
        close(fd);
    }
  }
  if (msg.msg_flags & MSG_CTRUNC)
    return broken(c, -EPROTO, "slab descriptors were lost in transit");
  if (rc < 0)
    return broken(c, rc, "out of memory for slab descriptors");
  c->in.len += (size_t)n;
  return 1;
}

/* Writes what is queued. While the socket is full, replies are read meanwhile (not yet
 * settled): a daemon whose replies go unread stops reading, and both would wait forever. */
static int send_queued(shmbuf_client *c) {
  while (c->out.len > 0) {
    ssize_t n = send(c->fd, sb_bytes_head(&c->out), c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sb_bytes_consume(&c->out, (size_t)n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
      return broken(c, -ENOTCONN, strerror(errno));
    struct pollfd p = {c->fd, POLLOUT | POLLIN, 0};
    if (poll(&p, 1, -1) < 0 && errno != EINTR)
      return broken(c, -ENOTCONN, strerror(errno));
    if (p.revents & POLLIN) {
      int rc = recv_some(c, 0, false);
      if (rc < 0)
        return rc;
    }
  }
  sb_bytes_trim(&c->out, 8192);
  return 0;
}

/* The next whole reply frame held in c->in, or NULL. */
static int take_reply(shmbuf_client *c, Shmbufwire__Reply **out, size_t *want) {
  const uint8_t *payload;
  uint32_t len;
  long n = sb_frame_next(sb_bytes_head(&c->in), c->in.len, REPLY_MAX, &payload, &len);
  *out = NULL;
  *want = 0;
  if (n < 0)
    return broken(c, -EPROTO, "the daemon sent a malformed frame");
  if (n == 0) {
    if (c->in.len >= SB_FRAME_HEADER) {
      const uint8_t *p = sb_bytes_head(&c->in);
      *want = ((size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3]) +
              SB_FRAME_HEADER - c->in.len;
    }
    return 0;
  }
  *out = shmbufwire__reply__unpack(NULL, len, payload);
  sb_bytes_consume(&c->in, (size_t)n);
  sb_bytes_trim(&c->in, 65536);
  return *out ? 0 : broken(c, -EPROTO, "the daemon sent an undecodable reply");
}

/* Blocks for the next reply. */
static int read_reply(shmbuf_client *c, Shmbufwire__Reply **out) {
  for (;;) {
    size_t want;
    int rc = take_reply(c, out, &want);
    if (rc < 0 || *out)
      return rc;
    if ((rc = recv_some(c, want, true)) < 0)
      return rc;
  }
}

void cl_reply_free(Shmbufwire__Reply *r) { shmbufwire__reply__free_unpacked(r, NULL); }

static void unmap_slab(shmbuf_client *c, uint32_t id) {
  if (id < c->nslabs && c->slabs[id].base) {
    munmap(c->slabs[id].base, c->slabs[id].size);
    c->slabs[id] = (cl_slab){0};
  }
}

/* ---- requests in flight -------------------------------------------------------------------
 * One ring, in request order: requests waiting for their replies, and results waiting to be
 * handed to their callbacks. Replies are settled as they are read, by any call that reads
 * (taking slab fds strictly in reply order); callbacks run only from shmbuf_process() and
 * shmbuf_wait(), in order, so that no blocking call ever runs user code in the middle of its
 * own work. */

static int map_slab(shmbuf_client *c, uint32_t id, uint64_t size);

static cl_pending *pend_at(shmbuf_client *c, size_t i) {
  return &c->pend[(c->pend_head + i) % c->pend_cap];
}

static bool unanswered(const cl_pending *p) {
  return p->kind == PEND_RELEASE || p->kind == PEND_CALL || p->kind == PEND_BUFFER ||
         p->kind == PEND_LEASE;
}

static int pend_push(shmbuf_client *c, cl_pending p) {
  if (c->pend_len == c->pend_cap) {
    size_t cap = c->pend_cap ? c->pend_cap * 2 : 16;
    cl_pending *ring = malloc(cap * sizeof *ring);
    if (ring == NULL)
      return cl_fail(-ENOMEM, "ERR_SHMBUF_NO_MEMORY", "out of memory");
    for (size_t i = 0; i < c->pend_len; i++)
      ring[i] = *pend_at(c, i);
    free(c->pend);
    c->pend = ring;
    c->pend_head = 0;
    c->pend_cap = cap;
  }
  if (unanswered(&p) && c->unanswered++ == 0)
    c->next_answer = c->pend_len;
  *pend_at(c, c->pend_len++) = p;
  return 0;
}

/* The oldest request still waiting for its reply, or NULL. */
static cl_pending *next_answer(shmbuf_client *c) {
  return c->unanswered ? pend_at(c, c->next_answer) : NULL;
}

/* Marks the oldest request answered and finds the next one. */
static void answered(shmbuf_client *c, pend_kind now) {
  pend_at(c, c->next_answer)->kind = now;
  if (--c->unanswered == 0)
    return;
  do
    c->next_answer++;
  while (!unanswered(pend_at(c, c->next_answer)));
}

/* A failure kept for its callback: the error code and message are the thread's when the
 * callback runs, not when the failure happened. */
static void keep_error(cl_pending *p, int status) {
  p->status = status;
  const char *code = shmbuf_error_code(), *msg = shmbuf_error_message();
  p->err_code = code ? strdup(code) : NULL;
  p->err_message = msg ? strdup(msg) : NULL;
}

/* Hands out, in order, every result at the front of the ring. Returns how many callbacks ran. */
static int deliver(shmbuf_client *c) {
  int n = 0;
  c->delivering++;
  while (c->pend_len > 0 && !c->closing) {
    cl_pending *front = pend_at(c, 0);
    if (unanswered(front))
      break;
    cl_pending done = *front;
    c->pend_head = (c->pend_head + 1) % c->pend_cap;
    c->pend_len--;
    if (c->unanswered)
      c->next_answer--;
    if (done.kind != PEND_READY)
      continue;
    if (done.err_code) {
      cl_fail(done.status, done.err_code, "%s", done.err_message ? done.err_message : "");
      free(done.err_code);
      free(done.err_message);
    }
    done.cb(c, done.status, done.ready, done.arg);
    n++;
  }
  c->delivering--;
  return n;
}

/* A reply with id 0 speaks for the connection (a refusal, a violation) before a close. */
static int notice(shmbuf_client *c, Shmbufwire__Reply *r) {
  int rc = -EPROTO;
  if (r->result_case == SHMBUFWIRE__REPLY__RESULT_ERROR) {
    rc = r->error->errnum < 0 ? r->error->errnum : -EPROTO;
    cl_fail(rc, r->error->code, "%s", r->error->message);
  } else
    cl_fail(rc, "ERR_SHMBUF_PROTOCOL", "unexpected reply from the daemon");
  c->broken = true;
  cl_reply_free(r);
  return rc;
}

static int reply_error(const Shmbufwire__Reply *r) {
  int rc = r->error->errnum < 0 ? r->error->errnum : -EPROTO;
  return cl_fail(rc, r->error->code, "%s", r->error->message);
}

/* Gives a reply to the request it answers: the oldest still waiting. Returns 0, or a negative
 * errno when the connection broke. */
static int settle(shmbuf_client *c, Shmbufwire__Reply *r) {
  cl_pending *p = next_answer(c);
  if (r->id == 0)
    return notice(c, r);
  if (p == NULL || p->id != r->id) {
    cl_reply_free(r);
    return broken(c, -EPROTO, "a reply answers no request in flight");
  }
  switch (p->kind) {
  case PEND_RELEASE:
    if (r->result_case == SHMBUFWIRE__REPLY__RESULT_RELEASED)
      for (size_t i = 0; i < r->released->n_retired_slabs; i++)
        unmap_slab(c, r->released->retired_slabs[i]);
    answered(c, PEND_DONE);
    cl_reply_free(r);
    return 0;
  case PEND_CALL: {
    int rc = 0;
    /* a slab's fd is taken now, in reply order, whatever the caller does next */
    if (r->result_case == SHMBUFWIRE__REPLY__RESULT_BUFFER && r->buffer->slab_size) {
      rc = map_slab(c, r->buffer->slab, r->buffer->slab_size);
      r->buffer->slab_size = 0;
    }
    *(Shmbufwire__Reply **)p->arg = r;
    answered(c, PEND_DONE);
    return rc;
  }
  case PEND_LEASE:
    answered(c, PEND_DONE);
    if (r->result_case == SHMBUFWIRE__REPLY__RESULT_ERROR)
      cl_pool_leased(c, reply_error(r), NULL);
    else if (r->result_case == SHMBUFWIRE__REPLY__RESULT_BUFFER)
      cl_pool_leased(c, 0, r->buffer);
    else
      cl_pool_leased(c, broken(c, -EPROTO, "the daemon answered a lease with no pool"), NULL);
    cl_reply_free(r);
    return c->broken ? -ENOTCONN : 0;
  default: {
    shmbuf_buf *b = NULL;
    int rc;
    if (r->result_case == SHMBUFWIRE__REPLY__RESULT_ERROR)
      rc = reply_error(r);
    else if (r->result_case == SHMBUFWIRE__REPLY__RESULT_BUFFER)
      rc = cl_adopt(c, r->buffer, UINT64_MAX, &b);
    else
      rc = broken(c, -EPROTO, "the daemon answered with something other than a buffer");
    cl_reply_free(r);
    p->ready = b;
    if (rc < 0)
      keep_error(p, rc);
    answered(c, PEND_READY);
    return c->broken ? -ENOTCONN : 0;
  }
  }
}

/* The connection is lost: requests that will never be answered fail with its error. */
static void fail_in_flight(shmbuf_client *c) {
  cl_fail(-ENOTCONN, "ERR_SHMBUF_DISCONNECTED", "not connected to shmbufd");
  while (c->unanswered) {
    cl_pending *p = next_answer(c);
    pend_kind kind = p->kind;
    if (kind == PEND_BUFFER) {
      p->ready = NULL;
      keep_error(p, -ENOTCONN);
    }
    answered(c, kind == PEND_BUFFER ? PEND_READY : PEND_DONE);
    if (kind == PEND_LEASE)
      cl_pool_leased(c, -ENOTCONN, NULL);
  }
}

int cl_settle_one(shmbuf_client *c) {
  Shmbufwire__Reply *r;
  int rc = send_queued(c);
  if (rc == 0 && (rc = read_reply(c, &r)) == 0)
    rc = settle(c, r);
  return rc;
}

/* Queues one request frame and what to do with its reply. */
static int queue(shmbuf_client *c, Shmbufwire__Request *q, pend_kind kind, shmbuf_cb cb,
                 void *arg) {
  if (c->broken || c->closing)
    return cl_fail(-ENOTCONN, "ERR_SHMBUF_DISCONNECTED", "not connected to shmbufd");
  int rc;
  while (c->unanswered >= MAX_IN_FLIGHT) /* bound what both sides hold: read some answers */
    if ((rc = cl_settle_one(c)) < 0)
      return rc;
  q->id = ++c->next_id;
  rc = sb_frame_append(&c->out, &q->base, c->max_frame ? c->max_frame : SB_FRAME_MAX_DEFAULT);
  if (rc == -EMSGSIZE)
    return cl_fail(-E2BIG, "ERR_SHMBUF_TOO_LARGE",
                   "the request is larger than the daemon's frame limit of %u bytes",
                   c->max_frame);
  if (rc < 0)
    return cl_fail(rc, "ERR_SHMBUF_NO_MEMORY", "out of memory");
  return pend_push(c, (cl_pending){.id = q->id, .kind = kind, .cb = cb, .arg = arg});
}

int cl_call(shmbuf_client *c, Shmbufwire__Request *q, Shmbufwire__Reply **out) {
  Shmbufwire__Reply *answer = NULL;
  int rc = queue(c, q, PEND_CALL, NULL, &answer);
  while (rc == 0 && answer == NULL)
    rc = cl_settle_one(c);
  if (rc < 0) { /* nothing may settle into `answer` once this returns */
    if (!c->broken)
      broken(c, rc, "a reply could not be read");
    cl_reply_free(answer);
    return rc;
  }
  if (answer->result_case == SHMBUFWIRE__REPLY__RESULT_ERROR) {
    rc = reply_error(answer);
    cl_reply_free(answer);
    return rc;
  }
  *out = answer;
  return 0;
}

int cl_submit(shmbuf_client *c, Shmbufwire__Request *q, shmbuf_cb cb, void *arg) {
  int rc = queue(c, q, PEND_BUFFER, cb, arg);
  return rc < 0 || c->out.len < SEND_BATCH ? rc : send_queued(c);
}

int cl_submit_lease(shmbuf_client *c, Shmbufwire__Request *q) {
  return queue(c, q, PEND_LEASE, NULL, NULL);
}

int cl_submit_ready(shmbuf_client *c, int status, shmbuf_buf *buf, shmbuf_cb cb, void *arg) {
  cl_pending p = {.kind = PEND_READY, .cb = cb, .arg = arg, .ready = buf, .status = status};
  if (status < 0)
    keep_error(&p, status);
  int rc = pend_push(c, p);
  if (rc < 0) {
    free(p.err_code);
    free(p.err_message);
  }
  return rc;
}

void cl_send_release(shmbuf_client *c, uint64_t id) {
  Shmbufwire__Request q;
  Shmbufwire__Release rel;
  shmbufwire__request__init(&q);
  shmbufwire__release__init(&rel);
  rel.buffer = id;
  q.op_case = SHMBUFWIRE__REQUEST__OP_RELEASE;
  q.release = &rel;
  /* sent at once, so that the memory is free for everyone now; the answer is read later */
  if (queue(c, &q, PEND_RELEASE, NULL, NULL) == 0)
    send_queued(c);
}

int shmbuf_flush(shmbuf_client *c) {
  return c->broken ? cl_fail(-ENOTCONN, "ERR_SHMBUF_DISCONNECTED", "not connected to shmbufd")
                   : send_queued(c);
}

static void really_close(shmbuf_client *c);

/* After the callbacks: a shmbuf_close() one of them asked for happens now. */
static int after_callbacks(shmbuf_client *c, int rc) {
  if (c->closing && c->delivering == 0) {
    really_close(c);
    return -ECANCELED;
  }
  return rc;
}

int shmbuf_process(shmbuf_client *c) {
  int n = 0, rc = 0;
  while (!c->broken && (rc = recv_some(c, 0, false)) > 0)
    ;
  while (!c->broken && rc >= 0) {
    Shmbufwire__Reply *r;
    size_t want;
    if ((rc = take_reply(c, &r, &want)) < 0 || r == NULL)
      break;
    rc = settle(c, r);
  }
  if (c->broken)
    fail_in_flight(c);
  n = deliver(c);
  if (c->broken)
    n = cl_fail(-ENOTCONN, "ERR_SHMBUF_DISCONNECTED", "not connected to shmbufd");
  return after_callbacks(c, n);
}

int shmbuf_wait(shmbuf_client *c) {
  int rc = 0;
  while (rc == 0 && !c->closing && (c->unanswered > 0 || c->pend_len > 0)) {
    deliver(c);
    if (c->unanswered > 0 && !c->broken)
      rc = cl_settle_one(c); /* flushes what callbacks queued, too */
    else if (c->unanswered == 0 && c->pend_len == 0)
      rc = send_queued(c);
    if (c->broken) {
      fail_in_flight(c);
      deliver(c);
      rc = cl_fail(-ENOTCONN, "ERR_SHMBUF_DISCONNECTED", "not connected to shmbufd");
    }
  }
  if (rc == 0 && !c->closing)
    rc = send_queued(c);
  return after_callbacks(c, rc);
}

int shmbuf_fd(const shmbuf_client *c) { return c->fd; }

/* ---- slabs and handles -------------------------------------------------------------------- */

static int map_slab(shmbuf_client *c, uint32_t id, uint64_t size) {
  if (c->nfds == 0)
    return broken(c, -EPROTO, "a slab arrived without its descriptor");
  int fd = c->fds[0];
  memmove(c->fds, c->fds + 1, --c->nfds * sizeof *c->fds);
  if (id > MAX_SLAB_ID)
    return broken(c, -EPROTO, "a slab id out of range");
  if (id >= c->nslabs) {
    uint32_t n = id + 16;
    cl_slab *s = realloc(c->slabs, n * sizeof *s);
    if (s == NULL) {
      close(fd);
      return broken(c, -ENOMEM, "out of memory for a slab");
    }
    memset(s + c->nslabs, 0, (n - c->nslabs) * sizeof *s);
    c->slabs = s;
    c->nslabs = n;
  }
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd); /* the mapping keeps the object alive */
  if (p == MAP_FAILED)
    return broken(c, -err, "cannot map a slab");
  unmap_slab(c, id);
  c->slabs[id] = (cl_slab){p, size};
  return 0;
}

shmbuf_buf *cl_view(shmbuf_client *c, cl_backing *bk, uint8_t *data, size_t length,
                    size_t byte_offset) {
  shmbuf_buf *b = c->spare;
  if (b) {
    c->spare = b->next;
    c->nspare--;
  } else if ((b = malloc(sizeof *b)) == NULL)
    return NULL;
  *b = (shmbuf_buf){c, bk, data, length, byte_offset, NULL, c->bufs};
  if (c->bufs)
    c->bufs->prev = b;
  c->bufs = b;
  bk->refs++;
  return b;
}

void shmbuf_release(shmbuf_buf *b) {
  if (b == NULL)
    return;
  shmbuf_client *c = b->c;
  if (b->prev)
    b->prev->next = b->next;
  else
    c->bufs = b->next;
  if (b->next)
    b->next->prev = b->prev;
  cl_unref(c, b->bk);
  if (c->nspare < SPARE_HANDLES) {
    b->next = c->spare;
    c->spare = b;
    c->nspare++;
  } else
    free(b);
}

void cl_unref(shmbuf_client *c, cl_backing *bk) {
  if (--bk->refs > 0 || cl_cache_keep(c, bk))
    return;
  if (bk->id)
    cl_send_release(c, bk->id);
  free(bk);
}

int cl_backing_new(shmbuf_client *c, const Shmbufwire__Buffer *b, cl_backing **out) {
  uint8_t *ab = NULL;
  int rc;
  if (b->slab) {
    if (b->slab_size && (rc = map_slab(c, b->slab, b->slab_size)) < 0)
      return rc;
    const cl_slab *s = b->slab < c->nslabs ? &c->slabs[b->slab] : NULL;
    if (s == NULL || s->base == NULL || b->ab_offset > s->size ||
        b->ab_length > s->size - b->ab_offset || b->byte_offset > b->ab_length ||
        b->length > b->ab_length - b->byte_offset)
      return broken(c, -EPROTO, "a buffer reply points outside its slab");
    ab = s->base + b->ab_offset;
  }
  else if (b->slab_size)
    return broken(c, -EPROTO, "a descriptor came for no slab");
  cl_backing *bk = malloc(sizeof *bk);
  if (bk == NULL) {
    cl_send_release(c, b->buffer);
    return cl_fail(-ENOMEM, "ERR_SHMBUF_NO_MEMORY", "out of memory");
  }
  /* an empty ArrayBuffer has no place in a slab: it is its own, named by its buffer */
  uint64_t key = b->slab ? (uint64_t)b->slab << 40 | b->ab_offset : 1ull << 63 | b->buffer;
  *bk = (cl_backing){b->buffer, ab, b->ab_length, key, b->byte_offset, b->length, 0, b->pooled};
  *out = bk;
  return 0;
}

int cl_adopt(shmbuf_client *c, const Shmbufwire__Buffer *b, uint64_t length, shmbuf_buf **out) {
  cl_backing *bk;
  int rc = cl_backing_new(c, b, &bk);
  if (rc < 0)
    return rc;
  if (length == UINT64_MAX || length > b->length)
    length = b->length;
  shmbuf_buf *v = cl_view(c, bk, bk->ab ? bk->ab + b->byte_offset : NULL, length, b->byte_offset);
  if (v == NULL) {
    cl_send_release(c, b->buffer);
    free(bk);
    return cl_fail(-ENOMEM, "ERR_SHMBUF_NO_MEMORY", "out of memory");
  }
  *out = v;
  return 0;
}

int cl_call_room(shmbuf_client *c, Shmbufwire__Request *q, Shmbufwire__Reply **out) {
  int rc = cl_call(c, q, out);
  if ((rc == -ENOMEM || rc == -EDQUOT || rc == -ENOSPC) && (c->cache[0] || c->nspares)) {
    shmbuf_trim(c); /* what this client holds ahead of need counts against its limits too */
    rc = cl_call(c, q, out);
  }
  return rc;
}

int cl_make(shmbuf_client *c, Shmbufwire__Request *q, shmbuf_buf **out) {
  Shmbufwire__Reply *r;
  int rc = cl_call_room(c, q, &r);
  if (rc < 0)
    return rc;
  if (r->result_case == SHMBUFWIRE__REPLY__RESULT_BUFFER)
    rc = cl_adopt(c, r->buffer, UINT64_MAX, out);
  else
    rc = broken(c, -EPROTO, "the daemon answered with something other than a buffer");
  cl_reply_free(r);
  return rc;
}

/* ---- connecting ----------------------------------------------------------------------------- */

int shmbuf_default_socket(char *out, size_t cap) {
  const char *env = getenv("SHMBUF_SOCKET"), *rt = getenv("XDG_RUNTIME_DIR");
  static const char system_socket[] = "/run/shmbuf/shmbufd.sock";
  char own[256];
  int n;
  if (rt && rt[0])
    snprintf(own, sizeof own, "%s/shmbuf.sock", rt);
  else
    snprintf(own, sizeof own, "/run/user/%u/shmbuf.sock", (unsigned)geteuid());
  if (env && env[0])
    n = snprintf(out, cap, "%s", env);
  else if (geteuid() == 0 || (access(own, F_OK) != 0 && access(system_socket, F_OK) == 0))
    n = snprintf(out, cap, "%s", system_socket); /* a user without a daemon of their own */
  else
    n = snprintf(out, cap, "%s", own);
  return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : n;
}

static int hello(shmbuf_client *c) {
  Shmbufwire__Request q;
  Shmbufwire__Hello h;
  shmbufwire__request__init(&q);
  shmbufwire__hello__init(&h);
  h.version = SB_PROTOCOL_VERSION;
  h.client = "libshmbuf " PACKAGE_VERSION;
  q.op_case = SHMBUFWIRE__REQUEST__OP_HELLO;
  q.hello = &h;
  Shmbufwire__Reply *r;
  int rc = cl_call(c, &q, &r);
  if (rc < 0)
    return rc;
  if (r->result_case != SHMBUFWIRE__REPLY__RESULT_WELCOME)
    rc = broken(c, -EPROTO, "the daemon did not answer the handshake");
  else if (r->welcome->pool_size < 8)
    rc = broken(c, -EPROTO, "the daemon announced an impossible pool size");
  else {
    c->pool_size = r->welcome->pool_size;
    c->max_frame = r->welcome->max_frame;
  }
  cl_reply_free(r);
  return rc;
}

int shmbuf_connect_ex(const char *socket_path, unsigned flags, shmbuf_client **out) {
  char path[sizeof((struct sockaddr_un *)0)->sun_path];
  if (socket_path == NULL) {
    if (shmbuf_default_socket(path, sizeof path) < 0)
      return cl_fail(-ENAMETOOLONG, "ERR_SHMBUF_CONNECT", "the socket path is too long");
  } else if (snprintf(path, sizeof path, "%s", socket_path) >= (int)sizeof path)
    return cl_fail(-ENAMETOOLONG, "ERR_SHMBUF_CONNECT", "the socket path is too long: %s",
                   socket_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return cl_fail(-errno, "ERR_SHMBUF_CONNECT", "socket: %s", strerror(errno));
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  memcpy(a.sun_path, path, strlen(path) + 1);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    int err = errno;
    close(fd);
    return cl_fail(-err, "ERR_SHMBUF_CONNECT", "cannot connect to shmbufd at %s: %s", path,
                   strerror(err));
  }
  shmbuf_client *c = calloc(1, sizeof *c);
  if (c == NULL) {
    close(fd);
    return cl_fail(-ENOMEM, "ERR_SHMBUF_NO_MEMORY", "out of memory");
  }
  c->fd = fd;
  c->flags = flags;
  int rc = hello(c);
  if (rc < 0) {
    shmbuf_close(c);
    return rc;
  }
  *out = c;
  return 0;
}

int shmbuf_connect(const char *socket_path, shmbuf_client **out) {
  return shmbuf_connect_ex(socket_path, 0, out);
}

static void really_close(shmbuf_client *c) {
  /* Closing the socket gives everything back in the daemon: no release messages needed.
   * Requests in flight are dropped, their callbacks never run. */
  while (c->bufs) {
    shmbuf_buf *b = c->bufs;
    c->bufs = b->next;
    if (--b->bk->refs == 0)
      free(b->bk);
    free(b);
  }
  if (c->pool && --c->pool->refs == 0)
    free(c->pool);
  for (int i = 0; i < c->nspares; i++)
    free(c->spares[i]);
  for (size_t i = 0; i < CL_CACHE_SLOTS; i++)
    free(c->cache[i]);
  while (c->spare) {
    shmbuf_buf *b = c->spare;
    c->spare = b->next;
    free(b);
  }
  for (uint32_t i = 0; i < c->nslabs; i++)
    unmap_slab(c, i);
  for (size_t i = 0; i < c->nfds; i++)
    close(c->fds[i]);
  close(c->fd);
  free(c->fds);
  free(c->slabs);
  for (size_t i = 0; i < c->pend_len; i++) {
    free(pend_at(c, i)->err_code);
    free(pend_at(c, i)->err_message);
  }
  free(c->pend);
  sb_bytes_free(&c->in);
  sb_bytes_free(&c->out);
  free(c);
}

void shmbuf_close(shmbuf_client *c) {
  if (c == NULL)
    return;
  if (c->delivering) { /* inside a callback: when the callbacks are done */
    c->closing = true;
    return;
  }
  really_close(c);
}

void shmbuf_trim(shmbuf_client *c) {
  cl_cache_drop(c);
  cl_pool_drop_spares(c);
}

uint32_t shmbuf_pool_size(const shmbuf_client *c) { return c->pool_size; }

int shmbuf_stats(shmbuf_client *c, shmbuf_counter **counters, size_t *n) {
  Shmbufwire__Request q;
  Shmbufwire__Stats st;
  shmbufwire__request__init(&q);
  shmbufwire__stats__init(&st);
  q.op_case = SHMBUFWIRE__REQUEST__OP_STATS;
  q.stats = &st;
  Shmbufwire__Reply *r;
  int rc = cl_call(c, &q, &r);
  if (rc < 0)
    return rc;
  if (r->result_case != SHMBUFWIRE__REPLY__RESULT_STATS) {
    cl_reply_free(r);
    return broken(c, -EPROTO, "the daemon answered stats with something else");
  }
  /* One allocation: the array, then the strings it points to. */
  size_t count = r->stats->n_counters, bytes = count * sizeof **counters;
  for (size_t i = 0; i < count; i++)
    bytes += strlen(r->stats->counters[i]->name) + strlen(r->stats->counters[i]->help) + 2;
  shmbuf_counter *out = malloc(bytes ? bytes : 1);
  if (out == NULL) {
    cl_reply_free(r);
    return cl_fail(-ENOMEM, "ERR_SHMBUF_NO_MEMORY", "out of memory");
  }
  char *str = (char *)(out + count);
  for (size_t i = 0; i < count; i++) {
    const Shmbufwire__Counter *k = r->stats->counters[i];
    out[i].value = k->value;
    out[i].gauge = k->gauge;
    out[i].name = strcpy(str, k->name);
    str += strlen(k->name) + 1;
    out[i].help = strcpy(str, k->help);
    str += strlen(k->help) + 1;
  }
  cl_reply_free(r);
  *counters = out;
  *n = count;
  return 0;
}
