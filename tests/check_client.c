/* SPDX-License-Identifier: MIT */
/* libshmbuf against a real shmbufd over a real socket. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uv.h>

#include "harness.h"
#include "shmbuf.h"

static sbt_daemon D;

static void up(void) { sbt_start(&D, NULL); }
static void down(void) { sbt_stop(&D); }

static shmbuf_client *client(unsigned flags) {
  shmbuf_client *c;
  int rc = shmbuf_connect_ex(D.sock, flags, &c);
  ck_assert_msg(rc == 0, "connect: %s", shmbuf_strerror(rc));
  return c;
}

static void assert_inspect(const shmbuf_buf *b, const char *want) {
  char *s;
  ck_assert_int_eq(shmbuf_inspect(b, &s), 0);
  ck_assert_str_eq(s, want);
  shmbuf_free(s);
}

START_TEST(seed_examples) {
  shmbuf_client *c = client(0);
  shmbuf_buf *a, *b, *u, *s;
  ck_assert_int_eq(shmbuf_alloc(c, 4, &a), 0);
  assert_inspect(a, "<Buffer 00 00 00 00>");
  ck_assert_uint_eq(shmbuf_buffer_byte_length(a), 4);
  const double abcd[] = {97, 98, 99, 100};
  ck_assert_int_eq(shmbuf_from_array(c, abcd, 4, &b), 0);
  assert_inspect(b, "<Buffer 61 62 63 64>");
  ck_assert_uint_eq(shmbuf_buffer_byte_length(b), 8192);
  ck_assert_int_eq(shmbuf_alloc_unsafe(c, 4, &u), 0);
  ck_assert_uint_eq(shmbuf_buffer_byte_length(u), 8192);
  ck_assert_uint_eq(shmbuf_length(u), 4);
  ck_assert_int_eq(shmbuf_from_string(c, "abcd", SHMBUF_CSTR, "utf-8", &s), 0);
  assert_inspect(s, "<Buffer 61 62 63 64>");
  char *hex;
  ck_assert_int_eq(shmbuf_to_string(s, "hex", SHMBUF_UNDEFINED, SHMBUF_UNDEFINED, &hex, NULL), 0);
  ck_assert_str_eq(hex, "61626364");
  shmbuf_free(hex);
  /* pooled buffers share their ArrayBuffer, dedicated ones do not */
  ck_assert_uint_eq(shmbuf_arraybuffer_id(b), shmbuf_arraybuffer_id(u));
  ck_assert_uint_ne(shmbuf_arraybuffer_id(a), shmbuf_arraybuffer_id(b));
  shmbuf_close(c);
}
END_TEST

START_TEST(errors_carry_node_codes) {
  shmbuf_client *c = client(0);
  shmbuf_buf *b = NULL;
  ck_assert_int_eq(shmbuf_alloc(c, -1, &b), -ERANGE);
  ck_assert_ptr_null(b);
  ck_assert_str_eq(shmbuf_error_code(), "ERR_OUT_OF_RANGE");
  ck_assert_str_eq(shmbuf_error_message(), "The value of \"size\" is out of range. It must be >= 0 "
                                           "&& <= 4294967296. Received -1");
  ck_assert_int_eq(shmbuf_alloc_unsafe(c, 4294967297, &b), -ERANGE);
  ck_assert_str_eq(shmbuf_error_message(), "The value of \"size\" is out of range. It must be >= 0 "
                                           "&& <= 4294967296. Received 4_294_967_297");
  ck_assert_int_eq(shmbuf_from_string(c, "ab", 2, "utf9", &b), -EINVAL);
  ck_assert_str_eq(shmbuf_error_code(), "ERR_UNKNOWN_ENCODING");
  ck_assert_str_eq(shmbuf_error_message(), "Unknown encoding: utf9");
  ck_assert_int_eq(shmbuf_alloc_fill_string(c, 5, "zz", 2, "hex", &b), -EINVAL);
  ck_assert_str_eq(shmbuf_error_code(), "ERR_INVALID_ARG_VALUE");
  ck_assert_str_eq(shmbuf_error_message(), "The argument 'value' is invalid. Received 'zz'");
  /* the connection goes on after each failure */
  ck_assert_int_eq(shmbuf_alloc(c, 1, &b), 0);
  shmbuf_close(c);
}
END_TEST

/* ---- pool placement, replayed from Node ------------------------------------------------------ */

typedef struct replay {
  shmbuf_client *c;
  shmbuf_buf *bufs[512];
  size_t n;
  uint64_t abs[512];
  size_t nabs;
} replay;

static void replay_end(replay *r) {
  for (size_t i = 0; i < r->n; i++)
    shmbuf_release(r->bufs[i]);
  shmbuf_close(r->c);
  memset(r, 0, sizeof *r);
}

static size_t ab_index(replay *r, uint64_t id) {
  for (size_t i = 0; i < r->nabs; i++)
    if (r->abs[i] == id)
      return i;
  r->abs[r->nabs] = id;
  return r->nabs++;
}

static size_t unhex(const char *h, uint8_t *out) {
  size_t n = 0;
  if (strcmp(h, "-") == 0)
    return 0;
  for (; h[0] && h[1]; h += 2) {
    unsigned v;
    sscanf(h, "%2x", &v);
    out[n++] = (uint8_t)v;
  }
  return n;
}

