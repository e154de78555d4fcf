/* SPDX-License-Identifier: MIT */
/* Sharing: what it costs to reach another process's memory.
 *
 * - share + import + first read of a buffer of 16 B, 1 MiB and 256 MiB (the buffer made and
 *   shared once beforehand; each operation is a new token, an import on a second connection,
 *   a read of the first byte, the import's release and the token's revocation), each against
 *   the 16 B case: importing costs the same at every size, and the 256 MiB row's ratio says
 *   how nearly;
 * - a producer handing payloads of 4 KiB, 64 KiB, 1 MiB and 16 MiB to a consumer process,
 *   which reads every byte: each payload a new buffer shared by a single-use token sent over
 *   a socketpair (up to 2 MiB a buffer shares its slab, so sharing copies it once into an
 *   object of its own; past that its slab becomes the object where it is), or one shared
 *   buffer the consumer imported once, rewritten for each payload and announced by a byte,
 *   each against the same payload written through the socketpair itself. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "groups.h"
#include "place.h"
#include "rounds.h"
#include "shmbuf.h"

/* ---- share + import + first read ------------------------------------------------------------ */

typedef struct reach {
  shmbuf_client *exporter, *importer;
  shmbuf_buf *buf;
} reach;

static double share_import_read(void *ctx, long n) {
  reach *r = ctx;
  volatile uint8_t sink = 0;
  double t0 = rounds_now_ns();
  for (long i = 0; i < n; i++) {
    char token[SHMBUF_TOKEN_MAX];
    shmbuf_buf *view;
    int rc = shmbuf_share(r->buf, 0, 0, token);
    if (rc < 0 || (rc = shmbuf_import(r->importer, token, &view)) < 0)
      return rc;
    sink += shmbuf_data(view)[0];
    shmbuf_release(view);
    if ((rc = shmbuf_unshare(r->exporter, token)) < 0)
      return rc;
  }
  (void)sink;
  return rounds_now_ns() - t0;
}

static int reach_rows(const group_env *env) {
  static const struct {
    const char *name;
    int64_t size;
  } sizes[] = {{"share+import+read(16 B)", 16},
               {"share+import+read(1 MiB)", 1 << 20},
               {"share+import+read(256 MiB)", 256 << 20}};
  reach v[3] = {{0}};
  rounds *r = rounds_new(env->rounds, env->sample_ns);
  int rc = r ? 0 : -ENOMEM;
  for (int i = 0; i < 3 && rc == 0; i++) {
    if ((rc = shmbuf_connect(env->daemon->path, &v[i].exporter)) < 0 ||
        (rc = shmbuf_connect(env->daemon->path, &v[i].importer)) < 0 ||
        (rc = shmbuf_alloc(v[i].exporter, sizes[i].size, &v[i].buf)) < 0)
      break;
    char token[SHMBUF_TOKEN_MAX]; /* the one copy a buffer without a slab of its own costs */
    if ((rc = shmbuf_share(v[i].buf, 0, 0, token)) == 0)
      rc = shmbuf_unshare(v[i].exporter, token);
    if (rc == 0)
      rc = rounds_add(r, sizes[i].name, share_import_read, &v[i], 1, 0) < 0 ? -ENOMEM : 0;
  }
  if (rc == 0)
    rc = rounds_run(r);
  for (int i = 1; i < 3 && rc == 0; i++)
    report_row(env->rep, "share", r, i, 0);
  rounds_free(r);
  for (int i = 0; i < 3; i++) {
    shmbuf_close(v[i].exporter);
    shmbuf_close(v[i].importer);
  }
  return rc;
}

/* ---- handing payloads to another process ---------------------------------------------------- */

/* Each payload's bytes, and what the consumer sums to prove it read them. */
static void fill_payload(uint8_t *p, size_t size, long seq) {
  memset(p, (int)(seq & 0xff), size);
  memcpy(p, &seq, sizeof seq < size ? sizeof seq : size);
}

static uint64_t sum(const uint8_t *p, size_t size) {
  uint64_t s = 0;
  for (size_t i = 0; i < size; i += 8) {
    uint64_t w = 0;
    memcpy(&w, p + i, size - i < 8 ? size - i : 8);
    s += w;
  }
  return s;
}

typedef enum {
  HAND_TOKEN,  /* each payload a new buffer, shared by a single-use token */
  HAND_REUSED, /* one shared buffer, imported once, rewritten for each payload */
  HAND_SOCKET, /* the payload through the socket */
} hand_mode;

typedef struct handoff {
  const char *daemon;
  size_t size;
  hand_mode mode;
  int fd;        /* the producer's end (the consumer's, in the consumer) */
  int other;     /* in the consumer: the producer's end, closed there at once */
  pid_t consumer;
  shmbuf_client *c;
  shmbuf_buf *reused; /* HAND_REUSED: the producer's shared buffer */
  uint8_t *scratch;   /* the socket producer's payload, the consumer's receive buffer */
} handoff;

/* Reads a token from fd and imports it. */
static int import_from(int fd, shmbuf_client *c, shmbuf_buf **out) {
  char token[SHMBUF_TOKEN_MAX];
  int rc = proc_read_full(fd, token, sizeof token);
  return rc < 0 ? rc : shmbuf_import(c, token, out);
}

/* The consumer: for each message, the payload's bytes (imported, the shared buffer it
 * imported at first, or read from the socket), summed, then one byte back. */
