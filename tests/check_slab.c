/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "segment.h"
#include "slab.h"

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KIB 1024u
#define MIB (1024u * 1024u)
#define GRAIN 16u   /* the finest thing the slab hands out */
#define FPAGE 4096u /* what the fake reserves and punches in */

/* Check records every passing ck_assert (a write to its log), which is most of the time of
 * a loop that asserts millions of times; the hot helpers below only report failures. */
#define REQ(c)                                                                              \
  do {                                                                                      \
    if (!(c))                                                                               \
      ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #c);                                    \
  } while (0)
#define REQ_MSG(c, ...)                                                                     \
  do {                                                                                      \
    if (!(c))                                                                               \
      ck_abort_msg(__VA_ARGS__);                                                            \
  } while (0)
#define REQ_EQ(a, b)                                                                        \
  do {                                                                                      \
    unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);          \
    if (a_ != b_)                                                                           \
      ck_abort_msg("%s:%d: %s == %s (%llu != %llu)", __FILE__, __LINE__, #a, #b, a_, b_);   \
  } while (0)

/* ---- bitmaps ------------------------------------------------------------------------------- */

static uint64_t *bits_new(uint64_t nbits) {
  uint64_t *m = calloc((nbits + 63) / 64 + 1, sizeof *m);
  REQ(m != NULL);
  return m;
}

/* Sets or clears bits [a, b); returns how many changed. */
static uint64_t bits_change(uint64_t *m, uint64_t a, uint64_t b, bool on) {
  uint64_t changed = 0;
  while (a < b) {
    uint64_t w = a / 64, lo = a % 64, hi = (b - w * 64) < 64 ? b - w * 64 : 64;
    uint64_t mask = (hi == 64 ? ~0ull : (1ull << hi) - 1) & ~((1ull << lo) - 1);
    uint64_t old = m[w];
    m[w] = on ? old | mask : old & ~mask;
    changed += (uint64_t)__builtin_popcountll(old ^ m[w]);
    a = w * 64 + hi;
  }
  return changed;
}

static uint64_t bits_count(const uint64_t *m, uint64_t a, uint64_t b) {
  uint64_t c = 0;
  while (a < b) {
    uint64_t w = a / 64, lo = a % 64, hi = (b - w * 64) < 64 ? b - w * 64 : 64;
    uint64_t mask = (hi == 64 ? ~0ull : (1ull << hi) - 1) & ~((1ull << lo) - 1);
    c += (uint64_t)__builtin_popcountll(m[w] & mask);
    a = w * 64 + hi;
  }
  return c;
}

/* ---- the fake backend ---------------------------------------------------------------------- */

/* What the fake knows of one segment. Besides the kernel's view (size, reserved pages) it
 * follows the bytes: `dirty` granules were handed out since they were last punched or
 * zeroed (an owner may have written them), `touched` 16 KiB pages were handed out since they
 * were last punched, `used` granules are inside a live chunk. */
typedef struct fseg {
  bool live, retired, handed_out;
  uint32_t id;
  uint64_t size;
  uint64_t *reserved; /* FPAGE pages */
  uint64_t *dirty;    /* GRAIN granules */
  uint64_t *touched;  /* SLAB_PAGE pages */
  uint64_t *used;     /* GRAIN granules */
} fseg;

#define FD0 1000
#define MAX_FSEGS 100000

typedef struct fake {
  fseg *segs;
  int nsegs;
  int64_t charged;
  int64_t budget; /* < 0: no limit */
  int refusal;    /* the errno charge() refuses with */
  int reserve_error;
  int create_error;
  uint64_t reserved_bytes; /* over live segments */
  unsigned refusals, creates, destroys, retires, reserves, punches, zeros;
  int live;
  int zero_fd;
  uint64_t zero_off, zero_len;
  bool zero_was_touched;
  unsigned violations;
  char violation[256];
} fake;

static fake F;