static void replay_line(replay *r, char *line, unsigned no) {
  char *eq = strstr(line, " = ");
  ck_assert_msg(eq != NULL, "pool.txt:%u: no result", no);
  *eq = '\0';
  size_t len, off, ablen, ab;
  int pooled;
  static char hex[1 << 16];
  ck_assert_int_eq(sscanf(eq + 3, "%zu %zu %zu %zu %d %65535s", &len, &off, &ablen, &ab, &pooled,
                          hex), 6);
  char *save, *op = strtok_r(line, " ", &save), *a1 = strtok_r(NULL, " ", &save),
              *a2 = strtok_r(NULL, " ", &save);
  shmbuf_buf *b = NULL;
  int rc;
  static uint8_t bytes[1 << 16];
  if (strcmp(op, "unsafe") == 0)
    rc = shmbuf_alloc_unsafe(r->c, atoll(a1), &b);
  else if (strcmp(op, "slow") == 0)
    rc = shmbuf_alloc_unsafe_slow(r->c, atoll(a1), &b);
  else if (strcmp(op, "alloc") == 0)
    rc = shmbuf_alloc(r->c, atoll(a1), &b);
  else if (strcmp(op, "array") == 0) {
    static double v[8192];
    size_t n = 0;
    for (char *s2, *t = a1 ? strtok_r(a1, ",", &s2) : NULL; t; t = strtok_r(NULL, ",", &s2))
      v[n++] = atof(t);
    rc = shmbuf_from_array(r->c, v, n, &b);
  } else if (strcmp(op, "string") == 0) {
    size_t n = unhex(a2, bytes);
    rc = shmbuf_from_string(r->c, (const char *)bytes, n, a1, &b);
  } else {
    ck_assert_str_eq(op, "concat");
    const shmbuf_buf *list[16];
    size_t n = 0;
    if (strcmp(a1, "-") != 0)
      for (char *s2, *t = strtok_r(a1, ",", &s2); t; t = strtok_r(NULL, ",", &s2))
        list[n++] = r->bufs[atoi(t)];
    rc = shmbuf_concat(r->c, list, n, strcmp(a2, "-") ? atoll(a2) : SHMBUF_UNDEFINED, &b);
  }
  ck_assert_msg(rc == 0, "pool.txt:%u: %s failed: %s", no, op, shmbuf_error_message());
  r->bufs[r->n++] = b;
  ck_assert_msg(shmbuf_length(b) == len && shmbuf_byte_offset(b) == off &&
                    shmbuf_buffer_byte_length(b) == ablen,
                "pool.txt:%u: %s: length %zu offset %zu byteLength %zu, Node: %zu %zu %zu", no, op,
                shmbuf_length(b), shmbuf_byte_offset(b), shmbuf_buffer_byte_length(b), len, off,
                ablen);
  ck_assert_msg(ab_index(r, shmbuf_arraybuffer_id(b)) == ab,
                "pool.txt:%u: %s: not on the ArrayBuffer Node uses", no, op);
  ck_assert_msg(shmbuf_is_pooled(b) == pooled, "pool.txt:%u: pooled flag", no);
  if (strcmp(hex, "?") != 0) {
    size_t n = unhex(hex, bytes);
    ck_assert_uint_eq(n, len);
    ck_assert_msg(n == 0 || memcmp(shmbuf_data(b), bytes, n) == 0, "pool.txt:%u: contents", no);
  }
}

static unsigned replay_file(unsigned flags) {
  char path[512];
  snprintf(path, sizeof path, "%s/pool.txt", sbt_vectors());
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  static replay r;
  char *line = NULL;
  size_t cap = 0;
  unsigned no = 0, cases = 0;
  while (getline(&line, &cap, f) > 0) {
    no++;
    line[strcspn(line, "\n")] = '\0';
    if (strncmp(line, "seq ", 4) == 0) {
      if (r.c)
        replay_end(&r);
      r.c = client(flags);
      continue;
    }
    replay_line(&r, line, no);
    cases++;
  }
  replay_end(&r);
  free(line);
  fclose(f);
  ck_assert_uint_gt(cases, 1000);
  return cases;
}

START_TEST(pool_placement_matches_node) {
  unsigned n = replay_file(0);
  printf("# pool placement: %u Node-generated cases through the default path\n", n);
}
END_TEST

START_TEST(pool_placement_matches_node_thin) {
  unsigned n = replay_file(SHMBUF_THIN);
  printf("# pool placement: %u Node-generated cases through the daemon-only path\n", n);
}
END_TEST

/* ---- isolation and reuse --------------------------------------------------------------------- */

#define CANARY 0xa5

/* Makes buffers of every kind: small pooled, medium dedicated, big solo. */
static size_t make_mix(shmbuf_client *c, shmbuf_buf **out, size_t max, unsigned seed) {
  size_t n = 0;
  for (unsigned i = 0; n < max; i++) {
    unsigned r = (seed = seed * 1103515245u + 12345u) >> 8;
    int64_t size = i % 50 == 49 ? 3 << 20 : i % 7 == 0 ? 5000 + r % 60000 : 1 + r % 4000;
    int rc = i % 3 == 0 ? shmbuf_alloc_unsafe_slow(c, size, &out[n])
                        : shmbuf_alloc_unsafe(c, size, &out[n]);
    ck_assert_int_eq(rc, 0);
    n++;
  }
  return n;
}

static void assert_no_canary(shmbuf_buf *const *bufs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const uint8_t *p = memchr(shmbuf_data(bufs[i]), CANARY, shmbuf_length(bufs[i]));
    ck_assert_msg(p == NULL, "buffer %zu byte %zu holds another client's byte", i,
                  (size_t)(p - shmbuf_data(bufs[i])));
  }
}

/* The index of the first non-zero byte, or -1. */
static long first_nonzero(const uint8_t *p, size_t n) {
  for (size_t k = 0; k < n; k++)
    if (p[k])
      return (long)k;
  return -1;
}

START_TEST(clients_never_see_each_other) {
  static shmbuf_buf *a[300], *b[300];
  shmbuf_client *ca = client(0), *cb = client(0);
  size_t na = make_mix(ca, a, 300, 1);
  for (size_t i = 0; i < na; i++)
    memset(shmbuf_data(a[i]), CANARY, shmbuf_length(a[i]));
  for (size_t i = 0; i < na; i += 2) /* A's freed memory stays A's */
    shmbuf_release(a[i]);
  size_t nb = make_mix(cb, b, 300, 2);
  assert_no_canary(b, nb);
  for (size_t i = 0; i < nb; i++)
    shmbuf_release(b[i]);
  shmbuf_close(ca); /* and memory A gave back to the system comes back zeroed */
  nb = make_mix(cb, b, 300, 3);
  assert_no_canary(b, nb);
  shmbuf_close(cb);
}
END_TEST

START_TEST(alloc_is_zero_even_on_reused_memory) {
  static shmbuf_buf *a[120];
  shmbuf_client *c = client(0);
  const int64_t sizes[] = {1, 16, 100, 4000, 8192, 20000, 1 << 20, 3 << 20};
  for (int round = 0; round < 3; round++) {
    for (size_t i = 0; i < 120; i++) {
      ck_assert_int_eq(shmbuf_alloc_unsafe_slow(c, sizes[i % 8], &a[i]), 0);
      memset(shmbuf_data(a[i]), 0xff, shmbuf_length(a[i]));
    }
    for (size_t i = 0; i < 120; i++)
      shmbuf_release(a[i]);
    for (size_t i = 0; i < 120; i++) {
      ck_assert_int_eq(shmbuf_alloc(c, sizes[i % 8], &a[i]), 0);
      long at = first_nonzero(shmbuf_data(a[i]), shmbuf_length(a[i]));
      ck_assert_msg(at < 0, "alloc(%lld): byte %ld is not zero", (long long)sizes[i % 8], at);
    }
    for (size_t i = 0; i < 120; i++)
      shmbuf_release(a[i]);
  }
  shmbuf_close(c);
}
END_TEST

