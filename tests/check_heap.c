/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "heap.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIB 1024u
#define MIB (1024u * 1024u)

/* ---- a counting fake backend --------------------------------------------------------------- */

#define FD0 1000
#define MAX_FSEGS 4096
#define MAX_PUNCHES 100000

typedef struct punch {
  int fd;
  uint64_t off, len;
} punch;

typedef struct fake {
  uint64_t size[MAX_FSEGS];
  bool live[MAX_FSEGS];
  int nsegs, live_segs;
  int64_t charged, budget; /* budget < 0: no limit */
  unsigned refusals, zeros, retires;
  punch punches[MAX_PUNCHES];
  int npunches;
  unsigned violations;
} fake;

static fake *F;

static int f_create(void *ctx, uint64_t size, int *fd) {
  (void)ctx;
  if (F->nsegs == MAX_FSEGS)
    return -EMFILE;
  F->size[F->nsegs] = size;
  F->live[F->nsegs] = true;
  F->live_segs++;
  *fd = FD0 + F->nsegs++;
  return 0;
}

static bool f_ok(int fd, uint64_t off, uint64_t len) {
  bool ok = fd >= FD0 && fd < FD0 + F->nsegs && F->live[fd - FD0] && len > 0 &&
            off + len <= F->size[fd - FD0];
  F->violations += !ok;
  return ok;
}

static int f_reserve(int fd, uint64_t off, uint64_t len) { return f_ok(fd, off, len) ? 0 : -EBADF; }

static int f_punch(int fd, uint64_t off, uint64_t len) {
  if (!f_ok(fd, off, len))
    return -EBADF;
  if (F->npunches < MAX_PUNCHES)
    F->punches[F->npunches++] = (punch){fd, off, len};
  return 0;
}

static int f_zero(int fd, uint64_t off, uint64_t len) {
  F->zeros++;
  return f_ok(fd, off, len) ? 0 : -EBADF;
}

static void f_destroy(int fd) {
  if (fd < FD0 || fd >= FD0 + F->nsegs || !F->live[fd - FD0]) {
    F->violations++;
    return;
  }
  F->live[fd - FD0] = false;
  F->live_segs--;
}

static int f_charge(void *ctx, int64_t bytes) {
  if (ctx != F || bytes == 0)
    F->violations++;
  if (bytes > 0 && F->budget >= 0 && F->charged + bytes > F->budget) {
    F->refusals++;
    return -EDQUOT;
  }
  F->charged += bytes;
  return 0;
}

static void f_retire(void *ctx, const slab_seg *seg) {
  (void)seg;
  if (ctx != F)
    F->violations++;
  F->retires++;
}

static void f_unshare(void *ctx, void *shared, const slab_seg *seg) {
  (void)ctx;
  (void)shared;
  (void)seg;
}
static const slab_ops fake_ops = {f_create,  f_reserve, f_punch,  f_zero,
                                  f_destroy, f_charge,  f_retire, f_unshare};

static void setup(void) {
  F = calloc(1, sizeof *F);
  ck_assert_ptr_nonnull(F);
  F->budget = -1;
}

static void teardown(void) {
  free(F);
  F = NULL;
}

/* Whether the fake saw [off, off + len) of seg punched, i.e. given back by slab_free(). */
static bool punched(const slab_seg *seg, uint64_t off, uint64_t len) {
  for (int i = 0; i < F->npunches; i++)
    if (F->punches[i].fd == seg->fd && F->punches[i].off <= off &&
        off + len <= F->punches[i].off + F->punches[i].len)
      return true;
  return false;
}

static void assert_same_view(const heap_view *a, const heap_view *b) {
  ck_assert_uint_eq(a->id, b->id);
  ck_assert_ptr_eq(a->seg, b->seg);
  ck_assert_uint_eq(a->ab_offset, b->ab_offset);
  ck_assert_uint_eq(a->byte_offset, b->byte_offset);
  ck_assert_uint_eq(a->length, b->length);
  ck_assert_uint_eq(a->ab_length, b->ab_length);
  ck_assert_int_eq(a->pooled, b->pooled);
}

static bool same_view(const heap_view *a, const heap_view *b) {
  return a->id == b->id && a->seg == b->seg && a->ab_offset == b->ab_offset &&
         a->byte_offset == b->byte_offset && a->length == b->length &&
         a->ab_length == b->ab_length && a->pooled == b->pooled;
}

/* ---- Node's placement ---------------------------------------------------------------------- */

/* One call of a Node script and what Node answered. kind: 'u' allocUnsafe(size) (the caller
 * pools it iff sb_pool_takes), 'f' a pooled from() asking `room` and writing `size` bytes,
 * 'e' an empty buffer; pool -1 means a dedicated ArrayBuffer. */