static void violate(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violate(const char *fmt, ...) {
  if (F.violations++ == 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(F.violation, sizeof F.violation, fmt, ap);
    va_end(ap);
  }
}

static fseg *fs_of(int fd) {
  if (fd < FD0 || fd >= FD0 + F.nsegs) {
    violate("unknown fd %d", fd);
    return NULL;
  }
  fseg *s = &F.segs[fd - FD0];
  if (!s->live) {
    violate("fd %d used after destroy", fd);
    return NULL;
  }
  return s;
}

static bool fs_range(fseg *s, int fd, uint64_t off, uint64_t len, const char *what) {
  if (len == 0 || off + len > s->size || off + len < off) {
    violate("%s(%d, %llu, %llu) outside a segment of %llu", what, fd, (unsigned long long)off,
            (unsigned long long)len, (unsigned long long)s->size);
    return false;
  }
  return true;
}

static int f_create(void *ctx, uint64_t size, int *fd) {
  (void)ctx;
  if (F.create_error)
    return F.create_error;
  if (size == 0 || size % FPAGE)
    violate("create(%llu)", (unsigned long long)size);
  REQ(F.nsegs < MAX_FSEGS);
  fseg *s = &F.segs[F.nsegs];
  memset(s, 0, sizeof *s);
  s->live = true;
  s->size = size;
  s->reserved = bits_new(size / FPAGE + 1);
  s->dirty = bits_new(size / GRAIN + 1);
  s->touched = bits_new(size / SLAB_PAGE + 1);
  s->used = bits_new(size / GRAIN + 1);
  *fd = FD0 + F.nsegs++;
  F.creates++;
  F.live++;
  return 0;
}

static int f_reserve(int fd, uint64_t off, uint64_t len) {
  F.reserves++;
  fseg *s = fs_of(fd);
  if (s == NULL || !fs_range(s, fd, off, len, "reserve"))
    return -EBADF;
  if (F.reserve_error)
    return F.reserve_error;
  if (off % FPAGE || len % FPAGE)
    violate("reserve(%llu, %llu) not in pages", (unsigned long long)off, (unsigned long long)len);
  F.reserved_bytes += bits_change(s->reserved, off / FPAGE, (off + len) / FPAGE, true) * FPAGE;
  return 0;
}

static int f_punch(int fd, uint64_t off, uint64_t len) {
  F.punches++;
  fseg *s = fs_of(fd);
  if (s == NULL || !fs_range(s, fd, off, len, "punch"))
    return -EBADF;
  if (off % FPAGE || len % FPAGE)
    violate("punch(%llu, %llu) not in pages", (unsigned long long)off, (unsigned long long)len);
  if (bits_count(s->used, off / GRAIN, (off + len) / GRAIN))
    violate("punch(%d, %llu, %llu) under a live chunk", fd, (unsigned long long)off,
            (unsigned long long)len);
  F.reserved_bytes -= bits_change(s->reserved, off / FPAGE, (off + len) / FPAGE, false) * FPAGE;
  bits_change(s->dirty, off / GRAIN, (off + len) / GRAIN, false);
  bits_change(s->touched, off / SLAB_PAGE, (off + len) / SLAB_PAGE, false);
  return 0;
}

static int f_zero(int fd, uint64_t off, uint64_t len) {
  F.zeros++;
  fseg *s = fs_of(fd);
  if (s == NULL || !fs_range(s, fd, off, len, "zero"))
    return -EBADF;
  /* writing zeros into a hole would reserve memory nobody charged */
  uint64_t p0 = off / FPAGE, p1 = (off + len + FPAGE - 1) / FPAGE;
  if (bits_count(s->reserved, p0, p1) != p1 - p0)
    violate("zero(%d, %llu, %llu) over a hole", fd, (unsigned long long)off,
            (unsigned long long)len);
  F.zero_fd = fd;
  F.zero_off = off;
  F.zero_len = len;
  F.zero_was_touched =
      bits_count(s->touched, off / SLAB_PAGE, (off + len + SLAB_PAGE - 1) / SLAB_PAGE) > 0;
  bits_change(s->dirty, off / GRAIN, (off + len + GRAIN - 1) / GRAIN, false);
  return 0;
}

static void fs_free(fseg *s) {
  free(s->reserved);
  free(s->dirty);
  free(s->touched);
  free(s->used);
  s->reserved = s->dirty = s->touched = s->used = NULL;
}

static void f_destroy(int fd) {
  F.destroys++;
  fseg *s = fs_of(fd);
  if (s == NULL)
    return;
  if (s->handed_out && !s->retired)
    violate("segment %u (fd %d) destroyed without retire", s->id, fd);
  if (bits_count(s->used, 0, s->size / GRAIN))
    violate("segment %u destroyed under a live chunk", s->id);
  F.reserved_bytes -= bits_count(s->reserved, 0, s->size / FPAGE) * FPAGE;
  s->live = false;
  F.live--;
  fs_free(s);
}

static int f_charge(void *ctx, int64_t bytes) {
  REQ(ctx == &F);
  if (bytes == 0) {
    violate("charge(0)");
    return 0;
  }
  if (bytes > 0 && F.budget >= 0 && F.charged + bytes > F.budget) {
    F.refusals++;
    return F.refusal;
  }
  F.charged += bytes;
  if (F.charged < 0)
    violate("charged %lld < 0", (long long)F.charged);
  return 0;
}

static void f_retire(void *ctx, const slab_seg *seg) {
  REQ(ctx == &F);
  fseg *s = fs_of(seg->fd);
  if (s == NULL)
    return;
  if (s->retired)
    violate("segment %u retired twice", seg->id);
  if (s->handed_out && s->id != seg->id)
    violate("retire names id %u for segment %u", seg->id, s->id);
  s->retired = true;
  F.retires++;
}

static void f_unshare(void *ctx, void *shared, const slab_seg *seg) {
  (void)ctx;
  (void)shared;
  (void)seg;
}
static const slab_ops fake_ops = {f_create,  f_reserve, f_punch,  f_zero,
                                  f_destroy, f_charge,  f_retire, f_unshare};

static void fake_setup(void) {
  memset(&F, 0, sizeof F);
  F.segs = calloc(MAX_FSEGS, sizeof *F.segs);
  REQ(F.segs != NULL);
  F.budget = -1;
  F.refusal = -EDQUOT;
}

static void fake_teardown(void) {
  for (int i = 0; i < F.nsegs; i++)
    fs_free(&F.segs[i]);
  free(F.segs);
  F.segs = NULL;
}

/* ---- the test's side: chunks handed out, and invariants ------------------------------------ */

typedef struct chunk {
  slab_seg *seg;
  int fd;
  uint64_t off, size;
} chunk;

/* Live chunks, in fake segments' `used` bits; the fake fd's bitmaps are the truth. */
static void mark_live(const chunk *c, bool on) {
  fseg *s = fs_of(c->fd);
  REQ(s != NULL);
  uint64_t a = c->off / GRAIN, b = (c->off + slab_chunk_size(c->size) + GRAIN - 1) / GRAIN;
  if (on) {
    uint64_t busy = bits_count(s->used, a, b);
    REQ_MSG(busy == 0, "chunk [%llu, +%llu) of segment %u overlaps a live one",
                  (unsigned long long)c->off, (unsigned long long)slab_chunk_size(c->size),
                  c->seg->id);
  }
  bits_change(s->used, a, b, on);
}

static unsigned popcount_map(const uint64_t *m) {
  unsigned c = 0;
  for (unsigned i = 0; i < SLAB_SEG_PAGES / 64; i++)
    c += (unsigned)__builtin_popcountll(m[i]);
  return c;
}

/* Everything the owner says matches what the fake saw. */
static void check_books(const slab_owner *o) {
  REQ_MSG(F.violations == 0, "%u contract violations, first: %s", F.violations,
                F.violation);
  REQ_EQ(o->reserved, F.reserved_bytes);
  REQ_EQ(F.charged, (int64_t)o->reserved);
  REQ(o->warm <= o->warm_limit);
  REQ(o->warm <= o->reserved);
  uint32_t n = 0, empty = 0;
  uint64_t warm = 0;
  for (const slab_seg *s = o->segs; s; s = s->next, n++) {
    fseg *f = fs_of(s->fd);
    REQ(f != NULL);
    REQ_EQ(s->size, f->size);
    REQ(s->id <= o->next_id);
    REQ(s->next == NULL || s->next->prev == s);
    uint64_t held = bits_count(f->reserved, 0, f->size / FPAGE) * FPAGE;
    if (s->solo) {
      REQ_EQ(held, s->size);
    } else {
      unsigned used = popcount_map(s->used_map), w = popcount_map(s->warm_map);
      REQ_EQ(used, s->used_pages);
      for (unsigned i = 0; i < SLAB_SEG_PAGES / 64; i++)
        REQ_EQ(s->used_map[i] & s->warm_map[i], 0);
      REQ_EQ(held, (uint64_t)(used + w) * SLAB_PAGE);
      warm += (uint64_t)w * SLAB_PAGE;
      empty += s->used_pages == 0;
    }
  }
  REQ_EQ(n, o->nsegs);
  REQ_EQ(F.live, (int)n);
  REQ_EQ(warm, o->warm);
  REQ(empty <= 1); /* at most one spare */
}

static int try_alloc(slab_owner *o, uint64_t size, unsigned flags, chunk *c) {
  unsigned zeros = F.zeros;
  F.zero_fd = -1;
  slab_seg *seg = NULL;
  uint64_t off = ~0ull;
  int rc = slab_alloc(o, size, flags, &seg, &off);
  if (rc < 0)
    return rc;
  REQ(seg != NULL);
  *c = (chunk){seg, seg->fd, off, size};
  fseg *s = fs_of(seg->fd);
  REQ(s != NULL);
  uint64_t cs = slab_chunk_size(size);
  REQ(cs >= size);
  REQ_EQ(off % 16, 0);
  REQ(off + cs <= seg->size);
  if (size > SLAB_RUN_MAX) {
    REQ(seg->solo);
    REQ_EQ(off, 0);
    REQ_EQ(seg->size, cs);
  } else {
    REQ(!seg->solo);
    REQ_EQ(seg->size, SLAB_SEG_SIZE);
  }
  /* every byte the owner may touch is reserved: a touch never SIGBUSes */
  uint64_t p0 = off / FPAGE, p1 = (off + size + FPAGE - 1) / FPAGE;
  REQ_EQ(bits_count(s->reserved, p0, p1), p1 - p0);
  if (flags & SLAB_ZERO) {
    REQ_MSG(bits_count(s->dirty, off / GRAIN, (off + size + GRAIN - 1) / GRAIN) == 0,
                  "SLAB_ZERO chunk [%llu, +%llu) holds old bytes", (unsigned long long)off,
                  (unsigned long long)size);
    if (F.zeros != zeros) {
      REQ_EQ(F.zeros, zeros + 1);
      REQ_EQ(F.zero_fd, seg->fd);
      REQ_EQ(F.zero_off, off);
      REQ(F.zero_len >= size);
      REQ_MSG(F.zero_was_touched, "zeroed fresh memory at %llu", (unsigned long long)off);
    }
  } else {
    REQ_EQ(F.zeros, zeros);
  }
  mark_live(c, true);
  /* the owner may write all of it */
  bits_change(s->dirty, off / GRAIN, (off + size + GRAIN - 1) / GRAIN, true);
  bits_change(s->touched, off / SLAB_PAGE, (off + size + SLAB_PAGE - 1) / SLAB_PAGE, true);
  s->handed_out = true;
  s->id = seg->id;
  return 0;
}

static chunk must_alloc(slab_owner *o, uint64_t size, unsigned flags) {
  chunk c;
  int rc = try_alloc(o, size, flags, &c);
  REQ_MSG(rc == 0, "slab_alloc(%llu) = %d", (unsigned long long)size, rc);
  check_books(o);
  return c;
}

static void do_free(slab_owner *o, const chunk *c) {
  mark_live(c, false);
  slab_free(o, c->seg, c->off);
  check_books(o);
}

/* ---- sizes --------------------------------------------------------------------------------- */

START_TEST(chunk_sizes) {
  ck_assert_uint_eq(slab_chunk_size(1), 16);
  ck_assert_uint_eq(slab_chunk_size(16), 16);
  ck_assert_uint_eq(slab_chunk_size(17), 32);
  ck_assert_uint_eq(slab_chunk_size(129), 160);
  ck_assert_uint_eq(slab_chunk_size(4096), 4096);
  ck_assert_uint_eq(slab_chunk_size(8191), 8192);
  ck_assert_uint_eq(slab_chunk_size(8192), 8192);
  ck_assert_uint_eq(slab_chunk_size(8193), 16384);
  ck_assert_uint_eq(slab_chunk_size(16385), 32768);
  ck_assert_uint_eq(slab_chunk_size(2 * MIB), 2 * MIB);
  ck_assert_uint_eq(slab_chunk_size(2 * MIB + 1), 2 * MIB + 4096);
  ck_assert_uint_eq(slab_chunk_size(3 * MIB + 4096), 3 * MIB + 4096);
  uint64_t prev = 0;
  for (uint64_t s = 1; s <= 3 * MIB; s += s < 20000 ? 1 : 4093) {
    uint64_t c = slab_chunk_size(s);
    ck_assert_uint_ge(c, s);
    ck_assert_uint_ge(c, prev); /* monotonic */
    ck_assert_uint_eq(c % 16, 0);
    if (s > 128 && s <= SLAB_SMALL_MAX)
      ck_assert_uint_le(c * 4, s * 5); /* at most 25% waste */
    prev = c;
  }
}
END_TEST

START_TEST(sizes_and_alignment) {
  slab_owner o;
  slab_owner_init(&o, &fake_ops, &F, 1 * MIB);
  static chunk live[9000];
  int n = 0;
  for (uint64_t s = 1; s <= 8192; s += 1)
    live[n++] = must_alloc(&o, s, s % 2 ? SLAB_ZERO : 0);
  for (uint64_t s = 8193; s <= 3 * MIB; s = s * 3 / 2 + 1)
    live[n++] = must_alloc(&o, s, 0);
  live[n++] = must_alloc(&o, 2 * MIB, 0);
  live[n++] = must_alloc(&o, 2 * MIB + 1, 0);
  /* equal sizes in one class sit class-size apart in a page */
  chunk a = must_alloc(&o, 100, 0), b = must_alloc(&o, 100, 0);
  ck_assert_ptr_eq(a.seg, b.seg);
  ck_assert_uint_eq(b.off - a.off, 112);
  for (int i = 0; i < n; i++)
    do_free(&o, &live[i]);
  do_free(&o, &a);
  do_free(&o, &b);
  slab_owner_fini(&o, true);
  check_books(&o);
  ck_assert_int_eq(F.charged, 0);
}
END_TEST

START_TEST(bad_sizes) {
  slab_owner o;
  slab_owner_init(&o, &fake_ops, &F, 0);
  slab_seg *seg;
  uint64_t off;
  ck_assert_int_eq(slab_alloc(&o, 0, 0, &seg, &off), -EFBIG);
  ck_assert_int_eq(slab_alloc(&o, UINT64_MAX, 0, &seg, &off), -EFBIG);
  ck_assert_int_eq(slab_alloc(&o, ((uint64_t)1 << 46) + 1, 0, &seg, &off), -EFBIG);
  ck_assert_uint_eq(F.creates, 0);
  ck_assert_uint_eq(o.reserved, 0);
  slab_owner_fini(&o, true);
  check_books(&o);
}
END_TEST

/* ---- accounting ---------------------------------------------------------------------------- */

START_TEST(free_all_leaves_warm_only) {
  const uint64_t warm_limit = 256 * KIB;
  slab_owner o;
  slab_owner_init(&o, &fake_ops, &F, warm_limit);
  static chunk c[3000];
  int n = 0;
  for (int i = 0; i < 2000; i++)
    c[n++] = must_alloc(&o, (uint64_t)(i % 50) * 37 + 1, 0);
  for (int i = 0; i < 300; i++)
    c[n++] = must_alloc(&o, 8193 + (uint64_t)i * 1000, 0);
  c[n++] = must_alloc(&o, 3 * MIB, 0);
  ck_assert_uint_gt(o.reserved, 8 * MIB);
  for (int i = 0; i < n; i += 2)
    do_free(&o, &c[i]);
  for (int i = 1; i < n; i += 2)
    do_free(&o, &c[i]);
  ck_assert_uint_le(o.reserved, warm_limit);
  ck_assert_uint_eq(o.reserved, o.warm);
  ck_assert_uint_le(o.nsegs, 1);
  uint64_t warm = o.warm;
  ck_assert_uint_eq(slab_drop_warm(&o), warm);
  check_books(&o);
  ck_assert_uint_eq(o.reserved, 0);
  ck_assert_uint_eq(o.warm, 0);
  ck_assert_int_eq(F.charged, 0);
  ck_assert_uint_eq(slab_drop_warm(&o), 0);
  slab_owner_fini(&o, true);
  check_books(&o);
}
END_TEST

START_TEST(warm_pages_are_reused) {
  slab_owner o;
  slab_owner_init(&o, &fake_ops, &F, 1 * MIB);
  chunk a = must_alloc(&o, 64 * KIB, 0);
  uint64_t reserved = o.reserved;
  unsigned reserves = F.reserves;
  do_free(&o, &a);
  ck_assert_uint_eq(o.warm, 64 * KIB);
  ck_assert_uint_eq(o.reserved, reserved); /* kept */
  chunk b = must_alloc(&o, 64 * KIB, 0);
  ck_assert_ptr_eq(b.seg, a.seg);
  ck_assert_uint_eq(b.off, a.off);
  ck_assert_uint_eq(o.warm, 0);
  ck_assert_uint_eq(o.reserved, reserved); /* nothing new charged */
  ck_assert_uint_eq(F.reserves, reserves);  /* nor reserved again */
  do_free(&o, &b);
  slab_owner_fini(&o, true);
  check_books(&o);
  ck_assert_int_eq(F.charged, 0);
}
END_TEST

START_TEST(warm_limit_zero_punches) {
  slab_owner o;
  slab_owner_init(&o, &fake_ops, &F, 0);
  chunk a = must_alloc(&o, 100, 0), b = must_alloc(&o, 40000, 0);
  unsigned punches = F.punches;
  do_free(&o, &a);
  do_free(&o, &b);
  ck_assert_uint_gt(F.punches, punches);
  ck_assert_uint_eq(o.reserved, 0);
  ck_assert_uint_eq(o.warm, 0);
  ck_assert_int_eq(F.charged, 0);
  slab_owner_fini(&o, true);
  check_books(&o);
}
END_TEST

/* ---- SLAB_ZERO ----------------------------------------------------------------------------- */

START_TEST(zero_only_when_dirty) {
  slab_owner o;
  slab_owner_init(&o, &fake_ops, &F, 4 * MIB);
  /* fresh memory: never zeroed */
  chunk a = must_alloc(&o, 100, SLAB_ZERO);
  chunk r = must_alloc(&o, 50000, SLAB_ZERO);
  chunk s = must_alloc(&o, 2 * MIB + 100, SLAB_ZERO);
  ck_assert_uint_eq(F.zeros, 0);

  /* a freed small chunk handed out again is zeroed */
  do_free(&o, &a);
  unsigned z = F.zeros;
  chunk a2 = must_alloc(&o, 100, SLAB_ZERO);
  ck_assert_uint_eq(a2.off, a.off);
  ck_assert_uint_eq(F.zeros, z + 1);
  ck_assert_uint_eq(F.zero_len, 100);

  /* a warm run handed out again is zeroed, over the size asked */
  do_free(&o, &r);
  z = F.zeros;
  chunk r2 = must_alloc(&o, 40000, SLAB_ZERO);
  ck_assert_uint_eq(r2.off, r.off);
  ck_assert_uint_eq(F.zeros, z + 1);
  ck_assert_uint_ge(F.zero_len, 40000);

  /* without SLAB_ZERO, old bytes are allowed: no zeroing */
  do_free(&o, &r2);
  z = F.zeros;
  chunk r3 = must_alloc(&o, 40000, 0);
  ck_assert_uint_eq(F.zeros, z);

  /* a warm page taken by a small class: its chunks are dirty even when new to the class */
  do_free(&o, &r3);
  z = F.zeros;
  chunk w = must_alloc(&o, 3000, SLAB_ZERO);
  ck_assert_uint_eq(w.off, r.off);
  ck_assert_uint_eq(F.zeros, z + 1);
  chunk w2 = must_alloc(&o, 3000, SLAB_ZERO);
  ck_assert_uint_eq(F.zeros, z + 2);

  /* a solo segment is always new */
  do_free(&o, &s);
  z = F.zeros;
  chunk s2 = must_alloc(&o, 2 * MIB + 100, SLAB_ZERO);
  ck_assert_uint_eq(F.zeros, z);

  /* dropped warm pages are punched: clean again */
  chunk big = must_alloc(&o, 512 * KIB, 0);
  do_free(&o, &big);
  ck_assert_uint_gt(slab_drop_warm(&o), 0);
  z = F.zeros;
  chunk big2 = must_alloc(&o, 512 * KIB, SLAB_ZERO);
  ck_assert_uint_eq(F.zeros, z);

  do_free(&o, &a2);
  do_free(&o, &w);
  do_free(&o, &w2);
  do_free(&o, &s2);
  do_free(&o, &big2);
  slab_owner_fini(&o, true);
  check_books(&o);
}
END_TEST

/* ---- charges ------------------------------------------------------------------------------- */

START_TEST(refused_charge_changes_nothing) {
  slab_owner o;
  slab_owner_init(&o, &fake_ops, &F, 0);
  F.budget = 64 * KIB;
  chunk a = must_alloc(&o, 48 * KIB, 0);
  ck_assert_int_eq(F.charged, 48 * KIB);
  int errs[2] = {-EDQUOT, -ENOMEM};
  for (int k = 0; k < 2; k++) {
    F.refusal = errs[k];
    uint64_t reserved = o.reserved, warm = o.warm;
    int64_t charged = F.charged;
    uint64_t sizes[] = {32 * KIB, 17 * KIB, 2 * MIB + 1, 5 * MIB};
    for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
      chunk c;
      unsigned refusals = F.refusals;
      ck_assert_int_eq(try_alloc(&o, sizes[i], 0, &c), errs[k]);
      ck_assert_uint_gt(F.refusals, refusals);
      check_books(&o);
      ck_assert_uint_eq(o.reserved, reserved);
      ck_assert_uint_eq(o.warm, warm);
      ck_assert_int_eq(F.charged, charged);
    }
    /* what fits the budget still works */
    chunk b = must_alloc(&o, 16 * KIB, 0);
    do_free(&o, &b);
  }
  do_free(&o, &a);
  slab_owner_fini(&o, true);
  check_books(&o);
  ck_assert_int_eq(F.charged, 0);
}
END_TEST

