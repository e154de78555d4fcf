/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"
#include "segment.h"

#define OUT_HIGH (256u << 10)   /* unread replies past which a peer is not read */
#define READ_MIN 4096u
#define READ_CHUNK (64u << 10)  /* a frame's buffer grows by at most this per read */
#define READ_ROUNDS 4           /* reads per wakeup, so one busy peer cannot starve others */
#define TURN_FRAMES 64          /* requests answered per connection per loop turn */
#define TURN_BYTES (4u << 20)   /* request bytes, and bytes they make, per connection per turn */
#define JOB_SLICE (1u << 20)    /* bytes of a bulk job done per connection per loop turn */
#define JOB_INLINE (1u << 20)   /* a job this small is done at once */
#define FDS_IN_FLIGHT 64        /* fds a peer may have unread before it is read no more */
#define FD_RETRY_MS 10          /* how soon a peer waiting on its unread fds is looked at again */
#define BUF_KEEP 8192u          /* buffer an idle connection keeps */
#define MAX_FDS_PER_SEND 64
#define SWEEP_MS 250
#define MEASURE_EVERY 4         /* sweeps between measurements of what the kernel holds */
#define TOUCH_SLACK (64u << 10) /* memory a peer may hold beyond its reservations (rounding) */
#define GRACE_MS 5000

#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

typedef struct server_pending_fd {
  uint64_t pos;  /* stream position of the reply the fd belongs to */
  int fd;        /* the peer's own fd, closed once sent; or the server's placeholder */
  uint32_t slab; /* what it maps, so a slab destroyed meanwhile loses its fd */
} server_pending_fd;

typedef struct server_conn {
  uv_poll_t poll;
  server *server;
  int fd;
  int events;
  struct ucred peer;
  sb_bytes in, out;
  uint64_t out_pos;       /* stream position of out's first byte */
  server_pending_fd *fds; /* fds of replies not yet sent, in stream order */
  size_t nfds, cap_fds;
  uint32_t in_flight;     /* fds sent that the peer may not have read yet */
  bool fds_refused;       /* the kernel refused more fds in flight (ETOOMANYREFS) */
  dispatch_job job;       /* bulk work of the request being answered */
  sb_bytes held;          /* its reply, until the job is done */
  int held_fd;
  uint32_t held_slab;
  uint64_t accepted_ms, last_request_ms;
  uint64_t partial_ms;    /* time spent waiting for the peer's half-received frame */
  bool eof, closing, closed, in_session, input_paused, busy;
  conn_session sess;
  struct server_conn *prev, *next;         /* every connection */
  struct server_conn *work_prev, *work_next; /* connections with work left for the next turn */
} server_conn;

struct server {
  uv_loop_t *loop;
  uv_pipe_t listener;
  uv_timer_t sweep;
  uv_timer_t grace;
  uv_timer_t fd_retry;  /* while a peer waits for the fds it has not read */
  uv_idle_t work;       /* while some connection has work left: keeps the loop turning */
  dispatcher *d;
  char *bound;          /* the socket file we created, removed by server_free() */
  dev_t bound_dev;      /* ... while it is still that socket */
  ino_t bound_ino;
  char *path;           /* for messages */
  server_options opt;   /* lists point at our own copies */
  server_conn *conns;
  uint32_t nconns;
  server_conn *busy;    /* connections with work left */
  uint64_t input_bytes; /* what every connection's input buffer holds */
  uint32_t input_paused; /* connections paused for the input budget */
  int placeholder;      /* an empty object, sent in place of a slab destroyed before its fd left */
  uint64_t last_sweep;
  unsigned sweeps;
  bool accept_paused;   /* a peer waits in the listener for a free slot */
  bool shutting_down;
  bool grace_closing;
  int handles;          /* open handles of our own, to know when shutdown is over */
  void (*done)(server *s, void *arg);
  void *done_arg;
  dispatch_reply reply; /* one request at a time */
};

static void conn_pump(server_conn *c);
static void conn_close(server_conn *c);
static void on_work(uv_idle_t *h);
static void on_fd_retry(uv_timer_t *t);

/* ---- accounting -------------------------------------------------------------------------- */

/* What an input buffer of `cap` bytes weighs against the input budget: what a frame made it
 * grow past the little every connection keeps. */
static uint64_t input_weight(size_t cap) { return cap > BUF_KEEP ? cap - BUF_KEEP : 0; }

/* After c->in's capacity may have changed from old: keeps the server's input total, and its
 * user's. */
static void input_changed(server_conn *c, size_t old) {
  int64_t delta = (int64_t)input_weight(c->in.cap) - (int64_t)input_weight(old);
  c->server->input_bytes += (uint64_t)delta;
  c->server->d->books->t.input = c->server->input_bytes;
  if (c->in_session)
    session_input(&c->sess, delta);
}

/* Marks c as having work left for the next loop turn, or not. */
static void set_busy(server_conn *c, bool busy) {
  server *s = c->server;
  if (busy == c->busy)
    return;
  c->busy = busy;
  if (busy) {
    c->work_prev = NULL;
    c->work_next = s->busy;
    if (s->busy)
      s->busy->work_prev = c;
    s->busy = c;
    if (!uv_is_active((uv_handle_t *)&s->work))
      uv_idle_start(&s->work, on_work);
  } else {
    if (c->work_prev)
      c->work_prev->work_next = c->work_next;
    else
      s->busy = c->work_next;
    if (c->work_next)
      c->work_next->work_prev = c->work_prev;
  }
}