/* Releasing every buffer gives the daemon everything back but the current pool, which Node
 * keeps too (thin: the daemon's own; default: the region it is carved from), once the
 * ArrayBuffers and regions the library keeps for reuse are trimmed. */
static void release_returns_everything_in(unsigned flags) {
  static shmbuf_buf *a[1000];
  shmbuf_client *c = client(flags);
  size_t n = make_mix(c, a, 1000, 7);
  if (flags & SHMBUF_THIN)
    ck_assert_uint_eq(sbt_stat(&D, "buffers"), n);
  uint64_t slabs = sbt_stat(&D, "slabs");
  for (size_t i = 0; i < n; i++)
    shmbuf_release(a[i]);
  shmbuf_trim(c);
  bool thin = flags & SHMBUF_THIN;
  ck_assert_uint_eq(sbt_stat_wait(&D, "buffers", thin ? 0 : 1, 2000), thin ? 0 : 1);
  ck_assert_uint_le(sbt_stat(&D, "pools"), 1);
  /* that one buffer is a region of at most 2 MiB */
  ck_assert_uint_eq(sbt_stat(&D, "bytes"), sbt_stat(&D, "leased_bytes"));
  ck_assert_uint_le(sbt_stat(&D, "bytes"), thin ? 0 : 2u << 20);
  /* what remains reserved is the warm reserve plus the current pool's page or region */
  ck_assert_uint_le(sbt_stat(&D, "reserved_bytes"), (2u << 20) + (thin ? 16384 : 2u << 20));
  n = make_mix(c, a, 1000, 7);
  ck_assert_uint_le(sbt_stat(&D, "slabs"), slabs); /* the same memory again */
  shmbuf_close(c);
  ck_assert_uint_eq(sbt_stat_wait(&D, "reserved_bytes", 0, 2000), 0);
  ck_assert_uint_eq(sbt_stat(&D, "slabs"), 0);
  ck_assert_uint_eq(sbt_stat(&D, "connections"), 0);
}

START_TEST(release_returns_everything) { release_returns_everything_in(0); }
END_TEST

START_TEST(release_returns_everything_thin) { release_returns_everything_in(SHMBUF_THIN); }
END_TEST

START_TEST(killed_client_gives_everything_back) {
  int idle_fds = sbt_count_fds_settled(D.pid), ready[2];
  ck_assert_int_eq(pipe(ready), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    static shmbuf_buf *a[500];
    shmbuf_client *c;
    if (shmbuf_connect(D.sock, &c) < 0)
      _exit(1);
    for (size_t i = 0; i < 500; i++)
      if ((i % 2 ? shmbuf_alloc(c, (int64_t)(i * 37), &a[i])
                 : shmbuf_from_string(c, "pooled bytes", SHMBUF_CSTR, NULL, &a[i])) < 0)
        _exit(1);
    if (write(ready[1], "x", 1) != 1)
      _exit(1);
    pause();
    _exit(0);
  }
  char x;
  ck_assert_int_eq(read(ready[0], &x, 1), 1);
  ck_assert_uint_gt(sbt_stat(&D, "leased_bytes"), 0); /* carved out of leased regions */
  ck_assert_uint_gt(sbt_stat(&D, "reserved_bytes"), 0);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  ck_assert_uint_eq(sbt_stat_wait(&D, "connections", 0, 2000), 0);
  ck_assert_uint_eq(sbt_stat(&D, "buffers"), 0);
  ck_assert_uint_eq(sbt_stat(&D, "bytes"), 0);
  ck_assert_uint_eq(sbt_stat(&D, "pools"), 0);
  ck_assert_uint_eq(sbt_stat(&D, "slabs"), 0);
  ck_assert_uint_eq(sbt_stat(&D, "reserved_bytes"), 0);
  /* the daemon's own fds are back to what it held idle (which may have counted a probe
   * connection still closing) */
  ck_assert_int_le(sbt_count_fds_settled(D.pid), idle_fds);
  close(ready[0]);
  close(ready[1]);
}
END_TEST

START_TEST(fds_and_mappings_stay_few) {
  static shmbuf_buf *a[1000], *z[1000];
  shmbuf_client *c = client(0);
  int fds0 = sbt_count_fds(getpid()), maps0 = sbt_count_shm_maps(getpid());
  for (size_t i = 0; i < 1000; i++)
    ck_assert_int_eq(shmbuf_alloc_unsafe(c, 16, &a[i]), 0);
  int fds1 = sbt_count_fds(getpid()) - fds0, maps1 = sbt_count_shm_maps(getpid()) - maps0;
  for (size_t i = 0; i < 1000; i++)
    ck_assert_int_eq(shmbuf_alloc(c, 4, &z[i]), 0);
  int fds2 = sbt_count_fds(getpid()) - fds0, maps2 = sbt_count_shm_maps(getpid()) - maps0;
  printf("# after 1000 allocUnsafe(16): %d more fds, %d shm mappings; after 1000 alloc(4) more: "
         "%d fds, %d mappings; daemon holds %d fds\n",
         fds1, maps1, fds2, maps2, sbt_count_fds_settled(D.pid));
  ck_assert_int_eq(fds1, 0);
  ck_assert_int_eq(maps1, 1);
  ck_assert_int_eq(fds2, 0);
  ck_assert_int_eq(maps2, 1);
  for (size_t i = 0; i < 1000; i++) {
    shmbuf_release(a[i]);
    shmbuf_release(z[i]);
  }
  shmbuf_close(c);
  ck_assert_int_eq(sbt_count_shm_maps(getpid()), maps0);
}
END_TEST