START_TEST(refused_charge_drops_warm_and_retries) {
  slab_owner o;
  slab_owner_init(&o, &fake_ops, &F, 4 * MIB);
  F.budget = 12 * SLAB_PAGE;
  chunk a = must_alloc(&o, 4 * SLAB_PAGE, 0); /* pages 0-3 */
  chunk b = must_alloc(&o, 4 * SLAB_PAGE, 0); /* pages 4-7 */
  do_free(&o, &a);                            /* 0-3 stay warm, charged */
  ck_assert_uint_eq(o.warm, 4 * SLAB_PAGE);
  ck_assert_int_eq(F.charged, 8 * SLAB_PAGE);
  /* 8 pages do not fit in 0-3: they need 8 fresh ones, 16 in all, over budget until the
   * warm ones go */
  unsigned refusals = F.refusals;
  chunk c = must_alloc(&o, 8 * SLAB_PAGE, 0);
  ck_assert_uint_eq(F.refusals, refusals + 1);
  ck_assert_uint_eq(o.warm, 0);
  ck_assert_int_eq(F.charged, 12 * SLAB_PAGE);
  ck_assert_uint_eq(o.reserved, 12 * SLAB_PAGE);
  do_free(&o, &b);
  do_free(&o, &c);
  slab_owner_fini(&o, true);
  check_books(&o);
  ck_assert_int_eq(F.charged, 0);
}
END_TEST

