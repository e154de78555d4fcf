/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fill.h"

int fill_open(fill *f, const char *path) {
  *f = (fill){NULL, NULL, 0};
  return shmbuf_connect_ex(path, SHMBUF_THIN, &f->c);
}

static void keep(shmbuf_client *c, int status, shmbuf_buf *buf, void *arg) {
  (void)c;
  *(shmbuf_buf **)arg = status < 0 ? NULL : buf;
}

int fill_to(fill *f, long live) {
  shmbuf_buf **b = realloc(f->bufs, (size_t)live * sizeof *b);
  if (b == NULL)
    return -ENOMEM;
  f->bufs = b;
  memset(b + f->n, 0, (size_t)(live - f->n) * sizeof *b);
  int rc = 0;
  for (long i = f->n; i < live && rc == 0; i++) {
    rc = shmbuf_submit_alloc(f->c, 16, keep, &f->bufs[i]);
    if (rc == 0 && (i % 1024 == 1023 || i == live - 1))
      rc = shmbuf_wait(f->c);
  }
  for (; f->n < live && f->bufs[f->n]; f->n++)
    ;
  return rc < 0 ? rc : f->n < live ? -ENOMEM : 0;
}

void fill_close(fill *f) {
  shmbuf_close(f->c); /* releases them all */
  free(f->bufs);
  *f = (fill){NULL, NULL, 0};
}