/* Whether the fds c has not read yet keep it from being served: they are looked at again
 * (the socket's unread bytes, SIOCOUTQ, tell when the peer has read everything). */
static bool fds_waiting(server_conn *c) {
  if (c->in_flight + c->nfds < FDS_IN_FLIGHT && !c->fds_refused)
    return false;
  int unread;
  if (ioctl(c->fd, SIOCOUTQ, &unread) == 0 && unread == 0) {
    c->in_flight = 0;
    c->fds_refused = false;
  }
  if (c->in_flight + c->nfds < FDS_IN_FLIGHT && !c->fds_refused)
    return false;
  if (!uv_is_active((uv_handle_t *)&c->server->fd_retry))
    uv_timer_start(&c->server->fd_retry, on_fd_retry, FD_RETRY_MS, FD_RETRY_MS);
  return true;
}

/* ---- writing ------------------------------------------------------------------------------ */

/* Sends what is queued. A partial send delivers every fd it carried (the kernel attaches
 * them to its first byte), so each sendmsg carries the fds of replies not yet started, and
 * stops before a reply whose fd did not fit. Returns 0 (maybe with bytes left: EAGAIN, or fds
 * the kernel will not take yet) or a negative errno. */
static int conn_flush(server_conn *c) {
  while (c->out.len > 0) {
    size_t len = c->out.len, nf = c->nfds < MAX_FDS_PER_SEND ? c->nfds : MAX_FDS_PER_SEND;
    if (c->fds_refused) /* the bytes before the first fd may go; the fds wait */
      nf = 0;
    if (nf < c->nfds && c->fds[nf].pos - c->out_pos < len)
      len = (size_t)(c->fds[nf].pos - c->out_pos);
    if (len == 0)
      return 0;
    struct iovec iov = {sb_bytes_head(&c->out), len};
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(sizeof(int) * MAX_FDS_PER_SEND)];
    } ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nf > 0) {
      memset(&ctl, 0, sizeof ctl);
      msg.msg_control = ctl.buf;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * nf);
      struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
      cm->cmsg_level = SOL_SOCKET;
      cm->cmsg_type = SCM_RIGHTS;
      cm->cmsg_len = CMSG_LEN(sizeof(int) * nf);
      for (size_t i = 0; i < nf; i++)
        memcpy(CMSG_DATA(cm) + i * sizeof(int), &c->fds[i].fd, sizeof(int));
    }
    ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == ETOOMANYREFS) { /* the daemon's user has too many fds in flight */
        c->fds_refused = true;
        continue;
      }
      return errno == EAGAIN ? 0 : -errno;
    }
    if (nf > 0) {
      for (size_t i = 0; i < nf; i++)
        if (c->fds[i].fd != c->server->placeholder)
          close(c->fds[i].fd);
      memmove(c->fds, c->fds + nf, (c->nfds - nf) * sizeof *c->fds);
      c->nfds -= nf;
      c->in_flight += (uint32_t)nf;
    }
    sb_bytes_consume(&c->out, (size_t)n);
    c->out_pos += (uint64_t)n;
  }
  sb_bytes_trim(&c->out, BUF_KEEP);
  return 0;
}

static int queue_fd(server_conn *c, uint64_t pos, int fd, uint32_t slab) {
  if (c->nfds == c->cap_fds) {
    size_t cap = c->cap_fds ? c->cap_fds * 2 : 4;
    server_pending_fd *f = realloc(c->fds, cap * sizeof *f);
    if (f == NULL)
      return -ENOMEM;
    c->fds = f;
    c->cap_fds = cap;
  }
  c->fds[c->nfds++] = (server_pending_fd){pos, fd, slab};
  return 0;
}

/* Queues packed reply bytes and the fd that goes with them (taking it). Returns 0 or a
 * negative errno (the fd is closed then). */
static int queue_packed(server_conn *c, const uint8_t *p, size_t n, int fd, uint32_t slab) {
  uint64_t pos = c->out_pos + c->out.len;
  int rc = sb_bytes_reserve(&c->out, n);
  if (rc == 0) {
    memcpy(sb_bytes_tail(&c->out), p, n);
    c->out.len += n;
    if (fd >= 0)
      rc = queue_fd(c, pos, fd, slab);
  }
  if (rc < 0 && fd >= 0)
    close(fd);
  return rc;
}

/* Queues the server's reply for c, or holds it while its job runs. Takes the reply's fd. */
static int conn_queue(server_conn *c, dispatch_reply *r) {
  int fd = r->fd;
  r->fd = -1;
  uint32_t slab = r->msg.result_case == SHMBUFWIRE__REPLY__RESULT_BUFFER ? r->msg.buffer->slab : 0;
  if (r->close)
    c->closing = true;
  sb_bytes *to = r->job.kind != DISPATCH_JOB_NONE ? &c->held : &c->out;
  size_t before = to->len;
  int rc = sb_frame_append(to, &r->msg.base, UINT32_MAX);
  if (rc < 0) {
    if (fd >= 0)
      close(fd);
    return rc;
  }
  if (to == &c->held) {
    c->job = r->job;
    r->job = (dispatch_job){.kind = DISPATCH_JOB_NONE, .dst = -1, .src = -1};
    c->held_fd = fd;
    c->held_slab = slab;
    return 0;
  }
  if (fd >= 0 && (rc = queue_fd(c, c->out_pos + before, fd, slab)) < 0)
    close(fd);
  return rc;
}