START_TEST(reserve_failure_gives_charge_back) {
  slab_owner o;
  slab_owner_init(&o, &fake_ops, &F, 0);
  chunk a = must_alloc(&o, 1000, 0);
  int64_t charged = F.charged;
  F.reserve_error = -ENOSPC;
  uint64_t sizes[] = {100, 50000, 2 * MIB + 1};
  for (unsigned i = 0; i < 3; i++) {
    chunk c;
    ck_assert_int_eq(try_alloc(&o, sizes[i], 0, &c), -ENOSPC);
    check_books(&o);
    ck_assert_int_eq(F.charged, charged);
  }
  F.reserve_error = 0;
  F.create_error = -EMFILE;
  chunk c;
  ck_assert_int_eq(try_alloc(&o, 3 * MIB, 0, &c), -EMFILE);
  check_books(&o);
  ck_assert_int_eq(F.charged, charged);
  F.create_error = 0;
  do_free(&o, &a);
  slab_owner_fini(&o, true);
  check_books(&o);
  ck_assert_int_eq(F.charged, 0);
}
END_TEST

/* ---- segments ------------------------------------------------------------------------------ */

START_TEST(empty_segments_beyond_one_spare_go) {
  slab_owner o;
  slab_owner_init(&o, &fake_ops, &F, 64 * MIB);
  chunk a = must_alloc(&o, 2 * MIB, 0), b = must_alloc(&o, 2 * MIB, 0);
  ck_assert_ptr_eq(a.seg, b.seg); /* two halves of one segment */
  chunk c = must_alloc(&o, 2 * MIB, 0);
  ck_assert_ptr_ne(c.seg, a.seg);
  ck_assert_uint_eq(o.nsegs, 2);
  uint32_t first = a.seg->id, second = c.seg->id;
  ck_assert_uint_ne(first, second);

  do_free(&o, &c); /* the second segment is empty: kept as the spare */
  ck_assert_uint_eq(o.nsegs, 2);
  ck_assert_uint_eq(F.retires, 0);
  do_free(&o, &a);
  do_free(&o, &b); /* now the first is empty too: one of them goes */
  ck_assert_uint_eq(o.nsegs, 1);
  ck_assert_uint_eq(F.retires, 1);
  ck_assert_uint_eq(F.destroys, 1);
  ck_assert(F.segs[a.fd - FD0].retired != F.segs[c.fd - FD0].retired);
  ck_assert_uint_eq(o.reserved, o.warm);

  /* the spare serves the next allocation: no new segment */
  unsigned creates = F.creates;
  chunk d = must_alloc(&o, 100, 0);
  ck_assert_uint_eq(F.creates, creates);
  /* ids are never reused */
  chunk e = must_alloc(&o, 2 * MIB, 0), f = must_alloc(&o, 2 * MIB, 0);
  ck_assert_uint_gt(f.seg->id, second);
  do_free(&o, &d);
  do_free(&o, &e);
  do_free(&o, &f);
  slab_owner_fini(&o, true);
  check_books(&o);
  ck_assert_uint_eq(F.destroys, F.creates);
  ck_assert_uint_eq(F.retires, F.creates);
}
END_TEST