typedef struct call {
  char kind;
  uint64_t size, room;
  uint64_t length, offset, ab_length;
  int pool;
} call;

#define U(n, off, ab, pool) {'u', n, n, n, off, ab, pool}
#define FROM(room, used, off, pool) {'f', used, room, used, off, 8192, pool}
#define EMPTY {'e', 0, 0, 0, 0, 0, -1}
#define END {0, 0, 0, 0, 0, 0, -2}

/* node: for (let b; (b = Buffer.allocUnsafe(4095)).byteOffset !== 4096;); then the calls,
 * results collected before printing. from() rooms are fromStringFast's: 'ab' latin1 asks 8
 * and writes 2, 'abcd' hex asks 16 and writes 2, 'zz' hex asks 8 and writes 0. */
static const call scripts[][20] = {
    {U(1, 0, 8192, 0), U(7, 8, 8192, 0), U(8, 16, 8192, 0), U(9, 24, 8192, 0),
     U(4095, 40, 8192, 0), U(16, 4136, 8192, 0), U(2000, 4152, 8192, 0),
     U(1000, 6152, 8192, 0), U(1000, 7152, 8192, 0), U(8, 8152, 8192, 0),
     U(4096, 0, 4096, -1), U(3, 8160, 8192, 0), U(5000, 0, 5000, -1), U(1, 8168, 8192, 0),
     U(4095, 0, 8192, 1), U(4095, 4096, 8192, 1), END},
    {U(4095, 0, 8192, 0), U(4000, 4096, 8192, 0), U(96, 8096, 8192, 0), U(1, 0, 8192, 1), END},
    {U(4095, 0, 8192, 0), U(4000, 4096, 8192, 0), U(97, 0, 8192, 1), U(1, 104, 8192, 1), END},
    {U(4095, 0, 8192, 0), U(4090, 4096, 8192, 0), U(1, 0, 8192, 1), U(1, 8, 8192, 1), END},
    {U(4095, 0, 8192, 0), U(4000, 4096, 8192, 0), U(88, 8096, 8192, 0), FROM(8, 2, 8184, 0),
     U(1, 0, 8192, 1), END},
    {U(4095, 0, 8192, 0), U(4000, 4096, 8192, 0), U(88, 8096, 8192, 0), FROM(16, 2, 0, 1),
     U(1, 8, 8192, 1), END},
    {U(8, 0, 8192, 0), FROM(16, 2, 8, 0), U(1, 16, 8192, 0), END},
    {U(1, 0, 8192, 0), FROM(8, 0, 8, 0), U(1, 8, 8192, 0), FROM(8, 0, 16, 0), U(3, 16, 8192, 0),
     U(4095, 24, 8192, 0), U(4000, 4120, 8192, 0), FROM(8, 0, 8120, 0), U(1, 8120, 8192, 0),
     END},
    {U(4095, 0, 8192, 0), U(4000, 4096, 8192, 0), U(96, 8096, 8192, 0), EMPTY,
     U(4096, 0, 4096, -1), U(1, 0, 8192, 1), END},
};

START_TEST(placement_matches_node) {
  buffer_heap h;
  heap_init(&h, &fake_ops, F, SB_POOL_SIZE_DEFAULT, 0);
  const call *calls = scripts[_i];
  struct {
    const slab_seg *seg;
    uint64_t off;
  } pools[8];
  int npools = 0;
  uint64_t buffers = 0, bytes = 0;
  for (int i = 0; calls[i].pool != -2; i++) {
    const call *c = &calls[i];
    heap_view v;
    memset(&v, 0xff, sizeof v);
    int rc;
    if (c->kind == 'e')
      rc = heap_empty(&h, &v);
    else if (c->kind == 'f')
      rc = heap_pooled(&h, c->room, c->size, &v);
    else if (sb_pool_takes(c->size, SB_POOL_SIZE_DEFAULT))
      rc = heap_pooled(&h, c->size, c->size, &v);
    else
      rc = heap_dedicated(&h, c->size, c->size, 0, &v);
    ck_assert_int_eq(rc, 0);
    buffers++;
    bytes += c->length;
    int pool = -1;
    if (v.pooled) {
      for (pool = 0; pool < npools; pool++)
        if (pools[pool].seg == v.seg && pools[pool].off == v.ab_offset)
          break;
      if (pool == npools) {
        pools[npools].seg = v.seg;
        pools[npools++].off = v.ab_offset;
      }
      ck_assert_uint_le(v.ab_offset + v.ab_length, v.seg->size);
    }
    ck_assert_msg(v.length == c->length && v.byte_offset == c->offset &&
                      v.ab_length == c->ab_length && pool == c->pool,
                  "call %d: length %llu offset %llu ab %llu pool %d; Node: %llu %llu %llu %d", i,
                  (unsigned long long)v.length, (unsigned long long)v.byte_offset,
                  (unsigned long long)v.ab_length, pool, (unsigned long long)c->length,
                  (unsigned long long)c->offset, (unsigned long long)c->ab_length, c->pool);
    ck_assert_uint_eq(heap_view_pos(&v), v.ab_offset + v.byte_offset);
    if (c->kind == 'e')
      ck_assert_ptr_null(v.seg);
    else
      ck_assert_ptr_nonnull(v.seg);
    ck_assert_uint_eq(v.ab_offset % 16, 0);
    ck_assert_uint_eq(h.buffers, buffers);
    ck_assert_uint_eq(h.bytes, bytes);
    ck_assert_uint_eq(h.pools, (uint64_t)npools);
    heap_view g;
    ck_assert_int_eq(heap_get(&h, v.id, &g), 0);
    assert_same_view(&g, &v);
  }
  heap_fini(&h, true);
  ck_assert_int_eq(F->charged, 0);
  ck_assert_uint_eq(F->violations, 0);
}
END_TEST

