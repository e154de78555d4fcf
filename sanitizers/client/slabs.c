/* SPDX-License-Identifier: MIT */
/* libshmbuf: the slabs a connection maps (see slabs.h). */
#include "config.h"

#include "slabs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_SLAB_ID (1u << 24) /* ids count up from 1; a daemon never gets near this */

int slabs_map(slab_table *t, uint32_t id, uint64_t size, int fd, const char **why) {
  if (id > MAX_SLAB_ID) {
    close(fd);
    *why = "a slab id out of range";
    return -EPROTO;
  }
  if (id >= t->n) {
    uint32_t n = id + 16;
    slab_map *v = realloc(t->v, n * sizeof *v);
    if (v == NULL) {
      close(fd);
      *why = "out of memory for a slab";
      return -ENOMEM;
    }
    memset(v + t->n, 0, (n - t->n) * sizeof *v);
    t->v = v;
    t->n = n;
  }
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd); /* the mapping keeps the object alive */
  if (p == MAP_FAILED) {
    *why = "cannot map a slab";
    return -err;
  }
  slabs_unmap(t, id);
  t->v[id] = (slab_map){p, size};
  return 0;
}

const slab_map *slabs_get(const slab_table *t, uint32_t id) {
  return id < t->n && t->v[id].base ? &t->v[id] : NULL;
}

void slabs_unmap(slab_table *t, uint32_t id) {
  if (id < t->n && t->v[id].base) {
    munmap(t->v[id].base, t->v[id].size);
    t->v[id] = (slab_map){0};
  }
}

void slabs_fini(slab_table *t) {
  for (uint32_t i = 0; i < t->n; i++)
    slabs_unmap(t, i);
  free(t->v);
  *t = (slab_table){0};
}