static void consume(void *arg) {
  handoff *h = arg;
  shmbuf_client *c = NULL;
  shmbuf_buf *reused = NULL;
  close(h->other); /* else the producer's close would never end this loop */
  if (h->mode != HAND_SOCKET && shmbuf_connect(h->daemon, &c) < 0)
    return;
  if (h->mode == HAND_REUSED && import_from(h->fd, c, &reused) < 0)
    return;
  for (;;) {
    uint64_t s;
    shmbuf_buf *b;
    uint8_t go;
    if (h->mode == HAND_TOKEN) {
      if (import_from(h->fd, c, &b) < 0)
        break;
      s = sum(shmbuf_data(b), shmbuf_length(b));
      shmbuf_release(b);
    } else if (h->mode == HAND_REUSED) {
      if (proc_read_full(h->fd, &go, 1) < 0)
        break;
      s = sum(shmbuf_data(reused), shmbuf_length(reused));
    } else {
      if (proc_read_full(h->fd, h->scratch, h->size) < 0)
        break;
      s = sum(h->scratch, h->size);
    }
    uint8_t ack = (uint8_t)s;
    if (proc_write_all(h->fd, &ack, 1) < 0)
      break;
  }
  shmbuf_close(c);
}

static int send_token(handoff *h, shmbuf_buf *b, unsigned flags) {
  char token[SHMBUF_TOKEN_MAX] = "";
  int rc = shmbuf_share(b, flags, 0, token);
  return rc < 0 ? rc : proc_write_all(h->fd, token, sizeof token);
}

static double hand_off(void *ctx, long n) {
  handoff *h = ctx;
  double t0 = rounds_now_ns();
  for (long i = 0; i < n; i++) {
    int rc = 0;
    shmbuf_buf *b;
    if (h->mode == HAND_TOKEN) {
      if ((rc = shmbuf_alloc_unsafe_slow(h->c, (int64_t)h->size, &b)) < 0)
        return rc;
      fill_payload(shmbuf_data(b), h->size, i);
      rc = send_token(h, b, SHMBUF_SHARE_SINGLE_USE);
      shmbuf_release(b); /* the consumer's import keeps the bytes */
    } else if (h->mode == HAND_REUSED) {
      fill_payload(shmbuf_data(h->reused), h->size, i);
      rc = proc_write_all(h->fd, "", 1);
    } else {
      fill_payload(h->scratch, h->size, i);
      rc = proc_write_all(h->fd, h->scratch, h->size);
    }
    uint8_t ack;
    if (rc < 0 || (rc = proc_read_full(h->fd, &ack, 1)) < 0)
      return rc;
  }
  return rounds_now_ns() - t0;
}

static int handoff_start(handoff *h) {
  int sv[2], rc;
  if ((h->scratch = malloc(h->size)) == NULL)
    return -ENOMEM;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return -errno;
  h->fd = sv[1];
  h->other = sv[0];
  pid_t pid = proc_fork(consume, h);
  h->fd = sv[0];
  close(sv[1]);
  if (pid < 0)
    return (int)pid;
  h->consumer = pid;
  place_server(pid);
  if (h->mode == HAND_SOCKET)
    return 0;
  if ((rc = shmbuf_connect(h->daemon, &h->c)) < 0 || h->mode == HAND_TOKEN)
    return rc;
  rc = shmbuf_alloc_unsafe_slow(h->c, (int64_t)h->size, &h->reused);
  return rc < 0 ? rc : send_token(h, h->reused, 0);
}

static void handoff_stop(handoff *h) {
  if (h->consumer > 0) {
    close(h->fd); /* the consumer sees the end and exits */
    waitpid(h->consumer, NULL, 0);
    place_forget(h->consumer);
  }
  shmbuf_close(h->c);
  free(h->scratch);
}

static int handoff_rows(const group_env *env) {
  static const size_t sizes[] = {4 << 10, 64 << 10, 1 << 20, 16 << 20};
  static const char *const sizes_named[] = {"4 KiB", "64 KiB", "1 MiB", "16 MiB"};
  static const char *const how[] = {"by a token each", "in one shared buffer", "through a socket"};
  int rc = 0;
  for (int s = 0; s < 4 && rc == 0; s++) {
    handoff h[3];
    char names[3][64];
    rounds *r = rounds_new(env->rounds, env->sample_ns);
    rc = r ? 0 : -ENOMEM;
    for (int m = 0; m < 3; m++) {
      h[m] = (handoff){.daemon = env->daemon->path, .size = sizes[s], .mode = (hand_mode)m,
                       .fd = -1, .other = -1};
      snprintf(names[m], sizeof names[m], "hand %s to a process %s", sizes_named[s], how[m]);
      if (rc == 0)
        rc = handoff_start(&h[m]);
      if (rc == 0 && rounds_add(r, names[m], hand_off, &h[m], 1, (double)sizes[s]) < 0)
        rc = -ENOMEM;
    }
    if (rc == 0 && (rc = rounds_run(r)) == 0) {
      report_row(env->rep, "share", r, HAND_TOKEN, HAND_SOCKET);
      report_row(env->rep, "share", r, HAND_REUSED, HAND_SOCKET);
    }
    for (int m = 2; m >= 0; m--) /* a later consumer holds the earlier ones' sockets too */
      handoff_stop(&h[m]);
    rounds_free(r);
  }
  return rc;
}

static int run(const group_env *env) {
  signal(SIGPIPE, SIG_IGN);
  int rc = reach_rows(env);
  return rc < 0 ? rc : handoff_rows(env);
}

const group group_share = {
    "share", "reaching another process's memory: import at any size, and handoffs against a "
    "Unix socket", true, run};