/* Slabs the peer was just told are destroyed may still have fds waiting to be sent (only a
 * peer that releases buffers it was never told of can bring that about): the fds go, and the
 * placeholder stands in, so no fd is held for a slab that no longer exists. */
static void drop_retired_fds(server_conn *c, const uint32_t *retired, size_t n) {
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < c->nfds; k++)
      if (c->fds[k].slab == retired[i] && c->fds[k].fd != c->server->placeholder) {
        close(c->fds[k].fd);
        c->fds[k].fd = c->server->placeholder;
      }
}

/* ---- connection lifetime ------------------------------------------------------------------- */

/* One of our handles is closed; during shutdown the last one calls `done`. */
static void handle_closed(server *s) {
  s->handles--;
  if (s->handles == 0 && s->done) {
    void (*done)(server *, void *) = s->done;
    s->done = NULL;
    done(s, s->done_arg);
  }
}

static void on_own_closed(uv_handle_t *h) { handle_closed(h->data); }

/* During shutdown: once no connection is left, the timers go too, and the last close calls
 * `done`. */
static void shutdown_progress(server *s) {
  if (s->shutting_down && s->conns == NULL && !s->grace_closing) {
    s->grace_closing = true;
    uv_close((uv_handle_t *)&s->grace, on_own_closed);
    uv_close((uv_handle_t *)&s->fd_retry, on_own_closed);
    uv_close((uv_handle_t *)&s->work, on_own_closed);
  }
}

static void accept_one(server *s);
static void input_resume(server *s);

static void on_conn_closed(uv_handle_t *h) {
  server_conn *c = container_of(h, server_conn, poll);
  server *s = c->server;
  for (size_t i = 0; i < c->nfds; i++)
    if (c->fds[i].fd != s->placeholder)
      close(c->fds[i].fd);
  free(c->fds);
  close(c->fd);
  dispatch_job_drop(&c->job);
  if (c->held_fd >= 0)
    close(c->held_fd);
  sb_bytes_free(&c->held);
  size_t held = c->in.cap;
  sb_bytes_free(&c->in);
  input_changed(c, held); /* its input weighs nothing now, for the server and its user */
  /* A peer that went away gives everything back, even memory it may still map; a daemon
   * that is stopping leaves its peers their data. */
  if (c->in_session) {
    share_session_gone(s->d->shares, &c->sess);
    session_fini(&c->sess, !s->shutting_down);
  }
  sb_bytes_free(&c->out);
  free(c);
  if (s->accept_paused && !s->shutting_down) {
    s->accept_paused = false;
    accept_one(s);
  }
  input_resume(s);
  handle_closed(s);
}

static void conn_close(server_conn *c) {
  if (c->closed)
    return;
  c->closed = true;
  server *s = c->server;
  set_busy(c, false);
  if (c->prev)
    c->prev->next = c->next;
  else
    s->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  s->nconns--;
  s->input_paused -= c->input_paused;
  c->closing = true;
  uv_close((uv_handle_t *)&c->poll, on_conn_closed);
  shutdown_progress(s);
}

/* Ends a connection with a notice saying why (it is flushed first when it can be). */
static void conn_dismiss(server_conn *c, int errnum, const char *code, const char *why) {
  server *s = c->server;
  log_info("pid %d: %s; closing", (int)c->peer.pid, why);
  dispatch_job_drop(&c->job); /* its buffer goes with the session */
  if (c->held_fd >= 0)
    close(c->held_fd);
  c->held_fd = -1;
  sb_bytes_consume(&c->held, c->held.len);
  dispatch_notice(&s->reply, errnum, code, why);
  if (conn_queue(c, &s->reply) < 0)
    c->closing = true;
  sb_bytes_consume(&c->in, c->in.len);
  set_busy(c, false);
  conn_pump(c);
}

/* ---- reading ------------------------------------------------------------------------------ */

/* The largest frame this connection may send: what its welcome said, or the current limit
 * before one. */
static uint32_t frame_limit(const server_conn *c) {
  return c->in_session && c->sess.max_frame ? c->sess.max_frame
                                            : c->server->d->books->limits.max_frame;
}

static void frame_violation(server_conn *c, long why) {
  char msg[160];
  if (why == -EMSGSIZE)
    snprintf(msg, sizeof msg, "a frame of %u bytes exceeds the limit of %u bytes",
             sb_frame_length(sb_bytes_head(&c->in)) & ~SB_FRAME_BATCH, frame_limit(c));
  else
    snprintf(msg, sizeof msg, "a frame of length 0 is not allowed");
  conn_dismiss(c, (int)why, "ERR_SHMBUF_PROTOCOL", msg);
}

/* Runs a slice of c's job; when it is done (or failed), its reply goes out. Returns whether
 * the job is over. */