START_TEST(solo_segments) {
  slab_owner o;
  slab_owner_init(&o, &fake_ops, &F, 64 * MIB);
  unsigned creates = F.creates;
  chunk a = must_alloc(&o, 2 * MIB + 1, 0);
  ck_assert(a.seg->solo);
  ck_assert_uint_eq(a.off, 0);
  ck_assert_uint_eq(a.seg->size, 2 * MIB + 4096);
  ck_assert_uint_eq(F.creates, creates + 1);
  ck_assert_uint_eq(o.reserved, 2 * MIB + 4096);
  chunk b = must_alloc(&o, 2 * MIB + 1, 0);
  ck_assert_ptr_ne(a.seg, b.seg);
  ck_assert_uint_eq(F.creates, creates + 2);
  /* small ones never land in a solo segment */
  chunk s = must_alloc(&o, 10, 0);
  ck_assert(!s.seg->solo);
  int fd = a.fd;
  uint32_t id = a.seg->id;
  do_free(&o, &a);
  ck_assert(!F.segs[fd - FD0].live);
  ck_assert(F.segs[fd - FD0].retired);
  ck_assert_uint_eq(F.segs[fd - FD0].id, id);
  ck_assert_uint_eq(o.warm, 0); /* solo memory is never kept warm */
  ck_assert_uint_eq(o.reserved, 2 * MIB + 4096 + SLAB_PAGE);
  do_free(&o, &b);
  do_free(&o, &s);
  slab_owner_fini(&o, true);
  check_books(&o);
  ck_assert_int_eq(F.charged, 0);
}
END_TEST