/* ---- views --------------------------------------------------------------------------------- */

START_TEST(views) {
  buffer_heap h;
  heap_init(&h, &fake_ops, F, SB_POOL_SIZE_DEFAULT, 0);
  heap_view p, d, l, z, e;
  ck_assert_int_eq(heap_pooled(&h, 100, 100, &p), 0);
  ck_assert(p.pooled);
  ck_assert_uint_eq(p.ab_length, SB_POOL_SIZE_DEFAULT);
  ck_assert_uint_eq(p.length, 100);
  ck_assert_uint_eq(p.byte_offset, 0);

  /* Buffer.from('zz'.repeat(3000), 'hex'): length 0 over a 3000-byte ArrayBuffer */
  ck_assert_int_eq(heap_dedicated(&h, 3000, 0, 0, &d), 0);
  ck_assert(!d.pooled);
  ck_assert_uint_eq(d.ab_length, 3000);
  ck_assert_uint_eq(d.length, 0);
  ck_assert_uint_eq(d.byte_offset, 0);
  ck_assert_ptr_nonnull(d.seg);
  ck_assert_uint_le(d.ab_offset + 3000, d.seg->size);

  /* a leased pool: dedicated memory shown as pooled */
  ck_assert_int_eq(heap_dedicated(&h, SB_POOL_SIZE_DEFAULT, SB_POOL_SIZE_DEFAULT, HEAP_LEASED, &l),
                   0);
  ck_assert(l.pooled);
  ck_assert_uint_eq(l.ab_length, SB_POOL_SIZE_DEFAULT);
  ck_assert_uint_eq(h.pools, 2); /* a leased pool counts among the connection's pools */

  /* alloc(): zeroed; fresh memory needs no zeroing */
  unsigned zeros = F->zeros;
  ck_assert_int_eq(heap_dedicated(&h, 5000, 5000, HEAP_ZERO, &z), 0);
  ck_assert_uint_eq(F->zeros, zeros);

  ck_assert_int_eq(heap_empty(&h, &e), 0);
  ck_assert_ptr_null(e.seg);
  ck_assert_uint_eq(e.length, 0);
  ck_assert_uint_eq(e.ab_length, 0);
  ck_assert_uint_eq(e.ab_offset, 0);
  ck_assert_uint_eq(e.byte_offset, 0);
  ck_assert(!e.pooled);

  /* distinct ids, all found again */
  uint64_t ids[5] = {p.id, d.id, l.id, z.id, e.id};
  for (int i = 0; i < 5; i++) {
    ck_assert_uint_ne(ids[i], 0);
    for (int j = 0; j < i; j++)
      ck_assert_uint_ne(ids[i], ids[j]);
    heap_view g;
    ck_assert_int_eq(heap_get(&h, ids[i], &g), 0);
    ck_assert_uint_eq(g.id, ids[i]);
  }
  ck_assert_uint_eq(h.buffers, 5);
  ck_assert_uint_eq(h.bytes, 100 + 0 + SB_POOL_SIZE_DEFAULT + 5000 + 0);
  heap_fini(&h, true);
  ck_assert_int_eq(F->charged, 0);
  ck_assert_uint_eq(F->violations, 0);
}
END_TEST

