/* SPDX-License-Identifier: MIT */
/* libshmbuf: buffer handles and their backings (see handle.h). */
#include "config.h"

#include "handle.h"

#include <errno.h>
#include <stdlib.h>

#include "errors.h"

#define SPARE_HANDLES 256

handle_backing *handle_backing_new(handle_set *h) {
  handle_backing *bk = h->spare_backings;
  if (bk) {
    h->spare_backings = bk->next_spare;
    h->nspare_backings--;
  } else if ((bk = malloc(sizeof *bk)) == NULL)
    errors_no_memory();
  return bk;
}

int handle_backing_of(handle_set *h, slab_table *t, const Shmbufwire__Buffer *b,
                      handle_backing **out, const char **why) {
  uint8_t *ab = NULL;
  if (b->slab == 0 && (b->ab_length > 0 || b->byte_offset > 0 || b->length > 0)) {
    *why = "a buffer with bytes but no slab";
    return -EPROTO;
  }
  if (b->slab) {
    const slab_map *s = slabs_get(t, b->slab);
    if (s == NULL || b->ab_offset > s->size || b->ab_length > s->size - b->ab_offset ||
        b->byte_offset > b->ab_length || b->length > b->ab_length - b->byte_offset) {
      *why = "a buffer reply points outside its slab";
      return -EPROTO;
    }
    ab = s->base + b->ab_offset;
  }
  handle_backing *bk = handle_backing_new(h);
  if (bk == NULL)
    return -ENOMEM;
  /* an empty ArrayBuffer has no place in a slab: it is its own, named by its buffer */
  uint64_t key = b->slab ? (uint64_t)b->slab << 40 | b->ab_offset : 1ull << 63 | b->buffer;
  *bk = (handle_backing){.id = b->buffer, .slab = b->slab, .ab = ab, .ab_length = b->ab_length,
                         .ab_key = key, .byte_offset = b->byte_offset, .length = b->length,
                         .pooled = b->pooled, .shared = b->shared, .read_only = b->read_only,
                         .sealed = b->sealed};
  if (b->slab)
    slabs_ref(t, b->slab);
  *out = bk;
  return 0;
}

void handle_backing_free(handle_set *h, slab_table *t, handle_backing *bk) {
  if (bk->slab)
    slabs_unref(t, bk->slab);
  if (h->nspare_backings < SPARE_HANDLES) {
    bk->next_spare = h->spare_backings;
    h->spare_backings = bk;
    h->nspare_backings++;
  } else
    free(bk);
}

void handle_move_views(handle_set *h, handle_backing *from, handle_backing *to) {
  for (shmbuf_buf *b = h->live; b; b = b->next)
    if (b->bk == from) {
      b->data = b->data ? to->ab + (b->data - from->ab) : NULL;
      b->bk = to;
      from->refs--;
      to->refs++;
    }
}

handle_backing *handle_move_view(shmbuf_buf *b, handle_backing *to, size_t byte_offset) {
  handle_backing *from = b->bk;
  b->bk = to;
  b->data = to->ab ? to->ab + byte_offset : NULL;
  b->byte_offset = byte_offset;
  to->refs++;
  return from;
}

shmbuf_buf *handle_view(handle_set *h, shmbuf_client *c, handle_backing *bk, uint8_t *data,
                        size_t length, size_t byte_offset) {
  shmbuf_buf *b = h->spare;
  if (b) {
    h->spare = b->next;
    h->nspare--;
  } else if ((b = malloc(sizeof *b)) == NULL) {
    errors_no_memory();
    return NULL;
  }
  *b = (shmbuf_buf){c, bk, data, length, byte_offset, NULL, h->live};
  if (h->live)
    h->live->prev = b;
  h->live = b;
  bk->refs++;
  return b;
}

int handle_empty(handle_set *h, shmbuf_client *c, shmbuf_buf **out) {
  handle_backing *bk = handle_backing_new(h);
  shmbuf_buf *b = NULL;
  if (bk) {
    *bk = (handle_backing){.ab_key = 1ull << 62 | ++h->empties};
    b = handle_view(h, c, bk, NULL, 0, 0);
  }
  if (b == NULL) {
    free(bk);
    return -ENOMEM;
  }
  *out = b;
  return 0;
}

handle_backing *handle_drop(handle_set *h, shmbuf_buf *b) {
  handle_backing *bk = b->bk;
  if (b->prev)
    b->prev->next = b->next;
  else
    h->live = b->next;
  if (b->next)
    b->next->prev = b->prev;
  if (h->nspare < SPARE_HANDLES) {
    b->next = h->spare;
    h->spare = b;
    h->nspare++;
  } else
    free(b);
  return bk;
}

void handle_fini(handle_set *h) {
  while (h->live) {
    shmbuf_buf *b = h->live;
    h->live = b->next;
    if (--b->bk->refs == 0)
      free(b->bk);
    free(b);
  }
  while (h->spare) {
    shmbuf_buf *b = h->spare;
    h->spare = b->next;
    free(b);
  }
  while (h->spare_backings) {
    handle_backing *bk = h->spare_backings;
    h->spare_backings = bk->next_spare;
    free(bk);
  }
  h->nspare = h->nspare_backings = 0;
}