static void fini_gives_all_back(bool punch) {
  slab_owner o;
  slab_owner_init(&o, &fake_ops, &F, 1 * MIB);
  for (int i = 0; i < 500; i++)
    must_alloc(&o, (uint64_t)i * 997 % 70000 + 1, 0);
  must_alloc(&o, 3 * MIB, 0);
  chunk f = must_alloc(&o, 256 * KIB, 0);
  do_free(&o, &f); /* some warm too */
  ck_assert_uint_gt(o.warm, 0);
  /* chunks are still live: the fake must not complain about punching under them now */
  for (int i = 0; i < F.nsegs; i++)
    if (F.segs[i].live)
      bits_change(F.segs[i].used, 0, F.segs[i].size / GRAIN, false);
  unsigned punches = F.punches, creates = F.creates;
  slab_owner_fini(&o, punch);
  check_books(&o);
  ck_assert_int_eq(F.charged, 0);
  ck_assert_uint_eq(o.reserved, 0);
  ck_assert_uint_eq(o.warm, 0);
  ck_assert_uint_eq(o.nsegs, 0);
  ck_assert_ptr_null(o.segs);
  ck_assert_uint_eq(F.destroys, creates);
  ck_assert_uint_eq(F.retires, creates);
  if (punch)
    ck_assert_uint_ge(F.punches, punches + creates);
  else
    ck_assert_uint_eq(F.punches, punches);
  /* the owner is empty and usable again */
  chunk c = must_alloc(&o, 100, 0);
  do_free(&o, &c);
  slab_owner_fini(&o, true);
  check_books(&o);
  ck_assert_int_eq(F.charged, 0);
}

