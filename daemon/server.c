/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"

#define OUT_HIGH (256u << 10) /* unread replies past which a peer is not read */
#define READ_MIN 4096u
#define READ_ROUNDS 4         /* reads per wakeup, so one busy peer cannot starve others */
#define BUF_KEEP 8192u        /* buffer an idle connection keeps */
#define MAX_FDS_PER_SEND 64
#define SWEEP_MS 250
#define GRACE_MS 5000

#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

typedef struct server_pending_fd {
  uint64_t pos; /* stream position of the reply the fd belongs to */
  int fd;       /* our duplicate, closed once sent */
} server_pending_fd;

typedef struct server_conn {
  uv_poll_t poll;
  server *server;
  int fd;
  int events;
  struct ucred peer;
  sb_bytes in, out;
  uint64_t out_pos; /* stream position of out's first byte */
  server_pending_fd *fds;
  size_t nfds, cap_fds;
  uint64_t partial_since; /* loop time a half-received frame started; 0: none */
  bool eof, closing, closed, in_session;
  conn_session sess;
  struct server_conn *prev, *next;
} server_conn;

struct server {
  uv_loop_t *loop;
  uv_pipe_t listener;
  uv_timer_t sweep;
  uv_timer_t grace;
  dispatcher *d;
  char *bound;          /* the socket file we created, removed by server_free() */
  char *path;           /* for messages */
  server_options opt;      /* lists point at our own copies */
  server_conn *conns;
  uint32_t nconns;
  bool accept_paused;   /* a peer waits in the listener for a free slot */
  bool shutting_down;
  bool grace_closing;
  int handles;          /* open handles of our own, to know when shutdown is over */
  void (*done)(server *s, void *arg);
  void *done_arg;
  dispatch_reply reply;      /* one request at a time */
};

static void conn_pump(server_conn *c);

/* ---- writing ------------------------------------------------------------------------------ */

/* Sends what is queued. A partial send delivers every fd it carried (the kernel attaches
 * them to its first byte), so each sendmsg carries the fds of replies not yet started, and
 * stops before a reply whose fd did not fit. Returns 0 (maybe with bytes left: EAGAIN) or a
 * negative errno. */
static int conn_flush(server_conn *c) {
  while (c->out.len > 0) {
    size_t len = c->out.len, nf = c->nfds < MAX_FDS_PER_SEND ? c->nfds : MAX_FDS_PER_SEND;
    if (nf < c->nfds && c->fds[nf].pos - c->out_pos < len)
      len = (size_t)(c->fds[nf].pos - c->out_pos);
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
      return errno == EAGAIN ? 0 : -errno;
    }
    if (nf > 0) {
      for (size_t i = 0; i < nf; i++)
        close(c->fds[i].fd);
      memmove(c->fds, c->fds + nf, (c->nfds - nf) * sizeof *c->fds);
      c->nfds -= nf;
    }
    sb_bytes_consume(&c->out, (size_t)n);
    c->out_pos += (uint64_t)n;
  }
  sb_bytes_trim(&c->out, BUF_KEEP);
  return 0;
}

/* Queues a packed reply, and a duplicate of its slab fd: the slab may be destroyed by a later
 * request before this reply leaves. Returns 0 or a negative errno. */
