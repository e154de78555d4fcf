/* SPDX-License-Identifier: MIT */
/* Big buffers through the default client against what the memory system itself costs:
 * from(1 MiB of bytes) and from(a 1 MiB buffer) against memcpy, alloc(1 MiB) against memset
 * (the client carves it out of a region it keeps), and sizes of 1 MiB and a bit that the
 * client has not seen lately against memset and memcpy of those same sizes. Then fresh memory:
 * alloc of those sizes from a client that gives its regions back after each one (so each is a
 * new region, leased, reserved and mapped), against what touching fresh shared pages costs
 * anyone (memfd, mmap, memset, munmap), faulted in page by page, with MAP_POPULATE, with
 * MADV_POPULATE_WRITE, and with transparent huge pages when the host lets shared memory have
 * them. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "groups.h"
#include "make.h"
#include "proc.h"
#include "rounds.h"

#define MIB (1L << 20)
#define FRESH (MIB + 4096) /* 1 MiB and a bit */
#define GROW 64            /* ... growing by this much a call, for 4096 calls */
#define FRESH_MEAN (FRESH + GROW * 4096 / 2)

static uint8_t *src, *dst;

/* A floor's sizes: 1 MiB, or the unseen sizes' cycle (size grows by GROW up to FRESH + GROW *
 * 4096, then starts again), and how it gets fresh pages. */
typedef enum fresh_kind { WARM, TOUCH, MAP_POPULATED, POPULATE_WRITE, HUGE_PAGES } fresh_kind;

typedef struct floor_call {
  long size, grow;
  fresh_kind fresh;
  bool copy;
} floor_call;

static long next_size(floor_call *f) {
  long size = f->size;
  f->size = f->size + f->grow > FRESH + GROW * 4096 ? FRESH : f->size + f->grow;
  return size;
}

/* Fresh shared pages: a new memfd of `size` bytes, mapped and written whole, then let go. */
static int fresh_pages(fresh_kind kind, long size) {
  int fd = memfd_create("bench", MFD_CLOEXEC);
  if (fd < 0)
    return -errno;
  if (ftruncate(fd, size) < 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  uint8_t *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
                    MAP_SHARED | (kind == MAP_POPULATED ? MAP_POPULATE : 0), fd, 0);
  close(fd);
  if (p == MAP_FAILED)
    return -errno;
  if (kind == POPULATE_WRITE)
    madvise(p, (size_t)size, MADV_POPULATE_WRITE);
  else if (kind == HUGE_PAGES)
    madvise(p, (size_t)size, MADV_HUGEPAGE);
  memset(p, 0, (size_t)size);
  munmap(p, (size_t)size);
  return 0;
}

static double floor_run(void *ctx, long n) {
  floor_call *f = ctx;
  double t0 = rounds_now_ns();
  for (long i = 0; i < n; i++) {
    long size = next_size(f);
    if (f->fresh != WARM) {
      int rc = fresh_pages(f->fresh, size);
      if (rc < 0)
        return rc;
    } else if (f->copy)
      memcpy(dst, src, (size_t)size);
    else
      memset(dst, 0, (size_t)size);
    __asm__ volatile("" ::: "memory");
  }
  return rounds_now_ns() - t0;
}

/* Whether the host gives shared memory transparent huge pages when asked (madvise). */
static bool shmem_huge_pages(char *setting, size_t cap) {
  if (!proc_first_line("cat /sys/kernel/mm/transparent_hugepage/shmem_enabled", setting, cap))
    return false;
  return strstr(setting, "[never]") == NULL && strstr(setting, "[deny]") == NULL;
}

typedef struct floor_def {
  const char *name;
  floor_call call;
  long bytes;
} floor_def;

enum { MEMCPY, MEMSET, MEMSET_SEEN, MEMCPY_SEEN, TOUCHED, MAPPED, POPULATED, HUGE, FLOORS };

static const floor_def floors[FLOORS] = {
    {"memcpy 1 MiB", {MIB, 0, WARM, true}, MIB},
    {"memset 1 MiB", {MIB, 0, WARM, false}, MIB},
    {"memset of the same sizes", {FRESH, GROW, WARM, false}, FRESH_MEAN},
    {"memcpy of the same sizes", {FRESH, GROW, WARM, true}, FRESH_MEAN},
    {"fresh shared pages of the same sizes, faulted in", {FRESH, GROW, TOUCH, false}, FRESH_MEAN},
    {"fresh shared pages, MAP_POPULATE", {FRESH, GROW, MAP_POPULATED, false}, FRESH_MEAN},
    {"fresh shared pages, MADV_POPULATE_WRITE", {FRESH, GROW, POPULATE_WRITE, false}, FRESH_MEAN},
    {"fresh shared pages, MADV_HUGEPAGE", {FRESH, GROW, HUGE_PAGES, false}, FRESH_MEAN},
};

