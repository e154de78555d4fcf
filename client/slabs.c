/* SPDX-License-Identifier: MIT */
/* libshmbuf: the slabs a connection maps (see slabs.h). */
#include "config.h"

#include "slabs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Ids count up from 1 and a daemon never gets near these. They keep the name of an
 * ArrayBuffer (handle.h's ab_key: slab id << 40 | offset) below the bits that name empty
 * ones. */
#define MAX_SLAB_ID ((1u << 22) - 1)
#define MAX_SLAB_SIZE (1ull << 40)

/* Why the daemon's announcement of slab id, of `size` bytes in fd, cannot be believed, or
 * NULL. */
static const char *false_claim(const slab_table *t, uint32_t id, uint64_t size, bool read_only,
                               int fd) {
  struct stat st;
  int mode = fcntl(fd, F_GETFL);
  if (id == 0 || id > MAX_SLAB_ID)
    return "a slab id out of range";
  if (id < t->n && t->v[id].base)
    return "a slab announced twice";
  if (id < t->n && t->v[id].retired)
    return "a retired slab announced again";
  if (size > MAX_SLAB_SIZE)
    return "a slab too big to be true";
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || mode < 0 ||
      ((mode & O_ACCMODE) != O_RDWR && !(read_only && (mode & O_ACCMODE) == O_RDONLY)))
    return "a slab descriptor that is not shared memory open as announced";
  if ((uint64_t)st.st_size < size) /* mapping past the object's end would raise SIGBUS */
    return "a slab smaller than announced";
  return NULL;
}

int slabs_map(slab_table *t, uint32_t id, uint64_t size, bool read_only, int fd,
              const char **why) {
  if ((*why = false_claim(t, id, size, read_only, fd)) != NULL) {
    close(fd);
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
  void *p = mmap(NULL, size, read_only ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd); /* the mapping keeps the object alive */
  if (p == MAP_FAILED) {
    *why = "cannot map a slab";
    return err == ENOMEM ? -ENOMEM : -EPROTO;
  }
  t->v[id] = (slab_map){.base = p, .size = size, .read_only = read_only};
  return 0;
}

const slab_map *slabs_get(const slab_table *t, uint32_t id) {
  return id < t->n && t->v[id].base ? &t->v[id] : NULL;
}

void slabs_ref(slab_table *t, uint32_t id) { t->v[id].refs++; }

void slabs_unref(slab_table *t, uint32_t id) { t->v[id].refs--; }

int slabs_retire(slab_table *t, uint32_t id, const char **why) {
  slab_map *s = id < t->n && t->v[id].base ? &t->v[id] : NULL;
  if (s == NULL) {
    *why = "a slab retired that is not mapped";
    return -EPROTO;
  }
  if (s->refs > 0) {
    *why = "a slab retired while the client still uses it";
    return -EPROTO;
  }
  munmap(s->base, s->size);
  *s = (slab_map){.retired = true};
  return 0;
}

void slabs_fini(slab_table *t) {
  for (uint32_t i = 0; i < t->n; i++)
    if (t->v[i].base)
      munmap(t->v[i].base, t->v[i].size);
  free(t->v);
  *t = (slab_table){0};
}