START_TEST(empty_takes_nothing) {
  buffer_heap h;
  heap_init(&h, &fake_ops, F, SB_POOL_SIZE_DEFAULT, 0);
  heap_view a, e, b;
  ck_assert_int_eq(heap_pooled(&h, 5, 5, &a), 0);
  int64_t charged = F->charged;
  ck_assert_int_eq(heap_empty(&h, &e), 0);
  ck_assert_int_eq(F->charged, charged);
  ck_assert_uint_eq(h.buffers, 2);
  ck_assert_uint_eq(h.bytes, 5);
  ck_assert_uint_eq(h.pools, 1);
  ck_assert_int_eq(heap_pooled(&h, 5, 5, &b), 0);
  ck_assert_uint_eq(b.byte_offset, 8); /* the pool did not move */
  ck_assert_int_eq(heap_release(&h, e.id), 0);
  ck_assert_int_eq(heap_release(&h, e.id), -ENOENT);
  ck_assert_uint_eq(h.buffers, 2);
  ck_assert_uint_eq(h.bytes, 10);
  heap_fini(&h, true);
}
END_TEST

/* ---- pool lifetime ------------------------------------------------------------------------- */

/* With 16 KiB pools (one slab page each) and no warm reserve, slab_free() of a pool shows as
 * a punch of exactly its page. */
START_TEST(pool_freed_when_unused_and_not_current) {
  const uint32_t ps = 16 * KIB;
  buffer_heap h;
  heap_init(&h, &fake_ops, F, ps, 0);
  heap_view a, b, c;
  ck_assert_int_eq(heap_pooled(&h, 100, 100, &a), 0);
  ck_assert_int_eq(heap_pooled(&h, 200, 200, &b), 0);
  ck_assert_ptr_eq(a.seg, b.seg);
  ck_assert_uint_eq(a.ab_offset, b.ab_offset);
  ck_assert_uint_eq(a.ab_length, ps);
  const slab_seg *p1 = a.seg;
  uint64_t p1_off = a.ab_offset;
  ck_assert_uint_eq(h.pools, 1);

  /* the current pool outlives its buffers */
  ck_assert_int_eq(heap_release(&h, a.id), 0);
  ck_assert_int_eq(heap_release(&h, b.id), 0);
  ck_assert(!punched(p1, p1_off, ps));
  ck_assert_uint_eq(h.pools, 1);
  ck_assert_uint_eq(h.buffers, 0);
  ck_assert_uint_eq(h.bytes, 0);

  /* and keeps its offset: the next buffer goes after the released ones */
  ck_assert_int_eq(heap_pooled(&h, 8, 8, &c), 0);
  ck_assert_uint_eq(c.ab_offset, p1_off);
  ck_assert_uint_eq(c.byte_offset, 304);

  /* fits the rest of the pool (Node: 8191 <= 16384 - 312) */
  heap_view d1, d2, d3, e;
  ck_assert_int_eq(heap_pooled(&h, ps / 2 - 1, ps / 2 - 1, &d1), 0);
  ck_assert_uint_eq(d1.ab_offset, p1_off);
  ck_assert_uint_eq(d1.byte_offset, 312);
  /* does not fit (8191 > 16384 - 8504): a new pool; the old one stays while c and d1 use it */
  ck_assert_int_eq(heap_pooled(&h, ps / 2 - 1, ps / 2 - 1, &d2), 0);
  ck_assert(d2.seg != p1 || d2.ab_offset != p1_off);
  ck_assert_uint_eq(d2.byte_offset, 0);
  ck_assert_uint_eq(h.pools, 2);
  ck_assert_int_eq(heap_release(&h, c.id), 0);
  ck_assert(!punched(p1, p1_off, ps));
  ck_assert_uint_eq(h.pools, 2);
  ck_assert_int_eq(heap_release(&h, d1.id), 0); /* the last buffer of a former pool */
  ck_assert(punched(p1, p1_off, ps));
  ck_assert_uint_eq(h.pools, 1);

  /* an exact fit at the end still goes in the current pool */
  ck_assert_int_eq(heap_pooled(&h, ps / 2 - 1, ps / 2 - 1, &d3), 0);
  ck_assert_ptr_eq(d3.seg, d2.seg);
  ck_assert_uint_eq(d3.ab_offset, d2.ab_offset);
  ck_assert_uint_eq(d3.byte_offset, ps / 2);

  /* a current pool nobody uses goes as soon as another replaces it */
  const slab_seg *p2 = d2.seg;
  uint64_t p2_off = d2.ab_offset;
  ck_assert_int_eq(heap_release(&h, d2.id), 0);
  ck_assert_int_eq(heap_release(&h, d3.id), 0);
  ck_assert(!punched(p2, p2_off, ps));
  ck_assert_uint_eq(h.pools, 1);
  ck_assert_int_eq(heap_pooled(&h, 1, 1, &e), 0); /* 16383 aligns to 16384: full */
  ck_assert(punched(p2, p2_off, ps));
  ck_assert_uint_eq(h.pools, 1);
  ck_assert_uint_eq(e.byte_offset, 0);

  heap_fini(&h, true);
  ck_assert_int_eq(F->charged, 0);
  ck_assert_uint_eq(F->violations, 0);
}
END_TEST

