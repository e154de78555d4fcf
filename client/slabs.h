/* SPDX-License-Identifier: MIT */
/* The slabs a connection maps: each shared-memory object the daemon sent, mapped once by its
 * id, until the daemon retires it or the client closes. It owns mappings only: it takes an
 * fd from its caller (and always closes it), and knows nothing of sockets, requests or
 * buffers. What the daemon says about a slab is checked against the object itself and
 * against what is mapped, so that no claim of the daemon can make the client touch memory
 * beyond an object (SIGBUS) or lose a mapping it still points into (SIGSEGV). */
#ifndef SBC_SLABS_H
#define SBC_SLABS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct slab_map {
  uint8_t *base; /* NULL: not mapped */
  uint64_t size;
  uint32_t refs; /* ArrayBuffers the client holds in it: it stays mapped while there are any */
  bool retired;  /* the daemon destroyed it: the id never comes back */
  bool read_only; /* mapped PROT_READ: the kernel refuses writes */
} slab_map;

typedef struct slab_table {
  slab_map *v;   /* by slab id */
  uint32_t n;
} slab_table;

/* Maps `size` bytes of fd as slab `id`, shared: read and write, or only read when
 * `read_only` (a read-only import, a sealed buffer), and closes fd. The id must be new (neither mapped nor retired) and fd a regular file (a memfd) of at least
 * `size` bytes, open read-write unless read_only. Returns 0, -ENOMEM, or -EPROTO when the
 * daemon's claim is false, with the reason in *why (the fd is closed then too). */
int slabs_map(slab_table *t, uint32_t id, uint64_t size, bool read_only, int fd,
              const char **why);

/* The mapping of slab id, or NULL when it is not mapped. */
const slab_map *slabs_get(const slab_table *t, uint32_t id);

/* Counts one more / one fewer ArrayBuffer in mapped slab id. */
void slabs_ref(slab_table *t, uint32_t id);
void slabs_unref(slab_table *t, uint32_t id);

/* Unmaps slab id, which the daemon retired. Returns 0, or -EPROTO with the reason in *why
 * when it is not mapped or the client still holds ArrayBuffers in it (then it stays mapped). */
int slabs_retire(slab_table *t, uint32_t id, const char **why);

/* Unmaps every slab and frees the table. */
void slabs_fini(slab_table *t);

#endif
