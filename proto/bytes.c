/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "bytes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sb_bytes_make_room(sb_bytes *b, size_t n) {
  if (b->off > 0) {
    memmove(b->p, b->p + b->off, b->len);
    b->off = 0;
    if (b->cap - b->len >= n)
      return 0;
  }
  if (n > SIZE_MAX / 2 - b->len)
    return -ENOMEM;
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->len < n)
    cap *= 2;
  uint8_t *p = realloc(b->p, cap);
  if (p == NULL)
    return -ENOMEM;
  b->p = p;
  b->cap = cap;
  return 0;
}

void sb_bytes_free(sb_bytes *b) {
  free(b->p);
  *b = (sb_bytes){0};
}
