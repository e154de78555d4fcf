/* SPDX-License-Identifier: MIT */
/* make chaos: a well-behaved client (see worker.h). */
#include "config.h"

#include "worker.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shmbuf.h"

#define LIVE 16
#define BIG (1u << 20) /* now and then a request of a whole MiB */

/* A buffer the worker holds, and what it must read: zeros, or pattern byte i = seed + i. */
typedef struct held {
  shmbuf_buf *buf;
  bool zero;
  uint8_t seed;
} held;

typedef struct worker {
  const char *sock;
  shmbuf_client *c;
  held live[LIVE];
  int n;
  uint32_t rng;
  worker_report *out;
} worker;

static uint8_t source[BIG + 256]; /* from(bytes) copies a window of it: byte i is i mod 256 */

double worker_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint32_t next(worker *w) {
  w->rng ^= w->rng << 13;
  w->rng ^= w->rng >> 17;
  w->rng ^= w->rng << 5;
  return w->rng;
}

static bool holds(const held *h) {
  const uint8_t *p = shmbuf_data(h->buf);
  size_t n = shmbuf_length(h->buf);
  for (size_t i = 0; i < n; i++)
    if (p[i] != (h->zero ? 0 : (uint8_t)(h->seed + i)))
      return false;
  return true;
}

static void note(char *slot, size_t cap, const char *what) {
  if (slot[0] == '\0')
    snprintf(slot, cap, "%s: %s (%s)", what, shmbuf_error_code() ? shmbuf_error_code() : "-",
             shmbuf_error_message() ? shmbuf_error_message() : "-");
}

static void lose(worker *w, const char *what) {
  w->out->lost++;
  note(w->out->first_loss, sizeof w->out->first_loss, what);
}

static void record(worker *w, double seconds) {
  worker_report *r = w->out;
  uint64_t v = (uint64_t)(seconds * 1e9);
  r->requests++;
  if (r->nsamples < WORKER_SAMPLES)
    r->samples_ns[r->nsamples++] = v;
  else { /* reservoir: each request so far kept with the same chance */
    uint64_t k = ((uint64_t)next(w) << 32 | next(w)) % r->requests;
    if (k < WORKER_SAMPLES)
      r->samples_ns[k] = v;
  }
}

static void drop(worker *w, int i) {
  shmbuf_release(w->live[i].buf);
  w->live[i] = w->live[--w->n];
}

/* A lost connection loses every buffer held (the memory stays mapped, the daemon forgot
 * them): count them, and connect again. */
static void reconnect(worker *w) {
  while (w->n > 0) {
    lose(w, "the connection ended under a held buffer");
    drop(w, w->n - 1);
  }
  shmbuf_close(w->c);
  w->c = NULL;
  while (shmbuf_connect_ex(w->sock, SHMBUF_THIN, &w->c) < 0) {
    w->out->refused++;
    note(w->out->first_refusal, sizeof w->out->first_refusal, "connect");
    usleep(10000);
  }
}

/* One request: makes a buffer of one kind, timed, and checks it. */
static void make_one(worker *w) {
  uint32_t r = next(w);
  size_t size = r % 53 == 0 ? BIG : 1 + (r >> 8) % 65536;
  uint8_t seed = (uint8_t)(r >> 3);
  held h = {NULL, false, seed};
  int kind = (int)(r % 4), rc;
  if (kind == 3 && w->n == 0)
    kind = 0;
  double t0 = worker_now();
  switch (kind) {
  case 0:
    rc = shmbuf_alloc(w->c, (int64_t)size, &h.buf);
    h.zero = true;
    break;
  case 1:
    rc = shmbuf_from_bytes(w->c, source + seed, size, &h.buf);
    break;
  case 2:
    rc = shmbuf_alloc_unsafe(w->c, (int64_t)size, &h.buf);
    break;
  default: { /* a copy of a held buffer: the daemon must still have it, bytes and all */
    const held *src = &w->live[r % (uint32_t)w->n];
    rc = shmbuf_from_buffer(w->c, src->buf, &h.buf);
    h.zero = src->zero;
    h.seed = src->seed;
  }
  }
  record(w, worker_now() - t0);
  if (rc < 0) {
    w->out->refused++;
    note(w->out->first_refusal, sizeof w->out->first_refusal, "request");
    if (rc == -ENOTCONN || rc == -EPROTO)
      reconnect(w);
    else if (kind == 3 && rc == -ENOENT)
      lose(w, "the daemon forgot a held buffer");
    return;
  }
  if (kind == 2) /* allocUnsafe: whatever it holds is the worker's to write */
    for (size_t i = 0; i < shmbuf_length(h.buf); i++)
      shmbuf_data(h.buf)[i] = (uint8_t)(seed + i);
  else if (!holds(&h)) {
    lose(w, kind == 0 ? "alloc is not zero-filled" : "a new buffer has the wrong bytes");
    shmbuf_release(h.buf);
    return;
  }
  w->live[w->n++] = h;
}

void worker_run(const char *sock, double until, uint32_t seed, worker_report *out) {
  worker w = {.sock = sock, .rng = seed | 1, .out = out};
  for (size_t i = 0; i < sizeof source; i++)
    source[i] = (uint8_t)i;
  reconnect(&w);
  while (worker_now() < until) {
    uint32_t r = next(&w);
    if (w.n > 0) { /* a held buffer still holds its bytes */
      int i = (int)(r % (uint32_t)w.n);
      if (!holds(&w.live[i])) {
        lose(&w, "a held buffer's bytes changed");
        drop(&w, i);
      }
    }
    if (w.n == LIVE || (w.n > 0 && r % 3 == 0))
      drop(&w, (int)((r >> 4) % (uint32_t)w.n));
    else
      make_one(&w);
  }
  for (int i = 0; i < w.n; i++)
    if (!holds(&w.live[i]))
      lose(&w, "a held buffer's bytes changed");
  while (w.n > 0)
    drop(&w, w.n - 1);
  shmbuf_close(w.c);
}