START_TEST(fini_punch) { fini_gives_all_back(true); }
END_TEST

START_TEST(fini_no_punch) { fini_gives_all_back(false); }
END_TEST

/* ---- stress -------------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}

static uint64_t random_size(void) {
  uint64_t r = rnd() % 1000;
  if (r < 700)
    return 1 + rnd() % 512;
  if (r < 880)
    return 513 + rnd() % (8192 - 512);
  if (r < 970)
    return 8193 + rnd() % (256 * KIB);
  if (r < 995)
    return 256 * KIB + rnd() % (2 * MIB - 256 * KIB + 1);
  return 2 * MIB + 1 + rnd() % (1 * MIB);
}

static void stress(uint64_t seed, int64_t budget, int ops) {
  rng_state = seed;
  F.budget = budget;
  slab_owner o;
  slab_owner_init(&o, &fake_ops, &F, 2 * MIB);
  enum { MAXLIVE = 4000 };
  chunk *live = calloc(MAXLIVE, sizeof *live);
  int n = 0, failures = 0;
  for (int op = 0; op < ops; op++) {
    /* drift between a nearly empty and a full owner */
    int target = (op / 20000) % 2 ? MAXLIVE : 200;
    uint64_t r = rnd() % 100;
    if (n > 0 && (n >= MAXLIVE || (n > target ? r < 70 : r < 40))) {
      int i = (int)(rnd() % (uint64_t)n);
      mark_live(&live[i], false);
      slab_free(&o, live[i].seg, live[i].off);
      live[i] = live[--n];
    } else if (r == 99 && op % 7 == 0) {
      slab_drop_warm(&o);
      ck_assert_uint_eq(o.warm, 0);
    } else {
      uint64_t size = random_size();
      uint64_t reserved = o.reserved;
      int rc = try_alloc(&o, size, rnd() % 2 ? SLAB_ZERO : 0, &live[n]);
      if (rc == 0)
        n++;
      else {
        ck_assert_int_eq(rc, -EDQUOT);
        ck_assert_int_ge(budget, 0);
        ck_assert(o.reserved == reserved || o.warm == 0);
        ck_assert_uint_le(o.reserved, reserved);
        failures++;
      }
    }
    check_books(&o);
  }
  check_books(&o);
  if (getenv("SLAB_STRESS_STATS"))
    fprintf(stderr, "ops %d: live %d, failures %d, creates %u, zeros %u, punches %u, retires %u\n",
            ops, n, failures, F.creates, F.zeros, F.punches, F.retires);
  if (budget >= 0)
    ck_assert_int_gt(failures, 0);
  while (n > 0) {
    n--;
    mark_live(&live[n], false);
    slab_free(&o, live[n].seg, live[n].off);
  }
  check_books(&o);
  ck_assert_uint_le(o.reserved, o.warm_limit);
  slab_drop_warm(&o);
  ck_assert_uint_eq(o.reserved, 0);
  slab_owner_fini(&o, true);
  check_books(&o);
  ck_assert_int_eq(F.charged, 0);
  ck_assert_uint_eq(F.destroys, F.creates);
  free(live);
}

