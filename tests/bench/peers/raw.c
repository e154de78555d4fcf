/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "proc.h"
#include "raw.h"
#include "rounds.h"

int raw_open(raw_conn *c, const char *path, const raw_proto *p) {
  *c = (raw_conn){-1, p, NULL, NULL, 0};
  c->out = malloc(RAW_DEPTH * p->request_len);
  c->in = malloc(RAW_DEPTH * p->reply_len);
  int rc = c->out && c->in ? proc_connect(path) : -ENOMEM;
  if (rc < 0) {
    raw_close(c);
    return rc;
  }
  c->fd = rc;
  for (int i = 0; i < RAW_DEPTH; i++)
    memcpy(c->out + (size_t)i * p->request_len, p->request, p->request_len);
  if ((rc = proc_write_all(c->fd, p->request, p->request_len)) < 0 ||
      (rc = proc_read_full(c->fd, c->in, p->reply_len)) < 0 ||
      (rc = memcmp(c->in, p->reply, p->reply_len) ? -EPROTO : 0) < 0) {
    raw_close(c);
    return rc;
  }
  return 0;
}

void raw_close(raw_conn *c) {
  if (c->fd >= 0)
    close(c->fd);
  free(c->out);
  free(c->in);
  c->fd = -1;
  c->out = c->in = NULL;
}

double raw_rtt(void *ctx, long n) {
  raw_conn *c = ctx;
  int rc = 0;
  double t0 = rounds_now_ns();
  for (long i = 0; i < n && rc == 0; i++)
    if ((rc = proc_write_all(c->fd, c->out, c->p->request_len)) == 0)
      rc = proc_read_full(c->fd, c->in, c->p->reply_len);
  return rc < 0 ? rc : rounds_now_ns() - t0;
}

double raw_pipelined(void *ctx, long n) {
  raw_conn *c = ctx;
  int rc = 0;
  double t0 = rounds_now_ns();
  for (long i = 0; i < n && rc == 0; i += RAW_DEPTH)
    if ((rc = proc_write_all(c->fd, c->out, RAW_DEPTH * c->p->request_len)) == 0)
      rc = proc_read_full(c->fd, c->in, RAW_DEPTH * c->p->reply_len);
  return rc < 0 ? rc : rounds_now_ns() - t0;
}

double raw_drive(raw_conn *conns, int k, long n) {
  int ep = epoll_create1(EPOLL_CLOEXEC), rc = 0;
  if (ep < 0)
    return -errno;
  long sent = 0, done = 0;
  double t0 = rounds_now_ns();
  for (int i = 0; i < k && sent < n && rc == 0; i++, sent++) {
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &conns[i]};
    conns[i].have = 0;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &e) < 0)
      rc = -errno;
    else
      rc = proc_write_all(conns[i].fd, conns[i].out, conns[i].p->request_len);
  }
  struct epoll_event ev[256];
  while (rc == 0 && done < sent) {
    int m = epoll_wait(ep, ev, 256, 10000);
    if (m <= 0) {
      rc = m == 0 ? -ETIMEDOUT : errno == EINTR ? 0 : -errno;
      continue;
    }
    for (int j = 0; j < m && rc == 0; j++) {
      raw_conn *c = ev[j].data.ptr;
      ssize_t r = read(c->fd, c->in + c->have, c->p->reply_len - c->have);
      if (r <= 0) {
        rc = r == 0 ? -EPIPE : errno == EAGAIN || errno == EINTR ? 0 : -errno;
        continue;
      }
      if ((c->have += (size_t)r) < c->p->reply_len)
        continue;
      c->have = 0;
      done++;
      if (sent < n && (rc = proc_write_all(c->fd, c->out, c->p->request_len)) == 0)
        sent++;
    }
  }
  double t = rounds_now_ns() - t0;
  close(ep);
  return rc < 0 ? rc : t;
}

int raw_send_many(const char *path, size_t (*make)(long i, char *buf), long n,
                  size_t reply_len) {
  enum { CHUNK = 256 };
  char *out = malloc(CHUNK * 256), *in = malloc(CHUNK * reply_len);
  int fd = proc_connect(path), rc = fd < 0 ? fd : out && in ? 0 : -ENOMEM;
  for (long i = 0; i < n && rc == 0; i += CHUNK) {
    long m = n - i < CHUNK ? n - i : CHUNK;
    size_t len = 0;
    for (long j = 0; j < m; j++)
      len += make(i + j, out + len);
    if ((rc = proc_write_all(fd, out, len)) == 0)
      rc = proc_read_full(fd, in, (size_t)m * reply_len);
  }
  if (fd >= 0)
    close(fd);
  free(out);
  free(in);
  return rc;
}

int raw_ask(const char *path, const void *request, size_t request_len, const void *reply,
            size_t reply_len) {
  raw_proto p = {"", request, request_len, reply, reply_len};
  raw_conn c;
  int rc = raw_open(&c, path, &p);
  if (rc == 0)
    raw_close(&c);
  return rc;
}

int raw_start(proc_server *s, char *const argv[], const char *socket_path, const char *log_path,
              const char *store, const char *stored) {
  int rc = proc_start(s, argv, socket_path, log_path);
  if (rc == 0 && (rc = raw_ask(s->path, store, strlen(store), stored, strlen(stored))) < 0)
    proc_stop(s);
  return rc;
}
