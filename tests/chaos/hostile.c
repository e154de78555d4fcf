/* SPDX-License-Identifier: MIT */
/* make chaos: hostile clients (see hostile.h). */
#include "config.h"

#include "hostile.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame.h"
#include "proc.h"
#include "requests.h"
#include "worker.h"

#define MAX_FDS 253 /* SCM_MAX_FD */
#define HUGE_FRAME ((16u << 20) - 16) /* just under the daemon's default frame limit */

/* ---- raw frames over a socket ------------------------------------------------------------ */

static uint64_t *replies; /* this process's count (hostile_report.replies) */

static int dial(const hostile_ctx *x) {
  replies = &x->report->replies;
  int fd = proc_connect(x->sock);
  if (fd >= 0)
    x->report->connections++;
  else
    x->report->ended++;
  return fd;
}

/* Closes each of fds[0..n) that is open (not -1). */
static void close_open(const int *fds, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (fds[i] >= 0)
      close(fds[i]);
}

/* Waits up to 100 ms for the daemon to end any of the connections fds[0..n) (-1: none), then
 * closes and forgets those it ended, counting them. p has room for n. */
static void forget_ended(const hostile_ctx *x, int *fds, struct pollfd *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    p[i] = (struct pollfd){fds[i], POLLRDHUP, 0};
  if (poll(p, n, 100) <= 0)
    return;
  for (size_t i = 0; i < n; i++)
    if (fds[i] >= 0 && (p[i].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
      x->report->ended++;
      close(fds[i]);
      fds[i] = -1;
    }
}

/* Reads until one reply frame is whole, within timeout_ms. Returns 1 with *out set (NULL when
 * it does not unpack), 0 on timeout, -1 when the daemon closed the connection. Fds that come
 * meanwhile go into fds (up to *nfds < cap; the rest are closed), or are closed when fds is
 * NULL. */
static int read_reply(int fd, sb_bytes *in, int timeout_ms, Shmbufwire__Reply **out, int *fds,
                      size_t *nfds, size_t cap) {
  for (;;) {
    const uint8_t *payload;
    uint32_t len;
    long n = sb_frame_next(sb_bytes_head(in), in->len, UINT32_MAX, &payload, &len);
    if (n < 0)
      return -1;
    if (n > 0) {
      *out = shmbufwire__reply__unpack(NULL, len, payload);
      sb_bytes_consume(in, (size_t)n);
      (*replies)++;
      return 1;
    }
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0)
      return 0;
    if (sb_bytes_reserve(in, 1 << 16) < 0)
      return -1;
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
    } ctl;
    struct iovec iov = {sb_bytes_tail(in), sb_bytes_room(in)};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                       .msg_controllen = sizeof ctl.buf};
    ssize_t got = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
    if (got <= 0)
      return got < 0 && errno == EINTR ? 0 : -1;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
      for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
        int f;
        memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof f);
        if (fds && *nfds < cap)
          fds[(*nfds)++] = f;
        else
          close(f);
      }
    in->len += (size_t)got;
  }
}

/* A reply, thrown away: 1, 0 on timeout, -1 when the connection ended. */
static int skip_reply(int fd, sb_bytes *in, int timeout_ms) {
  Shmbufwire__Reply *r = NULL;
  int rc = read_reply(fd, in, timeout_ms, &r, NULL, NULL, 0);
  if (r)
    shmbufwire__reply__free_unpacked(r, NULL);
  return rc;
}

/* Sends one request and reads its reply (fds as read_reply()); NULL when none came. */
static Shmbufwire__Reply *call(int fd, sb_bytes *in, Shmbufwire__Request *q, int timeout_ms,
                               int *fds, size_t *nfds, size_t cap) {
  sb_bytes out = {0};
  Shmbufwire__Reply *r = NULL;
  if (req_append(&out, q) == 0 && proc_write_all(fd, sb_bytes_head(&out), out.len) == 0)
    read_reply(fd, in, timeout_ms, &r, fds, nfds, cap);
  sb_bytes_free(&out);
  return r;
}

/* Says hello; true when welcomed. */
static bool greet(int fd, sb_bytes *in) {
  req q;
  Shmbufwire__Reply *r = call(fd, in, req_hello(&q, 1, SB_PROTOCOL_VERSION), 5000, NULL, NULL, 0);
  bool welcomed = r && r->result_case == SHMBUFWIRE__REPLY__RESULT_WELCOME;
  if (r)
    shmbufwire__reply__free_unpacked(r, NULL);
  return welcomed;
}

