/* SPDX-License-Identifier: MIT */
/* The carving of ArrayBuffers out of leased regions (client/carve.c), on plain memory: where
 * carves go, what reads as zeros, when a region holds nothing, and a random walk that checks
 * every answer against a byte-by-byte model. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carve.h"

#define KIB 1024u

static carve_set S;
static uint8_t *mem; /* the regions' bytes: one block, regions at 2 MiB apart */

static void up(void) {
  memset(&S, 0, sizeof S);
  mem = calloc(8, CARVE_REGION_MAX);
  ck_assert_ptr_nonnull(mem);
}

static void down(void) {
  carve_fini(&S);
  free(mem);
}

static carve_region *add(unsigned slot, uint64_t size) {
  carve_region *r = carve_region_add(&S, mem + (size_t)slot * CARVE_REGION_MAX, size, NULL);
  ck_assert_ptr_nonnull(r);
  return r;
}

static carve take(uint64_t size) {
  carve k;
  ck_assert_int_eq(carve_take(&S, size, &k), 0);
  ck_assert_uint_le(k.off + size, k.region->size);
  return k;
}

START_TEST(small_carves_share_pages_by_class) {
  carve_region *r = add(0, 256 * KIB);
  carve a = take(1), b = take(16), c = take(17), d = take(2048);
  ck_assert_ptr_eq(a.region, r);
  ck_assert_uint_eq(a.off, 0);       /* class 16: one page */
  ck_assert_uint_eq(b.off, 16);      /* the same class, the next chunk */
  ck_assert_uint_eq(c.off, 4 * KIB); /* class 32: a page of its own */
  ck_assert_uint_eq(d.off, 8 * KIB); /* class 2048 */
  ck_assert(!a.dirty && !b.dirty && !c.dirty && !d.dirty);
  ck_assert_uint_eq(r->used, 3);
  ck_assert_uint_eq(S.carves, 4);
  ck_assert_uint_eq(S.carved, 1 + 16 + 17 + 2048);
  /* every class keeps 16-byte alignment */
  for (uint64_t size = 1; size <= CARVE_SMALL_MAX; size += 37)
    ck_assert_uint_eq(take(size).off % 16, 0);
}
END_TEST

START_TEST(bigger_carves_take_runs_of_pages) {
  carve_region *r = add(0, 64 * KIB);
  carve a = take(2049), b = take(8 * KIB), c = take(4 * KIB + 1);
  ck_assert_uint_eq(a.off, 0);
  ck_assert_uint_eq(b.off, 4 * KIB);
  ck_assert_uint_eq(c.off, 12 * KIB);
  ck_assert_uint_eq(r->used, 5);
  ck_assert_ptr_null(carve_put(&S, r, b.off, 8 * KIB));
  carve d = take(4 * KIB); /* first fit: the hole b left */
  ck_assert_uint_eq(d.off, 4 * KIB);
  ck_assert(d.dirty);
  carve e = take(8 * KIB); /* does not fit there: after c */
  ck_assert_uint_eq(e.off, 20 * KIB);
  ck_assert(!e.dirty);
}
END_TEST

/* A carve reads as zeros until the bytes under it were handed out once. */
START_TEST(what_was_given_out_is_dirty) {
  carve_region *r = add(0, 64 * KIB);
  carve a = take(100), b = take(100);
  ck_assert(!a.dirty && !b.dirty);
  ck_assert_ptr_null(carve_put(&S, r, a.off, 100));
  carve c = take(100); /* a's chunk again */
  ck_assert_uint_eq(c.off, a.off);
  ck_assert(c.dirty);
  carve d = take(100); /* never handed out */
  ck_assert(!d.dirty);
  carve run = take(3 * 4 * KIB);
  ck_assert_ptr_null(carve_put(&S, r, run.off, 3 * 4 * KIB));
  carve part = take(2 * 4 * KIB + 1); /* two of the three pages it covers held bytes */
  ck_assert_uint_eq(part.off, run.off);
  ck_assert(part.dirty);
}
END_TEST

START_TEST(full_regions_say_so) {
  carve_region *r = add(0, 16 * KIB);
  carve k;
  take(16 * KIB);
  ck_assert_int_eq(carve_take(&S, 1, &k), -ENOSPC);
  ck_assert_int_eq(carve_take(&S, 4 * KIB, &k), -ENOSPC);
  carve_region *newer = add(1, 32 * KIB);
  k = take(1); /* the newest region with room */
  ck_assert_ptr_eq(k.region, newer);
  ck_assert_uint_eq(S.nregions, 2);
  ck_assert_uint_eq(S.leased, 48 * KIB);
  (void)r;
}
END_TEST

/* A region that holds nothing is the caller's to give back once a newer one took its place;
 * the newest stays. */
START_TEST(emptied_regions_are_named) {
  carve_region *old = add(0, 16 * KIB);
  carve a = take(8 * KIB);
  carve_region *newest = add(1, 16 * KIB);
  carve b = take(8 * KIB);
  ck_assert_ptr_eq(b.region, newest);
  ck_assert_ptr_eq(carve_put(&S, old, a.off, 8 * KIB), old);
  carve_region_remove(&S, old);
  ck_assert_ptr_null(carve_put(&S, newest, b.off, 8 * KIB));
  ck_assert_uint_eq(newest->used, 0);
  ck_assert_uint_eq(S.nregions, 1);
  ck_assert_uint_eq(S.carves, 0);
}
END_TEST