static bool conn_job(server_conn *c, uint64_t budget) {
  server *s = c->server;
  int rc = dispatch_job_run(s->d, &c->sess, &c->job, budget, &s->reply);
  if (rc == 0)
    return false;
  if (rc > 0)
    rc = queue_packed(c, sb_bytes_head(&c->held), c->held.len, c->held_fd, c->held_slab);
  else {
    if (c->held_fd >= 0)
      close(c->held_fd);
    rc = conn_queue(c, &s->reply);
  }
  c->held_fd = -1;
  sb_bytes_consume(&c->held, c->held.len);
  sb_bytes_trim(&c->held, BUF_KEEP);
  if (rc < 0) {
    log_err("pid %d: cannot queue a reply: out of memory; closing", (int)c->peer.pid);
    conn_close(c);
  }
  return true;
}

_Static_assert(SB_BATCH_MAX <= MAX_FDS_PER_SEND, "one batch's fds fit in one sendmsg");

/* Answers a batch frame: its frames go to c's output, each fd with the frame it rides with;
 * *made is what its creations asked for. Returns false when c was dismissed or closed for it. */
static bool conn_batch(server_conn *c, const uint8_t *payload, uint32_t len, uint64_t *made) {
  server *s = c->server;
  dispatch_batch_out o;
  int rc = dispatch_batch(s->d, &c->sess, payload, len, &c->out, &o);
  *made = o.made_bytes;
  if (rc == -EPROTO) {
    conn_dismiss(c, -EPROTO, "ERR_SHMBUF_PROTOCOL", "the frame is not a valid batch");
    return false;
  }
  drop_retired_fds(c, o.retired, o.nretired);
  for (size_t i = 0; i < o.nfds; i++) {
    if (rc == 0) /* out's head is at stream position out_pos */
      rc = queue_fd(c, c->out_pos + o.fds[i].at, o.fds[i].fd, o.fds[i].slab);
    if (rc < 0)
      close(o.fds[i].fd);
  }
  if (rc < 0) {
    log_err("pid %d: cannot queue a reply: out of memory; closing", (int)c->peer.pid);
    conn_close(c);
    return false;
  }
  c->closing |= o.close;
  return true;
}

/* Whether c may be answered now: its unread replies, unread fds and job allow it. */
static bool conn_answerable(server_conn *c) {
  return !c->closing && c->out.len < OUT_HIGH && c->job.kind == DISPATCH_JOB_NONE &&
         !fds_waiting(c);
}

/* Answers complete frames while c may be answered, at most a turn's worth (or all of them,
 * when `all`); what is left is marked as work for the next turn. */
static void conn_process(server_conn *c, bool all) {
  server *s = c->server;
  size_t old = c->in.cap, bytes = 0;
  int frames = 0;
  bool more = false;
  while (!c->closed && conn_answerable(c)) {
    if (!all && (frames >= TURN_FRAMES || bytes >= TURN_BYTES)) {
      more = true;
      break;
    }
    const uint8_t *payload;
    uint32_t len;
    bool batch;
    long n = sb_frame_next_kind(sb_bytes_head(&c->in), c->in.len, frame_limit(c), &payload, &len,
                                &batch);
    if (n == 0)
      break;
    if (n < 0) {
      frame_violation(c, n);
      return;
    }
    s->d->now_ms = uv_now(s->loop);
    c->partial_ms = 0;
    c->last_request_ms = s->d->now_ms;
    frames++;
    bytes += (size_t)n;
    if (batch) {
      uint64_t made;
      sb_bytes_consume(&c->in, (size_t)n); /* the payload stays where it is meanwhile */
      if (!conn_batch(c, payload, len, &made))
        return;
      bytes += made;
      continue;
    }
    dispatch_handle(s->d, &c->sess, payload, len, &s->reply);
    sb_bytes_consume(&c->in, (size_t)n);
    if (s->reply.msg.result_case == SHMBUFWIRE__REPLY__RESULT_BUFFER)
      bytes += s->reply.msg.buffer->length; /* what it made (and may have cleared) counts too */
    drop_retired_fds(c, s->reply.msg.retired_slabs, s->reply.msg.n_retired_slabs);
    bool job = s->reply.job.kind != DISPATCH_JOB_NONE;
    int queued = conn_queue(c, &s->reply);
    if (queued < 0) { /* out of memory, or a reply of 2 GiB (it quotes a huge request) */
      log_err("pid %d: cannot queue a reply: %s; closing", (int)c->peer.pid, strerror(-queued));
      conn_close(c);
      return;
    }
    if (job && !conn_job(c, all ? UINT64_MAX : JOB_INLINE))
      more = true; /* the rest of it next turn */
  }
  sb_bytes_trim(&c->in, BUF_KEEP);
  input_changed(c, old);
  set_busy(c, !c->closed && (more || c->job.kind != DISPATCH_JOB_NONE));
}

/* Bytes the frame being received still needs, beyond those held (0 when unknown). */
static size_t frame_need(const server_conn *c) {
  if (c->in.len < SB_FRAME_HEADER)
    return 0;
  uint64_t total = (uint64_t)(sb_frame_length(sb_bytes_head(&c->in)) & ~SB_FRAME_BATCH) +
                   SB_FRAME_HEADER;
  return total > c->in.len && total - SB_FRAME_HEADER <= frame_limit(c)
             ? (size_t)(total - c->in.len)
             : 0;
}

