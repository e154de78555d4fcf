/* SPDX-License-Identifier: MIT */
/* libshmbuf: the byte stream to shmbufd (see wire.h). */
#include "config.h"

#include "wire.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "errors.h"
#include "frame.h"

/* What a reply beyond the longest request adds: an error's code, errnum and the message's own
 * words (proto/README.md). */
#define REPLY_OVERHEAD (64u << 10)
#define READ_MIN 4096u
#define MAX_FDS 253           /* SCM_MAX_FD */
#define IN_KEEP 65536u
#define OUT_KEEP 8192u

int wire_connect(wire *w, const char *path) {
  *w = (wire){.fd = -1};
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return errors_fail(-errno, "ERR_SHMBUF_CONNECT", "socket: %s", strerror(errno));
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  memcpy(a.sun_path, path, strlen(path) + 1);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    int err = errno;
    close(fd);
    return errors_fail(-err, "ERR_SHMBUF_CONNECT", "cannot connect to shmbufd at %s: %s", path,
                       strerror(err));
  }
  w->fd = fd;
  return 0;
}

void wire_close(wire *w) {
  for (size_t i = 0; i < w->nfds; i++)
    close(w->fds[i]);
  if (w->fd >= 0)
    close(w->fd);
  free(w->fds);
  sb_bytes_free(&w->in);
  sb_bytes_free(&w->out);
  *w = (wire){.fd = -1, .broken = true};
}

int wire_stop(wire *w, int errnum) {
  if (!w->broken)
    w->error = errnum;
  w->broken = true;
  while (w->nfds > 0)
    close(w->fds[--w->nfds]);
  return errnum;
}

int wire_broken(wire *w, int errnum, const char *why) {
  wire_stop(w, errnum);
  if (errnum == -EPROTO)
    return errors_fail(errnum, "ERR_SHMBUF_PROTOCOL", "shmbufd broke the protocol: %s", why);
  return errors_fail(errnum, "ERR_SHMBUF_DISCONNECTED", "connection to shmbufd lost: %s", why);
}

int wire_queue(wire *w, const ProtobufCMessage *msg, bool batch) {
  uint32_t max = w->max_frame ? w->max_frame : SB_FRAME_MAX_DEFAULT;
  int rc = batch ? sb_frame_append_batch(&w->out, msg, max) : sb_frame_append(&w->out, msg, max);
  if (rc == -EMSGSIZE)
    return errors_fail(-E2BIG, "ERR_SHMBUF_TOO_LARGE",
                       "the request is larger than the daemon's frame limit of %u bytes", max);
  if (rc < 0)
    return errors_fail(rc, "ERR_SHMBUF_NO_MEMORY", "out of memory");
  return 0;
}

static int push_fd(wire *w, int fd) {
  if (w->nfds == w->cap_fds) {
    size_t cap = w->cap_fds ? w->cap_fds * 2 : 8;
    int *f = realloc(w->fds, cap * sizeof *f);
    if (f == NULL)
      return -ENOMEM;
    w->fds = f;
    w->cap_fds = cap;
  }
  w->fds[w->nfds++] = fd;
  return 0;
}

/* Reads once from the socket, keeping any fds that ride along. Returns 1 after reading what
 * was there (the read left room, and no fds cut it short), 2 after reading when more may be
 * there, 0 when nothing is there and `wait` is false, or a negative errno (broken). The socket
 * may be non-blocking whatever this library made it (uv_poll_init() sets O_NONBLOCK on the
 * open file description), so a read that waits asks recvmsg() to block only as the socket
 * does, and poll() waits when the socket will not: a blocking socket takes one system call
 * for a reply still to come, not three. */