/* Taking and giving back one small carve keeps its page (no churn); shedding gives it back. */
START_TEST(a_lone_empty_page_is_kept_until_shed) {
  carve_region *r = add(0, 16 * KIB);
  carve a = take(64);
  ck_assert_ptr_null(carve_put(&S, r, a.off, 64));
  ck_assert_uint_eq(r->used, 1);
  ck_assert(carve_spare(&S));
  carve b = take(64);
  ck_assert_uint_eq(b.off, a.off);
  ck_assert_ptr_null(carve_put(&S, r, b.off, 64));
  carve_shed(&S, false); /* it is in the newest region: kept */
  ck_assert_uint_eq(r->used, 1);
  carve_shed(&S, true);
  ck_assert_uint_eq(r->used, 0);
  /* outside the newest region, an emptied page goes back at once, and so does the region */
  carve c = take(64);
  add(1, 16 * KIB);
  ck_assert_ptr_eq(carve_put(&S, r, c.off, 64), r);
  ck_assert_uint_eq(r->used, 0);
}
END_TEST

START_TEST(region_sizes_come_eight_a_doubling) {
  ck_assert_uint_eq(carve_region_for(1), 4 * KIB);
  ck_assert_uint_eq(carve_region_for(4 * KIB), 4 * KIB);
  ck_assert_uint_eq(carve_region_for(4 * KIB + 1), 8 * KIB);
  ck_assert_uint_eq(carve_region_for(33 * KIB), 40 * KIB); /* 9 pages, in steps of 8 KiB */
  ck_assert_uint_eq(carve_region_for(1024 * KIB), 1024 * KIB);
  ck_assert_uint_eq(carve_region_for(1024 * KIB + 4 * KIB), 1280 * KIB);
  ck_assert_uint_eq(carve_region_for(CARVE_REGION_MAX - 1), CARVE_REGION_MAX);
  ck_assert_uint_eq(carve_region_for(CARVE_REGION_MAX), CARVE_REGION_MAX);
}
END_TEST

/* Random takes and puts over three regions, against a model that knows, byte by byte, who
 * holds it and whether it was ever handed out: no two live carves overlap, and a carve that
 * says it reads as zeros lies on bytes never handed out. */
START_TEST(random_walk_matches_a_model) {
  enum { LIVE = 400 };
  static uint8_t owner[3 * CARVE_REGION_MAX]; /* 0 free, else index + 1 of the live carve */
  static bool used[3 * CARVE_REGION_MAX];
  static struct {
    carve k;
    uint64_t size;
  } live[LIVE];
  size_t n = 0;
  carve_region *rs[3] = {add(0, 512 * KIB), add(1, 1024 * KIB), add(2, 2048 * KIB)};
  uint32_t seed = 7;
  memset(owner, 0, sizeof owner);
  memset(used, 0, sizeof used);
  for (int step = 0; step < 40000; step++) {
    seed = seed * 1103515245u + 12345u;
    unsigned r = seed >> 8;
    if (n == LIVE || (n > 0 && r % 3 == 0)) {
      size_t i = (r >> 2) % n;
      uint64_t base = (uint64_t)(live[i].k.region->base - mem) + live[i].k.off;
      memset(owner + base, 0, live[i].size);
      carve_put(&S, live[i].k.region, live[i].k.off, live[i].size);
      live[i] = live[--n];
      continue;
    }
    uint64_t size = r % 5 == 0 ? 1 + r % (64 * KIB) : 1 + r % 3000;
    carve k;
    if (carve_take(&S, size, &k) == -ENOSPC)
      continue;
    uint64_t base = (uint64_t)(k.region->base - mem) + k.off;
    bool touched = false, overlaps = false; /* (Check marks each assertion: none per byte) */
    for (uint64_t b = base; b < base + size; b++) {
      overlaps |= owner[b];
      touched |= used[b];
      owner[b] = 1;
      used[b] = true;
    }
    ck_assert_msg(!overlaps, "step %d: a carve over a live one", step);
    ck_assert_msg(!touched || k.dirty, "step %d: old bytes under a carve said to be zero", step);
    live[n].k = k;
    live[n++].size = size;
  }
  while (n > 0) {
    n--;
    carve_put(&S, live[n].k.region, live[n].k.off, live[n].size);
  }
  carve_shed(&S, true);
  for (int i = 0; i < 3; i++)
    ck_assert_uint_eq(rs[i]->used, 0);
  ck_assert_uint_eq(S.carves, 0);
  ck_assert_uint_eq(S.carved, 0);
}
END_TEST

static Suite *carve_suite(void) {
  Suite *s = suite_create("carve");
  TCase *t = tcase_create("carves");
  tcase_add_checked_fixture(t, up, down);
  tcase_add_test(t, small_carves_share_pages_by_class);
  tcase_add_test(t, bigger_carves_take_runs_of_pages);
  tcase_add_test(t, what_was_given_out_is_dirty);
  tcase_add_test(t, full_regions_say_so);
  tcase_add_test(t, emptied_regions_are_named);
  tcase_add_test(t, a_lone_empty_page_is_kept_until_shed);
  tcase_add_test(t, region_sizes_come_eight_a_doubling);
  tcase_add_test(t, random_walk_matches_a_model);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(carve_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
