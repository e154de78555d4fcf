/* SPDX-License-Identifier: MIT */
/* The rest of Node's Buffer, worked out on mapped memory in this process, beside Node's own
 * calls in the same run: readUInt32LE and writeUInt32LE round a 1 MiB buffer (one call an
 * operation), indexOf of a 16-byte needle that ends a 1 MiB buffer, and write of a 1 KiB
 * string into a buffer. No call crosses the socket. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "groups.h"
#include "rounds.h"
#include "shmbuf.h"

#define BIG (1 << 20)
#define TEXT 1024
#define NEEDLE "0123456789ABCDEF"

typedef struct target {
  shmbuf_buf *buf;
  char text[TEXT + 1];
} target;

static double read_u32(void *ctx, long n) {
  target *t = ctx;
  const long words = BIG / 4;
  uint64_t sum = 0;
  double t0 = rounds_now_ns();
  for (long i = 0; i < n; i++) {
    uint32_t v;
    if (shmbuf_read_uint32_le(t->buf, (i % words) * 4, &v) < 0)
      return -EIO;
    sum += v;
  }
  double elapsed = rounds_now_ns() - t0;
  return sum == 1 ? elapsed + 1 : elapsed; /* the sum is used */
}

static double write_u32(void *ctx, long n) {
  target *t = ctx;
  const long words = BIG / 4;
  double t0 = rounds_now_ns();
  for (long i = 0; i < n; i++)
    if (shmbuf_write_uint32_le(t->buf, (double)(uint32_t)i, (i % words) * 4) < 0)
      return -EIO;
  return rounds_now_ns() - t0;
}

static double index_of(void *ctx, long n) {
  target *t = ctx;
  int64_t at, sum = 0;
  double t0 = rounds_now_ns();
  for (long i = 0; i < n; i++) {
    if (shmbuf_index_of_string(t->buf, NEEDLE, strlen(NEEDLE), SHMBUF_UNDEFINED, "latin1", &at) < 0)
      return -EIO;
    sum += at;
  }
  double elapsed = rounds_now_ns() - t0;
  return sum == -1 ? elapsed + 1 : elapsed;
}

static double write_text(void *ctx, long n) {
  target *t = ctx;
  int64_t written = 0;
  double t0 = rounds_now_ns();
  for (long i = 0; i < n; i++)
    written += shmbuf_write_string(t->buf, t->text, TEXT, SHMBUF_UNDEFINED, SHMBUF_UNDEFINED, NULL);
  double elapsed = rounds_now_ns() - t0;
  return written < 0 ? -EIO : elapsed;
}

/* A buffer of `size` bytes as node-peer.js makes its own: a..z over and over, ending with the
 * needle. */
static int make_target(shmbuf_client *c, long size, target *t) {
  int rc = shmbuf_alloc_unsafe_slow(c, size, &t->buf);
  if (rc < 0)
    return rc;
  uint8_t *p = shmbuf_data(t->buf);
  for (long i = 0; i < size; i++)
    p[i] = (uint8_t)('a' + i % 26);
  if (size >= (long)strlen(NEEDLE))
    memcpy(p + size - strlen(NEEDLE), NEEDLE, strlen(NEEDLE));
  for (int i = 0; i < TEXT; i++)
    t->text[i] = (char)('a' + i % 26);
  t->text[TEXT] = '\0';
  return 0;
}

static int run(const group_env *env) {
  if (env->node == NULL || env->node->pid == 0)
    return 0; /* the rows are beside Node or not at all */
  static const struct {
    const char *name, *node_name, *api;
    rounds_fn fn;
    long size;
  } cases[] = {
      {"readUInt32LE round 1 MiB", "Node readUInt32LE round 1 MiB", "readUInt32LE", read_u32, BIG},
      {"writeUInt32LE round 1 MiB", "Node writeUInt32LE round 1 MiB", "writeUInt32LE", write_u32,
       BIG},
      {"indexOf(16 B) in 1 MiB", "Node indexOf(16 B) in 1 MiB", "indexOf", index_of, BIG},
      {"write(1 KiB string)", "Node write(1 KiB string)", "write", write_text, TEXT},
  };
  shmbuf_client *c;
  int rc = shmbuf_connect(env->daemon->path, &c);
  for (size_t k = 0; k < sizeof cases / sizeof *cases && rc == 0; k++) {
    target t;
    nodejs_call call = {env->node, cases[k].api, cases[k].size};
    rounds *r = rounds_new(env->rounds, env->sample_ns);
    if (r == NULL || (rc = make_target(c, cases[k].size, &t)) < 0) {
      rounds_free(r);
      rc = rc < 0 ? rc : -ENOMEM;
      break;
    }
    if (rounds_add(r, cases[k].name, cases[k].fn, &t, 1, 0) < 0 ||
        rounds_add(r, cases[k].node_name, nodejs_run, &call, 1, 0) < 0)
      rc = -ENOMEM;
    if (rc == 0 && (rc = rounds_run(r)) == 0)
      report_row(env->rep, "buffer-api", r, 0, 1);
    rounds_free(r);
    shmbuf_release(t.buf);
  }
  shmbuf_close(c);
  return rc;
}

const group group_buffer_api = {
    "buffer-api", "the rest of Node's Buffer on mapped memory, beside Node's own calls", true,
    run};