static bool conn_wants_read(server_conn *c) {
  return !c->eof && !c->input_paused && !c->busy && conn_answerable(c);
}

/* Whether c must wait before its input buffer grows by `want`. A frame may always grow to
 * READ_CHUNK (small requests are never held up), and beyond that within the input budget.
 * Past the budget, a user still gets its share of it, the budget divided among the users
 * whose connections hold input, up to twice the budget in all: a user that fills the budget
 * with frames it never finishes makes its own connections wait, not another user's. */
static bool input_over_budget(server_conn *c, size_t want) {
  server *s = c->server;
  uint64_t budget = s->opt.input_budget;
  if (budget == 0 || sb_bytes_room(&c->in) >= want || c->in.len + want <= READ_CHUNK ||
      s->input_bytes + want <= budget)
    return false;
  if (!c->in_session || s->input_bytes + want > 2 * budget)
    return true;
  const session_user *u = c->sess.user;
  uint64_t users = c->server->d->books->input_users + (u->input == 0);
  return u->input + want > budget / users;
}

/* Lets every connection paused for the input budget try again (those still over it pause
 * again): what others held may have gone, or their users' shares changed. */
static void input_resume(server *s) {
  if (s->input_paused == 0 || (s->opt.input_budget && s->input_bytes >= 2 * s->opt.input_budget))
    return;
  for (server_conn *c = s->conns; c; c = c->next)
    if (c->input_paused) {
      c->input_paused = false;
      s->input_paused--;
      conn_pump(c);
    }
}

static void conn_read(server_conn *c) {
  for (int round = 0; round < READ_ROUNDS && conn_wants_read(c); round++) {
    size_t want = frame_need(c), old = c->in.cap;
    want = want < READ_MIN ? READ_MIN : want > READ_CHUNK ? READ_CHUNK : want;
    if (input_over_budget(c, want)) {
      c->input_paused = true;
      c->server->input_paused++;
      return;
    }
    if (sb_bytes_reserve(&c->in, want) < 0) {
      log_err("pid %d: out of memory for a frame; closing", (int)c->peer.pid);
      conn_close(c);
      return;
    }
    input_changed(c, old);
    size_t room = sb_bytes_room(&c->in);
    ssize_t n = read(c->fd, sb_bytes_tail(&c->in), room);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN) {
        log_debug("pid %d: read: %s", (int)c->peer.pid, strerror(errno));
        c->eof = true;
      }
      return;
    }
    if (n == 0) {
      c->eof = true;
      return;
    }
    c->in.len += (size_t)n;
    conn_process(c, false);
    if (c->closed || (size_t)n < room)
      return;
  }
}

static void on_poll(uv_poll_t *h, int status, int events) {
  server_conn *c = container_of(h, server_conn, poll);
  if (status < 0) {
    conn_close(c);
    return;
  }
  if (events & UV_READABLE)
    conn_read(c);
  conn_pump(c);
}

/* Answers what can be answered, writes what can be written, then decides what to wait for. */
static void conn_pump(server_conn *c) {
  if (c->closed)
    return;
  for (;;) {
    int rc = conn_flush(c);
    if (rc < 0) {
      log_debug("pid %d: send: %s", (int)c->peer.pid, strerror(-rc));
      conn_close(c);
      return;
    }
    if (c->out.len > 0 || c->closing || c->busy || c->in.len < SB_FRAME_HEADER)
      break;
    size_t before = c->in.len;
    conn_process(c, false);
    if (c->closed || c->in.len == before)
      break;
  }
  if (c->closed)
    return;
  if ((c->closing || c->eof) && c->out.len == 0 && c->job.kind == DISPATCH_JOB_NONE) {
    conn_close(c);
    return;
  }
  bool unsent = c->out.len > 0 && !(c->fds_refused && c->nfds && c->fds[0].pos == c->out_pos);
  int events = (conn_wants_read(c) ? UV_READABLE : 0) | (unsent ? UV_WRITABLE : 0);
  if (events != c->events) {
    c->events = events;
    if (events)
      uv_poll_start(&c->poll, events, on_poll);
    else
      uv_poll_stop(&c->poll);
  }
}

/* A loop turn with work left: each busy connection gets one more slice. */
static void on_work(uv_idle_t *h) {
  server *s = container_of(h, server, work);
  server_conn *next;
  for (server_conn *c = s->busy; c; c = next) {
    next = c->work_next;
    set_busy(c, false);
    if (c->job.kind != DISPATCH_JOB_NONE && !conn_job(c, JOB_SLICE)) {
      set_busy(c, true);
      continue;
    }
    if (!c->closed)
      conn_process(c, false);
    conn_pump(c);
  }
  if (s->busy == NULL)
    uv_idle_stop(&s->work);
}

/* While some connection waits for the fds it has not read: has it read them yet? */
static void on_fd_retry(uv_timer_t *t) {
  server *s = container_of(t, server, fd_retry);
  uv_timer_stop(&s->fd_retry); /* fds_waiting() starts it again for whoever still waits */
  for (server_conn *c = s->conns, *next; c; c = next) {
    next = c->next;
    if ((c->in_flight || c->fds_refused) && !fds_waiting(c))
      conn_pump(c);
  }
}