/* dial() and greet(); -1 when either failed (the connection is counted as ended). */
static int greeted(const hostile_ctx *x, sb_bytes *in) {
  int fd = dial(x);
  in->len = 0;
  if (fd >= 0 && !greet(fd, in)) {
    x->report->ended++;
    close(fd);
    fd = -1;
  }
  if (fd < 0)
    usleep(10000);
  return fd;
}

/* Writes [p, p + n) until done or until the daemon took nothing for quiet_ms. Returns the
 * bytes written, or -1 when the connection failed. */
static ssize_t send_until_quiet(int fd, const uint8_t *p, size_t n, int quiet_ms) {
  size_t off = 0;
  while (off < n) {
    ssize_t w = send(fd, p + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      off += (size_t)w;
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EINTR)
      return -1;
    struct pollfd pf = {fd, POLLOUT, 0};
    if (poll(&pf, 1, quiet_ms) <= 0)
      break;
    if (pf.revents & (POLLERR | POLLHUP))
      return -1;
  }
  return (ssize_t)off;
}

/* send_until_quiet() from the head of q, consuming what went. False when the connection
 * failed. */
static bool push(int fd, sb_bytes *q, int quiet_ms) {
  ssize_t sent = send_until_quiet(fd, sb_bytes_head(q), q->len, quiet_ms);
  if (sent > 0)
    sb_bytes_consume(q, (size_t)sent);
  return sent >= 0;
}

/* Holds fd, reading nothing, until the daemon closes it (true) or the end comes. */
static bool held_until_closed(int fd, double until) {
  while (worker_now() < until) {
    struct pollfd p = {fd, POLLRDHUP, 0};
    if (poll(&p, 1, 100) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
      return true;
  }
  return false;
}

/* Reads and drops what comes until the daemon closes fd (true) or wait_ms pass. */
static bool drained_until_closed(int fd, int wait_ms) {
  double end = worker_now() + wait_ms / 1e3;
  static uint8_t junk[1 << 16];
  while (worker_now() < end) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0)
      continue;
    ssize_t n = recv(fd, junk, sizeof junk, MSG_DONTWAIT); /* ipc-less: fds are dropped */
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
      return true;
  }
  return false;
}

/* ---- the kinds ----------------------------------------------------------------------------- */

/* Pipelines allocUnsafeSlow(2 MiB + 4 KiB), a slab and so an fd each, and its release, 3000
 * times, and never reads a reply: every fd stays in flight. */
static bool hoard_fds(const hostile_ctx *x, int fd, sb_bytes *in) {
  (void)in;
  sb_bytes q = {0};
  req r;
  for (uint64_t i = 0; i < 3000; i++) {
    req_append(&q, req_sized(&r, 10 + 2 * i, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW,
                             (2 << 20) + 4096));
    req_append(&q, req_release(&r, 11 + 2 * i, req_predicted_id(0, i + 1)));
  }
  push(fd, &q, 1000);
  sb_bytes_free(&q);
  return held_until_closed(fd, x->until);
}

/* A buffer of 256 MiB, then rounds of 30 copies of it, each released, pipelined. */
static bool copy_huge(const hostile_ctx *x, int fd, sb_bytes *in) {
  req r;
  Shmbufwire__Reply *src = call(
      fd, in, req_sized(&r, 2, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, 256 << 20), 60000,
      NULL, NULL, 0);
  bool ok = src && src->result_case == SHMBUFWIRE__REPLY__RESULT_BUFFER;
  uint64_t id = ok ? src->buffer->buffer : 0, made = 0;
  if (src)
    shmbufwire__reply__free_unpacked(src, NULL);
  while (ok && worker_now() < x->until) {
    sb_bytes q = {0};
    for (uint64_t i = 0; i < 30; i++, made++) {
      req_append(&q, req_from_buffer(&r, 10 + 2 * made, id));
      req_append(&q, req_release(&r, 11 + 2 * made, req_predicted_id(1, made + 1)));
    }
    ok = proc_write_all(fd, sb_bytes_head(&q), q.len) == 0;
    sb_bytes_free(&q);
    for (int k = 0; ok && k < 60; k++) {
      Shmbufwire__Reply *rep = NULL;
      ok = read_reply(fd, in, 60000, &rep, NULL, NULL, 0) > 0 && rep &&
           rep->result_case != SHMBUFWIRE__REPLY__RESULT_ERROR;
      if (rep)
        shmbufwire__reply__free_unpacked(rep, NULL);
    }
  }
  return !ok;
}

