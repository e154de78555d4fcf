/* SPDX-License-Identifier: MIT */
/* Throughput against connection count: 1, 10, 100 and 1000 connections with one operation
 * in flight on each, all driven from one epoll loop in one thread. shmbuf's operation is a
 * thin allocUnsafe(16) through libshmbuf (shmbuf_fd() and shmbuf_process(), the way an
 * event-loop program uses it), whose release goes out with the next request; the peers' is
 * a GET / mg / echo frame from the raw client. Driving shmbuf through its library, not raw
 * frames, charges the library's per-request work to shmbuf: it is what a program pays, and
 * it tracks the library as its fast paths change. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "groups.h"
#include "raw.h"
#include "rounds.h"
#include "shmbuf.h"

static const int counts[] = {1, 10, 100, 1000};

typedef struct drive drive;

typedef struct conn {
  shmbuf_client *c;
  drive *d;
} conn;

struct drive {
  conn *conns;
  int k;
  long n, sent, done;
  int rc;
};

/* An allocUnsafe(16) answered: the next one is queued before the buffer is released, so that
 * the release's write carries both. */
static void answered(shmbuf_client *c, int status, shmbuf_buf *buf, void *arg) {
  conn *x = arg;
  drive *d = x->d;
  d->done++;
  if (status < 0 && d->rc == 0)
    d->rc = status;
  if (d->sent < d->n && d->rc == 0) {
    int rc = shmbuf_submit_alloc_unsafe(c, 16, answered, x);
    if (rc < 0)
      d->rc = rc;
    else
      d->sent++;
  }
  shmbuf_release(buf);
}

static double shmbuf_drive(void *ctx, long n) {
  drive *d = ctx;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0)
    return -errno;
  d->n = n;
  d->sent = d->done = 0;
  d->rc = 0;
  double t0 = rounds_now_ns();
  for (int i = 0; i < d->k && d->sent < n && d->rc == 0; i++) {
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &d->conns[i]};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, shmbuf_fd(d->conns[i].c), &e) < 0)
      d->rc = -errno;
    else if ((d->rc = shmbuf_submit_alloc_unsafe(d->conns[i].c, 16, answered, &d->conns[i])) == 0)
      d->sent++, d->rc = shmbuf_flush(d->conns[i].c);
  }
  struct epoll_event ev[256];
  while (d->rc == 0 && d->done < d->sent) {
    int m = epoll_wait(ep, ev, 256, 10000);
    if (m <= 0)
      d->rc = m == 0 ? -ETIMEDOUT : errno == EINTR ? 0 : -errno;
    for (int j = 0; j < m && d->rc == 0; j++) {
      conn *x = ev[j].data.ptr;
      int rc = shmbuf_process(x->c);
      if (rc < 0 || (rc = shmbuf_flush(x->c)) < 0)
        d->rc = rc;
    }
  }
  double t = rounds_now_ns() - t0;
  close(ep);
  for (int i = 0; i < d->k && d->rc == 0; i++)
    d->rc = shmbuf_wait(d->conns[i].c); /* the last releases' answers, outside the clock */
  return d->rc < 0 ? d->rc : t;
}

typedef struct raw_many {
  raw_conn *conns;
  int k;
} raw_many;

static double raw_many_drive(void *ctx, long n) {
  raw_many *m = ctx;
  return raw_drive(m->conns, m->k, n);
}

static stats_summary per_second(const rounds *r, int i) {
  stats_summary ns = stats_summarize(rounds_ns(r, i), rounds_count(r));
  return (stats_summary){1e9 / ns.median, 1e9 / ns.hi, 1e9 / ns.lo, ns.n};
}

static int at(const group_env *env, int k) {
  drive d = {calloc((size_t)k, sizeof(conn)), k, 0, 0, 0, 0};
  raw_many peers[3];
  int rc = d.conns ? 0 : -ENOMEM, npeers = 0, opened = 0;
  for (; opened < k && rc == 0; opened++) {
    d.conns[opened].d = &d;
    rc = shmbuf_connect_ex(env->daemon->path, SHMBUF_THIN, &d.conns[opened].c);
  }
  for (; npeers < env->npeers && rc == 0; npeers++) {
    raw_many *p = &peers[npeers];
    *p = (raw_many){calloc((size_t)k, sizeof(raw_conn)), 0};
    for (rc = p->conns ? 0 : -ENOMEM; p->k < k && rc == 0; p->k++)
      rc = raw_open(&p->conns[p->k], env->peers[npeers].path, env->peers[npeers].proto);
  }
  /* One operation on every connection first, for each contender: what a connection does once
   * (shmbuf: lease its first pool and map its slab) is not what this group measures, and
   * left in, it would make the calibration choose samples that are mostly start-up. */
  if (rc == 0 && shmbuf_drive(&d, k) < 0)
    rc = d.rc < 0 ? d.rc : -EIO;
  for (int p = 0; p < npeers && rc == 0; p++)
    if (raw_many_drive(&peers[p], k) < 0)
      rc = -EIO;
  rounds *r = rc == 0 ? rounds_new(env->rounds, env->sample_ns * 4) : NULL;
  if (rc == 0 && r == NULL)
    rc = -ENOMEM;
  if (rc == 0) {
    char name[4][64], conns[32];
    snprintf(conns, sizeof conns, "%d connection%s", k, k == 1 ? "" : "s");
    snprintf(name[0], sizeof name[0], "thin allocUnsafe(16)+release, %s", conns);
    rounds_add(r, name[0], shmbuf_drive, &d, k, 0);
    for (int p = 0; p < npeers; p++) {
      snprintf(name[1 + p], sizeof name[1 + p], "%s, %s", env->peers[p].proto->name, conns);
      rounds_add(r, name[1 + p], raw_many_drive, &peers[p], k, 0);
    }
    if ((rc = rounds_run(r)) == 0) {
      report_point(env->rep, "scale", "shmbuf thin allocUnsafe(16)+release", k, per_second(r, 0));
      for (int p = 0; p < npeers; p++) {
        report_point(env->rep, "scale", env->peers[p].proto->name, k, per_second(r, 1 + p));
        report_row(env->rep, "scale", r, 0, 1 + p);
      }
      report_note(env->rep, "%s: shmbufd RSS %ld kB, %d fds", conns,
                  proc_rss_kb(env->daemon->pid), proc_fd_count(env->daemon->pid));
    }
  }
  rounds_free(r);
  while (npeers-- > 0) {
    while (peers[npeers].k-- > 0)
      raw_close(&peers[npeers].conns[peers[npeers].k]);
    free(peers[npeers].conns);
  }
  while (opened-- > 0)
    shmbuf_close(d.conns[opened].c);
  free(d.conns);
  return rc;
}

static int run(const group_env *env) {
  report_chart(env->rep, "scale", "connections, one operation in flight on each",
               "operations per second", true);
  int rc = 0;
  for (size_t i = 0; i < sizeof counts / sizeof counts[0] && rc == 0; i++)
    rc = at(env, counts[i]);
  return rc;
}

const group group_scale = {"scale", "operations per second against connection count", true,
                           run};