/* ---- accepting ------------------------------------------------------------------------------ */

static bool uid_listed(uid_t id, const uid_t *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (list[i] == id)
      return true;
  return false;
}

static bool gid_listed(gid_t id, const gid_t *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (list[i] == id)
      return true;
  return false;
}

/* Admission by credentials: open to whoever can reach the socket until a list is set. */
static bool admitted(const server *s, const struct ucred *p) {
  const server_options *o = &s->opt;
  if (o->n_allow_uids == 0 && o->n_allow_gids == 0)
    return true;
  return p->uid == 0 || p->uid == geteuid() || uid_listed(p->uid, o->allow_uids, o->n_allow_uids) ||
         gid_listed(p->gid, o->allow_gids, o->n_allow_gids);
}

static void on_tmp_closed(uv_handle_t *h) { free(h); }

/* A connection that gets no session: told why, then closed. */
static void refuse(server_conn *c, int errnum, const char *code, const char *why) {
  c->server->d->books->t.refused_total++;
  log_notice("refused pid %d: %s", (int)c->peer.pid, why);
  dispatch_notice(&c->server->reply, errnum, code, why);
  if (conn_queue(c, &c->server->reply) < 0)
    c->closing = true;
}

/* Takes the next pending connection off the listener. libuv keeps one accepted socket
 * waiting (and stops polling the listener) until we call uv_accept(), which is how the
 * connection cap pauses accepting. */
static void accept_one(server *s) {
  uv_pipe_t *tmp = malloc(sizeof *tmp);
  if (tmp == NULL) {
    s->accept_paused = true;
    return;
  }
  uv_pipe_init(s->loop, tmp, 0);
  int fd = -1, rc = uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)tmp);
  uv_os_fd_t ofd;
  if (rc == 0 && (rc = uv_fileno((uv_handle_t *)tmp, &ofd)) == 0) {
    /* libuv owns tmp's fd; keep our own, which shares its non-blocking file description */
    fd = fcntl(ofd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
      rc = -errno;
  }
  uv_close((uv_handle_t *)tmp, on_tmp_closed);
  if (rc < 0) {
    log_warn("accept: %s", uv_strerror(rc));
    return;
  }
  server_conn *c = calloc(1, sizeof *c);
  if (c == NULL || uv_poll_init(s->loop, &c->poll, fd) < 0) {
    log_err("accept: out of memory");
    free(c);
    close(fd);
    return;
  }
  c->server = s;
  c->fd = fd;
  c->held_fd = -1;
  c->job = (dispatch_job){.kind = DISPATCH_JOB_NONE, .dst = -1, .src = -1};
  c->accepted_ms = c->last_request_ms = uv_now(s->loop);
  socklen_t sl = sizeof c->peer;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->peer, &sl) < 0)
    c->peer = (struct ucred){.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
  c->next = s->conns;
  if (s->conns)
    s->conns->prev = c;
  s->conns = c;
  s->nconns++;
  s->handles++;
  char why[128];
  if (!admitted(s, &c->peer)) {
    snprintf(why, sizeof why, "uid %u gid %u is not allowed to use this daemon",
             (unsigned)c->peer.uid, (unsigned)c->peer.gid);
    refuse(c, -EACCES, "ERR_SHMBUF_ACCESS", why);
  } else if (session_user_full(s->d->books, c->peer.uid)) {
    snprintf(why, sizeof why, "uid %u holds %u connections, the most one user may have",
             (unsigned)c->peer.uid, s->d->books->limits.user_max_connections);
    refuse(c, -EDQUOT, "ERR_SHMBUF_LIMIT", why);
  } else if (session_init(&c->sess, s->d->books, c->peer.uid, c->peer.gid, c->peer.pid) < 0) {
    refuse(c, -ENOMEM, "ERR_SHMBUF_LIMIT", "the daemon is out of memory");
  } else {
    c->in_session = true;
    log_debug("pid %d uid %u: connected", (int)c->peer.pid, (unsigned)c->peer.uid);
  }
  conn_pump(c);
}

static void on_connection(uv_stream_t *listener, int status) {
  server *s = container_of((uv_pipe_t *)listener, server, listener);
  if (status < 0) {
    log_warn("listen: %s", uv_strerror(status));
    return;
  }
  if (s->opt.max_connections && s->nconns >= s->opt.max_connections) {
    if (!s->accept_paused)
      log_notice("%u connections: not accepting more until one closes", s->nconns);
    s->accept_paused = true;
    return;
  }
  accept_one(s);
}

/* ---- the sweep: time limits and what the kernel holds -------------------------------------- */

/* Whether c is waiting for its peer's bytes: a frame is half-received and nothing of the
 * daemon's own (unread replies, unread fds, a job, work left) is holding it up. */
static bool waiting_for_peer(server_conn *c) {
  return c->in.len > 0 && frame_need(c) + (c->in.len < SB_FRAME_HEADER) > 0 && !c->busy &&
         conn_answerable(c);
}

/* Whether c holds nothing: no buffer, no slab, no request in its pipe. */
static bool holds_nothing(const server_conn *c) {
  return c->in_session && c->sess.heap.buffers == 0 && c->sess.heap.slab.nsegs == 0 &&
         c->in.len == 0 && c->out.len == 0 && c->job.kind == DISPATCH_JOB_NONE;
}