START_TEST(views_share_memory) {
  shmbuf_client *c = client(SHMBUF_THIN); /* so that the daemon's count is the buffers' */
  shmbuf_buf *b, *v, *w;
  ck_assert_int_eq(shmbuf_from_string(c, "hello world", SHMBUF_CSTR, NULL, &b), 0);
  ck_assert_int_eq(shmbuf_subarray(b, 6, SHMBUF_UNDEFINED, &v), 0);
  assert_inspect(v, "<Buffer 77 6f 72 6c 64>");
  shmbuf_data(v)[0] = 'W';
  char *s;
  ck_assert_int_eq(shmbuf_to_string(b, NULL, SHMBUF_UNDEFINED, SHMBUF_UNDEFINED, &s, NULL), 0);
  ck_assert_str_eq(s, "hello World");
  shmbuf_free(s);
  /* Buffer.from(b.buffer, ...) reaches the whole pool, outside b */
  ck_assert_int_eq(shmbuf_from_arraybuffer(b, 0, SHMBUF_UNDEFINED, &w), 0);
  ck_assert_uint_eq(shmbuf_length(w), 8192);
  ck_assert_ptr_eq(shmbuf_data(w) + shmbuf_byte_offset(b), shmbuf_data(b));
  shmbuf_release(b); /* the views keep the memory alive */
  ck_assert_int_eq(shmbuf_to_string(v, NULL, SHMBUF_UNDEFINED, SHMBUF_UNDEFINED, &s, NULL), 0);
  ck_assert_str_eq(s, "World");
  shmbuf_free(s);
  ck_assert_uint_eq(sbt_stat(&D, "buffers"), 1);
  shmbuf_release(v);
  shmbuf_release(w);
  ck_assert_int_eq(shmbuf_flush(c), 0); /* a thin client's release rides with what comes next */
  ck_assert_uint_eq(sbt_stat_wait(&D, "buffers", 0, 2000), 0);
  shmbuf_close(c);
}
END_TEST

/* A program that only makes blocking calls never has callbacks run: what the library keeps
 * of each request must not pile up. */
START_TEST(blocking_calls_keep_nothing_behind) {
  shmbuf_client *c = client(SHMBUF_THIN);
  shmbuf_buf *b;
  for (int i = 0; i < 1000; i++) { /* the library's own memory reaches its level */
    ck_assert_int_eq(shmbuf_alloc_unsafe(c, 16, &b), 0);
    shmbuf_release(b);
  }
  struct mallinfo2 m = mallinfo2();
  size_t before = m.uordblks + m.hblkhd; /* small blocks, and big ones mapped on their own */
  for (int i = 0; i < 20000; i++) {
    ck_assert_int_eq(shmbuf_alloc_unsafe(c, 16, &b), 0);
    shmbuf_release(b);
  }
  m = mallinfo2();
  size_t after = m.uordblks + m.hblkhd;
  ck_assert_msg(after < before + (64u << 10), "the heap grew by %zu bytes", after - before);
  shmbuf_close(c);
}
END_TEST

START_TEST(many_releases_do_not_stall) {
  static shmbuf_buf *a[20000];
  shmbuf_client *c = client(SHMBUF_THIN); /* the daemon makes each one, and hears each release */
  for (int round = 0; round < 3; round++) {
    for (size_t i = 0; i < 20000; i++)
      ck_assert_int_eq(shmbuf_alloc(c, 8, &a[i]), 0);
    for (size_t i = 0; i < 20000; i++)
      shmbuf_release(a[i]);
  }
  ck_assert_int_eq(shmbuf_flush(c), 0);
  ck_assert_uint_eq(sbt_stat_wait(&D, "buffers", 0, 2000), 0);
  shmbuf_close(c);
}
END_TEST

START_TEST(daemon_restart) {
  shmbuf_client *c = client(0);
  shmbuf_buf *b, *x = NULL;
  ck_assert_int_eq(shmbuf_alloc_fill_string(c, 5000, "kept", SHMBUF_CSTR, NULL, &b), 0);
  sbt_terminate(&D);
  /* the mapping stays readable, and requests say what happened */
  ck_assert_int_eq(memcmp(shmbuf_data(b) + 4996, "kept", 4), 0);
  ck_assert_int_eq(shmbuf_alloc(c, 1, &x), -ENOTCONN);
  ck_assert_str_eq(shmbuf_error_code(), "ERR_SHMBUF_DISCONNECTED");
  ck_assert_int_eq(shmbuf_alloc(c, 1, &x), -ENOTCONN);
  ck_assert_ptr_null(x);
  /* a new daemon on the same path serves a new client, and the old mapping lives on */
  sbt_start(&D, NULL);
  shmbuf_client *c2 = client(0);
  ck_assert_int_eq(shmbuf_alloc(c2, 3, &x), 0);
  assert_inspect(x, "<Buffer 00 00 00>");
  ck_assert_int_eq(memcmp(shmbuf_data(b), "kept", 4), 0);
  shmbuf_release(b);
  shmbuf_close(c);
  shmbuf_close(c2);
}
END_TEST

/* ---- pipelining, leases, kept ArrayBuffers ------------------------------------------------------ */

typedef struct done {
  int order[512];
  int status[512];
  shmbuf_buf *buf[512];
  int n;
} done;

typedef struct ticket {
  done *d;
  int index;
} ticket;

static void on_done(shmbuf_client *c, int status, shmbuf_buf *buf, void *arg) {
  ticket *t = arg;
  (void)c;
  t->d->order[t->d->n++] = t->index;
  t->d->status[t->index] = status;
  t->d->buf[t->index] = buf;
}

/* Submits request i of the mix: each kind of request, big, pooled, empty and out of range. */
static void submit_one(shmbuf_client *c, done *d, ticket *t, int i) {
  t[i] = (ticket){d, i};
  int64_t size = i % 5 == 0 ? 100000 : i % 5 == 1 ? 16 : i % 5 == 2 ? 5000 : i % 5 == 3 ? 0 : -1;
  int rc = i % 3 == 0   ? shmbuf_submit_alloc(c, size, on_done, &t[i])
           : i % 3 == 1 ? shmbuf_submit_alloc_unsafe(c, size, on_done, &t[i])
                        : shmbuf_submit_alloc_unsafe_slow(c, size, on_done, &t[i]);
  ck_assert_int_eq(rc, 0);
}

static void submit_mix(shmbuf_client *c, done *d, ticket *t, int n) {
  for (int i = 0; i < n; i++)
    submit_one(c, d, t, i);
}

static void check_mix(done *d, int n) {
  ck_assert_int_eq(d->n, n);
  for (int i = 0; i < n; i++) {
    ck_assert_int_eq(d->order[i], i); /* answered in the order asked */
    int64_t size = i % 5 == 0 ? 100000 : i % 5 == 1 ? 16 : i % 5 == 2 ? 5000 : i % 5 == 3 ? 0 : -1;
    if (size < 0) {
      ck_assert_int_eq(d->status[i], -ERANGE);
      ck_assert_ptr_null(d->buf[i]);
      continue;
    }
    ck_assert_int_eq(d->status[i], 0);
    ck_assert_uint_eq(shmbuf_length(d->buf[i]), (size_t)size);
    if (i % 3 == 0)
      ck_assert(first_nonzero(shmbuf_data(d->buf[i]), (size_t)size) < 0);
    shmbuf_release(d->buf[i]);
  }
}