START_TEST(stress_unlimited) { stress(0x5eed1234abcdull, -1, 200000); }
END_TEST

START_TEST(stress_budget) { stress(0x0ddba11cafeull, 96 * MIB, 100000); }
END_TEST

/* ---- the real backend ---------------------------------------------------------------------- */

static int64_t real_charged;
static int real_charge(void *ctx, int64_t bytes) {
  (void)ctx;
  real_charged += bytes;
  return 0;
}
static void real_retire(void *ctx, const slab_seg *seg) {
  (void)ctx;
  (void)seg;
}
static int real_create(void *ctx, uint64_t size, int *fd) {
  (void)ctx;
  return segment_create(size, fd);
}
static const slab_ops real_ops = {real_create,   segment_reserve, segment_punch, segment_zero,
                                  segment_close, real_charge,     real_retire,   f_unshare};

static void scribble(const chunk *c) {
  uint8_t *b = malloc(c->size);
  memset(b, 0xa5, c->size);
  ck_assert_int_eq(segment_write(c->seg->fd, c->off, b, c->size), 0);
  free(b);
}

/* Returns how many of the chunk's first `size` bytes are not zero. */
static uint64_t nonzero(const chunk *c) {
  uint8_t *b = malloc(c->size);
  ck_assert_int_eq(pread(c->seg->fd, b, c->size, (off_t)c->off), (ssize_t)c->size);
  uint64_t n = 0;
  for (uint64_t i = 0; i < c->size; i++)
    n += b[i] != 0;
  free(b);
  return n;
}

static chunk real_alloc(slab_owner *o, uint64_t size, unsigned flags) {
  chunk c = {0};
  ck_assert_int_eq(slab_alloc(o, size, flags, &c.seg, &c.off), 0);
  c.fd = c.seg->fd;
  c.size = size;
  return c;
}

START_TEST(real_zeroing) {
  slab_owner o;
  real_charged = 0;
  slab_owner_init(&o, &real_ops, NULL, 8 * MIB);
  uint64_t sizes[] = {100, 3000, 8192, 20000, 300 * KIB};
  for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    chunk a = real_alloc(&o, sizes[i], 0);
    ck_assert_uint_eq(nonzero(&a), 0); /* fresh memory reads as zeros */
    scribble(&a);
    slab_free(&o, a.seg, a.off);
    /* handed out again without SLAB_ZERO: the old bytes are there (so reuse happened) */
    chunk b = real_alloc(&o, sizes[i], 0);
    ck_assert_ptr_eq(b.seg, a.seg);
    ck_assert_uint_eq(b.off, a.off);
    ck_assert_uint_eq(nonzero(&b), sizes[i]);
    slab_free(&o, b.seg, b.off);
    /* with SLAB_ZERO they are gone */
    chunk c = real_alloc(&o, sizes[i], SLAB_ZERO);
    ck_assert_uint_eq(c.off, a.off);
    ck_assert_uint_eq(nonzero(&c), 0);
    slab_free(&o, c.seg, c.off);
  }
  /* a warm run's page taken by a small class */
  chunk r = real_alloc(&o, 16 * KIB, 0);
  scribble(&r);
  slab_free(&o, r.seg, r.off);
  for (int i = 0; i < 4; i++) {
    chunk s = real_alloc(&o, 4000, SLAB_ZERO);
    ck_assert_ptr_eq(s.seg, r.seg);
    ck_assert_uint_eq(nonzero(&s), 0);
  }
  /* dropped warm memory reads as zeros without any zeroing */
  chunk d = real_alloc(&o, 1 * MIB, 0);
  scribble(&d);
  slab_free(&o, d.seg, d.off);
  ck_assert_uint_gt(slab_drop_warm(&o), 0);
  chunk e = real_alloc(&o, 1 * MIB, 0);
  ck_assert_uint_eq(nonzero(&e), 0);
  slab_owner_fini(&o, true);
  ck_assert_int_eq(real_charged, 0);
}
END_TEST

static Suite *slab_suite(void) {
  Suite *s = suite_create("slab");
  TCase *tc = tcase_create("slab");
  tcase_add_checked_fixture(tc, fake_setup, fake_teardown);
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, chunk_sizes);
  tcase_add_test(tc, sizes_and_alignment);
  tcase_add_test(tc, bad_sizes);
  tcase_add_test(tc, free_all_leaves_warm_only);
  tcase_add_test(tc, warm_pages_are_reused);
  tcase_add_test(tc, warm_limit_zero_punches);
  tcase_add_test(tc, zero_only_when_dirty);
  tcase_add_test(tc, refused_charge_changes_nothing);
  tcase_add_test(tc, refused_charge_drops_warm_and_retries);
  tcase_add_test(tc, reserve_failure_gives_charge_back);
  tcase_add_test(tc, empty_segments_beyond_one_spare_go);
  tcase_add_test(tc, solo_segments);
  tcase_add_test(tc, fini_punch);
  tcase_add_test(tc, fini_no_punch);
  tcase_add_test(tc, stress_unlimited);
  tcase_add_test(tc, stress_budget);
  tcase_add_test(tc, real_zeroing);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(slab_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