/* Pipelines stats requests as fast as the daemon takes them, and reads a reply every 10 ms. */
static bool read_slowly(const hostile_ctx *x, int fd, sb_bytes *in) {
  sb_bytes q = {0};
  req r;
  uint64_t id = 10;
  bool ok = true;
  while (ok && worker_now() < x->until) {
    while (q.len < (64u << 10))
      req_append(&q, req_stats(&r, id++));
    ok = push(fd, &q, 200);
    for (int k = 0; ok && k < 20; k++) {
      ok = skip_reply(fd, in, 1000) >= 0;
      usleep(10000);
    }
  }
  sb_bytes_free(&q);
  return !ok;
}

/* A frame of 16 MiB made of nothing but 2-byte unknown fields. */
static bool unknown_fields(const hostile_ctx *x, int fd, sb_bytes *in) {
  (void)x, (void)in;
  static sb_bytes frame;
  if (frame.len == 0) { /* made once, sent whole by every connection */
    if (sb_bytes_reserve(&frame, 4 + HUGE_FRAME) < 0)
      return false;
    uint8_t *f = sb_bytes_tail(&frame);
    f[0] = HUGE_FRAME >> 24, f[1] = (HUGE_FRAME >> 16) & 0xff, f[2] = (HUGE_FRAME >> 8) & 0xff;
    f[3] = HUGE_FRAME & 0xff;
    for (size_t i = 0; i < HUGE_FRAME; i += 2) {
      f[4 + i] = 15 << 3; /* field 15, varint 0 */
      f[5 + i] = 0;
    }
    frame.len = 4 + HUGE_FRAME;
  }
  send_until_quiet(fd, sb_bytes_head(&frame), frame.len, 2000);
  return drained_until_closed(fd, 5000);
}

/* alloc(0) eight million times, pipelined, the replies read as they come. */
static bool empty_allocs(const hostile_ctx *x, int fd, sb_bytes *in) {
  enum { TOTAL = 8 << 20, BATCH = 4096 };
  sb_bytes q = {0};
  req r;
  uint64_t sent = 0, answered = 0;
  bool ok = true;
  while (ok && answered < TOTAL && worker_now() < x->until) {
    if (q.len < (64u << 10) && sent < TOTAL)
      for (int k = 0; k < BATCH; k++, sent++)
        req_append(&q, req_sized(&r, 10 + sent, SHMBUFWIRE__REQUEST__OP_ALLOC, 0));
    struct pollfd p = {fd, POLLIN | (q.len ? POLLOUT : 0), 0};
    if (poll(&p, 1, 100) <= 0)
      continue;
    if ((p.revents & POLLOUT) && !push(fd, &q, 0))
      ok = false;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      if (sb_bytes_reserve(in, 1 << 16) < 0)
        break;
      ssize_t n = recv(fd, sb_bytes_tail(in), sb_bytes_room(in), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        ok = false;
      in->len += n > 0 ? (size_t)n : 0;
      const uint8_t *payload;
      uint32_t len;
      long used;
      while ((used = sb_frame_next(sb_bytes_head(in), in->len, UINT32_MAX, &payload, &len)) > 0) {
        sb_bytes_consume(in, (size_t)used);
        answered++;
        (*replies)++;
      }
    }
  }
  sb_bytes_free(&q);
  return !ok;
}

/* Gets a slab fd, then tries everything on it: truncating, growing, O_APPEND, punching holes,
 * and touching every page of it, holes included. */
static bool tamper(const hostile_ctx *x, int fd, sb_bytes *in) {
  (void)x;
  req r;
  int slab[4];
  size_t nslab = 0;
  Shmbufwire__Reply *rep = call(fd, in, req_sized(&r, 2, SHMBUFWIRE__REQUEST__OP_ALLOC, 100),
                                5000, slab, &nslab, 4);
  uint64_t size =
      rep && rep->result_case == SHMBUFWIRE__REPLY__RESULT_BUFFER ? rep->buffer->slab_size : 0;
  if (rep)
    shmbufwire__reply__free_unpacked(rep, NULL);
  if (size > 0 && nslab == 1) {
    int s = slab[0];
    (void)!ftruncate(s, (off_t)size * 2);
    (void)!ftruncate(s, 0);
    (void)!fallocate(s, 0, (off_t)size, 4096);
    fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_APPEND);
    fallocate(s, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)size);
    for (uint64_t i = 0; i < 10; i++) {
      rep = call(fd, in, req_from_utf8(&r, 10 + i, "after tampering", NULL), 5000, NULL, NULL, 0);
      if (rep)
        shmbufwire__reply__free_unpacked(rep, NULL);
    }
    uint8_t *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
    if (m != MAP_FAILED) {
      memset(m, 0xee, size); /* every hole, never handed out */
      munmap(m, size);
    }
  }
  close_open(slab, nslab);
  return drained_until_closed(fd, 3000);
}