static int conn_queue(server_conn *c, const dispatch_reply *r) {
  uint64_t pos = c->out_pos + c->out.len;
  int rc = sb_frame_append(&c->out, &r->msg.base, UINT32_MAX);
  if (rc < 0)
    return rc;
  if (r->close)
    c->closing = true;
  if (r->fd < 0)
    return 0;
  if (c->nfds == c->cap_fds) {
    size_t cap = c->cap_fds ? c->cap_fds * 2 : 4;
    server_pending_fd *f = realloc(c->fds, cap * sizeof *f);
    if (f == NULL)
      return -ENOMEM;
    c->fds = f;
    c->cap_fds = cap;
  }
  int fd = fcntl(r->fd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    return -errno;
  c->fds[c->nfds++] = (server_pending_fd){pos, fd};
  return 0;
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

/* During shutdown: once no connection is left, the grace timer goes too, and the last
 * close calls `done`. */
static void shutdown_progress(server *s) {
  if (s->shutting_down && s->conns == NULL && !s->grace_closing) {
    s->grace_closing = true;
    uv_close((uv_handle_t *)&s->grace, on_own_closed);
  }
}

static void accept_one(server *s);

static void on_conn_closed(uv_handle_t *h) {
  server_conn *c = container_of(h, server_conn, poll);
  server *s = c->server;
  for (size_t i = 0; i < c->nfds; i++)
    close(c->fds[i].fd);
  free(c->fds);
  close(c->fd);
  /* A peer that went away gives everything back, even memory it may still map; a daemon
   * that is stopping leaves its peers their data. */
  if (c->in_session)
    session_fini(&c->sess, !s->shutting_down);
  sb_bytes_free(&c->in);
  sb_bytes_free(&c->out);
  free(c);
  if (s->accept_paused && !s->shutting_down) {
    s->accept_paused = false;
    accept_one(s);
  }
  handle_closed(s);
}

static void conn_close(server_conn *c) {
  if (c->closed)
    return;
  c->closed = true;
  server *s = c->server;
  if (c->prev)
    c->prev->next = c->next;
  else
    s->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  s->nconns--;
  c->closing = true;
  uv_close((uv_handle_t *)&c->poll, on_conn_closed);
  shutdown_progress(s);
}

/* ---- reading ------------------------------------------------------------------------------ */

static void frame_violation(server_conn *c, long why) {
  char msg[160];
  if (why == -EMSGSIZE) {
    uint32_t l = sb_frame_length(sb_bytes_head(&c->in));
    snprintf(msg, sizeof msg, "a frame of %u bytes exceeds the limit of %u bytes", l,
             c->server->d->books->limits.max_frame);
  } else
    snprintf(msg, sizeof msg, "a frame of length 0 is not allowed");
  log_info("pid %d: %s; closing", (int)c->peer.pid, msg);
  dispatch_notice(&c->server->reply, (int)why, "ERR_SHMBUF_PROTOCOL", msg);
  if (conn_queue(c, &c->server->reply) < 0)
    c->closing = true;
  sb_bytes_consume(&c->in, c->in.len);
}

/* Answers the complete frames held, while the peer's unread replies stay under the
 * high-water mark (or all of them, when `all`). */
static void conn_process(server_conn *c, bool all) {
  server *s = c->server;
  bool consumed = false;
  while (!c->closing && (all || c->out.len < OUT_HIGH)) {
    const uint8_t *payload;
    uint32_t len;
    long n = sb_frame_next(sb_bytes_head(&c->in), c->in.len, s->d->books->limits.max_frame, &payload,
                           &len);
    if (n == 0)
      break;
    if (n < 0) {
      frame_violation(c, n);
      break;
    }
    dispatch_handle(s->d, &c->sess, payload, len, &s->reply);
    sb_bytes_consume(&c->in, (size_t)n);
    consumed = true;
    if (conn_queue(c, &s->reply) < 0) {
      log_err("pid %d: cannot queue a reply: out of memory or fds; closing", (int)c->peer.pid);
      conn_close(c); /* the stream is no longer consistent: send nothing more */
      return;
    }
  }
  if (c->in.len == 0)
    c->partial_since = 0;
  else if (consumed || c->partial_since == 0)
    c->partial_since = uv_now(s->loop);
  sb_bytes_trim(&c->in, BUF_KEEP);
}

/* Bytes the frame being received still needs, beyond those held (0 when unknown). */
static size_t frame_need(const server_conn *c) {
  if (c->in.len < SB_FRAME_HEADER)
    return 0;
  uint64_t l = sb_frame_length(sb_bytes_head(&c->in));
  uint64_t total = l + SB_FRAME_HEADER;
  return total > c->in.len && l <= c->server->d->books->limits.max_frame ? (size_t)(total - c->in.len) : 0;
}

static bool conn_wants_read(const server_conn *c) {
  return !c->eof && !c->closing && c->out.len < OUT_HIGH;
}

static void conn_read(server_conn *c) {
  for (int round = 0; round < READ_ROUNDS && conn_wants_read(c); round++) {
    size_t want = frame_need(c);
    if (want < READ_MIN)
      want = READ_MIN;
    if (sb_bytes_reserve(&c->in, want) < 0) {
      log_err("pid %d: out of memory for a frame; closing", (int)c->peer.pid);
      conn_close(c);
      return;
    }
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
    if (c->out.len > 0 || c->closing || c->in.len < SB_FRAME_HEADER)
      break;
    size_t before = c->in.len;
    conn_process(c, false);
    if (c->in.len == before)
      break;
  }
  if ((c->closing || c->eof) && c->out.len == 0) {
    conn_close(c);
    return;
  }
  int events = (conn_wants_read(c) ? UV_READABLE : 0) | (c->out.len ? UV_WRITABLE : 0);
  if (events != c->events) {
    c->events = events;
    if (events)
      uv_poll_start(&c->poll, events, on_poll);
    else
      uv_poll_stop(&c->poll);
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
  socklen_t sl = sizeof c->peer;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->peer, &sl) < 0)
    c->peer = (struct ucred){.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
  c->next = s->conns;
  if (s->conns)
    s->conns->prev = c;
  s->conns = c;
  s->nconns++;
  s->handles++;
  if (admitted(s, &c->peer)) {
    session_init(&c->sess, s->d->books);
    c->in_session = true;
    log_debug("pid %d uid %u: connected", (int)c->peer.pid, (unsigned)c->peer.uid);
  } else {
    s->d->books->t.refused_total++;
    char msg[96];
    snprintf(msg, sizeof msg, "uid %u gid %u is not allowed to use this daemon",
             (unsigned)c->peer.uid, (unsigned)c->peer.gid);
    log_notice("refused pid %d: %s", (int)c->peer.pid, msg);
    dispatch_notice(&s->reply, -EACCES, "ERR_SHMBUF_ACCESS", msg);
    if (conn_queue(c, &s->reply) < 0)
      c->closing = true;
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

static void on_sweep(uv_timer_t *t) {
  server *s = container_of(t, server, sweep);
  uint64_t limit = s->opt.frame_timeout_ms, now = uv_now(s->loop);
  if (limit == 0)
    return;
  for (server_conn *c = s->conns, *next; c; c = next) {
    next = c->next;
    if (c->partial_since && now - c->partial_since > limit) {
      log_notice("pid %d: a frame stayed half-received for over %llu ms; closing",
                 (int)c->peer.pid, (unsigned long long)limit);
      conn_close(c);
    }
  }
}

/* ---- setup ----------------------------------------------------------------------------------- */

/* Whether something accepts connections on path: a live instance, or a stale file. */
static bool socket_is_live(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return true;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  memcpy(a.sun_path, path, strlen(path) + 1);
  int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
  int err = errno;
  close(fd);
  return rc == 0 || (err != ECONNREFUSED && err != ENOENT);
}

static int bind_path(server *s, const char *path, unsigned mode) {
  if (strlen(path) >= sizeof((struct sockaddr_un *)0)->sun_path) {
    log_err("socket path too long (at most %zu bytes): %s",
            sizeof((struct sockaddr_un *)0)->sun_path - 1, path);
    return -ENAMETOOLONG;
  }
  /* Created 0600, then opened up to `mode`: no window where the socket is wider. */
  mode_t old = umask(0177);
  int rc = uv_pipe_bind(&s->listener, path);
  if (rc == UV_EADDRINUSE) {
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
    rc = uv_pipe_bind(&s->listener, path);
  }
  umask(old);
  if (rc < 0) {
    log_err("cannot bind %s: %s", path, uv_strerror(rc));
    return rc;
  }
  if (chmod(path, mode) < 0) {
    rc = -errno;
    log_err("chmod %s: %s", path, strerror(errno));
    unlink(path);
    return rc;
  }
  s->bound = strdup(path);
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
  return rc;
}

static void on_failed_close(uv_handle_t *h) {
  server *s = h->data;
  free((void *)s->opt.allow_uids);
  free((void *)s->opt.allow_gids);
  free(s->path);
  free(s);
}

int server_start(server **out, uv_loop_t *loop, dispatcher *d, const server_options *o) {
  server *s = calloc(1, sizeof *s);
  if (s == NULL)
    return -ENOMEM;
  s->loop = loop;
  s->d = d;
  s->path = strdup(o->path ? o->path : "(inherited socket)");
  s->opt.fd = o->fd;
  if (s->path == NULL || copy_lists(s, o) < 0) {
    free(s->path);
    free(s);
    return -ENOMEM;
  }
  s->opt.path = s->path;
  uv_pipe_init(loop, &s->listener, 0);
  s->listener.data = s;
  int rc = o->fd >= 0 ? uv_pipe_open(&s->listener, o->fd) : bind_path(s, o->path, o->mode);
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
  s->sweep.data = s->grace.data = s;
  s->handles = 3;
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
  s->done = done;
  s->done_arg = arg;
  uv_close((uv_handle_t *)&s->listener, on_own_closed);
  uv_close((uv_handle_t *)&s->sweep, on_own_closed);
  uv_timer_start(&s->grace, on_grace, GRACE_MS, 0);
  for (server_conn *c = s->conns, *next; c; c = next) {
    next = c->next;
    if (c->in_session)
      conn_process(c, true); /* every request already received gets its answer */
    c->closing = true;
    conn_pump(c);
  }
  shutdown_progress(s);
}

void server_free(server *s) {
  if (s->bound)
    unlink(s->bound);
  free(s->bound);
  free((void *)s->opt.allow_uids);
  free((void *)s->opt.allow_gids);
  free(s->path);
  free(s);
}