static void sweep_one(server_conn *c, uint64_t now, uint64_t elapsed, bool measure) {
  const server_options *o = &c->server->opt;
  if (c->closing)
    return;
  if (o->handshake_timeout_ms && !(c->in_session && c->sess.greeted) &&
      now - c->accepted_ms > o->handshake_timeout_ms) {
    conn_dismiss(c, -ETIMEDOUT, "ERR_SHMBUF_TIMEOUT", "no hello came in time");
    return;
  }
  if (o->idle_timeout_ms && holds_nothing(c) && now - c->last_request_ms > o->idle_timeout_ms) {
    conn_dismiss(c, -ETIMEDOUT, "ERR_SHMBUF_TIMEOUT", "the connection held nothing and was idle");
    return;
  }
  if (waiting_for_peer(c)) {
    c->partial_ms += elapsed;
    if (o->frame_timeout_ms && c->partial_ms > o->frame_timeout_ms) {
      conn_read(c); /* bytes may be waiting that a busy loop did not get to */
      if (!c->closed && waiting_for_peer(c)) {
        char why[96];
        snprintf(why, sizeof why, "a frame stayed half-received for over %u ms",
                 o->frame_timeout_ms);
        conn_dismiss(c, -ETIMEDOUT, "ERR_SHMBUF_TIMEOUT", why);
        return;
      }
    }
  } else if (c->in.len == 0)
    c->partial_ms = 0;
  uint64_t over = measure && c->in_session ? session_measure(&c->sess) : 0;
  if (over <= TOUCH_SLACK)
    return;
  /* Reading a hole of a memfd through a mapping allocates a page as surely as writing it
   * does: a debugger, a core dump or a forked child's leak check does it as well as a hostile
   * peer. The pages were nobody's, so they go back, and the connection goes on. */
  log_info("pid %d: held %llu bytes of shared memory it was not given; punched them out",
           (int)c->peer.pid, (unsigned long long)over);
  if (session_reclaim(&c->sess) > TOUCH_SLACK)
    conn_dismiss(c, -EDQUOT, "ERR_SHMBUF_MEMORY",
                 "the connection holds shared memory it was not given");
}

static void on_sweep(uv_timer_t *t) {
  server *s = container_of(t, server, sweep);
  uint64_t now = uv_now(s->loop);
  /* a loop that was busy elsewhere is not the peers' fault: at most two sweeps' time counts */
  uint64_t elapsed = now - s->last_sweep;
  elapsed = elapsed < 2 * SWEEP_MS ? elapsed : 2 * SWEEP_MS;
  s->last_sweep = now;
  bool measure = ++s->sweeps % MEASURE_EVERY == 0;
  share_expire(s->d->shares, now);
  for (server_conn *c = s->conns, *next; c; c = next) {
    next = c->next;
    sweep_one(c, now, elapsed, measure);
  }
  input_resume(s);
}

/* ---- setup ----------------------------------------------------------------------------------- */

/* Whether something accepts connections on path: a live instance, or a stale file. The probe
 * never waits: a listener whose backlog is full is alive. */
static bool socket_is_live(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return true;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  memcpy(a.sun_path, path, strlen(path) + 1);
  int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
  int err = errno;
  close(fd);
  return rc == 0 || (err != ECONNREFUSED && err != ENOENT);
}

/* Binds a socket at path. The daemon binds it itself, not through libuv, which would unlink
 * the path when the listener closes even when it is no longer ours. */
static int bind_socket(const char *path, int *out) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  memcpy(a.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -errno;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  *out = fd;
  return 0;
}

static int bind_path(server *s, const char *path, unsigned mode, int *fd) {
  if (strlen(path) >= sizeof((struct sockaddr_un *)0)->sun_path) {
    log_err("socket path too long (at most %zu bytes): %s",
            sizeof((struct sockaddr_un *)0)->sun_path - 1, path);
    return -ENAMETOOLONG;
  }
  /* Created 0600, then opened up to `mode`: no window where the socket is wider. */
  mode_t old = umask(0177);
  int rc = bind_socket(path, fd);
  if (rc == -EADDRINUSE) {
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
      umask(old);
      log_err("%s exists and is not a socket; not touching it", path);
      return -EEXIST;
    }
    if (socket_is_live(path)) {
      umask(old);
      log_err("another shmbufd is already listening on %s", path);
      return -EADDRINUSE;
    }
    log_notice("replacing the stale socket %s", path);
    unlink(path);
    rc = bind_socket(path, fd);
  }
  umask(old);
  if (rc < 0) {
    log_err("cannot bind %s: %s", path, strerror(-rc));
    return rc;
  }
  struct stat st;
  if (chmod(path, mode) < 0 || lstat(path, &st) < 0) {
    rc = -errno;
    log_err("chmod %s: %s", path, strerror(errno));
    unlink(path);
    close(*fd);
    return rc;
  }
  s->bound = strdup(path);
  s->bound_dev = st.st_dev;
  s->bound_ino = st.st_ino;
  return 0;
}