START_TEST(dedicated_freed_on_release) {
  buffer_heap h;
  heap_init(&h, &fake_ops, F, SB_POOL_SIZE_DEFAULT, 0);
  heap_view a, s;
  ck_assert_int_eq(heap_dedicated(&h, 100 * KIB, 100 * KIB, 0, &a), 0);
  ck_assert_int_eq(heap_dedicated(&h, 3 * MIB, 3 * MIB, HEAP_ZERO, &s), 0);
  ck_assert(s.seg->solo);
  int64_t charged = F->charged;
  ck_assert_int_ge(charged, 100 * KIB + 3 * MIB);
  ck_assert(!punched(a.seg, a.ab_offset, 100 * KIB));
  ck_assert_int_eq(heap_release(&h, a.id), 0);
  ck_assert(punched(a.seg, a.ab_offset, 100 * KIB));
  int live = F->live_segs;
  ck_assert_int_eq(heap_release(&h, s.id), 0);
  ck_assert_int_eq(F->live_segs, live - 1); /* its own segment goes with it */
  ck_assert_int_eq(F->charged, 0);
  ck_assert_uint_eq(h.buffers, 0);
  ck_assert_uint_eq(h.bytes, 0);
  ck_assert_uint_eq(h.pools, 0);
  heap_fini(&h, true);
  ck_assert_uint_eq(F->violations, 0);
}
END_TEST

/* A leased region is one dedicated buffer, counted in `leased`; even when it has a segment to
 * itself, that segment is never the ArrayBuffer's own to share as it is (the client carves
 * many out of it). */
START_TEST(regions_are_counted_and_never_own_their_segment) {
  buffer_heap h;
  heap_init(&h, &fake_ops, F, SB_POOL_SIZE_DEFAULT, 0);
  heap_view r, big, solo;
  ck_assert_int_eq(heap_dedicated(&h, 64 * KIB, 64 * KIB, HEAP_REGION | HEAP_ZERO, &r), 0);
  ck_assert_int_eq(heap_dedicated(&h, 3 * MIB, 3 * MIB, HEAP_REGION | HEAP_ZERO, &big), 0);
  ck_assert_int_eq(heap_dedicated(&h, 3 * MIB, 3 * MIB, 0, &solo), 0);
  ck_assert(!r.pooled && !big.pooled);
  ck_assert(big.seg->solo);
  ck_assert_uint_eq(h.leased, 64 * KIB + 3 * MIB);
  ck_assert_uint_eq(h.buffers, 3);
  ck_assert_ptr_null(heap_own_segment(&h, big.id));
  ck_assert_ptr_eq(heap_own_segment(&h, solo.id), solo.seg);
  ck_assert_int_eq(heap_release(&h, big.id), 0);
  ck_assert_uint_eq(h.leased, 64 * KIB);
  heap_fini(&h, true);
  ck_assert_uint_eq(h.leased, 0);
  ck_assert_int_eq(F->charged, 0);
  ck_assert_uint_eq(F->violations, 0);
}
END_TEST

/* ---- ids ----------------------------------------------------------------------------------- */