START_TEST(pipelined_requests_answer_in_order) {
  static done d;
  static ticket t[300];
  for (int thin = 0; thin < 2; thin++) {
    shmbuf_client *c = client(thin ? SHMBUF_THIN : 0);
    memset(&d, 0, sizeof d);
    submit_mix(c, &d, t, 300);
    if (thin) /* nothing runs before it is asked for (leasing a pool waits, and settles) */
      ck_assert_int_eq(d.n, 0);
    ck_assert_int_eq(shmbuf_wait(c), 0);
    check_mix(&d, 300);
    shmbuf_close(c);
  }
}
END_TEST

static void keep_made(shmbuf_client *c, int status, shmbuf_buf *buf, void *arg) {
  (void)c;
  ck_assert_int_eq(status, 0);
  *(shmbuf_buf **)arg = buf;
}

/* A batch may make 8 MiB: pipelined creations of 2 MiB go out in as many batches as that
 * takes, and every one is made. */
START_TEST(pipelined_big_creations_fit_in_batches) {
  shmbuf_client *c = client(SHMBUF_THIN);
  shmbuf_buf *made[16] = {NULL};
  for (int i = 0; i < 16; i++)
    ck_assert_int_eq(shmbuf_submit_alloc(c, 2 << 20, keep_made, &made[i]), 0);
  ck_assert_int_eq(shmbuf_wait(c), 0);
  for (int i = 0; i < 16; i++) {
    ck_assert_ptr_nonnull(made[i]);
    ck_assert_uint_eq(shmbuf_length(made[i]), 2 << 20);
    ck_assert_uint_eq(((const uint8_t *)shmbuf_data(made[i]))[(2 << 20) - 1], 0);
    shmbuf_release(made[i]);
  }
  shmbuf_close(c);
}
END_TEST

/* A thin client's releases ride with its next request, but not for long: once what they
 * give back adds up to 1 MiB they go by themselves, so that an event-loop program that makes
 * nothing more does not sit on memory its user is charged for. */
START_TEST(thin_releases_of_big_buffers_go_at_once) {
  shmbuf_client *c = client(SHMBUF_THIN);
  shmbuf_buf *b;
  uint64_t before = sbt_stat(&D, "bytes");
  ck_assert_int_eq(shmbuf_alloc(c, 1 << 20, &b), 0);
  ck_assert_uint_eq(sbt_stat(&D, "bytes"), before + (1 << 20));
  shmbuf_release(b); /* and nothing more on c */
  ck_assert_uint_eq(sbt_stat_wait(&D, "bytes", before, 2000), before);
  shmbuf_close(c);
}
END_TEST

/* Queued creations go out by themselves once they fill a batch frame, so that the daemon
 * works on them while the program goes on queueing. */
START_TEST(a_full_batch_goes_out_by_itself) {
  shmbuf_client *c = client(SHMBUF_THIN);
  shmbuf_buf *made[64] = {NULL};
  uint64_t before = sbt_stat(&D, "buffers");
  for (int i = 0; i < 63; i++)
    ck_assert_int_eq(shmbuf_submit_alloc(c, 100, keep_made, &made[i]), 0);
  usleep(100000);
  ck_assert_uint_eq(sbt_stat(&D, "buffers"), before); /* still waiting for more */
  ck_assert_int_eq(shmbuf_submit_alloc(c, 100, keep_made, &made[63]), 0);
  ck_assert_uint_eq(sbt_stat_wait(&D, "buffers", before + 64, 2000), before + 64);
  ck_assert_int_eq(shmbuf_wait(c), 0);
  for (int i = 0; i < 64; i++)
    shmbuf_release(made[i]);
  shmbuf_close(c);
}
END_TEST

static void on_readable(uv_poll_t *h, int status, int events) {
  shmbuf_client *c = h->data;
  (void)events;
  ck_assert_int_eq(status, 0);
  ck_assert_int_ge(shmbuf_process(c), 0);
}