static int recv_some(wire *w, size_t want, bool wait) {
  if (sb_bytes_reserve(&w->in, want < READ_MIN ? READ_MIN : want) < 0)
    return wire_broken(w, -ENOMEM, "out of memory for a reply");
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
  } ctl;
  struct iovec iov = {sb_bytes_tail(&w->in), sb_bytes_room(&w->in)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                       .msg_controllen = sizeof ctl.buf};
  ssize_t n;
  int flags = MSG_CMSG_CLOEXEC | (wait ? 0 : MSG_DONTWAIT);
  while ((n = recvmsg(w->fd, &msg, flags)) < 0) {
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      break;
    if (!wait)
      return 0;
    struct pollfd p = {w->fd, POLLIN, 0};
    if (poll(&p, 1, -1) < 0 && errno != EINTR)
      break;
  }
  if (n < 0)
    return wire_broken(w, -ENOTCONN, strerror(errno));
  if (n == 0)
    return wire_broken(w, -ENOTCONN, "the daemon closed the connection");
  int rc = 0;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
      continue;
    size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < nfd; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
      if (rc < 0 || (rc = push_fd(w, fd)) < 0)
        close(fd);
    }
  }
  if (msg.msg_flags & MSG_CTRUNC)
    return wire_broken(w, -EPROTO, "slab descriptors were lost in transit");
  if (rc < 0)
    return wire_broken(w, rc, "out of memory for slab descriptors");
  w->in.len += (size_t)n;
  /* a read that left room, with no fds to cut it short, found the socket empty */
  return (size_t)n < iov.iov_len && msg.msg_controllen == 0 ? 1 : 2;
}

int wire_poll_in(wire *w) {
  int rc = 0, n;
  /* a read that left room has drained the socket: no second read to hear EAGAIN */
  while (!w->broken && (n = recv_some(w, 0, false)) != 0)
    if ((rc = n) < 0 || n == 1)
      break;
  return rc > 0 ? 1 : rc;
}

int wire_flush(wire *w) {
  if (w->broken)
    return errors_fail(-ENOTCONN, "ERR_SHMBUF_DISCONNECTED", "not connected to shmbufd");
  while (w->out.len > 0) {
    ssize_t n = send(w->fd, sb_bytes_head(&w->out), w->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sb_bytes_consume(&w->out, (size_t)n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
      return wire_broken(w, -ENOTCONN, strerror(errno));
    struct pollfd p = {w->fd, POLLOUT | POLLIN, 0};
    if (poll(&p, 1, -1) < 0 && errno != EINTR)
      return wire_broken(w, -ENOTCONN, strerror(errno));
    if (p.revents & POLLIN) {
      int rc = recv_some(w, 0, false);
      if (rc < 0)
        return rc;
    }
  }
  sb_bytes_trim(&w->out, OUT_KEEP);
  return 0;
}

/* The longest reply the daemon may send: an error message quotes what the request carried,
 * where invalid UTF-8 comes back as three-byte U+FFFD, so 3 x its frame limit (the default
 * one before the welcome says it) and the rest of the reply. A longer header is a broken
 * stream. */
static uint32_t reply_max(const wire *w) {
  uint64_t frame = w->max_frame ? w->max_frame : SB_FRAME_MAX_DEFAULT;
  uint64_t max = 3 * frame + REPLY_OVERHEAD;
  return max < SB_FRAME_BATCH ? (uint32_t)max : SB_FRAME_BATCH - 1; /* no frame is longer */
}

int wire_next_frame(wire *w, bool wait, wire_frame *out) {
  uint32_t max = reply_max(w);
  out->payload = NULL;
  for (;;) {
    long n = w->in.len == 0 ? 0 /* nothing to look at */
                            : sb_frame_next_kind(sb_bytes_head(&w->in), w->in.len, max,
                                                 &out->payload, &out->len, &out->batch);
    if (n < 0)
      return wire_broken(w, -EPROTO, "the daemon sent a malformed frame");
    if (n > 0) {
      out->size = (size_t)n;
      return 0;
    }
    if (!wait)
      return 0;
    size_t want = 0; /* the rest of the frame being received, when its header is here */
    if (w->in.len >= SB_FRAME_HEADER)
      want = (sb_frame_length(sb_bytes_head(&w->in)) & ~SB_FRAME_BATCH) + SB_FRAME_HEADER -
             w->in.len;
    int rc = recv_some(w, want, true);
    if (rc < 0)
      return rc;
  }
}

void wire_frame_done(wire *w, const wire_frame *f) {
  sb_bytes_consume(&w->in, f->size);
  sb_bytes_trim(&w->in, IN_KEEP);
}

void wire_reply_free(Shmbufwire__Reply *r) { shmbufwire__reply__free_unpacked(r, NULL); }

int wire_take_fd(wire *w, int *fd) {
  if (w->nfds == 0)
    return wire_broken(w, -EPROTO, "a slab arrived without its descriptor");
  *fd = w->fds[0];
  memmove(w->fds, w->fds + 1, --w->nfds * sizeof *w->fds);
  return 0;
}
