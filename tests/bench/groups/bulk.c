/* SPDX-License-Identifier: MIT */
/* Big buffers through the default client against what the memory system itself costs:
 * from(1 MiB of bytes) and from(a 1 MiB buffer) against memcpy, alloc(1 MiB) against memset
 * (the library keeps a released ArrayBuffer of that size mapped), and sizes of 1 MiB and a
 * bit that the client has not seen lately against memset and against touching fresh shared
 * pages (memfd, mmap, memset, munmap: the page faults a new range costs anyone). */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "groups.h"
#include "make.h"
#include "rounds.h"

#define MIB (1L << 20)
#define FRESH (MIB + 4096) /* 1 MiB and a bit */

static uint8_t *src, *dst;

static double copy(void *ctx, long n) {
  (void)ctx;
  double t0 = rounds_now_ns();
  for (long i = 0; i < n; i++) {
    memcpy(dst, src, MIB);
    __asm__ volatile("" ::: "memory");
  }
  return rounds_now_ns() - t0;
}

static double zero(void *ctx, long n) {
  (void)ctx;
  double t0 = rounds_now_ns();
  for (long i = 0; i < n; i++) {
    memset(dst, 0, MIB);
    __asm__ volatile("" ::: "memory");
  }
  return rounds_now_ns() - t0;
}

static double fresh_pages(void *ctx, long n) {
  (void)ctx;
  double t0 = rounds_now_ns();
  for (long i = 0; i < n; i++) {
    int fd = memfd_create("bench", MFD_CLOEXEC);
    if (fd < 0)
      return -errno;
    if (ftruncate(fd, FRESH) < 0) {
      int e = -errno;
      close(fd);
      return e;
    }
    void *p = mmap(NULL, FRESH, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
      return -errno;
    memset(p, 0, FRESH);
    munmap(p, FRESH);
  }
  return rounds_now_ns() - t0;
}

typedef struct bulk_case {
  const char *name;
  make_api api;
  long size, grow;
  bool thin;
  int against[2]; /* floors: 0 memcpy, 1 memset, 2 fresh pages; -1 none */
} bulk_case;

static const bulk_case cases[] = {
    {"from(1 MiB of bytes)+release", MAKE_FROM_BYTES, MIB, 0, false, {0, -1}},
    {"from(1 MiB buffer)+release", MAKE_FROM_BUFFER, MIB, 0, false, {0, -1}},
    {"alloc(1 MiB)+release", MAKE_ALLOC, MIB, 0, false, {1, -1}},
    {"alloc(1 MiB and a bit, unseen size)+release", MAKE_ALLOC, FRESH, 64, false, {1, 2}},
    {"from(1 MiB and a bit of bytes, unseen)+release", MAKE_FROM_BYTES, FRESH, 64, false, {0, 2}},
    {"alloc(1 MiB)+release, thin client", MAKE_ALLOC, MIB, 0, true, {1, 2}},
};
#define NCASES (int)(sizeof cases / sizeof cases[0])

/* Each case has a client of its own: the ArrayBuffers a client keeps for reuse are the
 * client's, and one case's sizes would push another's out. */
static int run(const group_env *env) {
  shmbuf_client *c[NCASES] = {0};
  make_call m[NCASES];
  int prepared = 0, rc = 0;
  src = malloc(MIB);
  dst = malloc(MIB);
  rounds *r = rounds_new(env->rounds, env->sample_ns);
  if (src == NULL || dst == NULL || r == NULL)
    rc = -ENOMEM;
  if (rc == 0) {
    memset(src, 'a', MIB);
    memset(dst, 1, MIB);
    rounds_add(r, "memcpy 1 MiB", copy, NULL, 1, MIB);
    rounds_add(r, "memset 1 MiB", zero, NULL, 1, MIB);
    rounds_add(r, "memset 1 MiB and a bit of fresh shared pages", fresh_pages, NULL, 1, FRESH);
  }
  for (; prepared < NCASES && rc == 0; prepared++) {
    const bulk_case *k = &cases[prepared];
    rc = shmbuf_connect_ex(env->daemon->path, k->thin ? SHMBUF_THIN : 0, &c[prepared]);
    if (rc == 0 && (rc = make_prepare(&m[prepared], c[prepared], k->api, k->size, k->grow)) == 0)
      rounds_add(r, k->name, make_release, &m[prepared], 1, (double)k->size);
  }
  if (rc == 0 && (rc = rounds_run(r)) == 0)
    for (int i = 0; i < NCASES; i++)
      for (int f = 0; f < 2; f++)
        if (cases[i].against[f] >= 0)
          report_row(env->rep, "bulk", r, 3 + i, cases[i].against[f]);
  while (prepared-- > 0) {
    make_done(&m[prepared]);
    shmbuf_close(c[prepared]);
  }
  rounds_free(r);
  free(src);
  free(dst);
  return rc;
}

const group group_bulk = {"bulk", "1 MiB buffers against memcpy, memset and fresh pages", true,
                          run};