START_TEST(ids) {
  buffer_heap h;
  heap_init(&h, &fake_ops, F, SB_POOL_SIZE_DEFAULT, 0);
  heap_view a, b, c, g;
  ck_assert_int_eq(heap_pooled(&h, 10, 10, &a), 0);
  ck_assert_int_eq(heap_dedicated(&h, 9000, 9000, 0, &b), 0);
  ck_assert_int_eq(heap_empty(&h, &c), 0);

  /* unknown ids */
  uint64_t unknown[] = {0,
                        1ull << 32, /* index 0 */
                        UINT64_MAX,
                        (a.id & ~0xffffffffull) | 4, /* past the slots used */
                        (a.id & ~0xffffffffull) | 0xffffffffu,
                        a.id + (1ull << 32), /* another generation */
                        a.id & 0xffffffffu}; /* generation 0 */
  for (unsigned i = 0; i < sizeof unknown / sizeof *unknown; i++) {
    ck_assert_int_eq(heap_get(&h, unknown[i], &g), -ENOENT);
    ck_assert_int_eq(heap_release(&h, unknown[i]), -ENOENT);
  }
  ck_assert_uint_eq(h.buffers, 3);

  /* released ids miss, for get and for release */
  ck_assert_int_eq(heap_release(&h, b.id), 0);
  ck_assert_int_eq(heap_get(&h, b.id, &g), -ENOENT);
  ck_assert_int_eq(heap_release(&h, b.id), -ENOENT);
  ck_assert_uint_eq(h.buffers, 2);
  ck_assert_uint_eq(h.bytes, 10);

  /* the slot is reused, under a new id; the old one still misses */
  heap_view d;
  ck_assert_int_eq(heap_pooled(&h, 20, 20, &d), 0);
  ck_assert_uint_eq(d.id & 0xffffffffu, b.id & 0xffffffffu);
  ck_assert_uint_ne(d.id, b.id);
  ck_assert_int_eq(heap_get(&h, b.id, &g), -ENOENT);
  ck_assert_int_eq(heap_release(&h, b.id), -ENOENT);
  ck_assert_int_eq(heap_get(&h, d.id, &g), 0);
  ck_assert_uint_eq(g.length, 20);

  /* many rounds on one slot: every id is new */
  uint64_t prev = d.id;
  for (int i = 0; i < 1000; i++) {
    ck_assert_int_eq(heap_release(&h, prev), 0);
    heap_view n;
    ck_assert_int_eq(heap_empty(&h, &n), 0);
    ck_assert_uint_ne(n.id, prev);
    ck_assert_int_eq(heap_get(&h, prev, &g), -ENOENT);
    ck_assert_int_eq(heap_get(&h, d.id, &g), -ENOENT);
    prev = n.id;
  }
  heap_fini(&h, true);
  ck_assert_int_eq(F->charged, 0);
}
END_TEST

START_TEST(ids_of_another_heap) {
  buffer_heap h1, h2;
  heap_init(&h1, &fake_ops, F, SB_POOL_SIZE_DEFAULT, 0);
  heap_init(&h2, &fake_ops, F, SB_POOL_SIZE_DEFAULT, 0);
  heap_view a[3], b, g;
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(heap_pooled(&h1, 10, 10, &a[i]), 0);
  ck_assert_int_eq(heap_dedicated(&h2, 50, 50, 0, &b), 0);
  for (int i = 0; i < 3; i++) {
    int rc = heap_get(&h2, a[i].id, &g);
    /* not found, or h2's own buffer: never h1's memory */
    ck_assert(rc == -ENOENT || (rc == 0 && g.seg == b.seg && g.id == b.id));
    ck_assert(rc != 0 || a[i].seg != g.seg);
  }
  ck_assert_int_eq(heap_get(&h2, a[2].id, &g), -ENOENT);
  ck_assert_int_eq(heap_release(&h2, a[1].id), -ENOENT);
  ck_assert_uint_eq(h2.buffers, 1);
  heap_fini(&h1, true);
  ck_assert_int_eq(heap_get(&h2, b.id, &g), 0);
  ck_assert_uint_eq(g.length, 50);
  heap_fini(&h2, true);
  ck_assert_int_eq(F->charged, 0);
}
END_TEST

/* ---- failures ------------------------------------------------------------------------------ */

START_TEST(refused_memory) {
  buffer_heap h;
  heap_init(&h, &fake_ops, F, SB_POOL_SIZE_DEFAULT, 0);
  heap_view a, x, v;
  ck_assert_int_eq(heap_pooled(&h, 4000, 4000, &a), 0);
  /* the other 8 KiB chunk of the pool's slab page, so a new pool needs a new page */
  ck_assert_int_eq(heap_dedicated(&h, 8192, 8192, 0, &x), 0);
  ck_assert_ptr_eq(x.seg, a.seg);
  F->budget = F->charged;
  /* fits the current pool: no memory needed */
  ck_assert_int_eq(heap_pooled(&h, 4000, 4000, &v), 0);
  /* needs a new pool, or dedicated memory: refused, nothing changes */
  ck_assert_int_eq(heap_pooled(&h, 1000, 1000, &v), -EDQUOT);
  ck_assert_int_eq(heap_dedicated(&h, 100 * KIB, 100 * KIB, HEAP_ZERO, &v), -EDQUOT);
  ck_assert_int_eq(heap_dedicated(&h, 5 * MIB, 5 * MIB, 0, &v), -EDQUOT);
  ck_assert_uint_gt(F->refusals, 0);
  ck_assert_uint_eq(h.buffers, 3);
  ck_assert_uint_eq(h.bytes, 8000 + 8192);
  ck_assert_uint_eq(h.pools, 1);
  /* the pool did not move */
  F->budget = -1;
  heap_view b;
  ck_assert_int_eq(heap_pooled(&h, 8, 8, &b), 0);
  ck_assert_uint_eq(b.byte_offset, 8000);
  ck_assert_uint_eq(b.ab_offset, a.ab_offset);
  /* the failed calls' slots went back: ids stay dense */
  ck_assert_uint_eq(b.id & 0xffffffffu, 4);
  heap_fini(&h, true);
  ck_assert_int_eq(F->charged, 0);
}
END_TEST