START_TEST(pipelining_in_a_libuv_loop) {
  static done d;
  static ticket t[200];
  shmbuf_client *c = client(SHMBUF_THIN);
  uv_loop_t loop;
  uv_poll_t poll;
  uv_loop_init(&loop);
  uv_poll_init(&loop, &poll, shmbuf_fd(c));
  poll.data = c;
  uv_poll_start(&poll, UV_READABLE, on_readable);
  submit_mix(c, &d, t, 200);
  ck_assert_int_eq(shmbuf_flush(c), 0);
  while (d.n < 200)
    uv_run(&loop, UV_RUN_ONCE);
  check_mix(&d, 200);
  uv_close((uv_handle_t *)&poll, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  shmbuf_close(c);
}
END_TEST

/* uv_poll_init() puts the socket in O_NONBLOCK (on the open file description, which the
 * library shares): every call that blocks must then wait with poll(), not give up on EAGAIN.
 * A default client, so that small buffers wait for leased pools too, with blocking calls
 * between pipelined ones. */
START_TEST(blocking_calls_under_a_libuv_poll) {
  static done d;
  static ticket t[200];
  shmbuf_client *c = client(0);
  uv_loop_t loop;
  uv_poll_t poll;
  uv_loop_init(&loop);
  ck_assert_int_eq(uv_poll_init(&loop, &poll, shmbuf_fd(c)), 0);
  ck_assert(fcntl(shmbuf_fd(c), F_GETFL) & O_NONBLOCK);
  poll.data = c;
  uv_poll_start(&poll, UV_READABLE, on_readable);
  for (int i = 0; i < 200; i++) {
    submit_one(c, &d, t, i);
    if (i % 20 != 19)
      continue;
    shmbuf_buf *big, *small, *text;
    shmbuf_stats *stats;
    ck_assert_int_eq(shmbuf_alloc(c, 300000, &big), 0);     /* a round trip */
    ck_assert_int_eq(shmbuf_alloc_unsafe(c, 3000, &small), 0); /* pools run out: a lease */
    ck_assert_int_eq(shmbuf_from_string(c, "abc", SHMBUF_CSTR, NULL, &text), 0);
    ck_assert_int_eq(shmbuf_stats_get(c, &stats), 0);
    shmbuf_stats_free(stats);
    shmbuf_release(big);
    shmbuf_release(small);
    shmbuf_release(text);
    /* the blocking calls read earlier answers, which leave nothing for the poll to see */
    ck_assert_int_ge(shmbuf_process(c), 0);
    uv_run(&loop, UV_RUN_NOWAIT);
  }
  ck_assert_int_eq(shmbuf_flush(c), 0);
  while (d.n < 200)
    uv_run(&loop, UV_RUN_ONCE);
  check_mix(&d, 200);
  ck_assert_int_eq(shmbuf_wait(c), 0);
  uv_close((uv_handle_t *)&poll, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  shmbuf_close(c);
}
END_TEST

/* Callbacks whose releases write make the library read answers while it writes, and a
 * small buffer that needs a new pool waits for a lease, reading whatever comes: whatever
 * shmbuf_process() leaves behind, no whole answer may stay in its buffer, where the socket
 * no longer tells of it. */
static int answers_left;

static void release_it(shmbuf_client *c, int status, shmbuf_buf *b, void *arg) {
  (void)c, (void)arg;
  ck_assert_int_eq(status, 0);
  shmbuf_release(b);
  answers_left--;
}

START_TEST(process_leaves_no_answer_behind) {
  shmbuf_client *c = client(0);
  answers_left = 1000;
  for (int i = 0; i < 1000; i++)
    ck_assert_int_eq(shmbuf_submit_alloc_unsafe(c, i % 2 ? 100 : 1 << 20, release_it, NULL), 0);
  ck_assert_int_eq(shmbuf_flush(c), 0);
  ck_assert_int_ge(shmbuf_process(c), 0);
  while (answers_left > 0) {
    struct pollfd p = {shmbuf_fd(c), POLLIN, 0};
    ck_assert_msg(poll(&p, 1, 5000) == 1, "%d answers never came", answers_left);
    ck_assert_int_ge(shmbuf_process(c), 0);
  }
  shmbuf_close(c);
}
END_TEST

START_TEST(callbacks_learn_of_a_lost_daemon) {
  static done d;
  static ticket t[50];
  shmbuf_client *c = client(SHMBUF_THIN);
  for (int i = 0; i < 50; i++) {
    t[i] = (ticket){&d, i};
    ck_assert_int_eq(shmbuf_submit_alloc(c, 64, on_done, &t[i]), 0);
  }
  sbt_terminate(&D); /* the requests were never sent */
  ck_assert_int_eq(shmbuf_wait(c), -ENOTCONN);
  ck_assert_int_eq(d.n, 50);
  for (int i = 0; i < 50; i++)
    ck_assert_int_eq(d.status[i], -ENOTCONN);
  ck_assert_int_eq(shmbuf_submit_alloc(c, 64, on_done, &t[0]), -ENOTCONN);
  shmbuf_close(c);
  sbt_start(&D, NULL); /* for the fixture's stop */
}
END_TEST

/* Pools and dedicated ArrayBuffers up to 2 MiB are carved out of leased regions: the daemon
 * holds one buffer, a region, for all of them. */
START_TEST(small_buffers_are_carved_from_a_region) {
  static shmbuf_buf *a[1000];
  shmbuf_client *c = client(0);
  for (int i = 0; i < 1000; i++)
    ck_assert_int_eq(i % 2 ? shmbuf_alloc(c, 100, &a[i]) : shmbuf_alloc_unsafe(c, 16, &a[i]), 0);
  ck_assert_uint_eq(sbt_stat(&D, "buffers"), 1);
  ck_assert_uint_eq(sbt_stat(&D, "leased_bytes"), 64u << 10);
  ck_assert_uint_eq(sbt_stat(&D, "session_leased_bytes"), 0); /* the asker's own: none */
  /* 500 * 16 bytes fill one pool of 8 KiB, with Node's placement; alloc() is dedicated */
  ck_assert_uint_eq(shmbuf_arraybuffer_id(a[0]), shmbuf_arraybuffer_id(a[998]));
  ck_assert_uint_eq(shmbuf_byte_offset(a[998]), 499 * 16);
  ck_assert_uint_eq(shmbuf_buffer_byte_length(a[1]), 100);
  ck_assert_uint_ne(shmbuf_arraybuffer_id(a[1]), shmbuf_arraybuffer_id(a[3]));
  for (int i = 0; i < 1000; i++) /* the region stays: it is the only one */
    shmbuf_release(a[i]);
  ck_assert_uint_eq(sbt_stat(&D, "buffers"), 1);
  shmbuf_trim(c); /* but the current pool keeps it, as Node keeps its pool */
  ck_assert_uint_eq(sbt_stat_wait(&D, "buffers", 1, 2000), 1);
  shmbuf_close(c);
}
END_TEST

/* Regions double as the client needs more: a big carve gets a region of its own size class,
 * which stays for the next one when released, and the regions it replaced go back. */
START_TEST(regions_grow_and_are_reused) {
  shmbuf_client *c = client(0);
  shmbuf_buf *a, *b, *s;
  ck_assert_int_eq(shmbuf_alloc_unsafe_slow(c, 100, &s), 0);
  shmbuf_release(s); /* the first region, of 64 KiB, holds nothing now */
  ck_assert_int_eq(shmbuf_alloc_unsafe_slow(c, 1 << 20, &a), 0);
  ck_assert_uint_eq(shmbuf_buffer_byte_length(a), 1 << 20);
  ck_assert(!shmbuf_is_pooled(a));
  uint8_t *where = shmbuf_data(a);
  memset(where, 0xff, 1 << 20);
  shmbuf_release(a);
  ck_assert_uint_eq(sbt_stat_wait(&D, "leased_bytes", 1u << 20, 2000), 1u << 20);
  ck_assert_int_eq(shmbuf_alloc(c, (1 << 20) - 100, &b), 0); /* another size, same memory */
  ck_assert_ptr_eq(shmbuf_data(b), where);
  ck_assert(first_nonzero(shmbuf_data(b), (1 << 20) - 100) < 0);
  ck_assert_int_eq(shmbuf_alloc_unsafe_slow(c, 1 << 20, &s), 0); /* the next region: 2 MiB */
  ck_assert_uint_eq(sbt_stat(&D, "leased_bytes"), 3u << 20);
  shmbuf_release(b);
  shmbuf_release(s);
  shmbuf_trim(c);
  ck_assert_uint_eq(sbt_stat_wait(&D, "buffers", 0, 2000), 0);
  shmbuf_close(c);
}
END_TEST

/* A gauge of the client's own, from shmbuf_stats_get(). */
static uint64_t own_stat(shmbuf_client *c, const char *name) {
  shmbuf_stats *st;
  uint64_t v = UINT64_MAX;
  ck_assert_int_eq(shmbuf_stats_get(c, &st), 0);
  ck_assert_int_eq(shmbuf_stats_find(st, name, &v), 0);
  shmbuf_stats_free(st);
  return v;
}

/* A released small dedicated ArrayBuffer is kept for the next one of its size class, which
 * takes it at once: exactly as long as asked, zero-filled by alloc(), and counted as carved
 * only while it is used. A newer region, or shmbuf_trim(), gives the kept ones back. */
START_TEST(small_carves_are_kept_for_reuse) {
  shmbuf_client *c = client(0);
  shmbuf_buf *a, *b, *other, *big;
  ck_assert_int_eq(shmbuf_alloc_unsafe_slow(c, 100, &a), 0);
  uint8_t *where = shmbuf_data(a);
  memset(where, 0xff, 100);
  shmbuf_release(a);
  ck_assert_uint_eq(own_stat(c, "client_carves"), 0);
  ck_assert_uint_eq(own_stat(c, "client_carved_bytes"), 0);
  ck_assert_int_eq(shmbuf_alloc(c, 110, &b), 0); /* 97 to 112 bytes: one class */
  ck_assert_ptr_eq(shmbuf_data(b), where);
  ck_assert_uint_eq(shmbuf_length(b), 110);
  ck_assert_uint_eq(shmbuf_buffer_byte_length(b), 110);
  ck_assert(first_nonzero(shmbuf_data(b), 110) < 0);
  ck_assert_uint_eq(own_stat(c, "client_carves"), 1);
  ck_assert_uint_eq(own_stat(c, "client_carved_bytes"), 110);
  ck_assert_int_eq(shmbuf_alloc(c, 16, &other), 0); /* another class: another chunk */
  ck_assert(shmbuf_data(other) + 16 <= where || shmbuf_data(other) >= where + 112);
  shmbuf_release(b);
  shmbuf_release(other);
  ck_assert_uint_eq(sbt_stat(&D, "leased_bytes"), 64u << 10);
  /* 64 KiB does not fit beside them: a region of 128 KiB comes, and the first one, holding
   * nothing but kept carves, goes back */
  ck_assert_int_eq(shmbuf_alloc_unsafe_slow(c, 64 << 10, &big), 0);
  ck_assert_uint_eq(sbt_stat_wait(&D, "leased_bytes", 128u << 10, 2000), 128u << 10);
  shmbuf_release(big);
  ck_assert_int_eq(shmbuf_alloc(c, 100, &a), 0);
  shmbuf_release(a);
  shmbuf_trim(c);
  ck_assert_uint_eq(sbt_stat_wait(&D, "buffers", 0, 2000), 0);
  ck_assert_uint_eq(own_stat(c, "client_regions"), 0);
  shmbuf_close(c);
}
END_TEST

/* Kept carves count as memory held ahead of need: when the daemon has no room for a region,
 * they go back with their region, and the region asked again fits. */
START_TEST(kept_carves_yield_to_quotas) {
  sbt_stop(&D);
  sbt_start(&D, (const char *const[]){"--connection-max-bytes", "256K", "--warm-bytes", "0",
                                      NULL});
  shmbuf_client *c = client(0);
  shmbuf_buf *a, *big;
  ck_assert_int_eq(shmbuf_alloc(c, 100, &a), 0); /* a region of 64 KiB */
  shmbuf_release(a);                              /* kept there */
  ck_assert_int_eq(shmbuf_alloc_unsafe_slow(c, 200 << 10, &big), 0);
  ck_assert_uint_eq(shmbuf_buffer_byte_length(big), 200 << 10);
  ck_assert_uint_eq(own_stat(c, "client_regions"), 1);
  shmbuf_release(big);
  shmbuf_close(c);
}
END_TEST

/* Dedicated ArrayBuffers bigger than a region come from the daemon, and a released one is
 * kept, mapped, for the next of its size. */
START_TEST(big_buffers_are_kept_for_reuse) {
  shmbuf_client *c = client(0);
  shmbuf_buf *a, *b, *s;
  ck_assert_int_eq(shmbuf_alloc_unsafe_slow(c, 3 << 20, &a), 0);
  uint8_t *where = shmbuf_data(a);
  memset(where, 0xff, 3 << 20);
  shmbuf_release(a);
  ck_assert_uint_eq(sbt_stat(&D, "buffers"), 1); /* kept, still this connection's */
  ck_assert_uint_eq(sbt_stat(&D, "leased_bytes"), 0);
  ck_assert_int_eq(shmbuf_alloc(c, 3 << 20, &b), 0);
  ck_assert_ptr_eq(shmbuf_data(b), where); /* the same, already mapped */
  ck_assert(first_nonzero(shmbuf_data(b), 3 << 20) < 0);
  ck_assert_uint_eq(shmbuf_buffer_byte_length(b), 3 << 20);
  ck_assert_int_eq(shmbuf_alloc_unsafe_slow(c, 3 << 20, &s), 0); /* a second one is new */
  ck_assert_ptr_ne(shmbuf_data(s), where);
  shmbuf_release(b);
  shmbuf_release(s);
  ck_assert_uint_eq(sbt_stat(&D, "buffers"), 2);
  shmbuf_trim(c);
  ck_assert_uint_eq(sbt_stat_wait(&D, "buffers", 0, 2000), 0);
  shmbuf_close(c);
}
END_TEST

/* ---- callbacks: only when asked, and free to call anything ------------------------------------- */

static shmbuf_buf *inner;

static void call_back_in(shmbuf_client *c, int status, shmbuf_buf *buf, void *arg) {
  done *d = arg;
  d->status[d->n] = status;
  d->buf[d->n++] = buf;
  /* a blocking call that brings a new slab, from inside a callback */
  ck_assert_int_eq(shmbuf_alloc(c, 5 << 20, &inner), 0);
}

START_TEST(callbacks_run_only_when_asked) {
  static done d;
  shmbuf_client *c = client(0);
  shmbuf_buf *outer;
  ck_assert_int_eq(shmbuf_submit_alloc_unsafe_slow(c, 100, call_back_in, &d), 0);
  ck_assert_int_eq(shmbuf_alloc(c, 3 << 20, &outer), 0); /* reads that answer, runs nothing */
  ck_assert_int_eq(d.n, 0);
  ck_assert_int_eq(shmbuf_process(c), 1);
  ck_assert_int_eq(d.n, 1);
  ck_assert_int_eq(d.status[0], 0);
  /* each buffer sits on its own slab, whole: a mix-up of fds would fault here */
  memset(shmbuf_data(outer), 1, 3 << 20);
  memset(shmbuf_data(inner), 2, 5 << 20);
  memset(shmbuf_data(d.buf[0]), 3, 100);
  ck_assert_int_eq(shmbuf_data(outer)[(3 << 20) - 1], 1);
  shmbuf_release(outer);
  shmbuf_release(inner);
  shmbuf_release(d.buf[0]);
  shmbuf_close(c);
}
END_TEST

static void submit_more(shmbuf_client *c, int status, shmbuf_buf *buf, void *arg) {
  done *d = arg;
  ck_assert_int_eq(status, 0);
  shmbuf_release(buf);
  if (++d->n < 20) /* each answer asks for the next */
    ck_assert_int_eq(shmbuf_submit_alloc(c, 64, submit_more, d), 0);
}

static void close_from_inside(shmbuf_client *c, int status, shmbuf_buf *buf, void *arg) {
  done *d = arg;
  (void)status;
  shmbuf_release(buf);
  d->n++;
  shmbuf_close(c);
}

START_TEST(callbacks_may_call_anything) {
  static done d, e;
  shmbuf_client *c = client(SHMBUF_THIN);
  ck_assert_int_eq(shmbuf_submit_alloc(c, 64, submit_more, &d), 0);
  ck_assert_int_eq(shmbuf_wait(c), 0); /* waits for what callbacks asked for too */
  ck_assert_int_eq(d.n, 20);
  ck_assert_int_eq(shmbuf_submit_alloc(c, 64, close_from_inside, &e), 0);
  ck_assert_int_eq(shmbuf_submit_alloc(c, 64, close_from_inside, &e), 0);
  ck_assert_int_eq(shmbuf_wait(c), -ECANCELED); /* the client is gone now */
  ck_assert_int_eq(e.n, 1);
  ck_assert_uint_eq(sbt_stat_wait(&D, "connections", 0, 2000), 0);
}
END_TEST

START_TEST(pool_size_not_a_multiple_of_8) {
  sbt_stop(&D);
  sbt_start(&D, (const char *const[]){"--pool-size", "100", NULL});
  for (int thin = 0; thin < 2; thin++) {
    shmbuf_client *c = client(thin ? SHMBUF_THIN : 0);
    shmbuf_buf *b[4];
    const int64_t sizes[] = {45, 45, 1, 40};
    /* Node with Buffer.poolSize = 100: offsets 0, 48, 96, then 40 > 100 - 104 starts a pool */
    const size_t offsets[] = {0, 48, 96, 0};
    for (int i = 0; i < 4; i++) {
      ck_assert_int_eq(shmbuf_alloc_unsafe(c, sizes[i], &b[i]), 0);
      ck_assert_uint_eq(shmbuf_byte_offset(b[i]), offsets[i]);
      ck_assert_uint_eq(shmbuf_buffer_byte_length(b[i]), 100);
    }
    ck_assert_uint_eq(shmbuf_arraybuffer_id(b[0]), shmbuf_arraybuffer_id(b[2]));
    ck_assert_uint_ne(shmbuf_arraybuffer_id(b[2]), shmbuf_arraybuffer_id(b[3]));
    shmbuf_close(c);
  }
}
END_TEST

/* Under a connection's limit, the region that the doubling asks for does not fit when a
 * smaller one would: the client asks for what the buffer needs, and fills its limit. */
START_TEST(regions_yield_to_quotas) {
  static shmbuf_buf *a[64];
  sbt_stop(&D);
  sbt_start(&D, (const char *const[]){"--connection-max-bytes", "256K", "--warm-bytes", "0",
                                      NULL});
  shmbuf_client *c = client(0);
  int n = 0, rc;
  while (n < 64 && (rc = shmbuf_alloc(c, 16 << 10, &a[n])) == 0)
    n++;
  ck_assert_int_eq(rc, -EDQUOT);
  ck_assert_str_eq(shmbuf_error_code(), "ERR_MEMORY_ALLOCATION_FAILED");
  ck_assert_str_eq(shmbuf_error_message(),
                   "Array buffer allocation failed: this connection's limit is reached");
  ck_assert_int_ge(n * (16 << 10), 224 << 10); /* little of the limit lost to regions */
  while (n > 0)
    shmbuf_release(a[--n]);
  ck_assert_int_eq(shmbuf_alloc(c, 16 << 10, &a[0]), 0);
  shmbuf_release(a[0]);
  shmbuf_close(c);
}
END_TEST

static Suite *client_suite(void) {
  Suite *s = suite_create("client");
  TCase *t = tcase_create("library");
  tcase_add_checked_fixture(t, up, down);
  tcase_set_timeout(t, 60);
  tcase_add_test(t, seed_examples);
  tcase_add_test(t, errors_carry_node_codes);
  tcase_add_test(t, pool_placement_matches_node);
  tcase_add_test(t, pool_placement_matches_node_thin);
  tcase_add_test(t, clients_never_see_each_other);
  tcase_add_test(t, alloc_is_zero_even_on_reused_memory);
  tcase_add_test(t, release_returns_everything);
  tcase_add_test(t, release_returns_everything_thin);
  tcase_add_test(t, killed_client_gives_everything_back);
  tcase_add_test(t, fds_and_mappings_stay_few);
  tcase_add_test(t, views_share_memory);
  tcase_add_test(t, blocking_calls_keep_nothing_behind);
  tcase_add_test(t, many_releases_do_not_stall);
  tcase_add_test(t, daemon_restart);
  tcase_add_test(t, pipelined_requests_answer_in_order);
  tcase_add_test(t, pipelined_big_creations_fit_in_batches);
  tcase_add_test(t, thin_releases_of_big_buffers_go_at_once);
  tcase_add_test(t, a_full_batch_goes_out_by_itself);
  tcase_add_test(t, pipelining_in_a_libuv_loop);
  tcase_add_test(t, blocking_calls_under_a_libuv_poll);
  tcase_add_test(t, process_leaves_no_answer_behind);
  tcase_add_test(t, callbacks_learn_of_a_lost_daemon);
  tcase_add_test(t, small_buffers_are_carved_from_a_region);
  tcase_add_test(t, regions_grow_and_are_reused);
  tcase_add_test(t, small_carves_are_kept_for_reuse);
  tcase_add_test(t, kept_carves_yield_to_quotas);
  tcase_add_test(t, big_buffers_are_kept_for_reuse);
  tcase_add_test(t, callbacks_run_only_when_asked);
  tcase_add_test(t, callbacks_may_call_anything);
  tcase_add_test(t, pool_size_not_a_multiple_of_8);
  tcase_add_test(t, regions_yield_to_quotas);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(client_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