static int copy_lists(server *s, const server_options *o) {
  uid_t *u = NULL;
  gid_t *g = NULL;
  if (o->n_allow_uids && (u = malloc(o->n_allow_uids * sizeof *u)) == NULL)
    return -ENOMEM;
  if (o->n_allow_gids && (g = malloc(o->n_allow_gids * sizeof *g)) == NULL) {
    free(u);
    return -ENOMEM;
  }
  if (u)
    memcpy(u, o->allow_uids, o->n_allow_uids * sizeof *u);
  if (g)
    memcpy(g, o->allow_gids, o->n_allow_gids * sizeof *g);
  free((void *)s->opt.allow_uids);
  free((void *)s->opt.allow_gids);
  const char *path = s->opt.path;
  int fd = s->opt.fd;
  s->opt = *o;
  s->opt.path = path;
  s->opt.fd = fd;
  s->opt.allow_uids = u;
  s->opt.allow_gids = g;
  return 0;
}

int server_update(server *s, const server_options *o) {
  int rc = copy_lists(s, o);
  if (rc == 0 && s->accept_paused &&
      (!s->opt.max_connections || s->nconns < s->opt.max_connections)) {
    s->accept_paused = false;
    accept_one(s);
  }
  if (rc == 0)
    input_resume(s);
  return rc;
}

static void on_failed_close(uv_handle_t *h) {
  server *s = h->data;
  free((void *)s->opt.allow_uids);
  free((void *)s->opt.allow_gids);
  free(s->path);
  if (s->placeholder >= 0)
    segment_close(s->placeholder);
  free(s);
}

int server_start(server **out, uv_loop_t *loop, dispatcher *d, const server_options *o) {
  server *s = calloc(1, sizeof *s);
  if (s == NULL)
    return -ENOMEM;
  s->loop = loop;
  s->d = d;
  s->reply.fd = -1;
  s->path = strdup(o->path ? o->path : "(inherited socket)");
  s->opt.fd = o->fd;
  if (s->path == NULL || copy_lists(s, o) < 0) {
    free(s->path);
    free(s);
    return -ENOMEM;
  }
  s->opt.path = s->path;
  int rc = segment_create(0, &s->placeholder);
  if (rc < 0) {
    log_err("cannot make a shared-memory object: %s", strerror(-rc));
    free((void *)s->opt.allow_uids);
    free((void *)s->opt.allow_gids);
    free(s->path);
    free(s);
    return rc;
  }
  uv_pipe_init(loop, &s->listener, 0);
  s->listener.data = s;
  int fd = o->fd;
  rc = fd >= 0 ? 0 : bind_path(s, o->path, o->mode, &fd);
  if (rc == 0 && (rc = uv_pipe_open(&s->listener, fd)) < 0) {
    log_err("cannot listen on %s: %s", s->path, uv_strerror(rc));
    if (o->fd < 0)
      close(fd);
  }
  if (rc == 0) {
    rc = uv_listen((uv_stream_t *)&s->listener, SOMAXCONN, on_connection);
    if (rc < 0)
      log_err("listen on %s: %s", s->path, uv_strerror(rc));
  }
  if (rc < 0) { /* the caller runs the loop once more to let this close land */
    if (s->bound)
      unlink(s->bound);
    free(s->bound);
    uv_close((uv_handle_t *)&s->listener, on_failed_close);
    return rc;
  }
  uv_timer_init(loop, &s->sweep);
  uv_timer_init(loop, &s->grace);
  uv_timer_init(loop, &s->fd_retry);
  uv_idle_init(loop, &s->work);
  s->sweep.data = s->grace.data = s->fd_retry.data = s->work.data = s;
  s->handles = 5;
  s->last_sweep = uv_now(loop);
  uv_timer_start(&s->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
  uv_unref((uv_handle_t *)&s->sweep);
  *out = s;
  return 0;
}

/* ---- shutdown ------------------------------------------------------------------------------- */

static void on_grace(uv_timer_t *t) {
  server *s = t->data;
  log_warn("%u connections did not drain in time; closing them", s->nconns);
  while (s->conns)
    conn_close(s->conns);
}

void server_shutdown(server *s, void (*done)(server *s, void *arg), void *arg) {
  if (s->shutting_down)
    return;
  s->shutting_down = true;
  share_keep_memory(s->d->shares);
  s->done = done;
  s->done_arg = arg;
  uv_close((uv_handle_t *)&s->listener, on_own_closed);
  uv_close((uv_handle_t *)&s->sweep, on_own_closed);
  uv_timer_start(&s->grace, on_grace, GRACE_MS, 0);
  for (server_conn *c = s->conns, *next; c; c = next) {
    next = c->next;
    if (c->in_session) { /* every request already received gets its answer */
      if (c->job.kind != DISPATCH_JOB_NONE)
        conn_job(c, UINT64_MAX);
      if (!c->closed)
        conn_process(c, true);
    }
    if (!c->closed) {
      c->closing = true;
      conn_pump(c);
    }
  }
  shutdown_progress(s);
}

void server_free(server *s) {
  struct stat st;
  if (s->bound && lstat(s->bound, &st) == 0 && st.st_dev == s->bound_dev &&
      st.st_ino == s->bound_ino)
    unlink(s->bound);
  free(s->bound);
  free((void *)s->opt.allow_uids);
  free((void *)s->opt.allow_gids);
  free(s->path);
  segment_close(s->placeholder);
  sb_error_release(&s->reply.err);
  free(s);
}