/* ---- fini ---------------------------------------------------------------------------------- */

START_TEST(fini_frees_everything) {
  buffer_heap h;
  heap_init(&h, &fake_ops, F, SB_POOL_SIZE_DEFAULT, 64 * KIB);
  static uint64_t made[2000];
  int n = 0;
  for (int i = 0; i < 600; i++) {
    heap_view v;
    ck_assert_int_eq(heap_pooled(&h, (uint64_t)i % 300 + 1, (uint64_t)i % 300 + 1, &v), 0);
    made[n++] = v.id;
    ck_assert_int_eq(heap_dedicated(&h, (uint64_t)i * 101 % 50000 + 1, 1, (i % 2 ? HEAP_ZERO : 0), &v), 0);
    made[n++] = v.id;
    if (i % 50 == 0) {
      ck_assert_int_eq(heap_empty(&h, &v), 0);
      made[n++] = v.id;
    }
  }
  ck_assert_int_eq(heap_dedicated(&h, 4 * MIB, 4 * MIB, 0, &(heap_view){0}), 0);
  for (int i = 0; i < n; i += 3) /* some released already */
    ck_assert_int_eq(heap_release(&h, made[i]), 0);
  ck_assert_uint_gt(h.pools, 1);
  heap_fini(&h, true);
  ck_assert_int_eq(F->charged, 0);
  ck_assert_int_eq(F->live_segs, 0);
  ck_assert_uint_eq(F->violations, 0);
  ck_assert_uint_eq(h.buffers, 0);
  ck_assert_uint_eq(h.bytes, 0);
  ck_assert_uint_eq(h.pools, 0);
  heap_view g;
  for (int i = 0; i < n; i++)
    ck_assert_int_eq(heap_get(&h, made[i], &g), -ENOENT);
  /* again is harmless */
  heap_fini(&h, false);
  ck_assert_int_eq(F->charged, 0);
}
END_TEST

/* After heap_fini() the heap is empty, not broken: a connection object may be recycled. */
START_TEST(fini_then_reuse) {
  buffer_heap h;
  heap_init(&h, &fake_ops, F, SB_POOL_SIZE_DEFAULT, 0);
  heap_view a, b;
  ck_assert_int_eq(heap_pooled(&h, 10, 10, &a), 0);
  ck_assert_int_eq(heap_pooled(&h, 10, 10, &b), 0);
  ck_assert_int_eq(heap_release(&h, a.id), 0); /* a free slot at fini time */
  heap_fini(&h, true);
  heap_view c, g;
  ck_assert_int_eq(heap_pooled(&h, 10, 10, &c), 0);
  ck_assert_uint_eq(c.byte_offset, 0); /* a new pool */
  ck_assert_int_eq(heap_get(&h, c.id, &g), 0);
  ck_assert_uint_eq(h.buffers, 1);
  ck_assert_uint_eq(h.pools, 1);
  heap_fini(&h, true);
  ck_assert_int_eq(F->charged, 0);
  ck_assert_int_eq(F->live_segs, 0);
}
END_TEST

/* ---- a random walk against a model --------------------------------------------------------- */

typedef struct live {
  heap_view v;
  bool from_pool; /* heap_pooled(), not a lease */
} live;

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 2685821657736338717ull;
}

/* Live ArrayBuffers never overlap; buffers sit inside theirs. */
static void check_disjoint(const live *l, int n) {
  for (int i = 0; i < n; i++) {
    const heap_view *a = &l[i].v;
    if (a->seg == NULL)
      continue;
    if (a->byte_offset + a->length > a->ab_length || a->ab_offset + a->ab_length > a->seg->size)
      ck_abort_msg("buffer %d outside its ArrayBuffer", i);
    for (int j = 0; j < i; j++) {
      const heap_view *b = &l[j].v;
      if (b->seg != a->seg)
        continue;
      if (b->ab_offset == a->ab_offset) {
        if (b->ab_length != a->ab_length || !a->pooled || !b->pooled)
          ck_abort_msg("buffers %d and %d share an ArrayBuffer they should not", i, j);
        if (a->length && b->length && a->byte_offset < b->byte_offset + b->length &&
            b->byte_offset < a->byte_offset + a->length)
          ck_abort_msg("buffers %d and %d overlap in a pool", i, j);
      } else if (a->ab_offset < b->ab_offset + b->ab_length &&
                 b->ab_offset < a->ab_offset + a->ab_length) {
        ck_abort_msg("ArrayBuffers of %d and %d overlap", i, j);
      }
    }
  }
}