typedef struct bulk_case {
  const char *name;
  make_api api;
  long size, grow;
  bool thin, fresh; /* fresh: the client gives its regions back after each call */
  int against[5];   /* floors; -1 ends the list */
} bulk_case;

static const bulk_case cases[] = {
    {"from(1 MiB of bytes)+release", MAKE_FROM_BYTES, MIB, 0, false, false, {MEMCPY, -1}},
    {"from(1 MiB buffer)+release", MAKE_FROM_BUFFER, MIB, 0, false, false, {MEMCPY, -1}},
    {"alloc(1 MiB)+release", MAKE_ALLOC, MIB, 0, false, false, {MEMSET, -1}},
    {"alloc(1 MiB and a bit, unseen size)+release", MAKE_ALLOC, FRESH, GROW, false, false,
     {MEMSET_SEEN, -1}},
    {"from(1 MiB and a bit of bytes, unseen)+release", MAKE_FROM_BYTES, FRESH, GROW, false, false,
     {MEMCPY_SEEN, -1}},
    {"alloc(1 MiB and a bit)+release, a new region each time", MAKE_ALLOC, FRESH, GROW, false,
     true, {TOUCHED, MAPPED, POPULATED, HUGE, -1}},
    {"alloc(1 MiB)+release, thin client", MAKE_ALLOC, MIB, 0, true, false, {MEMSET, TOUCHED, -1}},
};
#define NCASES (int)(sizeof cases / sizeof cases[0])

typedef struct bulk_call {
  make_call m;
  bool trim;
} bulk_call;

static double case_run(void *ctx, long n) {
  bulk_call *b = ctx;
  double t0 = rounds_now_ns();
  for (long i = 0; i < n; i++) {
    shmbuf_buf *out;
    int rc = make_one(&b->m, &out);
    if (rc < 0)
      return rc;
    shmbuf_release(out);
    if (b->trim)
      shmbuf_trim(b->m.c);
  }
  return rounds_now_ns() - t0;
}

/* Each case has a client of its own: what a client keeps for reuse is the client's, and one
 * case's sizes would push another's out. */
static int run(const group_env *env) {
  shmbuf_client *c[NCASES] = {0};
  static bulk_call calls[NCASES];
  floor_call fc[FLOORS];
  int index[FLOORS], prepared = 0, rc = 0;
  char huge[128] = "";
  bool have_huge = shmem_huge_pages(huge, sizeof huge);
  src = malloc((size_t)(FRESH + GROW * 4096));
  dst = malloc((size_t)(FRESH + GROW * 4096));
  rounds *r = rounds_new(env->rounds, env->sample_ns);
  if (src == NULL || dst == NULL || r == NULL)
    rc = -ENOMEM;
  if (rc == 0) {
    memset(src, 'a', (size_t)(FRESH + GROW * 4096));
    memset(dst, 1, (size_t)(FRESH + GROW * 4096));
    for (int f = 0; f < FLOORS; f++) {
      fc[f] = floors[f].call;
      index[f] = f == HUGE && !have_huge ? -1
                                         : rounds_add(r, floors[f].name, floor_run, &fc[f], 1,
                                                      (double)floors[f].bytes);
    }
    if (!have_huge)
      report_note(env->rep, "bulk: no transparent huge pages for shared memory on this host "
                            "(shmem_enabled: %s): that floor is not measured", huge);
  }
  int first = -1;
  for (; prepared < NCASES && rc == 0; prepared++) {
    const bulk_case *k = &cases[prepared];
    bulk_call *b = &calls[prepared];
    rc = shmbuf_connect_ex(env->daemon->path, k->thin ? SHMBUF_THIN : 0, &c[prepared]);
    if (rc == 0 && (rc = make_prepare(&b->m, c[prepared], k->api, k->size, k->grow)) == 0) {
      b->trim = k->fresh;
      int i = rounds_add(r, k->name, case_run, b, 1, (double)(k->grow ? FRESH_MEAN : k->size));
      first = first < 0 ? i : first;
    }
  }
  if (rc == 0 && (rc = rounds_run(r)) == 0)
    for (int i = 0; i < NCASES; i++)
      for (int f = 0; cases[i].against[f] >= 0; f++)
        if (index[cases[i].against[f]] >= 0)
          report_row(env->rep, "bulk", r, first + i, index[cases[i].against[f]]);
  while (prepared-- > 0) {
    make_done(&calls[prepared].m);
    shmbuf_close(c[prepared]);
  }
  rounds_free(r);
  free(src);
  free(dst);
  return rc;
}

const group group_bulk = {"bulk", "1 MiB buffers against memcpy, memset and fresh pages", true,
                          run};
