/* SPDX-License-Identifier: MIT */
/* The binding's ArrayBuffers over shmbuf memory, and when that memory goes back.
 *
 * A region is the ArrayBuffer of a Buffer made with napi_create_external_buffer() over the
 * whole backing ArrayBuffer of a libshmbuf handle (the anchor). Its finalizer runs after V8 has collected the
 * ArrayBuffer, or after it was detached; Node runs it from the event loop (a native
 * immediate), and it calls only shmbuf_release() and napi_delete_reference(), which are fine
 * even where a finalizer may not run JavaScript. A set counts its regions so that it outlives
 * finalizers that come after the env's cleanup hook. */
#include <search.h>
#include <stdint.h>
#include <stdlib.h>

#include "region.h"

typedef struct region region;

struct region {
  region_set *owner;  /* holds one reference to it until the finalizer */
  bool live;          /* linked in owner's list and tree, anchor held */
  bool pooled;
  shmbuf_buf *anchor;
  uint8_t *base;      /* the ArrayBuffer's first byte: the key of the tree */
  napi_ref ab;        /* weak: the ArrayBuffer while V8 keeps it */
  region *prev, *next;
};

struct region_set {
  region *head;       /* the live regions */
  void *by_base;      /* tsearch() tree of the live regions, by base */
  size_t refs;        /* 1 for the env, 1 per region not yet finalized */
};

region_set *region_set_new(void) {
  region_set *set = calloc(1, sizeof *set);
  if (set)
    set->refs = 1;
  return set;
}

static void set_unref(region_set *set) {
  if (--set->refs == 0)
    free(set);
}

void region_set_unref(region_set *set) { set_unref(set); }

static int by_base(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)((const region *)a)->base, y = (uintptr_t)((const region *)b)->base;
  return x < y ? -1 : x > y;
}

/* Takes r out of the live set; its anchor is the caller's business. */
static void unlink_region(region *r) {
  region_set *set = r->owner;
  if (r->prev)
    r->prev->next = r->next;
  else
    set->head = r->next;
  if (r->next)
    r->next->prev = r->prev;
  r->prev = r->next = NULL;
  tdelete(r, &set->by_base, by_base);
  r->live = false;
}

static void finalize(napi_env env, void *data, void *hint) {
  region *r = hint;
  (void)data;
  if (r->live) { /* collected: the memory goes back (a kept pool or ArrayBuffer stays mapped) */
    unlink_region(r);
    shmbuf_release(r->anchor);
  }
  if (r->ab)
    napi_delete_reference(env, r->ab);
  region_set *set = r->owner;
  free(r);
  set_unref(set);
}

napi_status region_wrap(region_set *set, napi_env env, shmbuf_buf *anchor, napi_value *out) {
  region *r = calloc(1, sizeof *r);
  if (r == NULL) {
    shmbuf_release(anchor);
    return napi_generic_failure;
  }
  *r = (region){.owner = set, .anchor = anchor, .pooled = shmbuf_is_pooled(anchor),
                .base = shmbuf_data(anchor) - shmbuf_byte_offset(anchor)};
  napi_value whole;
  napi_status st = napi_create_external_buffer(env, shmbuf_buffer_byte_length(anchor), r->base,
                                               finalize, r, &whole);
  if (st != napi_ok) {
    shmbuf_release(anchor);
    free(r);
    return st;
  }
  /* From here the finalizer owns r; the region counts as the set's. */
  set->refs++;
  r->live = true;
  r->next = set->head;
  if (set->head)
    set->head->prev = r;
  set->head = r;
  if (tsearch(r, &set->by_base, by_base) == NULL)
    return napi_generic_failure; /* out of memory: the region is still found by region_set_drop() */
  if ((st = napi_get_typedarray_info(env, whole, NULL, NULL, NULL, out, NULL)) != napi_ok)
    return st;
  return napi_create_reference(env, *out, 0, &r->ab);
}

/* The live region whose ArrayBuffer is arraybuffer, or NULL. */
static region *find(region_set *set, napi_env env, napi_value arraybuffer) {
  void *data;
  size_t length;
  if (napi_get_arraybuffer_info(env, arraybuffer, &data, &length) != napi_ok || length == 0)
    return NULL;
  region key = {.base = data};
  region **found = tfind(&key, &set->by_base, by_base);
  if (found == NULL || (*found)->ab == NULL)
    return NULL;
  napi_value held;
  bool same = false;
  if (napi_get_reference_value(env, (*found)->ab, &held) != napi_ok || held == NULL ||
      napi_strict_equals(env, held, arraybuffer, &same) != napi_ok || !same)
    return NULL;
  return *found;
}

shmbuf_buf *region_anchor(region_set *set, napi_env env, napi_value arraybuffer) {
  region *r = find(set, env, arraybuffer);
  return r ? r->anchor : NULL;
}

napi_status region_moved(region_set *set, napi_env env, napi_value arraybuffer,
                         napi_value *out) {
  region *r = find(set, env, arraybuffer);
  if (r == NULL || r->pooled)
    return napi_invalid_arg;
  unlink_region(r); /* its finalizer has nothing to release now: the anchor changes region */
  napi_status st = napi_detach_arraybuffer(env, arraybuffer);
  napi_status wrapped = region_wrap(set, env, r->anchor, out);
  return st != napi_ok ? st : wrapped;
}

napi_status region_release(region_set *set, napi_env env, napi_value arraybuffer,
                           bool *released) {
  region *r = find(set, env, arraybuffer);
  *released = false;
  if (r == NULL || r->pooled)
    return napi_ok;
  napi_status st = napi_detach_arraybuffer(env, arraybuffer);
  if (st != napi_ok)
    return st;
  /* No view reaches the memory any more: it can go back (or be kept for reuse) at once. */
  unlink_region(r);
  shmbuf_release(r->anchor);
  *released = true;
  return napi_ok;
}

napi_status region_set_drop(region_set *set, napi_env env, bool detach) {
  for (region *r = set->head; detach && r; r = r->next) {
    napi_value ab = NULL;
    if (r->ab && napi_get_reference_value(env, r->ab, &ab) != napi_ok)
      return napi_generic_failure;
    napi_status st = ab ? napi_detach_arraybuffer(env, ab) : napi_ok;
    if (st != napi_ok)
      return st;
  }
  while (set->head)
    unlink_region(set->head); /* the anchors go with the client */
  return napi_ok;
}