START_TEST(random_walk) {
  buffer_heap h;
  heap_init(&h, &fake_ops, F, SB_POOL_SIZE_DEFAULT, 256 * KIB);
  enum { MAX = 300 };
  static live l[MAX];
  int n = 0;
  uint64_t bytes = 0;
  const slab_seg *cur_seg = NULL;
  uint64_t cur_off = 0;
  for (int op = 0; op < 20000; op++) {
    uint64_t r = rnd() % 100;
    heap_view v;
    if (n == MAX || (n > 0 && r < 45)) {
      int i = (int)(rnd() % (uint64_t)n);
      if (heap_release(&h, l[i].v.id) != 0)
        ck_abort_msg("release of a live buffer failed");
      bytes -= l[i].v.length;
      l[i] = l[--n];
      continue;
    }
    int rc;
    bool from_pool = r < 80;
    if (from_pool) {
      uint64_t used = 1 + rnd() % 4095, room = used + rnd() % (4096 - used);
      rc = heap_pooled(&h, room, used, &v);
      cur_seg = v.seg;
      cur_off = v.ab_offset;
    } else if (r < 97) {
      uint64_t ab = 1 + rnd() % (300 * KIB);
      rc = heap_dedicated(&h, ab, ab - rnd() % ab, (rnd() % 2 ? HEAP_ZERO : 0) | (rnd() % 8 == 0 ? HEAP_LEASED : 0), &v);
    } else {
      rc = heap_empty(&h, &v);
    }
    if (rc != 0)
      ck_abort_msg("allocation failed: %d", rc);
    l[n].v = v;
    l[n++].from_pool = from_pool;
    bytes += v.length;
    if (h.buffers != (uint64_t)n || h.bytes != bytes)
      ck_abort_msg("counters: buffers %llu (want %d) bytes %llu (want %llu)",
                   (unsigned long long)h.buffers, n, (unsigned long long)h.bytes,
                   (unsigned long long)bytes);
    if (op % 64 == 0) {
      check_disjoint(l, n);
      /* pools: the distinct pooled ArrayBuffers, plus the current one if no buffer uses it */
      uint64_t pools = 0;
      bool cur_used = false;
      for (int i = 0; i < n; i++) {
        if (!l[i].from_pool)
          continue;
        if (l[i].v.ab_length != SB_POOL_SIZE_DEFAULT || !l[i].v.pooled)
          ck_abort_msg("pooled buffer %d has no pool", i);
        cur_used |= l[i].v.seg == cur_seg && l[i].v.ab_offset == cur_off;
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
          seen = l[j].from_pool && l[j].v.seg == l[i].v.seg && l[j].v.ab_offset == l[i].v.ab_offset;
        pools += !seen;
      }
      pools += cur_seg != NULL && !cur_used;
      for (int i = 0; i < n; i++) /* and leased pools (dedicated, shown as pooled) */
        pools += !l[i].from_pool && l[i].v.pooled;
      if (h.pools != pools)
        ck_abort_msg("pools %llu, want %llu", (unsigned long long)h.pools,
                     (unsigned long long)pools);
      for (int i = 0; i < n; i++) {
        heap_view g;
        if (heap_get(&h, l[i].v.id, &g) != 0 || !same_view(&g, &l[i].v))
          ck_abort_msg("buffer %d changed", i);
      }
    }
  }
  while (n > 0)
    ck_assert_int_eq(heap_release(&h, l[--n].v.id), 0);
  ck_assert_uint_eq(h.buffers, 0);
  ck_assert_uint_eq(h.bytes, 0);
  ck_assert_uint_eq(h.pools, 1); /* only the current one */
  heap_fini(&h, true);
  ck_assert_int_eq(F->charged, 0);
  ck_assert_int_eq(F->live_segs, 0);
  ck_assert_uint_eq(F->violations, 0);
}
END_TEST

static Suite *heap_suite(void) {
  Suite *s = suite_create("heap");
  TCase *tc = tcase_create("heap");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 20);
  tcase_add_loop_test(tc, placement_matches_node, 0, (int)(sizeof scripts / sizeof *scripts));
  tcase_add_test(tc, views);
  tcase_add_test(tc, empty_takes_nothing);
  tcase_add_test(tc, pool_freed_when_unused_and_not_current);
  tcase_add_test(tc, dedicated_freed_on_release);
  tcase_add_test(tc, regions_are_counted_and_never_own_their_segment);
  tcase_add_test(tc, ids);
  tcase_add_test(tc, ids_of_another_heap);
  tcase_add_test(tc, refused_memory);
  tcase_add_test(tc, fini_frees_everything);
  tcase_add_test(tc, fini_then_reuse);
  tcase_add_test(tc, random_walk);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(heap_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