/* 4 KiB of random bytes. */
static bool garbage(const hostile_ctx *x, int fd, sb_bytes *in) {
  (void)x, (void)in;
  static uint32_t rng;
  static uint8_t noise[4096];
  rng = rng ? rng : (uint32_t)getpid() | 1;
  for (size_t i = 0; i < sizeof noise; i++) {
    rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
    noise[i] = (uint8_t)rng;
  }
  send(fd, noise, sizeof noise, MSG_NOSIGNAL);
  return drained_until_closed(fd, 2000);
}

/* Four connections, each with half of a 16 MiB frame sent and the rest never. */
static void half_frames(const hostile_ctx *x) {
  enum { CONNS = 4 };
  int fds[CONNS];
  sb_bytes in = {0};
  static uint8_t half[HUGE_FRAME / 2];
  memset(half, 'h', sizeof half);
  for (int i = 0; i < CONNS; i++)
    fds[i] = -1;
  while (worker_now() < x->until) {
    for (int i = 0; i < CONNS; i++)
      if (fds[i] < 0 && (fds[i] = greeted(x, &in)) >= 0) {
        static const uint8_t header[4] = {HUGE_FRAME >> 24, (HUGE_FRAME >> 16) & 0xff,
                                          (HUGE_FRAME >> 8) & 0xff, HUGE_FRAME & 0xff};
        if (send_until_quiet(fds[i], header, sizeof header, 200) == sizeof header)
          send_until_quiet(fds[i], half, sizeof half, 200);
      }
    struct pollfd p[CONNS];
    forget_ended(x, fds, p, CONNS);
  }
  close_open(fds, CONNS);
  sb_bytes_free(&in);
}

/* As many connections as one user may hold, half of them greeted and idle, half silent; and,
 * once a second, one more, which the daemon must refuse. */
static void idle_sockets(const hostile_ctx *x) {
  size_t n = x->user_cap;
  int *fds = malloc(n * sizeof *fds);
  struct pollfd *p = malloc(n * sizeof *p);
  sb_bytes in = {0};
  if (fds == NULL || p == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    fds[i] = -1;
  double next_extra = worker_now();
  while (worker_now() < x->until) {
    for (size_t i = 0; i < n; i++)
      if (fds[i] < 0)
        fds[i] = i % 2 ? greeted(x, &in) : dial(x);
    if (worker_now() >= next_extra) {
      int extra = greeted(x, &in); /* refused: greeted() counts it */
      if (extra >= 0)
        close(extra);
      next_extra = worker_now() + 1;
    }
    forget_ended(x, fds, p, n);
  }
  close_open(fds, n);
  free(fds);
  free(p);
  sb_bytes_free(&in);
}

void hostile_run(const hostile_kind *k, const hostile_ctx *x) {
  if (k->run) {
    k->run(x);
    return;
  }
  sb_bytes in = {0};
  while (worker_now() < x->until) { /* one connection after another, whatever becomes of them */
    int fd = k->greet ? greeted(x, &in) : dial(x);
    if (fd < 0)
      continue;
    if (k->mischief(x, fd, &in))
      x->report->ended++;
    close(fd);
  }
  sb_bytes_free(&in);
}

const hostile_kind hostile_kinds[] = {
    {"fd hoarders (2 MiB slabs pipelined, never read)", 2, false, true, hoard_fds, NULL},
    {"copier (rounds of 30 x from(256 MiB))", 1, false, true, copy_huge, NULL},
    {"slow readers (a reply per 10 ms)", 2, false, true, read_slowly, NULL},
    {"half-sent 16 MiB frames (4 connections)", 1, false, true, NULL, half_frames},
    {"16 MiB frames of 2-byte unknown fields", 1, false, true, unknown_fields, NULL},
    {"alloc(0) x 8M per connection", 1, false, true, empty_allocs, NULL},
    {"idle and silent sockets up to the per-user cap", 1, true, true, NULL, idle_sockets},
    {"slab fd tamperer (truncate, grow, O_APPEND, holes)", 1, false, true, tamper, NULL},
    {"garbage after hello", 1, false, true, garbage, NULL},
    {"garbage instead of hello", 1, false, false, garbage, NULL},
};
const size_t hostile_nkinds = sizeof hostile_kinds / sizeof *hostile_kinds;
