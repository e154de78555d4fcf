/* SPDX-License-Identifier: MIT */
/* The slabs a connection maps: each shared-memory object the daemon sent, mapped once by its
 * id, until the daemon retires it or the client closes. It owns mappings only: it takes an
 * fd from its caller (and always closes it), and knows nothing of sockets, requests or
 * buffers. */
#ifndef SBC_SLABS_H
#define SBC_SLABS_H

#include <stdint.h>

typedef struct slab_map {
  uint8_t *base; /* NULL: not mapped */
  uint64_t size;
} slab_map;

typedef struct slab_table {
  slab_map *v;   /* by slab id */
  uint32_t n;
} slab_table;

/* Maps `size` bytes of fd as slab `id`, read and write, shared, and closes fd. Returns 0, or a
 * negative errno with the reason in *why (the fd is closed then too). */
int slabs_map(slab_table *t, uint32_t id, uint64_t size, int fd, const char **why);

/* The mapping of slab id, or NULL when it is not mapped. */
const slab_map *slabs_get(const slab_table *t, uint32_t id);

/* Unmaps slab id; an id that is not mapped is ignored. */
void slabs_unmap(slab_table *t, uint32_t id);

/* Unmaps every slab and frees the table. */
void slabs_fini(slab_table *t);

#endif
